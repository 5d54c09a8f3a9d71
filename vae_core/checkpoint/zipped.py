"""Zipped bundles from a browser upload, unpacked safely: only bundle file names, no path
that leaves the folder, sizes capped while writing (zip bombs)."""
from __future__ import annotations

import contextlib
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
    ONNX_GRAPHS,
    REQUIRED,
    REQUIRED_ONNX,
    WEIGHTS,
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
        BundleError: not a zip file, a list of entries over MAX_DIRECTORY_BYTES, an encrypted
            entry or one of a compression method zipfile cannot read, unexpected, nested or
            duplicate entries, a file over
            ``MAX_FILE_BYTES`` or in all over ``MAX_UNZIPPED_BYTES``, or a required file missing.
    """
    dest = Path(dest)
    name = getattr(archive, "name", None) or str(archive)
    try:
        _check_directory_size(name, archive)
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleError(name, f"not a readable zip file ({exc})") from None
    with zf:
        members = _bundle_members(name, zf.infolist())
        dest.mkdir(parents=True, exist_ok=True)
        for info, target in members:
            _extract_capped(zf, info, dest / target, name)
    return dest


MAX_DIRECTORY_BYTES = 64 * 1024  # a zip's list of entries; 16 entries with sane names need ~2 KB
_END_RECORD = b"PK\x05\x06"  # the zip's end-of-central-directory record (APPNOTE 4.3.16)


def _check_directory_size(name: str, archive: Any) -> None:
    """Refuse a zip whose list of entries is over MAX_DIRECTORY_BYTES before zipfile parses it:
    zipfile reads the whole list into objects first (1.1 million directory entries: 8 s, 1.3 GB)."""
    with contextlib.nullcontext(archive) if hasattr(archive, "read") else open(archive, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - 22 - 65535))  # the record, then a comment of at most 64 KB
        tail = f.read()
        f.seek(0)
    at = tail.rfind(_END_RECORD)
    if at < 0 or len(tail) < at + 22:
        return  # not a zip: zipfile says so in its own words
    entries, directory_bytes = int.from_bytes(tail[at + 10:at + 12], "little"), int.from_bytes(tail[at + 12:at + 16], "little")
    if entries > 2 * MAX_ZIP_ENTRIES or directory_bytes > MAX_DIRECTORY_BYTES:  # 0xFFFF.. (zip64) too
        raise BundleError(name, f"lists {entries} entries in {directory_bytes} bytes; a bundle has at most "
                                f"{len(BUNDLE_FILES)} files")


def _bundle_members(name: str, infos: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, str]]:
    if len(infos) > 2 * MAX_ZIP_ENTRIES:  # files and folder entries
        raise BundleError(name, f"{len(infos)} entries; a bundle has at most {len(BUNDLE_FILES)} files")
    files = [i for i in infos if not i.is_dir()]
    if len(files) > MAX_ZIP_ENTRIES:
        raise BundleError(name, f"{len(files)} entries; a bundle has at most {len(BUNDLE_FILES)} files")
    for info in files:
        if info.flag_bits & 0x1:
            raise BundleError(name, f"entry {info.filename!r} is encrypted; zip the bundle without a password")
        if info.compress_type not in _METHODS:
            raise BundleError(name, f"entry {info.filename!r} uses compression method {info.compress_type}; "
                                    "use deflate (what every zip tool writes by default)")
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
    onnx = bool(seen & set(ONNX_GRAPHS))
    if onnx and WEIGHTS in seen:
        raise BundleError(name, "holds both model.safetensors and ONNX graphs; a bundle has one or the other")
    missing = [f for f in (REQUIRED_ONNX if onnx else REQUIRED) if f not in seen]
    if missing:
        raise BundleError(name, f"missing {', '.join(missing)}")
    declared = sum(i.file_size for i in files)
    if declared > MAX_UNZIPPED_BYTES or any(i.file_size > MAX_FILE_BYTES for i in files):
        raise BundleError(name, f"unpacks to {declared} bytes, over the limits ({MAX_FILE_BYTES} per file, "
                                f"{MAX_UNZIPPED_BYTES} in all)")
    return members


_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


def _extract_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, name: str) -> None:
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > min(info.file_size, MAX_FILE_BYTES):  # the header lied: a zip bomb
                    raise BundleError(name, f"entry {info.filename!r} unpacks beyond its declared size")
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
        target.unlink(missing_ok=True)
        raise BundleError(name, f"entry {info.filename!r} cannot be unpacked ({exc})") from None
    except BundleError:
        target.unlink(missing_ok=True)
        raise

