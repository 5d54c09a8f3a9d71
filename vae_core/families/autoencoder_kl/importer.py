"""A diffusers AutoencoderKL folder, as ``save_pretrained`` writes it (config.json with
``"_class_name": "AutoencoderKL"`` and diffusion_pytorch_model.safetensors), or a pipeline
folder holding one in ``vae/``, written as a bundle with the user's images as its probe set.

Only safetensors weights are read: a ``.bin`` file is a pickle and is refused unread.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from vae_core import checkpoint as ckpt
from vae_core.checkpoint.files import BundleError, _read_json, _read_tensors
from vae_core.config import ConfigError, TrainConfig
from vae_core.data import DATASETS, ImageSet, _read_folder, load_dataset, probe_subset
from vae_core.families.autoencoder_kl.config import AutoencoderKLConfig
from vae_core.families.autoencoder_kl.model import AutoencoderKLVAE
from vae_core.families.onnx.export import _replace

WEIGHTS = "diffusion_pytorch_model.safetensors"


def find_vae_folder(path: str | os.PathLike) -> Path:
    """``path`` itself when it holds an AutoencoderKL, else its ``vae/`` sub-folder (a pipeline).
    Raises BundleError naming what is missing."""
    path = Path(path)
    for folder in (path, path / "vae"):
        if (folder / "config.json").is_file() and (folder / WEIGHTS).is_file():
            return folder
    if (path / "diffusion_pytorch_model.bin").is_file() or (path / "vae" / "diffusion_pytorch_model.bin").is_file():
        raise BundleError(path, f"holds diffusion_pytorch_model.bin, a pickle, which is not opened; save the model "
                                f"with save_pretrained(..., safe_serialization=True) to get {WEIGHTS}")
    raise BundleError(path, f"holds no AutoencoderKL: expected config.json and {WEIGHTS} in it or in its vae/ folder")


def read_autoencoder_kl(path: str | os.PathLike, image_shape: tuple[int, int, int] | None = None,
                        sigma: float = 0.1) -> AutoencoderKLVAE:
    """The AutoencoderKL in ``path`` (see find_vae_folder), built by diffusers, weights checked.
    ``image_shape``: the size views work at; default (in_channels, sample_size, sample_size).
    Raises BundleError naming the file and the problem; MissingExtra without diffusers."""
    folder = find_vae_folder(path)
    data = _read_json(folder / "config.json")
    if not isinstance(data, dict) or data.get("_class_name") != "AutoencoderKL":
        found = data.get("_class_name") if isinstance(data, dict) else type(data).__name__
        raise BundleError(folder / "config.json", f"is not an AutoencoderKL config (\"_class_name\": {found!r})")
    size = data.get("sample_size", 32)
    h, w = (size[:2] * 2)[:2] if isinstance(size, list) and size else (size, size)  # [H, W] or one side
    shape = tuple(image_shape or (data.get("in_channels", 3), h, w))
    try:
        config = AutoencoderKLConfig.from_diffusers({**data, "sample_size": h}, shape, sigma=sigma,
                                                    source=f"diffusers AutoencoderKL from {folder.parent.name}/{folder.name}")
    except (ConfigError, TypeError, ValueError) as exc:
        raise BundleError(folder / "config.json", str(exc)) from None
    from vae_core.checkpoint.loading import _check_weights

    with torch.device("meta"):
        skeleton = AutoencoderKLVAE(config)
    model = AutoencoderKLVAE(config)
    # Older checkpoints name the attention's layers query/key/value/proj_attn; diffusers renames
    # them on loading, and so does this (its own method, so the two cannot drift apart).
    state = dict(_read_tensors(folder / WEIGHTS))
    state = getattr(model.vae, "_fix_state_dict_keys_on_load", lambda d: d)(state) or state
    weights = {f"vae.{k}": v for k, v in state.items()}
    weights.update(model.likelihood.state_dict(prefix="likelihood."))  # σ is ours, not diffusers'
    model.load_state_dict(_check_weights(folder / WEIGHTS, skeleton, weights))
    return model.eval()


def import_autoencoder_kl(path: str | os.PathLike, images: str | os.PathLike, out: str | os.PathLike, *,
                          image_shape: tuple[int, int, int] | None = None, sigma: float = 0.1,
                          probe_size: int = 1000, data_dir: str | os.PathLike | None = None,
                          command: str | None = None) -> Path:
    """Write a bundle in ``out`` from the AutoencoderKL in ``path`` and the probe images
    ``images``: an image folder (ImageFolder layout, resized to ``image_shape``) or the name of
    a data set ("fashion-mnist": its test split, from ``data_dir``). Scores D, R and the KL per
    unit on the probe images into metrics.json. Raises BundleError, DatasetNotFoundError,
    DatasetError, MissingExtra; nothing is written then."""
    model = read_autoencoder_kl(path, image_shape, sigma)
    shape = model.config.image_shape
    if str(images) in DATASETS and str(images) != "folder":
        test = load_dataset(str(images), "test", data_dir, download=False)
        if tuple(test.images.shape[1:]) != shape:
            test = ImageSet(_resize(test.images, shape), test.labels, test.classes, test.name)
        name, train = str(images), TrainConfig(dataset=str(images), device="cpu")
    else:
        x, y, classes = _read_folder(str(Path(images).expanduser().resolve()), shape)
        test, name = ImageSet(x, y, classes, "folder"), Path(images).name
        train = TrainConfig(dataset="folder", folder=Path(images).name, device="cpu")
    probe = probe_subset(test, min(probe_size, len(test)))
    dataset = {"name": name, "image_shape": list(shape), "value_range": [0.0, 1.0], "classes": probe.classes,
               "binarized": False, "likelihood": "gaussian", "imported_from": model.config.source}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        tmp = Path(tmp)
        ckpt.write_config(tmp, model.config, train, dataset, command, family=model.family)
        ckpt.write_probe(tmp, probe.images, probe.labels)
        ckpt.write_weights(tmp, model)
        with torch.no_grad():
            metrics = model.evaluate_metrics(probe.images.float() / 255, k=0, batch_size=100)
        ckpt.write_metrics(tmp, {**metrics, "split": "probe"})
        _replace(tmp, out)
    return out


def _resize(images: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """uint8 (N, C, H, W) to ``shape``: zero-padded when larger (28 -> 32 keeps the pixels), grey
    repeated to RGB."""
    c, h, w = shape
    x = images.repeat(1, c // images.shape[1], 1, 1) if images.shape[1] != c else images
    dh, dw = h - x.shape[2], w - x.shape[3]
    if dh >= 0 and dw >= 0:
        return torch.nn.functional.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
    return torch.nn.functional.interpolate(x.float(), size=(h, w), mode="area").round().to(torch.uint8)
