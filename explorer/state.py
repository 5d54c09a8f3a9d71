"""Cached loading. Models and their probe arrays are loaded once per process (st.cache_resource,
the arrays read-only) and shared by every session; smaller derived results (maps, L_k) are
cached by st.cache_data. Both are keyed by bundle path and weights' mtime, so a retrained
bundle is picked up and a second visit, from any session, is instant."""
from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import streamlit as st

from vae_core import (Bundle, BundleError, analysis, evaluate, extract_zipped_bundle, find_bundles, load_bundle,
                      read_encodings, read_projections)
from vae_core import weights_stamp
from vae_core.family import CODEBOOK, GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND, PRIOR_SAMPLES

def _tune_malloc() -> None:
    """Keep freed tensor memory from piling up in a long-running, many-threaded server (glibc).

    Streamlit runs every rerun of every session in a new thread, and glibc gave each its own
    malloc arena; and after a large block is freed glibc raises its mmap threshold, so later
    tensors of that size come from those arenas and stay there. With 10 sessions for 60 s
    (bench/load_test.py) the server grew by ~300 MB. Two arenas and a fixed 1 MiB threshold
    (large blocks mmap-ed, and unmapped when freed) are what MALLOC_ARENA_MAX=2 and
    MALLOC_MMAP_THRESHOLD_=1048576 would set; a no-op off glibc."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, 2**20)  # M_MMAP_THRESHOLD


_tune_malloc()
THREADS_ENV = "VAE_EXPLORER_THREADS"


def _fix_torch_threads() -> int:
    """Set torch's CPU thread count once for this server process: ``$VAE_EXPLORER_THREADS``,
    default 1. Why once, and why here: torch's count is process-wide, and every thread started
    later (Streamlit runs each rerun of each session in a new one) inherits it, so a session
    that lowered it for its own work and restored it afterwards could leave it lowered for
    all (two overlapping sessions did; tests/test_threads.py). Why 1: a server for many
    sessions runs their work side by side on the cores; and one image's decoder split over
    two cores saved nothing and, with the other core busy (the browser, another session),
    waited for it: the traversal slider took 15-20 ms longer at the median."""
    value = os.environ.get(THREADS_ENV, "").strip()
    threads = int(value) if value.isdigit() and int(value) >= 1 else 1
    torch.set_num_threads(threads)
    return threads


TORCH_THREADS = _fix_torch_threads()
REPO = Path(__file__).resolve().parents[1]
CHECKPOINTS = REPO / "checkpoints"
BUNDLES_ENV = "VAE_EXPLORER_BUNDLES"


def bundle_roots() -> list[Path]:
    """Where the sidebar looks: checkpoints/, then ``--bundles DIR`` (``streamlit run
    explorer/app.py -- --bundles DIR``), then the folders in $VAE_EXPLORER_BUNDLES."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--bundles", action="append", default=[])
    extra = parser.parse_known_args(sys.argv[1:])[0].bundles
    env = [p for p in os.environ.get(BUNDLES_ENV, "").split(os.pathsep) if p]
    return [CHECKPOINTS, *map(Path, extra), *map(Path, env)]


def available_bundles() -> list[Path]:
    """Bundles under bundle_roots(), and those of training runs (launch.bundle_roots): runs
    started from the browser or a terminal, finished or still training."""
    from explorer import launch  # here: launch imports vae_core.families.gaussian.training, which the views need anyway

    return find_bundles(*bundle_roots(), *launch.bundle_roots())


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
    try:
        return get_bundle(path), None
    except BundleError as exc:
        return None, str(exc)


def current() -> Bundle:
    """The bundle picked in the sidebar; app.py stops the page before this when none loads."""
    return get_bundle(st.session_state["bundle_path"])


# What each thing a view may need is, in the sentence shown where the open model lacks it.
NEEDS = {GAUSSIAN_POSTERIOR: "a diagonal Gaussian posterior q(z|x) = N(μ(x), diag σ²(x)) over a vector z",
         PRIOR_SAMPLES: "a prior p(z) to draw latents from",
         IMPORTANCE_WEIGHTED_BOUND: "the importance-weighted bound L_k, which needs q(z|x) and p(z) as densities",
         CODEBOOK: "a discrete latent, a grid of codebook indices (a VQ-VAE)"}


def require(*needs: str) -> Bundle:
    """The picked bundle, when its model family provides everything in ``needs``
    (vae_core.family); otherwise one sentence saying what this view needs, and the page stops."""
    bundle = current()
    missing = [n for n in needs if n not in bundle.model.provides]
    if missing:
        note = bundle.model.explorer_note or ("The reconstructions, the model card, the rate–distortion "
                                              "plane and the comparison work for it.")
        st.info(f"This view needs {' and '.join(NEEDS[n] for n in missing)}. {bundle.name} is a "
                f"{bundle.model.title}, which has none. {note}")
        st.stop()
    return bundle


@st.cache_resource(show_spinner="Encoding the probe images…", max_entries=16)
def probe_arrays(path: str, stamp: float) -> dict[str, np.ndarray]:
    """Everything per probe image: x (as scored), mu (the latent), reconstruction term D and
    rate R (nats), labels; for a Gaussian posterior also logvar, sigma, KL per dimension and
    ``active`` (D,), the active units. Read from the bundle's encodings.safetensors when it holds
    them for these weights (shipped bundles do, so opening one encodes nothing).

    One copy per process, shared by every session and rerun (st.cache_data would hand each
    call its own copy, 15 MB for MNIST); the arrays are read-only so no view can change them
    for the others."""
    bundle = _load(path, stamp)
    enc = {}
    if GAUSSIAN_POSTERIOR in bundle.model.provides:  # encodings.safetensors holds Gaussian posteriors
        enc = read_encodings(path, len(bundle.probe_labels), bundle.model_config.latent_dim)
    enc = enc or analysis.probe_encodings(bundle)
    if "logvar" in enc:
        enc.update(sigma=analysis.posterior_std(enc["logvar"]), kl=enc["kl_per_dim"].sum(1),
                   active=analysis.active_dimensions(enc["mu"]))
    arrays = {k: v.numpy() for k, v in enc.items()}
    arrays = {"x": analysis.probe_inputs(bundle).numpy(), **arrays, "labels": bundle.probe_labels.numpy()}
    for array in arrays.values():
        array.flags.writeable = False
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
    """ELBO and importance-weighted L_k on the first ``n`` probe images, nats per image."""
    bundle = _load(path, stamp)
    return evaluate(bundle.model, analysis.probe_inputs(bundle)[:n], k=k, seed=0)


def get_probe_bounds(bundle: Bundle, n: int = 500, k: int = 50) -> dict:
    return probe_bounds(str(bundle.path), stamp(bundle), n, k)


def describe(bundle: Bundle) -> str:
    """One line for the sidebar: data set, family, body, latent size, decoder, beta, test ELBO."""
    m, t = bundle.model_config, bundle.train_config
    latent = "×".join(map(str, bundle.model.latent_shape))
    gaussian = GAUSSIAN_POSTERIOR in bundle.model.provides
    latent = f"{latent}-D latent" if gaussian else f"{latent} grid of codes" if CODEBOOK in bundle.model.provides else latent
    parts = [bundle.model.title, t.dataset, getattr(m, "architecture", None), latent,
             f"K = {m.codebook_size} codes" if hasattr(m, "codebook_size") else None,
             f"{m.likelihood} decoder" if hasattr(m, "likelihood") else None, f"β = {t.beta:g}" if gaussian else None]
    line = " · ".join(p for p in parts if p)
    if bundle.metrics:
        line += f" · test ELBO {bundle.metrics['elbo']:.1f} nats/image"
    return line


MAX_UPLOAD_MB = 100  # also server.maxUploadSize in .streamlit/config.toml
UPLOADS = Path(tempfile.gettempdir()) / "vae-explorer-uploads"


def open_upload(filename: str, data: bytes) -> tuple[str | None, str | None]:
    """Unpack an uploaded zipped bundle (once per distinct content) and load it.

    Returns (bundle folder, None) or (None, the problem in words)."""
    if len(data) > MAX_UPLOAD_MB * 2**20:
        return None, f"{filename} is {len(data) / 2**20:.0f} MB, over the {MAX_UPLOAD_MB} MB limit."
    digest = hashlib.sha256(data).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).stem)[:60] or "bundle"
    folder = UPLOADS / digest / stem
    if not folder.is_dir():
        UPLOADS.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".unpack-", dir=UPLOADS))
        try:
            extract_zipped_bundle(io.BytesIO(data), work / stem)
            load_bundle(work / stem)  # validate before anything is kept
            folder.parent.mkdir(exist_ok=True)
            os.replace(work / stem, folder)
        except BundleError as exc:
            return None, exc.problem
        finally:
            shutil.rmtree(work, ignore_errors=True)
    bundle, error = try_bundle(folder)
    return (str(folder), None) if bundle else (None, error)


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
