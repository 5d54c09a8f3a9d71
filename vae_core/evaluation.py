"""Held-out metrics of a model, in nats per image, and the command line behind
``python -m vae_core.evaluate BUNDLE``."""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .checkpoint import BundleError, load_bundle, write_metrics
from .data import DatasetError, DatasetNotFoundError, binarize as binarize_fn, load_dataset, to_float
from .model import VAE
from .objectives import active_units, importance_weighted_bound, terms

ACTIVE_THRESHOLD = 0.01
# What training records in metrics.json beside the test figures; kept when the test set is re-scored.
TRAINING_FACTS = ("epochs", "best_epoch", "wall_time_s", "processes", "device")


def prepare(images: torch.Tensor, binarize: bool, seed: int = 0) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float in [0, 1]; binarized once with a fixed seed when asked, so
    the same images are scored on every call (a stochastically binarized test set)."""
    x = to_float(images)
    if binarize:
        x = binarize_fn(x, torch.Generator(device=x.device).manual_seed(seed))
    return x


@torch.no_grad()
def evaluate(model: VAE, x: torch.Tensor, *, k: int = 100, batch_size: int = 500,
             seed: int = 0, progress: bool = False) -> dict[str, Any]:
    """Metrics of images ``x`` (N, C, H, W) float in [0, 1], already binarized if wanted.

    Returns a dict, all in nats per image averaged over the N images: ``elbo``,
    ``reconstruction`` (D), ``kl`` (R), ``kl_per_dim`` (list of D values), ``active_units``
    (count with Cov_x(mu_u) > 0.01), and ``log_likelihood`` = {"estimate": mean L_k, "k": k}
    (skipped when k = 0), plus ``bits_per_dim`` of the best bound.
    """
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    n = x.shape[0]
    recon = kl = lk = 0.0
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
        mus.append(model.encode(xb)[0])
        for s in range(0, xb.shape[0], iw_batch) if k > 0 else []:
            lk += importance_weighted_bound(model, xb[s:s + iw_batch], k, chunk=chunk,
                                            generator=gen).sum().item()
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
        metrics["log_likelihood"] = {"estimate": lk / n, "k": k, "bound": "importance-weighted L_k (Burda et al. 2016)"}
        best = lk / n
    pixels = math.prod(x.shape[1:])
    metrics["bits_per_dim"] = -best / (pixels * math.log(2))
    return metrics


def test_metrics(model: VAE, images: torch.Tensor, binarize: bool, k: int, device: torch.device, progress: bool,
                 **run: Any) -> dict[str, Any]:
    """metrics.json's figures: the test split ``images`` (N, C, H, W) uint8, binarized once with
    seed 0 where the model trained on binarized data, scored with L_k for ``k`` > 0; ``run``
    adds training's facts (epochs, best epoch, wall time)."""
    started = time.perf_counter()
    metrics = evaluate(model, prepare(images, binarize, seed=0).to(device), k=k, seed=0, progress=progress)
    metrics.update(split="test", binarization=binarization_note(binarize, 0), device=str(device),
                   eval_seconds=round(time.perf_counter() - started, 1), **run)
    return metrics


def binarization_note(binarize: bool, seed: int) -> str:
    if binarize:
        return f"stochastic: each pixel drawn once as Bernoulli(intensity), seed {seed}"
    return "none: grey levels in [0, 1]"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m vae_core.evaluate",
        description="Score a bundle on held-out images (all figures in nats per image). Scoring the whole "
                    "test split replaces the test figures in its metrics.json; the probe set or --limit N "
                    "images are only printed (or written to --json FILE).")
    p.add_argument("bundle", help="bundle folder")
    p.add_argument("--k", type=int, default=100,
                   help="importance samples for the L_k log-likelihood estimate; 5000 is the "
                        "literature's protocol, 0 skips it (default: %(default)s)")
    p.add_argument("--on", choices=("test", "probe"), default="test",
                   help="'test': the data set's whole test split (needs the data set); 'probe': "
                        "the images stored in the bundle (default: %(default)s)")
    p.add_argument("--limit", type=int, default=0, help="score only the first N images; 0 for all (default: %(default)s)")
    p.add_argument("--data-dir", default=None, help="data directory (default: $VAE_DATA_DIR or ~/.cache/vae_core/data)")
    p.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda' (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the test binarization and the samples (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=500, help="images per batch (default: %(default)s)")
    p.add_argument("--no-download", action="store_true", help="never try to download a missing data set")
    p.add_argument("--no-write", action="store_true", help="print the metrics without writing metrics.json")
    p.add_argument("--json", default=None, metavar="FILE",
                   help="also write the figures to FILE; the way to keep an evaluation of the probe set or of "
                        "--limit N images, which never goes into metrics.json")
    return p


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.k < 0 or args.limit < 0 or args.batch_size < 1:
        _parser().error("--k and --limit must be >= 0, --batch-size >= 1")
    try:
        device = resolve_device(args.device)
        bundle = load_bundle(args.bundle, device=device)
        if args.on == "probe":
            images = bundle.probe_images
        else:
            tc = bundle.train_config
            images = load_dataset(tc.dataset, "test", args.data_dir, download=not args.no_download, folder=tc.folder,
                                  image_shape=bundle.model_config.image_shape).images
        available = len(images)
        if args.limit:
            images = images[:args.limit]
    except (BundleError, DatasetNotFoundError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    binarized = bool(bundle.dataset.get("binarized"))
    started = time.perf_counter()
    metrics = evaluate(bundle.model, prepare(images, binarized, args.seed).to(device), k=args.k,
                       batch_size=args.batch_size, seed=args.seed, progress=True)
    metrics.update(split=args.on, binarization=binarization_note(binarized, args.seed),
                   eval_seconds=round(time.perf_counter() - started, 1), eval_device=str(device))
    whole_test = args.on == "test" and len(images) == available
    if whole_test:
        # Training's own facts stay; every figure of the earlier evaluation goes, so no L_k of
        # another seed or k sits beside this ELBO.
        metrics = {**{k: v for k, v in (bundle.metrics or {}).items() if k in TRAINING_FACTS}, **metrics}
    _print(metrics)
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2) + "\n")
    if whole_test and not args.no_write:
        write_metrics(bundle.path, metrics)
        print(f"wrote {bundle.path / 'metrics.json'}")
    elif not whole_test:
        print(f"({args.on} set, {metrics['n_images']} images: not written to metrics.json, which holds the "
              f"whole test split's figures{'; saved to ' + args.json if args.json else '; --json FILE keeps them'})")
    return 0


def _print(m: dict[str, Any]) -> None:
    print(f"{m['split']} set, {m['n_images']} images, binarization {m['binarization']}")
    print(f"  ELBO            {m['elbo']:10.2f} nats/image")
    print(f"  reconstruction  {m['reconstruction']:10.2f} nats/image")
    print(f"  KL              {m['kl']:10.2f} nats/image")
    print(f"  active units    {m['active_units']:10d} of {m['latent_dim']}")
    if "log_likelihood" in m:
        ll = m["log_likelihood"]
        print(f"  log p(x) >= L_k {ll['estimate']:10.2f} nats/image (k = {ll['k']})")
    print(f"  bits/dim        {m['bits_per_dim']:10.4f}")


if __name__ == "__main__":
    sys.exit(main())
