"""vae_core: train variational autoencoders and export them as pickle-free bundles.

All losses are in nats per image: summed over pixels and latent dimensions, averaged over
images. ELBO = -(reconstruction + KL).

    from vae_core import ModelConfig, TrainConfig, train, load_bundle
    out = train(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", latent_dim=2),
                TrainConfig(dataset="digits", epochs=20), "runs/digits")
    bundle = load_bundle(out)
    mu, logvar = bundle.model.encode(x)        # x: (B, C, H, W) float in [0, 1]
    images = bundle.model.decode_mean(mu)      # (B, C, H, W) float in [0, 1]

Layout: ``family.py`` is the contract every model family implements; ``families/<name>/``
holds one family each (model, objective, training, evaluation); ``checkpoint/`` is the only
code that reads or writes a bundle; ``cli/`` the command lines; the rest is shared by all.
"""
from vae_core.version import __version__
from vae_core.config import ConfigError, ModelConfig, TrainConfig
from vae_core.data import DatasetNotFoundError, ImageSet, load_dataset
from vae_core.distributions import DiagonalGaussian
from vae_core import family
from vae_core.family import LatentModel, evaluate, register as register_family
from vae_core.families import autoencoder_kl, gaussian, onnx, two_stage, vq_vae  # each registers its family on import
from vae_core.families.gaussian.model import VAE, VAEOutput
from vae_core.families.gaussian.objectives import active_units, gaussian_kl, importance_weighted_bound, terms
from vae_core.family import Terms
from vae_core.families.gaussian.training import train
from vae_core.families.two_stage.model import TwoStageConfig, TwoStageVAE
from vae_core.families.vq_vae.model import VQConfig, VQVAE
from vae_core.checkpoint import (Bundle, BundleError, extract_zipped_bundle, find_bundles, load_bundle,
                                 read_encodings, read_history, read_metrics, read_projections, weights_stamp)
from vae_core import analysis

__all__ = [
    "__version__",
    "ModelConfig", "TrainConfig", "ConfigError",
    "load_dataset", "ImageSet", "DatasetNotFoundError",
    "VAE", "VAEOutput", "TwoStageVAE", "TwoStageConfig", "VQVAE", "VQConfig", "DiagonalGaussian", "LatentModel",
    "register_family", "family", "gaussian", "two_stage", "vq_vae", "onnx", "autoencoder_kl",
    "terms", "Terms", "gaussian_kl", "importance_weighted_bound", "active_units",
    "load_bundle", "find_bundles", "read_history", "read_projections", "read_encodings", "read_metrics", "weights_stamp",
    "extract_zipped_bundle",
    "Bundle", "BundleError",
    "evaluate", "train", "analysis",
]
