"""Whether bfloat16 autocast can score L_k: the importance-weighted bound of the same test images
with the same samples, in float32 and with the encoder and decoder under bf16 autocast (their
outputs, and so the log weights, back in float32), and the time of each.

    python -m bench.lk_bf16 BUNDLE [--images 120] [--k 5000] [--data-dir DIR]

A bf16 L_k is kept only where it moves the bound by less than 0.01 nats per image (issue 28);
on the Burda-architecture MLP it moved it by 0.06 (docs/benchmarks.md), so L_k stays float32.
"""
from __future__ import annotations

import argparse
import time

import torch

from bench.cpu_step import cpu_model
from vae_core import load_bundle
from vae_core.data import load_dataset, prepare
from vae_core.families.gaussian.objectives import importance_weighted_bound


def bound(model, x: torch.Tensor, k: int, bf16: bool) -> tuple[torch.Tensor, float]:
    """Per-image L_k (N,) in float64 and the seconds it took; the samples come from seed 0 either way."""
    encode, decode = model.encode, model.decode
    model.encode = lambda v: tuple(t.float() for t in encode(v))
    model.decode = lambda z: decode(z).float()
    gen = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            lk = torch.cat([importance_weighted_bound(model, x[s:s + 6], k, chunk=256, generator=gen)
                            for s in range(0, len(x), 6)])
    finally:
        del model.encode, model.decode  # the instance attributes; the class's methods again
    return lk.double(), time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.lk_bf16", description=__doc__.split("\n\n")[0])
    p.add_argument("bundle")
    p.add_argument("--images", type=int, default=120)
    p.add_argument("--k", type=int, default=5000)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    bundle = load_bundle(args.bundle)
    model = bundle.model.eval()
    tc = bundle.train_config
    x = prepare(load_dataset(tc.dataset, "test", args.data_dir, download=False).images[:args.images],
                bool(bundle.dataset.get("binarized")), seed=0)
    f32, t32 = bound(model, x, args.k, False)
    b16, t16 = bound(model, x, args.k, True)
    moved = float((b16 - f32).mean())
    print(f"{cpu_model()}, {torch.get_num_threads()} thread(s); L_{args.k} of the first {len(x)} test images, "
          f"nats per image")
    print(f"float32 {float(f32.mean()):.4f} in {t32:.1f} s | bf16 {float(b16.mean()):.4f} in {t16:.1f} s | "
          f"moved {moved:+.4f} (per image up to {float((b16 - f32).abs().max()):.3f}) -> "
          + ("bf16 would do" if abs(moved) < 0.01 else "keep float32 (moves by 0.01 nats or more)"))


if __name__ == "__main__":
    main()
