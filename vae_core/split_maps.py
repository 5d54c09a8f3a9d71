"""Every image of a data set's split, encoded and mapped, cached on disk for every later visit.

The cache lives in ``$VAE_MAP_CACHE`` (default ``~/.cache/vae_core/maps``): per data set, the
split's images (uint8, the thumbnails a map shows); per bundle, keyed by the weights' SHA-256,
the split's encodings and each map's coordinates, as safetensors (no pickle). A file lock per
entry makes two sessions asking for the same map compute it once; writes are atomic, so a run
killed half way leaves no broken entry. Deleting the folder only costs recomputing.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from filelock import FileLock
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from vae_core import analysis, maps
from vae_core.checkpoint.files import atomic_write, weights_digest
from vae_core.data import load_dataset, prepare

CACHE_ENV, CACHE_MB_ENV = "VAE_MAP_CACHE", "VAE_MAP_CACHE_MB"
SPLITS = ("test", "train", "all")  # "all": the test split, then the training split (70,000 for MNIST)
NAMED_SETS = ("mnist", "fashion-mnist", "digits")  # a folder data set's path is not in the bundle
CHUNK = 2000  # images per encoding step: the progress bar moves every ~0.5 s on 2 cores


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "vae_core" / "maps").expanduser()


def _read(path: Path, valid: Callable[[dict[str, torch.Tensor]], bool]) -> dict[str, torch.Tensor] | None:
    """``path``'s tensors when the file is there, readable and ``valid`` (the cache folder may be
    shared with other versions, or written by someone else); None otherwise."""
    try:
        tensors = load_file(path)
        if not valid(tensors):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: prune() deletes the least recently used first
        return tensors
    except (OSError, ValueError, RuntimeError, KeyError, SafetensorError):
        return None


def _cached(path: Path, make: Callable[[], dict[str, torch.Tensor]],
            valid: Callable[[dict[str, torch.Tensor]], bool]) -> dict[str, torch.Tensor]:
    """``path``'s tensors; made by ``make`` and stored once, under a lock, when absent, unreadable
    or not ``valid``. A cache folder that cannot be written costs the caching, not the map."""
    found = _read(path, valid)
    if found is not None:
        return found
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock", timeout=900):
            found = _read(path, valid)  # made by another session while this one waited
            if found is None:
                found = {k: v.contiguous() for k, v in make().items()}
                atomic_write(path, save(found))
                prune(cache_dir(), keep=path)
            return found
    except OSError:  # read-only or full: computed for this call only
        return {k: v.contiguous() for k, v in make().items()}


def prune(folder: Path, keep: Path, max_bytes: int | None = None) -> None:
    """Delete the least recently used entries until ``folder`` holds at most ``max_bytes``
    ($VAE_MAP_CACHE_MB, default 4,096 MB); ``keep`` stays. Every entry can be recomputed."""
    if max_bytes is None:
        mb = os.environ.get(CACHE_MB_ENV, "")
        max_bytes = (int(mb) if re.fullmatch(r"[0-9]{1,7}", mb) else 4096) * 2**20
    files = [(p.stat().st_mtime, p.stat().st_size, p) for p in folder.rglob("*.safetensors") if p != keep]
    total = sum(size for _, size, _ in files) + (keep.stat().st_size if keep.exists() else 0)
    for _, size, p in sorted(files):
        if total <= max_bytes:
            break
        p.unlink(missing_ok=True)
        total -= size


def _finite(*names: str, rows: int | None = None, cols: int | None = None):
    """A validity check: each of ``names`` present, finite, with ``rows`` rows (and ``cols`` columns)."""
    def valid(t: dict[str, torch.Tensor]) -> bool:
        return all(name in t and t[name].is_floating_point() and bool(torch.isfinite(t[name]).all())
                   and (rows is None or len(t[name]) == rows) and (cols is None or t[name].shape[1:] == (cols,))
                   for name in names)
    return valid


def _tag(split: str, limit: int | None) -> str:
    return f"{split}-{'all' if limit is None else limit}"


def points_path(bundle, split: str, limit: int | None = None) -> Path:
    """Where split_points keeps the bundle's encodings of the split."""
    return cache_dir() / weights_digest(bundle.path)[:24] / f"{_tag(split, limit)}-encodings.safetensors"


def map_path(bundle, split: str, method: str, n: int, limit: int | None = None) -> Path:
    """Where split_map keeps a map's coordinates: per weights, split and the method's parameters."""
    params = hashlib.sha256(maps.describe(method, n).encode()).hexdigest()[:12]
    return cache_dir() / weights_digest(bundle.path)[:24] / f"{_tag(split, limit)}-{method}-{params}.safetensors"


def split_images(dataset: str, split: str, data_dir=None, limit: int | None = None) -> dict[str, torch.Tensor]:
    """``images`` (N, C, H, W) uint8 and ``labels`` (N,) of the first ``limit`` images of a split
    ("test", "train", or "all": the test split followed by the training split).

    Raises:
        ValueError: a data set other than MNIST, Fashion-MNIST or digits, or an unknown split.
        DatasetNotFoundError: the files are not on this machine (the message names them and where
            they go); nothing is downloaded.
    """
    if dataset not in NAMED_SETS or split not in SPLITS:
        raise ValueError(f"maps of a whole split are made for {NAMED_SETS} and splits {SPLITS}, "
                         f"not {dataset!r} / {split!r}")
    parts = [load_dataset(dataset, s, data_dir, download=False) for s in (("test", "train") if split == "all" else (split,))]
    images, labels = torch.cat([p.images for p in parts]), torch.cat([p.labels.long() for p in parts])
    n = len(labels) if limit is None else min(limit, len(labels))
    return {"images": images[:n].contiguous(), "labels": labels[:n].contiguous()}


def split_points(bundle, split: str, *, data_dir=None, limit: int | None = None,
                 progress: Callable[[float], Any] | None = None) -> dict[str, np.ndarray]:
    """Every image of ``split`` (its first ``limit``) of the bundle's data set, as the map needs
    them: ``images`` (N, C, H, W) uint8, ``labels`` (N,), and the model's ``mu``, ``logvar`` (N, D)
    of q(z|x), ``reconstruction`` D and ``kl`` R (N,), nats per image (D from one z ~ q(z|x),
    seed 0, as for the probe set; images binarized once with seed 0 where the model was
    trained on binarized data). Gaussian-posterior bundles only.

    Raises what split_images raises.
    """
    name = bundle.dataset.get("name", "")
    shape = tuple(bundle.probe_images.shape[1:])

    def images_valid(t: dict[str, torch.Tensor]) -> bool:
        return ("images" in t and "labels" in t and t["images"].dtype == torch.uint8 and t["images"].shape[1:] == shape
                and len(t["labels"]) == len(t["images"]) > 0)

    data = _cached(cache_dir() / "images" / f"{name}-{_tag(split, limit)}.safetensors",
                   lambda: split_images(name, split, data_dir, limit), images_valid)

    def encode() -> dict[str, torch.Tensor]:
        x_all, parts = data["images"], []
        for start in range(0, len(x_all), CHUNK):
            x = prepare(x_all[start:start + CHUNK], bool(bundle.dataset.get("binarized")), seed=start)
            mu, logvar = analysis.encode_images(bundle.model, x)
            t = analysis.image_terms(bundle.model, x)
            parts.append((mu, logvar, t.reconstruction, t.kl))
            if progress:
                progress(min(1.0, (start + CHUNK) / len(x_all)))
        return {k: torch.cat([p[j] for p in parts]) for j, k in enumerate(("mu", "logvar", "reconstruction", "kl"))}

    dim, n = bundle.model_config.latent_dim, len(data["labels"])
    enc = _cached(points_path(bundle, split, limit), encode,
                  lambda t: _finite("mu", "logvar", rows=n, cols=dim)(t) and _finite("reconstruction", "kl", rows=n)(t))
    return {k: v.numpy() for k, v in {**data, **enc}.items()}


def split_map(bundle, split: str, method: str, mu: np.ndarray, *, limit: int | None = None,
              progress: Callable[[float], Any] | None = None) -> maps.Map:
    """The ``method`` map of ``mu`` (the split's posterior means, from split_points), its
    coordinates cached on disk per bundle, split and parameters (maps.describe), and rebuilt
    around them (maps.fit) so that it can place new points."""
    path = map_path(bundle, split, method, len(mu), limit)
    fitted: list[maps.Map] = []

    def make() -> dict[str, torch.Tensor]:
        fitted.append(maps.fit(mu, method, progress=progress))
        return {"coords": torch.from_numpy(np.ascontiguousarray(fitted[0].coords, np.float64))}

    coords = _cached(path, make, _finite("coords", rows=len(mu), cols=2))["coords"].numpy()
    return fitted[0] if fitted else maps.fit(mu, method, coords=coords)
