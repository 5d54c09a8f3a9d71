"""Prepare a trained bundle for checkpoints/: float16 weights (checked), precomputed encodings and maps.

    python -m tools.ship_bundle checkpoints/NAME [--half] [--n 0] [--keep-maps] [--probe-size N]
                                                 [--thin-history STRIDE]

--half stores the weights in float16 (half the bytes) after checking that the probe set's
ELBO, computed with the same seed, moves by less than 0.05 nats per image; otherwise it
keeps float32 and says so. Then every probe image's mu, logvar, KL per dimension and
reconstruction term go to encodings.safetensors (the explorer opens the bundle without
encoding anything), with the ELBO and L_50 of the first 500 probe images (the objective view), and PCA, t-SNE and UMAP of the first n probe
means (all by default) are written to projections.safetensors, so the explorer's first visit to the latent map is instant.

For a long run, to fit the checkpoint budget: --probe-size N keeps the first N probe images (a
random subset of the test split already, so its first N are one too), and --thin-history STRIDE
rounds history.jsonl's figures to 4 decimals and keeps the KL per dimension of every STRIDE-th
epoch and the last (the model card's heat map); every epoch's other figures stay.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from vae_core import analysis, evaluate, load_bundle
from vae_core.checkpoint import (HISTORY, PROBE_BOUNDS_K, PROBE_BOUNDS_N, WEIGHTS, atomic_write, probe_bounds,
                                 write_encodings, write_probe, write_projections, write_weights)
from vae_core.family import IMPORTANCE_WEIGHTED_BOUND

TOLERANCE = 0.05  # nats per image


def probe_elbo(folder: Path) -> float:
    bundle = load_bundle(folder)
    return evaluate(bundle.model, analysis.probe_inputs(bundle), k=0, seed=0)["elbo"]


def halve(folder: Path) -> None:
    before = probe_elbo(folder)
    original = (folder / WEIGHTS).read_bytes()
    write_weights(folder, load_bundle(folder).model, torch.float16)
    after = probe_elbo(folder)
    print(f"probe ELBO float32 {before:.3f}, float16 {after:.3f} nats/image (change {after - before:+.3f})")
    if abs(after - before) >= TOLERANCE and hasattr(load_bundle(folder).model, "stage2"):
        # A two-stage bundle: stage 1 in float32, stage 2 (not in the ELBO) in float16; its
        # samples are scored afterwards (vae-evaluate --frechet-only).
        atomic_write(folder / WEIGHTS, original)  # from the float32 weights, not the rounded ones
        write_weights(folder, load_bundle(folder).model, torch.float16, keep_float32=("stage1.",))
        after = probe_elbo(folder)
        print(f"stage 1 kept float32, stage 2 float16: probe ELBO {after:.3f} nats/image")
    if abs(after - before) >= TOLERANCE:
        atomic_write(folder / WEIGHTS, original)
        print(f"change over {TOLERANCE} nats: kept float32 weights")


def project(folder: Path, n: int) -> None:
    bundle = load_bundle(folder)
    mu, _ = analysis.encode_images(bundle.model, analysis.probe_inputs(bundle)[:n or None])
    maps = {}
    for method in ("pca", "tsne", "umap"):  # the latent map's probe-image maps (explorer/map_data.py)
        started = time.perf_counter()
        p = analysis.project(mu.numpy(), method)
        maps[method] = (p.coords, p.axis_titles)
        print(f"{method}: {len(mu)} points in {time.perf_counter() - started:.1f} s")
    write_projections(folder, maps)


def encode(folder: Path) -> None:
    started = time.perf_counter()
    bundle = load_bundle(folder)
    bounds = None
    if IMPORTANCE_WEIGHTED_BOUND in bundle.model.provides:  # what the objective view shows
        n, k = PROBE_BOUNDS_N, PROBE_BOUNDS_K
        b = evaluate(bundle.model, analysis.probe_inputs(bundle)[:n], k=k, seed=0)
        bounds = probe_bounds(b["elbo"], b["log_likelihood"]["estimate"], n=n, n_images=b["n_images"], k=k, seed=0)
    write_encodings(folder, analysis.probe_encodings(bundle), bounds)
    print(f"probe encodings{' and bounds' if bounds else ''} written in {time.perf_counter() - started:.1f} s")


def trim_probe(folder: Path, n: int) -> None:
    bundle = load_bundle(folder)
    write_probe(folder, bundle.probe_images[:n], bundle.probe_labels[:n])
    print(f"probe set: {min(n, len(bundle.probe_images))} of {len(bundle.probe_images)} images kept")


def thin_history(folder: Path, stride: int) -> None:
    path = folder / HISTORY
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    last = max((r["epoch"] for r in records if r.get("kind") == "epoch"), default=0)

    def rounded(value):
        if isinstance(value, float):
            return round(value, 4)
        return [rounded(v) for v in value] if isinstance(value, list) else value

    for r in records:
        if "val_kl_per_dim" in r and r.get("epoch", 0) % stride and r.get("epoch") != last:
            del r["val_kl_per_dim"]
    before = path.stat().st_size
    atomic_write(path, "".join(json.dumps({k: rounded(v) for k, v in r.items()}) + "\n" for r in records).encode())
    print(f"history.jsonl: {before:,} -> {path.stat().st_size:,} bytes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--half", action="store_true", help="store float16 weights if the ELBO is unchanged")
    parser.add_argument("--n", type=int, default=0, help="probe images in the precomputed maps (default 0: all)")
    parser.add_argument("--keep-maps", action="store_true",
                        help="leave projections.safetensors as it is (only the encodings and bounds are redone)")
    parser.add_argument("--probe-size", type=int, default=0, help="keep only the first N probe images (0: all)")
    parser.add_argument("--thin-history", type=int, default=0, metavar="STRIDE",
                        help="round history.jsonl and keep the KL per dimension of every STRIDE-th epoch (0: as is)")
    args = parser.parse_args()
    if args.probe_size:
        trim_probe(args.bundle, args.probe_size)
    if args.thin_history:
        thin_history(args.bundle, args.thin_history)
    if args.half:
        halve(args.bundle)
    encode(args.bundle)
    if not args.keep_maps:
        project(args.bundle, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
