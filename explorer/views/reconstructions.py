"""Probe images over their reconstructions, with each image's D and R in nats."""
import numpy as np
import streamlit as st
import torch

from explorer import figures, state, texts, widgets
from vae_core import analysis
from vae_core.family import CODEBOOK

bundle = state.current()
arrays = state.probe(bundle)
classes, labels = bundle.classes, arrays["labels"]

if CODEBOOK in bundle.model.provides:  # a VQ-VAE: deterministic codes, rate from its prior over them
    texts.header("reconstructions_vq")
    st.caption("The Code grids view shows each image's codes.")
else:
    texts.header("reconstructions")

c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
pick = c1.selectbox("Class", ["any class", *classes], key="recon_class")
order = c2.radio("Which images", ["random", "worst (highest D)", "best (lowest D)"], horizontal=True,
                 key="recon_order")
count = c3.select_slider("How many", [5, 10, 15, 20], value=10, key="recon_count")
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
recon = analysis.reconstruct(bundle.model, torch.tensor(x)).numpy()
decoded_at = "z_q(x)" if CODEBOOK in bundle.model.provides else "z = μ"
rows, names = [x, recon], ["input x", f"reconstruction E[x | {decoded_at}]"]
if bundle.dataset.get("binarized"):
    rows.insert(0, bundle.probe_images[chosen].float().numpy() / 255)
    names = ["original (grey levels)", "input x (binarized)", names[1]]
grid = np.stack(rows)  # (rows, images, C, H, W)
# Plain images, not a plotly figure: this is the first view a visitor sees, and plotly.js is a
# 4.7 MB script the browser would have to fetch and compile before drawing anything.
st.caption("Each column, top to bottom: " + " · ".join(names) + ". Under it: probe index · label · "
           "D and R in nats per image.")
scale = max(3, -(-84 // grid.shape[-1]))  # cells at least 84 px wide: 8x8 digits too, and room for the caption
columns = [figures.to_uint8_grid(grid[:, k:k + 1], scale) for k in range(len(chosen))]
st.image(columns, width=columns[0].shape[1],  # pixel for pixel: every column the same width
         caption=[f"#{i} {classes[labels[i]]} · D {arrays['reconstruction'][i]:.1f} · R {arrays['kl'][i]:.1f}"
                  for i in chosen], output_format="PNG")  # PNG: JPEG would blur the pixels
widgets.download_png(grid, f"{bundle.name}-reconstructions.png", key="recon_png", scale=scale)
sel = arrays["reconstruction"][chosen], arrays["kl"][chosen]
st.caption(f"These {len(chosen)} images: mean D {sel[0].mean():.2f}, mean R {sel[1].mean():.2f}, "
           f"mean −ELBO {(sel[0] + sel[1]).mean():.2f} nats per image. Whole probe set "
           f"({len(labels):,} {'probe images' if bundle.dataset.get('imported_from') else 'test images'}): mean D {arrays['reconstruction'].mean():.2f}, "
           f"mean R {arrays['kl'].mean():.2f} nats per image.")
