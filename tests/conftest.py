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


def bundle_views() -> list[str]:
    """Every page that shows an open bundle (explorer.pages, the one list of them): not the
    lessons, training or 2-D lab pages, which have their own tests."""
    from explorer.pages import all_pages

    return [p.path for p in all_pages() if not p.bundle_free]


def listed_views(at) -> set[str]:
    """The bundle pages an AppTest's navigation menu lists (app.py records them; the menu in
    the top bar is no element AppTest can read), as bundle_views' paths."""
    from explorer.pages import all_pages

    addresses = set(at.session_state["nav_listed"])
    return {p.path for p in all_pages() if not p.bundle_free and p.address in addresses}


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


def tiny_vq_configs():
    """A VQ-VAE on 8 x 8 digits: a 4 x 4 grid of 16 codes, seconds to train."""
    from vae_core import TrainConfig, VQConfig

    return (VQConfig(image_shape=(1, 8, 8), channels=(16,), embedding_dim=4, codebook_size=16, prior_channels=16,
                     prior_layers=1, restart_after=5),
            TrainConfig(dataset="digits", epochs=3, batch_size=64, probe_size=200, device="cpu"))


@pytest.fixture(scope="session")
def vq_bundle(tmp_path_factory) -> Path:
    """A VQ-VAE bundle with its prior, trained in-process on digits (seconds)."""
    from vae_core.families.vq_vae.training import train_vq

    return train_vq(*tiny_vq_configs(), tmp_path_factory.mktemp("vq") / "digits-vq", prior_epochs=4, frechet=0,
                    progress=False)


def shipped_bundles() -> list[Path]:
    return sorted(p.parent for p in CHECKPOINTS.glob("*/config.json"))


@pytest.fixture(autouse=True, scope="session")
def _private_run_registry(tmp_path_factory):
    """Runs trained by tests (session fixtures included) register in a temporary folder, not
    the user's ~/.cache; so do the latent maps' caches."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VAE_RUNS_DIR", str(tmp_path_factory.getbasetemp() / "run-registry"))
        # Latent maps of a split: 600 images, cached in a temporary folder (the explorer's
        # servers started by browser tests inherit both).
        patch.setenv("VAE_MAP_MAX_POINTS", "600")
        patch.setenv("VAE_MAP_CACHE", str(tmp_path_factory.getbasetemp() / "map-cache"))
        yield


def write_idx_mnist(root: Path, n_train: int = 600, n_test: int = 200) -> Path:
    """A small stand-in for MNIST in torchvision's layout (``root/MNIST/raw``, uncompressed idx
    files): scikit-learn's digits, 8x8 scaled up to 28x28. For tests of pipelines that read
    MNIST through torchvision, with no download and no shared data set."""
    import struct

    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(digits.images * 255 / 16).float()[:, None]
    images = torch.nn.functional.interpolate(images, size=(24, 24), mode="bilinear")
    images = torch.nn.functional.pad(images, (2, 2, 2, 2)).round().clamp(0, 255).to(torch.uint8)[:, 0]
    labels = torch.from_numpy(digits.target).to(torch.uint8)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, part in (("train", slice(0, n_train)), ("t10k", slice(n_train, n_train + n_test))):
        x, y = images[part], labels[part]
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">iiii", 2051, len(x), 28, 28) + x.numpy().tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 2049, len(y)) + y.numpy().tobytes())
    return root


@pytest.fixture(scope="session")
def explorer_url():
    """One explorer server for every browser test module (tests/browser.py, browser_fixtures)."""
    from browser import explorer_server

    with explorer_server() as (url, _, _):
        yield url


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for every browser test module; skips, saying why, without it."""
    from browser import CHROMIUM_ARGS, chromium_path

    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright not installed (pip install playwright)")
    if chromium_path() is None:
        pytest.skip("Chromium not found (apt install chromium, or set $CHROMIUM)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


def upload_needs_consent(folder: Path, monkeypatch) -> str:
    """Upload ``folder`` zipped: refused (FOREIGN_REFUSED) without the server's
    $VAE_ALLOW_FOREIGN_UPLOADS, opened with it. Returns the opened bundle's folder."""
    import io
    import zipfile

    from explorer import bundles

    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f"{folder.name}/{f.name}")
    monkeypatch.delenv(bundles.FOREIGN_UPLOADS_ENV, raising=False)
    uploads = bundles.SessionUploads()  # held: its folder goes when it is dropped
    assert bundles.open_upload("up.zip", data.getvalue(), uploads) == (None, bundles.FOREIGN_REFUSED)
    monkeypatch.setenv(bundles.FOREIGN_UPLOADS_ENV, "1")
    path, error = bundles.open_upload("up.zip", data.getvalue(), uploads)
    assert error is None, error
    monkeypatch.setattr(bundles, "_held_in_test", uploads, raising=False)  # kept as long as the test runs
    return path
