"""Explorer sessions must not change torch's thread count for each other."""
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
    from explorer import state  # the server fixes the count once, when it starts

    before = new_thread_count()
    assert before == state.TORCH_THREADS
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
