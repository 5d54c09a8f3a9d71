"""A training run started from the browser, watched as it trains and stopped, in headless Chromium.

Skips, saying why, without Playwright or Chromium (see tests/test_browser.py). Screenshots go
to $VAE_SCREENSHOTS or build/screenshots: run-early.png and run-late.png."""
import os
import re
from pathlib import Path

import pytest

from browser import REPO, chromium_path, explorer_server, wait_until_drawn
from explorer.launch import MAX_EPOCHS
from vae_core import runs

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright not installed (pip install playwright)")
if chromium_path() is None:
    pytest.skip("Chromium not found (apt install chromium, or set $CHROMIUM)", allow_module_level=True)

SHOTS = Path(os.environ.get("VAE_SCREENSHOTS") or REPO / "build" / "screenshots")
EPOCHS = MAX_EPOCHS  # it ends when the Stop button is pressed: how fast it trains does not matter
EPOCH_JS = """() => {
  const m = [...document.querySelectorAll('[data-testid="stMetric"]')].find((e) => e.innerText.includes('epoch'));
  const found = m && m.innerText.match(/(\\d+) of/);
  return found ? Number(found[1]) : null;
}"""


def epoch_shown(page) -> int:
    """The epoch in the run view's status line ("37 of 5000")."""
    return page.evaluate(EPOCH_JS)


def test_a_run_started_in_the_browser_updates_by_itself_until_it_is_stopped(tmp_path, monkeypatch, chromium):
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path / "registry"))  # inherited by the server
    SHOTS.mkdir(parents=True, exist_ok=True)
    # Its own server (its runs folder and registry); the session's Chromium (conftest.py): one
    # Playwright per process.
    with explorer_server("--runs-dir", str(tmp_path / "runs")) as (url, _, _):
        page = chromium.new_page(viewport={"width": 1400, "height": 2000})
        try:
            page.goto(f"{url}/train")
            wait_until_drawn(page)
            epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
            epochs.fill(str(EPOCHS))
            epochs.press("Tab")
            page.get_by_role("button", name="Start training").click()
            page.wait_for_url(re.compile(r"/run_live"), timeout=60_000)
            # No reload and no click until Stop: whatever changes, the page did by itself.
            page.get_by_text("The newest weights").wait_for(timeout=120_000)
            wait_until_drawn(page)
            early = epoch_shown(page)
            page.screenshot(path=str(SHOTS / "run-early.png"))
            page.wait_for_function(f"() => ({EPOCH_JS})() >= {early + 3}", timeout=120_000, polling=250)
            wait_until_drawn(page)
            later = epoch_shown(page)
            page.screenshot(path=str(SHOTS / "run-late.png"))
            page.get_by_role("button", name="Stop this run").click()
            page.get_by_test_id("stMetric").filter(has_text="stopped").wait_for(timeout=60_000)
            # The final redraw follows the "stopped" metric; on a busy machine a moment later.
            sync_api.expect(page.get_by_role("button", name="Stop this run")).to_have_count(0, timeout=30_000)
            assert page.get_by_test_id("stException").count() == 0
        finally:
            page.close()
    assert 1 <= early < later
    assert (SHOTS / "run-early.png").read_bytes() != (SHOTS / "run-late.png").read_bytes()
    (run,) = runs.list_runs()
    assert run.state == "stopped" and (run.out / "model.safetensors").is_file()
