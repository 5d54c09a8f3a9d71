"""What the latent map draws: the points of a source (the bundle's probe images, or every image
of the data set's test or training split where its files are on this machine) and their maps.

The split's encodings and maps are cached on disk (vae_core.split_maps) and, once loaded, in
memory for every session (st.cache_resource). The first computation runs outside Streamlit's
cache so the view can show its progress bar; the cached call then reads the disk entry.
"""
from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import streamlit as st
import torch

from explorer import state
from explorer.bundles import uploads_root
from vae_core import Bundle, maps, read_projections, split_maps
from vae_core.data import DatasetNotFoundError, resolve_data_dir

LIMIT_ENV = "VAE_MAP_MAX_POINTS"  # a server's cap on the images of a split a map shows
_FRESH: dict[tuple, maps.Map] = {}  # maps fitted in this process, on their way into _fitted's cache


@dataclass(frozen=True)
class Points:
    """The images of one source. ``images`` (N, C, H, W) uint8; ``labels`` (N,); ``mu``,
    ``logvar`` (N, D); ``distortion`` D and ``rate`` R (N,), nats per image; ``probe_index``
    (N,) the probe index of each image, -1 where it is not a probe image; ``what`` names the set."""
    source: str
    images: np.ndarray
    labels: np.ndarray
    mu: np.ndarray
    logvar: np.ndarray
    distortion: np.ndarray
    rate: np.ndarray
    probe_index: np.ndarray
    what: str
    split_at: int = 0  # "test + training": where the training images start


def limit() -> int | None:
    """$VAE_MAP_MAX_POINTS: ASCII digits, at least 10 (a map needs a few points); else no cap."""
    value = os.environ.get(LIMIT_ENV, "")
    return int(value) if re.fullmatch(r"[0-9]{1,9}", value) and int(value) >= 10 else None


def _split_sizes(dataset: str) -> dict[str, int]:
    return _sizes_in(dataset, str(resolve_data_dir()))


@st.cache_resource(show_spinner=False, max_entries=8)
def _sizes_in(dataset: str, data_dir: str) -> dict[str, int]:
    """How many images each split of ``dataset`` has on this machine; {} when it has none."""
    sizes = {}
    for split in ("test", "train"):
        with contextlib.suppress(DatasetNotFoundError, ValueError):  # not here: that split is not offered
            sizes[split] = len(split_maps.split_images(dataset, split, data_dir)["labels"])
    if len(sizes) == 2:
        sizes["all"] = sizes["test"] + sizes["train"]
    return sizes


def sources(bundle: Bundle) -> tuple[dict[str, str], str]:
    """The sources this machine can map for ``bundle`` ({key: label}) and, when a split is
    missing, one sentence saying why."""
    name = bundle.dataset.get("name", "")
    out = {}
    if Path(bundle.path).resolve().is_relative_to(uploads_root()):  # a stranger's weights: bounded work only
        return ({"probe": f"probe images ({len(bundle.probe_labels):,})"},
                "maps of whole splits are made for the server's own bundles, not uploaded ones, so the map shows "
                "the probe images the upload brought")
    sizes = _split_sizes(name) if name in split_maps.NAMED_SETS else {}
    cap = limit()
    for split, n in sizes.items():
        shown = min(n, cap) if cap else n
        out[split] = f"{split} split ({shown:,} images)" if split != "all" else f"test + training ({shown:,} images)"
    n_probe = len(bundle.probe_labels)
    out["probe"] = f"probe images ({min(n_probe, cap) if cap else n_probe:,})"
    why = "" if sizes else (f"{name}'s files are not in this server's data folder ($VAE_DATA_DIR; docs/training.md "
                            "says where they go), so the map shows the bundle's probe images"
                            if name in split_maps.NAMED_SETS else
                            f"the bundle's data set ({name or 'unnamed'}) cannot be reloaded by name, so the map "
                            "shows its probe images")
    return out, why


def _probe_index(bundle: Bundle, images: np.ndarray) -> np.ndarray:
    """Where each image of the test split sits in the probe set (data.probe_subset's recipe: a
    seed-0 permutation of the whole split, its first probe_size sorted, maybe trimmed since),
    checked against the probe pixels; -1 elsewhere and for bundles made another way."""
    out, n_probe = np.full(len(images), -1), len(bundle.probe_labels)
    full = _split_sizes(bundle.dataset.get("name", "")).get("test", 0)
    size = min(max(int(getattr(bundle.train_config, "probe_size", 0) or 0), n_probe), full)
    if not full or n_probe > full:
        return out
    order = torch.randperm(full, generator=torch.Generator().manual_seed(0))[:size].sort().values.numpy()[:n_probe]
    inside = order < len(images)  # a server cap may cut the split short
    if inside.any() and np.array_equal(images[order[inside][:50]], bundle.probe_images.numpy()[inside][:50]):
        out[order[inside]] = np.flatnonzero(inside)
    return out


@st.cache_resource(show_spinner=False, max_entries=8)
def _points(path: str, stamp: float, source: str, cap: int | None) -> Points:
    bundle = state.get_bundle(path)
    if source == "probe":
        a, n = state.probe(bundle), min(len(bundle.probe_labels), cap or len(bundle.probe_labels))
        return Points("probe", bundle.probe_images.numpy()[:n], a["labels"][:n], a["mu"][:n], a["logvar"][:n],
                      a["reconstruction"][:n], a["kl"][:n], np.arange(n), f"{n:,} probe images")
    a = {k: v.copy() for k, v in split_maps.split_points(bundle, source, limit=cap).items()}
    probe_index = _probe_index(bundle, a["images"]) if source in ("test", "all") else np.full(len(a["labels"]), -1)
    # A probe image shows the figures the other views give it (its binarization is the probe
    # set's, one draw among many), so the same image never has two D's on one screen.
    probe, inside = state.probe(bundle), probe_index >= 0
    a["reconstruction"][inside] = probe["reconstruction"][probe_index[inside]]
    a["kl"][inside] = probe["kl"][probe_index[inside]]
    for v in a.values():
        v.flags.writeable = False
    split_at = _split_sizes(bundle.dataset.get("name", "")).get("test", 0) if source == "all" else 0
    return Points(source, a["images"], a["labels"], a["mu"], a["logvar"], a["reconstruction"], a["kl"],
                  probe_index, f"{len(a['labels']):,} {'test + training' if source == 'all' else source + '-split'} images of "
                  f"{bundle.dataset.get('name')}", split_at)


def points(bundle: Bundle, source: str, progress: Callable[[float], Any] | None = None) -> Points:
    """The source's points; a first computation reports its progress (fraction done)."""
    if source != "probe" and not split_maps.points_path(bundle, source, limit()).exists():
        # filled with progress, outside Streamlit's cache, which then reads it
        split_maps.split_points(bundle, source, limit=limit(), progress=progress)
    return _points(str(bundle.path), state.stamp(bundle), source, limit())


@st.cache_resource(show_spinner=False, max_entries=16)
def _fitted(path: str, stamp: float, source: str, method: str, cap: int | None) -> maps.Map:
    bundle = state.get_bundle(path)
    p = _points(path, stamp, source, cap)
    if source == "probe":
        stored = read_projections(path).get(method)  # shipped bundles carry their probe maps
        coords = stored[0].numpy() if stored is not None and stored[0].shape[0] == len(p.mu) else None
        return maps.fit(p.mu, method, coords=coords)
    fresh = _FRESH.pop((path, stamp, source, method, cap), None)
    return fresh or split_maps.split_map(bundle, source, method, p.mu, limit=cap)


def fitted(bundle: Bundle, source: str, method: str, progress: Callable[[float], Any] | None = None) -> maps.Map:
    """The ``method`` map of the source's posterior means, able to place new points."""
    if source != "probe" and method != "latent" and not split_maps.map_path(
            bundle, source, method, len(points(bundle, source).mu), limit()).exists():
        key = (str(bundle.path), state.stamp(bundle), source, method, limit())
        # A map fitted just now keeps what places new points (a UMAP refit costs as much as the fit).
        _FRESH[key] = split_maps.split_map(bundle, source, method, points(bundle, source).mu, limit=limit(),
                                           progress=progress)
    elif source == "probe" and method in ("tsne", "umap"):  # not stored in the bundle: seconds, said so
        with st.spinner(f"Computing the {method} map of the probe images (cached for every visitor)…"):
            return _fitted(str(bundle.path), state.stamp(bundle), source, method, limit())
    try:
        return _fitted(str(bundle.path), state.stamp(bundle), source, method, limit())
    finally:  # already in Streamlit's cache (its disk entry deleted since): nothing to hand over
        _FRESH.pop((str(bundle.path), state.stamp(bundle), source, method, limit()), None)
