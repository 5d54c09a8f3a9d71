"""Data-parallel training with torch.distributed, as launched by ``torchrun``.

    torchrun --nproc_per_node=N -m vae_core.cli.train ...

torchrun sets WORLD_SIZE, RANK and LOCAL_RANK; each process then trains a DistributedDataParallel
copy of the model on its share of every batch (NCCL on GPUs, gloo on the CPU), gradients are
averaged across processes, logged losses are averaged too, and rank 0 alone writes the bundle.
Without torchrun (WORLD_SIZE unset or 1) nothing here does anything.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world_size() -> int:
    """Processes in this run: torchrun's WORLD_SIZE, 1 when not launched by it."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup(device: torch.device) -> tuple[int, int, torch.device]:
    """Join the process group when launched by torchrun; returns (rank, world size, device),
    the device being ``cuda:LOCAL_RANK`` for a CUDA run. Raises ValueError for a world of more
    processes than visible GPUs in a CUDA run."""
    world = world_size()
    if world == 1:
        return 0, 1, device
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise ValueError(f"process {local} has no GPU: {torch.cuda.device_count()} visible for {world} processes")
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), world, device


def mean(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor averaged over all processes (in place); itself in a single process."""
    if dist.is_initialized():
        dist.all_reduce(tensor)
        tensor /= dist.get_world_size()
    return tensor


def first_nonnegative(step: torch.Tensor) -> torch.Tensor:
    """The largest value over processes of a step index where -1 means none (in place)."""
    if dist.is_initialized():
        dist.all_reduce(step, op=dist.ReduceOp.MAX)
    return step


def from_rank0(value: float, device: torch.device) -> float:
    """Rank 0's ``value`` on every process (the held-out objective, so every process takes the
    same early-stopping decisions)."""
    if not dist.is_initialized():
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(tensor, 0)
    return float(tensor)


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
