"""How closely an exported ONNX bundle reproduces its original, and how long the export takes.

    python -m bench.onnx_roundtrip [checkpoints/mnist-conv-z16 checkpoints/mnist-vq ...] [--images 64]

For each bundle: vae-export-onnx's time, and the largest difference over the first N probe
images between the original and the reopened export, nats per image, of D, R and (for a Gaussian
posterior) the KL per dimension, all drawn with the same seed; and of the decoded means, in pixel
intensity. Prints the CPU it ran on.
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import torch

from vae_core import load_bundle
from vae_core.families.onnx import export_bundle


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


@torch.no_grad()
def compare(folder: Path, n: int, tmp: Path) -> str:
    started = time.perf_counter()
    out, _ = export_bundle(folder, tmp / f"{folder.name}-onnx")
    seconds = time.perf_counter() - started
    a, b = load_bundle(folder).model, load_bundle(out).model
    x = load_bundle(folder).probe_images[:n].float() / 255
    ta = a.image_terms(x, generator=torch.Generator().manual_seed(0))
    tb = b.image_terms(x, generator=torch.Generator().manual_seed(0))
    gaps = {"D": (ta.reconstruction - tb.reconstruction).abs().max(), "R": (ta.kl - tb.kl).abs().max()}
    if ta.kl_per_dim is not None:
        gaps["KL per dim"] = (ta.kl_per_dim - tb.kl_per_dim).abs().max()
    z = a.encode_latent(x)
    gaps["decoded mean (intensity)"] = (a.decode_mean(z) - b.decode_mean(z)).abs().max()
    shown = ", ".join(f"{k} {float(v):.1e}" for k, v in gaps.items())
    return f"{folder.name}: export {seconds:.1f} s; largest differences over {n} images: {shown} (nats per image)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="*", type=Path,
                        default=[Path("checkpoints") / n for n in ("mnist-conv-z16", "mnist-vq", "mnist-two-stage")])
    parser.add_argument("--images", type=int, default=64)
    args = parser.parse_args()
    print(f"CPU: {_cpu()}, {torch.get_num_threads()} torch threads")
    with tempfile.TemporaryDirectory() as tmp:
        for folder in args.bundles:
            print(compare(folder, args.images, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
