"""The aggregate posterior q(z) = (1/N) sum_n q(z | x_n) against the prior p(z) = N(0, I).

Dai & Wipf (2019, sec. 4): where q(z) misses the prior, z ~ p(z) lands in "holes" the
decoder never saw, and samples are poor; a second VAE on the codes (vae_core.families.two_stage.model) fixes
it. Inputs are the posterior parameters of N images, ``mu`` and ``logvar`` (N, D); densities
are in nats (log-densities), distances in nats.
"""
from __future__ import annotations

import math

import torch

from vae_core.distributions import DiagonalGaussian


def pooled_codes(mu: torch.Tensor, logvar: torch.Tensor, per_image: int = 1, *, seed: int = 0) -> torch.Tensor:
    """z ~ q(z|x_n), ``per_image`` draws for each of the N images, pooled: (N * per_image, D),
    samples of the aggregate posterior q(z)."""
    gen = torch.Generator().manual_seed(seed)
    return DiagonalGaussian(mu, logvar).sample(per_image, gen).reshape(-1, mu.shape[-1])


def log_density(points: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, dims: list[int] | None = None) -> torch.Tensor:
    """log q(z) at ``points`` (P, d): the mixture (1/N) sum_n N(z; mu_n, diag sigma_n^2), over the
    latent dimensions ``dims`` (all D by default; its marginal there), in nats: (P,)."""
    if dims is not None:
        mu, logvar = mu[:, dims], logvar[:, dims]
    per_image = DiagonalGaussian(mu[None], logvar[None]).log_prob(points[:, None])  # (P, N)
    return torch.logsumexp(per_image, dim=1) - math.log(len(mu))


def moment_kl_to_prior(z: torch.Tensor) -> float:
    """KL(N(m, S) || N(0, I)) of the Gaussian with the mean m and covariance S of the samples
    ``z`` (M, D): 1/2 (tr S + m'm - D - log det S), nats. 0 when q(z) has the prior's first two
    moments; it does not see every difference (a mixture can match them), but it grows with the
    mismatch Dai & Wipf describe."""
    m = z.double().mean(0)
    cov = torch.cov(z.double().T).reshape(z.shape[1], z.shape[1])
    logdet = torch.linalg.slogdet(cov)[1]
    return float(0.5 * (torch.trace(cov) + m @ m - z.shape[1] - logdet))


def mean_covariance_eigenvalues(mu: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of Cov_x(mu(x)), largest first, (D,): how many directions the encoder uses
    (Dai & Wipf's figures; an eigenvalue near 0 is a dimension collapsed to the prior)."""
    return torch.linalg.eigvalsh(torch.cov(mu.double().T).reshape(mu.shape[1], mu.shape[1])).flip(0).float()


def prior_samples_with_density(mu: torch.Tensor, logvar: torch.Tensor, dims: list[int], n: int, *,
                               seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` draws z ~ N(0, I) over all D dimensions and log q(z) of their coordinates ``dims``
    under the aggregate posterior's marginal there: (n, D), (n,) nats. Low values mark prior
    samples in the holes of q(z)."""
    z = torch.randn((n, mu.shape[1]), generator=torch.Generator().manual_seed(seed))
    return z, log_density(z[:, dims], mu, logvar, dims)
