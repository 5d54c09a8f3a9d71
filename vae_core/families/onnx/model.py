"""The ONNX family: a VAE (or VQ-VAE) given as two ONNX graphs, run on onnxruntime, so a model
trained in any code or framework opens in every view its latent allows.

A Gaussian posterior is the VAE of vae_core.families.gaussian with the graphs in place of its
networks: D, R, the KL per unit, L_k and sampling are the same code. A spatial latent (C', h,
w), as diffusers' AutoencoderKL has, is seen by the views as its C' h w units flattened in
(channel, row, column) order; ``spatial_shape`` gives the grid back for the views that draw it.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from vae_core.checkpoint.files import BundleError
from vae_core.families.gaussian.model import VAE
from vae_core.families.onnx.config import DECODER, ENCODER, PRIOR, OnnxConfig
from vae_core.families.onnx.runtime import OnnxGraph
from vae_core.families.vq_vae.evaluation import evaluate_vq
from vae_core.family import (GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND, PRIOR_SAMPLES, SPATIAL_LATENT,
                             LatentModel, Terms, register)
from vae_core.likelihoods import build_likelihood

_EPS = 1e-6  # a decoder that outputs the mean: logit(mean) clipped this far from 0 and 1


def _logits(out: torch.Tensor, decoder_output: str) -> torch.Tensor:
    """What vae_core's likelihoods read (sigmoid of it is the mean) from the decoder's "out"."""
    return out if decoder_output == "logits" else torch.logit(out.clamp(_EPS, 1 - _EPS))


def _device_anchor(module: nn.Module) -> None:
    # Views find a model's device from its first parameter; the graphs run on the CPU and hold
    # their weights themselves, so an empty one says "cpu".
    module.anchor = nn.Parameter(torch.zeros(0), requires_grad=False)


class _GaussianEncoder(nn.Module):
    """x (B, C, H, W) -> [mu, logvar] (B, 2 D), flattened: what VAE.encode splits in two."""

    def __init__(self, graph: OnnxGraph):
        super().__init__()
        self.graph = graph

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.graph(x)
        return torch.cat([mu.flatten(1), logvar.flatten(1)], 1)


class _Decoder(nn.Module):
    """z (N, D) flattened, or (N, h, w) codes -> logits (N, C, H, W)."""

    def __init__(self, graph: OnnxGraph, latent_shape: tuple[int, ...], decoder_output: str):
        super().__init__()
        self.graph, self.latent_shape, self.decoder_output = graph, latent_shape, decoder_output

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        (out,) = self.graph(z.reshape(-1, *self.latent_shape))
        return _logits(out, self.decoder_output)


def _graphs(folder: Path, config: OnnxConfig) -> dict[str, OnnxGraph]:
    image = {"image": ("float32", config.image_shape)}
    out = {"out": ("float32", config.image_shape)}
    if config.posterior == "gaussian":
        latent = ("float32", config.latent_shape)
        graphs = {"encoder": OnnxGraph(folder / ENCODER, image, {"mu": latent, "logvar": latent}),
                  "decoder": OnnxGraph(folder / DECODER, {"z": latent}, out)}
    else:
        codes = {"codes": ("int64", config.latent_shape)}
        graphs = {"encoder": OnnxGraph(folder / ENCODER, image, codes),
                  "decoder": OnnxGraph(folder / DECODER, codes, out)}
        if (folder / PRIOR).exists():
            graphs["prior"] = OnnxGraph(folder / PRIOR, codes,
                                        {"logits": ("float32", (config.codebook_size, *config.latent_shape))})
    return graphs


@register
class OnnxVAE(VAE):
    """A Gaussian VAE in two ONNX graphs: ``encoder.onnx`` image (B, C, H, W) float32 in [0, 1]
    -> mu, logvar (B, *latent_shape); ``decoder.onnx`` z (B, *latent_shape) -> out (B, C, H, W).
    Prior N(0, I); likelihood and decoder output as the config says (OnnxConfig)."""

    family = "onnx"
    title = "VAE in ONNX"
    train_command = None
    config_class = OnnxConfig
    provides = frozenset({GAUSSIAN_POSTERIOR, PRIOR_SAMPLES, IMPORTANCE_WEIGHTED_BOUND})
    explorer_note = "It is a pair of ONNX graphs: its latent is what encoder.onnx gives."

    def __init__(self, config: OnnxConfig, graphs: dict[str, OnnxGraph]):
        LatentModel.__init__(self)
        self.config = config
        self.encoder = _GaussianEncoder(graphs["encoder"])
        self.decoder = _Decoder(graphs["decoder"], config.latent_shape, config.decoder_output)
        self.likelihood = build_likelihood(config)
        _device_anchor(self)
        if self.spatial_shape:  # the views that draw a grid of latent units check this
            self.provides = self.provides | {SPATIAL_LATENT}

    @property
    def spatial_shape(self) -> tuple[int, int, int] | None:
        """(C', h, w) of a spatial latent, whose flattened units the views see; else None."""
        return tuple(self.config.latent_shape) if len(self.config.latent_shape) == 3 else None

    def page_network(self) -> nn.Module:
        """The decoder graph as torch layers, z (B, D) -> logits (B, C, H, W), for the explorer's
        in-page decoder, checked against onnxruntime (layers.checked_chain). Raises NotAChain
        (a ValueError) saying why when the graph is not such a chain."""
        from vae_core.families.onnx.layers import checked_chain

        return checked_chain(self)

    @classmethod
    def from_folder(cls, folder: Path, config: OnnxConfig) -> LatentModel:
        """The model of an ONNX bundle folder, its graphs checked against ``config``: an
        OnnxVAE, or an OnnxVQ for a quantized posterior. Raises BundleError, MissingExtra."""
        graphs = _graphs(folder, config)
        return cls(config, graphs) if config.posterior == "gaussian" else OnnxVQ(config, graphs)


class OnnxVQ(LatentModel):
    """A VQ-VAE in ONNX graphs: ``encoder.onnx`` image -> codes (B, h, w) int64, ``decoder.onnx``
    codes -> out, and optionally ``prior.onnx`` codes -> logits (B, K, h, w) of
    p(k_i | k_<i) in raster order (a PixelCNN: van den Oord et al. 2016); without it the prior
    is uniform over the K codes. Bundles say family "onnx" and posterior "quantized"."""

    family = "onnx"
    title = "VQ-VAE in ONNX"
    config_class = OnnxConfig
    provides = frozenset({PRIOR_SAMPLES})
    explorer_note: ClassVar[str] = ("Its latent is a grid of codebook indices given by encoder.onnx; the codebook "
                                    "itself is inside the graphs, so the code pages of a VQ-VAE do not apply.")
    page_decoder_note: ClassVar[str] = "its codebook is inside decoder.onnx, where the page's kernels cannot read it"

    def __init__(self, config: OnnxConfig, graphs: dict[str, OnnxGraph]):
        super().__init__()
        self.config = config
        self.encoder = graphs["encoder"]
        self.decoder = _Decoder(graphs["decoder"], config.latent_shape, config.decoder_output)
        self.prior = graphs.get("prior")
        self.likelihood = build_likelihood(config)
        self.rate_name = ("−log p(k(x)) under prior.onnx" if self.prior is not None
                          else "−log p(k(x)) under a uniform prior over the K codes")
        _device_anchor(self)

    @property
    def latent_shape(self) -> tuple[int, int]:
        return self.config.grid

    @property
    def uniform_rate(self) -> float:
        """h w log K, nats per image."""
        return math.prod(self.config.grid) * math.log(self.config.codebook_size)

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, h, w) int64 codes, checked to lie in [0, K)."""
        (codes,) = self.encoder(x)
        if len(codes) and (codes.min() < 0 or codes.max() >= self.config.codebook_size):
            raise BundleError(self.encoder.path, f"gave codes from {int(codes.min())} to {int(codes.max())}, outside "
                                                 f"the {self.config.codebook_size} codes config.json names")
        return codes

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        lead = codes.shape[:-2]
        out = self.decoder(codes.reshape(-1, *codes.shape[-2:]))
        return out.reshape(*lead, *out.shape[1:])

    def decode_mean(self, codes: torch.Tensor) -> torch.Tensor:
        """(..., h, w) int64 -> (..., C, H, W) in [0, 1]."""
        return self.likelihood.mean(self.decode(codes))

    def log_prior(self, codes: torch.Tensor) -> torch.Tensor:
        """log p(k) of (B, h, w) grids, (B,) nats per image."""
        if self.prior is None:
            return torch.full((codes.shape[0],), -self.uniform_rate)
        (logits,) = self.prior(codes)
        return -F.cross_entropy(logits, codes, reduction="none").flatten(1).sum(1)

    def image_terms(self, x: torch.Tensor, *, n_samples: int = 1, generator: torch.Generator | None = None) -> Terms:
        """D = -log p(x | k(x)) and R = -log p(k(x)), (B,) nats per image; deterministic."""
        return self.terms_of_codes(x, self.encode_latent(x))

    def terms_of_codes(self, x: torch.Tensor, codes: torch.Tensor) -> Terms:
        return Terms(reconstruction=-self.likelihood.log_prob(x, self.decode(codes)), kl=-self.log_prior(codes),
                     kl_per_dim=None)

    def evaluate_metrics(self, x: torch.Tensor, *, batch_size: int = 500, progress: bool = False, **_) -> dict:
        return evaluate_vq(self, x, batch_size=batch_size, progress=progress)

    @torch.no_grad()
    def sample(self, n: int, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, h, w) codes from prior.onnx, position by position in raster order (h w runs of the
        graph), logits divided by ``temperature`` (0: the most likely code); uniform without it."""
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        h, w = self.config.grid
        if self.prior is None:
            return torch.randint(self.config.codebook_size, (n, h, w), generator=generator)
        codes = torch.zeros((n, h, w), dtype=torch.long)
        for i in range(h):
            for j in range(w):
                (logits,) = self.prior(codes)
                step = logits[:, :, i, j]
                codes[:, i, j] = (step.argmax(1) if temperature == 0 else
                                  torch.multinomial(torch.softmax(step / temperature, 1), 1, generator=generator)[:, 0])
        return codes

    def named_samplers(self) -> dict[str, Any]:
        return {"prior_samples": self.sample}
