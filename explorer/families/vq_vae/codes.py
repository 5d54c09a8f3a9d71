"""A VQ-VAE's probe images, their reconstructions and the code grid each was quantized to."""
import numpy as np
import streamlit as st

from explorer import capabilities, figures, selection, state
from explorer.families.vq_vae import codes_cache as vq
from explorer.families.vq_vae import figures as vq_figures
from vae_core.family import CODEBOOK

bundle = capabilities.require(CODEBOOK)
arrays = state.probe(bundle)
classes, labels = bundle.classes, arrays["labels"]
k_size, (h, w) = bundle.model_config.codebook_size, bundle.model.latent_shape

st.title("Code grids")
st.markdown(
    f"A VQ-VAE has no Gaussian q(z|x). Its encoder turns an image into a {h} × {w} grid of vectors z_e(x); "
    f"each is replaced by the nearest of K = {k_size} **codebook** vectors e_k, and the decoder sees only "
    f"those. An image's latent is therefore its grid of {h * w} code indices k(x), shown below each "
    "reconstruction (hover a cell for its index). Similar strokes share codes: compare two images of one digit.")
st.latex(r"k_{ij}(x) = \arg\min_k \lVert z_e(x)_{ij} - e_k \rVert_2,\qquad z_q(x)_{ij} = e_{k_{ij}(x)},\qquad "
         r"D = -\log p(x \mid z_q(x))")

c1, c2, c3 = st.columns([2, 2, 1])
pick = c1.selectbox("Class", ["any class", *classes], key="codes_class")
order = c2.radio("Which images", ["random", "worst (highest D)", "best (lowest D)"], horizontal=True, key="codes_order")
if c3.button("New random draw", key="codes_shuffle"):
    st.session_state["codes_seed"] = st.session_state.get("codes_seed", 0) + 1
pool = np.arange(len(labels)) if pick == "any class" else np.flatnonzero(labels == classes.index(pick))
if order == "random":
    chosen = np.random.default_rng(st.session_state.get("codes_seed", 0)).choice(pool, min(6, len(pool)), replace=False)
else:
    ranked = pool[np.argsort(arrays["reconstruction"][pool])]
    chosen = (ranked[::-1] if order.startswith("worst") else ranked)[:6].copy()

grids = vq.codes(bundle)[chosen]
pictures = np.stack([arrays["x"][chosen], vq.decode(bundle, grids)])
st.image(figures.to_uint8_grid(pictures, scale=4), output_format="PNG",
         caption="Top: input x. Bottom: E[x | z_q(x)], decoded from the codes below.")
st.plotly_chart(vq_figures.code_grids(grids, k_size, [f"#{i} {classes[labels[i]]} · D {arrays['reconstruction'][i]:.1f}"
                                                      for i in chosen]), key="codes_grids")
st.caption(f"Each grid: the code index of every cell, colour and number (0 to {k_size - 1}). Titles: probe index · label "
           f"· D in nats per image. R = −log p(k(x)) under the PixelCNN prior: mean {arrays['kl'][chosen].mean():.1f} nats "
           f"per image for these, against h·w·log K = {bundle.model.uniform_rate:.1f} under a uniform prior.")
if st.button(f"Edit the codes of #{chosen[0]}", icon=":material/edit:", key="codes_to_edit",
             on_click=selection.choose, args=(selection.FIRST, int(chosen[0]))):
    st.switch_page("families/vq_vae/code_edit.py")
