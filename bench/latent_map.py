"""The latent map at the scale of a data set: compute, cache, page.

    python -m bench.latent_map [--bundle checkpoints/mnist-conv-z16] [--sources test all]
                               [--methods pca tsne umap] [--cache DIR] [--hovers 200] [--skip-page | --skip-compute]

Printed (not asserted), with the CPU model; MNIST must be in $VAE_DATA_DIR:
1. Compute, cold (an empty cache folder): encoding every image of the source (test: 10,000;
   all: 70,000), then each projection of the 16-D posterior means; then the same read back
   from the disk cache, as a fresh server does. The TensorBoard Projector, for comparison,
   samples t-SNE down to 10,000 points and UMAP to 5,000 (vz_projector/data.ts).
2. Page, in headless Chromium against one `streamlit run` on the warm cache: bytes the page
   received over Streamlit's websocket (for the first source, the whole view's; for another,
   from choosing it), time to the map drawn (from opening the view, or from choosing the source), hover → frame with the image (from the pointer event's timeStamp to the animation
   frame after the thumbnail is drawn) p50/p95 over --hovers moves, and what a lasso costs the
   page (the point-in-polygon test over every point).
"""
from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from bench.page_decode import cpu_model, pct


def compute(bundle_path: Path, source: str, methods: list[str]) -> dict:
    from vae_core import load_bundle, split_maps

    bundle = load_bundle(bundle_path)
    out = {}
    for attempt in ("cold", "cached"):
        started = time.perf_counter()
        points = split_maps.split_points(bundle, source)
        out[f"encode {attempt}"] = time.perf_counter() - started
        for method in methods:
            started = time.perf_counter()
            split_maps.split_map(bundle, source, method, points["mu"])
            out[f"{method} {attempt}"] = time.perf_counter() - started
    out["n"] = len(points["mu"])
    return out


def page(bundle: str, source_label: str, hovers: int) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS, chromium_path, explorer_server, wait_until_drawn

    with explorer_server() as (url, _, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        p = browser.new_page(viewport={"width": 1280, "height": 1200})
        received = [0]
        p.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received.__setitem__(
            0, received[0] + len(frame if isinstance(frame, (bytes, str)) else b""))))
        opened = time.perf_counter()
        p.goto(f"{url}/latent_map?bundle={bundle}")
        wait_until_drawn(p, 300)
        p.wait_for_function("() => window.__lmState", timeout=300_000)
        if source_label:  # another source than the first: pick it, then wait for its map
            before = received[0]
            p.get_by_test_id("stMain").get_by_test_id("stSelectbox").first.click()
            started = time.perf_counter()
            p.get_by_role("option").filter(has_text=source_label).click()
            p.wait_for_function(f"() => window.__lmState && window.__lmState.n > 10000", timeout=600_000)
        else:
            before, started = 0, opened
        drawn_s = time.perf_counter() - started
        wait_until_drawn(p, 300)
        n = p.evaluate("window.__lmState.n")
        canvas = p.locator(".lm-over")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        p.evaluate("window.__lmTimes = []")
        rng = random.Random(0)
        for _ in range(hovers):
            x, y = p.evaluate(f"window.__lmState.screen({rng.randrange(n)})")
            p.mouse.move(box["x"] + x, box["y"] + y)
            p.wait_for_timeout(20)
        times = p.evaluate("window.__lmTimes")
        w, h = box["width"], box["height"]
        poly = [[0.1 * w, 0.1 * h], [0.9 * w, 0.2 * h], [0.7 * w, 0.9 * h], [0.2 * w, 0.8 * h]]
        lasso_ms = p.evaluate(f"() => {{ const t = performance.now(); const k = window.__lmState.inside({poly}); "
                              "return [performance.now() - t, k]; }")
        browser.close()
    return {"n": n, "bytes": received[0] - before, "drawn_s": drawn_s, "hover_p50": pct(times, 0.5),
            "hover_p95": pct(times, 0.95), "hovered": len(times), "lasso_ms": lasso_ms[0], "lassoed": lasso_ms[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default="checkpoints/mnist-conv-z16", type=Path)
    parser.add_argument("--sources", nargs="+", default=["test", "all"], choices=["test", "train", "all"])
    parser.add_argument("--methods", nargs="+", default=["pca", "tsne", "umap"])
    parser.add_argument("--cache", type=Path, default=None, help="cache folder (default: a new temporary one)")
    parser.add_argument("--hovers", type=int, default=200)
    parser.add_argument("--skip-page", action="store_true")
    parser.add_argument("--skip-compute", action="store_true", help="only the page (on a cache filled before)")
    args = parser.parse_args()
    os.environ.setdefault("VAE_MAP_CACHE", str(args.cache or tempfile.mkdtemp(prefix="map-cache-")))
    os.environ.pop("VAE_MAP_MAX_POINTS", None)
    print(f"{cpu_model()}, {os.cpu_count()} cores; {args.bundle.name}; cache {os.environ['VAE_MAP_CACHE']}")
    for source in [] if args.skip_compute else args.sources:
        r = compute(args.bundle, source, args.methods)
        print(f"\n{source}: {r['n']:,} points, seconds cold / from the disk cache")
        for what in ["encode", *args.methods]:
            print(f"  {what:7s} {r[f'{what} cold']:8.1f} / {r[f'{what} cached']:.3f}")
    if args.skip_page:
        return
    labels = {"test": "", "train": "train split", "all": "test + training"}
    for source in args.sources:
        r = page(args.bundle.name, labels[source], args.hovers)
        print(f"\npage, {source} ({r['n']:,} points): {r['bytes'] / 1e6:.1f} MB received for the map, drawn "
              f"{r['drawn_s']:.1f} s after {'choosing it' if labels[source] else 'opening the view'}; hover → frame with the image p50 {r['hover_p50']:.1f} ms, "
              f"p95 {r['hover_p95']:.1f} ms ({r['hovered']} moves); a lasso's point-in-polygon test "
              f"{r['lasso_ms']:.1f} ms ({r['lassoed']:,} points inside)")


if __name__ == "__main__":
    main()
