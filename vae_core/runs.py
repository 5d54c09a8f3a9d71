"""A registry of training runs on this machine, so the explorer lists every run, whether it
was started from the browser or from a terminal.

Each run of :func:`vae_core.training.train` writes one small JSON file into the registry
folder (``$VAE_RUNS_DIR``, default ``~/.cache/vae_core/runs``) when it starts, and updates
it when it ends. The bundle folder itself (``history.jsonl``, ``metrics.json``) stays the
record of progress; the registry only says where the runs are and whether each is alive.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

RUNS_ENV = "VAE_RUNS_DIR"
DEFAULT_RUNS_DIR = Path.home() / ".cache" / "vae_core" / "runs"


def registry() -> Path:
    """The registry folder: ``$VAE_RUNS_DIR``, else ``~/.cache/vae_core/runs``."""
    return Path(os.environ.get(RUNS_ENV) or DEFAULT_RUNS_DIR).expanduser()


def entry_path(out: str | os.PathLike) -> Path:
    """The registry file of the run writing to ``out`` (one per bundle folder)."""
    digest = hashlib.sha1(str(Path(out).resolve()).encode()).hexdigest()[:16]
    return registry() / f"{digest}.json"


def register(out: str | os.PathLike, command: str | None) -> None:
    """Record that this process has started training into ``out``. Never raises: a registry
    that cannot be written must not stop a run (the run is then only missing from lists)."""
    _write(out, {"out": str(Path(out).resolve()), "pid": os.getpid(), "host": socket.gethostname(),
                 "command": command, "started": time.time(), "state": "running"})


def finish(out: str | os.PathLike, state: str, error: str | None = None) -> None:
    """Record how the run into ``out`` ended: ``state`` is "finished" or "failed" (with the
    one-line ``error``). Never raises."""
    entry = read_entry(entry_path(out)) or {"out": str(Path(out).resolve())}
    entry.update(state=state, ended=time.time(), error=error)
    _write(out, entry)


def read_entry(path: Path) -> dict[str, Any] | None:
    """One registry file as a dict, or None when it is missing or not valid JSON."""
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and isinstance(entry.get("out"), str) else None


def _write(out: str | os.PathLike, entry: dict[str, Any]) -> None:
    path = entry_path(out)
    # See register(): the registry is a convenience, the bundle is the record.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(entry))
        os.replace(tmp, path)  # readers never see half a file
