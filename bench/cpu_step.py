"""Where a training step's time goes on this machine, for the benchmark's 784-400-20 MLP at
batch 128: the whole step compiled as one graph (forward, backward and Adam; what the trainer
runs on the CPU, vae_core.families.gaussian.compiled_step), in float32 and under bfloat16 autocast; the eager step
(with the fused Adam, then with Adam's default
implementation, under bfloat16 autocast, with torch.compile of the model), the step without the optimizer, the floor
(the same matrix multiplies forward and backward with nothing else), and the fused Adam
step alone, with fresh moments and with denormal ones. Milliseconds per step, median of 7 x 200,
the variants taking turns.

    python -m bench.cpu_step [--keep-denormals]

Like the trainer, it computes with denormals as zero (vae_core.families.gaussian.training.flush_denormals);
``--keep-denormals`` leaves the CPU's default, to show what that costs.
"""
import argparse
import contextlib
import statistics
import time
from typing import Callable

import torch

from vae_core import ModelConfig, VAE
from vae_core.families.gaussian.objectives import terms
from vae_core.families.gaussian.compiled_step import CompiledStep, native_bf16
from vae_core.run import flush_denormals

# After three epochs on MNIST, 45,044 of the first layer's 313,600 first moments were denormal:
# the weights of pixels that are blank in every image get no gradient, and their moment
# decays to the smallest denormal and stays there.
DENORMAL_MOMENTS = 45_044


def interleaved_ms(variants: dict[str, Callable[[int], None]], n: int = 200, reps: int = 7) -> dict[str, float]:
    """Median milliseconds per call of each variant over ``reps`` runs of ``n`` calls. The
    variants take turns, so a change in this shared host's load falls on all of them alike."""
    for step in variants.values():
        for i in range(20):
            step(i)
    runs: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(reps):
        for name, step in variants.items():
            start = time.perf_counter()
            for i in range(n):
                step(i)
            runs[name].append((time.perf_counter() - start) / n * 1e3)
    return {name: statistics.median(r) for name, r in runs.items()}


def adam_alone(model: VAE, denormal: bool) -> Callable[[int], None]:
    """The fused Adam step on fixed gradients, on a copy of ``model``'s parameters; with
    ``denormal``, DENORMAL_MOMENTS entries of the first layer's first moment at the smallest
    denormal, their gradients zero, as after training."""
    params = [p.detach().clone() for p in model.parameters()]
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    adam = torch.optim.Adam(params, 1e-3, fused=True)
    adam.step()
    if denormal:
        params[0].grad.view(-1)[:DENORMAL_MOMENTS] = 0
        adam.state[params[0]]["exp_avg"].view(-1)[:DENORMAL_MOMENTS] = 2.0 ** -149  # the smallest denormal
    return lambda i: adam.step()


def cpu_model() -> str:
    """The CPU's model name and its vector flags that matter here (Linux's /proc/cpuinfo)."""
    name, flags = "unknown CPU", []
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
        for line in f:
            if line.startswith("model name") and name == "unknown CPU":
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = [f for f in line.split(":", 1)[1].split() if f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")]
    return f"{name} ({', '.join(flags) or 'no AVX2'})"


def _compiled_step(bf16: bool, gen: torch.Generator, batch: Callable[[int], torch.Tensor]) -> Callable[[int], None]:
    """vae_core.families.gaussian.compiled_step on its own copy of the benchmark model, as the trainer runs it."""
    model = VAE(ModelConfig(image_shape=(1, 28, 28), architecture="mlp", hidden=(400,), latent_dim=20))
    step = CompiledStep(model, torch.optim.Adam(model.parameters(), 1e-3), n_samples=1, free_bits=0.0, bf16=bf16)

    def run(i):
        step(batch(i), torch.randn(1, 128, 20, generator=gen), 1.0, None, 1e-3)
    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_step", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep-denormals", action="store_true", help="do not flush denormals to zero")
    args = parser.parse_args(argv)
    if not args.keep_denormals:
        flush_denormals()  # first, as in the trainer, so torch's worker threads inherit it
    torch.manual_seed(0)
    x_all = torch.rand(128 * 64, 1, 28, 28).round()
    model = VAE(ModelConfig(image_shape=(1, 28, 28), architecture="mlp", hidden=(400,), latent_dim=20))
    fused = torch.optim.Adam(model.parameters(), 1e-3, fused=True)
    default = torch.optim.Adam(model.parameters(), 1e-3)
    gen = torch.Generator().manual_seed(0)
    w = [torch.randn(o, i, requires_grad=True) for o, i in ((400, 784), (40, 400), (400, 20), (784, 400))]

    def batch(i):
        return x_all[(i % 64) * 128:(i % 64 + 1) * 128]

    compiled = torch.compile(model)
    whole = {flag: _compiled_step(flag, gen, batch) for flag in (False, True)}

    def step(i, adam=fused, bf16=False, forward=None):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = terms(model, batch(i), generator=gen, forward=forward).loss(1.0)
        model.zero_grad(set_to_none=True)
        loss.backward()
        if adam is not None:
            adam.step()

    def matmuls(i):
        h = batch(i).flatten(1) @ w[0].t()
        ((h @ w[1].t())[:, :20] @ w[2].t() @ w[3].t()).sum().backward()

    variants = {
        "whole step compiled as one graph": whole[False],
        "the compiled step under bfloat16 autocast": whole[True],
        "eager step (forward, backward, fused Adam)": step,
        "the same with Adam's default implementation": lambda i: step(i, default),
        "the same under bfloat16 autocast": lambda i: step(i, bf16=True),
        "the same with torch.compile of the model": lambda i: step(i, forward=compiled),
        "without the optimizer": lambda i: step(i, None),
        "the matrix multiplies alone (the floor)": matmuls,
        "the fused Adam step alone": adam_alone(model, False),
        f"the same, {DENORMAL_MOMENTS:,} moments denormal": adam_alone(model, True),
    }
    times = interleaved_ms(variants)
    print(f"{cpu_model()}; bf16 in hardware: {'yes' if native_bf16() else 'no'}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, denormals "
          f"{'kept' if args.keep_denormals else 'flushed to zero'}; ms per step of 128 images:")
    floor = times["the matrix multiplies alone (the floor)"]
    for name, ms in times.items():
        print(f"  {name:46}{ms:6.2f}   {ms / floor:4.2f} x the floor")


if __name__ == "__main__":
    main()
