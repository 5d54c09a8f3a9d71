"""A class with one hostile visitor: N headless Chromium students browsing one explorer served
with ``--class`` while one more session tries, over and over, the attacks of issue 23.

    python -m bench.hostile_load [--students 30] [--seconds 90] [--no-visitor] [--json out.json]

Students each open a shipped bundle (three tabs loading at a time), then, all together with
the visitor, move between its views by address (a view every few seconds, as a class
following the teacher) for --seconds. The visitor, all the while: links with a broken
or huge image index, a bundle that is not there or a path, a lesson step out of range; the
training pages by address; uploads of a zip of 5,000 folder entries, a zip bomb whose headers
lie, an encrypted entry, a probe of 250,000 images (3 MB zipped), a metrics.json nested 5,000
deep; six wrong teacher tokens.

Printed (not asserted): error boxes (a Streamlit exception) and page errors seen by students,
and by the visitor; each attack's outcome (a sentence in the page, or what else); the server's
resident memory (process and children) at start, its peak during the run and at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import psutil
import torch
from safetensors.torch import save as st_save

from bench.page_decode import cpu_model
from tests.browser import CHROMIUM_ARGS, DRAWN_JS, REPO, chromium_path, explorer_server

VIEWS = ["", "latent_map", "traversals", "generation", "model_card", "interpolation"]
BUNDLES = ["mnist-conv-z16", "mnist-beta-1", "digits-mlp-z2", "mnist-vq", "fashion-conv-z16"]
LINKS = ["?bundle=mnist-conv-z16&i=%C2%B2", "?bundle=mnist-conv-z16&i=" + "9" * 5000, "?bundle=../../etc/passwd",
         "?bundle=not-here&i=3", "?bundle=digits-mlp-z2&i=99999", "?lesson=../../x&step=1",
         "?lesson=04-beta-collapse&step=99999999999"]
PAGES = ["train", "run_live"]
TOKEN = "the-teachers-own-token-0123"


def zip_of(entries: dict[str, bytes], extra_dirs: int = 0) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(extra_dirs):
            zf.writestr(zipfile.ZipInfo(f"d{i}/"), b"")
        for name, content in entries.items():
            zf.writestr(f"b/{name}", content)
    return data.getvalue()


def hostile_zips(folder: Path) -> dict[str, bytes]:
    """The uploads the visitor tries, built from the shipped digits bundle."""
    files = {f.name: f.read_bytes() for f in folder.iterdir() if f.suffix in (".json", ".safetensors")}
    n = 250_000
    huge_probe = st_save({"images": torch.zeros(n, 1, 8, 8, dtype=torch.uint8), "labels": torch.zeros(n, dtype=torch.int64)})
    bomb = bytearray(zip_of({**files, "history.jsonl": b"\0" * (200 * 2**20)}))
    at = bomb.find(b"b/history.jsonl", bomb.find(b"PK\x01\x02"))  # its central header declares 1 KB
    bomb[at - 46 + 24:at - 46 + 28] = (1024).to_bytes(4, "little")
    encrypted = bytearray(zip_of(files))
    at = encrypted.find(b"PK\x01\x02")
    encrypted[at + 8] |= 1
    return {"many-folders.zip": zip_of(files, extra_dirs=5000), "lying-bomb.zip": bytes(bomb),
            "encrypted.zip": bytes(encrypted), "huge-probe.zip": zip_of({**files, "probe.safetensors": huge_probe}),
            "deep-metrics.zip": zip_of({**files, "metrics.json": b"[" * 5000 + b"]" * 5000})}


async def errors_shown(page) -> int:
    return await page.get_by_test_id("stException").count()


async def student(browser, url: str, k: int, opened: asyncio.Semaphore, go: asyncio.Event, window: dict,
                  stats: dict) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    page.on("pageerror", lambda exc: stats["student_errors"].append(f"page error: {exc}"))
    bundle = BUNDLES[k % len(BUNDLES)]
    try:
        async with opened:  # a few tabs load at a time, as a class does not click at the same instant
            await page.goto(f"{url}/?bundle={bundle}", timeout=300_000)
            await page.wait_for_function(DRAWN_JS, polling=300, timeout=300_000)
        stats["ready"] += 1
        await go.wait()
        while time.time() < window["end"]:
            view = VIEWS[(k + stats["views"]) % len(VIEWS)]
            await page.goto(f"{url}/{view}?bundle={bundle}", timeout=300_000)
            await page.wait_for_function(DRAWN_JS, polling=300, timeout=300_000)
            if await errors_shown(page):
                stats["student_errors"].append(f"exception shown on {view} of {bundle}")
            stats["views"] += 1
            await asyncio.sleep(3)
    except Exception as exc:  # a timeout: counted, the others go on
        stats["student_errors"].append(f"{type(exc).__name__}: {str(exc)[:120]}")
        stats["ready"] += 1
    finally:
        await context.close()


async def visitor(browser, url: str, zips: dict[str, Path], go: asyncio.Event, window: dict, stats: dict) -> None:
    await go.wait()
    try:
        await attacks(browser, url, zips, window["end"], stats)
    except Exception as exc:  # the bench's own failure (a control not found): said, not hidden
        stats["visitor_errors"].append(f"the visitor stopped: {type(exc).__name__}: {str(exc)[:160]}")


async def attacks(browser, url: str, zips: dict[str, Path], end: float, stats: dict) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    page.on("pageerror", lambda exc: stats["visitor_errors"].append(f"page error: {exc}"))

    async def outcome(what: str) -> None:
        await page.wait_for_function(DRAWN_JS, polling=300, timeout=240_000)
        if await errors_shown(page):
            stats["visitor_errors"].append(f"exception shown after {what}")
        alerts = [t.strip()[:110] for t in await page.get_by_test_id("stAlert").all_inner_texts()]
        stats["outcomes"][what] = alerts[-1] if alerts else "(no message)"
        stats["attacks"] += 1

    while time.time() < end:
        for link in LINKS:
            await page.goto(f"{url}/{link}", timeout=300_000)
            await outcome(f"link {link[:40]}")
        for address in PAGES:
            await page.goto(f"{url}/{address}", timeout=300_000)
            await outcome(f"page /{address}")
        for name, path in zips.items():
            await page.goto(f"{url}/?bundle=digits-mlp-z2", timeout=300_000)
            await page.wait_for_function(DRAWN_JS, polling=300, timeout=240_000)
            await page.get_by_text("Open a zipped bundle").click()
            await page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
            await page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stAlert"]', timeout=240_000)
            await outcome(f"upload {name}")
        await page.goto(f"{url}/?bundle=digits-mlp-z2", timeout=300_000)
        await page.wait_for_function(DRAWN_JS, polling=300, timeout=240_000)
        await page.get_by_text("Teacher", exact=True).click()
        tries = 0
        for _ in range(6):
            field = page.get_by_role("textbox", name="Teacher token")
            if not await field.count():
                break  # the box is gone after five wrong tokens
            await field.fill("guess-" + os.urandom(8).hex())
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_timeout(800)
            tries += 1
        await outcome("six wrong teacher tokens")
        stats["outcomes"]["six wrong teacher tokens"] = f"the sign-in box took {tries} and was gone"
    await context.close()


def rss_mb(proc: psutil.Process) -> float:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a child that has just exited counts 0
            total += p.memory_info().rss
    return total / 2**20


async def run(students: int, seconds: float, with_visitor: bool = True) -> dict:
    from playwright.async_api import async_playwright

    stats = {"student_errors": [], "visitor_errors": [], "outcomes": {}, "views": 0, "attacks": 0, "ready": 0}
    work = Path(tempfile.mkdtemp(prefix="hostile-"))
    zips = {}
    for name, data in hostile_zips(REPO / "checkpoints" / "digits-mlp-z2").items():
        zips[name] = work / name
        zips[name].write_bytes(data)
    os.environ["VAE_EXPLORER_TEACHER_TOKEN"] = TOKEN
    with explorer_server("--class") as (url, _, proc):
        server = psutil.Process(proc.pid)
        memory = {"start_mb": rss_mb(server), "peak_mb": 0.0}
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            opened, go, window = asyncio.Semaphore(3), asyncio.Event(), {"end": 0.0}
            tasks = [asyncio.create_task(student(browser, url, k, opened, go, window, stats)) for k in range(students)]
            if with_visitor:
                tasks.append(asyncio.create_task(visitor(browser, url, zips, go, window, stats)))
            while stats["ready"] < students:
                await asyncio.sleep(0.5)
            memory["opened_mb"] = rss_mb(server)
            window["end"] = time.time() + seconds
            go.set()
            while not all(t.done() for t in tasks):
                memory["peak_mb"] = max(memory["peak_mb"], rss_mb(server))
                await asyncio.sleep(0.5)
            await asyncio.gather(*tasks, return_exceptions=True)
            memory["end_mb"] = rss_mb(server)
            await browser.close()
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "students": students, "seconds": seconds, **stats,
            **{k: round(v) for k, v in memory.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--no-visitor", action="store_true", help="the students alone: the memory to compare with")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    r = asyncio.run(run(args.students, args.seconds, not args.no_visitor))
    print(f"CPU: {r['cpu']}, {r['cores']} cores. {r['students']} students for {r['seconds']:.0f} s drew "
          f"{r['views']} views with {len(r['student_errors'])} errors; the visitor made {r['attacks']} attacks "
          f"with {len(r['visitor_errors'])} errors. Server memory: {r['start_mb']} MB at start, "
          f"{r['opened_mb']} MB once every student's first view was drawn, then peak {r['peak_mb']} MB, "
          f"{r['end_mb']} MB at the end")
    for what, said in r["outcomes"].items():
        print(f"  {what}: {said}")
    for error in (r["student_errors"] + r["visitor_errors"])[:20]:
        print("  error:", error)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
