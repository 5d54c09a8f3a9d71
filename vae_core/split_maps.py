"""Every image of a data set's split, encoded and mapped, cached on disk for every later visit.

The cache lives in ``$VAE_MAP_CACHE`` (default ``~/.cache/vae_core/maps``): per data set, the
split's images (uint8, the thumbnails a map shows); per bundle, keyed by the weights' SHA-256,
the split's encodings and each map's coordinates, as safetensors (no pickle). A file lock per
entry makes two sessions asking for the same map compute it once; writes are atomic, so a run
killed half way leaves no broken entry. Deleting the folder only costs recomputing.
"""
from __future__ import annotations

import hashlib
import os
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

CACHE_ENV = "VAE_MAP_CACHE"
SPLITS = ("test", "train", "all")  # "all": the test split, then the training split (70,000 for MNIST)
NAMED_SETS = ("mnist", "fashion-mnist", "digits")  # a folder data set's path is not in the bundle
CHUNK = 2000  # images per encoding step: the progress bar moves every ~0.5 s on 2 cores


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "vae_core" / "maps").expanduser()


def _cached(path: Path, make: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """``path``'s tensors, made by ``make`` and stored once under a lock when absent or unreadable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=900):
        try:
            return load_file(path)
        except (OSError, ValueError, RuntimeError, SafetensorError):  # absent, or not a safetensors file
            pass
        tensors = {k: v.contiguous() for k, v in make().items()}
        atomic_write(path, save(tensors))
        return tensors


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
    data = _cached(cache_dir() / "images" / f"{name}-{_tag(split, limit)}.safetensors",
                   lambda: split_images(name, split, data_dir, limit))

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

    enc = _cached(points_path(bundle, split, limit), encode)
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

    coords = _cached(path, make)["coords"].numpy()
    return fitted[0] if fitted else maps.fit(mu, method, coords=coords)
