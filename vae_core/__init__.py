"""vae_core: train variational autoencoders and export them as pickle-free bundles.

All losses are in nats per image: summed over pixels and latent dimensions, averaged over
images. ELBO = -(reconstruction + KL).

    from vae_core import ModelConfig, TrainConfig, train, load_bundle
    out = train(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", latent_dim=2),
                TrainConfig(dataset="digits", epochs=20), "runs/digits")
    bundle = load_bundle(out)
    mu, logvar = bundle.model.encode(x)        # x: (B, C, H, W) float in [0, 1]
    images = bundle.model.decode_mean(mu)      # (B, C, H, W) float in [0, 1]
"""
__version__ = "0.1.0"

from .config import ConfigError, ModelConfig, TrainConfig  # noqa: E402
from .data import DatasetNotFoundError, ImageSet, load_dataset  # noqa: E402
from .distributions import DiagonalGaussian  # noqa: E402
from .family import LatentModel, register as register_family  # noqa: E402
from .model import VAE, VAEOutput  # noqa: E402
from .twostage import TwoStageConfig, TwoStageVAE  # noqa: E402  (registers the family "two-stage")
from .vqvae import VQConfig, VQVAE  # noqa: E402  (registers the family "vq-vae")
from .objectives import Terms, active_units, gaussian_kl, importance_weighted_bound, terms  # noqa: E402
from .checkpoint import (Bundle, BundleError, extract_zipped_bundle, find_bundles, load_bundle,  # noqa: E402
                         read_encodings, read_history, read_metrics, read_projections, weights_stamp)
from .evaluation import evaluate  # noqa: E402
from . import analysis, family  # noqa: E402
from .training import train  # noqa: E402

__all__ = [
    "ModelConfig", "TrainConfig", "ConfigError",
    "load_dataset", "ImageSet", "DatasetNotFoundError",
    "VAE", "VAEOutput", "TwoStageVAE", "TwoStageConfig", "VQVAE", "VQConfig", "DiagonalGaussian", "LatentModel", "register_family", "family",
    "terms", "Terms", "gaussian_kl", "importance_weighted_bound", "active_units",
    "load_bundle", "find_bundles", "read_history", "read_projections", "read_encodings", "read_metrics", "weights_stamp",
    "extract_zipped_bundle",
    "Bundle", "BundleError",
    "evaluate", "train", "analysis",
]
