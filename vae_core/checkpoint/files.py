"""The files of a bundle: names, limits, atomic writes, and reading config.json, metrics.json
and history.jsonl. The package ``vae_core.checkpoint`` is the only code that reads or writes
a bundle.

A bundle is a folder, with no pickle anywhere, so opening a stranger's can never run code:

==================== ==========================================================
``config.json``      format and package version, model family, model and training configs,
                     data set description, the command that made it, creation time
``model.safetensors`` the weights, nothing else
``probe.safetensors`` held-out test images (N, C, H, W) uint8 and labels (N,) int64
``metrics.json``     held-out metrics in nats per image (written by ``evaluate``)
``history.jsonl``    one JSON object per epoch, appended while training runs
``projections.safetensors`` optional: precomputed 2-D maps (PCA, t-SNE) of the first n
                     probe means, tied to the weights by their SHA-256
``encodings.safetensors`` optional: each probe image's mu, logvar, KL per dimension and
                     reconstruction term, tied to the weights the same way
``train_state.safetensors`` only while a run is unfinished: the last complete epoch's
                     weights, optimizer and random-generator state, for ``--resume``
==================== ==========================================================

Every file is written to a temporary name, flushed to disk and renamed over the old one,
so a reader (the explorer, while training runs) never sees half a file.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from vae_core.checkpoint.schema import MAX_JSON_DEPTH, classes_problem, depth, metrics_problem
from vae_core.config import ConfigError, TrainConfig
from vae_core.family import config_from_dict
from vae_core.version import __version__

FORMAT = "vae-explorer-bundle"
FORMAT_VERSION = 1
CONFIG, WEIGHTS, PROBE, METRICS, HISTORY, PROJECTIONS, ENCODINGS, TRAIN_STATE = (
    "config.json", "model.safetensors", "probe.safetensors", "metrics.json", "history.jsonl",
    "projections.safetensors", "encodings.safetensors", "train_state.safetensors")
# An ONNX bundle (vae_core.families.onnx) holds its weights in graphs instead of WEIGHTS.
ONNX_GRAPHS = ("encoder.onnx", "decoder.onnx", "prior.onnx")
WEIGHT_FILES = (WEIGHTS, *ONNX_GRAPHS)
BUNDLE_FILES = (CONFIG, WEIGHTS, PROBE, METRICS, HISTORY, PROJECTIONS, ENCODINGS, TRAIN_STATE, *ONNX_GRAPHS)
REQUIRED = (CONFIG, WEIGHTS, PROBE)
REQUIRED_ONNX = (CONFIG, *ONNX_GRAPHS[:2], PROBE)
MAX_FILE_BYTES = 256 * 2**20  # no shipped or sensible bundle file comes near this
MAX_UNZIPPED_BYTES = 512 * 2**20  # a bundle's files in all
MAX_ZIP_ENTRIES = 16
MAX_PROBE_IMAGES = 10_000  # the shipped bundles hold at most 4,000; 250,000 took 178 s and 2.5 GB to open


class BundleError(Exception):
    """A bundle cannot be read: names the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


# ---------------------------------------------------------------- writing

def atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; bundles are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode()


def write_config(folder: Path, model_config: Any, train_config: TrainConfig,
                 dataset: dict[str, Any], command: str | None = None, *, family: str = "vae",
                 extra: dict[str, Any] | None = None) -> None:
    """config.json: ``family`` names the model family (vae_core.family) whose config
    ``model_config`` is, so the loader can rebuild that family's model; ``extra`` adds a
    family's own sections (a two-stage bundle's stage-2 training settings)."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / CONFIG, _json_bytes({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "family": family,
        "model": model_config.to_dict(),
        "train": train_config.to_dict(),
        "dataset": dataset,
        "command": command,
        **(extra or {}),
    }))


def write_weights(folder: Path, model: nn.Module, dtype: torch.dtype = torch.float32, *,
                  keep_float32: tuple[str, ...] = ()) -> None:
    """Write the weights; ``dtype=torch.float16`` halves the file (the loader widens it back),
    except for tensors whose names start with a prefix in ``keep_float32``."""
    state = {k: v.detach().to("cpu", torch.float32 if k.startswith(keep_float32) else dtype).contiguous()
             for k, v in model.state_dict().items()}
    atomic_write(folder / WEIGHTS, st_save(state, metadata={"format": FORMAT}))


def weights_digest(folder: str | os.PathLike) -> str:
    """SHA-256 of ``model.safetensors`` (of an ONNX bundle's graphs, in turn): what precomputed
    projections and encodings are tied to. Raises BundleError when there are no weights."""
    folder = Path(folder)
    if _family(folder) != "onnx":
        return hashlib.sha256(_read_bytes(folder / WEIGHTS)).hexdigest()
    digest = hashlib.sha256()
    for name in ONNX_GRAPHS:
        if (folder / name).is_file():
            digest.update(name.encode() + hashlib.sha256(_read_bytes(folder / name)).digest())
    return digest.hexdigest()


def _family(folder: Path) -> str | None:
    """config.json's "family", or None when it cannot be read (the loader says why)."""
    try:
        return json.loads(_read_bytes(folder / CONFIG)).get("family")
    except (BundleError, ValueError, AttributeError):
        return None


def write_probe(folder: Path, images: torch.Tensor, labels: torch.Tensor) -> None:
    if images.dtype != torch.uint8:
        raise ValueError(f"probe images must be uint8, got {images.dtype}")
    atomic_write(folder / PROBE, st_save({"images": images.cpu().contiguous(),
                                            "labels": labels.cpu().long().contiguous()}))


def write_metrics(folder: Path, metrics: dict[str, Any]) -> None:
    atomic_write(folder / METRICS, _json_bytes(metrics))


# ---------------------------------------------------------------- reading

def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise BundleError(path, "file is missing")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BundleError(path, f"file is {size} bytes, over the {MAX_FILE_BYTES} byte limit")
        return path.read_bytes()
    except OSError as exc:  # unreadable, or removed while we looked
        raise BundleError(path, f"cannot be read ({exc.strerror or exc})") from None


def _read_json(path: Path) -> Any:
    too_deep = BundleError(path, f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        value = json.loads(_read_bytes(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(path, f"not valid JSON ({exc})") from None
    except RecursionError:  # ~1,000 levels: the parser itself gives up
        raise too_deep from None
    if depth(value) > MAX_JSON_DEPTH:
        raise too_deep
    return value


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return st_load(_read_bytes(path))
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        raise BundleError(path, f"not a readable safetensors file ({exc})") from None


def read_config(folder: str | os.PathLike) -> dict[str, Any]:
    """config.json of a bundle folder as a dict, validated (format, version, sections);
    raises BundleError naming the file and the problem."""
    path = Path(folder) / CONFIG
    config = _read_json(path)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise BundleError(path, f"not a bundle config (expected \"format\": \"{FORMAT}\")")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(path, f"unknown format_version {version!r}; this vae_core "
                                f"({__version__}) reads version {FORMAT_VERSION}")
    for key in ("model", "train", "dataset"):
        if not isinstance(config.get(key), dict):
            raise BundleError(path, f"missing or malformed {key!r} section")
    if not isinstance(config.get("family", ""), str):
        raise BundleError(path, f"\"family\" must be a string, got {config['family']!r}")
    if problem := classes_problem(config["dataset"]):
        raise BundleError(path, problem)
    return config


def read_configs(folder: str | os.PathLike) -> tuple[Any, TrainConfig, str | None]:
    """The model config (of the bundle's family) and training config and the command stored in
    ``config.json``. Raises BundleError, also for a family this vae_core does not know."""
    folder = Path(folder)
    config = read_config(folder)
    try:
        model = config_from_dict(config.get("family"), config["model"])
        return model, TrainConfig.from_dict(config["train"]), config.get("command")
    except (ConfigError, KeyError) as exc:
        raise BundleError(folder / CONFIG, str(exc).strip("'\"")) from None


def read_metrics(folder: str | os.PathLike) -> dict[str, Any] | None:
    """metrics.json (the test-set figures, nats per image) as a dict; None when there is none
    yet. Raises BundleError when it is not a readable JSON object whose figures have the types
    vae_core.checkpoint.schema gives (the ELBO, D and R always)."""
    path = Path(folder) / METRICS
    if not path.exists():
        return None
    metrics = _read_json(path)
    if problem := metrics_problem(metrics):
        raise BundleError(path, problem)
    return metrics


def find_bundles(*roots: str | os.PathLike) -> list[Path]:
    """Folders directly under each root (or the root itself) that hold a ``config.json``, sorted."""
    found: set[Path] = set()
    for root in roots:
        root = Path(root).expanduser()
        if (root / CONFIG).is_file():
            found.add(root.resolve())
        elif root.is_dir():
            found.update(p.parent.resolve() for p in root.glob(f"*/{CONFIG}"))
    return sorted(found)


def start_bundle(folder: Path, model: nn.Module, model_config: Any, train_config: TrainConfig,
                 dataset: dict[str, Any], probe_images: torch.Tensor, probe_labels: torch.Tensor,
                 command: str | None, *, extra: dict[str, Any] | None = None) -> None:
    """The files a run writes before its first epoch: config.json (with the model's family),
    the probe set and the untrained weights; a bundle it overwrites loses the files that would
    otherwise pass for this run's: its log, its test figures, its derived caches, and its
    training state, which --resume would continue."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale_file in (HISTORY, METRICS, TRAIN_STATE, PROJECTIONS, ENCODINGS):
        (folder / stale_file).unlink(missing_ok=True)
    write_config(folder, model_config, train_config, dataset, command, family=getattr(model, "family", "vae"),
                 extra=extra)
    write_probe(folder, probe_images, probe_labels)
    write_weights(folder, model)


def check_writable(out: Path) -> None:
    """Create ``out`` and write a file in it, so an unwritable folder or a full disk is
    reported before any data is loaded. Raises OSError (PermissionError, ...) naming ``out``."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-") as f:
            f.write(b"\0" * 65536)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise type(exc)(f"cannot write the bundle to {out}: {exc.strerror or exc}") from None
