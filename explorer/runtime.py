"""Settings of the server process, made once when the explorer is imported: how glibc keeps
freed memory, and torch's CPU thread count. Imported by explorer.state for these effects."""
from __future__ import annotations

import contextlib
import os
import threading
import time

import torch


def _tune_malloc() -> None:
    """Keep freed tensor memory from piling up in a long-running, many-threaded server (glibc).

    Streamlit runs every rerun of every session in a new thread, and glibc gave each its own
    malloc arena; and after a large block is freed glibc raises its mmap threshold, so later
    tensors of that size come from those arenas and stay there. With 10 sessions for 60 s
    (bench/load_test.py) the server grew by ~300 MB. Two arenas and a fixed 1 MiB threshold
    (large blocks mmap-ed, and unmapped when freed) are what MALLOC_ARENA_MAX=2 and
    MALLOC_MMAP_THRESHOLD_=1048576 would set; a no-op off glibc."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, 2**20)  # M_MMAP_THRESHOLD


_tune_malloc()
THREADS_ENV = "VAE_EXPLORER_THREADS"


def _fix_torch_threads() -> int:
    """Set torch's CPU thread count once for this server process: ``$VAE_EXPLORER_THREADS``,
    default 1. Why once, and why here: torch's count is process-wide, and every thread started
    later (Streamlit runs each rerun of each session in a new one) inherits it, so a session
    that lowered it for its own work and restored it afterwards could leave it lowered for
    all (two overlapping sessions did; tests/test_threads.py). Why 1: a server for many
    sessions runs their work side by side on the cores; and one image's decoder split over
    two cores saved nothing and, with the other core busy (the browser, another session),
    waited for it: the traversal slider took 15-20 ms longer at the median."""
    value = os.environ.get(THREADS_ENV, "").strip()
    threads = int(value) if value.isdigit() and int(value) >= 1 else 1
    torch.set_num_threads(threads)
    return threads


TORCH_THREADS = _fix_torch_threads()


_warming = threading.Lock()
_warm_thread: threading.Thread | None = None


WARM_DELAY_S = 4.0


def _import_later_pages(delay_s: float) -> None:
    # Not at once: the browser is still fetching the view's scripts from this process, and an
    # import holds the interpreter (the first view took 1 s longer).
    time.sleep(delay_s)
    with contextlib.suppress(Exception):  # only time is at stake: a page imports what it needs anyway
        import torch._dynamo  # noqa: F401  torch.optim's optimizers import it when built: the 2-D lab paid 2 s
        import sklearn.manifold  # noqa: F401  t-SNE on the latent map, the lab's moons and circles


def warm_later_pages(delay_s: float = WARM_DELAY_S) -> threading.Thread:
    """Once per process, after a first view is drawn: import in a background thread, ``delay_s``
    seconds later, what later pages need and the first view does not, so that their first visit
    does not wait for it. Returns the thread (tests join it)."""
    global _warm_thread
    with _warming:
        if _warm_thread is None:
            _warm_thread = threading.Thread(target=_import_later_pages, args=(delay_s,), name="explorer-warm",
                                            daemon=True)
            _warm_thread.start()
    return _warm_thread
