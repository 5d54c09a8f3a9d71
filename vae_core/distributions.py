"""The diagonal Gaussian posterior q(z|x) = N(mu, diag sigma^2) as one object: sampling
(reparameterized), KL to the N(0, I) prior, log-density and mode, so the Gaussian formulas
live in one place (as diffusers' ``DiagonalGaussianDistribution`` keeps them)."""
from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2 * math.pi)


def isotropic_log_prob(x: torch.Tensor, mean: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, sigma^2) element by element, nats, with one scale sigma = exp(log_sigma)
    broadcast over the elements (a scalar, or a tensor that broadcasts): the Gaussian decoder's
    p(x|z) per pixel, stage 2's p(z|u) per dimension, the 2-D lab's p(x|z). Sum it over the
    dimensions of one observation."""
    return -0.5 * ((x - mean) / log_sigma.exp()) ** 2 - log_sigma - 0.5 * LOG_2PI


def bits_per_dim(nats: float, dims: int) -> float:
    """A bound in nats per image as bits per dimension: -nats / (dims * ln 2), the unit of the
    literature's likelihood tables (``dims``: pixels times channels)."""
    return -nats / (dims * math.log(2))


class DiagonalGaussian:
    """N(mu, diag exp(logvar)) over the last dimension.

    Args:
        mu: (..., D) means.
        logvar: (..., D) log-variances log sigma^2, the shape of ``mu``.
    """

    def __init__(self, mu: torch.Tensor, logvar: torch.Tensor):
        self.mu, self.logvar = mu, logvar

    @classmethod
    def standard(cls, like: torch.Tensor) -> "DiagonalGaussian":
        """The prior p(z) = N(0, I), shaped like ``like``."""
        zeros = torch.zeros_like(like)
        return cls(zeros, zeros)

    @property
    def std(self) -> torch.Tensor:
        """(..., D) sigma = exp(logvar / 2), in latent units."""
        return (0.5 * self.logvar).exp()

    def mode(self) -> torch.Tensor:
        """(..., D) the most probable z, mu: what the explorer maps and decodes for an image."""
        return self.mu

    def sample(self, n: int = 1, generator: torch.Generator | None = None,
               noise: torch.Tensor | None = None) -> torch.Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): (n, ..., D). The noise is an input, so gradients
        flow to mu and logvar (the reparameterization, Kingma & Welling 2014, sec. 2.4).
        ``noise``: eps itself, (n, ..., D), drawn by the caller (the compiled training step)."""
        eps = noise if noise is not None else torch.randn((n, *self.mu.shape), generator=generator,
                                                          device=self.mu.device, dtype=self.mu.dtype)
        return self.mu + self.std * eps

    def kl(self) -> torch.Tensor:
        """KL(N(mu, diag sigma^2) || N(0, I)) per dimension, nats: (..., D).

        Closed form 1/2 (mu^2 + sigma^2 - log sigma^2 - 1) (Kingma & Welling 2014, appendix B);
        summed over dimensions it is the rate R."""
        return 0.5 * (self.mu.pow(2) + self.logvar.exp() - self.logvar - 1.0)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z; mu, diag sigma^2) summed over the last dimension, nats: (n, ..., D) or
        (..., D) -> (n, ...) or (...)."""
        return -0.5 * (LOG_2PI + self.logvar + (z - self.mu).pow(2) / self.logvar.exp()).sum(-1)
