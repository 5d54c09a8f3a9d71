"""Held-out metrics of a Gaussian VAE, in nats per image; the command line ``vae-evaluate
BUNDLE`` is ``vae_core/cli/evaluate.py``."""
from __future__ import annotations

import math
import time
from typing import Any

import torch
from tqdm.auto import tqdm

from vae_core.data import binarization_note, prepare
from vae_core.families.gaussian.objectives import active_units, importance_weighted_bound, terms
from vae_core.distributions import bits_per_dim
from vae_core.family import LatentModel, evaluate

ACTIVE_THRESHOLD = 0.01
# What training records in metrics.json beside the test figures; kept when the test set is re-scored.
TRAINING_FACTS = ("epochs", "best_epoch", "wall_time_s", "processes", "device")




@torch.no_grad()
def evaluate_gaussian(model: LatentModel, x: torch.Tensor, *, k: int = 100, batch_size: int = 500,
             seed: int = 0, progress: bool = False) -> dict[str, Any]:
    """Metrics of images ``x`` (N, C, H, W) float in [0, 1], already binarized if wanted.

    Returns a dict, all in nats per image averaged over the N images: ``elbo``,
    ``reconstruction`` (D), ``kl`` (R), ``kl_per_dim`` (list of D values), ``active_units``
    (count with Cov_x(mu_u) > 0.01), and ``log_likelihood`` = {"estimate": mean L_k,
    "standard_error": its standard error over the N images, "k": k} (skipped when k = 0), plus ``bits_per_dim`` of the best bound. For any family with a Gaussian
    posterior and the importance-weighted bound (the VAE, the two-stage VAE's stage 1).
    """
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    n = x.shape[0]
    recon = kl = 0.0
    lks = []  # per-image L_k, for the mean and its standard error
    kl_dim = torch.zeros(model.latent_dim, device=device)
    mus = []
    # The L_k batch is smaller: it holds (chunk, B, C, H, W) decoder outputs at once, at most
    # 2**15 samples on a CPU and 2**19 on a GPU (1.6 GB of MNIST outputs), whatever k is.
    budget = 2**19 if device.type == "cuda" else 2**15
    chunk = min(max(k, 1), 256 if device.type != "cuda" else 1024)
    iw_batch = max(1, min(batch_size, budget // chunk))
    for start in tqdm(range(0, n, batch_size), desc="evaluate", disable=not progress, leave=False):
        xb = x[start:start + batch_size].to(device)
        t = terms(model, xb, generator=gen)
        recon += t.reconstruction.sum().item()
        kl += t.kl.sum().item()
        kl_dim += t.kl_per_dim.sum(0)
        mus.append(t.mu)
        for s in range(0, xb.shape[0], iw_batch) if k > 0 else []:
            lks.append(importance_weighted_bound(model, xb[s:s + iw_batch], k, chunk=chunk, generator=gen).double())
    mu = torch.cat(mus)
    elbo = -(recon + kl) / n
    metrics: dict[str, Any] = {
        "units": "nats per image (summed over pixels and latent dimensions, averaged over images)",
        "n_images": n,
        "elbo": elbo,
        "reconstruction": recon / n,
        "kl": kl / n,
        "kl_per_dim": (kl_dim / n).tolist(),
        "active_units": int(active_units(mu, ACTIVE_THRESHOLD).sum()),
        "active_units_threshold": ACTIVE_THRESHOLD,
        "latent_dim": model.latent_dim,
    }
    best = elbo
    if k > 0:
        lk = torch.cat(lks)
        # Over images: the spread of log p(x) across the test set and the Monte Carlo noise of L_k together.
        se = float(lk.std() / math.sqrt(n)) if n > 1 else None
        metrics["log_likelihood"] = {"estimate": float(lk.mean()), "standard_error": se, "k": k,
                                     "bound": "importance-weighted L_k (Burda et al. 2016)"}
        best = float(lk.mean())
    metrics["bits_per_dim"] = bits_per_dim(best, math.prod(x.shape[1:]))
    return metrics


def test_metrics(model: LatentModel, images: torch.Tensor, binarize: bool, k: int, device: torch.device, progress: bool,
                 **run: Any) -> dict[str, Any]:
    """metrics.json's figures: the test split ``images`` (N, C, H, W) uint8, binarized once with
    seed 0 where the model trained on binarized data, scored with L_k for ``k`` > 0; ``run``
    adds training's facts (epochs, best epoch, wall time)."""
    started = time.perf_counter()
    metrics = evaluate(model, prepare(images, binarize, seed=0).to(device), k=k, seed=0, progress=progress)
    metrics.update(split="test", binarization=binarization_note(binarize, 0), device=str(device),
                   eval_seconds=round(time.perf_counter() - started, 1), **run)
    return metrics



