"""The objective's math against torch.distributions and against an exact log-likelihood."""
import math

import pytest
import torch
from torch import distributions as D
from torch import nn

from vae_core import ModelConfig, VAE, active_units, gaussian_kl, importance_weighted_bound, terms
from vae_core.likelihoods import Bernoulli, Gaussian
from vae_core.families.gaussian.objectives import beta_at, capacity_at, learning_rate, terms_loss
from vae_core.family import Terms


def test_closed_form_kl_matches_torch_distributions():
    mu, logvar = torch.randn(5, 7), torch.randn(5, 7)
    q = D.Normal(mu, (0.5 * logvar).exp())
    p = D.Normal(torch.zeros(5, 7), torch.ones(5, 7))
    torch.testing.assert_close(gaussian_kl(mu, logvar), D.kl_divergence(q, p))


def test_kl_is_zero_only_at_the_prior():
    assert gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3)).abs().max() < 1e-7
    assert (gaussian_kl(torch.full((1, 3), 0.1), torch.zeros(1, 3)) > 0).all()


def test_bernoulli_log_prob_matches_torch_distributions():
    logits = torch.randn(4, 1, 5, 5) * 3
    x = torch.bernoulli(torch.full((4, 1, 5, 5), 0.5))
    expected = D.Independent(D.Bernoulli(logits=logits), 3).log_prob(x)
    torch.testing.assert_close(Bernoulli().log_prob(x, logits), expected)


@pytest.mark.parametrize("learned", [False, True])
def test_gaussian_log_prob_matches_torch_distributions(learned):
    out, x = torch.randn(4, 1, 5, 5), torch.rand(4, 1, 5, 5)
    lik = Gaussian(sigma=0.3, learned=learned)
    expected = D.Independent(D.Normal(torch.sigmoid(out), 0.3), 3).log_prob(x)
    torch.testing.assert_close(lik.log_prob(x, out), expected)
    assert any(True for _ in lik.parameters()) == learned


def test_gaussian_objective_is_mse_over_two_sigma_squared():
    """beta = 2 sigma^2: -log p(x|z) = ||x - f(z)||^2 / (2 sigma^2) + const (the seeds' derivation)."""
    out, x, sigma = torch.randn(3, 1, 4, 4), torch.rand(3, 1, 4, 4), 0.2
    nll = -Gaussian(sigma, learned=False).log_prob(x, out)
    sse = (x - torch.sigmoid(out)).pow(2).flatten(1).sum(1)
    const = 16 * (math.log(sigma) + 0.5 * math.log(2 * math.pi))
    torch.testing.assert_close(nll, sse / (2 * sigma ** 2) + const)


def test_terms_units_are_per_image_sums():
    model = VAE(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(16,), latent_dim=3))
    x = torch.rand(6, 1, 8, 8)
    t = terms(model, x, n_samples=4)
    assert t.reconstruction.shape == t.kl.shape == (6,)
    assert t.kl_per_dim.shape == (6, 3)
    torch.testing.assert_close(t.kl, t.kl_per_dim.sum(1))
    torch.testing.assert_close(t.elbo, -(t.reconstruction + t.kl))
    # An untrained Bernoulli decoder scores about 64 * log 2 nats per 8x8 image, not per pixel.
    assert 20 < t.reconstruction.mean() < 200
    torch.testing.assert_close(terms_loss(t, 0.5), (t.reconstruction + 0.5 * t.kl).mean())


def test_beta_warmup_is_linear_then_flat():
    assert beta_at(0, 4.0, 2) == 0
    assert beta_at(1, 4.0, 2) == 2.0
    assert beta_at(5, 4.0, 2) == 4.0
    assert beta_at(0, 4.0, 0) == 4.0


def test_capacity_loss_pulls_the_rate_towards_c_from_both_sides():
    t = Terms(reconstruction=torch.tensor([10.0, 20.0]), kl=torch.tensor([3.0, 5.0]),
              kl_per_dim=torch.tensor([[1.0, 2.0], [2.0, 3.0]]))
    # D = 15, R = 4: with C = 6 the rate is 2 below its target, with C = 1 it is 3 above.
    assert terms_loss(t, 2.0, capacity=6.0).item() == pytest.approx(15 + 2 * 2)
    assert terms_loss(t, 2.0, capacity=1.0).item() == pytest.approx(15 + 2 * 3)
    assert terms_loss(t, 2.0).item() == pytest.approx(15 + 2 * 4)


def test_free_bits_floor_each_dimensions_batch_mean_kl():
    t = Terms(reconstruction=torch.tensor([10.0, 20.0]), kl=torch.tensor([3.0, 5.0]),
              kl_per_dim=torch.tensor([[0.1, 2.9], [0.3, 4.7]]))
    # Batch means per dimension: 0.2 and 3.8; a floor of 1 nat lifts only the first.
    assert terms_loss(t, 1.0, free_bits=1.0).item() == pytest.approx(15 + 1.0 + 3.8)
    assert terms_loss(t, 1.0, free_bits=0.1).item() == pytest.approx(15 + 0.2 + 3.8)


def test_free_bits_stop_the_gradient_of_a_dimension_below_the_floor():
    kl_per_dim = torch.tensor([[0.2, 3.0]], requires_grad=True)
    terms_loss(Terms(torch.zeros(1), kl_per_dim.sum(1), kl_per_dim), 1.0, free_bits=1.0).backward()
    assert kl_per_dim.grad.tolist() == [[0.0, 1.0]]


def test_capacity_rises_linearly_then_stays():
    assert [capacity_at(e, 25.0, 10) for e in (0, 2.5, 10, 30)] == [0.0, 6.25, 25.0, 25.0]
    assert capacity_at(0, 25.0, 0) == 25.0  # no annealing: the target from the start


def test_burda_learning_rate_schedule_has_stages_of_three_to_the_i_epochs():
    stages = [round(math.log10(1e-3 / learning_rate(e, 1e-3, "burda")) * 7) for e in range(1, 3282)]
    assert [stages.count(i) for i in range(9)] == [3 ** i for i in range(8)] + [1]
    assert stages == sorted(stages) and learning_rate(3280, 1e-3, "burda") == pytest.approx(1e-4)
    assert learning_rate(500, 1e-3, "constant") == 1e-3


def test_active_units_counts_dimensions_whose_mean_varies():
    mu = torch.zeros(1000, 4)
    mu[:, 0] = torch.randn(1000)          # informative
    mu[:, 1] = 0.01 * torch.randn(1000)   # variance 1e-4: inactive
    assert active_units(mu).tolist() == [True, False, False, False]


# ------------------------------------------------------- linear-Gaussian (probabilistic PCA)

class LinearGaussianVAE(nn.Module):
    """p(z) = N(0, I), p(x|z) = N(W z + b, s^2 I): log p(x) = log N(x; b, W W^T + s^2 I) exactly.

    W has orthogonal columns, so the true posterior is a diagonal Gaussian; ``shift`` and
    ``scale`` move the encoder away from it to open a gap between the ELBO and log p(x).
    """

    def __init__(self, dim=6, latent=2, s=0.5, shift=0.0, scale=1.0):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(dim, latent))
        self.W, self.b, self.s = q * torch.tensor([2.0, 1.0]), torch.randn(dim), s
        m_diag = (self.W ** 2).sum(0) + s ** 2                   # M = W^T W + s^2 I, diagonal
        self.post_var = s ** 2 / m_diag
        self.shift, self.scale = shift, scale
        self.likelihood = self

    def encode(self, x):
        mu = (x - self.b) @ self.W / (self.W ** 2).sum(0).add(self.s ** 2)
        logvar = (self.post_var * self.scale).log().expand_as(mu)
        return mu + self.shift, logvar

    reparameterize = staticmethod(VAE.reparameterize)

    def decode(self, z):
        return z @ self.W.T + self.b

    def log_prob(self, x, out):
        return D.Independent(D.Normal(out, self.s), 1).log_prob(x)

    def log_px(self, x):
        cov = self.W @ self.W.T + self.s ** 2 * torch.eye(len(self.b))
        return D.MultivariateNormal(self.b, cov).log_prob(x)


def test_elbo_equals_log_px_with_the_exact_posterior():
    model = LinearGaussianVAE()
    x = model.decode(torch.randn(20, 2)) + 0.5 * torch.randn(20, 6)
    torch.testing.assert_close(importance_weighted_bound(model, x, k=1), model.log_px(x), atol=1e-4, rtol=0)


def test_importance_weighted_bound_is_ordered_and_converges():
    torch.manual_seed(1)
    model = LinearGaussianVAE(shift=0.7, scale=3.0)
    x = model.decode(torch.randn(50, 2)) + 0.5 * torch.randn(50, 6)
    exact = model.log_px(x).mean()
    bounds = {k: importance_weighted_bound(model, x, k=k, chunk=64).mean() for k in (1, 10, 100, 5000)}
    gaps = [exact - bounds[k] for k in (1, 10, 100, 5000)]
    assert gaps[0] > 0.5, "the shifted encoder should leave a visible gap at k = 1"
    assert all(a > b for a, b in zip(gaps, gaps[1:])), f"L_k must rise with k, gaps {gaps}"
    assert gaps[-1] > -0.01 and gaps[-1] < 0.05, f"L_5000 should reach log p(x), gap {gaps[-1]}"


def test_importance_weighted_bound_rejects_bad_k():
    with pytest.raises(ValueError):
        importance_weighted_bound(LinearGaussianVAE(), torch.zeros(1, 6), k=0)


def test_terms_take_a_compiled_model_as_forward():
    """--compile passes torch.compile(model) as ``forward``; its wrapper raises TypeError when
    tested for truth, so terms() must only compare it with None."""
    model = VAE(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(16,), latent_dim=3))
    x = torch.rand(5, 1, 8, 8)
    compiled = torch.compile(model, backend="eager")  # dynamo's wrapper without code generation
    got = terms(model, x, generator=torch.Generator().manual_seed(0), forward=compiled)
    expected = terms(model, x, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(got.elbo, expected.elbo)


@pytest.mark.parametrize("likelihood", [Bernoulli(), Gaussian(sigma=0.3, learned=True)])
def test_log_prob_of_several_samples_per_image_equals_one_sample_at_a_time(likelihood):
    out = torch.randn(6, 4, 1, 5, 5) * 4  # L = 6 decoder outputs for each of 4 images
    x = torch.rand(4, 1, 5, 5).round()
    expected = torch.stack([likelihood.log_prob(x, out[i]) for i in range(6)])
    got = likelihood.log_prob(x, out)
    assert got.shape == (6, 4)
    torch.testing.assert_close(got, expected)


def _tiny_vae(seed=0):
    torch.manual_seed(seed)
    return VAE(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(16,), latent_dim=3))


def test_the_importance_weighted_objective_at_k_1_is_the_elbo_exactly():
    """L_1 = ELBO: the same loss and the same gradient, bit for bit (Burda et al. 2016, eq. 8)."""
    model, x = _tiny_vae(), torch.rand(12, 1, 8, 8).round()
    grads = []
    for weighted in (False, True):
        model.zero_grad()
        t = terms(model, x, 1, generator=torch.Generator().manual_seed(3), importance_weighted=weighted)
        loss = terms_loss(t, 1.0)
        loss.backward()
        grads.append((float(loss.detach()), [p.grad.clone() for p in model.parameters()]))
    assert grads[0][0] == grads[1][0]
    assert all(torch.equal(a, b) for a, b in zip(grads[0][1], grads[1][1]))


def test_the_importance_weighted_objective_estimates_l_k():
    """-loss averages to L_k as importance_weighted_bound estimates it (two unbiased estimates of
    the same bound, here k = 5), lies above the ELBO of the same draws, and rises with k."""
    model, x = _tiny_vae(1), torch.rand(32, 1, 8, 8).round()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        ours = torch.stack([-terms_loss(terms(model, x, 5, generator=gen, importance_weighted=True), 1.0)
                            for _ in range(300)])
        theirs = torch.stack([importance_weighted_bound(model, x, 5, generator=gen).mean() for _ in range(300)])
        t = terms(model, x, 5, generator=gen, importance_weighted=True)
        l50 = -terms_loss(terms(model, x, 50, generator=gen, importance_weighted=True), 1.0)
    se = (ours.var() / len(ours) + theirs.var() / len(theirs)).sqrt()
    assert abs(float(ours.mean() - theirs.mean())) < 4 * float(se), (float(ours.mean()), float(theirs.mean()), float(se))
    assert bool((t.iw_gap >= 0).all()) and float(t.iw_gap.mean()) > 0.01
    assert float(l50) > float(ours.mean()) > float(-(t.reconstruction + t.kl).mean())


def test_the_importance_weighted_objective_refuses_elbo_variants():
    from vae_core import TrainConfig
    from vae_core.config import ConfigError

    assert TrainConfig(objective="iwae", mc_samples=5).objective == "iwae"
    for bad in ({"beta": 0.5}, {"warmup_epochs": 3}, {"capacity": 2.0}, {"free_bits": 0.5}):
        with pytest.raises(ConfigError, match="importance-weighted"):
            TrainConfig(objective="iwae", mc_samples=5, **bad)
