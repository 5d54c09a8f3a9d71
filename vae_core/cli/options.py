"""What every command line of vae_core shares: option types, the recorded command, and the
process set-up (denormals flushed, SIGTERM as Ctrl-C)."""
from __future__ import annotations

import argparse
import shlex
import signal
import threading

from vae_core.run import flush_denormals


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


def start_process() -> None:
    """First thing a training command does: flush denormals before torch starts its worker
    threads (so they inherit it), and take SIGTERM (the explorer's Stop) as Ctrl-C, so that
    ``--resume`` continues the run."""
    flush_denormals()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop_on_sigterm)
