"""Where bundles come from: the folders the sidebar lists (checkpoints/, --bundles,
$VAE_EXPLORER_BUNDLES, training runs) and zipped bundles uploaded from the browser, which
belong to the session that uploaded them (SessionUploads) and are bounded in number and disk."""
from __future__ import annotations

import argparse
import atexit
import functools
import hashlib
import io
import os
import re
import secrets
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

import streamlit as st

from explorer import state
from vae_core import BundleError, extract_zipped_bundle, find_bundles, load_bundle
from vae_core.checkpoint import read_config

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
MAX_UPLOADS_PER_SESSION = 3  # unpacked and kept; a fourth replaces the oldest
UPLOAD_QUOTA_MB = 2048  # all sessions' unpacked uploads; past it the oldest other sessions' go


@functools.cache
def uploads_root() -> Path:
    """This server process's own folder for unpacked uploads (mode 0700, a fresh name in the
    temporary folder), removed when the process exits."""
    root = Path(tempfile.mkdtemp(prefix="vae-explorer-uploads-"))
    atexit.register(shutil.rmtree, root, True)
    return root


# A model trained elsewhere (ONNX graphs, a diffusers AutoencoderKL) can cost far more time and
# memory than this project's small configs allow theirs: a stranger's is opened only where
# whoever runs the server said so.
FOREIGN_FAMILIES = ("onnx", "autoencoder-kl")
FOREIGN_UPLOADS_ENV = "VAE_ALLOW_FOREIGN_UPLOADS"
FOREIGN_REFUSED = ("This bundle holds a model trained elsewhere (ONNX graphs or a diffusers AutoencoderKL), which "
                   "can ask for minutes of the server's time and gigabytes of its memory per view, so this server "
                   "opens such bundles from its own bundle folders only. Put the folder in one of them (vae-explorer "
                   f"--bundles DIR), or start the explorer with {FOREIGN_UPLOADS_ENV}=1 to accept uploaded ones.")


class SessionUploads:
    """One browser session's unpacked uploads: a folder of its own under uploads_root(), kept
    in its st.session_state. When Streamlit drops a closed session's state, the finalizer
    removes the folder; no other session ever lists what is in it."""

    def __init__(self):
        self.folder = uploads_root() / secrets.token_hex(8)
        self.paths: list[str] = []
        weakref.finalize(self, shutil.rmtree, str(self.folder), True)

    def existing(self) -> list[str]:
        """Its bundles still on disk (the quota may have removed some), oldest first."""
        self.paths = [p for p in self.paths if Path(p).is_dir()]
        return list(self.paths)


def session_uploads() -> SessionUploads:
    """This session's uploads (made on first use)."""
    return st.session_state.setdefault("_uploads", SessionUploads())


def uploaded_paths() -> list[str]:
    """The bundle folders this session uploaded and may still open, oldest first."""
    uploads = st.session_state.get("_uploads")
    return uploads.existing() if uploads is not None else []


def open_upload(filename: str, data: bytes, uploads: SessionUploads) -> tuple[str | None, str | None]:
    """Unpack an uploaded zipped bundle into ``uploads``'s folder (once per distinct content)
    and load it; keeps at most MAX_UPLOADS_PER_SESSION and, over all sessions, UPLOAD_QUOTA_MB.

    Returns (bundle folder, None) or (None, the problem in words)."""
    if len(data) > MAX_UPLOAD_MB * 2**20:
        return None, f"{filename} is {len(data) / 2**20:.0f} MB, over the {MAX_UPLOAD_MB} MB limit."
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # a zip's first bytes: its first entry, or empty
        return None, (f"{filename} is not a .zip file. Zip the bundle's folder (config.json, model.safetensors, "
                      "probe.safetensors and the rest) and upload the .zip.")
    digest = hashlib.sha256(data).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).stem)[:60] or "bundle"
    folder = uploads.folder / digest / stem
    if not folder.is_dir():
        uploads.folder.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".unpack-", dir=uploads.folder))
        try:
            extract_zipped_bundle(io.BytesIO(data), work / stem)
            if read_config(work / stem).get("family") in FOREIGN_FAMILIES and os.environ.get(FOREIGN_UPLOADS_ENV) != "1":
                return None, FOREIGN_REFUSED
            load_bundle(work / stem)  # validate before anything is kept
            folder.parent.mkdir(exist_ok=True)
            os.replace(work / stem, folder)
        except BundleError as exc:
            return None, exc.problem
        finally:
            shutil.rmtree(work, ignore_errors=True)
    bundle, error = state.try_bundle(folder)
    if bundle is None:
        return None, error
    _keep(uploads, str(folder))
    return str(folder), None


def _keep(uploads: SessionUploads, path: str) -> None:
    """Add ``path`` to the session's uploads, then hold the bounds: the session's oldest beyond
    MAX_UPLOADS_PER_SESSION, then other sessions' oldest folders while over UPLOAD_QUOTA_MB."""
    kept = [p for p in uploads.existing() if p != path] + [path]
    for old in kept[:-MAX_UPLOADS_PER_SESSION]:
        shutil.rmtree(Path(old).parent, ignore_errors=True)
    uploads.paths = kept[-MAX_UPLOADS_PER_SESSION:]
    others = sorted((f for f in uploads_root().iterdir() if f != uploads.folder), key=_mtime)
    while others and _size(uploads_root()) > UPLOAD_QUOTA_MB * 2**20:
        shutil.rmtree(others.pop(0), ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
