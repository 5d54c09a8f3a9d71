"""PCA and t-SNE of the encoder means, coloured by label; click a point to inspect it."""
import time

import numpy as np
import streamlit as st
import torch

from explorer import capabilities, figures, live_decode, own, selection, state, texts
from vae_core import analysis
from vae_core.family import GAUSSIAN_POSTERIOR
from vae_core.own_image import place_on_map

bundle = capabilities.require(GAUSSIAN_POSTERIOR)
arrays = state.probe(bundle)
n_probe, dim = arrays["mu"].shape
sigma = arrays["sigma"]

texts.header("latent_map", dim=dim)
st.markdown("**Click a point** (or draw a box or lasso) to inspect it below.")

methods = (["z itself (2-D latent)"] if dim == 2 else []) + ["PCA", "t-SNE"]
keys = {"z itself (2-D latent)": "latent", "PCA": "pca", "t-SNE": "tsne"}
sizes = [n for n in (500, 1000, 2000, 4000) if n <= n_probe] or [n_probe]
c1, c2 = st.columns([2, 3])
method = c1.radio("Projection", methods, horizontal=True, key="map_method")
n = c2.select_slider("Images (N)", sizes, value=min(2000, sizes[-1]), key="map_n")

started = time.perf_counter()
if keys[method] == "tsne":
    with st.spinner(f"Running t-SNE on {n:,} points (up to 20 s on a 2-core CPU; cached afterwards "
                    "for every visitor)…"):
        proj = state.get_projection(bundle, "tsne", n)
else:
    proj = state.get_projection(bundle, keys[method], n)
elapsed = time.perf_counter() - started

picked = [i for i in st.session_state.get("map_picked", []) if i < n]
i = selection.get(selection.FIRST, n_probe)
sel = own.picked(bundle)  # the learner's own image, where it is the selected one: a star, not a ring
highlight = list(dict.fromkeys(([i] if i < n and sel.index is not None else []) + picked))[:50]
ellipses = [(arrays["mu"][k], sigma[k]) for k in highlight] if keys[method] == "latent" else []
fig = figures.latent_map(proj.coords, arrays["labels"][:n], bundle.classes, proj.axis_titles,
                         highlight=highlight, ellipses=ellipses)
if sel.index is None:  # placed without moving the others
    xy, exact = place_on_map(arrays["mu"][:n], proj.coords, sel.mu[None], keys[method])
    figures.mark_own(fig, xy[0], "your image" + ("" if exact else " (approximate place)"))


def on_pick():
    """Runs before the rerun: the clicked or boxed points become the selection."""
    indices = selection.points_to_indices(fig, st.session_state["latent_map"].selection)
    if indices:
        st.session_state["map_picked"] = indices
        selection.choose(selection.FIRST, indices[0])
        own.use(False)  # a clicked test image becomes the selected one, not the own image


st.plotly_chart(fig, key="latent_map", on_select=on_pick, selection_mode=("points", "box", "lasso"),
                config={"toImageButtonOptions": {"format": "png", "scale": 2, "filename": f"{bundle.name}-latent-map"}})
st.caption(f"{n:,} probe images, {method}; computed or fetched from the cache in {elapsed:.2f} s. "
           + ("Black ellipses: the 1σ contour of q(z|x) of the selected images. " if ellipses else "")
           + ("The star: your own image. " if sel.index is None else "")
           + "The camera icon above the chart saves it as PNG.")

if dim == 2:
    st.subheader("Hover to decode")
    mu = arrays["mu"][:n]
    lim = float(max(3.0, np.abs(mu).max() * 1.05))
    points, colors = live_decode.class_points(mu, arrays["labels"][:n], lim, len(bundle.classes))

    def choose_nearest(value: dict) -> None:
        """A click on the plane selects the probe image whose μ is nearest, as a click on the map does."""
        k = int(((mu - np.asarray(value["z"])) ** 2).sum(1).argmin())
        st.session_state["map_picked"] = [k]
        selection.choose(selection.FIRST, k)
        own.use(False)

    start = [(float(v) + lim) / (2 * lim) for v in sel.mu]
    payload = {"z": [0.0, 0.0], "dims": [0, 1], "x_values": [-lim, lim], "y_values": [-lim, lim], "size": 360,
               "scale": 8, "points": points, "colors": colors, "start": start,
               "axes_label": f"z0 from {-lim:.1f} to {lim:.1f} (right), z1 from {-lim:.1f} to {lim:.1f} (up), "
                             "latent units; each dot an image's μ, coloured by label"}
    if live_decode.mount(bundle, "pad", "map_pad", payload, on_release=choose_nearest):
        st.caption("Move the cursor over the plane: the decoder's mean E[x | z] at the z under it is drawn beside "
                   "it, decoded in your browser (VAE Explainer's interaction). Click to select the nearest image.")

csv = state.encodings_csv(bundle)
st.download_button("Download the encodings (CSV: index, label, μ, σ)", csv, f"{bundle.name}-encodings.csv",
                   "text/csv", key="map_csv", icon=":material/download:", on_click="ignore")

st.header(f"Inspect image #{i}" if sel.index is not None else "Inspect your image")
if len(picked) > 1:
    st.caption(f"{len(picked)} points selected; showing the first. Their indices: "
               + ", ".join(map(str, picked[:30])) + ("…" if len(picked) > 30 else ""))
left, right = st.columns([1, 4])
recon = analysis.reconstruct(bundle.model, torch.tensor(sel.x)[None])[0].numpy()
left.image(figures.to_uint8_grid(np.stack([sel.x[None], recon[None]]), scale=4), output_format="PNG",
           caption=f"top: input x ({sel.caption}); bottom: E[x | z = μ(x)]")
left.markdown(f"D **{sel.distortion:.1f}**, R **{sel.rate:.1f}** nats per image")
right.plotly_chart(figures.posterior_bars(sel.mu, sel.sigma, sel.kl_per_dim), key="inspect_bars")
right.caption("Left: where q(z|x) sits in each dimension; a σ near 1 and μ near 0 is a dimension this image "
              "leaves at the prior (KL ≈ 0). Right: KL_j = ½(μ_j² + σ_j² − log σ_j² − 1), nats; they sum to R.")
b1, b2, b3 = st.columns(3)
if b1.button("Use as traversal anchor", icon=":material/tune:", key="to_traversal"):
    st.session_state["trav_anchor_kind"] = "image"
    st.switch_page("views/traversals.py")
if b2.button("Interpolate from it", icon=":material/linear_scale:", key="to_interpolation"):
    st.switch_page("views/interpolation.py")
if b3.button("See its posterior spread", icon=":material/blur_on:", key="to_posterior"):
    st.switch_page("views/posterior.py")
