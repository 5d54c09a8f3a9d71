"""The checkpoint bundle: the only code that reads or writes one.

A bundle is a folder, with no pickle anywhere, so opening a stranger's can never run code:

==================== ==========================================================
``config.json``      format and package version, model and training configs,
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
import zipfile
import zlib
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
CONFIG, WEIGHTS, PROBE, METRICS, HISTORY, PROJECTIONS, ENCODINGS, TRAIN_STATE = (
    "config.json", "model.safetensors", "probe.safetensors", "metrics.json", "history.jsonl",
    "projections.safetensors", "encodings.safetensors", "train_state.safetensors")
BUNDLE_FILES = (CONFIG, WEIGHTS, PROBE, METRICS, HISTORY, PROJECTIONS, ENCODINGS, TRAIN_STATE)
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


def write_weights(folder: Path, model: VAE, dtype: torch.dtype = torch.float32) -> None:
    """Write the weights; ``dtype=torch.float16`` halves the file (the loader widens it back)."""
    state = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    _atomic_write(folder / WEIGHTS, st_save(state, metadata={"format": FORMAT}))


def weights_digest(folder: str | os.PathLike) -> str:
    """SHA-256 of ``model.safetensors``: what precomputed projections and encodings are tied to."""
    return hashlib.sha256(_read_bytes(Path(folder) / WEIGHTS)).hexdigest()


def _write_stamped(path: Path, tensors: dict[str, Any], metadata: dict[str, str]) -> None:
    tensors = {k: torch.as_tensor(v, dtype=torch.float32).contiguous() for k, v in tensors.items()}
    _atomic_write(path, st_save(tensors, metadata={"weights_sha256": weights_digest(path.parent), **metadata}))


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


def write_encodings(folder: str | os.PathLike, encodings: dict[str, Any]) -> None:
    """Store every probe image's ``mu``, ``logvar``, ``kl_per_dim`` (N, D) and ``reconstruction``
    term (N,), nats per image, so the explorer need not encode the probe set when it opens a
    bundle. Stamped with the weights' digest like the projections."""
    _write_stamped(Path(folder) / ENCODINGS, {k: encodings[k] for k in ENCODING_FIELDS}, {})


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


def keep_history_through(folder: Path, epoch: int) -> None:
    """Drop the records of epochs after ``epoch`` (a run killed mid-epoch and resumed from
    the last complete one logs that epoch again), keeping the other lines as they are."""
    path = folder / HISTORY
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the half-written line of a killed run
        if isinstance(record, dict) and isinstance(record.get("epoch"), int) and record["epoch"] <= epoch:
            kept.append(line + "\n")
    _atomic_write(path, "".join(kept).encode())


def write_train_state(folder: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """What ``--resume`` needs after a complete epoch: tensors (weights, optimizer moments,
    generator state) and JSON-able counters. Safetensors and JSON, like the rest: no pickle."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    _atomic_write(folder / TRAIN_STATE, st_save(tensors, metadata={"format": FORMAT, "state": json.dumps(meta)}))


def read_train_state(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """The saved training state, or None when there is none. Raises BundleError when the file
    exists but cannot be read."""
    path = folder / TRAIN_STATE
    if not path.exists():
        return None
    tensors = _read_tensors(path)
    try:
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = json.loads((f.metadata() or {})["state"])
    except (SafetensorError, KeyError, ValueError, OSError) as exc:
        raise BundleError(path, f"no readable training state ({exc})") from None
    if not isinstance(meta, dict):
        raise BundleError(path, "training state is not a JSON object")
    return tensors, meta


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


def read_configs(folder: str | os.PathLike) -> tuple[ModelConfig, TrainConfig, str | None]:
    """The model and training configurations and the command stored in ``config.json``.
    Raises BundleError."""
    folder = Path(folder)
    config = _read_config(folder)
    try:
        return ModelConfig.from_dict(config["model"]), TrainConfig.from_dict(config["train"]), config.get("command")
    except ConfigError as exc:
        raise BundleError(folder / CONFIG, str(exc)) from None


def load_bundle(folder: str | os.PathLike, device: str | torch.device = "cpu") -> Bundle:
    """Rebuild a model and its probe set from a bundle folder, validating everything.

    Raises:
        BundleError: a missing file, a file over MAX_FILE_BYTES or files over
            MAX_UNZIPPED_BYTES in all, unreadable JSON or safetensors, an unknown format
            version, an invalid config, or weights whose names, shapes, dtypes or values do
            not fit the config. The message names the file and the problem.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(folder, "not a folder")
    total = sum((folder / f).stat().st_size for f in (CONFIG, WEIGHTS, PROBE, METRICS) if (folder / f).is_file())
    if total > MAX_UNZIPPED_BYTES:
        raise BundleError(folder, f"its files hold {total} bytes, over the {MAX_UNZIPPED_BYTES} byte limit for a bundle")
    config = _read_config(folder)
    model_config, train_config, _ = read_configs(folder)
    with torch.device("meta"):  # shapes only: a config naming huge layers allocates nothing
        skeleton = VAE(model_config)
    weights = _check_weights(folder / WEIGHTS, skeleton, _read_tensors(folder / WEIGHTS))
    model = VAE(model_config)  # as large as the weights file that matched it, which is capped
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


# ---------------------------------------------------------------- zipped bundles

MAX_ZIP_ENTRIES = 16
MAX_UNZIPPED_BYTES = 512 * 2**20


def extract_zipped_bundle(archive: str | os.PathLike | Any, dest: str | os.PathLike) -> Path:
    """Unpack a zipped bundle into the empty or new folder ``dest`` and return ``dest``.

    The archive holds the bundle's files at its top level or inside one folder. Only the
    bundle's own file names are accepted, so no entry can escape ``dest`` (no absolute paths,
    no ``..``), and sizes are checked against the limits before anything is written and again
    while writing, which defeats zip bombs whose headers lie. Load the result with
    :func:`load_bundle`, which validates the contents.

    Raises:
        BundleError: not a zip file, unexpected, nested or duplicate entries, a file over
            ``MAX_FILE_BYTES`` or in all over ``MAX_UNZIPPED_BYTES``, or a required file missing.
    """
    dest = Path(dest)
    name = getattr(archive, "name", None) or str(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleError(name, f"not a readable zip file ({exc})") from None
    with zf:
        members = _bundle_members(name, zf.infolist())
        dest.mkdir(parents=True, exist_ok=True)
        for info, target in members:
            _extract_capped(zf, info, dest / target, name)
    return dest


def _bundle_members(name: str, infos: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, str]]:
    files = [i for i in infos if not i.is_dir()]
    if len(files) > MAX_ZIP_ENTRIES:
        raise BundleError(name, f"{len(files)} entries; a bundle has at most {len(BUNDLE_FILES)} files")
    members, seen = [], set()
    for info in files:
        parts = info.filename.replace("\\", "/").split("/")
        if len(parts) > 2 or info.filename.startswith("/") or ".." in parts:
            raise BundleError(name, f"entry {info.filename!r} is nested or escapes the bundle folder")
        base = parts[-1]
        if base not in BUNDLE_FILES:
            raise BundleError(name, f"entry {info.filename!r} is not a bundle file (expected {', '.join(BUNDLE_FILES)})")
        if base in seen:
            raise BundleError(name, f"duplicate entry for {base!r}")
        seen.add(base)
        members.append((info, base))
    if len({i.filename.split("/")[0] for i in files if "/" in i.filename}) > 1:
        raise BundleError(name, "entries come from more than one folder")
    missing = [f for f in REQUIRED if f not in seen]
    if missing:
        raise BundleError(name, f"missing {', '.join(missing)}")
    declared = sum(i.file_size for i in files)
    if declared > MAX_UNZIPPED_BYTES or any(i.file_size > MAX_FILE_BYTES for i in files):
        raise BundleError(name, f"unpacks to {declared} bytes, over the limits ({MAX_FILE_BYTES} per file, "
                                f"{MAX_UNZIPPED_BYTES} in all)")
    return members


def _extract_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, name: str) -> None:
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > min(info.file_size, MAX_FILE_BYTES):  # the header lied: a zip bomb
                    raise BundleError(name, f"entry {info.filename!r} unpacks beyond its declared size")
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        target.unlink(missing_ok=True)
        raise BundleError(name, f"entry {info.filename!r} cannot be unpacked ({exc})") from None
    except BundleError:
        target.unlink(missing_ok=True)
        raise

