"""The learner's own image (drawn or uploaded) and "the selected image" every view starts from.

A session holds at most one own image, as the picture it was given, grey or colour (``own_raw``); each
bundle prepares it with its data set's recipe (vae_core.preprocess) and scores it once (cached
across sessions by the prepared pixels). When the learner makes it the selected image
(``own_in_use``), ``picked(bundle)`` returns it instead of the sidebar's probe image, for every
bundle with a Gaussian posterior; the views read the selected image only through ``picked``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from explorer import selection, state
from vae_core import Bundle
from vae_core.family import GAUSSIAN_POSTERIOR
from vae_core.own_image import Encoded, encode_one
from vae_core.preprocess import ImageInputError, prepare_for

RAW, IN_USE, SOURCE, INVERT = "own_raw", "own_in_use", "own_source", "own_invert"
K = 1000  # importance samples of the own image's L_k: about 0.2 s for the shipped conv models


@dataclass
class Picked:
    """The image a view starts from. ``x`` (C, H, W) in [0, 1] as scored; ``mu``, ``sigma``,
    ``kl_per_dim`` (D,) of q(z|x); D and R in nats per image; ``index`` the probe index, None
    for the own image; ``caption`` names it in one phrase."""
    x: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    kl_per_dim: np.ndarray
    distortion: float
    rate: float
    index: int | None
    caption: str


def keep(image: np.ndarray, source: str) -> None:
    """Hold ``image`` (H, W) grey or (H, W, 3) colour, float in [0, 1], as this session's own image."""
    st.session_state[RAW] = np.asarray(image, dtype=np.float32)
    st.session_state[SOURCE] = source


def raw() -> np.ndarray | None:
    return st.session_state.get(RAW)


def prepared(bundle: Bundle) -> tuple[torch.Tensor, str]:
    """The own image as ``bundle``'s model takes it, (C, H, W), and how it was made. Raises
    ImageInputError (a blank drawing) or LookupError when the session has none."""
    image = raw()
    if image is None:
        raise LookupError("no own image in this session")
    x, recipe = prepare_for(bundle.dataset.get("name", ""), image, tuple(bundle.probe_images.shape[1:]))
    if st.session_state.get(INVERT):  # the page's out-of-distribution test
        return 1.0 - x, recipe + ", then inverted"
    return x, recipe


@st.cache_data(show_spinner=False, max_entries=256)
def _encode(path: str, stamp: float, pixels: bytes, shape: tuple[int, ...]) -> Encoded:
    bundle = state.get_bundle(path)
    x = torch.frombuffer(bytearray(pixels), dtype=torch.float32).reshape(shape)
    return encode_one(bundle.model, x, binarized=bool(bundle.dataset.get("binarized")), k=K)


def encoded(bundle: Bundle, x: torch.Tensor) -> Encoded:
    """``x`` (C, H, W) scored by ``bundle``'s model (vae_core.own_image.encode_one, L_k with k = K)."""
    return _encode(str(bundle.path), state.stamp(bundle), x.numpy().tobytes(), tuple(x.shape))


def usable(bundle: Bundle) -> Encoded | None:
    """The own image scored by ``bundle`` when the session uses it as the selected image and
    the bundle has a Gaussian posterior; else None."""
    if not st.session_state.get(IN_USE) or GAUSSIAN_POSTERIOR not in bundle.model.provides:
        return None
    try:
        return encoded(bundle, prepared(bundle)[0])
    except (ImageInputError, LookupError):
        return None


def picked(bundle: Bundle, key: str = selection.FIRST) -> Picked:
    """The selected image of a Gaussian-posterior bundle: the own image where it is in use
    (for the first selection), else probe image ``selection.get(key)``."""
    own = usable(bundle) if key == selection.FIRST else None
    if own is not None:
        return Picked(own.x, own.latent, own.sigma, own.kl_per_dim, own.distortion, own.rate, None,
                      f"your {st.session_state.get(SOURCE, 'image')}")
    a = state.probe(bundle)
    i = selection.get(key, len(a["labels"]))
    return Picked(a["x"][i], a["mu"][i], a["sigma"][i], a["kl_per_dim"][i], float(a["reconstruction"][i]),
                  float(a["kl"][i]), i, f"probe #{i}, label {bundle.classes[a['labels'][i]]}")


def use(on: bool) -> None:
    """Callback: make the own image the selected image (or go back to the probe images)."""
    st.session_state[IN_USE] = bool(on)

