"""history.jsonl, the training log: one JSON object per epoch, appended while a run trains
and read (its tail) by the explorer while it does."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vae_core.checkpoint.files import HISTORY, atomic_write

HISTORY_TAIL_BYTES = 8 * 2**20  # what readers take of history.jsonl: ~25,000 epochs, far beyond any run


def append_history(folder: Path, record: dict[str, Any]) -> None:
    """Append one line; a reader skips a half-written last line (see read_history)."""
    path = folder / HISTORY
    # A writer killed mid-line leaves no newline; start a fresh line so this record survives.
    lead = "\n" if path.is_file() and path.stat().st_size and _last_byte(path) != b"\n" else ""
    with open(path, "a") as f:
        f.write(lead + json.dumps(record, allow_nan=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def keep_history_through(folder: Path, epoch: int, *, stage: int | None = None) -> None:
    """Drop the records of epochs after ``epoch`` (a run killed mid-epoch and resumed from
    the last complete one logs that epoch again), keeping the other lines as they are; with
    ``stage``, only that stage's records are dropped (a two-stage bundle keeps stage 1's log)."""
    path = folder / HISTORY
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the half-written line of a killed run
        other_stage = stage is not None and isinstance(record, dict) and record.get("stage") != stage
        if other_stage or (isinstance(record, dict) and isinstance(record.get("epoch"), int) and record["epoch"] <= epoch):
            kept.append(line + "\n")
    atomic_write(path, "".join(kept).encode())


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)


def read_history(folder: str | os.PathLike, max_bytes: int = HISTORY_TAIL_BYTES) -> list[dict[str, Any]]:
    """Records of ``history.jsonl``, at most its last ``max_bytes`` (a line cut by that is
    dropped); [] when absent. Lines that do not parse (a last line still being written, JSON
    nested too deep for Python) are skipped rather than raised: the log is advisory, the
    weights are not."""
    path = Path(folder) / HISTORY
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - max_bytes))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return []
    if size > max_bytes:
        lines = lines[1:]  # began mid-line
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
