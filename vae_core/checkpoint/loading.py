"""Loading a bundle: every file checked, the model of its family rebuilt from the folder alone."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vae_core.checkpoint.files import (
    CONFIG,
    MAX_PROBE_IMAGES,
    MAX_UNZIPPED_BYTES,
    METRICS,
    PROBE,
    WEIGHT_FILES,
    WEIGHTS,
    BundleError,
    _read_tensors,
    read_config,
    read_configs,
    read_metrics,
)
from vae_core.checkpoint.history import read_history
from vae_core.config import TrainConfig
from vae_core.extras import MissingExtra
from vae_core.family import DEFAULT_FAMILY, LatentModel, family_class

_FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)

@dataclass
class Bundle:
    """A loaded bundle. ``model`` is in eval mode on the requested device.

    Attributes:
        path: the bundle's folder.
        model: the rebuilt model of the bundle's family (vae_core.family.LatentModel).
        model_config, train_config: the configs it was trained with (model_config is of the
            family's config class).
        dataset: data set description: name, image_shape, classes, binarized, likelihood.
        probe_images: (N, C, H, W) uint8 held-out images; probe_labels: (N,) int64.
        metrics: contents of metrics.json, or None when not evaluated yet.
        command: the command line that made it, when known.
        created: ISO 8601 creation time.
        package_version: the vae_core version that wrote it.
    """

    path: Path
    model: LatentModel
    model_config: Any
    train_config: TrainConfig
    dataset: dict[str, Any]
    probe_images: torch.Tensor
    probe_labels: torch.Tensor
    metrics: dict[str, Any] | None = None
    command: str | None = None
    created: str | None = None
    package_version: str | None = None
    family: str = DEFAULT_FAMILY

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def classes(self) -> list[str]:
        return list(self.dataset.get("classes") or [])

    def history(self) -> list[dict[str, Any]]:
        """The training log as it is now (re-read on every call)."""
        return read_history(self.path)


def _check_weights(path: Path, model: LatentModel, weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
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


def _check_probe(path: Path, probe: dict[str, torch.Tensor], image_shape: tuple[int, ...], classes: list[str]):
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
    if images.shape[0] > MAX_PROBE_IMAGES:
        raise BundleError(path, f"holds {images.shape[0]} images; the explorer opens at most {MAX_PROBE_IMAGES}")
    # Views index the class list and count labels with them: each must name a class.
    n_classes = len(classes) or MAX_PROBE_IMAGES
    bad = labels[(labels < 0) | (labels >= n_classes)]
    if len(bad):
        raise BundleError(path, f"label {int(bad[0])} is outside the {len(classes)} classes config.json names"
                          if classes else f"label {int(bad[0])} is negative or over {n_classes}")
    return images, labels


def _from_weights(folder: Path, family: str, model_config: Any) -> LatentModel:
    model_class = family_class(family)
    try:
        with torch.device("meta"):  # shapes only: a config naming huge layers allocates nothing
            skeleton = model_class(model_config)
    except MissingExtra as exc:  # a family built by an optional package (diffusers)
        raise BundleError(folder / CONFIG, str(exc)) from None
    weights = _check_weights(folder / WEIGHTS, skeleton, _read_tensors(folder / WEIGHTS))
    model = model_class(model_config)  # as large as the weights file that matched it, which is capped
    model.load_state_dict(weights)
    return model


def load_bundle(folder: str | os.PathLike, device: str | torch.device = "cpu") -> Bundle:
    """Rebuild a model and its probe set from a bundle folder, validating everything.

    Raises:
        BundleError: a missing or unreadable file, a file over MAX_FILE_BYTES or files over
            MAX_UNZIPPED_BYTES in all, unreadable JSON or safetensors, JSON nested deeper than
            MAX_JSON_DEPTH, an unknown format version or model family, an invalid config,
            metrics.json of the wrong types (vae_core.checkpoint.schema), weights whose names,
            shapes, dtypes or values do not fit the config, a probe set over MAX_PROBE_IMAGES or
            with a label outside the class list. The message names the file and the problem;
            nothing else is raised for any content of the folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(folder, "not a folder")
    total = sum((folder / f).stat().st_size for f in (CONFIG, PROBE, METRICS, *WEIGHT_FILES) if (folder / f).is_file())
    if total > MAX_UNZIPPED_BYTES:
        raise BundleError(folder, f"its files hold {total} bytes, over the {MAX_UNZIPPED_BYTES} byte limit for a bundle")
    config = read_config(folder)
    model_config, train_config, _ = read_configs(folder)  # of the family config.json names
    family = config.get("family") or DEFAULT_FAMILY
    model = family_class(family).from_folder(folder, model_config) or _from_weights(folder, family, model_config)
    images, labels = _check_probe(folder / PROBE, _read_tensors(folder / PROBE), model_config.image_shape,
                                  list(config["dataset"].get("classes") or []))
    return Bundle(path=folder, model=model.to(device).eval(), model_config=model_config,
                  train_config=train_config, dataset=config["dataset"], probe_images=images,
                  probe_labels=labels, metrics=read_metrics(folder), command=config.get("command"),
                  created=config.get("created"), package_version=config.get("package_version"), family=family)


