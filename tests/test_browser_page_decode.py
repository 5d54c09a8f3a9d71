"""Decoding in the page, in Chromium: a slider drag redraws the image with no rerun, and a
click on the 2-D pad reaches Python (the sidebar's selected image changes)."""
import re

import numpy as np
import pytest
from playwright.sync_api import expect

from browser import browser_fixtures, chromium_path, wait_until_drawn

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt install chromium)")
server, browser, page = browser_fixtures()


def image_pixels(page) -> list[int]:
    return page.locator("canvas.pd-image").first.evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 == 0))")


def test_a_slider_drag_redraws_in_the_page_without_a_rerun(server, page):
    page.goto(f"{server}/traversals?bundle=mnist-beta-1")
    wait_until_drawn(page)
    page.locator(".pd-slider input").first.scroll_into_view_if_needed()
    before = image_pixels(page)
    page.evaluate("window.__pdTimes = []")  # the page records frame times only when asked
    page.evaluate("window.__runs = 0; new MutationObserver(() => { if (document.querySelector("
                  "'[data-testid=\"stStatusWidget\"]')) window.__runs++; }).observe(document.body, {subtree: true, childList: true})")
    slider = page.locator(".pd-slider input").first
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, y, steps=15)
    moved = image_pixels(page)
    assert page.evaluate("window.__runs") == 0  # decoded in the page: the script did not run
    assert np.abs(np.array(moved) - np.array(before)).max() > 20
    assert page.evaluate("window.__pdTimes.length") >= 10
    page.mouse.up()


def test_a_click_on_the_2d_pad_selects_the_nearest_image(server, page):
    page.goto(f"{server}/latent_map?bundle=digits-mlp-z2")
    wait_until_drawn(page)
    pad = page.locator(".pd-overlay").first
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.25)
    # The release reaches Python: its rerun selects another image than the default #0.
    page.wait_for_function("() => /Inspect image #[1-9]/.test(document.body.innerText)", timeout=60_000)
    wait_until_drawn(page)
    selected = int(page.locator('[data-testid="stSidebar"] input[type="number"]').first.input_value())
    assert selected != 0  # the default selection moved to the image nearest the click
    # digits' test split is always here: the heading names the split's index and the probe index
    heading = page.get_by_role("heading", name=re.compile(rf"^Inspect image #\d+ of the test split \(probe image #{selected}\)$"))
    assert heading.count() == 1
    caption = page.locator(".pd-figure figcaption").first.inner_text()
    assert "E[x | z] at z0 = " in caption


def count_reruns(page) -> None:
    page.evaluate("window.__runs = 0; new MutationObserver(() => { if (document.querySelector("
                  "'[data-testid=\"stStatusWidget\"]')) window.__runs++; }).observe(document.body, {subtree: true, childList: true})")


def test_scrubbing_the_interpolation_path_decodes_in_the_page_and_the_release_reaches_python(server, page):
    page.goto(f"{server}/interpolation?bundle=mnist-beta-1")
    wait_until_drawn(page)
    slider = page.locator(".pd-slider input").first
    slider.scroll_into_view_if_needed()
    before = image_pixels(page)
    count_reruns(page)
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.05, y, steps=12)
    assert page.evaluate("window.__runs") == 0
    assert np.abs(np.array(image_pixels(page)) - np.array(before)).max() > 20  # near image a, not the midpoint
    page.mouse.up()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
                           ".some((c) => /Released at t = 0\\.0/.test(c.innerText))", timeout=60_000)


def test_a_vq_code_under_the_cursor_is_decoded_and_a_click_keeps_it(server, page):
    page.goto(f"{server}/code_edit?bundle=mnist-vq")
    wait_until_drawn(page)
    current = page.locator(".pd-code.pd-current")
    current.scroll_into_view_if_needed()
    before = image_pixels(page)
    count_reruns(page)
    other = page.locator(".pd-code:not(.pd-current)").first
    other.hover()
    assert page.evaluate("window.__runs") == 0
    assert image_pixels(page) != before  # the grid with the hovered code in the cell
    code = other.inner_text()
    assert f"= code {code}; click to keep it" in page.locator(".pd-figure figcaption").first.inner_text()
    other.click()
    page.wait_for_function("() => document.body.innerText.includes('1 cell edited')", timeout=60_000)
    wait_until_drawn(page)
    assert page.locator(".pd-code.pd-current").inner_text() == code


def test_a_page_that_lost_its_decoder_asks_for_it_and_gets_it_again(server, page):
    """The server sends a decoder once per session and notes it; a page without it (here emptied
    by hand; in use, a run cut short before it reached the page) says "missing" and is sent it again."""
    page.goto(f"{server}/traversals?bundle=mnist-beta-2")
    wait_until_drawn(page)
    assert page.locator(".pd-slider input").count() == 6
    page.evaluate("() => { for (const k in window.__vaePageDecoders) delete window.__vaePageDecoders[k]; }")
    page.get_by_text("the prior mean z = 0").click()  # a rerun whose component data has no weights
    # The component lives in a shadow root: Playwright's locators see into it, querySelector does not.
    page.wait_for_function("() => Object.keys(window.__vaePageDecoders).length === 1", timeout=60_000)
    wait_until_drawn(page)
    expect(page.locator(".pd-slider input")).to_have_count(6)
    assert "E[x | z] at z" in page.locator(".pd-figure figcaption").first.inner_text()
