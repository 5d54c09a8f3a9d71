"""Held-out figures of a VQ-VAE, nats per image: what ``metrics.json`` holds for the family
``"vq-vae"`` (``vae-evaluate`` and ``vae-train-vq`` write them).

The posterior is a point mass on the image's codes k(x), so its KL from the prior is
-log p(k(x)): ``kl`` is the PixelCNN prior's negative log-likelihood of the codes, and
ELBO = -(D + kl) is a lower bound on log p(x) (D + kl an upper bound on -log p(x)). Beside it,
``uniform_rate`` = h w log K, the rate every image has under a uniform prior.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from tqdm.auto import tqdm

from vae_core.distributions import bits_per_dim
from vae_core.family import LatentModel


@torch.no_grad()
def evaluate_vq(model: LatentModel, x: torch.Tensor, *, batch_size: int = 500, progress: bool = False) -> dict[str, Any]:
    """Figures of images ``x`` (N, C, H, W) float in [0, 1], already binarized if wanted:
    ``reconstruction`` D, ``kl`` (the prior NLL of the codes), ``elbo`` = -(D + kl),
    ``uniform_rate``, ``uniform_elbo`` = -(D + uniform_rate), ``codebook`` usage (perplexity,
    codes used, their share), ``bits_per_dim`` of the ELBO; all averaged over the N images."""
    model.eval()
    device = next(model.parameters()).device
    d = r = 0.0
    codes = []
    for start in tqdm(range(0, len(x), batch_size), desc="evaluate", disable=not progress, leave=False):
        xb = x[start:start + batch_size].to(device)
        idx = model.encode_latent(xb)  # once: the codes give D, the rate and the usage
        t = model.terms_of_codes(xb, idx)
        d += t.reconstruction.sum().item()
        r += t.kl.sum().item()
        codes.append(idx.cpu())
    n = len(x)
    usage = codebook_usage(torch.cat(codes), model.config.codebook_size)
    elbo = -(d + r) / n
    return {
        "units": "nats per image (summed over pixels and code positions, averaged over images)",
        "n_images": n,
        "elbo": elbo,
        "reconstruction": d / n,
        "kl": r / n,
        "rate": "the PixelCNN prior's negative log-likelihood of the image's codes, -log p(k(x)): the KL of the "
                "point-mass posterior; D + kl is an upper bound on -log p(x)",
        "uniform_rate": model.uniform_rate,
        "uniform_elbo": -(d / n + model.uniform_rate),
        "codebook": usage,
        "latent_shape": list(model.latent_shape),
        "bits_per_dim": bits_per_dim(elbo, math.prod(x.shape[1:])),
    }


def codebook_usage(indices: torch.Tensor, codebook_size: int) -> dict[str, Any]:
    """How codes (any shape, int64) use a codebook of K codes: ``counts`` (K,), ``perplexity``
    exp(H) of the codes' frequencies (K when all are used equally, 1 when one code is), and
    ``used``, the number of codes picked at least once, and its share of K."""
    counts = torch.bincount(indices.reshape(-1), minlength=codebook_size).double()
    p = counts / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    used = int((counts > 0).sum())
    return {"counts": counts.long().tolist(), "perplexity": float(entropy.exp()), "used": used,
            "used_share": used / codebook_size, "codebook_size": codebook_size}
