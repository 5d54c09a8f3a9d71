"""A model's decoder described for the page: layers as JSON, weights as one packed buffer.

The page (explorer/components/decoder_kernels.js) rebuilds the decoder from this and computes
E[x | z] itself, so a pointer move decodes with no server round trip. Supported: the Gaussian
VAE's and the two-stage VAE's decoders (MLP and convolutional) and the VQ-VAE's (codebook
lookup, 3 x 3 and 1 x 1 convolutions, residual blocks, transposed convolutions), each followed
by the likelihood's link, a sigmoid. Anything else is :class:`Unsupported`, with the reason,
and the views fall back to decoding on the server.

Weights go as float16 when that keeps every decoded pixel within 1/255 of float32 on the
check latents (measured here, per model), else as float32.
"""
from __future__ import annotations

import base64
import copy
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from vae_core import likelihoods
from vae_core import BundleError
from vae_core.family import CODEBOOK
from vae_core.families.vq_vae.model import Residual

FLOAT16_TOLERANCE = 1 / 255  # one grey level of an 8-bit image
_SIGMOID_MEANS = (likelihoods.Bernoulli, likelihoods.Gaussian)  # mean = sigmoid(out) for each


class Unsupported(Exception):
    """The page cannot run this model's decoder; the message says why, in a sentence's end
    ("its decoder has a BatchNorm2d layer")."""


@dataclass(frozen=True)
class PageDecoder:
    """``spec``: the layers for buildPageDecoder (JSON); ``weights``: base64 of every weight,
    little-endian ``dtype`` ("float16" or "float32"); ``digest``: names these weights in the
    page's cache; ``nbytes``: the weights' size before base64; ``float16_error``: the largest
    per-pixel difference float16 weights made on the check latents (pixel values in [0, 1])."""

    spec: dict[str, Any]
    weights: str
    dtype: str
    digest: str
    nbytes: int
    float16_error: float


class _Packer:
    """Collects weight tensors into one float32 buffer; offsets count float32 elements."""

    def __init__(self):
        self.parts: list[np.ndarray] = []
        self.size = 0

    def add(self, tensor: torch.Tensor) -> int:
        flat = tensor.detach().float().cpu().numpy().ravel()
        self.parts.append(flat)
        self.size += flat.size
        return self.size - flat.size

    def buffer(self) -> np.ndarray:
        return np.concatenate(self.parts).astype("<f4") if self.parts else np.zeros(0, "<f4")


def _square(value, what: str, name: str) -> int:
    a, b = (value, value) if isinstance(value, int) else value
    if a != b:
        raise Unsupported(f"its decoder has a {name} with a non-square {what} {value}")
    return a


def _conv(m: nn.Conv2d | nn.ConvTranspose2d, packer: _Packer) -> dict[str, Any]:
    name = type(m).__name__
    if m.groups != 1 or _square(m.dilation, "dilation", name) != 1 or m.bias is None or \
            m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise Unsupported(f"its decoder has a {name} with groups, dilation, string padding or no bias")
    k, s, p = (_square(m.kernel_size, "kernel", name), _square(m.stride, "stride", name),
               _square(m.padding, "padding", name))
    layer = {"in": m.in_channels, "out": m.out_channels, "k": k, "pad": p}
    if isinstance(m, nn.ConvTranspose2d):
        if any(m.output_padding):
            raise Unsupported("its decoder has a ConvTranspose2d with output_padding")
        layer.update(op="conv_transpose", stride=s)
    elif s != 1:
        raise Unsupported(f"its decoder has a Conv2d with stride {s}")
    else:
        layer["op"] = "conv"
    return {**layer, "w": packer.add(m.weight), "b": packer.add(m.bias)}


def _layers(module: nn.Module, packer: _Packer) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in module.children() if isinstance(module, nn.Sequential) else [module]:
        if isinstance(m, nn.Sequential):
            out += _layers(m, packer)
        elif isinstance(m, nn.Linear):
            bias = m.bias if m.bias is not None else torch.zeros(m.out_features)
            out.append({"op": "linear", "in": m.in_features, "out": m.out_features,
                        "w": packer.add(m.weight), "b": packer.add(bias)})
        elif isinstance(m, (nn.ReLU, nn.Tanh, nn.Sigmoid)):
            out.append({"op": type(m).__name__.lower()})
        elif isinstance(m, nn.Unflatten) and m.dim == 1:
            out.append({"op": "unflatten", "shape": list(m.unflattened_size)})
        elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            out.append(_conv(m, packer))
        elif isinstance(m, Residual):
            out.append({"op": "residual", "body": _layers(m.body, packer)})
        else:
            raise Unsupported(f"its decoder has a {type(m).__name__} layer, which the page cannot run")
    return out


def describe(model: nn.Module) -> tuple[dict[str, Any], np.ndarray]:
    """(spec, float32 weights) of ``model``'s decoder followed by its likelihood's mean.
    Raises Unsupported."""
    decoder, likelihood = getattr(model, "decoder", None), getattr(model, "likelihood", None)
    if getattr(model, "page_decoder_note", None):  # a family that knows why (diffusers' decoder)
        raise Unsupported(model.page_decoder_note)
    decoder = _page_network(model) or decoder
    if not isinstance(decoder, nn.Module):
        raise Unsupported(f"a {getattr(model, 'title', type(model).__name__)} has no decoder network the page knows")
    if not isinstance(likelihood, _SIGMOID_MEANS):
        raise Unsupported(f"its likelihood {type(likelihood).__name__} has no mean the page can compute")
    packer = _Packer()
    if CODEBOOK in getattr(model, "provides", ()):
        codebook = model.quantizer.codebook
        (h, w), (k, d) = model.latent_shape, codebook.shape
        inp = {"kind": "codes", "h": h, "w": w, "codebook": {"offset": packer.add(codebook), "K": k, "D": d}}
    elif len(model.latent_shape) == 1:
        inp = {"kind": "vector", "size": int(model.latent_shape[0])}
    else:
        raise Unsupported(f"its latent has shape {tuple(model.latent_shape)}, not a vector or a code grid")
    layers = _layers(decoder, packer) + [{"op": "sigmoid"}]
    return {"input": inp, "layers": layers, "output": list(model.config.image_shape)}, packer.buffer()


def _page_network(model: nn.Module) -> nn.Module | None:
    """The torch layers of a decoder kept in another form (an ONNX graph), or None."""
    if not hasattr(model, "page_network"):
        return None
    try:
        return model.page_network()
    except ValueError as exc:  # the graph is not a chain of known layers: the reason, in words
        raise Unsupported(str(exc)) from None
    except BundleError as exc:  # the graph failed on the check latents (vae_core.families.onnx.runtime)
        raise Unsupported(f"its decoder graph failed on the check latents ({exc.problem})") from None


def check_latents(model: nn.Module, n: int = 64, seed: int = 0) -> torch.Tensor:
    """``n`` latents that the decoder is checked on: prior-scale z (N(0, 2² I)) for a vector
    latent, uniform codes for a code grid."""
    gen = torch.Generator().manual_seed(seed)
    if CODEBOOK in getattr(model, "provides", ()):
        return torch.randint(model.quantizer.codebook.shape[0], (n, *model.latent_shape), generator=gen)
    return 2 * torch.randn((n, *model.latent_shape), generator=gen)


@torch.no_grad()
def float16_error(model: nn.Module, latents: torch.Tensor) -> float:
    """Largest |E[x|z] with float16-rounded weights − E[x|z]| over ``latents``, per pixel."""
    network = _page_network(model)
    if network is not None:  # the weights the page gets are these layers' (an ONNX graph's, read back)
        rounded = copy.deepcopy(network)
        for tensor in rounded.parameters():
            tensor.copy_(tensor.half().float())
        return float((torch.sigmoid(rounded(latents)) - torch.sigmoid(network(latents))).abs().max())
    rounded = copy.deepcopy(model)
    for tensor in [*rounded.parameters(), *rounded.buffers()]:
        if tensor.is_floating_point():
            tensor.copy_(tensor.half().float())
    return float((rounded.decode_mean(latents) - model.decode_mean(latents)).abs().max())


def _packed(spec: dict[str, Any], raw: bytes, dtype: str, error: float) -> PageDecoder:
    return PageDecoder(spec=spec, weights=base64.b64encode(raw).decode("ascii"), dtype=dtype,
                       digest=hashlib.sha256(raw).hexdigest()[:16], nbytes=len(raw), float16_error=error)


def export(model: nn.Module) -> PageDecoder:
    """The decoder of ``model`` (in eval mode) packed for the page. Raises Unsupported."""
    spec, weights = describe(model)
    error = float16_error(model, check_latents(model))
    fits = error <= FLOAT16_TOLERANCE and np.all(np.abs(weights) < 65504)
    raw = (weights.astype("<f2") if fits else weights).tobytes()
    return _packed(spec, raw, "float16" if fits else "float32", error)


def export_network(network: nn.Module, latent_size: int, output_shape: list[int]) -> PageDecoder:
    """A bare network with no likelihood link, in float32 (the 2-D lab's decoder mean
    f: R^d -> R^2, with ``output_shape`` [2, 1, 1]: a few thousand weights, resent whenever
    training has changed them). Raises Unsupported."""
    packer = _Packer()
    spec = {"input": {"kind": "vector", "size": latent_size}, "layers": _layers(network, packer),
            "output": list(output_shape)}
    return _packed(spec, packer.buffer().tobytes(), "float32", 0.0)
