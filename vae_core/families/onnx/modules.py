"""A bundle from any pair of PyTorch modules: the user's encoder and decoder, exported to ONNX,
with their images as the probe set, so a VAE trained in anyone's code opens in the explorer.

    from vae_core.families.onnx import bundle_from_modules
    bundle_from_modules(model.encoder, model.decoder, test_images, "my-vae", likelihood="bernoulli")

docs/onnx.md has a complete example.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from vae_core import checkpoint as ckpt
from vae_core.config import TrainConfig
from vae_core.data import DATASETS, _read_folder, probe_subset, ImageSet
from vae_core.families.onnx.config import DECODER, ENCODER, OnnxConfig
from vae_core.families.onnx.export import _replace, export_graph

SCALES = ("logvar", "log_std", "std")  # what an encoder's second output may be


class _Posterior(nn.Module):
    """The user's encoder with its outputs made (mu, logvar): it may return a pair, or one
    tensor holding mu and the scale stacked along dimension 1 (chunked in two)."""

    def __init__(self, encoder: nn.Module, scale: str):
        super().__init__()
        self.encoder, self.scale = encoder, scale

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.encoder(x)
        mu, s = out[:2] if isinstance(out, (tuple, list)) else out.chunk(2, dim=1)
        if self.scale == "log_std":
            return mu, 2 * s
        if self.scale == "std":
            return mu, 2 * torch.log(s)
        return mu, s


def _images(images: Any, image_shape: Sequence[int] | None, labels: torch.Tensor | None,
            classes: list[str] | None, limit: int) -> ImageSet:
    """The probe set from a tensor (N, C, H, W) uint8 or float in [0, 1], a torchvision-style
    data set of (image, label) pairs, or a folder (ImageFolder layout; needs ``image_shape``)."""
    if isinstance(images, (str, os.PathLike)):
        if image_shape is None:
            raise ValueError("give image_shape=(C, H, W) with an image folder: the size its images are resized to")
        x, y, names = _read_folder(str(Path(images).expanduser().resolve()), tuple(image_shape))
        return probe_subset(ImageSet(x, y, names, "folder"), min(limit, len(x)))
    if not isinstance(images, torch.Tensor):  # a data set: index it, its images as tensors or PIL
        from torchvision.transforms.functional import pil_to_tensor
        classes = classes or list(getattr(images, "classes", None) or []) or None
        n = min(limit, len(images))
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:n].sort().values
        pairs = [images[int(i)] for i in order]
        pictures = [p[0] if isinstance(p[0], torch.Tensor) else pil_to_tensor(p[0]) for p in pairs]
        images = torch.stack(pictures)
        labels = torch.tensor([int(p[1]) for p in pairs])
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, C, H, W) with C 1 or 3, got {tuple(images.shape)}")
    if images.dtype != torch.uint8:
        if images.min() < 0 or images.max() > 1:
            raise ValueError("float images must lie in [0, 1]")
        images = (images * 255).round().to(torch.uint8)
    labels = torch.zeros(len(images), dtype=torch.long) if labels is None else torch.as_tensor(labels).long()
    names = classes or ([str(i) for i in range(int(labels.max()) + 1)] if len(labels) else ["image"])
    return probe_subset(ImageSet(images, labels, list(names), "tensor"), min(limit, len(images)))


def bundle_from_modules(encoder: nn.Module, decoder: nn.Module, images: Any, out: str | os.PathLike, *,
                        likelihood: str = "bernoulli", sigma: float = 0.1, decoder_output: str = "mean",
                        encoder_scale: str = "logvar", labels: torch.Tensor | None = None,
                        classes: list[str] | None = None, image_shape: Sequence[int] | None = None,
                        dataset: str | None = None, probe_size: int = 1000, score: bool = True,
                        command: str | None = None) -> Path:
    """Write an ONNX bundle in ``out`` from a VAE's encoder and decoder modules.

    Args:
        encoder: images (B, C, H, W) float in [0, 1] -> (mu, s), or one tensor [mu; s] along
            dim 1; mu and s (B, D) or (B, C', h, w). ``encoder_scale`` says what s is:
            ``"logvar"`` (log sigma^2), ``"log_std"`` or ``"std"``.
        decoder: z shaped as mu -> (B, C, H, W): the mean E[x|z] in [0, 1]
            (``decoder_output="mean"``, a sigmoid last) or logits (``"logits"``).
        images: the probe set: a tensor (N, C, H, W) uint8 or float in [0, 1], a data set of
            (image, label) pairs (torchvision's), or an image folder (give ``image_shape``).
        likelihood: ``"bernoulli"`` or ``"gaussian"`` with standard deviation ``sigma``
            (pixel units): what D = -log p(x|z) is computed under.
        dataset: the named data set the images come from ("mnist", ...), so views can load
            the rest of it; None for others.
        probe_size: at most this many images are kept (a fixed random subset).
        score: write metrics.json (ELBO, D, R, KL per unit on the probe images; no L_k).

    Returns the bundle folder. Raises ValueError for images or options the bundle cannot
    hold; MissingExtra without the "onnx" extra; whatever the modules raise on the images.
    """
    if encoder_scale not in SCALES:
        raise ValueError(f"encoder_scale must be one of {SCALES}, got {encoder_scale!r}")
    probe = _images(images, image_shape, labels, classes, probe_size)
    x = probe.images[:2].float() / 255
    posterior = _Posterior(encoder, encoder_scale).eval()
    with torch.no_grad():
        mu, logvar = posterior(x)
    if mu.shape != logvar.shape or mu.dim() not in (2, 4):
        raise ValueError(f"the encoder gave mu {tuple(mu.shape)} and a scale {tuple(logvar.shape)}; "
                         "both must be (B, D) or (B, C, h, w)")
    config = OnnxConfig(image_shape=tuple(probe.images.shape[1:]), latent_shape=tuple(mu.shape[1:]),
                        likelihood=likelihood, sigma=sigma, decoder_output=decoder_output,
                        source=f"bundle_from_modules: {type(encoder).__name__} and {type(decoder).__name__}")
    name = dataset if dataset in DATASETS and dataset != "folder" else None
    train = TrainConfig(dataset=name or "folder", folder="" if name else "the user's images", device="cpu")
    described = {"name": name or "the user's images", "image_shape": list(config.image_shape), "value_range": [0.0, 1.0],
                 "classes": probe.classes, "binarized": False, "likelihood": likelihood, "imported_from": config.source}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        tmp = Path(tmp)
        export_graph(posterior.forward, posterior, x, tmp / ENCODER, ["image"], ["mu", "logvar"])
        export_graph(decoder.forward, decoder.eval(), mu, tmp / DECODER, ["z"], ["out"])
        ckpt.write_config(tmp, config, train, described, command, family="onnx")
        ckpt.write_probe(tmp, probe.images, probe.labels)
        if score:
            model = ckpt.load_bundle(tmp).model
            metrics = model.evaluate_metrics(probe.images.float() / 255, k=0)
            ckpt.write_metrics(tmp, {**metrics, "split": "probe"})
        _replace(tmp, out)
    return out
