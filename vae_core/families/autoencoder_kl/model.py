"""diffusers' AutoencoderKL (the VAE of Stable Diffusion; Rombach et al. 2022) as a model
family, built by diffusers itself (the "diffusers" extra) from a pickle-free bundle.

Its latent is spatial, (C', h, w) at 1/8 of the image for Stable Diffusion's; the views see
its C' h w units flattened in (channel, row, column) order, and ``spatial_shape`` gives the grid
back. Images are [0, 1] here and [-1, 1] to diffusers; the posterior is diffusers'
DiagonalGaussianDistribution (its logvar clamped to [-30, 20]); the decoded mean is diffusers'
output mapped back to [0, 1] and clipped there.
"""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from vae_core.extras import need
from vae_core.families.autoencoder_kl.config import AutoencoderKLConfig
from vae_core.families.gaussian.model import VAE
from vae_core.family import (GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND, PRIOR_SAMPLES, SPATIAL_LATENT, LatentModel,
                             register)
from vae_core.likelihoods import build_likelihood

_EPS = 1e-6


class _Encoder:
    """x (B, C, H, W) in [0, 1] -> [mu, logvar] (B, 2 C' h w), flattened, as VAE.encode splits it.
    A plain callable, not a module: the weights are the AutoencoderKL's, registered once."""

    def __init__(self, vae: nn.Module):
        self.vae = vae

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        dist = self.vae.encode(2 * x - 1).latent_dist
        return torch.cat([dist.mean.flatten(1), dist.logvar.flatten(1)], 1)


class _Decoder:
    """z (N, C' h w) -> logits (N, C, H, W): logit of diffusers' output mapped to [0, 1]."""

    def __init__(self, vae: nn.Module, latent_shape: tuple[int, int, int]):
        self.vae, self.latent_shape = vae, latent_shape

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        sample = self.vae.decode(z.reshape(-1, *self.latent_shape)).sample
        return torch.logit(((sample + 1) / 2).clamp(_EPS, 1 - _EPS))


@register
class AutoencoderKLVAE(VAE):
    """diffusers' AutoencoderKL: encode -> (mu, logvar) flattened (B, C' h w), prior N(0, I) for
    R, and D under a Gaussian likelihood of the config's σ (the model defines none)."""

    family = "autoencoder-kl"
    title = "diffusers AutoencoderKL"
    train_command = None
    config_class = AutoencoderKLConfig
    # Prior samples z ~ N(0, I), the prior of its R: a Stable Diffusion VAE's are not its images
    # (a KL weight near 1e-6; a diffusion model draws its latents), which the Generation view says.
    provides = frozenset({GAUSSIAN_POSTERIOR, PRIOR_SAMPLES, IMPORTANCE_WEIGHTED_BOUND, SPATIAL_LATENT})
    explorer_note: ClassVar[str] = "Its latent is a grid of channels at positions: see Posterior spread and Latent traversals."
    # Why the page cannot decode it (explorer.page_decoder): said instead of a layer's name.
    page_decoder_note: ClassVar[str] = ("its decoder is diffusers' (group norms, SiLU, self-attention), which the "
                                        "page's kernels do not run")

    def __init__(self, config: AutoencoderKLConfig):
        LatentModel.__init__(self)
        diffusers = need("diffusers", "diffusers", "A diffusers AutoencoderKL bundle")
        self.config = config
        self.vae = diffusers.AutoencoderKL(**config.diffusers_kwargs())
        self.encoder = _Encoder(self.vae)
        self.decoder = _Decoder(self.vae, config.latent_shape)
        self.likelihood = build_likelihood(config)

    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        return self.config.latent_shape

