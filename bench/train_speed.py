"""Training speed and held-out loss, ours against the pytorch/examples VAE, in one run.

    python -m bench.train_speed [--epochs 10] [--device auto] [--json build/bench/train_speed.json]

Both pipelines train the same model (784-400-20 MLP, Bernoulli decoder on grey-level MNIST,
batch 128, Adam 1e-3, seed 1) for the same number of epochs on the same machine, each in its
own subprocess so their peak memory is measured apart. Printed and written as JSON: images
per second and the median epoch time of each, their ratio, the held-out loss each reaches
(the negative ELBO on the 10,000 test images with one z per image, nats per image), peak
memory (CPU RSS, GPU allocated), and the time of our importance-weighted bound L_k
(k = 5000 by default) on the test images. ``--smoke`` is a tiny run for tests.

Ours trains on 55,000 images and holds out 5,000 for its per-epoch validation ELBO (timed
with the epoch); the reference trains on all 60,000. Images per second count what each
trained on.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def _bf16(text: str):
    from vae_core.cli.train import _bf16 as parse

    return parse(text)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.train_speed", description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10, help="epochs of each pipeline (default: %(default)s)")
    p.add_argument("--data-dir", default=None,
                   help="folder with MNIST/raw/*.gz (default: $VAE_DATA_DIR, else ../shared/datasets)")
    p.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda' (default: %(default)s)")
    p.add_argument("--eval-k", type=int, default=5000, help="k of the timed L_k evaluation (default: %(default)s)")
    p.add_argument("--eval-images", type=int, default=None,
                   help="test images in the timed L_k evaluation (default: all 10,000 on a GPU, 1,000 on a CPU)")
    p.add_argument("--json", default=str(REPO / "build" / "bench" / "train_speed.json"), help="where to write the results")
    p.add_argument("--smoke", action="store_true", help="a tiny run (1 epoch, k = 10, 100 images) to check the pipeline")
    p.add_argument("--only", choices=("ours", "reference"), help=argparse.SUPPRESS)  # one child process
    p.add_argument("--compile", action="store_true", help="ours: torch.compile the model (CUDA)")
    p.add_argument("--bf16", nargs="?", const=True, default=False, type=_bf16,
                   help="ours: bf16 autocast; 'auto': where a short measurement finds it faster (CPU)")
    p.add_argument("--step", choices=("auto", "eager", "compiled"), default="eager",
                   help="ours: the training step, as vae-train's --step (default: %(default)s)")
    return p


def data_dir(arg: str | None) -> str:
    return arg or os.environ.get("VAE_DATA_DIR") or str(REPO.parent / "shared" / "datasets")


def peak_memory(device: torch.device) -> dict[str, float]:
    """Peak resident memory of this process and, on CUDA, the peak tensor memory, in MiB."""
    peak = {"cpu_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        peak["gpu_allocated_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return peak


def run_ours(args: argparse.Namespace, device: torch.device) -> dict:
    from vae_core import ModelConfig, TrainConfig, load_bundle, load_dataset
    from vae_core.data import prepare
    from vae_core.family import evaluate
    from vae_core.data import VAL_FRACTION
    from vae_core.families.gaussian.training import train
    from vae_core.run import flush_denormals

    flush_denormals()  # as vae-train does

    model_cfg = ModelConfig(image_shape=(1, 28, 28), architecture="mlp", hidden=(400,), latent_dim=20,
                            likelihood="bernoulli")
    train_cfg = TrainConfig(dataset="mnist", epochs=args.epochs, batch_size=128, lr=1e-3, binarize=False,
                            eval_k=1, probe_size=100, seed=1, device=str(device), compile=args.compile,
                            bf16=args.bf16, step=args.step)
    with tempfile.TemporaryDirectory() as tmp:
        out = train(model_cfg, train_cfg, Path(tmp) / "bundle", data_dir=data_dir(args.data_dir), download=False,
                    progress=False, log_every=10**9)
        bundle = load_bundle(out, device=device)
        marks = [0.0] + [r["time_s"] for r in bundle.history() if r["kind"] == "epoch"]
    train_rss = peak_memory(device)["cpu_rss_mib"]  # before the L_k evaluation adds its own
    n_train = len(load_dataset("mnist", "train", data_dir(args.data_dir), download=False))
    images_per_epoch = n_train - round(VAL_FRACTION * n_train)
    test = load_dataset("mnist", "test", data_dir(args.data_dir), download=False).images[:args.eval_images]
    x = prepare(test, False).to(device)
    started = time.perf_counter()
    lk = evaluate(bundle.model, x, k=args.eval_k, batch_size=1000, seed=0)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return {"epoch_seconds": [b - a for a, b in zip(marks, marks[1:])], "images": images_per_epoch * args.epochs,
            "test_loss": -bundle.metrics["elbo"], "train_rss_mib": train_rss,
            "training_step": bundle.metrics.get("training_step", ""),
            "eval": {"k": args.eval_k, "images": len(x), "seconds": time.perf_counter() - started,
                     "L_k": lk["log_likelihood"]["estimate"]}}


def run_reference(args: argparse.Namespace, device: torch.device) -> dict:
    from bench import reference_vae

    return reference_vae.run(data_dir(args.data_dir), args.epochs, device)


def child(args: argparse.Namespace) -> None:
    from vae_core.run import resolve_device

    device = resolve_device(args.device)
    result = (run_ours if args.only == "ours" else run_reference)(args, device)
    result.update(peak_memory(device))
    print(json.dumps(result))


def machine(device: torch.device) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
            "device": str(device), "date": date.today().isoformat()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def summarise(name: str, r: dict) -> dict:
    median = statistics.median(r["epoch_seconds"])
    images_per_epoch = r["images"] / len(r["epoch_seconds"])
    return {**r, "median_epoch_s": median, "images_per_s": images_per_epoch / median,
            "train_s": sum(r["epoch_seconds"])}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.smoke:
        args.epochs, args.eval_k, args.eval_images = 1, 10, 100
    if args.only:
        child(args)
        return 0
    from vae_core.run import resolve_device

    device = resolve_device(args.device)
    if args.eval_images is None:
        args.eval_images = 10_000 if device.type == "cuda" else 1_000
    results = {}
    for name in ("ours", "reference"):
        cmd = [sys.executable, "-m", "bench.train_speed", "--only", name, "--epochs", str(args.epochs),
               "--device", str(device), "--data-dir", data_dir(args.data_dir), "--eval-k", str(args.eval_k),
               "--eval-images", str(args.eval_images), "--step", args.step] + ["--compile"] * args.compile + (
            ["--bf16", str(args.bf16).lower()] if args.bf16 else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        if proc.returncode != 0:
            print(f"error: the {name} pipeline failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
            return 1
        results[name] = summarise(name, json.loads(proc.stdout.strip().splitlines()[-1]))
    ours, ref = results["ours"], results["reference"]
    report = {"machine": machine(device), "epochs": args.epochs, "command": "python -m bench.train_speed " + " ".join(argv or sys.argv[1:]),
              "ours": ours, "reference": ref, "speedup": ours["images_per_s"] / ref["images_per_s"],
              "test_loss_difference": ours["test_loss"] - ref["test_loss"]}
    _print(report)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.json}")
    return 0


def _print(r: dict) -> None:
    m = r["machine"]
    print(f"{m['device']} ({m.get('gpu', m['cpu'])}, {m['cores']} cores), torch {m['torch']}, {r['epochs']} epochs each")
    print(f"{'':12}{'images/s':>10}{'median epoch s':>16}{'all epochs s':>14}{'test loss':>11}{'peak RSS MiB':>14}"
          f"{'GPU MiB':>9}")
    for name in ("ours", "reference"):
        x = r[name]
        print(f"{name:12}{x['images_per_s']:10.0f}{x['median_epoch_s']:16.2f}{x['train_s']:14.1f}{x['test_loss']:11.2f}"
              f"{x['cpu_rss_mib']:14.0f}{x.get('gpu_allocated_mib', float('nan')):9.0f}")
    print(f"speed-up, ours / reference: {r['speedup']:.1f}x; test loss difference {r['test_loss_difference']:+.2f} "
          f"nats per image (negative ELBO, one z per image, 10,000 test images)")
    print(f"ours: peak RSS {r['ours']['train_rss_mib']:.0f} MiB by the end of training, before the L_k evaluation")
    print(f"ours: {r['ours'].get('training_step') or 'training step not recorded'}")
    e = r["ours"]["eval"]
    print(f"L_k with k = {e['k']} on {e['images']:,} test images: {e['seconds']:.1f} s, L_k = {e['L_k']:.2f} nats per image")


if __name__ == "__main__":
    sys.exit(main())
