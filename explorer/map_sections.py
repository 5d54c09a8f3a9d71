"""The latent map's sections below the map: the selected images, their nearest neighbours in
latent space, the PCA plane as a decoder pad, and one image inspected. explorer/views/latent_map.py
draws them in this order."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import figures, live_decode, own, selection
from explorer.map_data import Points
from vae_core import Bundle, analysis, maps

PICKED = "map_picked"  # {"source": key, "indices": [...]}: the map's selection, in the source's indices
K_NEIGHBOURS = 8
BARS_CAPTION = ("Left: where q(z|x) sits in each dimension; a σ near 1 and μ near 0 is a dimension this image "
                "leaves at the prior (KL ≈ 0). Right: KL_j = ½(μ_j² + σ_j² − log σ_j² − 1), nats; they sum to R.")


def picked(source: str, n: int) -> list[int]:
    value = st.session_state.get(PICKED) or {}
    return [i for i in value.get("indices", []) if 0 <= i < n] if value.get("source") == source else []


def choose(source: str, indices: list[int], points: Points) -> None:
    """Make ``indices`` (of the source's points) the map's selection; the first, where it is a
    probe image, becomes the selected image of every view."""
    st.session_state[PICKED] = {"source": source, "indices": list(indices)}
    if indices and points.probe_index[indices[0]] >= 0:
        selection.choose(selection.FIRST, int(points.probe_index[indices[0]]))
        own.use(False)  # a clicked image becomes the selected one, not the own image


def search(text: str, points: Points, classes: list[str]) -> tuple[list[int], str]:
    """The points a search names: "#123" or "123" (an index of the source), or a label ("7",
    "label 7", "Sneaker"); returns (indices, what was found, in a phrase)."""
    text = text.strip()[:60]
    word = text.removeprefix("label").strip().lower()
    names = [c.lower() for c in classes]
    if text.startswith("label") or (word in names and not text.startswith("#")):
        if word in names:
            hits = np.flatnonzero(points.labels == names.index(word))
            return hits.tolist(), f"{len(hits):,} images labelled {classes[names.index(word)]}"
        return [], f"no label {word!r}; the labels are " + ", ".join(classes)
    index = selection.parse_index(text.removeprefix("#").strip())
    if index is not None and index < len(points.labels):
        return [index], f"image #{index}"
    return [], f"{text!r} is neither an index (0 to {len(points.labels) - 1}) nor a label"


def grid(points: Points, indices: list[int], classes: list[str], limit: int = 48) -> None:
    """The selected images in rows of 8, each with its label, D and R."""
    show = indices[:limit]
    images = points.images[show].astype(np.float32) / 255
    rows = -(-len(show) // 8)
    pad = np.ones((rows * 8 - len(show), *images.shape[1:]), np.float32)
    st.image(figures.to_uint8_grid(np.concatenate([images, pad]).reshape(rows, 8, *images.shape[1:]), scale=2),
             output_format="PNG")
    table = {"index": show, "label": [classes[k] if k < len(classes) else str(k) for k in points.labels[show]],
             "D (nats)": points.distortion[show].round(1), "R (nats)": points.rate[show].round(1)}
    st.dataframe(table, hide_index=True, height=min(35 * len(show) + 38, 250))
    more = f" The first {limit} are shown." if len(indices) > limit else ""
    st.caption(f"{len(indices):,} images selected, left to right, top to bottom.{more} D and R in nats per image.")


def neighbours_of(points: Points, i: int) -> list[int]:
    """The K nearest images of image i by the distance between posterior means."""
    return maps.nearest(points.mu, i, K_NEIGHBOURS)[0].tolist()


def neighbours(points: Points, i: int, classes: list[str]) -> list[int]:
    """The K nearest images of image i by posterior mean and by symmetric KL; returns the first list."""
    out = []
    for column, (title, logvar, unit) in zip(st.columns(2), [
            ("by the distance between posterior means ‖μᵢ − μⱼ‖", None, "latent units"),
            ("by the symmetric KL between posteriors KL(qᵢ‖qⱼ) + KL(qⱼ‖qᵢ)", points.logvar, "nats")]):
        near, dist = maps.nearest(points.mu, i, K_NEIGHBOURS, logvar=logvar)
        out = out or near.tolist()
        column.markdown(f"**{title}**")
        images = points.images[np.concatenate([[i], near])].astype(np.float32) / 255
        column.image(figures.to_uint8_grid(images[None], scale=2), output_format="PNG")
        names = [classes[k] if k < len(classes) else str(k) for k in points.labels[near]]
        column.caption(f"First: #{i} itself; then " + "; ".join(
            f"#{j} ({name}, {d:.2f})" for j, name, d in zip(near, names, dist)) + f". Distances in {unit}.")
    return out


def pca_pad(bundle: Bundle, points: Points, coords: np.ndarray, i: int | None, labels: np.ndarray) -> None:
    """The PCA plane as a decoder pad: a point (a, b) of the map decodes z = origin + a·u₁ + b·u₂,
    the origin holding the other coordinates at the mean μ̄ or at the selected image's μ."""
    mean, components, spread = maps.pca_plane(points.mu)
    sign = np.where(np.sum((points.mu - mean) @ components.T * coords, 0) < 0, -1.0, 1.0)
    components = components * sign[:, None]  # as the map above draws its axes
    hold = st.radio("The other directions held at", ["the mean μ̄", "the selected image's μ"], horizontal=True,
                    key="map_pad_hold", disabled=i is None)
    origin = mean
    if i is not None and hold != "the mean μ̄":
        a_b = (points.mu[i] - mean) @ components.T
        origin = points.mu[i] - a_b @ components  # the selected μ less its part in the plane
    lim = float(np.abs(coords).max() * 1.05)
    dots, colors = live_decode.class_points(coords, labels, lim, int(labels.max()) + 1)
    payload = {"z": [float(v) for v in origin], "basis": components.tolist(), "dims": [0, 1],
               "x_values": [-lim, lim], "y_values": [-lim, lim], "size": 360, "scale": 6, "points": dots[:20_000],
               "colors": colors, "start": [0.5, 0.5], "plane_labels": ["PC 1", "PC 2"],
               "axes_label": f"PC 1 and PC 2 from {-lim:.1f} to {lim:.1f} latent units (the map's axes); "
                             f"z = {'μ̄' if origin is mean else 'the selected μ, its in-plane part replaced'} "
                             "+ a·u₁ + b·u₂"}
    if live_decode.mount(bundle, "pad", "map_pca_pad", payload):
        st.caption(f"Move the cursor over the plane: E[x | z] for the latent under it, decoded in your browser. "
                   f"The plane holds {spread[0] ** 2 / max(np.var(points.mu, 0).sum(), 1e-12) * 100:.0f}% + "
                   f"{spread[1] ** 2 / max(np.var(points.mu, 0).sum(), 1e-12) * 100:.0f}% of the variance of μ; "
                   "the other directions stay fixed, so images far from the plane decode differently here.")


def inspect(bundle: Bundle, points: Points, i: int, classes: list[str]) -> None:
    """One image of the map: input and reconstruction, D and R, and q(z|x) dimension by dimension."""
    x = torch.from_numpy(points.images[i].astype(np.float32) / 255)
    left, right = st.columns([1, 4])
    recon = analysis.reconstruct(bundle.model, x[None])[0].numpy()
    label = classes[points.labels[i]] if points.labels[i] < len(classes) else str(points.labels[i])
    left.image(figures.to_uint8_grid(np.stack([x.numpy()[None], recon[None]]), scale=4), output_format="PNG",
               caption=f"top: input x (#{i}, label {label}); bottom: E[x | z = μ(x)]")
    left.markdown(f"D **{points.distortion[i]:.1f}**, R **{points.rate[i]:.1f}** nats per image")
    sigma = np.exp(0.5 * points.logvar[i])
    kl = 0.5 * (points.mu[i] ** 2 + sigma ** 2 - points.logvar[i] - 1)
    right.plotly_chart(figures.posterior_bars(points.mu[i], sigma, kl), key="inspect_bars")
    right.caption(BARS_CAPTION)


def inspect_selected(bundle: Bundle, sel) -> None:
    """The sidebar's selected image (or the learner's own), as own.picked gives it."""
    left, right = st.columns([1, 4])
    recon = analysis.reconstruct(bundle.model, torch.tensor(sel.x)[None])[0].numpy()
    left.image(figures.to_uint8_grid(np.stack([sel.x[None], recon[None]]), scale=4), output_format="PNG",
               caption=f"top: input x ({sel.caption}); bottom: E[x | z = μ(x)]")
    left.markdown(f"D **{sel.distortion:.1f}**, R **{sel.rate:.1f}** nats per image")
    right.plotly_chart(figures.posterior_bars(sel.mu, sel.sigma, sel.kl_per_dim), key="inspect_bars")
    right.caption(BARS_CAPTION)
