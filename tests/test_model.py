"""Building models from configs: shapes, gradients, validation, JSON round trip."""
import json

import pytest
import torch

from vae_core import ConfigError, ModelConfig, TrainConfig, VAE


@pytest.mark.parametrize("cfg", [
    ModelConfig(image_shape=(1, 28, 28), architecture="conv", latent_dim=16),
    ModelConfig(image_shape=(1, 28, 28), architecture="conv", latent_dim=2, fc_hidden=0),
    ModelConfig(image_shape=(3, 16, 16), architecture="conv", channels=(8, 16, 32), latent_dim=4),
    ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(32, 16), latent_dim=256,
                activation="tanh", likelihood="gaussian-learned"),
])
def test_forward_shapes(cfg):
    model = VAE(cfg)
    x = torch.rand(5, *cfg.image_shape)
    out = model(x, n_samples=3)
    assert out.mu.shape == out.logvar.shape == (5, cfg.latent_dim)
    assert out.z.shape == (3, 5, cfg.latent_dim)
    assert out.out.shape == (3, 5, *cfg.image_shape)
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and recon.min() >= 0 and recon.max() <= 1


def test_reparameterize_lets_gradients_reach_mu_and_logvar():
    mu = torch.zeros(4, 3, requires_grad=True)
    logvar = torch.zeros(4, 3, requires_grad=True)
    VAE.reparameterize(mu, logvar, n_samples=2).pow(2).sum().backward()
    assert mu.grad.abs().sum() > 0 and logvar.grad.abs().sum() > 0


def test_reparameterize_has_the_posterior_moments():
    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.0, 2 * torch.log(torch.tensor(0.5))]])
    z = VAE.reparameterize(mu, logvar, n_samples=200_000)[:, 0]
    torch.testing.assert_close(z.mean(0), mu[0], atol=0.01, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([1.0, 0.5]), atol=0.01, rtol=0)


@pytest.mark.parametrize("kwargs, field", [
    (dict(latent_dim=1), "latent_dim"),
    (dict(latent_dim=300), "latent_dim"),
    (dict(architecture="resnet"), "architecture"),
    (dict(likelihood="poisson"), "likelihood"),
    (dict(sigma=0.0), "sigma"),
    (dict(image_shape=(1, 30, 30)), "divisible"),
])
def test_model_config_refuses_bad_values(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        ModelConfig(**kwargs)


@pytest.mark.parametrize("kwargs, field", [
    (dict(beta=-1.0), "beta"), (dict(epochs=0), "epochs"), (dict(dataset="cifar"), "dataset"),
    (dict(device="tpu"), "device"),
])
def test_train_config_refuses_bad_values(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**kwargs)


def test_configs_round_trip_through_json_and_refuse_unknown_keys():
    m = ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(10, 5), latent_dim=3)
    t = TrainConfig(dataset="digits", beta=4.0, binarize=True)
    assert ModelConfig.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    assert TrainConfig.from_dict(json.loads(json.dumps(t.to_dict()))) == t
    with pytest.raises(ConfigError, match="unknown field"):
        ModelConfig.from_dict({**m.to_dict(), "latnet_dim": 4})
