"""Explorer speed in a real browser (headless Chromium via Playwright), printed, not asserted.

    python -m bench.explorer_speed [--presses 60] [--only start pages floor tsne gesture] [--json out.json]

1. Start: `streamlit run` launched -> the first view drawn (tests/browser.py's DRAWN_JS:
   no skeleton left, every chart drawn, every image loaded), for three starts in a row (the
   first pays for Python's bytecode cache and the OS file cache); then the same for a minimal
   Streamlit app with the first view's kinds of element and no model (FLOOR_START_APP): what
   Streamlit itself costs on this machine.
2. (The traversal sliders decode in the page now: bench/page_decode.py times them.)
3. Floor: a slider moved one step with the keyboard on a minimal Streamlit app (one slider,
   one image) -> the new image loaded, timed in the page from the keydown event to the
   animation frame in which the image is complete: what any server round trip costs.
4. t-SNE: clicking "t-SNE" on a copy of mnist-conv-z16 without its precomputed maps ->
   the map of 2,000 points drawn; then the same with the shipped, precomputed map.
5. Pages: on a warm server (its default view drawn once), each page's first visit for each
   kind of bundle (mnist-conv-z16, mnist-two-stage, mnist-vq; the β pages on mnist-beta-0),
   opened by address in a tab of one browser -> drawn; then the same for the minimal app of 1.,
   what opening any Streamlit page by address costs here.
6. β gesture: the β slider of "β as one gesture" moved one member with the keyboard across the
   shipped family (mnist-beta-0 … 8, back and forth) -> the frame in which the member's picture
   (reconstructions, prior samples, latent map, KL bars, rate–distortion plane) is loaded;
   timed in the page as the floor is. The first pass over the members (their figures
   computed, then cached for every session) is reported apart from the moves after it.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.browser import CHROMIUM_ARGS, REPO, chromium_path, explorer_server, page_plan, wait_until_drawn

# Timed inside the page: from the key's keydown event to the animation frame in which the new
# image is complete (DRAWN_AFTER_KEY_JS is polled on every frame), so the driver's own round
# trips (Python -> Playwright -> Chromium) are not counted.
KEYDOWN_JS = """() => { window.__keydown = null;
  document.addEventListener('keydown', () => { window.__keydown = performance.now(); }, true); }"""
DRAWN_AFTER_KEY_JS = """(before) => { const all = document.querySelectorAll('[data-testid="stImage"] img');
  const img = all[all.length - 1];
  if (!(img && img.src !== before && img.complete)) return false;
  return performance.now() - window.__keydown; }"""


def last_image_src(page) -> str:
    return page.get_by_test_id("stImage").locator("img").last.get_attribute("src")


def slider_times(browser, url: str, slider: int, presses: int) -> list[float]:
    """Seconds from a slider moved one step with the keyboard (its keydown event in the page)
    to the frame in which the new image is loaded."""
    times = []
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    page.goto(url)
    wait_until_drawn(page)
    page.evaluate(KEYDOWN_JS)
    page.get_by_role("slider").nth(slider).focus()
    for k in range(presses):
        before = last_image_src(page)
        page.keyboard.press("ArrowRight" if (k // 10) % 2 == 0 else "ArrowLeft")
        ms = page.wait_for_function(DRAWN_AFTER_KEY_JS, arg=before, polling="raf", timeout=10_000).json_value()
        times.append(ms / 1000)
    page.close()
    return times


GESTURE_DRAWN_JS = """([beta, before]) => {
  const mark = new RegExp('^β = ' + beta.replace('.', '\\\\.') + ':');  // "β = 0" is not "β = 0.5"
  const caption = Array.from(document.querySelectorAll('.stMain [data-testid="stImageCaption"]')).some(c => mark.test(c.innerText));
  const imgs = Array.from(document.querySelectorAll('.stMain [data-testid="stImage"] img'));
  if (!caption || imgs.length < 1 || imgs.some(i => before.includes(i.src) || !i.complete)) return false;
  return performance.now() - window.__keydown; }"""
BETAS = ["0", "0.5", "1", "2", "4", "8"]


def gesture_times(browser, presses: int) -> tuple[list[float], list[float]]:
    """Seconds from a β-slider move (keydown) to every figure of the new member drawn: the
    first pass over the family, then ``presses`` moves back and forth."""
    first, warm = [], []
    with explorer_server() as (url, _, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(f"{url}/beta_gesture?bundle=mnist-beta-0")
        wait_until_drawn(page)
        page.evaluate(KEYDOWN_JS)
        page.get_by_role("slider").focus()
        k, step = 0, 1
        for move in range(len(BETAS) - 1 + presses):
            if not 0 <= k + step < len(BETAS):
                step = -step
            k += step
            before = page.evaluate("() => Array.from(document.querySelectorAll('.stMain [data-testid=\"stImage\"] img')).map(i => i.src)")
            page.keyboard.press("ArrowRight" if step > 0 else "ArrowLeft")
            ms = page.wait_for_function(GESTURE_DRAWN_JS, arg=[BETAS[k], before], polling="raf",
                                        timeout=60_000).json_value()
            (first if move < len(BETAS) - 1 else warm).append(ms / 1000)
        page.close()
    return first, warm


# Streamlit's own start on this machine: the first view's kinds of element (a picker, a number
# box, an uploader, a formula, a row of images, a slider), no torch and no model.
FLOOR_START_APP = """import numpy as np
import streamlit as st

st.sidebar.selectbox("bundle", ["a", "b"])
st.sidebar.number_input("image", 0, 10, 1)
st.sidebar.file_uploader("zip")
st.title("floor")
st.latex(r"z = \\mu + \\sigma \\odot \\epsilon")
st.image([np.full((28, 28), 100, np.uint8)] * 10, width=64)
st.slider("s", 0, 10, 1)
"""


def start_time(browser, script: str = "explorer/app.py") -> float:
    with explorer_server(script=script) as (url, started, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(url)
        elapsed = wait_until_drawn(page) - started
        page.close()
    return elapsed


def floor_start_times(browser) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "floor_start.py"
        app.write_text(FLOOR_START_APP)
        return [start_time(browser, str(app)) for _ in range(3)]


def open_time(page, url: str) -> float:
    t0 = time.perf_counter()
    page.goto(url)
    return wait_until_drawn(page) - t0


def page_times(browser) -> tuple[dict[str, float], list[float]]:
    """Each page's first visit on a warm server, by address, and the minimal app opened the same way."""
    out = {}
    with explorer_server() as (url, _, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        open_time(page, url)  # the server warm: torch imported, the default bundle loaded
        for address, bundle in page_plan():
            out[f"{address or 'reconstructions'} ({bundle})"] = open_time(page, f"{url}/{address}?bundle={bundle}")
        page.close()
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "floor_start.py"
        app.write_text(FLOOR_START_APP)
        with explorer_server(script=str(app)) as (url, _, _):
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            floor = [open_time(page, url) for _ in range(4)][1:]
            page.close()
    return out, floor


# The least a Streamlit slider -> image round trip costs on this machine: one slider in a
# fragment and a 224 px image, nothing else.
FLOOR_APP = """import numpy as np
import streamlit as st


@st.fragment
def live():
    v = st.slider("v", -3.0, 3.0, 0.0, 0.1)
    st.image(np.full((28, 28), int((v + 3) * 40), np.uint8), width=224, output_format="PNG")


st.title("floor")
live()
"""


def floor_times(browser, presses: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "floor.py"
        app.write_text(FLOOR_APP)
        with explorer_server(script=str(app)) as (url, _, _):
            return slider_times(browser, url, 0, presses)


def report(name: str, times: list[float]) -> None:
    q = statistics.quantiles(times, n=20)
    print(f"{name}: median {statistics.median(times) * 1000:.0f} ms, p95 {q[18] * 1000:.0f} ms over {len(times)} moves")


def tsne_times(browser) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "mnist-conv-z16-uncached"
        shutil.copytree(REPO / "checkpoints" / "mnist-conv-z16", copy)
        (copy / "projections.safetensors").unlink(missing_ok=True)
        out = {}
        with explorer_server("--bundles", tmp) as (url, _, _):
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            for name, bundle in (("uncached", copy.name), ("precomputed", "mnist-conv-z16")):
                page.goto(f"{url}/latent_map?bundle={bundle}")
                wait_until_drawn(page)
                t0 = time.perf_counter()
                page.get_by_text("t-SNE", exact=True).click()
                page.wait_for_timeout(200)  # let the rerun begin before waiting for it to end
                out[name] = wait_until_drawn(page) - t0
            page.close()
    return out


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--only", nargs="+", choices=["start", "pages", "floor", "tsne", "gesture"],
                        default=["start", "pages", "floor", "tsne", "gesture"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    out = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        if "start" in args.only:
            starts = out["start_s"] = [start_time(browser) for _ in range(3)]
            print(f"start -> first view drawn: first {starts[0]:.1f} s, then {starts[1]:.1f} s and {starts[2]:.1f} s")
            bare = out["floor_start_s"] = floor_start_times(browser)
            print("minimal Streamlit app (same kinds of element, no model), start -> drawn: "
                  + ", ".join(f"{t:.1f}" for t in bare) + " s")
        if "pages" in args.only:
            visits, bare = page_times(browser)
            out["page_first_visit_s"], out["floor_open_s"] = visits, bare
            for name, t in sorted(visits.items(), key=lambda kv: -kv[1]):
                print(f"  first visit {t:5.2f} s  {name}")
            print("minimal Streamlit app opened by address: " + ", ".join(f"{t:.2f}" for t in bare) + " s")
        if "floor" in args.only:
            floor = floor_times(browser, args.presses)
            out["floor_ms"] = [t * 1000 for t in floor]
            report("minimal Streamlit app, slider -> new image", floor)
        if "tsne" in args.only:
            tsne = out["tsne_s"] = tsne_times(browser)
            print(f"t-SNE of 2,000 points, click -> drawn: uncached {tsne['uncached']:.1f} s, "
                  f"precomputed {tsne['precomputed']:.1f} s")
        if "gesture" in args.only:
            first, warm = gesture_times(browser, args.presses)
            out["gesture_first_ms"], out["gesture_ms"] = [t * 1000 for t in first], [t * 1000 for t in warm]
            print("β gesture, first visit of each member (figures computed): "
                  + ", ".join(f"{t * 1000:.0f}" for t in first) + " ms")
            report("β gesture, slider -> every figure of the member drawn", warm)
        browser.close()
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
