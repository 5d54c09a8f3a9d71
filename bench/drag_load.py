"""A class dragging at once: N headless Chromium sessions against one `streamlit run`, each
dragging an in-page decoder (explorer/live_decode.py) for --seconds.

    python -m bench.drag_load [--sessions 30] [--seconds 60] [--json out.json]

Each session is one student: one tab on one view that decodes in the page (traversal sliders,
the 2-D latent map, the manifold grid, the interpolation scrubbers of a Gaussian VAE and of a
VQ-VAE; the sessions share them out). The tabs are opened first (a few at a time); then all
of them drag together: a gesture is 3 s of pointer moves at a hand's pace (30 a second), then
a release, which sends the final position to the server (one script rerun), and again.

Printed (not asserted): errors (a page error, an exception shown, a session that drew no
frame, a timeout); pointer move -> frame times, timed in each page (median, p95; they include
waiting for the renderer, which the 30 sessions share); and the CPU used during the drag
window, from psutil: the server process, the Chromium renderers together, everything else,
each in cores (1.0 = one core busy all the time) and as a share of the machine.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time

import psutil

from bench.page_decode import cpu_model
from tests.browser import CHROMIUM_ARGS, DRAWN_JS, chromium_path, explorer_server

CASES = [("traversals", "mnist-beta-1", ".pd-slider input"), ("traversals", "mnist-conv-z16", ".pd-slider input"),
         ("latent_map", "digits-mlp-z2", ".pd-overlay"), ("manifold", "mnist-conv-z2", ".pd-overlay"),
         ("interpolation", "mnist-beta-4", ".pd-slider input"), ("interpolation", "mnist-vq", ".pd-slider input")]
MOVES_PER_GESTURE, MOVE_INTERVAL_S = 90, 1 / 30


def busy_seconds(processes: list[psutil.Process]) -> float:
    """CPU seconds (user + system) the processes have used so far; gone ones count 0."""
    total = 0.0
    for p in processes:
        with contextlib.suppress(psutil.Error):  # a process that has exited
            t = p.cpu_times()
            total += t.user + t.system
    return total


def renderers() -> list[psutil.Process]:
    """Chromium's renderer processes (one per tab's site), found by their command line."""
    out = []
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "chrom" in (p.info["name"] or "") and "--type=renderer" in cmd:
            out.append(p)
    return out


async def gesture(page, box: dict, pad: bool, k: int) -> None:
    """One drag (a slider: pressed, moved, released) or one hover sweep ending in a click (a pad)."""
    y_mid = box["y"] + box["height"] / 2
    await page.mouse.move(box["x"] + box["width"] * 0.1, y_mid)
    if not pad:
        await page.mouse.down()
    for m in range(MOVES_PER_GESTURE):
        f = 0.1 + 0.8 * abs(((m + k) % 60) - 30) / 30  # back and forth across the control
        g = 0.1 + 0.8 * abs(((m + 2 * k) % 44) - 22) / 22
        await page.mouse.move(box["x"] + box["width"] * f, box["y"] + box["height"] * g if pad else y_mid)
        await asyncio.sleep(MOVE_INTERVAL_S)
    if pad:
        await page.mouse.down()
    await page.mouse.up()


async def session(browser, url: str, case: tuple, opened: asyncio.Semaphore, go: asyncio.Event,
                  window: dict, stats: dict, seed: int) -> None:
    view, bundle, selector = case
    name = f"{view} / {bundle} #{seed}"
    context = await browser.new_context(viewport={"width": 1400, "height": 1400})
    page = await context.new_page()
    page.on("pageerror", lambda exc: stats["errors"].append(f"page error on {name}: {exc}"))
    try:
        async with opened:  # a few tabs load at a time, as a class does not click at the same instant
            await page.goto(f"{url}/{view}?bundle={bundle}")
            await page.wait_for_function(DRAWN_JS, polling=200, timeout=300_000)
            target = page.locator(selector).first
            await target.scroll_into_view_if_needed()
            box = await target.bounding_box()
        stats["ready"] += 1
        await go.wait()
        await page.evaluate("window.__pdTimes = []")
        k = seed
        while time.time() < window["end"]:
            await gesture(page, box, box["height"] > 50, k)
            stats["gestures"] += 1
            k += 7
        times = await page.evaluate("window.__pdTimes")
        if not times:
            stats["errors"].append(f"no frame drawn on {name}")
        stats["frames"] += times
        if await page.get_by_test_id("stException").count():
            stats["errors"].append(f"exception shown on {name}")
    except Exception as exc:  # a timeout or a closed page: counted, and the others go on
        stats["errors"].append(f"{type(exc).__name__} on {name}: {str(exc)[:160]}")
        stats["ready"] += 1
    finally:
        await context.close()


async def run(sessions: int, seconds: float) -> dict:
    from playwright.async_api import async_playwright

    stats = {"errors": [], "frames": [], "gestures": 0, "ready": 0}
    with explorer_server() as (url, _, proc):
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            opened, go, window = asyncio.Semaphore(3), asyncio.Event(), {"end": 0.0}
            tasks = [asyncio.create_task(session(browser, url, CASES[s % len(CASES)], opened, go, window, stats, s))
                     for s in range(sessions)]
            t_open = time.time()
            while stats["ready"] < sessions:
                await asyncio.sleep(0.5)
            open_s = time.time() - t_open
            server, chromium = psutil.Process(proc.pid), renderers()
            before = busy_seconds([server]), busy_seconds(chromium), psutil.cpu_times()
            t0 = time.time()
            window["end"] = t0 + seconds
            go.set()
            await asyncio.sleep(seconds)  # read the CPU at the window's end, while every tab is still open
            wall = time.time() - t0
            after = busy_seconds([server]), busy_seconds(chromium), psutil.cpu_times()
            await asyncio.gather(*tasks)
            await browser.close()
    machine = (sum(after[2]) - after[2].idle) - (sum(before[2]) - before[2].idle)
    server_cores, renderer_cores = (after[0] - before[0]) / wall, (after[1] - before[1]) / wall
    frames = stats["frames"]
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "sessions": sessions, "seconds": round(wall, 1),
            "open_all_s": round(open_s, 1), "renderer_processes": len(chromium), "errors": stats["errors"],
            "gestures": stats["gestures"], "frames": len(frames),
            "frame_median_ms": statistics.median(frames) if frames else None,
            "frame_p95_ms": statistics.quantiles(frames, n=20)[18] if len(frames) >= 20 else None,
            "server_cores": round(server_cores, 3), "renderer_cores": round(renderer_cores, 2),
            "machine_cores": round(machine / wall, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    r = asyncio.run(run(args.sessions, args.seconds))
    n = r["cores"]
    print(f"CPU: {r['cpu']}, {n} cores. {r['sessions']} sessions opened in {r['open_all_s']} s, then dragged "
          f"for {r['seconds']} s: {len(r['errors'])} errors, {r['gestures']} gestures (each a release to the server), "
          f"{r['frames']} frames drawn in the pages, pointer move -> frame median {r['frame_median_ms'] or float('nan'):.1f} ms, "
          f"p95 {r['frame_p95_ms'] or float('nan'):.1f} ms")
    print(f"CPU during the drags: server {r['server_cores']:.3f} cores ({100 * r['server_cores'] / n:.1f} % of the machine); "
          f"{r['renderer_processes']} Chromium renderers {r['renderer_cores']:.2f} cores "
          f"({100 * r['renderer_cores'] / n:.0f} %); whole machine {r['machine_cores']:.2f} cores "
          f"({100 * r['machine_cores'] / n:.0f} %)")
    for error in r["errors"][:20]:
        print("  error:", error)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
