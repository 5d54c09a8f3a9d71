"""What the views compute: traversals, orderings, projections, probe inputs."""
import math
import numpy as np
import pytest
import torch

from vae_core import ModelConfig, VAE, analysis, load_bundle


@pytest.fixture
def model():
    return VAE(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(16,), latent_dim=3)).eval()


def test_traversal_moves_one_coordinate_per_row(model):
    anchor = torch.tensor([0.5, -1.0, 2.0])
    values = torch.tensor([-2.0, 0.0, 2.0])
    grid = analysis.traversal(model, anchor, [2, 0], values)
    assert grid.shape == (2, 3, 1, 8, 8)
    centre = analysis.decode(model, anchor)
    torch.testing.assert_close(grid[0, 1], centre)  # t = 0 is the anchor itself
    torch.testing.assert_close(grid[1, 1], centre)
    moved = anchor.clone()
    moved[2] += 2.0
    torch.testing.assert_close(grid[0, 2], analysis.decode(model, moved))


def test_dimensions_by_kl_is_descending():
    kl = torch.tensor([[0.1, 3.0, 1.0], [0.1, 1.0, 1.0]])
    assert analysis.dimensions_by_kl(kl) == [1, 2, 0]


def test_image_terms_are_repeatable_and_per_image(model):
    x = torch.rand(7, 1, 8, 8)
    a, b = analysis.image_terms(model, x, batch_size=3), analysis.image_terms(model, x, batch_size=3)
    assert a.reconstruction.shape == (7,) and a.kl_per_dim.shape == (7, 3)
    torch.testing.assert_close(a.reconstruction, b.reconstruction)


def test_projections():
    mu = np.random.default_rng(0).normal(size=(60, 5))
    mu[:, 0] *= 10  # the direction PCA must find first
    pca = analysis.project(mu, "pca")
    assert pca.coords.shape == (60, 2) and "variance" in pca.axis_titles[0]
    assert np.corrcoef(pca.coords[:, 0], mu[:, 0])[0, 1] ** 2 > 0.95
    np.testing.assert_array_equal(analysis.project(mu[:, :2], "latent").coords, mu[:, :2])
    with pytest.raises(ValueError, match="2-D latent"):
        analysis.project(mu, "latent")
    # t-SNE and UMAP: test_own_image.py, where they also place new points
    with pytest.raises(ValueError, match="unknown map"):
        analysis.project(mu, "isomap")


def test_probe_inputs_follow_the_bundle_binarization(digits_bundle):
    bundle = load_bundle(digits_bundle)
    x = analysis.probe_inputs(bundle)
    torch.testing.assert_close(x, bundle.probe_images.float() / 255)  # digits: grey levels, not binarized
    bundle.dataset["binarized"] = True
    xb = analysis.probe_inputs(bundle)
    assert set(xb.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(xb, analysis.probe_inputs(bundle))  # seeded: the same every call


def test_gaussian_quantiles_cover_equal_prior_mass():
    q = analysis.gaussian_quantiles(5)
    assert q.shape == (5,) and torch.all(q[1:] > q[:-1])
    torch.testing.assert_close(q[2], torch.tensor(0.0))  # the median
    torch.testing.assert_close(q[-1], torch.tensor(1.6449), atol=1e-3, rtol=0)  # Phi^-1(0.95)
    steps = torch.distributions.Normal(0.0, 1.0).cdf(q).diff()
    torch.testing.assert_close(steps, torch.full((4,), 0.225))


def test_manifold_grid_varies_two_dimensions_and_holds_the_rest(model):
    anchor = torch.tensor([0.3, -0.7, 1.1])
    images, q = analysis.manifold_grid(model, anchor, (0, 2), 4)
    assert images.shape == (4, 4, 1, 8, 8)
    z = anchor.clone()
    z[0], z[2] = q[1], q[-1]  # column 1, top row (largest z_j)
    torch.testing.assert_close(images[0, 1], analysis.decode(model, z))
    with pytest.raises(ValueError, match="two different dimensions"):
        analysis.manifold_grid(model, anchor, (1, 1), 4)


def test_interpolations_start_and_end_at_the_ends():
    z0, z1 = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0])
    for method in ("linear", "spherical"):
        path = analysis.interpolate(z0, z1, 5, method)
        torch.testing.assert_close(path[0], z0)
        torch.testing.assert_close(path[-1], z1)
    # Halfway: linear cuts the corner (norm 3/sqrt 2), spherical keeps the radius 3.
    assert analysis.interpolate(z0, z1, 3, "linear")[1].norm() == pytest.approx(3 / 2 ** 0.5)
    assert analysis.interpolate(z0, z1, 3, "spherical")[1].norm() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="unknown interpolation"):
        analysis.interpolate(z0, z1, 3, "cubic")


def test_prior_samples_mean_versus_pixel_sample(model):
    means = analysis.prior_samples(model, 6, seed=1)
    assert means.shape == (6, 1, 8, 8) and 0 < means.min() and means.max() < 1
    binary = analysis.prior_samples(model, 6, seed=1, sample_pixels=True)
    assert set(binary.unique().tolist()) <= {0.0, 1.0}  # Bernoulli decoder: pixels are 0 or 1
    torch.testing.assert_close(analysis.prior_samples(model, 6, seed=1), means)  # seeded
    cold = analysis.prior_samples(model, 6, temperature=0.0)
    torch.testing.assert_close(cold, analysis.decode(model, torch.zeros(6, 3)))  # T = 0: the prior mean
    with pytest.raises(ValueError, match="temperature"):
        analysis.prior_samples(model, 2, temperature=-1)


def test_gaussian_decoder_samples_are_noisy_around_the_mean():
    model = VAE(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(16,), latent_dim=3,
                            likelihood="gaussian", sigma=0.1)).eval()
    mean = analysis.prior_samples(model, 200, seed=2)
    sample = analysis.prior_samples(model, 200, seed=2, sample_pixels=True)
    residual = (sample - mean)[(mean > 0.3) & (mean < 0.7)]  # away from the clipping at 0 and 1
    assert residual.std().item() == pytest.approx(0.1, rel=0.1)


def test_posterior_samples_spread_with_sigma(model):
    x = torch.rand(1, 8, 8)
    draws = analysis.posterior_samples(model, x, 5)
    assert draws.shape == (5, 1, 8, 8) and not torch.equal(draws[0], draws[1])
    with torch.no_grad():
        model.encoder[-1].bias[3:] = -30.0  # logvar -> -30: sigma ~ 3e-7, every draw is mu
    tight = analysis.posterior_samples(model, x, 5)
    torch.testing.assert_close(tight[0], tight[4])


def test_corruptions():
    x = torch.full((2, 1, 10, 10), 0.5)
    masked = analysis.corrupt(x, "mask", 0.36)
    assert (masked == 0).sum().item() == 2 * 36 and masked[0, 0, 0, 0] == 0.5  # a centred 6x6 block
    noisy = analysis.corrupt(x, "noise", 0.1, seed=3)
    assert noisy.std().item() == pytest.approx(0.1, rel=0.2) and noisy.min() >= 0
    torch.testing.assert_close(analysis.corrupt(x, "noise", 0.0), x)
    with pytest.raises(ValueError, match="unknown corruption"):
        analysis.corrupt(x, "blur", 0.1)


def test_spherical_path_between_opposite_vectors_is_finite_and_keeps_the_radius():
    # Angle pi: the old slerp divided by sin(pi) ~ 1e-7 and returned values of ~1e7.
    z0 = torch.tensor([3.0, 0.0, 0.0])
    path = analysis.interpolate(z0, -z0, 9, "spherical")
    assert torch.isfinite(path).all()
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], -z0)
    torch.testing.assert_close(path.norm(dim=1), torch.full((9,), 3.0))
    # Equal angular steps along a half circle: pi / 8 between neighbours.
    cos = (path[1:] * path[:-1]).sum(1) / 9.0
    torch.testing.assert_close(cos, torch.full((8,), math.cos(math.pi / 8)))


def test_spherical_path_norm_changes_linearly_between_unequal_ends():
    z0, z1 = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 6.0])
    path = analysis.interpolate(z0, z1, 5, "spherical")
    torch.testing.assert_close(path.norm(dim=1), torch.linspace(3.0, 6.0, 5))
    torch.testing.assert_close(path[2] / path[2].norm(), torch.tensor([1.0, 1.0]) / 2 ** 0.5)
