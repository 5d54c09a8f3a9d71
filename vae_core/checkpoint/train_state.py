"""``train_state.safetensors``: what ``--resume`` needs after a complete epoch. Safetensors
and JSON, like the rest of the bundle: no pickle."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import save as st_save

from vae_core.checkpoint.files import FORMAT, TRAIN_STATE, BundleError, atomic_write, _read_tensors


def write_train_state(folder: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """What ``--resume`` needs after a complete epoch: tensors (weights, optimizer moments,
    generator state) and JSON-able counters. Safetensors and JSON, like the rest: no pickle."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    atomic_write(folder / TRAIN_STATE, st_save(tensors, metadata={"format": FORMAT, "state": json.dumps(meta)}))


def read_train_state(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """The saved training state, or None when there is none. Raises BundleError when the file
    exists but cannot be read."""
    path = folder / TRAIN_STATE
    if not path.exists():
        return None
    tensors = _read_tensors(path)
    try:
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = json.loads((f.metadata() or {})["state"])
    except (SafetensorError, KeyError, ValueError, OSError) as exc:
        raise BundleError(path, f"no readable training state ({exc})") from None
    if not isinstance(meta, dict):
        raise BundleError(path, "training state is not a JSON object")
    return tensors, meta




def save_train_state(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                     generator: torch.Generator, counters: dict[str, Any]) -> None:
    """Write the state after a complete epoch: the model's weights, the optimizer's moments
    and parameter groups, the random generator, and the JSON-able ``counters`` (epoch, step,
    best epoch, ...)."""
    optim = optimizer.state_dict()
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"optim.{i}.{name}": torch.as_tensor(v) for i, moments in optim["state"].items()
                    for name, v in moments.items()})
    tensors["generator"] = generator.get_state()
    write_train_state(folder, tensors, {**counters, "param_groups": optim["param_groups"]})


def restore_train_state(folder: Path, state: tuple[dict[str, torch.Tensor], dict[str, Any]], model: torch.nn.Module,
                        optimizer: torch.optim.Optimizer, generator: torch.Generator) -> dict[str, Any]:
    """Load what save_train_state wrote (``state``, from read_train_state) into the model, the
    optimizer and the generator; returns the counters. Raises BundleError naming the file
    when the state does not fit this model."""
    tensors, meta = state
    device = next(model.parameters()).device
    try:
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        moments: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, name = key.split(".", 2)
                moments.setdefault(int(index), {})[name] = value.to(device) if name != "step" else value
        optimizer.load_state_dict({"state": moments, "param_groups": meta["param_groups"]})
        generator.set_state(tensors["generator"])
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise BundleError(folder / TRAIN_STATE, f"does not fit this run ({exc})") from None
    return {k: v for k, v in meta.items() if k != "param_groups"}
