"""The teaching layer in headless Chromium: a digit drawn with the mouse, a lesson link with the
teacher setting, the β gesture. Skips without Playwright or Chromium, as test_browser.py does."""
import os
from pathlib import Path

import pytest

from browser import REPO, browser_fixtures, chromium_path, wait_until_drawn

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright not installed (pip install playwright)")
if chromium_path() is None:
    pytest.skip("Chromium not found (apt install chromium, or set $CHROMIUM)", allow_module_level=True)

SHOTS = Path(os.environ.get("VAE_SCREENSHOTS") or REPO / "build" / "screenshots")


server, browser, page = browser_fixtures()


# The lowest opacity any element of the main column had, sampled on every frame from now on.
LOWEST_OPACITY_JS = """() => { window.__lowest = 1.0; const tick = () => {
  for (const e of document.querySelectorAll('[data-testid="stMain"] .stElementContainer'))
    window.__lowest = Math.min(window.__lowest, parseFloat(getComputedStyle(e).opacity));
  requestAnimationFrame(tick); }; requestAnimationFrame(tick); }"""


def canvas_box(page) -> dict:
    """The drawing canvas: the 280 × 280 one (fabric.js stacks two canvases, same place)."""
    for canvas in page.locator("canvas").all():
        box = canvas.bounding_box()
        if box and round(box["width"]) == 280 and round(box["height"]) == 280:
            return box
    raise AssertionError("no 280 × 280 drawing canvas on the page")


def draw(page, points: list[tuple[float, float]]) -> None:
    """One stroke through ``points`` (canvas pixels), with mouse events, as a hand would."""
    box = canvas_box(page)
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for s in range(1, 11):
            page.mouse.move(box["x"] + x0 + (x1 - x0) * s / 10, box["y"] + y0 + (y1 - y0) * s / 10)
    page.mouse.up()


def test_a_digit_drawn_with_the_mouse_is_encoded_reconstructed_and_placed_on_the_map(server, page):
    page.goto(f"{server}/own_image?bundle=mnist-conv-z16")
    wait_until_drawn(page)
    sync_api.expect(page.get_by_text("Draw a stroke on the canvas")).to_be_visible()
    draw(page, [(80, 70), (200, 70), (150, 160), (115, 240)])  # a 7
    sync_api.expect(page.get_by_text("top: your image as the model sees it")).to_be_visible(timeout=60_000)
    sync_api.expect(page.get_by_text("Where it lands on the latent map")).to_be_visible()
    wait_until_drawn(page)
    legend = page.locator(".js-plotly-plot .legendtext", has_text="your image")
    sync_api.expect(legend).to_have_count(1)  # the star among the probe points
    # A second stroke reruns the page: the results are replaced, not greyed out while it runs.
    page.evaluate(LOWEST_OPACITY_JS)
    draw(page, [(150, 120), (230, 120)])  # the 7's bar
    page.wait_for_timeout(300)
    wait_until_drawn(page)
    assert page.evaluate("() => window.__lowest") == 1.0
    assert page.get_by_test_id("stException").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "own_image.png"))
    page.get_by_role("button", name="Use it as the selected image in every view").click()
    sync_api.expect(page.get_by_text("Your image is the selected image in every view")).to_be_visible(timeout=30_000)


def test_the_beta_gesture_redraws_every_figure(server, page):
    page.goto(f"{server}/beta_gesture?bundle=mnist-beta-1")
    wait_until_drawn(page)
    page.get_by_role("slider").focus()
    page.keyboard.press("End")  # to β = 8
    sync_api.expect(page.get_by_text("β = 8: mnist-beta-8")).to_be_visible(timeout=30_000)  # the picture's caption
    sync_api.expect(page.get_by_text("mnist-beta-8:", exact=False)).to_be_visible()  # its D, R, ELBO line
    assert page.get_by_test_id("stException").count() == 0
