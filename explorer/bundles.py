"""Where bundles come from: the folders the sidebar lists (checkpoints/, --bundles,
$VAE_EXPLORER_BUNDLES, training runs) and zipped bundles uploaded from the browser."""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from explorer import state
from vae_core import BundleError, extract_zipped_bundle, find_bundles, load_bundle

REPO = Path(__file__).resolve().parents[1]
CHECKPOINTS = REPO / "checkpoints"
BUNDLES_ENV = "VAE_EXPLORER_BUNDLES"


def bundle_roots() -> list[Path]:
    """Where the sidebar looks: checkpoints/, then ``--bundles DIR`` (``streamlit run
    explorer/app.py -- --bundles DIR``), then the folders in $VAE_EXPLORER_BUNDLES."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--bundles", action="append", default=[])
    extra = parser.parse_known_args(sys.argv[1:])[0].bundles
    env = [p for p in os.environ.get(BUNDLES_ENV, "").split(os.pathsep) if p]
    return [CHECKPOINTS, *map(Path, extra), *map(Path, env)]


def available_bundles() -> list[Path]:
    """Bundles under bundle_roots(), and those of training runs (launch.bundle_roots): runs
    started from the browser or a terminal, finished or still training."""
    from explorer import launch  # here: launch imports vae_core.families.gaussian.training, which the views need anyway

    return find_bundles(*bundle_roots(), *launch.bundle_roots())


MAX_UPLOAD_MB = 100  # also server.maxUploadSize in .streamlit/config.toml
UPLOADS = Path(tempfile.gettempdir()) / "vae-explorer-uploads"


def open_upload(filename: str, data: bytes) -> tuple[str | None, str | None]:
    """Unpack an uploaded zipped bundle (once per distinct content) and load it.

    Returns (bundle folder, None) or (None, the problem in words)."""
    if len(data) > MAX_UPLOAD_MB * 2**20:
        return None, f"{filename} is {len(data) / 2**20:.0f} MB, over the {MAX_UPLOAD_MB} MB limit."
    digest = hashlib.sha256(data).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).stem)[:60] or "bundle"
    folder = UPLOADS / digest / stem
    if not folder.is_dir():
        UPLOADS.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".unpack-", dir=UPLOADS))
        try:
            extract_zipped_bundle(io.BytesIO(data), work / stem)
            load_bundle(work / stem)  # validate before anything is kept
            folder.parent.mkdir(exist_ok=True)
            os.replace(work / stem, folder)
        except BundleError as exc:
            return None, exc.problem
        finally:
            shutil.rmtree(work, ignore_errors=True)
    bundle, error = state.try_bundle(folder)
    return (str(folder), None) if bundle else (None, error)
