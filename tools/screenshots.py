"""Screenshots of every explorer view in headless Chromium (Debian's), for eyes and for README.

    python tools/screenshots.py [--url http://127.0.0.1:8501] [--out docs/screenshots] [--bundle NAME]

Expects a running ``streamlit run explorer/app.py``. Waits for each page's script to finish
and its figures to draw before taking the picture.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

# view -> (URL path, viewport height in pixels: Streamlit scrolls inside the page, so the
# viewport must be tall enough to show the whole view)
VIEWS = {"reconstructions": ("", 1000), "latent_map": ("latent_map", 1150),
         "traversals": ("traversals", 2450), "objective": ("objective", 2250)}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def wait_until_drawn(page, timeout_s: float = 180) -> None:
    """Wait until the page's figures are in the DOM and Streamlit's 'running' indicator has been
    gone for a steady second (it can reappear while cached work finishes), then let plotly draw."""
    page.wait_for_selector(".js-plotly-plot, [data-testid='stAlert']", timeout=timeout_s * 1000)
    deadline, quiet_since = time.time() + timeout_s, None
    while time.time() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count() > 0
        quiet_since = None if running else (quiet_since or time.time())
        if quiet_since and time.time() - quiet_since > 1.0:
            break
        time.sleep(0.2)
    page.wait_for_timeout(1000)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8501")
    p.add_argument("--out", default="docs/screenshots")
    p.add_argument("--bundle", default=None, help="bundle name to pick in the sidebar first")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name, (path, height) in VIEWS.items():
            page.set_viewport_size({"width": 1400, "height": height})
            page.goto(f"{args.url}/{path}")
            wait_until_drawn(page)
            if args.bundle:
                page.get_by_test_id("stSelectbox").first.click()
                page.get_by_role("option", name=args.bundle).click()
                wait_until_drawn(page)
            suffix = f"-{args.bundle}" if args.bundle else ""
            page.screenshot(path=str(out / f"{name}{suffix}.png"))
            print(out / f"{name}{suffix}.png")
            if name == "latent_map":  # the t-SNE map too: it is where the classes separate
                started = time.time()
                page.get_by_text("t-SNE", exact=True).click()
                page.wait_for_timeout(500)
                wait_until_drawn(page)
                page.screenshot(path=str(out / f"latent_map_tsne{suffix}.png"))
                print(out / f"latent_map_tsne{suffix}.png", f"(t-SNE drawn {time.time() - started:.1f} s after the click)")
        browser.close()


if __name__ == "__main__":
    main()
