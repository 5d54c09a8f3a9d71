"""Several z ~ q(z|x) for one image, and what the model makes of a damaged input."""
import numpy as np
import streamlit as st
import torch

from explorer import capabilities, figures, own, spatial, widgets
from vae_core import analysis
from vae_core.family import GAUSSIAN_POSTERIOR

bundle = capabilities.require(GAUSSIAN_POSTERIOR)
sel = own.picked(bundle)
dim = len(sel.mu)
x = torch.tensor(sel.x)

st.title("Posterior spread")
st.markdown(
    "The encoder does not return one code but a distribution q(z|x). Decoding several draws from it "
    "shows what the model is unsure about: where the draws agree it is certain, where they differ "
    "(a stroke or an edge that comes and goes) the image is ambiguous to it. Training sees one such draw per "
    "image per step, via the reparameterization trick.")
st.latex(r"z^{(s)} = \mu(x) + \sigma(x)\odot\varepsilon^{(s)},\quad \varepsilon^{(s)}\sim\mathcal{N}(0, I),"
         r"\qquad \hat x^{(s)} = \mathbb{E}[x\mid z^{(s)}]")

c1, c2 = st.columns([1, 3])
c1.image(figures.to_uint8_grid(x.numpy()[None, None], scale=3), output_format="PNG",
         caption=f"{sel.caption} (change it in the sidebar)")
count = c1.select_slider("Draws", [4, 8, 12, 16], value=12, key="post_n")
seed = c1.number_input("Seed of the draws", 0, 10_000, 0, key="post_seed")
draws = analysis.posterior_samples(bundle.model, x, count, seed=int(seed)).numpy()
mean = analysis.reconstruct(bundle.model, x[None]).numpy()
# Beside the input, in rows of 5 cells of 114 px: 13 in one row of a column were 40 px each on a
# 1280-px projector, with a blank band below.
per_row = 5
strip = np.concatenate([mean, draws, np.ones((-(count + 1) % per_row, *mean.shape[1:]), mean.dtype)])  # white: empty
c2.image(figures.to_uint8_grid(strip.reshape(-1, per_row, *mean.shape[1:]), scale=4), output_format="PNG",
         caption=f"First the decoder mean at z = μ, then draws 1 to {count} of z ~ q(z|x), row by row.")
widgets.download_png(np.concatenate([mean, draws])[None], f"{bundle.name}-posterior-{sel.index if sel.index is not None else 'own'}.png", key="post_png",
                     container=c2)
sigma = sel.sigma
c2.caption(f"Mean σ_j over the {dim} dimensions: {sigma.mean():.2f} (1 = the prior's; small = certain). "
           f"Pixelwise spread of the draws: {draws.std(0).mean():.3f} (intensity units, mean over pixels).")
spatial.posterior_section(bundle, sigma, sel.kl_per_dim)  # a grid latent: σ and KL per channel and position

st.header("A damaged input")
st.markdown(
    "Add noise or blank out a block and encode the damaged image. The decoder can only produce images "
    "like those it was trained on, so the reconstruction fills the hole or removes the noise: the idea "
    "of the denoising autoencoder (Vincent et al. 2008), here without training for it.")
d1, d2 = st.columns(2)
kind = d1.radio("Damage", ["noise", "mask"], horizontal=True, key="post_kind",
                format_func={"noise": "Gaussian noise", "mask": "masked centre block"}.get)
amount = d2.slider("Noise σ (intensity units)" if kind == "noise" else "Masked share of the image",
                   0.0, 1.0, 0.3 if kind == "noise" else 0.25, 0.05, key=f"post_amount_{kind}")
damaged = analysis.corrupt(x[None], kind, amount, seed=0)
repaired = analysis.reconstruct(bundle.model, damaged)
row = np.stack([x.numpy(), damaged[0].numpy(), repaired[0].numpy(), mean[0]])[None]
st.plotly_chart(figures.image_grid(row, scale=4, col_labels=["original x", "damaged input",
                                                             "reconstruction of the damaged input",
                                                             "reconstruction of x"]), key="post_damage")
terms_clean = analysis.image_terms(bundle.model, x[None])
terms_damaged = analysis.image_terms(bundle.model, damaged)
st.caption(f"−ELBO of the original {float(terms_clean.reconstruction + terms_clean.kl):.1f}, of the damaged "
           f"input {float(terms_damaged.reconstruction + terms_damaged.kl):.1f} nats per image: the model finds "
           "the damaged image less likely.")
