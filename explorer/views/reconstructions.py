"""Probe images over their reconstructions, with each image's D and R in nats."""
import numpy as np
import streamlit as st
import torch

from explorer import figures, state
from vae_core import analysis

bundle = state.current()
arrays = state.probe(bundle)
classes, labels = bundle.classes, arrays["labels"]

st.title("Reconstructions")
st.markdown(
    "Each column is a held-out image *x*, the input the model scores, and the decoder's mean at the "
    "posterior mean, E[x | z = μ(x)]. Below each: its **reconstruction term** D = −log p(x | z), "
    "z ~ q(z|x) (one sample, as in training), and its **KL term** R = KL(q(z|x) ‖ p(z)), both in "
    "nats per image; their sum is the image's −ELBO.")
st.latex(r"-\mathrm{ELBO}(x) = \underbrace{-\mathbb{E}_{q(z|x)}[\log p(x\mid z)]}_{D}"
         r" + \underbrace{\mathrm{KL}(q(z\mid x)\,\|\,p(z))}_{R}")

c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
pick = c1.selectbox("Class", ["any class", *classes], key="recon_class")
order = c2.radio("Which images", ["random", "worst (highest D)", "best (lowest D)"], horizontal=True,
                 key="recon_order")
count = c3.select_slider("How many", [4, 8, 12, 16], value=12, key="recon_count")
if c4.button("New random draw", key="recon_shuffle"):
    st.session_state["recon_seed"] = st.session_state.get("recon_seed", 0) + 1

pool = np.arange(len(labels)) if pick == "any class" else np.flatnonzero(labels == classes.index(pick))
if order == "random":
    rng = np.random.default_rng(st.session_state.get("recon_seed", 0))
    chosen = rng.choice(pool, size=min(count, len(pool)), replace=False)
else:
    ranked = pool[np.argsort(arrays["reconstruction"][pool])]
    chosen = (ranked[::-1] if order.startswith("worst") else ranked)[:count].copy()  # no negative strides for torch

x = arrays["x"][chosen]
recon = analysis.reconstruct(bundle.model, torch.as_tensor(x)).numpy()
rows, names = [x, recon], ["input x", "reconstruction<br>E[x | z = μ]"]
if bundle.dataset.get("binarized"):
    rows.insert(0, bundle.probe_images[chosen].float().numpy() / 255)
    names = ["original<br>(grey levels)", "input x<br>(binarized)", names[1]]
cols = [f"#{i} · {classes[labels[i]]}<br>D {arrays['reconstruction'][i]:.1f}<br>R {arrays['kl'][i]:.1f}"
        for i in chosen]
st.plotly_chart(figures.image_grid(np.stack(rows), row_labels=names, col_labels=cols, scale=3,
                                   x_title="probe index · label · D and R in nats per image"),
                key="recon_grid")
sel = arrays["reconstruction"][chosen], arrays["kl"][chosen]
st.caption(f"These {len(chosen)} images: mean D {sel[0].mean():.2f}, mean R {sel[1].mean():.2f}, "
           f"mean −ELBO {(sel[0] + sel[1]).mean():.2f} nats per image. Whole probe set "
           f"({len(labels):,} test images): mean D {arrays['reconstruction'].mean():.2f}, "
           f"mean R {arrays['kl'].mean():.2f} nats per image.")
