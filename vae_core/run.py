"""The guards of a training run: options that cannot run here, an output folder that would be
clobbered, a loss that stopped being finite. Each raises with a sentence for the person who
started the run (vae_core.families.gaussian.training, vae_core.families.vq_vae.training)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from vae_core import checkpoint as ckpt
from vae_core.config import ModelConfig, TrainConfig


def check_run_options(cfg: TrainConfig, device: torch.device, world: int, resume: bool) -> None:
    if cfg.compile and device.type != "cuda":
        raise ValueError(f"--compile is for CUDA devices; this run is on {device}, where the whole step compiled "
                         f"is faster (--step compiled; python -m bench.cpu_step)")
    if world > 1 and resume:
        raise ValueError("--resume continues a single-process run; start it again without torchrun")
    if cfg.batch_size < world:
        raise ValueError(f"--batch-size {cfg.batch_size} is split over {world} processes; give at least {world}")


def check_out(out: Path, state: Any, overwrite: bool, resume: bool) -> None:
    if state is None and (out / ckpt.CONFIG).exists() and not overwrite:
        if not resume:
            raise FileExistsError(f"{out} already holds a bundle; choose another folder, pass --overwrite, "
                                  "or --resume to continue an unfinished run")
        if (out / ckpt.METRICS).exists():
            raise FileExistsError(f"{out} holds a finished run; nothing to resume")
    ckpt.check_writable(out)


class NonFiniteLoss(FloatingPointError):
    def __init__(self, step: int):
        self.step = step
        super().__init__(f"the training loss is NaN or infinite at step {step}")


def raise_if_bad(first_bad: torch.Tensor) -> None:
    step = int(first_bad)
    if step >= 0:
        raise NonFiniteLoss(step)


def require_finite(value: float, what: str, out: Path, best_epoch: int, cfg: TrainConfig,
                    model_config: ModelConfig) -> None:
    if not math.isfinite(value):
        raise FloatingPointError(
            f"{what} is not finite; the bundle in {out} keeps the weights of epoch {best_epoch} "
            f"(0: untrained) and gets no metrics.json. Likely causes: a learning rate too high (--lr {cfg.lr:g}) "
            f"or, for a Gaussian decoder, sigma too small (--sigma {model_config.sigma:g}).")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)



def flush_denormals() -> None:
    """Compute with denormal floats as zero (x86 flush-to-zero) from now on in this process.

    Why: Adam's first moment of a weight whose gradient is always zero (MNIST's blank border
    pixels) decays to the smallest denormal and stays there, and x86 computes on denormals many
    times slower: the fused Adam step took twice as long (``python -m bench.cpu_step
    --keep-denormals``; docs/benchmarks.md, where the test loss was the same to the last digit).
    Threads inherit the mode when created, so call it first in a process that exists to train,
    as ``vae-train`` does. It is process-wide and affects other libraries
    (hypothesis refuses to run under it), so ``train()`` does not call it.
    """
    torch.set_flush_denormal(True)
