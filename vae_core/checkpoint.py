"""The checkpoint bundle: the only code that reads or writes one.

A bundle is a folder, with no pickle anywhere, so opening a stranger's can never run code:

==================== ==========================================================
``config.json``      format and package version, model and training configs,
                     data set description, the command that made it, creation time
``model.safetensors`` the weights, nothing else
``probe.safetensors`` held-out test images (N, C, H, W) uint8 and labels (N,) int64
``metrics.json``     held-out metrics in nats per image (written by ``evaluate``)
``history.jsonl``    one JSON object per epoch, appended while training runs
==================== ==========================================================

Every file is written to a temporary name, flushed to disk and renamed over the old one,
so a reader (the explorer, while training runs) never sees half a file.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from . import __version__
from .config import ConfigError, ModelConfig, TrainConfig
from .model import VAE

FORMAT = "vae-explorer-bundle"
FORMAT_VERSION = 1
CONFIG, WEIGHTS, PROBE, METRICS, HISTORY = (
    "config.json", "model.safetensors", "probe.safetensors", "metrics.json", "history.jsonl")
REQUIRED = (CONFIG, WEIGHTS, PROBE)
MAX_FILE_BYTES = 256 * 2**20  # no shipped or sensible bundle file comes near this
_FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


class BundleError(Exception):
    """A bundle cannot be read: names the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass
class Bundle:
    """A loaded bundle. ``model`` is in eval mode on the requested device.

    Attributes:
        path: the bundle's folder.
        model: the rebuilt VAE.
        model_config, train_config: the configs it was trained with.
        dataset: data set description: name, image_shape, classes, binarized, likelihood.
        probe_images: (N, C, H, W) uint8 held-out images; probe_labels: (N,) int64.
        metrics: contents of metrics.json, or None when not evaluated yet.
        command: the command line that made it, when known.
        created: ISO 8601 creation time.
        package_version: the vae_core version that wrote it.
    """

    path: Path
    model: VAE
    model_config: ModelConfig
    train_config: TrainConfig
    dataset: dict[str, Any]
    probe_images: torch.Tensor
    probe_labels: torch.Tensor
    metrics: dict[str, Any] | None = None
    command: str | None = None
    created: str | None = None
    package_version: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def classes(self) -> list[str]:
        return list(self.dataset.get("classes") or [])

    def history(self) -> list[dict[str, Any]]:
        """The training log as it is now (re-read on every call)."""
        return read_history(self.path)


# ---------------------------------------------------------------- writing

def _atomic_write(path: Path, data: bytes) -> None:
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


def write_config(folder: Path, model_config: ModelConfig, train_config: TrainConfig,
                 dataset: dict[str, Any], command: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / CONFIG, _json_bytes({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model_config.to_dict(),
        "train": train_config.to_dict(),
        "dataset": dataset,
        "command": command,
    }))


def write_weights(folder: Path, model: VAE) -> None:
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    _atomic_write(folder / WEIGHTS, st_save(state, metadata={"format": FORMAT}))


def write_probe(folder: Path, images: torch.Tensor, labels: torch.Tensor) -> None:
    if images.dtype != torch.uint8:
        raise ValueError(f"probe images must be uint8, got {images.dtype}")
    _atomic_write(folder / PROBE, st_save({"images": images.cpu().contiguous(),
                                            "labels": labels.cpu().long().contiguous()}))


def write_metrics(folder: Path, metrics: dict[str, Any]) -> None:
    _atomic_write(folder / METRICS, _json_bytes(metrics))


def append_history(folder: Path, record: dict[str, Any]) -> None:
    """Append one line; a reader skips a half-written last line (see read_history)."""
    path = folder / HISTORY
    # A writer killed mid-line leaves no newline; start a fresh line so this record survives.
    lead = "\n" if path.is_file() and path.stat().st_size and _last_byte(path) != b"\n" else ""
    with open(path, "a") as f:
        f.write(lead + json.dumps(record, allow_nan=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)


# ---------------------------------------------------------------- reading

def read_history(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """Records of ``history.jsonl``; [] when absent. Unparseable lines (a last line still
    being written) are skipped rather than raised: the log is advisory, the weights are not."""
    path = Path(folder) / HISTORY
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise BundleError(path, "file is missing")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BundleError(path, f"file is {size} bytes, over the {MAX_FILE_BYTES} byte limit")
    return path.read_bytes()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(_read_bytes(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(path, f"not valid JSON ({exc})") from None


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return st_load(_read_bytes(path))
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        raise BundleError(path, f"not a readable safetensors file ({exc})") from None


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG
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
    return config


def _check_weights(path: Path, model: VAE, weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise BundleError(path, f"weights do not match the config: missing {missing[:5]}, "
                                f"unexpected {unexpected[:5]}")
    for name, tensor in weights.items():
        if tensor.shape != expected[name].shape:
            raise BundleError(path, f"shape mismatch for {name!r}: file has {tuple(tensor.shape)}, "
                                    f"config implies {tuple(expected[name].shape)}")
        if tensor.dtype not in _FLOAT_DTYPES:
            raise BundleError(path, f"tensor {name!r} has dtype {tensor.dtype}, expected a float type")
        if not torch.isfinite(tensor).all():
            raise BundleError(path, f"tensor {name!r} holds NaN or infinite values")
    # Half-precision weights are widened; the model always computes in float32.
    return {k: v.float() for k, v in weights.items()}


def _check_probe(path: Path, probe: dict[str, torch.Tensor], image_shape: tuple[int, ...]):
    images, labels = probe.get("images"), probe.get("labels")
    if images is None or labels is None:
        raise BundleError(path, "expected tensors 'images' and 'labels'")
    if images.dtype != torch.uint8 or images.dim() != 4 or tuple(images.shape[1:]) != tuple(image_shape):
        raise BundleError(path, f"'images' must be uint8 (N, {', '.join(map(str, image_shape))}), "
                                f"got {images.dtype} {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise BundleError(path, "holds no images; the explorer needs at least one")
    if labels.dim() != 1 or labels.shape[0] != images.shape[0] or labels.dtype != torch.int64:
        raise BundleError(path, f"'labels' must be int64 ({images.shape[0]},), got {labels.dtype} "
                                f"{tuple(labels.shape)}")
    return images, labels


def load_bundle(folder: str | os.PathLike, device: str | torch.device = "cpu") -> Bundle:
    """Rebuild a model and its probe set from a bundle folder, validating everything.

    Raises:
        BundleError: a missing file, unreadable JSON or safetensors, an unknown format
            version, an invalid config, or weights whose names, shapes, dtypes or values do
            not fit the config. The message names the file and the problem.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(folder, "not a folder")
    config = _read_config(folder)
    try:
        model_config = ModelConfig.from_dict(config["model"])
        train_config = TrainConfig.from_dict(config["train"])
    except ConfigError as exc:
        raise BundleError(folder / CONFIG, str(exc)) from None
    model = VAE(model_config)
    weights = _check_weights(folder / WEIGHTS, model, _read_tensors(folder / WEIGHTS))
    model.load_state_dict(weights)
    images, labels = _check_probe(folder / PROBE, _read_tensors(folder / PROBE), model_config.image_shape)
    metrics = _read_json(folder / METRICS) if (folder / METRICS).exists() else None
    if metrics is not None and not isinstance(metrics, dict):
        raise BundleError(folder / METRICS, "expected a JSON object")
    return Bundle(path=folder, model=model.to(device).eval(), model_config=model_config,
                  train_config=train_config, dataset=config["dataset"], probe_images=images,
                  probe_labels=labels, metrics=metrics, command=config.get("command"),
                  created=config.get("created"),
                  package_version=config.get("package_version"))


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
