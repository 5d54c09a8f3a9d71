"""What every family's training run shares: its bundle folder (refuse to clobber, start or
resume, save after each epoch, finish: ``RunFolder``), and its guards (options that cannot run
here, a loss that stopped being finite), each raising with a sentence for the person who started
the run; the device, and the CPU's denormals. Used by vae_core.families.gaussian.training,
.vq_vae.training and .two_stage.training."""
from __future__ import annotations

import math
import time
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


def check_family(out: Path, family: str) -> None:
    """Refuse to resume ``out`` with the trainer of ``family`` when it holds another family's
    bundle (vae-train on a VQ-VAE folder trained a Gaussian VAE over it). Raises ValueError
    naming the command that continues it."""
    from vae_core.family import family_class

    theirs = ckpt.read_config(out).get("family") or "vae"
    if theirs != family:
        try:
            command = family_class(theirs).train_command
        except KeyError:
            command = None
        raise ValueError(f"{out} holds a {theirs!r} bundle, not a {family!r} one; "
                         + (f"continue it with {command} --resume" if command else "it cannot be resumed here"))


class RunFolder:
    """The bundle folder of one training run, written the same way by every family's trainer.

    Opening it refuses to clobber a bundle (FileExistsError), tests that the folder can be
    written, and reads the state ``--resume`` continues from. ``start`` writes the bundle before
    the first epoch; ``save_epoch`` appends the epoch's history line, writes the weights and then
    the training state, in that order, so a run killed between two of them redoes that epoch;
    ``finish`` writes metrics.json and removes the state. Every file is written atomically
    (vae_core.checkpoint), so the folder is a loadable bundle at every moment.

    ``write`` False: a process that trains but does not write (torchrun's other ranks).
    ``family``: the trainer's model family; resuming a folder of another family is refused.
    """

    def __init__(self, out: str | Path, *, overwrite: bool = False, resume: bool = False, write: bool = True,
                 family: str | None = None):
        self.out, self.write = Path(out), write
        if resume and family and (self.out / ckpt.CONFIG).exists():
            check_family(self.out, family)  # before reading a state of another family's shapes
        self.state = ckpt.read_train_state(self.out) if resume else None
        if write:
            check_out(self.out, self.state, overwrite, resume)
        self.started = time.perf_counter()

    @property
    def resuming(self) -> bool:
        return self.state is not None

    @property
    def elapsed(self) -> float:
        """Seconds of training, counting those before a resume."""
        return time.perf_counter() - self.started

    def start(self, model: torch.nn.Module, model_config: Any, train_config: TrainConfig, dataset: dict[str, Any],
              probe_images: torch.Tensor, probe_labels: torch.Tensor, command: str | None, *,
              extra: dict[str, Any] | None = None) -> None:
        """The bundle before the first epoch: config (with the model's family), the probe set
        (N, C, H, W) uint8 and its labels (N,), the untrained weights."""
        if self.write:
            ckpt.start_bundle(self.out, model, model_config, train_config, dataset, probe_images, probe_labels,
                              command, extra=extra)

    def resume(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator, *,
               stage: int | None = None) -> dict[str, Any]:
        """Load the saved state into ``model``, ``optimizer`` and ``generator``; drop the history
        of epochs after it (of ``stage`` only, where given); returns its counters. Raises
        BundleError naming the file when the state does not fit."""
        counters = ckpt.restore_train_state(self.out, self.state, model, optimizer, generator)
        self.resumed(counters, stage=stage)
        return counters

    def resumed(self, counters: dict[str, Any], *, stage: int | None = None) -> None:
        """The clock and the log of a resumed run, for a trainer that restored the state itself."""
        self.started = time.perf_counter() - float(counters.get("elapsed_s", 0.0))
        if self.write:
            ckpt.keep_history_through(self.out, int(counters.get("epoch", 0)), stage=stage)

    def save_epoch(self, record: dict[str, Any] | None, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                   generator: torch.Generator, counters: dict[str, Any], *, weights: bool = True,
                   state_of: torch.nn.Module | None = None) -> None:
        """After a complete epoch: its history line (``record``, None: already written), the
        bundle's weights (``weights`` False: keep the best epoch's), and the training state of
        ``state_of`` (default ``model``) with ``counters``."""
        if not self.write:
            return
        if record is not None:
            record.setdefault("time_s", round(self.elapsed, 2))
            ckpt.append_history(self.out, record)
        if weights:
            ckpt.write_weights(self.out, model)
        ckpt.save_train_state(self.out, state_of or model, optimizer, generator,
                              {**counters, "elapsed_s": self.elapsed})

    def finish(self, metrics: dict[str, Any]) -> None:
        """metrics.json, and no training state: the run is done and nothing is left to resume."""
        if self.write:
            ckpt.write_metrics(self.out, metrics)
            (self.out / ckpt.TRAIN_STATE).unlink(missing_ok=True)


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
    """``name`` as a device: "auto" is CUDA where a GPU is visible, else the CPU. Raises
    ValueError, one sentence, for a device that is not here (``--device cuda`` on a machine
    without a GPU was a 30-line traceback from deep in torch)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device {name}: not a device name (cpu, cuda, cuda:N, auto)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: no CUDA GPU is visible on this machine; use --device cpu (or auto)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {name}: Apple's MPS is not available here; use --device cpu (or auto)")
    return device



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
