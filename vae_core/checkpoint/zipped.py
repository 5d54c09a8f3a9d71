"""Zipped bundles from a browser upload, unpacked safely: only bundle file names, no path
that leaves the folder, sizes capped while writing (zip bombs)."""
from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

from vae_core.checkpoint.files import (
    BUNDLE_FILES,
    MAX_FILE_BYTES,
    MAX_UNZIPPED_BYTES,
    MAX_ZIP_ENTRIES,
    REQUIRED,
    BundleError,
)


def extract_zipped_bundle(archive: str | os.PathLike | Any, dest: str | os.PathLike) -> Path:
    """Unpack a zipped bundle into the empty or new folder ``dest`` and return ``dest``.

    The archive holds the bundle's files at its top level or inside one folder. Only the
    bundle's own file names are accepted, so no entry can escape ``dest`` (no absolute paths,
    no ``..``), and sizes are checked against the limits before anything is written and again
    while writing, which defeats zip bombs whose headers lie. Load the result with
    :func:`load_bundle`, which validates the contents.

    Raises:
        BundleError: not a zip file, unexpected, nested or duplicate entries, a file over
            ``MAX_FILE_BYTES`` or in all over ``MAX_UNZIPPED_BYTES``, or a required file missing.
    """
    dest = Path(dest)
    name = getattr(archive, "name", None) or str(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleError(name, f"not a readable zip file ({exc})") from None
    with zf:
        members = _bundle_members(name, zf.infolist())
        dest.mkdir(parents=True, exist_ok=True)
        for info, target in members:
            _extract_capped(zf, info, dest / target, name)
    return dest


def _bundle_members(name: str, infos: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, str]]:
    files = [i for i in infos if not i.is_dir()]
    if len(files) > MAX_ZIP_ENTRIES:
        raise BundleError(name, f"{len(files)} entries; a bundle has at most {len(BUNDLE_FILES)} files")
    members, seen = [], set()
    for info in files:
        parts = info.filename.replace("\\", "/").split("/")
        if len(parts) > 2 or info.filename.startswith("/") or ".." in parts:
            raise BundleError(name, f"entry {info.filename!r} is nested or escapes the bundle folder")
        base = parts[-1]
        if base not in BUNDLE_FILES:
            raise BundleError(name, f"entry {info.filename!r} is not a bundle file (expected {', '.join(BUNDLE_FILES)})")
        if base in seen:
            raise BundleError(name, f"duplicate entry for {base!r}")
        seen.add(base)
        members.append((info, base))
    if len({i.filename.split("/")[0] for i in files if "/" in i.filename}) > 1:
        raise BundleError(name, "entries come from more than one folder")
    missing = [f for f in REQUIRED if f not in seen]
    if missing:
        raise BundleError(name, f"missing {', '.join(missing)}")
    declared = sum(i.file_size for i in files)
    if declared > MAX_UNZIPPED_BYTES or any(i.file_size > MAX_FILE_BYTES for i in files):
        raise BundleError(name, f"unpacks to {declared} bytes, over the limits ({MAX_FILE_BYTES} per file, "
                                f"{MAX_UNZIPPED_BYTES} in all)")
    return members


def _extract_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, name: str) -> None:
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > min(info.file_size, MAX_FILE_BYTES):  # the header lied: a zip bomb
                    raise BundleError(name, f"entry {info.filename!r} unpacks beyond its declared size")
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        target.unlink(missing_ok=True)
        raise BundleError(name, f"entry {info.filename!r} cannot be unpacked ({exc})") from None
    except BundleError:
        target.unlink(missing_ok=True)
        raise

