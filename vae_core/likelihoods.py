"""Decoder likelihoods p(x|z): log-density in nats per image, and mean.

``out`` is the decoder network's output (B, C, H, W); ``x`` the image (B, C, H, W) float
in [0, 1]. ``log_prob`` sums over pixels, giving (B,) nats per image; given L decoder
outputs per image, ``out`` (L, B, C, H, W), it gives (L, B) without copying ``x`` L times.
The link from ``out`` to the distribution's parameter lives here, so the model never sees
logits versus means.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vae_core.config import ModelConfig
from vae_core.distributions import isotropic_log_prob



class Bernoulli(nn.Module):
    """p(x|z) = prod_i Bernoulli(x_i; sigmoid(out_i)). Exact for binary x; for grey x in
    [0, 1] it is the usual cross-entropy objective, not a normalised density."""

    def log_prob(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        # -BCE = x log sigmoid(l) + (1 - x) log(1 - sigmoid(l)) = x l - softplus(l), stable in l.
        if out.dim() == x.dim():  # torch's fused loss: the fastest with autograd, for training
            return -F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(-3).sum(-1)
        # L samples per image (the importance-weighted bound): the sum of x l as one batched
        # product, without repeating x L times for the fused loss (L_5000 on the CPU: 55.4 s
        # down to 33.5 s, python -m bench.train_speed; docs/benchmarks.md).
        logits = out.flatten(-3)
        return torch.einsum("lbp,bp->lb", logits, x.flatten(-3)) - F.softplus(logits).sum(-1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)

    @torch.no_grad()
    def written_out(self, x: torch.Tensor, out: torch.Tensor) -> dict[str, float]:
        """log p(x|z) = Σ_i [x_i log p_i + (1 − x_i) log(1 − p_i)], p = sigmoid(out), for one
        image (C, H, W): its two sums and the total, nats. It has no constant term."""
        logits, x = out.flatten().double(), x.flatten().double()
        on, off = (x * F.logsigmoid(logits)).sum(), ((1 - x) * F.logsigmoid(-logits)).sum()
        return {"pixels": x.numel(), "ink_term": float(on), "background_term": float(off), "log_px_z": float(on + off)}

    def sample(self, out: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x ~ p(x|z): each pixel 0 or 1."""
        return torch.bernoulli(torch.sigmoid(out), generator=generator)


class Gaussian(nn.Module):
    """p(x|z) = N(x; sigmoid(out), sigma^2 I). With ``learned=True`` log sigma is one trainable
    scalar (the gamma of Dai & Wipf 2019); otherwise sigma is fixed and the objective equals
    MSE / (2 sigma^2) + const, i.e. beta = 2 sigma^2 in MSE + beta * KL."""

    def __init__(self, sigma: float, learned: bool):
        super().__init__()
        log_sigma = torch.tensor(math.log(sigma))
        if learned:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma)

    def log_prob(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        mean = torch.sigmoid(out)
        log_sigma = self.log_sigma
        per_pixel = isotropic_log_prob(x, mean, log_sigma)
        return per_pixel.flatten(-3).sum(-1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)

    @torch.no_grad()
    def written_out(self, x: torch.Tensor, out: torch.Tensor) -> dict[str, float]:
        """log p(x|z) = −(d/2) log(2πσ²) − ‖x − f(z)‖² / (2σ²) for one image (C, H, W), d pixels,
        f(z) = sigmoid(out): the constant, the summed squared error (not a per-pixel mean), and
        β = 2σ², with which ‖x − f(z)‖² + β·KL is 2σ² × (−ELBO) minus a constant, so both have
        the same optimum (a per-pixel mean squared error would need β = 2σ²/d)."""
        d = x.numel()
        sigma = float(self.log_sigma.exp())
        sse = float(((x.double() - torch.sigmoid(out.double())) ** 2).sum())
        constant = -0.5 * d * math.log(2 * math.pi * sigma ** 2)
        return {"pixels": d, "sigma": sigma, "constant": constant, "squared_error": sse,
                "error_term": -sse / (2 * sigma ** 2), "log_px_z": constant - sse / (2 * sigma ** 2),
                "beta_for_summed_error": 2 * sigma ** 2, "beta_for_mean_error": 2 * sigma ** 2 / d}

    def sample(self, out: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x ~ p(x|z), clipped to [0, 1] for display (the density itself is not truncated)."""
        noise = torch.randn(out.shape, generator=generator, device=out.device, dtype=out.dtype)
        return (torch.sigmoid(out) + self.log_sigma.exp() * noise).clamp(0, 1)


def build_likelihood(cfg: ModelConfig) -> nn.Module:
    if cfg.likelihood == "bernoulli":
        return Bernoulli()
    return Gaussian(cfg.sigma, learned=cfg.likelihood == "gaussian-learned")
