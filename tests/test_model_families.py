"""The model-family contract: config.json names the family, the loader builds it, and every
view either works for a family or says in a sentence what it needs."""
import json
import shutil

import pytest
import torch
from streamlit.testing.v1 import AppTest

from conftest import REPO, bundle_views, listed_views
from vae_core import BundleError, ModelConfig, load_bundle
from vae_core.checkpoint import write_config, write_probe, write_weights
from vae_core.family import LatentModel, family_class, register
from vae_core.likelihoods import build_likelihood
from vae_core.families.gaussian.model import VAE
from vae_core.networks import build_decoder, build_encoder
from vae_core.family import Terms

APP = str(REPO / "explorer" / "app.py")
VIEWS = bundle_views()


class PointAutoencoder(LatentModel):
    """A deterministic autoencoder: the smallest family the contract allows (no posterior, no
    prior, no rate). It stands in for the families to come in these tests."""

    family = "test-point-autoencoder"
    title = "point autoencoder (test)"
    config_class = ModelConfig

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.encoder, self.decoder = build_encoder(config), build_decoder(config)
        self.likelihood = build_likelihood(config)

    @property
    def latent_shape(self):
        return (self.config.latent_dim,)

    def encode_latent(self, x):
        return self.encoder(x)[:, :self.config.latent_dim]

    def decode_mean(self, z):
        return self.likelihood.mean(self.decoder(z))

    def image_terms(self, x, *, n_samples=1, generator=None):
        d = -self.likelihood.log_prob(x, self.decoder(self.encode_latent(x)))
        return Terms(reconstruction=d, kl=torch.zeros_like(d), kl_per_dim=None)


@pytest.fixture(scope="module")
def point_bundle(tmp_path_factory, digits_bundle):
    register(PointAutoencoder)
    source = load_bundle(digits_bundle)
    out = tmp_path_factory.mktemp("families") / "point-ae"
    model = PointAutoencoder(source.model_config)
    write_config(out, source.model_config, source.train_config, source.dataset, "made by a test",
                 family=PointAutoencoder.family)
    write_probe(out, source.probe_images, source.probe_labels)
    write_weights(out, model)
    yield out
    from vae_core import family

    assert family._FAMILIES.pop(PointAutoencoder.family) is PointAutoencoder  # other tests see the shipped ones


def test_a_bundle_written_before_families_opens_as_a_gaussian_vae(digits_bundle, tmp_path):
    old = shutil.copytree(digits_bundle, tmp_path / "old")
    config = json.loads((old / "config.json").read_text())
    assert config.pop("family") == "vae"  # what this vae_core writes
    (old / "config.json").write_text(json.dumps(config))
    bundle = load_bundle(old)
    assert isinstance(bundle.model, VAE) and bundle.family == "vae"


def test_an_unknown_family_is_a_bundle_error_naming_the_file(digits_bundle, tmp_path):
    bad = shutil.copytree(digits_bundle, tmp_path / "bad")
    config = json.loads((bad / "config.json").read_text())
    config["family"] = "glow"
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(BundleError) as info:
        load_bundle(bad)
    assert info.value.path == bad / "config.json" and "'glow'" in info.value.problem and "vae" in info.value.problem
    with pytest.raises(KeyError):
        family_class("glow")


def test_the_loader_builds_the_family_the_config_names(point_bundle):
    bundle = load_bundle(point_bundle)
    assert type(bundle.model) is PointAutoencoder and bundle.family == PointAutoencoder.family
    stored = bundle.model.state_dict()
    fresh = PointAutoencoder(bundle.model_config)
    fresh.load_state_dict(stored)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in stored.items())


def test_every_view_works_for_another_family_or_says_what_it_needs(point_bundle, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(point_bundle.parent))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.sidebar.selectbox(key="bundle_picker").set_value(str(point_bundle.resolve())).run()
    assert not at.exception, at.exception
    said = {}
    for view in VIEWS:
        at.switch_page(view).run()
        assert not at.exception, (view, [e.message for e in at.exception])
        needs = [i.value for i in at.main.info if i.value.startswith("This view needs")]
        said[view] = needs[0] if needs else None
    works = {v for v, s in said.items() if s is None}
    assert works == {"views/reconstructions.py", "views/model_card.py", "views/compare.py", "views/own_image.py"}, said
    assert listed_views(at) == works  # the navigation lists exactly the pages that apply
    assert "grid of codebook indices" in said["families/vq_vae/codebook.py"]
    assert "diagonal Gaussian posterior" in said["views/traversals.py"]
    assert "a prior p(z)" in said["views/generation.py"]
    assert all("point autoencoder (test)" in s for s in said.values() if s)
