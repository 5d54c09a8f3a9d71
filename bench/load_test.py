"""Many users on one explorer: N headless Chromium sessions against one `streamlit run`.

    python -m bench.load_test [--sessions 10] [--seconds 60] [--json out.json]

Each session is one user: one tab on one shipped bundle (the sessions share them out) that,
for --seconds, switches views through the sidebar at random and, on the traversal view (half
the visits), drags a slider that decodes in the page for 3 s, each move timed in the page from
the pointer event to the frame with the new image (bench/drag_load.py drags without browsing). Printed
(not asserted): errors (a view showing an exception, a page error, a timeout), the p95 of
slider -> new image, views drawn, and the server's resident memory after the first view, after
one session has drawn every view of every shipped bundle (every cache filled once) and at the
end: growth past the second figure would be memory held per session or leaked.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path


from tests.browser import CHROMIUM_ARGS, DRAWN_JS, REPO, chromium_path, explorer_server

from bench.drag_load import gesture  # noqa: E402  (the same hand: 90 moves at 30 a second, then a release)

VIEWS = ["", "posterior", "generation", "latent_map", "traversals", "manifold", "interpolation", "objective",
         "model_card"]  # URL paths, for filling the caches first
BUNDLES = sorted(p.parent.name for p in (REPO / "checkpoints").glob("*/config.json"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def drawn(page, timeout_s: float = 60) -> None:
    await page.wait_for_function(DRAWN_JS, polling=100, timeout=timeout_s * 1000)


NAV = ["Reconstructions", "Posterior spread", "Generation", "Latent map", "Latent traversals", "Manifold grid",
       "Interpolation", "β / KL vs reconstruction", "Model card"]


async def switch_view(page, title: str) -> None:
    """Click the view's link in the sidebar, as a user does (same session), and wait until the
    new view's title replaced the old one and the view is drawn."""
    heading = page.locator('[data-testid="stMain"] h1').first
    old = await heading.text_content()
    await page.get_by_test_id("stSidebarNavLink").filter(has_text=title).first.click()
    await page.wait_for_function("(old) => { const h = document.querySelector('[data-testid=\"stMain\"] h1');"
                                 " return h && h.textContent !== old; }", arg=old, polling=100, timeout=60_000)
    await drawn(page)


async def session(browser, url: str, deadline: float, seed: int, stats: dict) -> None:
    """One user: one tab on one bundle, switching views through the sidebar until the deadline."""
    rng = random.Random(seed)
    bundle = BUNDLES[seed % len(BUNDLES)]
    context = await browser.new_context(viewport={"width": 1400, "height": 1800})
    page = await context.new_page()
    page.on("pageerror", lambda exc: stats["errors"].append(f"page error: {exc}"))
    await page.goto(f"{url}/?bundle={bundle}&i={rng.randrange(300)}")
    await drawn(page, 120)
    current = "Reconstructions"
    while time.time() < deadline:
        # Half the visits are to the traversal view, where the sliders are.
        view = rng.choice(["Latent traversals", rng.choice(NAV)])
        if view == current:
            continue
        try:
            await switch_view(page, view)
            current = view
            if await page.get_by_test_id("stException").count():
                stats["errors"].append(f"exception shown on {view} / {bundle}")
            stats["views"] += 1
            slider = page.locator(".pd-slider input").first
            if view == "Latent traversals" and await slider.count():  # a VQ-VAE has no traversal sliders
                await slider.scroll_into_view_if_needed()
                await page.evaluate("window.__pdTimes = []")
                await gesture(page, await slider.bounding_box(), False, seed)
                stats["slider_s"] += [ms / 1000 for ms in await page.evaluate("window.__pdTimes")]
        except Exception as exc:  # a timeout or a closed page: counted, and the session goes on
            stats["errors"].append(f"{type(exc).__name__} on {view} / {bundle}: {str(exc)[:120]}")
    await context.close()


async def run(sessions: int, seconds: float) -> dict:
    from playwright.async_api import async_playwright

    stats = {"errors": [], "slider_s": [], "views": 0}
    with explorer_server() as (url, _, proc):
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            warm = await browser.new_page()
            await warm.goto(url)
            await drawn(warm, 120)
            rss_start = rss_mb(proc.pid)
            for bundle in BUNDLES:  # fill every cache once: what stays is what one copy costs
                for view in VIEWS:
                    await warm.goto(f"{url}/{view}?bundle={bundle}")
                    await drawn(warm, 120)
            await warm.close()
            rss_warm = rss_mb(proc.pid)
            deadline = time.time() + seconds
            await asyncio.gather(*(session(browser, url, deadline, seed, stats) for seed in range(sessions)))
            rss_end = rss_mb(proc.pid)
            await browser.close()
    bundle_mb = sum(f.stat().st_size for b in BUNDLES for f in (REPO / "checkpoints" / b).iterdir()) / 2**20
    slider = stats["slider_s"]
    return {"sessions": sessions, "seconds": seconds, "views_drawn": stats["views"], "errors": stats["errors"],
            "slider_moves": len(slider),
            "slider_p95_ms": statistics.quantiles(slider, n=20)[18] * 1000 if len(slider) >= 20 else None,
            "slider_median_ms": statistics.median(slider) * 1000 if slider else None,
            "server_rss_mb": {"after_first_view": round(rss_start), "after_every_view_once": round(rss_warm),
                              "end": round(rss_end)},
            "shipped_bundles_mb_on_disk": round(bundle_mb, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = asyncio.run(run(args.sessions, args.seconds))
    print(f"{result['sessions']} sessions for {result['seconds']:.0f} s: {result['views_drawn']} views drawn, "
          f"{len(result['errors'])} errors, {result['slider_moves']} slider moves "
          f"(median {result['slider_median_ms'] or float('nan'):.0f} ms, p95 {result['slider_p95_ms'] or float('nan'):.0f} ms); "
          f"server RSS {result['server_rss_mb']['after_first_view']} MB after the first view, "
          f"{result['server_rss_mb']['after_every_view_once']} MB once every view of every bundle was drawn, "
          f"{result['server_rss_mb']['end']} MB at the end (shipped bundles: {result['shipped_bundles_mb_on_disk']} MB on disk)")
    for error in result["errors"][:20]:
        print("  error:", error)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
