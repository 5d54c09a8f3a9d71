"""PCA and t-SNE of the encoder means of the probe images, coloured by label."""
import time

import streamlit as st

from explorer import figures, state

bundle = state.current()
arrays = state.probe(bundle)
n_probe, dim = arrays["mu"].shape

st.title("Latent map")
st.markdown(
    "Each point is one held-out image placed by its **posterior mean** μ(x), the centre of q(z|x), "
    f"projected from {dim} dimensions to 2. PCA keeps the directions of largest variance (distances "
    "mean something); t-SNE keeps neighbourhoods (clusters mean something, distances between them "
    "do not). Colour is the true label, which the model never saw.")
st.latex(r"q(z\mid x) = \mathcal{N}\big(\mu(x), \operatorname{diag}\sigma^2(x)\big),\qquad "
         r"\text{point} = \mathrm{proj}(\mu(x))")

methods = (["z itself (2-D latent)"] if dim == 2 else []) + ["PCA", "t-SNE"]
keys = {"z itself (2-D latent)": "latent", "PCA": "pca", "t-SNE": "tsne"}
sizes = [n for n in (500, 1000, 2000, 4000) if n <= n_probe] or [n_probe]
c1, c2 = st.columns([2, 3])
method = c1.radio("Projection", methods, horizontal=True, key="map_method")
n = c2.select_slider("Images (N)", sizes, value=min(2000, sizes[-1]), key="map_n")

started = time.perf_counter()
if keys[method] == "tsne":
    with st.spinner(f"Running t-SNE on {n:,} points (tens of seconds on a 2-core CPU; cached afterwards "
                    "for every visitor)…"):
        proj = state.get_projection(bundle, "tsne", n)
else:
    proj = state.get_projection(bundle, keys[method], n)
elapsed = time.perf_counter() - started

fig = figures.latent_map(proj.coords, arrays["labels"][:n], bundle.classes, proj.axis_titles)
st.plotly_chart(fig, key="latent_map")
st.caption(f"{n:,} probe images, {method}; computed or fetched from the cache in {elapsed:.2f} s. "
           "Hover a point for its label and probe index (use the index on the traversal page).")
