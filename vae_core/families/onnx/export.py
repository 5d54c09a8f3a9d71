"""Writing ONNX bundles: from a bundle of another family (``export_bundle``, the command
``vae-export-onnx``) or from any pair of PyTorch modules (``bundle_from_modules``, the command
``vae-bundle-modules``; docs/onnx.md). The graphs come from ``torch.onnx.export``: its dynamo
exporter, or the TorchScript one where dynamo cannot trace a module."""
from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from vae_core import checkpoint as ckpt
from vae_core.checkpoint.files import BundleError
from vae_core.extras import need
from vae_core.families.onnx.config import DECODER, ENCODER, PRIOR, OnnxConfig
from vae_core.family import CODEBOOK, GAUSSIAN_POSTERIOR

EXPORTABLE = ("vae", "two-stage", "vq-vae")


class _Call(nn.Module):
    """A function of tensors as a module, for the exporter."""

    def __init__(self, owner: nn.Module, fn: Callable):
        super().__init__()
        self.owner, self.fn = owner, fn

    def forward(self, x):
        return self.fn(x)


def export_graph(fn: Callable, owner: nn.Module, example: torch.Tensor, path: Path, inputs: list[str],
                 outputs: list[str]) -> str:
    """Write ``fn`` (whose weights ``owner`` holds) traced on ``example`` (B, ...) as one ONNX
    file with a dynamic batch dimension. Returns the exporter that worked: "dynamo" or
    "torchscript". Needs onnx and onnxscript (the "onnx" extra; MissingExtra otherwise)."""
    need("onnx", "onnx", "Exporting to ONNX")
    need("onnxscript", "onnx", "Exporting to ONNX")
    module = _Call(owner, fn).eval()
    batch = torch.export.Dim("batch", min=1, max=4096)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the exporter reports each pass on stdout
            torch.onnx.export(module, (example,), str(path), input_names=inputs, output_names=outputs,
                              dynamic_shapes=({0: batch},), dynamo=True, external_data=False, verbose=False)
        return "dynamo"
    except Exception:  # noqa: BLE001  dynamo fails on data-dependent control flow; the tracer does not
        axes = {name: {0: "batch"} for name in [*inputs, *outputs]}
        torch.onnx.export(module, (example,), str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, dynamo=False)
        return "torchscript"


def _likelihood(model: nn.Module) -> tuple[str, float]:
    """("bernoulli" | "gaussian", sigma): a learned sigma is exported as the value it learned."""
    lik = model.likelihood
    if hasattr(lik, "log_sigma"):
        return "gaussian", float(lik.log_sigma.detach().exp())
    return "bernoulli", 0.1


def export_bundle(folder: str | Path, out: str | Path, *, command: str | None = None) -> tuple[Path, dict[str, str]]:
    """Write the bundle in ``folder`` (a Gaussian VAE, two-stage VAE or VQ-VAE) as an ONNX
    bundle in ``out``: encoder.onnx, decoder.onnx (and a VQ-VAE's PixelCNN as prior.onnx),
    its config, probe set, metrics and history. A two-stage VAE is exported as its first stage:
    the second-stage sampler is not carried, and generation draws z from N(0, I).

    Returns the folder and the exporter used for each graph.
    Raises:
        BundleError: ``folder`` is not a bundle, or of a family with nothing to export.
        MissingExtra: onnx or onnxscript is not installed.
    """
    bundle = ckpt.load_bundle(folder)
    model, out = bundle.model, Path(out)
    if bundle.family not in EXPORTABLE:  # an ONNX bundle already is one; others are not traced by torch.onnx here
        raise BundleError(bundle.path, f"is a {model.title}; vae-export-onnx writes bundles of the families "
                                       f"{', '.join(EXPORTABLE)}")
    x = bundle.probe_images[:2].float() / 255
    likelihood, sigma = _likelihood(model)
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        tmp = Path(tmp)
        if GAUSSIAN_POSTERIOR in model.provides:
            config = OnnxConfig(image_shape=tuple(bundle.probe_images.shape[1:]), latent_shape=tuple(model.latent_shape),
                                likelihood=likelihood, sigma=sigma, source=f"vae-export-onnx of {bundle.name}, a {model.title}")
            used = {ENCODER: export_graph(model.encode, model, x, tmp / ENCODER, ["image"], ["mu", "logvar"]),
                    DECODER: export_graph(model.decode, model, model.encode(x)[0], tmp / DECODER, ["z"], ["out"])}
        elif CODEBOOK in model.provides:
            codes = model.encode_latent(x)
            config = OnnxConfig(image_shape=tuple(bundle.probe_images.shape[1:]), latent_shape=tuple(model.latent_shape),
                                posterior="quantized", codebook_size=model.config.codebook_size, likelihood=likelihood,
                                sigma=sigma, source=f"vae-export-onnx of {bundle.name}, a {model.title}")
            used = {ENCODER: export_graph(model.encode_latent, model, x, tmp / ENCODER, ["image"], ["codes"]),
                    DECODER: export_graph(model.decode, model, codes, tmp / DECODER, ["codes"], ["out"]),
                    PRIOR: export_graph(model.prior.logits, model, codes, tmp / PRIOR, ["codes"], ["logits"])}
        else:
            raise BundleError(bundle.path, f"a {model.title} has neither a Gaussian posterior nor a codebook to export")
        dataset = {**bundle.dataset, "exported_from": bundle.name}
        ckpt.write_config(tmp, config, bundle.train_config, dataset, command, family="onnx")
        ckpt.write_probe(tmp, bundle.probe_images, bundle.probe_labels)
        # The model's figures: the graphs compute the same. A Gaussian VAE's training log too; a
        # VQ-VAE's (its prior's epochs among them) is read by its own family's pages only.
        for name in (ckpt.METRICS, ckpt.HISTORY) if config.posterior == "gaussian" else (ckpt.METRICS,):
            if (bundle.path / name).is_file():
                shutil.copyfile(bundle.path / name, tmp / name)
        _replace(tmp, out)
    return out, used


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished files into ``out``, so a failed export leaves an old bundle there whole."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in ckpt.BUNDLE_FILES:
        if not (tmp / stale).exists():
            (out / stale).unlink(missing_ok=True)
    for f in tmp.iterdir():
        f.replace(out / f.name)
