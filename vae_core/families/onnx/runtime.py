"""One ONNX graph run by onnxruntime (CPU) behind a torch module, checked against what the
bundle's config says it takes and gives before any view runs it.

ONNX files hold a graph and its weights, never code, so a stranger's bundle stays safe to
open; a graph that points at external weight files is refused (it would name paths of the
server). onnx, onnxruntime: the "onnx" extra (vae_core.extras).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from vae_core.checkpoint.files import BundleError, _read_bytes
from vae_core.extras import MissingExtra, need

_DTYPES = {"float32": "tensor(float)", "int64": "tensor(int64)"}
_NUMPY = {"float32": np.float32, "int64": np.int64}


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


class OnnxGraph(nn.Module):
    """A graph whose inputs and outputs are named and shaped as ``inputs`` and ``outputs`` say:
    name -> (dtype "float32" or "int64", shape without the batch dimension).

    ``forward(*tensors)`` takes the inputs in that order, each (B, *shape), and returns the
    outputs in that order as torch tensors on the CPU. A graph exported for a fixed batch size
    (batch 1, often) is run in chunks of that size.

    Raises:
        BundleError: the file is missing, over the size limit, not an ONNX model onnxruntime can
            run, points at external data, or its names, shapes or dtypes differ from the config:
            one sentence naming the file and the mismatch.
        MissingExtra: onnxruntime or onnx is not installed (pip install 'vae-explorer[onnx]').
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
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer):
            raise BundleError(path, "keeps its weights in external files; export it as one file "
                                    "(torch.onnx.export(..., external_data=False))")
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the explorer's one thread per server, as torch
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its warnings would fill the server's log
        try:
            self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001  onnxruntime raises its own unrelated classes
            raise BundleError(path, f"onnxruntime cannot run it ({_first_line(exc)})") from None
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
                batch = dims[0]
        return batch

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        arrays = [t.detach().cpu().numpy().astype(_NUMPY[self.inputs[name][0]], copy=False)
                  for t, name in zip(tensors, self.inputs)]
        n = arrays[0].shape[0]
        step = self.batch or max(n, 1)
        chunks = []
        for start in range(0, n, step):
            feed = {name: a[start:start + step] for name, a in zip(self.inputs, arrays)}
            short = step - feed[next(iter(self.inputs))].shape[0]
            if self.batch and short:  # a fixed-batch graph: pad the last chunk, drop the padding after
                feed = {k: np.concatenate([v, np.repeat(v[-1:], short, 0)]) for k, v in feed.items()}
            out = self.session.run(list(self.outputs), feed)
            chunks.append([o[:step - short] for o in out])
        if not chunks:
            return tuple(torch.empty((0, *shape), dtype=getattr(torch, dt)) for dt, shape in self.outputs.values())
        return tuple(torch.from_numpy(np.concatenate([c[i] for c in chunks])) for i in range(len(self.outputs)))


__all__ = ["OnnxGraph", "MissingExtra"]
