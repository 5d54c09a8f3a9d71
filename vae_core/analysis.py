"""What the explorer's views compute, as plain functions of a model and images.

Images are (N, C, H, W) float in [0, 1]; latents (N, D); terms in nats per image.
Everything runs without gradients, in batches, on the model's device.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .checkpoint import Bundle
from .evaluation import prepare
from .model import VAE
from .objectives import Terms, terms


def probe_inputs(bundle: Bundle) -> torch.Tensor:
    """The bundle's probe images as the model scores them: (N, C, H, W) float in [0, 1],
    binarized once with seed 0 when the model was trained on binarized data (as in metrics.json)."""
    return prepare(bundle.probe_images, bool(bundle.dataset.get("binarized")), seed=0)


def _device(model: VAE) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode_images(model: VAE, x: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior parameters of every image: (N, C, H, W) -> mu (N, D), logvar (N, D), on the CPU."""
    dev = _device(model)
    parts = [model.encode(x[i:i + batch_size].to(dev)) for i in range(0, len(x), batch_size)]
    return torch.cat([p[0] for p in parts]).cpu(), torch.cat([p[1] for p in parts]).cpu()


@torch.no_grad()
def image_terms(model: VAE, x: torch.Tensor, *, seed: int = 0, batch_size: int = 1000) -> Terms:
    """Per-image reconstruction term D (N,), KL R (N,) and KL per dimension (N, D), nats, on the CPU.

    D is estimated from one z ~ q(z|x) per image, drawn with a fixed seed so repeated calls agree.
    """
    dev = _device(model)
    gen = torch.Generator(device=dev).manual_seed(seed)
    parts = [terms(model, x[i:i + batch_size].to(dev), generator=gen) for i in range(0, len(x), batch_size)]
    return Terms(*(torch.cat([getattr(p, f) for p in parts]).cpu()
                   for f in ("reconstruction", "kl", "kl_per_dim")))


@torch.no_grad()
def reconstruct(model: VAE, x: torch.Tensor) -> torch.Tensor:
    """Decoder mean at z = mu(x): (N, C, H, W) -> (N, C, H, W) in [0, 1], on the CPU."""
    return model.reconstruct(x.to(_device(model))).cpu()


@torch.no_grad()
def decode(model: VAE, z: torch.Tensor) -> torch.Tensor:
    """Decoder mean E[x|z]: (..., D) -> (..., C, H, W) in [0, 1], on the CPU."""
    return model.decode_mean(z.to(_device(model))).cpu()


def dimensions_by_kl(kl_per_dim: torch.Tensor) -> list[int]:
    """Latent dimensions ordered by average KL, largest first. ``kl_per_dim`` is (N, D) or (D,)."""
    mean = kl_per_dim.mean(0) if kl_per_dim.dim() == 2 else kl_per_dim
    return torch.argsort(mean, descending=True).tolist()


@torch.no_grad()
def traversal(model: VAE, anchor: torch.Tensor, dims: list[int], values: torch.Tensor) -> torch.Tensor:
    """Decode anchor + t * e_j for every j in ``dims`` and t in ``values``.

    ``anchor`` is (D,), a posterior mean or the prior mean 0; returns (len(dims), len(values),
    C, H, W) decoder means in [0, 1]: one row per dimension, one column per offset t.
    """
    z = anchor.expand(len(dims), len(values), -1).clone()
    for row, j in enumerate(dims):
        z[row, :, j] += values
    return decode(model, z)


@dataclass
class Projection:
    """2-D coordinates of N points and how they were made.

    Attributes:
        coords: (N, 2) float.
        axis_titles: labels of the two axes, with what the units mean.
    """

    coords: np.ndarray
    axis_titles: tuple[str, str]


def project(mu: np.ndarray, method: str, *, seed: int = 0, perplexity: float = 30.0) -> Projection:
    """Map posterior means (N, D) to 2-D with scikit-learn's PCA or t-SNE, or use them as they
    are when D = 2 (``method="latent"``).

    Raises:
        ValueError: unknown method, or "latent" for D != 2.
    """
    mu = np.asarray(mu, dtype=np.float64)
    if method == "latent":
        if mu.shape[1] != 2:
            raise ValueError(f"method 'latent' needs a 2-D latent space, this one has {mu.shape[1]} dimensions")
        return Projection(mu, ("z1 = mu1 (latent units)", "z2 = mu2 (latent units)"))
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed).fit(mu)
        share = pca.explained_variance_ratio_ * 100
        return Projection(pca.transform(mu), (f"PC 1 ({share[0]:.0f}% of variance of mu)",
                                              f"PC 2 ({share[1]:.0f}% of variance of mu)"))
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(perplexity, (len(mu) - 1) / 3)  # t-SNE needs perplexity < N
        coords = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(mu)
        return Projection(coords, ("t-SNE 1 (no units)", "t-SNE 2 (no units)"))
    raise ValueError(f"unknown projection {method!r}; choose 'pca', 'tsne' or 'latent'")
