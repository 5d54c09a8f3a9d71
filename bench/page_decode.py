"""Decoding in the page (explorer/live_decode.py): how fast, how many bytes, how soon.

    python -m bench.page_decode [--moves 60] [--json out.json]

Printed (not asserted), in headless Chromium against one `streamlit run`:
1. Weights sent per shipped bundle (bytes, float16 or float32) and the float16 error.
2. Decode alone: z -> image by the page's kernels, p50/p95 over 200 calls per bundle.
3. Pointer move -> frame with the new image, timed in the page: from the pointer event's
   timeStamp (when the move arrived; for a slider, the move that moved its thumb) to the
   animation frame after the image was drawn; a mouse drag on the traversal sliders (MLP
   mnist-beta-1, convolutional mnist-conv-z16) and hover on the 2-D pads (latent map of
   digits-mlp-z2, manifold grid of mnist-conv-z2). A move is either handled at once or held by
   Chromium for its next frame (60 Hz): the share of moves that waited (over half a frame
   interval, 8.3 ms) is printed beside the percentiles.
4. Time to the first decoded frame after opening the view (ms after navigation start).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

from tests.browser import CHROMIUM_ARGS, REPO, chromium_path, explorer_server, wait_until_drawn

CASES = [("traversals", "mnist-beta-1", ".pd-slider input"), ("traversals", "mnist-conv-z16", ".pd-slider input"),
         ("latent_map", "digits-mlp-z2", ".pd-overlay"), ("manifold", "mnist-conv-z2", ".pd-overlay")]


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.processor())


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def decode_alone(browser) -> dict:
    from explorer import page_decoder
    from vae_core.checkpoint import load_bundle

    page = browser.new_page()
    page.set_content("<html></html>")
    page.add_script_tag(content=(REPO / "explorer/components/decoder_kernels.js").read_text())
    out = {}
    for path in sorted((REPO / "checkpoints").glob("*/config.json")):
        model = load_bundle(path.parent).model
        e = page_decoder.export(model)
        z = page_decoder.check_latents(model, n=200).reshape(200, -1).tolist()
        times = page.evaluate("""([spec, b64, dtype, zs]) => { const d = buildPageDecoder(spec, pdFloats(b64, dtype));
          return zs.map((z) => { const t = performance.now(); d.decode(z); return performance.now() - t; }); }""",
                              [e.spec, e.weights, e.dtype, z])
        out[path.parent.name] = {"bytes": e.nbytes, "dtype": e.dtype, "float16_error": e.float16_error,
                                 "decode_p50_ms": pct(times[20:], 0.5), "decode_p95_ms": pct(times[20:], 0.95)}
    page.close()
    return out


def drag(page, selector: str, moves: int) -> None:
    target = page.locator(selector).first
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    pad = box["height"] > 50
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * (0.1 if pad else 0.5))
    if not pad:
        page.mouse.down()
    for k in range(moves):
        f = 0.1 + 0.8 * (k % 20) / 19 if (k // 20) % 2 == 0 else 0.9 - 0.8 * (k % 20) / 19
        page.mouse.move(box["x"] + box["width"] * f, box["y"] + box["height"] * (f if pad else 0.5))
        time.sleep(0.03)  # a hand's pace: about 30 moves a second
    if not pad:
        page.mouse.up()


def interactions(browser, url: str, moves: int) -> dict:
    out = {}
    for view, bundle, selector in CASES:
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(f"{url}/{view}?bundle={bundle}")
        wait_until_drawn(page)
        first = page.evaluate("window.__pdFirstFrame")
        page.evaluate("window.__pdTimes = []")
        drag(page, selector, moves)
        times = page.evaluate("window.__pdTimes")
        out[f"{view} {bundle}"] = {"first_frame_ms": first, "moves": len(times),
                                   "waited_a_frame": sum(t > 1000 / 120 for t in times) / len(times),
                                   "p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95), "max_ms": max(times)}
        page.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=60)
    parser.add_argument("--json")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        alone = decode_alone(browser)
        for name, r in alone.items():
            print(f"{name:18s} weights {r['bytes']:>9,} bytes {r['dtype']} (float16 error {r['float16_error']:.4f}); "
                  f"decode alone p50 {r['decode_p50_ms']:.2f} ms, p95 {r['decode_p95_ms']:.2f} ms")
        with explorer_server() as (url, _, _):
            moved = interactions(browser, url, args.moves)
        for name, r in moved.items():
            print(f"{name:32s} pointer move -> frame p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, "
                  f"max {r['max_ms']:.1f} ms ({r['moves']} moves, {r['waited_a_frame']:.0%} waited a frame); first decoded frame {r['first_frame_ms']:.0f} ms "
                  "after navigation start")
        browser.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu_model(), "decode": alone, "interactions": moved}, f, indent=1)


if __name__ == "__main__":
    main()
