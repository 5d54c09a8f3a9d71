"""The aggregate posterior q(z) against the prior (Dai & Wipf 2019, sec. 4)."""
import math

import pytest
import torch

from vae_core import aggregate as ag


def test_when_every_posterior_is_the_prior_q_of_z_is_the_prior():
    mu, logvar = torch.zeros(400, 3), torch.zeros(400, 3)
    points = torch.randn(6, 3, generator=torch.Generator().manual_seed(2))
    exact = -0.5 * (3 * math.log(2 * math.pi) + points.pow(2).sum(1))
    torch.testing.assert_close(ag.log_density(points, mu, logvar), exact)
    assert ag.moment_kl_to_prior(ag.pooled_codes(mu, logvar, 5)) < 0.01


def test_a_q_of_z_that_misses_the_prior_is_far_and_its_holes_have_low_density():
    # Codes in two tight clusters at +-3 on z0: the prior's mass near 0 is a hole of q(z).
    mu = torch.zeros(400, 2)
    mu[:200, 0], mu[200:, 0] = 3.0, -3.0
    logvar = torch.full((400, 2), math.log(0.1))
    assert ag.moment_kl_to_prior(ag.pooled_codes(mu, logvar, 2)) > 1.0
    density = ag.log_density(torch.tensor([[0.0, 0.0], [3.0, 0.0]]), mu, logvar)
    assert density[0] < density[1] - 10  # nats: the origin is nearly empty under q(z)
    z, log_q = ag.prior_samples_with_density(mu, logvar, [0, 1], 300)
    assert z.shape == (300, 2) and log_q.shape == (300,)
    assert log_q[z[:, 0].abs() < 0.5].mean() < log_q[(z[:, 0].abs() - 3).abs() < 0.5].mean()


def test_eigenvalues_of_the_mean_covariance_count_the_dimensions_used():
    mu = torch.randn(2000, 3, generator=torch.Generator().manual_seed(0)) * torch.tensor([3.0, 1.0, 0.01])
    eig = ag.mean_covariance_eigenvalues(mu)
    assert eig[0] > eig[1] > eig[2] and eig[0].item() == pytest.approx(9.0, rel=0.15) and eig[2] < 1e-3

