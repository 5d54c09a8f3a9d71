"""The ONNX family: any VAE or VQ-VAE as ``encoder.onnx`` + ``decoder.onnx`` (docs/onnx.md).
``model`` runs them (onnxruntime), ``export`` writes them from a bundle of another family or
from any pair of PyTorch modules. Needs the "onnx" extra: pip install 'vae-explorer[onnx]'."""
from vae_core.families.onnx.config import OnnxConfig  # noqa: F401
from vae_core.families.onnx.model import OnnxVAE, OnnxVQ  # noqa: F401
from vae_core.families.onnx.export import export_bundle  # noqa: F401
from vae_core.families.onnx.modules import bundle_from_modules  # noqa: F401
