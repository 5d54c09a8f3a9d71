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


def _selected() -> tuple[int, bool]:
    return selection.get(selection.FIRST), bool(st.session_state.get(own.IN_USE))


def picked(source: str, n: int) -> list[int]:
    """The map's selection, while the sidebar still selects what the map chose (a new image
    picked there, or the learner's own image, makes the map's selection go)."""
    value = st.session_state.get(PICKED) or {}
    if value.get("source") != source or value.get("first") != _selected():
        return []
    return [i for i in value.get("indices", []) if 0 <= i < n]


def choose(source: str, indices: list[int], points: Points) -> None:
    """Make ``indices`` (of the source's points) the map's selection; the first, where it is a
    probe image, becomes the selected image of every view."""
    if indices and points.probe_index[indices[0]] >= 0:
        selection.choose(selection.FIRST, int(points.probe_index[indices[0]]))
        own.use(False)  # a clicked image becomes the selected one, not the own image
    st.session_state[PICKED] = {"source": source, "indices": list(indices),
                                "first": _selected()}


def search(text: str, points: Points, classes: list[str]) -> tuple[list[int], str]:
    """The points a search names: "#123" or "123" (an index of the source), or a label ("7",
    "label 7", "Sneaker"); returns (indices, what was found, in a phrase)."""
    text = text.strip()[:60].lower()
    word = text.removeprefix("label").strip()
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
             "D (nats per image)": points.distortion[show].round(1), "R (nats per image)": points.rate[show].round(1)}
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


def pca_pad(bundle: Bundle, points: Points, coords: np.ndarray, i: int | None, source: str) -> None:
    """The PCA plane as a decoder pad: a point (a, b) of the map decodes z = origin + a·u₁ + b·u₂,
    the origin holding the other coordinates at the mean μ̄ or at the selected image's μ. A
    click selects the image nearest the click on the map."""
    mean, components, spread = maps.pca_plane(points.mu)
    sign = np.where(np.sum((points.mu - mean) @ components.T * coords, 0) < 0, -1.0, 1.0)
    components = components * sign[:, None]  # as the map above draws its axes
    hold = st.radio("The other directions held at", ["the mean μ̄", "the selected image's μ"], horizontal=True,
                    key="map_pad_hold", disabled=i is None,
                    help=None if i is not None else "Select an image on the map (a click) to hold them at its μ.")
    origin, at_selected = mean, i is not None and hold != "the mean μ̄"
    if at_selected:
        a_b = (points.mu[i] - mean) @ components.T
        origin = points.mu[i] - a_b @ components  # the selected μ less its part in the plane
    lim = float(np.percentile(np.abs(coords), 99.9) * 1.05)  # a few far points would shrink the rest
    dots, colors = live_decode.class_points(coords[:20_000], points.labels[:20_000], lim, int(points.labels.max()) + 1)
    start = [float(np.clip((v + lim) / (2 * lim), 0, 1)) for v in coords[i]] if i is not None else [0.5, 0.5]
    payload = {"z": [float(v) for v in origin], "basis": components.tolist(), "dims": [0, 1],
               "x_values": [-lim, lim], "y_values": [-lim, lim], "size": 360, "scale": 6, "points": dots,
               "colors": colors, "start": start, "plane_labels": ["PC 1", "PC 2"],
               "axes_label": f"PC 1 and PC 2 from {-lim:.1f} to {lim:.1f} latent units (the map's axes); "
                             f"z = {'the selected μ, its in-plane part replaced' if at_selected else 'μ̄'} "
                             "+ a·u₁ + b·u₂" + ("; the cursor starts at the selected image" if i is not None else "")}

    def choose_nearest(value) -> None:
        """A click on the plane selects the image nearest it on the map."""
        z = live_decode.released_z(value, len(origin))
        if z is None:
            return
        ab = (z - origin) @ components.T
        choose(source, [int(((coords - ab) ** 2).sum(1).argmin())], points)

    total = max(float(np.var(points.mu, 0).sum()), 1e-12)
    if not live_decode.mount(bundle, "pad", "map_pca_pad", payload, on_release=choose_nearest):
        live_decode.plane_sliders(bundle, origin, components, lim, ["a along PC 1", "b along PC 2"], "map_pca_sliders")
    else:
        st.caption(f"Move the cursor over the plane: E[x | z] for the latent under it, decoded in your browser; "
                   f"click to select the nearest image. The plane holds {spread[0] ** 2 / total * 100:.0f}% + "
                   f"{spread[1] ** 2 / total * 100:.0f}% of the variance of μ; the other directions stay fixed, "
                   "so an image far from the plane decodes differently here than from its own μ.")


def inspect(bundle: Bundle, points: Points, i: int, classes: list[str]) -> None:
    """One image of the map: input and reconstruction, D and R, and q(z|x) dimension by dimension."""
    x = torch.from_numpy(points.images[i].astype(np.float32) / 255)
    left, right = st.columns([1, 4])
    recon = analysis.reconstruct(bundle.model, x[None])[0].numpy()
    label = classes[points.labels[i]] if points.labels[i] < len(classes) else str(points.labels[i])
    left.image(figures.to_uint8_grid(np.stack([x.numpy()[None], recon[None]]), scale=4), output_format="PNG",
               caption=f"top: input x (#{i}, label {label}" + ("; D and R were scored on one binarized draw of it"
                                                               if bundle.dataset.get("binarized") else "")
               + "); bottom: E[x | z = μ(x)]")
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
