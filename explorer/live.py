"""Cached reads of a bundle that a run is still writing. Kept apart from state.py's caches so
that the many weight versions of a live run (one per improved epoch) cannot push the shipped
models out of them; keyed by the weights' mtime, so each refresh sees the newest weights."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from vae_core import Bundle, BundleError, analysis, load_bundle, weights_stamp
from vae_core.checkpoint import CONFIG

MAP_IMAGES, RECON_IMAGES = 1000, 16


def stamp(path: str | Path) -> float:
    return weights_stamp(path)


@st.cache_resource(show_spinner=False, max_entries=4)
def _bundle(path: str, stamp: float) -> Bundle:
    return load_bundle(path)


def bundle(path: str | Path) -> tuple[Bundle | None, str | None]:
    """The bundle as it is now, or (None, why not): a run writes config.json a few seconds
    after it starts (PyTorch imported, data loaded)."""
    if not (Path(path) / CONFIG).is_file():
        return None, "no config.json yet: the run is importing PyTorch and loading its data"
    try:
        return _bundle(str(path), stamp(path)), None
    except BundleError as exc:
        return None, str(exc)


@st.cache_data(show_spinner=False, max_entries=8)
def _arrays(path: str, stamp: float) -> dict[str, np.ndarray]:
    b = _bundle(path, stamp)
    x = analysis.probe_inputs(b)[:MAP_IMAGES]
    mu, _ = analysis.encode_images(b.model, x)
    return {"x": x[:RECON_IMAGES].numpy(), "recon": analysis.reconstruct(b.model, x[:RECON_IMAGES]).numpy(),
            "mu": mu.numpy(), "labels": b.probe_labels[:MAP_IMAGES].numpy()}


def arrays(b: Bundle) -> dict[str, np.ndarray]:
    """From the weights the bundle holds now: x and recon (16, C, H, W) in [0, 1], the first
    probe images and their decoder means at z = μ(x); mu (N, D) and labels (N,) of the first
    1,000 probe images."""
    return _arrays(str(b.path), stamp(b.path))
