"""An ONNX decoder graph read back as torch layers, where it is a plain chain of the layers the
explorer's in-page decoder knows (Gemm or MatMul + Add, Conv, ConvTranspose, Reshape, ReLU,
Tanh, Sigmoid): so an exported or a stranger's decoder decodes in the browser too. Anything
else (a branch, another op) is said in words; the chain is checked against onnxruntime before
it is used."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vae_core.checkpoint.files import _read_bytes

ACTIVATIONS = {"Relu": nn.ReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid}
CHECK_TOLERANCE = 1e-4  # largest |logit| difference to the graph on the check latents


class NotAChain(ValueError):
    """The graph is not a chain of known layers; the message ends a sentence ("its decoder ...")."""


def _conv(node, attrs: dict, weight: np.ndarray, bias: np.ndarray | None, transposed: bool) -> nn.Module:
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if attrs.get("group", 1) != 1 or set(attrs.get("dilations", [1, 1])) != {1} or len(set(pads)) > 1 \
            or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotAChain(f"its decoder graph has a {node.op_type} with groups, dilation or uneven padding")
    stride, pad = tuple(attrs.get("strides", [1, 1])), pads[0] if pads else 0
    k = weight.shape[2:]
    if transposed:
        layer = nn.ConvTranspose2d(weight.shape[0], weight.shape[1], k, stride, pad,
                                   output_padding=tuple(attrs.get("output_padding", [0, 0])), bias=True)
    else:
        layer = nn.Conv2d(weight.shape[1], weight.shape[0], k, stride, pad, bias=True)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias) if bias is not None else torch.zeros(layer.bias.shape))
    return layer


def _linear(weight: np.ndarray, bias: np.ndarray | None) -> nn.Linear:
    """weight (out, in) as nn.Linear's."""
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias) if bias is not None else torch.zeros(weight.shape[0]))
    return layer


def chain(path, latent_shape: tuple[int, ...], decoder_output: str) -> nn.Sequential:
    """The decoder graph at ``path`` as an nn.Sequential from the flattened latent (B, D) to the
    logits (B, C, H, W) (a mean decoder's closing Sigmoid is left out: the page applies the
    likelihood's sigmoid itself). Raises NotAChain."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load_model_from_string(_read_bytes(path))
    consts = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    layers: list[nn.Module] = [nn.Unflatten(1, tuple(latent_shape))] if len(latent_shape) > 1 else []
    current = proto.graph.input[0].name
    for node in proto.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant" and "value" in attrs:
            consts[node.output[0]] = numpy_helper.to_array(attrs["value"])
            continue
        if node.op_type == "Identity" and list(node.input) == [current]:  # exporters rename outputs with these
            current = node.output[0]
            continue
        data = [i for i in node.input if i and i not in consts]
        if data != [current] or (node.input[0] != current and node.op_type != "Add"):
            raise NotAChain("its decoder graph is not a single chain of layers (it branches or merges)")
        params = [consts[i] for i in node.input if i and i in consts]  # weights, then bias; an Add's constant
        op = node.op_type
        if op == "Gemm":
            if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                raise NotAChain("its decoder graph has a Gemm with a transposed input or scaling")
            w = params[0] if attrs.get("transB", 0) else params[0].T
            layers.append(_linear(w, params[1] if len(params) > 1 else None))
        elif op == "MatMul" and len(params) == 1 and params[0].ndim == 2:
            layers.append(_linear(params[0].T, None))
        elif op == "Add" and len(params) == 1 and layers and isinstance(layers[-1], nn.Linear) \
                and params[0].shape == (layers[-1].out_features,):
            with torch.no_grad():
                layers[-1].bias.add_(torch.tensor(params[0]))
        elif op in ACTIVATIONS:
            layers.append(ACTIVATIONS[op]())
        elif op == "Reshape" and len(params) == 1 and len(params[0]) == 4 and params[0][0] in (-1, 0):
            layers.append(nn.Unflatten(1, tuple(int(s) for s in params[0][1:])))
        elif op in ("Conv", "ConvTranspose") and params and params[0].ndim == 4:
            layers.append(_conv(node, attrs, params[0], params[1] if len(params) > 1 else None, op == "ConvTranspose"))
        else:
            raise NotAChain(f"its decoder graph has a {op} node, which the page cannot run")
        current = node.output[0]
    if decoder_output == "mean":  # the closing sigmoid, perhaps followed by reshapes, goes
        last = max((i for i, m in enumerate(layers) if not isinstance(m, nn.Unflatten)), default=-1)
        if last < 0 or not isinstance(layers[last], nn.Sigmoid):
            raise NotAChain("its decoder's mean is not the sigmoid of its last layer")
        layers.pop(last)
    return nn.Sequential(*layers).eval()


@torch.no_grad()
def checked_chain(model, n: int = 16) -> nn.Sequential:
    """``chain`` of an OnnxVAE's decoder, checked: its logits equal the graph's within
    CHECK_TOLERANCE on ``n`` latents drawn from N(0, 4 I). Raises NotAChain."""
    config = model.config
    try:
        net = chain(model.decoder.graph.path, config.latent_shape, config.decoder_output)
    except (RuntimeError, ValueError, KeyError, IndexError, TypeError) as exc:  # weights that do not fit their layer
        if isinstance(exc, NotAChain):
            raise
        raise NotAChain(f"its decoder graph's weights do not fit the layers they feed ({str(exc)[:80]})") from None
    z = 2 * torch.randn((n, config.latent_dim), generator=torch.Generator().manual_seed(0))
    try:
        gap = (torch.sigmoid(net(z)) - model.decode_mean(z)).abs().max()
    except RuntimeError as exc:  # shapes that do not compose
        raise NotAChain(f"its decoder graph's layers do not compose as read ({str(exc)[:80]})") from None
    if not gap <= CHECK_TOLERANCE:
        raise NotAChain(f"its decoder graph, read as layers, differs from onnxruntime's by {float(gap):.2g}")
    return net
