"""Cached loading. Models and their probe arrays are loaded once per process (st.cache_resource,
the arrays read-only) and shared by every session; smaller derived results (maps, L_k) are
cached by st.cache_data. Both are keyed by bundle path and the weights' stamp, so a retrained
bundle is picked up and a second visit, from any session, is instant. The server's process
settings are made on import (explorer.runtime); where bundles come from is explorer.bundles."""
from __future__ import annotations

import contextlib
import gc
import io
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from explorer import runtime  # noqa: F401  (the process settings, before any model loads)
from vae_core import (
    Bundle,
    BundleError,
    analysis,
    evaluate,
    load_bundle,
    read_encodings,
    read_projections,
    weights_stamp,
)
from vae_core.checkpoint import PROBE_BOUNDS_K, PROBE_BOUNDS_N, read_probe_bounds
from vae_core.family import GAUSSIAN_POSTERIOR


def stamp(bundle: Bundle) -> float:
    """Changes when the bundle's weights do: part of every cache key of a result of them."""
    return weights_stamp(str(bundle.path))


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def _load(path: str, stamp: float) -> Bundle:
    bundle = load_bundle(path)  # in eval mode; vae_core.analysis runs without gradients
    # Imported libraries and loaded models live as long as the server. Freezing them keeps
    # Python's full collections from walking them again: with torch loaded, one took ~100 ms,
    # enough to stall a traversal slider now and then.
    gc.freeze()
    return bundle


def get_bundle(path: str | Path) -> Bundle:
    """The bundle at ``path``, loaded once per process. Raises BundleError."""
    return _load(str(path), weights_stamp(str(path)))


def try_bundle(path: str | Path) -> tuple[Bundle | None, str | None]:
    """The bundle at ``path``, or None and its problem in one sentence that names the file
    inside the bundle (not the server's folders). Catches BundleError only, which is all the
    loader raises for any content of a folder: anything else is a bug, and fails a test."""
    try:
        return get_bundle(path), None
    except BundleError as exc:
        where = exc.path
        with contextlib.suppress(ValueError):
            where = where.relative_to(Path(path).parent)
        return None, f"{where}: {exc.problem}"


def current() -> Bundle:
    """The bundle picked in the sidebar; app.py stops the page before this when none loads."""
    return get_bundle(st.session_state["bundle_path"])


@st.cache_resource(show_spinner="Encoding the probe images…", max_entries=16)
def probe_arrays(path: str, stamp: float) -> dict[str, np.ndarray]:
    """Everything per probe image: x (as scored), mu (the latent), reconstruction term D and
    rate R (nats), labels; for a Gaussian posterior also logvar, sigma, KL per dimension and
    ``active`` (D,), the active units. Read from the bundle's encodings.safetensors when it holds
    them for these weights (shipped bundles do, so opening one encodes nothing).

    One copy per process, shared by every session and rerun (st.cache_data would hand each
    call its own copy, 15 MB for MNIST); the arrays are read-only so no view can change them
    for the others."""
    arrays = probe_arrays_of(_load(path, stamp))
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def probe_arrays_of(bundle: Bundle) -> dict[str, np.ndarray]:
    """probe_arrays computed for ``bundle`` with no cache (the static-page export uses it)."""
    enc = {}
    if GAUSSIAN_POSTERIOR in bundle.model.provides:  # encodings.safetensors holds Gaussian posteriors
        enc = read_encodings(bundle.path, len(bundle.probe_labels), bundle.model_config.latent_dim)
    enc = enc or analysis.probe_encodings(bundle)
    if "logvar" in enc:
        enc.update(sigma=analysis.posterior_std(enc["logvar"]), kl=enc["kl_per_dim"].sum(1),
                   active=analysis.active_dimensions(enc["mu"]))
    arrays = {k: v.numpy() for k, v in enc.items()}
    arrays = {"x": analysis.probe_inputs(bundle).numpy(), **arrays, "labels": bundle.probe_labels.numpy()}
    return arrays


def probe(bundle: Bundle) -> dict[str, np.ndarray]:
    return probe_arrays(str(bundle.path), stamp(bundle))


def kl_by_dimension(bundle: Bundle) -> tuple[np.ndarray, list[int]]:
    """Average KL of each latent dimension over the probe images, (D,) in nats per image, and
    the dimensions ordered by it, largest first."""
    kl_mean = probe(bundle)["kl_per_dim"].mean(0)
    return kl_mean, analysis.dimensions_by_kl(torch.tensor(kl_mean))


@st.cache_data(show_spinner=False, max_entries=64)
def projection(path: str, stamp: float, method: str, n: int) -> analysis.Projection:
    """PCA / t-SNE of the first ``n`` probe means, shared across sessions; taken from the
    bundle's precomputed projections.safetensors when it holds this map for these weights."""
    stored = read_projections(path).get(method)
    if stored is not None and stored[0].shape[0] == n:
        return analysis.Projection(stored[0].numpy().astype(np.float64), stored[1])
    return analysis.project(probe_arrays(path, stamp)["mu"][:n], method)


def get_projection(bundle: Bundle, method: str, n: int) -> analysis.Projection:
    return projection(str(bundle.path), stamp(bundle), method, n)


@st.cache_data(show_spinner="Estimating L_k on the probe images…", max_entries=32)
def probe_bounds(path: str, stamp: float, n: int, k: int) -> dict:
    """ELBO and importance-weighted L_k on the first ``n`` probe images, nats per image: read
    from encodings.safetensors where it holds them for these weights (shipped bundles do),
    else computed (5-6 s for n = 500, k = 50 on 2 CPU cores)."""
    stored = read_probe_bounds(path, n, k, seed=0)
    if stored is not None:
        return stored
    bundle = _load(path, stamp)
    return evaluate(bundle.model, analysis.probe_inputs(bundle)[:n], k=k, seed=0)


def get_probe_bounds(bundle: Bundle, n: int = PROBE_BOUNDS_N, k: int = PROBE_BOUNDS_K) -> dict:
    return probe_bounds(str(bundle.path), stamp(bundle), n, k)


@st.cache_data(show_spinner=False, max_entries=32)
def _encodings_csv(path: str, stamp: float) -> bytes:
    arrays = probe_arrays(path, stamp)
    mu, sigma, labels = arrays["mu"], arrays["sigma"], arrays["labels"]
    d = mu.shape[1]
    header = ["index", "label"] + [f"mu_{j}" for j in range(d)] + [f"sigma_{j}" for j in range(d)]
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    table = np.column_stack([np.arange(len(labels)), labels, mu, sigma])
    np.savetxt(out, table, delimiter=",", fmt=["%d", "%d"] + ["%.6g"] * (2 * d))
    return out.getvalue().encode()


def encodings_csv(bundle: Bundle) -> bytes:
    """Every probe image's index, label, mu_j and sigma_j (latent units) as CSV bytes."""
    return _encodings_csv(str(bundle.path), stamp(bundle))
