"""The latent map in headless Chromium: hover shows the image under the pointer with no server
round trip, a lasso selects what it encloses, a click inspects a point and its neighbours, and
the PCA plane decodes in the page. The session's server maps the first 600 probe images."""
import pytest
from browser import browser_fixtures, chromium_path, wait_until_drawn

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright not installed (pip install playwright)")
if chromium_path() is None:
    pytest.skip("Chromium not found (apt install chromium, or set $CHROMIUM)", allow_module_level=True)

server, browser, page = browser_fixtures()


def open_map(page, server, bundle="mnist-conv-z16"):
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.goto(f"{server}/latent_map?bundle={bundle}")
    wait_until_drawn(page)
    page.wait_for_function("() => window.__lmState && window.__lmState.n > 0", timeout=60_000)
    canvas = page.locator(".lm-over")
    canvas.scroll_into_view_if_needed()
    return canvas.bounding_box()


def isolated_point(page) -> int:
    """A point with no other within 12 px on screen, so the pointer over it means that point."""
    return page.evaluate("""() => {
      const s = window.__lmState, xy = [...Array(s.n).keys()].map((i) => s.screen(i));
      return xy.findIndex(([x, y], i) => xy.every(([u, v], j) => j === i || Math.hypot(u - x, v - y) > 12));
    }""")


def test_hover_shows_the_image_under_the_pointer_and_the_pca_plane_decodes_without_a_rerun(server, page):
    box = open_map(page, server)
    page.evaluate("window.__lmTimes = []")
    k = isolated_point(page)
    assert k >= 0
    x, y = page.evaluate(f"window.__lmState.screen({k})")
    page.mouse.move(box["x"] + x + 1, box["y"] + y)
    tip = page.locator(".lm-tip")
    sync_api.expect(tip).to_be_visible()
    assert tip.get_attribute("data-index") == str(k) and f"#{k} · label" in tip.inner_text()
    drawn = page.locator(".lm-tip canvas").evaluate(  # the thumbnail, from the sheet sent once
        "(c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 < 3 && v > 0)")
    assert drawn
    assert page.evaluate("window.__lmTimes.length") >= 1
    assert page.locator('[data-testid="stStatusWidget"]').count() == 0  # no script rerun
    # The PCA plane below the map decodes in the page too (same page: a server visit saved).
    pad = page.locator(".pd-overlay").first
    pad.scroll_into_view_if_needed()
    b = pad.bounding_box()
    page.mouse.move(b["x"] + b["width"] * 0.8, b["y"] + b["height"] * 0.3)
    caption = page.locator(".pd-figure figcaption").first
    sync_api.expect(caption).to_contain_text("E[x | z] at PC 1 = ")
    first = caption.inner_text()
    page.mouse.move(b["x"] + b["width"] * 0.2, b["y"] + b["height"] * 0.7)
    assert caption.inner_text() != first


def test_a_lasso_selects_what_it_encloses_and_a_click_shows_neighbours(server, page):
    box = open_map(page, server)
    page.get_by_role("button", name="Lasso select").click()
    w, h = box["width"], box["height"]
    poly = [(0.2 * w, 0.2 * h), (0.6 * w, 0.15 * h), (0.65 * w, 0.7 * h), (0.25 * w, 0.75 * h)]
    expected = page.evaluate(f"window.__lmState.inside({[list(p) for p in poly]})")
    assert expected > 1
    page.mouse.move(box["x"] + poly[0][0], box["y"] + poly[0][1])
    page.mouse.down()
    for px, py in poly[1:] + poly[:1]:
        page.mouse.move(box["x"] + px, box["y"] + py, steps=5)
    page.mouse.up()
    sync_api.expect(page.get_by_text(f"{expected:,} images selected")).to_be_visible(timeout=60_000)
    sync_api.expect(page.get_by_role("heading", name="The selected images")).to_be_visible()
    wait_until_drawn(page)
    box = open_map(page, server) if page.locator(".lm-over").count() == 0 else page.locator(".lm-over").bounding_box()
    k = isolated_point(page)
    x, y = page.evaluate(f"window.__lmState.screen({k})")
    page.mouse.click(box["x"] + x, box["y"] + y)
    sync_api.expect(page.get_by_role("heading", name=f"Nearest neighbours of #{k}")).to_be_visible(timeout=60_000)
    sync_api.expect(page.get_by_role("heading", name=f"Inspect image #{k} of the probe images")).to_be_visible()
    assert f"i={k}" in page.url  # a probe image: the selected image of every view, in the link
