"""Frame sequences of the interactions that decode in the page, for README and docs.

    python -m tools.frames [--out docs/screenshots]

Starts its own explorer, drives headless Chromium (Debian's chromium) through each interaction
and writes one PNG per interaction: the same region of the page at four pointer positions,
side by side, then (sliders) the position after the release reached the server:

  page_decode-slider-drag.png           a traversal slider of mnist-beta-1 dragged
  page_decode-hover-digits-mlp-z2.png   the cursor over the 2-D latent map of digits-mlp-z2
  page_decode-hover-manifold.png        the cursor over the manifold grid of mnist-conv-z2
  page_decode-scrub-interpolation.png   t dragged along both interpolation paths (mnist-beta-1)
  page_decode-vq-codes.png              codes under the cursor in one cell (mnist-vq)
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image

from tests.browser import CHROMIUM_ARGS, chromium_path, explorer_server, wait_until_drawn

# (file name, view, bundle, element the pointer moves over, element whose row is captured,
#  pointer positions as fractions of the element's box, press the button while moving)
CASES = [("page_decode-slider-drag", "traversals", "mnist-beta-1", ".pd-slider input", ".pd-row",
          [(0.5, 0.5), (0.65, 0.5), (0.8, 0.5), (0.95, 0.5)], True),
         ("page_decode-hover-digits-mlp-z2", "latent_map", "digits-mlp-z2", ".pd-overlay", ".pd-row",
          [(0.2, 0.2), (0.5, 0.5), (0.8, 0.3), (0.7, 0.8)], False),
         ("page_decode-hover-manifold", "manifold", "mnist-conv-z2", ".pd-overlay", ".pd-row",
          [(0.1, 0.1), (0.4, 0.35), (0.7, 0.6), (0.9, 0.9)], False),
         ("page_decode-scrub-interpolation", "interpolation", "mnist-beta-1", ".pd-slider input", ".pd-row",
          [(0.0, 0.5), (0.35, 0.5), (0.65, 0.5), (1.0, 0.5)], True),
         ("page_decode-vq-codes", "code_edit", "mnist-vq", ".pd-code", ".pd-root", [(0, 0), (1, 0), (2, 0), (3, 0)], False)]


def frames(page, target: str, row: str, positions, press: bool) -> list[Image.Image]:
    el = page.locator(target).first
    el.evaluate("(e) => e.scrollIntoView({block: 'center'})")  # the whole row inside the viewport
    shots, region = [], None
    if press:
        box = el.bounding_box()
        page.mouse.move(box["x"] + box["width"] * positions[0][0], box["y"] + box["height"] / 2)
        page.mouse.down()
    for fx, fy in positions:
        if target == ".pd-code":  # the k-th code button of the palette
            page.locator(target).nth(int(fx)).hover()
        else:
            box = el.bounding_box()
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * (1 - fy), steps=8)
        page.wait_for_timeout(150)
        region = region or page.locator(row).first.bounding_box()  # measured once drawn
        shots.append(Image.open(io.BytesIO(page.screenshot(clip=region))))
    if press:
        page.mouse.up()
        page.wait_for_timeout(300)
        wait_until_drawn(page)
        shots.append(Image.open(io.BytesIO(page.screenshot(clip=page.locator(row).first.bounding_box()))))
    return shots


def side_by_side(shots: list[Image.Image], gap: int = 16) -> Image.Image:
    w, h = sum(s.width for s in shots) + gap * (len(shots) - 1), max(s.height for s in shots)
    out, x = Image.new("RGB", (w, h), "white"), 0
    for s in shots:
        out.paste(s, (x, 0))
        x += s.width + gap
    return out


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    with explorer_server() as (url, _, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for name, view, bundle, target, row, positions, press in CASES:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.goto(f"{url}/{view}?bundle={bundle}")
            wait_until_drawn(page)
            side_by_side(frames(page, target, row, positions, press)).save(args.out / f"{name}.png")
            print(args.out / f"{name}.png")
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
