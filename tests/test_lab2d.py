"""The 2-D lab: log p(x) by integration against probabilistic PCA's closed form, the naive and
importance-weighted estimates converging to it, the training run, and the page."""
import math

import numpy as np
import pytest
import torch

from vae_core.families.toy2d import model as lab2d


def _ppca(latent_dim: int, seed: int = 0) -> lab2d.ToyVAE:
    """A linear decoder f(z) = W z + b: p(x) = N(b, W W^T + s^2 I) in closed form."""
    torch.manual_seed(seed)
    model = lab2d.ToyVAE(latent_dim, depth=0, sigma=0.3)
    with torch.no_grad():
        model.decoder[0].weight.copy_(torch.randn(2, latent_dim) * 0.8)
        model.decoder[0].bias.copy_(torch.tensor([0.3, -0.2]))
    return model


def _closed_form(model: lab2d.ToyVAE, x: torch.Tensor) -> torch.Tensor:
    w, b = model.decoder[0].weight.double(), model.decoder[0].bias.double()
    cov = w @ w.T + model.sigma ** 2 * torch.eye(2, dtype=torch.float64)
    return torch.distributions.MultivariateNormal(b, cov).log_prob(x.double()).float()


@pytest.mark.parametrize("latent_dim", [1, 2])
def test_the_integral_matches_probabilistic_pca(latent_dim):
    model = _ppca(latent_dim)
    x = model.sample(20, generator=torch.Generator().manual_seed(0))  # points where the model puts them
    torch.testing.assert_close(lab2d.log_px_exact(model, x), _closed_form(model, x), atol=1e-3, rtol=0)


def test_the_naive_estimate_and_l_k_converge_to_it():
    model = _ppca(2, seed=1)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(30, 2)
    exact = _closed_form(model, x)
    for estimate in (lambda n: lab2d.log_px_naive(model, x, n, gen), lambda n: lab2d.iw_bound(model, x, n, gen)):
        few, many = ((estimate(n) - exact).abs().mean() for n in (3, 20_000))
        assert many < 0.03 and many < few / 3, (float(few), float(many))
    assert (lab2d.elbo(model, x, 2000, gen) <= exact + 1e-3).all()  # a lower bound, for an untrained encoder too


def test_make_points_draws_the_seed_notes_ring():
    ring = lab2d.make_points("ring", 2000)
    norms = np.linalg.norm(ring, axis=1)
    assert ring.shape == (2000, 2) and 0.95 < np.median(norms) < 1.15  # z/10 + z/|z|: radius 1 + |z|/10
    assert all(lab2d.make_points(name, 50).shape == (50, 2) for name in lab2d.DATASETS)
    with pytest.raises(ValueError, match="unknown toy data set"):
        lab2d.make_points("swiss roll")


def test_a_lab_run_learns_and_stays_within_its_bounds():
    from explorer.families.toy2d.lab_run import LabRun

    run = LabRun(lab2d.make_points("ring", 500), sigma=0.1)
    start = run.history[-1]["ELBO"]
    assert run.train(max_steps=400, max_seconds=30) == 400
    assert run.history[-1]["ELBO"] > start + 1.0 and run.steps == 400
    assert run.train(max_steps=10**6, max_seconds=0.2) < 10**6  # bounded in time
    run.set_sigma(0.3, learn=False)
    assert math.isclose(run.model.sigma, 0.3, rel_tol=1e-6) and not run.model.log_sigma.requires_grad


def test_the_lab_page_trains_and_estimates_a_clicked_point():
    from streamlit.testing.v1 import AppTest

    from conftest import REPO

    at = AppTest.from_file(str(REPO / "explorer" / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("families/toy2d/lab.py").run()
    assert not at.exception, [e.message for e in at.exception]
    at.button(key="lab_step").click().run()
    assert "Step 100 of" in at.main.caption[0].value
    at.session_state["lab_selected"] = 3
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("five repeats" in c.value for c in at.main.caption)
    assert any("computed in your browser" in c.value for c in at.main.caption)  # paused: f(z) in the page
    at.radio(key="lab_dim").set_value(1).run()  # a 1-D latent: a new run, a curve instead of a grid
    assert not at.exception and "Step 0 of" in at.main.caption[0].value
