"""The static page (explorer/site/): how many bytes, how soon the first image, how fast a move.

    python -m bench.site_page [--moves 60] [--bundles mnist-conv-z16 mnist-vq digits-mlp-z2] [--screenshots DIR]

Exports the shipped bundles with vae-export-site's defaults into a temporary folder, serves it
with Python's http.server on 127.0.0.1 (as a teacher's laptop would), and prints, per bundle,
in headless Chromium (not asserted):
1. Bytes the page loads (HTML, scripts, data.js with the weights and probe images).
2. The first decoded image, ms after navigation start, a cold page (new context, no cache), beside
   the floor: the same load's first contentful paint (its text, before any script has run).
3. Pointer move -> frame with the new image (bench.page_decode's measure): a mouse drag on the
   first traversal slider of a Gaussian bundle, or hovering over the VQ-VAE's code palette.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import logging
import os
import tempfile
import threading
from pathlib import Path

from bench.page_decode import cpu_model, drag, pct
from tests.browser import CHROMIUM_ARGS, REPO, chromium_path

DEFAULT = ("mnist-conv-z16", "mnist-vq", "digits-mlp-z2")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # one line per request otherwise
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def hover_codes(page, moves: int) -> None:
    buttons = page.locator(".pd-code")
    buttons.first.scroll_into_view_if_needed()
    for k in range(moves):
        buttons.nth(k % min(20, buttons.count())).hover()


def measure(browser, url: str, name: str, moves: int) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    loaded = []
    page.on("requestfinished", lambda request: loaded.append(request.sizes()["responseBodySize"]))
    page.goto(f"{url}/{name}/index.html")
    page.wait_for_function("() => window.__pdFirstFrame > 0")
    first = page.evaluate("window.__pdFirstFrame")
    # The floor, measured on the same load: the browser's first paint of any text of the page.
    paint = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN")
    page.evaluate("window.__pdTimes = []")
    if page.locator("#traversals").count():
        drag(page, "#traversals .pd-slider input", moves)
    else:
        hover_codes(page, moves)
    times = page.evaluate("window.__pdTimes")
    context.close()
    return {"bytes": sum(loaded), "first_frame_ms": first, "first_paint_ms": paint, "moves": len(times),
            "p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95)}


def screenshots(browser, url: str, name: str, out: Path) -> None:
    """The page at a projector's 1280 x 720 and a phone's 390 x 844, scrolled to its first
    interactive section (traversals, or a VQ-VAE's code editing), after a drag or hover on it."""
    section = "#traversals" if name != "mnist-vq" and "vq" not in name else "#code_edit"
    for kind, size in (("desktop", {"width": 1280, "height": 720}), ("phone", {"width": 390, "height": 844})):
        context = browser.new_context(viewport=size, has_touch=kind == "phone", is_mobile=kind == "phone")
        page = context.new_page()
        page.goto(f"{url}/{name}/index.html")
        page.wait_for_function("() => window.__pdFirstFrame > 0")
        if section == "#traversals":
            drag(page, f"{section} .pd-slider input", 10)
        else:
            hover_codes(page, 3)
        page.locator(section).evaluate("(el) => el.scrollIntoView()")
        page.screenshot(path=str(out / f"site-{name}-{kind}.png"))
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=60)
    parser.add_argument("--bundles", nargs="+", default=list(DEFAULT))
    parser.add_argument("--screenshots", metavar="DIR", help="also save each page at 1280x720 and 390x844 in DIR")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    logging.disable(logging.WARNING)  # Streamlit's "No runtime found": no server is needed here
    from explorer.site.export import export_site

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        export_site([REPO / "checkpoints" / name for name in args.bundles], Path(tmp) / "site")
        server, url = serve(Path(tmp) / "site")
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for name in args.bundles:
            r = measure(browser, url, name, args.moves)
            print(f"{name:16s} {r['bytes'] / 1e6:.2f} MB loaded; first decoded image {r['first_frame_ms']:.0f} ms after "
                  f"navigation start (its text first painted at {r['first_paint_ms']:.0f} ms); pointer move -> frame p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms "
                  f"({r['moves']} moves)")
            if args.screenshots:
                screenshots(browser, url, name, Path(args.screenshots))
        browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
