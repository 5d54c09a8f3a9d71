"""What the VQ-VAE's views share: the probe images' code grids, the codebook's decodings, and
the edits a session made to an image's codes. Cached like state.py's arrays."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import state
from vae_core import Bundle, analysis


def codes(bundle: Bundle) -> np.ndarray:
    """(N, h, w) int64 code grids k(x) of the probe images (state.probe's latents, reshaped)."""
    return state.probe(bundle)["mu"].reshape(-1, *bundle.model.latent_shape)


def counts(bundle: Bundle) -> np.ndarray:
    """(K,) how many probe code cells picked each code."""
    return np.bincount(codes(bundle).ravel(), minlength=bundle.model_config.codebook_size)


def decode(bundle: Bundle, grids: np.ndarray) -> np.ndarray:
    """(N, h, w) int code grids -> (N, C, H, W) decoder means in [0, 1]."""
    # torch.tensor copies: the probe arrays are read-only, which torch.as_tensor warns about.
    return analysis.decode(bundle.model, torch.tensor(np.asarray(grids), dtype=torch.long)).numpy()


@st.cache_data(show_spinner=False, max_entries=16)
def _everywhere(path: str, stamp: float) -> np.ndarray:
    bundle = state.get_bundle(path)
    k, (h, w) = bundle.model_config.codebook_size, bundle.model.latent_shape
    return decode(bundle, np.arange(k)[:, None, None].repeat(h, 1).repeat(w, 2))


def everywhere(bundle: Bundle) -> np.ndarray:
    """(K, C, H, W): each code decoded with the whole grid filled with it."""
    return _everywhere(str(bundle.path), state.stamp(bundle))


def edits(bundle: Bundle, image: int) -> dict[tuple[int, int], int]:
    """This session's edits of probe image ``image``'s grid: {(row, column): code}."""
    return st.session_state.setdefault("vq_edits", {}).setdefault((bundle.name, image), {})


def edited_grid(bundle: Bundle, image: int) -> np.ndarray:
    grid = codes(bundle)[image].copy()
    for (r, c), k in edits(bundle, image).items():
        grid[r, c] = k
    return grid
