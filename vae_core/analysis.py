"""What the explorer's views compute, as plain functions of a model and images.

Images are (N, C, H, W) float in [0, 1]; latents (N, D); terms in nats per image.
Everything runs without gradients, in batches, on the model's device.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vae_core.checkpoint import Bundle
from vae_core.data import prepare
from vae_core import maps
from vae_core.distributions import DiagonalGaussian
from vae_core.families.gaussian.evaluation import ACTIVE_THRESHOLD
from vae_core.families.gaussian.model import VAE
from vae_core.families.gaussian.objectives import active_units
from vae_core.family import Terms
from vae_core.family import GAUSSIAN_POSTERIOR, LatentModel


def probe_inputs(bundle: Bundle) -> torch.Tensor:
    """The bundle's probe images as the model scores them: (N, C, H, W) float in [0, 1],
    binarized once with seed 0 when the model was trained on binarized data (as in metrics.json)."""
    return prepare(bundle.probe_images, bool(bundle.dataset.get("binarized")), seed=0)


def _device(model: LatentModel) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode_images(model: VAE, x: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior parameters of every image: (N, C, H, W) -> mu (N, D), logvar (N, D), on the CPU."""
    dev = _device(model)
    parts = [model.encode(x[i:i + batch_size].to(dev)) for i in range(0, len(x), batch_size)]
    return torch.cat([p[0] for p in parts]).cpu(), torch.cat([p[1] for p in parts]).cpu()


@torch.no_grad()
def encode_latents(model: LatentModel, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The latent of every image, any family (its encode_latent): (N, C, H, W) -> (N, *latent_shape), CPU."""
    dev = _device(model)
    return torch.cat([model.encode_latent(x[i:i + batch_size].to(dev)) for i in range(0, len(x), batch_size)]).cpu()


@torch.no_grad()
def image_terms(model: LatentModel, x: torch.Tensor, *, seed: int = 0, batch_size: int = 1000) -> Terms:
    """Per-image reconstruction term D (N,), rate R (N,) and, where the family has one, KL per
    dimension (N, D), nats, on the CPU.

    D is estimated from one z ~ q(z|x) per image, drawn with a fixed seed so repeated calls agree.
    """
    dev = _device(model)
    gen = torch.Generator(device=dev).manual_seed(seed)
    parts = [model.image_terms(x[i:i + batch_size].to(dev), generator=gen) for i in range(0, len(x), batch_size)]
    per_dim = None if parts[0].kl_per_dim is None else torch.cat([p.kl_per_dim for p in parts]).cpu()
    return Terms(torch.cat([p.reconstruction for p in parts]).cpu(), torch.cat([p.kl for p in parts]).cpu(), per_dim)


def probe_encodings(bundle: Bundle) -> dict[str, torch.Tensor]:
    """Every probe image's latent and terms, nats per image (D from one z ~ q(z|x), seed 0, as
    in image_terms): ``mu`` (N, L), the family's latent flattened (a Gaussian VAE's posterior
    mean), ``reconstruction`` D and ``kl`` R (N,); for a Gaussian posterior also ``logvar`` and
    ``kl_per_dim`` (N, D), the fields ``encodings.safetensors`` stores."""
    x, model = probe_inputs(bundle), bundle.model
    t = image_terms(model, x)
    out = {"reconstruction": t.reconstruction, "kl": t.kl}
    if GAUSSIAN_POSTERIOR in model.provides:
        out["mu"], out["logvar"] = encode_images(model, x)
        out["kl_per_dim"] = t.kl_per_dim
    else:
        out["mu"] = encode_latents(model, x).flatten(1)
    return out


def posterior_std(logvar: torch.Tensor) -> torch.Tensor:
    """sigma of q(z|x) from its log-variance, (N, D) latent units (DiagonalGaussian.std)."""
    return DiagonalGaussian(torch.zeros_like(logvar), logvar).std


def active_dimensions(mu) -> torch.Tensor:
    """(D,) bool: Cov_x(mu_u) > 0.01 over the N rows of posterior means ``mu`` (N, D), array or
    tensor (Burda et al. 2016); all False for a single image, whose variance is undefined."""
    return active_units(torch.as_tensor(mu), ACTIVE_THRESHOLD)


@torch.no_grad()
def reconstruct(model: LatentModel, x: torch.Tensor) -> torch.Tensor:
    """Decoder mean at the image's latent (z = mu(x) for a Gaussian VAE), any family:
    (N, C, H, W) -> (N, C, H, W) in [0, 1], on the CPU."""
    return model.decode_mean(model.encode_latent(x.to(_device(model)))).cpu()


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


@torch.no_grad()
def traversal_along(model: VAE, anchor: torch.Tensor, directions: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Decode anchor + t * d_r for every direction d_r, a row of ``directions`` (R, D), and t in
    ``values``: (R, len(values), C, H, W) decoder means in [0, 1]. A direction of ones over one
    channel of a spatial latent moves that channel at every position at once."""
    z = anchor + values[None, :, None] * directions[:, None, :]
    return decode(model, z)


def gaussian_quantiles(n: int, low: float = 0.05, high: float = 0.95) -> torch.Tensor:
    """(n,) points of N(0, 1) at evenly spaced probabilities from ``low`` to ``high``: the inverse
    CDF of a uniform grid, so each step covers equal prior mass (Kingma & Welling 2014, fig. 4)."""
    p = torch.linspace(low, high, n, dtype=torch.float64)
    return torch.distributions.Normal(0.0, 1.0).icdf(p).float()


@torch.no_grad()
def manifold_grid(model: VAE, anchor: torch.Tensor, dims: tuple[int, int], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a grid over two latent dimensions at Gaussian quantiles, the others held at ``anchor``.

    Args:
        anchor: (D,) the values of every other dimension (the prior mean 0, or an image's mu).
        dims: (i, j); z_i varies along columns, z_j along rows (top row = largest z_j).
        n: grid points per side.

    Returns:
        images (n, n, C, H, W) decoder means in [0, 1], and the (n,) quantile values used.

    Raises:
        ValueError: i == j, or a dimension out of range.
    """
    i, j = dims
    d = anchor.shape[-1]
    if i == j or not (0 <= i < d and 0 <= j < d):
        raise ValueError(f"manifold grid needs two different dimensions in 0..{d - 1}, got {dims}")
    q = gaussian_quantiles(n)
    z = anchor.expand(n, n, -1).clone()
    z[:, :, i] = q[None, :]
    z[:, :, j] = q.flip(0)[:, None]
    return decode(model, z), q


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """Points from ``z0`` to ``z1`` (both (D,)), ends included: (steps, D).

    ``"linear"``: (1 - t) z0 + t z1. ``"spherical"``: the direction moves along the great
    circle from z0/|z0| to z1/|z1| (slerp, Shoemake 1985) while the norm changes linearly
    from |z0| to |z1|; so between two ends of typical norm (about sqrt(D) for prior samples)
    every point keeps a typical norm, where a linear path through the origin leaves the
    typical set (White 2016, "Sampling generative networks"). Opposite ends (angle pi) have
    no unique great circle: the path turns through the dimension least aligned with z0. An
    end at the origin has no direction: the path is then linear.

    Raises:
        ValueError: unknown method, or steps < 2.
    """
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
    t = torch.linspace(0, 1, steps)[:, None]
    if method not in ("linear", "spherical"):
        raise ValueError(f"unknown interpolation {method!r}; choose 'linear' or 'spherical'")
    r0, r1 = z0.norm(), z1.norm()
    if method == "linear" or min(r0, r1) < 1e-12:
        return (1 - t) * z0 + t * z1
    u0, u1 = z0 / r0, z1 / r1
    omega = torch.arccos(torch.dot(u0, u1).clamp(-1, 1))
    if omega < 1e-4:  # parallel ends: one direction, only the norm changes
        direction = u0.expand(steps, -1)
    else:
        # v: the unit vector orthogonal to u0 in the plane of the path, so that
        # u(t) = cos(t omega) u0 + sin(t omega) v never divides by sin(omega) (0 at omega = pi).
        v = u1 - torch.dot(u0, u1) * u0
        if v.norm() < 1e-6:  # opposite ends: any orthogonal direction is a shortest path
            e = torch.zeros_like(u0)
            e[torch.argmin(u0.abs())] = 1.0
            v = e - torch.dot(u0, e) * u0
        v = v / v.norm()
        direction = torch.cos(t * omega) * u0 + torch.sin(t * omega) * v
    return ((1 - t) * r0 + t * r1) * direction


@torch.no_grad()
def prior_samples(model: VAE, n: int, *, temperature: float = 1.0, seed: int = 0,
                  sample_pixels: bool = False, stage1: bool = False) -> torch.Tensor:
    """Images generated from z ~ N(0, T^2 I): (n, C, H, W) in [0, 1], on the CPU.

    ``temperature`` T scales the prior's standard deviation (T < 1 trades variety for typical
    images). ``sample_pixels=False`` shows the decoder mean E[x|z]; True draws x ~ p(x|z),
    which for a Bernoulli decoder is a binary image (the noise the mean hides). ``stage1=True``
    draws a two-stage VAE's codes from N(0, I) as its first stage alone would.

    Raises:
        ValueError: temperature < 0.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    dev = _device(model)
    gen = torch.Generator(device=dev).manual_seed(seed)
    sampler = model.sample_stage1 if stage1 else model.sample  # the family's prior, spread scaled by T
    z = sampler(n, temperature=temperature, generator=gen)
    if not sample_pixels:
        return model.decode_mean(z).cpu()
    return model.likelihood.sample(model.decode(z), generator=gen).cpu()


@torch.no_grad()
def posterior_samples(model: VAE, x: torch.Tensor, n: int, *, seed: int = 0) -> torch.Tensor:
    """Decoder means of n draws z ~ q(z|x) for one image ``x`` (C, H, W): (n, C, H, W) in [0, 1].

    How much they differ shows how uncertain the encoder is about this image.
    """
    dev = _device(model)
    mu, logvar = model.encode(x[None].to(dev))
    z = model.reparameterize(mu, logvar, n, generator=torch.Generator(device=dev).manual_seed(seed))
    return model.decode_mean(z[:, 0]).cpu()


def corrupt(x: torch.Tensor, kind: str, amount: float, *, seed: int = 0) -> torch.Tensor:
    """A damaged copy of images (N, C, H, W) in [0, 1].

    ``"noise"``: add N(0, amount^2) per pixel, clipped to [0, 1]. ``"mask"``: blank a centred
    square covering ``amount`` of the image's area (0 to 1).

    Raises:
        ValueError: unknown kind, or amount outside its range.
    """
    if kind == "noise":
        if amount < 0:
            raise ValueError(f"noise level must be >= 0, got {amount}")
        gen = torch.Generator().manual_seed(seed)
        return (x + amount * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    if kind == "mask":
        if not 0 <= amount <= 1:
            raise ValueError(f"masked fraction must be in [0, 1], got {amount}")
        out = x.clone()
        h, w = x.shape[-2:]
        side_h, side_w = round(h * amount ** 0.5), round(w * amount ** 0.5)
        top, left = (h - side_h) // 2, (w - side_w) // 2
        out[..., top:top + side_h, left:left + side_w] = 0.0
        return out
    raise ValueError(f"unknown corruption {kind!r}; choose 'noise' or 'mask'")


@dataclass
class Projection:
    """2-D coordinates of N points and how they were made.

    Attributes:
        coords: (N, 2) float.
        axis_titles: labels of the two axes, with what the units mean.
    """

    coords: np.ndarray
    axis_titles: tuple[str, str]


def project(mu: np.ndarray, method: str) -> Projection:
    """Map posterior means (N, D) to 2-D: "pca", "tsne", "umap" (vae_core.maps, which also
    places new points), or the means as they are when D = 2 ("latent").

    Raises:
        ValueError: unknown method, or "latent" for D != 2.
    """
    fitted = maps.fit(mu, method)
    return Projection(fitted.coords, fitted.axis_titles)
