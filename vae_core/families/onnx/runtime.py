"""One ONNX graph run by onnxruntime (CPU) behind a torch module, checked against what the
bundle's config says it takes and gives, when it opens and on every run.

ONNX files hold a graph and its weights, never code, so a stranger's bundle stays safe to
open. A graph can still ask for any time and memory, so what it may cost is bounded: no
tensor may point at an external file (it would read the server's files), no Loop or Scan
node (they can run without end), no constant folding when the session is made (it would
compute before any limit applies), every run stops after ``$VAE_ONNX_RUN_SECONDS`` (default 120)
and all graphs of the process share one memory arena of ``$VAE_ONNX_MAX_MB`` (default 2048).
onnx, onnxruntime: the "onnx" extra (vae_core.extras).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vae_core.checkpoint.files import BundleError, _read_bytes
from vae_core.extras import MissingExtra, need

_DTYPES = {"float32": "tensor(float)", "int64": "tensor(int64)"}
_NUMPY = {"float32": np.float32, "int64": np.int64}
UNBOUNDED_OPS = ("Loop", "Scan")
MAX_FIXED_BATCH = 1024
_ARENA = threading.Lock()
_arena_ready = False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _limit(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and int(value) > 0 else default


def _shared_arena(ort) -> None:
    """Register, once per process, the memory arena every session allocates from, capped."""
    global _arena_ready
    with _ARENA:
        if not _arena_ready:
            cpu = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
            ort.create_and_register_allocator(cpu, ort.OrtArenaCfg(_limit("VAE_ONNX_MAX_MB", 2048) * 2**20, -1, -1, -1))
            _arena_ready = True


def _tensors(graph):
    """Every tensor a graph holds: initializers, constants, attributes, and its subgraphs'."""
    stack = [graph]
    while stack:
        g = stack.pop()
        yield from g.initializer
        yield from (s.values for s in g.sparse_initializer)
        for node in g.node:
            for a in node.attribute:
                yield from ([a.t] if a.HasField("t") else [])
                yield from a.tensors
                stack.extend([a.g] if a.HasField("g") else [])
                stack.extend(a.graphs)


def _nodes(graph):
    stack = [graph]
    while stack:
        g = stack.pop()
        for node in g.node:
            yield node
            for a in node.attribute:
                stack.extend([a.g] if a.HasField("g") else [])
                stack.extend(a.graphs)


class OnnxGraph(nn.Module):
    """A graph whose inputs and outputs are named and shaped as ``inputs`` and ``outputs`` say:
    name -> (dtype "float32" or "int64", shape without the batch dimension).

    ``forward(*tensors)`` takes the inputs in that order, each (B, *shape), and returns the
    outputs in that order as torch tensors on the CPU. A graph exported for a fixed batch size
    (batch 1, often; at most MAX_FIXED_BATCH) is run in chunks of that size.

    Raises:
        BundleError: the file is missing, over the size limit, not an ONNX model onnxruntime can
            run, points at external data, has a Loop or Scan, or its names, shapes or dtypes
            differ from the config: one sentence naming the file and the mismatch. The same on a
            run whose outputs differ from what the config says or are not finite, that
            onnxruntime fails, or that runs out of time or memory; and when onnxruntime or onnx
            is not installed (the message names the extra).
    """

    def __init__(self, path: Path, inputs: dict[str, tuple[str, tuple[int, ...]]],
                 outputs: dict[str, tuple[str, tuple[int, ...]]]):
        super().__init__()
        try:
            ort = need("onnxruntime", "onnx", "An ONNX bundle")
            onnx = need("onnx", "onnx", "An ONNX bundle")
        except MissingExtra as exc:  # said where the bundle is opened, as any problem of it
            raise BundleError(path, str(exc)) from None
        self.path, self.inputs, self.outputs = path, inputs, outputs
        data = _read_bytes(path)
        try:
            proto = onnx.load_model_from_string(data)  # bytes: external data is only named, never read
        except Exception as exc:  # noqa: BLE001  protobuf's errors have no common base
            raise BundleError(path, f"not an ONNX model ({_first_line(exc)})") from None
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in _tensors(proto.graph)):
            raise BundleError(path, "keeps weights in external files, which would be read from the server's "
                                    "folders; export it as one file (torch.onnx.export(..., external_data=False))")
        if unbounded := sorted({n.op_type for n in _nodes(proto.graph) if n.op_type in UNBOUNDED_OPS}):
            raise BundleError(path, f"has a {unbounded[0]} node, which can run without end; a VAE's encoder and "
                                    "decoder need no loop")
        _shared_arena(ort)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the explorer's one thread per server, as torch
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its warnings would fill the server's log
        options.add_session_config_entry("session.use_env_allocators", "1")  # the capped arena
        try:
            # Constant folding would evaluate a graph's constant part while the session is made,
            # where no run's time limit applies: a stranger's could compute for minutes there.
            self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"],
                                                disabled_optimizers=["ConstantFolding"])
        except Exception as exc:  # noqa: BLE001  onnxruntime raises its own unrelated classes
            raise BundleError(path, f"onnxruntime cannot run it ({_first_line(exc)})") from None
        self.ort = ort
        self.batch = self._check(self.session.get_inputs(), inputs, "input")
        self._check(self.session.get_outputs(), outputs, "output")

    def _check(self, found, expected: dict[str, tuple[str, tuple[int, ...]]], kind: str) -> int | None:
        """The fixed batch size of the graph's inputs (None: any); BundleError on a mismatch."""
        names = [f.name for f in found]
        if sorted(names) != sorted(expected):
            raise BundleError(self.path, f"has {kind}s {names}, the config implies {list(expected)}")
        batch = None
        for f in found:
            dtype, shape = expected[f.name]
            if f.type != _DTYPES[dtype]:
                raise BundleError(self.path, f"{kind} {f.name!r} is {f.type}, expected {_DTYPES[dtype]}")
            dims = list(f.shape)
            fixed = [d if isinstance(d, int) else None for d in dims[1:]]  # a named or unknown dimension fits any size
            if len(dims) != len(shape) + 1 or any(d is not None and d != s for d, s in zip(fixed, shape)):
                raise BundleError(self.path, f"{kind} {f.name!r} has shape {dims}, the config implies "
                                             f"[batch, {', '.join(map(str, shape))}]")
            if isinstance(dims[0], int):
                if not 1 <= dims[0] <= MAX_FIXED_BATCH:
                    raise BundleError(self.path, f"{kind} {f.name!r} has a fixed batch size of {dims[0]}; export "
                                                 f"it with a dynamic one, or one from 1 to {MAX_FIXED_BATCH}")
                batch = dims[0]
        return batch

    def _run(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """One session run, stopped after $VAE_ONNX_RUN_SECONDS; onnxruntime's failures as BundleError."""
        seconds = _limit("VAE_ONNX_RUN_SECONDS", 120)
        options = self.ort.RunOptions()
        timer = threading.Timer(seconds, lambda: setattr(options, "terminate", True))
        timer.start()
        try:
            return self.session.run(list(self.outputs), feed, options)
        except Exception as exc:  # noqa: BLE001  onnxruntime's own classes
            text = _first_line(exc)
            if "terminate flag" in text:
                raise BundleError(self.path, f"ran for over {seconds} s and was stopped ($VAE_ONNX_RUN_SECONDS)") from None
            if "Available memory" in str(exc):
                raise BundleError(self.path, "asked for more memory than the $VAE_ONNX_MAX_MB the server allows") from None
            raise BundleError(self.path, f"onnxruntime failed running it ({text})") from None
        finally:
            timer.cancel()

    def _checked(self, out: list[np.ndarray], n: int) -> list[np.ndarray]:
        """The outputs of a run on ``n`` items, as the config says, finite."""
        for array, (name, (dtype, shape)) in zip(out, self.outputs.items()):
            if array.shape != (n, *shape) or array.dtype != _NUMPY[dtype]:
                raise BundleError(self.path, f"gave output {name!r} of shape {list(array.shape)} ({array.dtype}) for "
                                             f"{n} inputs; the config implies [{n}, {', '.join(map(str, shape))}] {dtype}")
            if dtype == "float32" and not np.isfinite(array).all():
                raise BundleError(self.path, f"gave NaN or infinite values in {name!r}")
        return out

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        arrays = [t.detach().cpu().numpy().astype(_NUMPY[self.inputs[name][0]], copy=False)
                  for t, name in zip(tensors, self.inputs)]
        n = arrays[0].shape[0]
        step = self.batch or max(n, 1)
        chunks = []
        for start in range(0, n, step):
            feed = {name: a[start:start + step] for name, a in zip(self.inputs, arrays)}
            have = feed[next(iter(self.inputs))].shape[0]
            if self.batch and have < step:  # a fixed-batch graph: pad the last chunk, drop the padding after
                feed = {k: np.concatenate([v, np.repeat(v[-1:], step - have, 0)]) for k, v in feed.items()}
            out = self._checked(self._run(feed), step if self.batch else have)
            chunks.append([o[:have] for o in out])
        if not chunks:
            return tuple(torch.empty((0, *shape), dtype=getattr(torch, dt)) for dt, shape in self.outputs.values())
        return tuple(torch.from_numpy(np.concatenate([c[i] for c in chunks])) for i in range(len(self.outputs)))


__all__ = ["OnnxGraph", "MissingExtra"]
