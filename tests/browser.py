"""A real explorer in a real browser: `streamlit run` on 127.0.0.1 and Debian's headless
Chromium driven by Playwright. Used by tests/test_browser.py and bench/explorer_speed.py."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    """Debian's chromium (apt install chromium), or $CHROMIUM."""
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def explorer_server(*args: str, timeout_s: float = 90, script: str = "explorer/app.py"):
    """Start the explorer (or another Streamlit ``script``) from the repository root, with its
    .streamlit/config.toml, and yield (URL, start time, process) once /_stcore/health answers; stop it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", *(["--", *args] if args else [])]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            with contextlib.suppress(OSError):  # refused until the server listens
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            if proc.poll() is not None or time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"explorer did not start: {proc.stderr.read() if proc.poll() is not None else 'timeout'}")
            time.sleep(0.2)
        yield url, started, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


# True when the view has a title, Streamlit is not running the script, no element is still a
# skeleton (Streamlit fetches an element's code, plotly.js for instance, on its first use),
# every chart has been drawn by plotly.js and every image has loaded.
DRAWN_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main || document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (!main.querySelector('h1, [data-testid="stAlert"], [data-testid="stException"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  const images = [...document.querySelectorAll('[data-testid="stImage"] img')];
  return charts.every((c) => c.querySelector('.js-plotly-plot .main-svg'))
      && images.every((i) => i.complete && i.naturalWidth > 0);
}"""


def wait_until_drawn(page, timeout_s: float = 120) -> float:
    """Wait until the view is drawn (DRAWN_JS) and stays so for half a second, which rules out
    a rerun about to start; return the time.perf_counter() at which it was first drawn."""
    deadline, drawn_since = time.perf_counter() + timeout_s, None
    while time.perf_counter() < deadline:
        drawn = page.evaluate(DRAWN_JS)
        drawn_since = None if not drawn else (drawn_since or time.perf_counter())
        if drawn_since and time.perf_counter() - drawn_since > 0.5:
            return drawn_since
        time.sleep(0.02)
    raise TimeoutError(f"the page was not drawn after {timeout_s:.0f} s")


# The latent map's rightmost point (explorer/components/latent_map.js), an isolated one.
RIGHTMOST_POINT_JS = """() => {
  const s = window.__lmState;
  let best = 0;
  for (let i = 1; i < s.n; i++) if (s.screen(i)[0] > s.screen(best)[0]) best = i;
  return best;
}"""


# pytest fixtures of the browser test files (tests/test_browser*.py import them by name); the
# imports are inside, so bench/ can use this module without pytest's fixtures being made.
def browser_fixtures():
    """The ``server``, ``browser`` and ``page`` fixtures of a browser test module. The server and
    Chromium are the session's (conftest.py: ``explorer_url``, ``chromium``), started once for
    every module that uses them: each start cost the suite 4-5 s."""
    import pytest

    @pytest.fixture(scope="module")
    def server(explorer_url):
        return explorer_url

    @pytest.fixture(scope="module")
    def browser(chromium):
        return chromium

    @pytest.fixture
    def page(browser):
        p = browser.new_page(viewport={"width": 1400, "height": 2000})
        yield p
        p.close()

    return server, browser, page


PAGE_BUNDLES = ("mnist-conv-z16", "mnist-two-stage", "mnist-vq")
BETA_PAGES = {"beta_gesture", "rate_distortion", "compare"}


def page_plan() -> list[tuple[str, str]]:
    """(address, bundle) for every page on every kind of bundle it applies to; β pages once,
    on mnist-beta-0; pages that need no bundle once."""
    import logging

    logging.disable(logging.WARNING)  # Streamlit's "No runtime found": none is needed here
    from explorer.pages import all_pages
    from vae_core import load_bundle

    provides = {name: load_bundle(REPO / "checkpoints" / name).model.provides for name in PAGE_BUNDLES}
    logging.disable(logging.NOTSET)
    plan = []
    for spec in all_pages():
        if spec.bundle_free:
            plan.append((spec.address, PAGE_BUNDLES[0]))
        elif spec.address in BETA_PAGES:
            plan.append((spec.address, "mnist-beta-0"))
        else:
            plan += [(spec.address, name) for name in PAGE_BUNDLES if spec.applies(provides[name])]
    return plan
