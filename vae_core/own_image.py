"""One image that is not in the data set (a person's drawing) seen by a model: its terms, its
posterior, and its place on a latent map made of the probe images.

Images are (C, H, W) float in [0, 1] (vae_core.preprocess makes them); terms in nats per image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vae_core.data import prepare
from vae_core.family import evaluate
from vae_core.family import GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND, LatentModel


@dataclass
class Encoded:
    """What the model makes of one image.

    Attributes:
        x: (C, H, W) the image as scored (binarized once, seed 0, where the model was trained
            on binarized data, as the probe images are).
        reconstruction: (C, H, W) the decoder mean at the image's latent (z = μ for a VAE).
        distortion, rate, elbo: D, R and ELBO = −(D + R), nats per image.
        bound: L_k in nats per image (None where the family has no importance-weighted bound), with k.
        latent: (L,) the latent flattened: μ for a Gaussian posterior, the code indices of a VQ-VAE.
        logvar, kl_per_dim: (L,) for a Gaussian posterior, else None.
    """
    x: np.ndarray
    reconstruction: np.ndarray
    distortion: float
    rate: float
    elbo: float
    bound: float | None
    k: int
    latent: np.ndarray
    logvar: np.ndarray | None = None
    kl_per_dim: np.ndarray | None = None

    @property
    def sigma(self) -> np.ndarray | None:
        return None if self.logvar is None else np.exp(0.5 * self.logvar)


@torch.no_grad()
def encode_one(model: LatentModel, image: torch.Tensor, *, binarized: bool, k: int = 1000, seed: int = 0) -> Encoded:
    """Score one image (C, H, W) float in [0, 1]: R in closed form, D averaged over ``k`` draws
    z ~ q(z|x) (one draw, as the test set's D uses, is too noisy for a single image: it could put
    the ELBO above L_k), and L_k with k importance samples (Burda et al. 2016) where the family
    has it. ``binarized``: the model was trained on binarized pixels (the bundle's dataset says),
    so the image is binarized once with ``seed`` as the probe images are."""
    model.eval()
    device = next(model.parameters()).device
    x = image[None].to(device)
    if binarized:
        x = prepare((x * 255).round().to(torch.uint8), True, seed=seed)
    has_bound = IMPORTANCE_WEIGHTED_BOUND in model.provides
    gen = torch.Generator(device=device).manual_seed(seed)
    t = model.image_terms(x.expand(k if has_bound else 1, *x.shape[1:]), generator=gen)  # the family's own D and R
    distortion, rate = float(t.reconstruction.mean()), float(t.kl[0])
    bound = float(evaluate(model, x, k=k, seed=seed)["log_likelihood"]["estimate"]) if has_bound else None
    latent = model.encode_latent(x)
    out = Encoded(x=x[0].cpu().numpy(), reconstruction=model.decode_mean(latent)[0].cpu().numpy(),
                  distortion=distortion, rate=rate, elbo=-(distortion + rate), bound=bound, k=k if has_bound else 0,
                  latent=latent[0].flatten().cpu().numpy())
    if GAUSSIAN_POSTERIOR in model.provides:
        out.logvar = model.encode(x)[1][0].cpu().numpy()
        out.kl_per_dim = t.kl_per_dim[0].cpu().numpy()
    return out
