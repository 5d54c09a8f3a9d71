"""Prepare a trained bundle for checkpoints/: float16 weights (checked), precomputed encodings and maps.

    python -m tools.ship_bundle checkpoints/NAME [--half] [--n 2000] [--keep-maps]

--half stores the weights in float16 (half the bytes) after checking that the probe set's
ELBO, computed with the same seed, moves by less than 0.05 nats per image; otherwise it
keeps float32 and says so. Then every probe image's mu, logvar, KL per dimension and
reconstruction term go to encodings.safetensors (the explorer opens the bundle without
encoding anything), with the ELBO and L_50 of the first 500 probe images (the objective view), and PCA and t-SNE of the first n probe means are written to
projections.safetensors, so the explorer's first visit to the latent map is instant.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from vae_core import analysis, evaluate, load_bundle
from vae_core.checkpoint import (PROBE_BOUNDS_K, PROBE_BOUNDS_N, WEIGHTS, atomic_write, probe_bounds,
                                 write_encodings, write_projections, write_weights)
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
    mu, _ = analysis.encode_images(bundle.model, analysis.probe_inputs(bundle)[:n])
    maps = {}
    for method in ("pca", "tsne"):
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--half", action="store_true", help="store float16 weights if the ELBO is unchanged")
    parser.add_argument("--n", type=int, default=2000, help="probe images in the precomputed maps (default: 2000)")
    parser.add_argument("--keep-maps", action="store_true",
                        help="leave projections.safetensors as it is (only the encodings and bounds are redone)")
    args = parser.parse_args()
    if args.half:
        halve(args.bundle)
    encode(args.bundle)
    if not args.keep_maps:
        project(args.bundle, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
