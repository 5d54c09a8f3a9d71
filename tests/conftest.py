"""Shared fixtures. Tests needing MNIST files skip, with the reason shown, when they are absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
CHECKPOINTS = REPO / "checkpoints"
# CI and developers have the data sets beside the checkout; $VAE_DATA_DIR overrides.
SHARED_DATA = Path(os.environ.get("VAE_DATA_DIR") or REPO.parent / "shared" / "datasets")


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True, warn_only=True)
    yield
    torch.use_deterministic_algorithms(False)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (SHARED_DATA / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST not found under {SHARED_DATA} (set VAE_DATA_DIR to a folder with MNIST/raw/*.gz)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def digits_bundle(tmp_path_factory) -> Path:
    """A small bundle trained in-process on scikit-learn's digits (seconds)."""
    from vae_core import ModelConfig, TrainConfig, train

    out = tmp_path_factory.mktemp("bundles") / "digits-mlp-z2"
    train(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(64,), latent_dim=2),
          TrainConfig(dataset="digits", epochs=3, eval_k=8, probe_size=200, device="cpu"),
          out, progress=False)
    return out


def shipped_bundles() -> list[Path]:
    return sorted(p.parent for p in CHECKPOINTS.glob("*/config.json"))


@pytest.fixture(autouse=True)
def _private_run_registry(tmp_path_factory, monkeypatch):
    """Runs trained by tests register in a temporary folder, not the user's ~/.cache."""
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path_factory.getbasetemp() / "run-registry"))
