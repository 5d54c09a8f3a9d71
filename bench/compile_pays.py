"""When compiling the CPU training step pays: its one-time compile cost against the time it
saves per step, for the MLP and the convolutional body, at the batch each trains with. The
break-even is compile seconds / (eager - compiled) ms per step; ``--step auto`` compiles a
run whose step count is past it by a margin (vae_core.families.gaussian.compiled_step.AUTO_MIN_STEPS).

    python -m bench.compile_pays [--threads N] [--json build/bench/compile_pays.json]

Bodies: the benchmark's 784-400-20 MLP (relu) and the default convolutional VAE (channels 32, 64,
a dense 256, 16-D latent), Bernoulli decoder, batch 128, float32, denormals flushed as the trainer
does. The compile cost is the first compiled call's time less one compiled step; step times are
medians of interleaved runs (bench.cpu_step.interleaved_ms).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bench.cpu_step import cpu_model, interleaved_ms
from vae_core import ModelConfig, VAE
from vae_core.families.gaussian.compiled_step import AUTO_MIN_STEPS, CompiledStep
from vae_core.families.gaussian.objectives import terms, terms_loss
from vae_core.run import flush_denormals

BODIES = {"mlp": ModelConfig(architecture="mlp", hidden=(400,), latent_dim=20),
          "conv": ModelConfig(architecture="conv")}
MNIST_STEPS_PER_EPOCH = 430  # 55,000 training images at batch 128


def measure(config: ModelConfig, batch: int, n: int, reps: int) -> dict[str, float]:
    """Compile seconds and eager / compiled milliseconds per step of one body."""
    torch.manual_seed(0)
    x = torch.rand(batch, *config.image_shape).round()
    eager, fast = VAE(config), VAE(config)
    opt = torch.optim.Adam(eager.parameters(), 1e-3, fused=True)
    step = CompiledStep(fast, torch.optim.Adam(fast.parameters(), 1e-3, fused=True), n_samples=1, free_bits=0.0,
                        bf16=False)
    eps = torch.randn(1, batch, config.latent_dim)
    one, lr = torch.tensor(1.0), torch.tensor(1e-3)
    started = time.perf_counter()
    step(x, eps, one, None, lr)  # traces and compiles
    first = time.perf_counter() - started

    def eager_step(i: int) -> None:
        loss = terms_loss(terms(eager, x), 1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    ms = interleaved_ms({"eager": eager_step, "compiled": lambda i: step(x, eps, one, None, lr)}, n=n, reps=reps)
    compile_s = first - ms["compiled"] / 1e3
    gain = ms["eager"] - ms["compiled"]
    return {"compile_s": round(compile_s, 1), "eager_ms": round(ms["eager"], 3), "compiled_ms": round(ms["compiled"], 3),
            "break_even_steps": round(compile_s * 1e3 / gain) if gain > 0 else None}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.compile_pays", description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=100, help="steps per timed run, 5 runs each (default: %(default)s)")
    p.add_argument("--json", default="build/bench/compile_pays.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    flush_denormals()
    print(f"{cpu_model()}, {args.threads} torch thread(s), batch {args.batch_size}, float32")
    rows = {}
    for name, config in BODIES.items():
        rows[name] = r = measure(config, args.batch_size, args.steps, reps=5)
        even = r["break_even_steps"]
        print(f"{name:5s} compile {r['compile_s']:6.1f} s | eager {r['eager_ms']:7.2f} ms/step | compiled "
              f"{r['compiled_ms']:7.2f} ms/step | pays after "
              + (f"{even:,} steps ({even / MNIST_STEPS_PER_EPOCH:.1f} MNIST epochs)" if even else "never: no gain"),
              flush=True)
    print("--step auto compiles runs of at least: " + ", ".join(
        f"{body} {'never' if n is None else format(n, ',') + ' steps'}" for body, n in AUTO_MIN_STEPS.items()))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"cpu": cpu_model(), "threads": args.threads, "batch": args.batch_size,
                                           "bodies": rows}, indent=2))


if __name__ == "__main__":
    main()
