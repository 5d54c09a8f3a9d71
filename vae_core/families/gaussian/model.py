"""The VAE: encode -> (mu, logvar), reparameterize, decode (Kingma & Welling 2014)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from vae_core.config import ModelConfig
from vae_core.distributions import DiagonalGaussian
from vae_core.families.gaussian.evaluation import evaluate_gaussian
from vae_core.families.gaussian.objectives import terms
from vae_core.family import GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND, PRIOR_SAMPLES, LatentModel, register
from vae_core.likelihoods import build_likelihood
from vae_core.networks import build_decoder, build_encoder


@dataclass
class VAEOutput:
    """What ``VAE.forward`` returns.

    Attributes:
        mu: (B, D) posterior means of q(z|x).
        logvar: (B, D) posterior log-variances, log sigma^2.
        z: (L, B, D) samples z = mu + sigma * eps.
        out: (L, B, C, H, W) decoder outputs for each z (logits or pre-sigmoid means).
    """

    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor
    out: torch.Tensor


@register
class VAE(LatentModel):
    """Diagonal-Gaussian encoder, N(0, I) prior, decoder likelihood from the config: the
    model family ``"vae"`` (Kingma & Welling 2014).

    Images are (B, C, H, W) float in [0, 1]; latents (B, D) with D = ``config.latent_dim``.
    """

    family = "vae"
    train_command = "vae-train"
    title = "Gaussian VAE"
    config_class = ModelConfig
    provides = frozenset({GAUSSIAN_POSTERIOR, PRIOR_SAMPLES, IMPORTANCE_WEIGHTED_BOUND})

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.encoder = build_encoder(config)
        self.decoder = build_decoder(config)
        self.likelihood = build_likelihood(config)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim,)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, H, W) in [0, 1] -> mu (B, D), logvar (B, D) of q(z|x)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def posterior(self, x: torch.Tensor) -> DiagonalGaussian:
        """q(z|x) of images (B, C, H, W) in [0, 1], as one distribution object over (B, D)."""
        return DiagonalGaussian(*self.encode(x))

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, D) the posterior mean, the mode of q(z|x)."""
        return self.posterior(x).mode()

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 1,
                       generator: torch.Generator | None = None, noise: torch.Tensor | None = None) -> torch.Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): (B, D) -> (n_samples, B, D); see DiagonalGaussian.sample."""
        return DiagonalGaussian(mu, logvar).sample(n_samples, generator, noise)

    def image_terms(self, x: torch.Tensor, *, n_samples: int = 1, generator: torch.Generator | None = None):
        """Per-image D, R and R by dimension in nats (objectives.terms)."""
        return terms(self, x, n_samples=n_samples, generator=generator)

    def evaluate_metrics(self, x: torch.Tensor, **options) -> dict:
        """ELBO, D, R, KL per dimension, active units and L_k (evaluation.evaluate_gaussian)."""
        return evaluate_gaussian(self, x, **options)

    def sample(self, n: int, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, D) z ~ N(0, T^2 I), the prior with its standard deviation scaled by ``temperature`` T."""
        device = next(self.parameters()).device
        return temperature * torch.randn((n, self.latent_dim), generator=generator, device=device)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(..., D) -> (..., C, H, W) decoder outputs (Bernoulli logits or Gaussian pre-sigmoid mean)."""
        lead = z.shape[:-1]
        out = self.decoder(z.reshape(-1, z.shape[-1]))
        return out.reshape(*lead, *out.shape[1:])

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """(..., D) -> (..., C, H, W) the decoder's mean E[x|z], float in [0, 1]."""
        return self.likelihood.mean(self.decode(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder mean at z = mu(x): (B, C, H, W) in [0, 1] -> same shape in [0, 1]."""
        mu, _ = self.encode(x)
        return self.decode_mean(mu)

    def forward(self, x: torch.Tensor, n_samples: int = 1, generator: torch.Generator | None = None,
                noise: torch.Tensor | None = None) -> VAEOutput:
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, n_samples, generator, noise)
        return VAEOutput(mu=mu, logvar=logvar, z=z, out=self.decode(z))
