"""End to end in headless Chromium against `streamlit run` on 127.0.0.1.

Skips, saying why, without Playwright or Chromium (`apt install chromium`, `pip install
playwright`; .ci/run installs both). Screenshots go to $VAE_SCREENSHOTS or build/screenshots.
"""
import io
import os
import zipfile
from pathlib import Path

import pytest
from browser import REPO, RIGHTMOST_POINT_JS, browser_fixtures, chromium_path, wait_until_drawn

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright not installed (pip install playwright)")
if chromium_path() is None:
    pytest.skip("Chromium not found (apt install chromium, or set $CHROMIUM)", allow_module_level=True)

SHOTS = Path(os.environ.get("VAE_SCREENSHOTS") or REPO / "build" / "screenshots")


server, browser, page = browser_fixtures()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_a_shared_link_opens_that_bundle_view_and_image(server, page):
    page.goto(f"{server}/latent_map?bundle=mnist-conv-z2&i=5")
    wait_until_drawn(page)
    sync_api.expect(page.get_by_role("heading", name="Inspect image #5")).to_be_visible()
    assert "bundle=mnist-conv-z2" in page.url and "i=5" in page.url
    assert page.get_by_test_id("stException").count() == 0
    shot(page, "latent_map_inspect")


def test_clicking_a_point_on_the_map_inspects_it(server, page):
    page.goto(f"{server}/latent_map?bundle=mnist-conv-z2&i=0")
    wait_until_drawn(page)
    page.wait_for_function("() => window.__lmState && window.__lmState.n > 0", timeout=60_000)
    canvas = page.locator(".lm-over")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    index = page.evaluate(RIGHTMOST_POINT_JS)
    x, y = page.evaluate(f"window.__lmState.screen({index})")
    page.mouse.click(box["x"] + x, box["y"] + y)
    sync_api.expect(page.get_by_role("heading", name=f"Inspect image #{index}")).to_be_visible(timeout=30_000)
    wait_until_drawn(page)
    assert f"i={index}" in page.url  # the selection is in the shareable link
    page.get_by_role("button", name="Use as traversal anchor").click()
    sync_api.expect(page.get_by_text(f"anchor: probe #{index}")).to_be_visible(timeout=30_000)
    shot(page, "traversal_from_selection")


def menu_links(page, section: str) -> list[str]:
    """The page titles the top bar's menu lists under ``section`` (a dropdown, or the overflow
    menu's entry where the bar is too narrow for it)."""
    nav = page.get_by_test_id("stTopNav")
    nav.get_by_text(section, exact=True).first.click()
    links = page.get_by_test_id("stTopNavDropdownLink")
    links.first.wait_for()
    titles = [text.split("\n")[-1].strip() for text in links.all_inner_texts()]
    page.keyboard.press("Escape")
    return titles


@pytest.mark.parametrize("bundle, listed, absent", [
    ("mnist-conv-z16", ["Latent map", "Latent traversals", "Manifold grid", "Interpolation", "Aggregate posterior"],
     ["Code grids"]),
    ("mnist-vq", ["Interpolation"], ["Latent map", "Latent traversals", "Manifold grid", "Aggregate posterior"]),
])
def test_the_menu_lists_the_pages_of_the_open_models_family(server, page, bundle, listed, absent):
    page.set_viewport_size({"width": 1600, "height": 720})
    page.goto(f"{server}/?bundle={bundle}")
    wait_until_drawn(page)
    latent = menu_links(page, "Latent space")
    assert latent == listed and not set(absent) & set(latent), latent
    picker = page.get_by_test_id("stSidebar").get_by_text("Checkpoint bundle")
    box = picker.bounding_box()
    assert box is not None and box["y"] < 720 / 2  # the picker first, in view on a projector
    sync_api.expect(page.get_by_test_id("stSidebar").get_by_text("Selected image", exact=False)).to_be_in_viewport()
    shot(page, f"menu-{bundle}")


@pytest.mark.parametrize("case", ["good", "escaping", "text"],
                         ids=["valid zip", "zip that escapes its folder", "a text file, not a zip"])
def test_uploading_a_zipped_bundle(server, page, digits_bundle, case, tmp_path):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        for f in digits_bundle.iterdir():
            zf.write(f, f.name if case == "good" else f"../{f.name}")
    archive = tmp_path / ("notes.txt" if case == "text" else "uploaded-digits.zip")
    archive.write_bytes(b"not a bundle" if case == "text" else data.getvalue())
    page.goto(server)
    wait_until_drawn(page)
    page.get_by_text("Open a zipped bundle").click()
    page.locator("input[type=file]").set_input_files(str(archive))
    if case == "good":
        sync_api.expect(page.get_by_text("Opened uploaded-digits")).to_be_visible(timeout=60_000)
        wait_until_drawn(page)
        sync_api.expect(page.get_by_text("digits · mlp · 2-D latent")).to_be_visible()
    else:
        sync_api.expect(page.get_by_text("This upload cannot be opened")).to_be_visible(timeout=60_000)
    if case == "text":  # said in a sentence, not by a red icon with a tooltip
        sync_api.expect(page.get_by_text("notes.txt is not a .zip file")).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
    shot(page, f"upload_{case}")


PRIOR_POINT_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find((g) => g._fullData.some((t) => t.name.startsWith('z ~ N(0, I)')));
  const tr = gd._fullData.find((t) => t.name.startsWith('z ~ N(0, I)'));
  let k = 0;
  for (let i = 1; i < tr.x.length; i++) if (tr.x[i] > tr.x[k]) k = i;  // the rightmost prior sample
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return {cx: box.left + xa._offset + xa.l2p(tr.x[k]), cy: box.top + ya._offset + ya.l2p(tr.y[k]),
          index: tr.customdata[k][0]};
}"""


def test_clicking_a_prior_sample_in_the_holes_plot_decodes_it(server, page):
    page.goto(f"{server}/aggregate?bundle=mnist-conv-z2")
    wait_until_drawn(page)
    page.get_by_text("click one to decode").first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # plotly settles after the scroll
    point = page.evaluate(PRIOR_POINT_JS)
    page.mouse.click(point["cx"], point["cy"])
    sync_api.expect(page.get_by_text(f"prior sample {point['index']} decoded")).to_be_visible(timeout=30_000)
    sync_api.expect(page.get_by_text("(clicked)")).to_be_visible()
    shot(page, "aggregate_clicked_prior_sample")


CELL_JS = """([row, col]) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find((g) => g._fullData.some((t) => (t.hovertemplate || '').includes('click to edit')));
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return {cx: box.left + xa._offset + xa.l2p(col), cy: box.top + ya._offset + ya.l2p(row)};
}"""


def test_clicking_a_code_cell_and_picking_a_code_redraws_the_image(server, page):
    page.goto(f"{server}/code_edit?bundle=mnist-vq&i=3")
    wait_until_drawn(page)
    page.wait_for_timeout(500)  # plotly settles after the DOM
    main_image = page.locator('[data-testid="stMain"] [data-testid="stImage"] img').first
    before = main_image.get_attribute("src")
    cell = page.evaluate(CELL_JS, [2, 4])
    page.mouse.click(cell["cx"], cell["cy"])
    label = page.get_by_text("Code of cell (row 2, column 4)")
    sync_api.expect(label).to_be_visible(timeout=30_000)
    was = label.inner_text().rsplit(" ", 1)[-1]
    page.get_by_test_id("stSelectbox").filter(has_text="Code of cell").click()
    options = page.get_by_role("option")
    other = next(i for i in range(options.count()) if not options.nth(i).inner_text().startswith(f"code {was} "))
    options.nth(other).click()
    sync_api.expect(page.get_by_text("1 cell edited")).to_be_visible(timeout=30_000)
    wait_until_drawn(page)
    after = main_image.get_attribute("src")
    assert after != before  # the edited grid's decoding, a new picture
    assert page.get_by_test_id("stException").count() == 0
    shot(page, "code_edit_one_cell")


DATA_POINT_JS = """(i) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find((g) => g._fullData.some((t) => t.name === 'data (click one)'));
  const tr = gd._fullData.find((t) => t.name === 'data (click one)');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return {cx: box.left + xa._offset + xa.l2p(tr.x[i]), cy: box.top + ya._offset + ya.l2p(tr.y[i])};
}"""
GRID_LINE_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find((g) => g._fullData.some((t) => t.name === 'data (click one)'));
  return Array.from(gd._fullData.find((t) => (t.name || '').startsWith('f(z)')).x).slice(0, 5);
}"""


def test_the_lab_plays_pauses_and_shows_a_clicked_points_posterior(server, page):
    page.goto(f"{server}/lab")
    wait_until_drawn(page)
    before = page.evaluate(GRID_LINE_JS)
    page.get_by_role("button", name="Play").click()
    sync_api.expect(page.get_by_role("button", name="Pause")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(4000)  # two seconds of training at least, redrawn twice a second
    page.get_by_role("button", name="Pause").click()
    sync_api.expect(page.get_by_text("Paused.")).to_be_visible(timeout=30_000)
    wait_until_drawn(page)
    page.wait_for_timeout(500)
    assert page.evaluate(GRID_LINE_JS) != before  # the decoder moved its grid
    steps = int(page.get_by_text("Paused.").inner_text().split("Step ")[1].split(" ")[0].replace(",", ""))
    assert steps > 0
    point = page.evaluate(DATA_POINT_JS, 10)
    page.mouse.click(point["cx"], point["cy"])
    sync_api.expect(page.get_by_text("five repeats of each estimate")).to_be_visible(timeout=60_000)
    wait_until_drawn(page)
    legend = page.locator(".js-plotly-plot").filter(has_text="q(z|x) of the clicked point")
    assert legend.count() >= 1  # the ellipse's trace is drawn in the latent plot
    assert page.get_by_test_id("stException").count() == 0
    shot(page, "lab_ring_clicked")
