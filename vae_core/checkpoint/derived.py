"""Files derived from a bundle's weights (maps and encodings of its probe set): a cache,
stamped with the SHA-256 of ``model.safetensors``, ignored when it no longer matches."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import save as st_save

from vae_core.checkpoint.files import ENCODINGS, WEIGHT_FILES, MAX_FILE_BYTES, PROJECTIONS, BundleError, atomic_write, weights_digest


def _write_stamped(path: Path, tensors: dict[str, Any], metadata: dict[str, str]) -> None:
    tensors = {k: torch.as_tensor(v, dtype=torch.float32).contiguous() for k, v in tensors.items()}
    atomic_write(path, st_save(tensors, metadata={"weights_sha256": weights_digest(path.parent), **metadata}))


def _read_stamped(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]] | None:
    """Tensors and metadata of a derived file, or None when it is absent, unreadable, not
    float32 and finite, or made for other weights: derived files are a cache, never required."""
    if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            if meta.get("weights_sha256") != weights_digest(path.parent):
                return None
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, BundleError, OSError, ValueError, TypeError):
        return None
    if not all(t.dtype == torch.float32 and bool(torch.isfinite(t).all()) for t in tensors.values()):
        return None
    return tensors, meta


def write_projections(folder: str | os.PathLike, maps: dict[str, tuple[Any, tuple[str, str]]]) -> None:
    """Store 2-D maps of the first n probe means: ``{"pca": (coords (n, 2), axis titles), ...}``.

    They are stamped with the weights' digest, so a retrained bundle never shows a stale map.
    """
    titles = {name: list(axis) for name, (_, axis) in maps.items()}
    _write_stamped(Path(folder) / PROJECTIONS, {name: coords for name, (coords, _) in maps.items()},
                   {"axis_titles": json.dumps(titles)})


def read_projections(folder: str | os.PathLike) -> dict[str, tuple[torch.Tensor, tuple[str, str]]]:
    """The precomputed maps, ``{name: (coords (n, 2), axis titles)}``; {} when the file is absent,
    unreadable, malformed or made for other weights (they are a cache, never required)."""
    stored = _read_stamped(Path(folder) / PROJECTIONS)
    if stored is None:
        return {}
    tensors, meta = stored
    try:
        titles = json.loads(meta.get("axis_titles", "{}"))
        maps = {name: (coords, tuple(titles[name])) for name, coords in tensors.items()}
    except (json.JSONDecodeError, KeyError, TypeError):
        return {}
    return {name: (coords, axis) for name, (coords, axis) in maps.items()
            if coords.dim() == 2 and coords.shape[1] == 2 and len(axis) == 2}


ENCODING_FIELDS = ("mu", "logvar", "kl_per_dim", "reconstruction")


def write_encodings(folder: str | os.PathLike, encodings: dict[str, Any], bounds: dict[str, Any] | None = None) -> None:
    """Store every probe image's ``mu``, ``logvar``, ``kl_per_dim`` (N, D) and ``reconstruction``
    term (N,), nats per image, so the explorer need not encode the probe set when it opens a
    bundle; and, when given, ``bounds``: the ELBO and L_k of the first n probe images
    (probe_bounds), which cost the objective view 5-6 s on 2 CPU cores. Stamped with the
    weights' digest like the projections."""
    meta = {"probe_bounds": json.dumps(bounds)} if bounds else {}
    _write_stamped(Path(folder) / ENCODINGS, {k: encodings[k] for k in ENCODING_FIELDS}, meta)


# The explorer's objective view shows the ELBO and L_50 of the first 500 probe images.
PROBE_BOUNDS_N, PROBE_BOUNDS_K = 500, 50


def probe_bounds(elbo: float, estimate: float, *, n: int, n_images: int, k: int, seed: int) -> dict[str, Any]:
    """What write_encodings stores of ``evaluate(model, probe[:n], k=k, seed=seed)``: ``elbo``
    and ``log_likelihood`` = {``estimate``, ``k``} in nats per image (averaged over the
    ``n_images`` ≤ n images there are), and ``n``, ``seed``."""
    return {"n": n, "n_images": n_images, "seed": seed, "elbo": float(elbo),
            "log_likelihood": {"estimate": float(estimate), "k": k}}


def read_probe_bounds(folder: str | os.PathLike, n: int, k: int, seed: int) -> dict[str, Any] | None:
    """The stored bounds of the first ``n`` probe images with ``k`` samples and ``seed``
    (see probe_bounds), or None when absent, stale, malformed or made with other n, k, seed."""
    stored = _read_stamped(Path(folder) / ENCODINGS)
    try:
        b = json.loads(stored[1]["probe_bounds"])
        made = probe_bounds(b["elbo"], b["log_likelihood"]["estimate"], n=n, n_images=int(b["n_images"]), k=k, seed=seed)
        same = (b["n"], b["log_likelihood"]["k"], b["seed"]) == (n, k, seed) and 0 < made["n_images"] <= n
    except (TypeError, KeyError, ValueError):  # absent (None), no such key, not JSON, not numbers
        return None
    finite = all(math.isfinite(v) for v in (made["elbo"], made["log_likelihood"]["estimate"]))
    return made if same and finite else None


def read_encodings(folder: str | os.PathLike, n: int, latent_dim: int) -> dict[str, torch.Tensor]:
    """The stored probe encodings (see write_encodings), or {} when absent, stale, malformed or
    not shaped for ``n`` probe images and ``latent_dim`` dimensions."""
    stored = _read_stamped(Path(folder) / ENCODINGS)
    if stored is None:
        return {}
    tensors = stored[0]
    shapes = {"mu": (n, latent_dim), "logvar": (n, latent_dim), "kl_per_dim": (n, latent_dim), "reconstruction": (n,)}
    if set(tensors) != set(shapes) or any(tuple(tensors[k].shape) != s for k, s in shapes.items()):
        return {}
    return tensors




def weights_stamp(folder: str | os.PathLike) -> float:
    """The modification time of the bundle's ``model.safetensors`` or ONNX graphs, the latest
    (0.0 when absent): a cheap key for caches of what was computed from these weights, which
    changes whenever a run writes better ones."""
    times = [(Path(folder) / name).stat().st_mtime for name in WEIGHT_FILES if (Path(folder) / name).exists()]
    return max(times, default=0.0)
