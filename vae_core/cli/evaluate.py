"""The command line ``vae-evaluate BUNDLE`` (``python -m vae_core.cli.evaluate``): re-score a
bundle on held-out images, in nats per image, and, for a model that samples, the Fréchet
distances of its samples (on this project's classifier features, not the Inception FID)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from vae_core.cli.options import Parser
from vae_core import sample_quality
from vae_core.checkpoint import BundleError, load_bundle, write_metrics
from vae_core.data import DatasetError, DatasetNotFoundError, binarization_note, load_dataset, prepare, to_float
from vae_core.families.gaussian.evaluation import TRAINING_FACTS
from vae_core.family import PRIOR_SAMPLES, evaluate
from vae_core.run import resolve_device


def _parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="vae-evaluate",
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
    p.add_argument("--frechet", type=int, default=10_000, metavar="N",
                   help="with the whole test split, for a model that samples and a data set with a shipped "
                        "classifier (MNIST, Fashion-MNIST): Fréchet distances of N training images, of the "
                        "reconstructions and of N prior samples against N test images, on the classifier's "
                        "features (not the Inception FID of papers); 0 skips them (default: %(default)s)")
    p.add_argument("--frechet-only", action="store_true",
                   help="compute only the Fréchet distances and replace only that entry of metrics.json")
    p.add_argument("--json", default=None, metavar="FILE",
                   help="also write the figures to FILE; the way to keep an evaluation of the probe set or of "
                        "--limit N images, which never goes into metrics.json")
    return p


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
    except (BundleError, DatasetNotFoundError, DatasetError, ValueError) as exc:  # ValueError: --device not here
        print(f"error: {exc}", file=sys.stderr)
        return 1
    whole_test = args.on == "test" and len(images) == available
    if args.frechet_only:
        return _frechet_only(bundle, images, args)
    binarized = bool(bundle.dataset.get("binarized"))
    started = time.perf_counter()
    metrics = evaluate(bundle.model, prepare(images, binarized, args.seed).to(device), k=args.k,
                       batch_size=args.batch_size, seed=args.seed, progress=True)
    metrics.update(split=args.on, binarization=binarization_note(binarized, args.seed),
                   eval_seconds=round(time.perf_counter() - started, 1), eval_device=str(device))
    if whole_test:
        frechet = _frechet(bundle, images, args)
        if frechet:
            metrics["frechet_distance"] = frechet
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
    if "codebook" in m:  # a VQ-VAE (vae_core.families.vq_vae.evaluation)
        c = m["codebook"]
        print(f"  prior NLL       {m['kl']:10.2f} nats/image (the rate; uniform codes: {m['uniform_rate']:.2f})")
        print(f"  codebook        {c['used']:10d} of {c['codebook_size']} codes used, perplexity {c['perplexity']:.1f}")
    else:
        print(f"  KL              {m['kl']:10.2f} nats/image")
        print(f"  active units    {m['active_units']:10d} of {m['latent_dim']}")
    if "log_likelihood" in m:
        ll = m["log_likelihood"]
        se = ll.get("standard_error")  # None for one image, absent from older metrics
        spread = f" ± {se:.2f} (standard error over images)" if se is not None else ""
        print(f"  log p(x) >= L_k {ll['estimate']:10.2f} nats/image (k = {ll['k']}){spread}")
    print(f"  bits/dim        {m['bits_per_dim']:10.4f}")
    if "frechet_distance" in m:
        _print_frechet(m["frechet_distance"])


def _frechet(bundle, test_images, args) -> dict[str, Any] | None:
    """The Fréchet distances (sample_quality.report) of a bundle whose model samples, on grey
    test and training images (not binarized: the data distribution itself), or None where the
    model does not sample, the data set has no shipped classifier, or --frechet is 0."""
    loaded = sample_quality.load_classifier(bundle.train_config.dataset)
    if args.frechet <= 0 or loaded is None or PRIOR_SAMPLES not in bundle.model.provides:
        return None
    tc = bundle.train_config
    train = load_dataset(tc.dataset, "train", args.data_dir, download=not args.no_download, folder=tc.folder,
                         image_shape=bundle.model_config.image_shape).images
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(args.seed))  # a fixed random n
    return sample_quality.report(bundle.model, to_float(test_images), to_float(train[order]), loaded[0], loaded[1],
                                 n=args.frechet, seed=args.seed)


def _frechet_only(bundle, test_images, args) -> int:
    if args.on != "test" or args.limit:
        print("error: --frechet-only scores the whole test split; leave out --on probe and --limit", file=sys.stderr)
        return 2
    try:
        frechet = _frechet(bundle, test_images, args)
    except (DatasetNotFoundError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if frechet is None:
        print(f"error: no Fréchet distance for {bundle.name}: it needs a model that samples, a data set with a "
              "shipped classifier (mnist, fashion-mnist) and --frechet N > 0", file=sys.stderr)
        return 1
    _print_frechet(frechet)
    if not args.no_write:
        write_metrics(bundle.path, {**(bundle.metrics or {}), "frechet_distance": frechet})
        print(f"wrote the frechet_distance entry of {bundle.path / 'metrics.json'}")
    return 0


def _print_frechet(f: dict[str, Any]) -> None:
    print(f"  Fréchet distance, {f['n_images']} test images ({f['features']}):")
    for key in ("test_vs_train", "reconstructions", "prior_samples", "uniform_samples", "stage1_samples",
                "stage2_samples"):
        if key in f:
            print(f"    {key.replace('_', ' '):18s} {f[key]:10.4f}")


if __name__ == "__main__":
    sys.exit(main())
