"""What the views compute: traversals, orderings, projections, probe inputs."""
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
    assert analysis.project(mu, "tsne").coords.shape == (60, 2)
    np.testing.assert_array_equal(analysis.project(mu[:, :2], "latent").coords, mu[:, :2])
    with pytest.raises(ValueError, match="2-D latent"):
        analysis.project(mu, "latent")
    with pytest.raises(ValueError, match="unknown projection"):
        analysis.project(mu, "umap")


def test_probe_inputs_follow_the_bundle_binarization(digits_bundle):
    bundle = load_bundle(digits_bundle)
    x = analysis.probe_inputs(bundle)
    torch.testing.assert_close(x, bundle.probe_images.float() / 255)  # digits: grey levels, not binarized
    bundle.dataset["binarized"] = True
    xb = analysis.probe_inputs(bundle)
    assert set(xb.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(xb, analysis.probe_inputs(bundle))  # seeded: the same every call
