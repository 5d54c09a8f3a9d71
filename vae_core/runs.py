"""A registry of training runs on this machine, so the explorer lists every run, whether it
was started from the browser or from a terminal.

Each run of the training command (``vae-train``) writes one small JSON file into the registry
folder (``$VAE_RUNS_DIR``, default ``~/.cache/vae_core/runs``) when it starts, and updates
it when it ends. The bundle folder itself (``history.jsonl``, ``metrics.json``) stays the
record of progress; the registry only says where the runs are and whether each is alive.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import psutil
from filelock import FileLock

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
    entry = {"out": str(Path(out).resolve()), "pid": os.getpid(), "host": socket.gethostname(),
             "command": command, "started": time.time(), "state": "running"}
    old = read_entry(entry_path(out)) or {}
    if old.get("pid") == os.getpid() and old.get("launched"):  # launch() started this process
        entry.update(launched=True, started=old.get("started", entry["started"]), owner=old.get("owner"))
    _write(out, entry)


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


# ---------------------------------------------------------------- listing, launching, stopping

_PROGRESS_BAR = re.compile(r"\d+%\|")  # tqdm: "epoch 4/400:  55%|█████▍    | 6/11 [...]"
STATES = ("running", "finished", "failed", "stopped", "killed")
MAX_RUNS_ENV = "VAE_MAX_RUNS"


class RunLimitError(RuntimeError):
    """A run cannot be started: the limit on concurrent runs is reached, or one is already
    writing to that folder. The message says which."""


@dataclass(frozen=True)
class Run:
    """One registry entry with its state derived now.

    Attributes:
        id: the registry file's stem (16 hex digits of the SHA-1 of ``out``).
        out: the bundle folder the run writes.
        state: one of STATES. "running" when the process is alive on this host (or the
            entry says running and comes from another host, which cannot be checked);
            "killed" when the entry says running but the process is gone (SIGKILL, a crash,
            a reboot); otherwise what the run recorded when it ended.
        pid, host, command, started, ended (seconds since the epoch), error: as recorded.
        log: the file holding the run's stdout and stderr when it was started by
            :func:`launch`, else None.
        owner: who :func:`launch` started it for (the explorer's "local" or "teacher"); None
            for a run started from a terminal.
    """

    id: str
    out: Path
    state: str
    pid: int | None = None
    host: str | None = None
    command: str | None = None
    started: float | None = None
    ended: float | None = None
    error: str | None = None
    log: Path | None = None
    owner: str | None = None

    @property
    def local(self) -> bool:
        """True when the run's process is (or was) on this machine, so it can be stopped."""
        return self.host in (None, socket.gethostname())


def log_path(out: str | os.PathLike) -> Path:
    """Where :func:`launch` sends the run's stdout and stderr: beside its registry entry."""
    return entry_path(out).with_suffix(".log")


def list_runs() -> list[Run]:
    """Every run in the registry, newest first, with its state as of now.

    A run launched here whose process has exited without recording its end (it failed
    before training began) is recorded now as failed, with the last line of its log."""
    runs = [run for path in registry().glob("*.json") if (run := get_run(path)) is not None]
    return sorted(runs, key=lambda r: r.started or 0.0, reverse=True)


def get_run(where: str | os.PathLike) -> Run | None:
    """The run writing to the bundle folder ``where`` (or of the registry file ``where``);
    None when the registry has no entry for it."""
    path = Path(where)
    path = path if path.suffix == ".json" and path.parent == registry() else entry_path(path)
    entry = read_entry(path)
    if entry is None:
        return None
    state = _state_now(entry)
    if entry.get("state") == "running" and state != "running":
        entry = read_entry(path) or entry  # _state_now may have recorded how it ended
    log = log_path(entry["out"])
    return Run(id=path.stem, out=Path(entry["out"]), state=state, pid=entry.get("pid"), host=entry.get("host"),
               command=entry.get("command"), started=entry.get("started"), ended=entry.get("ended"),
               error=entry.get("error"), log=log if entry.get("launched") and log.is_file() else None,
               owner=entry.get("owner") if isinstance(entry.get("owner"), str) else None)


def running_here() -> list[Run]:
    """The runs alive on this machine (those the concurrency limit counts)."""
    return [r for r in list_runs() if r.state == "running" and r.local]


def default_limit() -> int:
    """Concurrent runs allowed on this machine: ``$VAE_MAX_RUNS``, else one per CUDA device,
    else 1 (a CPU machine; two runs there each take twice as long)."""
    value = os.environ.get(MAX_RUNS_ENV, "")
    if value.strip().isdigit():
        return int(value)
    import torch  # here, not at the top: listing runs should not need it

    return max(1, torch.cuda.device_count()) if torch.cuda.is_available() else 1


def launch(args: Sequence[str], out: str | os.PathLike, *, limit: int | None = None, owner: str | None = None) -> Run:
    """Start ``vae-train ARGS --out OUT`` as a background process, recorded as ``owner``'s
    (see :func:`stop`).

    The process is in a session of its own, so it outlives the caller (a closed browser tab,
    a restarted explorer); its stdout and stderr go to :func:`log_path`, not into the bundle.
    It is registered at once (the training process re-registers itself when it starts). It
    runs on one CPU thread unless ``$OMP_NUM_THREADS`` is set.

    Raises:
        RunLimitError: ``limit`` (default :func:`default_limit`) runs are alive on this
            machine already, or a run is alive that writes to ``out``.
        OSError: the log file cannot be written or the process cannot be started.
    """
    out = Path(out).resolve()
    limit = default_limit() if limit is None else limit
    with _launch_lock():  # two sessions pressing Start at once cannot both pass the limit
        alive = running_here()
        if any(r.out == out for r in alive):
            raise RunLimitError(f"a run is already writing to {out}")
        if len(alive) >= limit:
            raise RunLimitError(f"{len(alive)} run(s) already training on this machine, the limit is {limit}; "
                                "stop one or wait for it to end")
        argv = [sys.executable, "-m", "vae_core.cli.train", *args, "--out", str(out)]
        log = log_path(out)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as sink:
            proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=Path(__file__).resolve().parents[1], start_new_session=True,
                                    env=_child_env())
        _write(out, {"out": str(out), "pid": proc.pid, "host": socket.gethostname(),
                     "command": "vae-train " + shlex.join([*args, "--out", str(out)]),
                     "started": time.time(), "state": "running", "launched": True, "owner": owner})
    return get_run(out)


def _child_env() -> dict[str, str]:
    # One thread unless $OMP_NUM_THREADS says otherwise: on a CPU shared with the explorer and
    # other runs, threads that spin waiting for each other cost far more than they bring
    # (50 digits epochs: 2.6 s with one thread, 37 s with two, while another run trained).
    return {"OMP_NUM_THREADS": "1", **os.environ, "PYTHONUNBUFFERED": "1"}


def stop(out: str | os.PathLike, owner: str | None = None) -> bool:
    """Send SIGTERM to the run writing to ``out``: it stops like Ctrl-C, keeps its bundle
    (the best epoch so far) and records itself as stopped. False when no run of this machine
    is alive there, or when ``owner`` is given and the run was not launched for that owner
    (a run started from a terminal has none)."""
    run = get_run(out)
    if run is None or run.state != "running" or not run.local or not run.pid:
        return False
    if owner is not None and run.owner != owner:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(run.pid, signal.SIGTERM)
        return True
    return False


def read_log(run: Run, max_bytes: int = 20_000) -> str:
    """The end of a launched run's log (at most ``max_bytes``) without its progress bars
    (tqdm's redrawn lines; the epoch summaries stay); "" when there is none."""
    if run.log is None:
        return ""
    with contextlib.suppress(OSError), open(run.log, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - max_bytes))
        text = f.read().decode(errors="replace")
        lines = (line.rsplit("\r", 1)[-1].strip() for line in text.splitlines())
        return "\n".join(line for line in lines if line and not _PROGRESS_BAR.search(line))
    return ""


def _state_now(entry: dict[str, Any]) -> str:
    recorded = entry.get("state")
    if recorded != "running":
        return recorded if recorded in STATES else "failed"
    if entry.get("host") not in (None, socket.gethostname()):
        return "running"  # another machine's process cannot be checked from here
    pid = entry.get("pid")
    if not isinstance(pid, int):
        return "killed"
    code = _reap(pid)
    if code is None:
        return "running" if _alive(pid, entry.get("started")) else "killed"
    # Our own child ended without recording its end: it never reached train().
    state = "stopped" if code in (130, -signal.SIGTERM) else "killed" if code < 0 else "failed"
    last = [line for line in read_log(Run(id="", out=Path(entry["out"]), state="", log=log_path(entry["out"])))
            .splitlines() if line.strip()]
    finish(entry["out"], state, last[-1] if last else f"exit status {code}")
    return state


def _reap(pid: int) -> int | None:
    """The exit code of ``pid`` if it is this process's child and has exited (which also
    clears the zombie it leaves), else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        return None  # not our child: another process's run, or already reaped
    return os.waitstatus_to_exitcode(status) if done == pid else None


def _alive(pid: int, started: float | None) -> bool:
    """Whether ``pid`` is a live process that is not younger than the run (pids are reused)."""
    try:
        process = psutil.Process(pid)
        if process.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            return False
        begun = process.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # alive, another user's
    return started is None or begun <= started + 2  # some systems count start times in whole seconds


def _launch_lock() -> FileLock:
    """Held while a launch checks the limit and starts its process, across processes."""
    registry().mkdir(parents=True, exist_ok=True)
    return FileLock(registry() / ".launch.lock")
