"""What every command line of vae_core shares: option types, the recorded command, and the
process set-up (denormals flushed, SIGTERM as Ctrl-C)."""
from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Callable, NoReturn

from vae_core.checkpoint import BundleError
from vae_core.data import DatasetNotFoundError
from vae_core.run import flush_denormals

# What a training run raises for its user (a bad option value, a missing data set, a folder in
# use, a diverging loss, an unreadable bundle, a full disk): one line each, never a traceback.
TRAINING_ERRORS = (ValueError, BundleError, DatasetNotFoundError, FileExistsError, FloatingPointError, OSError)


class Parser(argparse.ArgumentParser):
    """argparse's parser, but a bad option is one line naming the option and the allowed
    values, exit status 2; the usage block only with --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (--help lists every option)\n")


def ints(text: str) -> tuple[int, ...]:
    """A comma-separated list of integers, e.g. ``--hidden 512,256``; an empty list is refused
    (it would silently build a model with no hidden layer)."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one integer, got {text!r}")
    return values


def bf16(text: str) -> bool | str:
    """--bf16's value: auto, or true / false."""
    value = {"auto": "auto", "true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"--bf16 takes auto, true or false, not {text!r}")
    return value


def recorded_command(prog: str, argv: list[str]) -> str:
    """The command line as a bundle records it (the model card shows it): the data folder is
    written ``--data-dir DIR``, since a folder of the machine that trained means nothing on
    another (the data set is found there through --data-dir or $VAE_DATA_DIR)."""
    shown, skip = [], False
    for arg in argv:
        if skip:
            shown.append("DIR")
            skip = False
        elif arg == "--data-dir":
            shown.append(arg)
            skip = True
        elif arg.startswith("--data-dir="):
            shown.append("--data-dir=DIR")
        else:
            shown.append(arg)
    return f"{prog} {shlex.join(shown)}"


def stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C: the run is recorded as stopped, the bundle kept


def stop_after(minutes: float) -> None:
    """Stop this process's run after ``minutes`` of wall time (0: never) the way SIGTERM does:
    a KeyboardInterrupt, so the bundle keeps what it has and --resume continues."""
    def time_is_up(signum, frame) -> None:
        print(f"\nthe --max-minutes {minutes:g} limit is reached; stopping", file=sys.stderr, flush=True)
        raise KeyboardInterrupt

    if minutes > 0 and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGALRM, time_is_up)
        signal.setitimer(signal.ITIMER_REAL, minutes * 60)


def start_process() -> None:
    """First thing a training command does: flush denormals before torch starts its worker
    threads (so they inherit it), and take SIGTERM (the explorer's Stop) as Ctrl-C, so that
    ``--resume`` continues the run."""
    flush_denormals()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop_on_sigterm)


def begin(build_parser: Callable[[], argparse.ArgumentParser], argv: list[str] | None):
    """A training command's first steps: the process set-up (start_process) before anything
    starts a thread, then its options. Returns (parser, parsed options, argv)."""
    argv = sys.argv[1:] if argv is None else argv
    start_process()
    parser = build_parser()
    return parser, parser.parse_args(argv), argv


def run_training(call: Callable[[], None], out: str, kept: str) -> int:
    """Run a training command's ``call`` and return its exit status: 0 when it finished; 1 with
    one line for an error of TRAINING_ERRORS; 130 for Ctrl-C or SIGTERM (the explorer's Stop),
    saying what ``out`` keeps (``kept``, e.g. "its last epoch") and that --resume continues.
    An error before the first epoch was saved removes ``out`` when this run created it."""
    existed = Path(out).exists()
    try:
        call()
    except TRAINING_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        # A run that could not start (data, device, folder) leaves nothing; a diverging one keeps
        # the bundle its message names (the weights of its last good epoch, 0: untrained).
        if not existed and not isinstance(exc, FloatingPointError):
            discard_unstarted(Path(out))
        return 1
    except KeyboardInterrupt:
        print(f"stopped; {out} keeps {kept}, and --resume continues the run", file=sys.stderr)
        return 130
    return 0


def discard_unstarted(out: Path) -> None:
    """Remove ``out`` when no epoch of the run was saved in it: no training state (written
    after each epoch) and no metrics.json (written at the end), so nothing would be lost."""
    from vae_core.checkpoint import METRICS, TRAIN_STATE

    if out.is_dir() and not (out / TRAIN_STATE).exists() and not (out / METRICS).exists():
        shutil.rmtree(out, ignore_errors=True)
