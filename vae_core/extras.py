"""Optional dependencies: each is an extra of the package, and a missing one is named, with the
command that installs it, where it is first needed."""
from __future__ import annotations

import importlib
from types import ModuleType

# extra -> what it brings (pyproject.toml's [project.optional-dependencies])
EXTRAS = {"onnx": "onnx, onnxruntime and onnxscript", "diffusers": "diffusers"}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names it and the extra to install."""

    def __init__(self, module: str, extra: str, purpose: str):
        self.module, self.extra = module, extra
        super().__init__(f"{purpose} needs the optional package {module!r}, which is not installed: install the "
                         f"extra '{extra}', pip install -e '.[{extra}]' in the project's folder (it brings "
                         f"{EXTRAS[extra]})")


def need(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise MissingExtra naming ``extra``; ``purpose`` says what needs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(module, extra, purpose) from None
