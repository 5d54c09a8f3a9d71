"""Screenshots of every explorer view in headless Chromium (Debian's), for eyes and for README.

    python -m tools.screenshots [--url http://127.0.0.1:8501] [--out docs/screenshots] [--bundle NAME --image I]
                                [--whole]

Expects a running ``streamlit run explorer/app.py``. Waits for each page's script to finish
and its figures to draw before taking the picture. By default each picture is what a 1280×720
projector shows of the view; --whole makes the window tall enough for the whole view.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser import CHROMIUM_ARGS, wait_until_drawn  # shared with the browser tests

WIDTH, HEIGHT = 1280, 720  # a classroom projector

# view -> (URL path, viewport height in pixels with --whole: Streamlit scrolls inside the page, so the
# viewport must be tall enough to show the whole view)
VIEWS = {"reconstructions": ("", 1000), "latent_map": ("latent_map", 1900),
         "traversals": ("traversals", 2450), "manifold": ("manifold", 1500),
         "interpolation": ("interpolation", 900), "aggregate": ("aggregate", 2300), "generation": ("generation", 1700),
         "posterior": ("posterior", 1300), "objective": ("objective", 2250), "model_card": ("model_card", 1900),
         "rate_distortion": ("rate_distortion", 1550), "compare": ("compare", 2700),
         "codes": ("codes", 1000), "codebook": ("codebook", 2100), "code_edit": ("code_edit", 1250),
         "lessons": ("lessons", 1900), "beta_gesture": ("beta_gesture", 1250)}


def walk_lesson(page, url: str, lesson: str, out: Path, teacher: bool) -> None:
    """Every step of ``lesson`` from its link's step 1, moving on with its Next button."""
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.goto(f"{url}/?lesson={lesson}&step=1" + ("&teacher=1" if teacher else ""))
    wait_until_drawn(page)
    k = 1
    while True:
        page.wait_for_timeout(500)
        wait_until_drawn(page)
        page.screenshot(path=str(out / f"lesson-{lesson}-step-{k}.png"))
        print(out / f"lesson-{lesson}-step-{k}.png")
        following = page.get_by_role("button", name="Next", exact=True)  # not "Next lesson: …"
        if following.is_disabled():
            return
        following.click()
        k += 1
        page.get_by_text(f"step {k} of").wait_for(timeout=60_000)
def show_map(page) -> None:
    """The latent map in view, its title row just above, and the pointer on one point, whose
    image the page shows (explorer/components/latent_map.js)."""
    page.wait_for_function("() => window.__lmState && window.__lmState.n > 0", timeout=300_000)
    canvas = page.locator(".lm-over")
    canvas.evaluate("(c) => c.closest('.lm-root').scrollIntoView({block: 'start'})")
    page.mouse.wheel(0, -140)  # the toolbar too, below Streamlit's top bar
    page.wait_for_timeout(300)
    box = canvas.bounding_box()
    x, y = page.evaluate("window.__lmState.screen(Math.floor(window.__lmState.n / 3))")
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.wait_for_timeout(300)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8501")
    p.add_argument("--out", default="docs/screenshots")
    p.add_argument("--bundle", default=None, help="bundle name, passed in the URL")
    p.add_argument("--image", type=int, default=0, help="selected probe image, with --bundle")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--only", nargs="*", default=None, help="views to take (default: all)")
    p.add_argument("--quick", action="store_true", help="skip the t-SNE screenshot")
    p.add_argument("--lesson", default=None, help="walk this lesson's steps (e.g. 04-beta-collapse) instead of the views")
    p.add_argument("--teacher", action="store_true", help="with --lesson: the teacher setting on")
    p.add_argument("--whole", action="store_true", help="the whole view, 1280 wide, not the 1280×720 a projector shows")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        if args.lesson:
            walk_lesson(page, args.url, args.lesson, out, args.teacher)
            args.only = []  # the lesson only
        for name, (path, height) in VIEWS.items():
            if args.only is not None and name not in args.only:
                continue
            page.set_viewport_size({"width": WIDTH, "height": height if args.whole else HEIGHT})
            page.goto(f"{args.url}/{path}" + (f"?bundle={args.bundle}&i={args.image}" if args.bundle else ""))
            wait_until_drawn(page)
            suffix = f"-{args.bundle}" if args.bundle else ""
            if name == "latent_map":
                show_map(page)
            page.screenshot(path=str(out / f"{name}{suffix}.png"))
            print(out / f"{name}{suffix}.png")
            if name == "latent_map" and not args.quick:  # the t-SNE map too: where the classes separate
                started = time.time()
                page.get_by_text("t-SNE", exact=True).click()
                page.wait_for_timeout(500)
                wait_until_drawn(page, 300)
                show_map(page)
                page.screenshot(path=str(out / f"latent_map_tsne{suffix}.png"))
                print(out / f"latent_map_tsne{suffix}.png", f"(t-SNE drawn {time.time() - started:.1f} s after the click)")
        browser.close()


if __name__ == "__main__":
    main()
