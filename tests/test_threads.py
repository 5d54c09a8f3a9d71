"""Explorer sessions must not change torch's thread count for each other."""
import subprocess
import sys
import threading

import torch
from streamlit.testing.v1 import AppTest

from conftest import REPO

APP = str(REPO / "explorer" / "app.py")


def new_thread_count() -> int:
    """What a thread started now gets: Streamlit runs every rerun in a new thread."""
    seen = []
    t = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    t.start()
    t.join()
    return seen[0]


def test_two_overlapping_sessions_leave_the_thread_count_as_it_was(monkeypatch):
    """Session A computes its traversal grid; session B starts while A is inside, A finishes
    first, then B. The old one_thread() set torch's process-wide count to 1 for a decode and
    restored what it had seen on entry, so B restored A's 1 and left the server at one thread.
    (The grid, not the live slider: the sliders decode in the browser now, not in Python.)"""
    from vae_core import analysis

    real_traversal = analysis.traversal
    a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()
    order = []

    def traversal(*args, **kwargs):
        if not a_inside.is_set():
            order.append("A")
            a_inside.set()
            b_inside.wait(30)
        else:
            order.append("B")
            b_inside.set()
            a_done.wait(30)
        return real_traversal(*args, **kwargs)

    monkeypatch.setattr(analysis, "traversal", traversal)
    from explorer import live_decode

    # The in-page decoder registers with Streamlit's Runtime singleton, which the first AppTest
    # to finish tears down under the other; it plays no part in the thread count.
    monkeypatch.setattr(live_decode, "mount", lambda *args, **kwargs: True)
    from explorer import runtime  # the server fixes the count once, when it starts

    before = new_thread_count()
    assert before == runtime.TORCH_THREADS
    results = {}

    def session(name):
        at = AppTest.from_file(APP, default_timeout=120)
        at.query_params["bundle"] = "digits-mlp-z2"
        at.run()
        at.switch_page("views/traversals.py").run()
        results[name] = at

    a = threading.Thread(target=session, args=("A",))
    a.start()
    assert a_inside.wait(120)
    b = threading.Thread(target=session, args=("B",))  # started while A is decoding
    b.start()
    a.join(120)
    a_done.set()
    b.join(120)
    assert order == ["A", "B"]
    assert not results["A"].exception and not results["B"].exception
    assert new_thread_count() == before


def test_a_figure_drawn_while_another_session_first_imports_pandas_does_not_fail():
    """Plotly's validators look pandas up in sys.modules without importing it. On a fresh server
    one session's first figure (or table) imported pandas while another session drew a figure,
    which found the half-imported module ("partially initialized module 'pandas' has no attribute
    'Series'") and showed an error: three students opening the explorer at once, seen in
    bench.drag_load. The explorer imports pandas once, with its figures."""
    code = """
import threading, numpy as np
from explorer import figures, runtime
barrier, errors = threading.Barrier(4), []
def first_import():
    barrier.wait()
    import pandas
def draw():
    barrier.wait()
    for _ in range(30):
        try:
            figures.image_grid(np.zeros((2, 3, 1, 8, 8), np.float32))
        except Exception as exc:
            errors.append(repr(exc))
threads = [threading.Thread(target=first_import)] + [threading.Thread(target=draw) for _ in range(3)]
[t.start() for t in threads]
[t.join() for t in threads]
assert not errors, errors[:2]
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-1500:]
