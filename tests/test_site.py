"""The static site (explorer/site/): exported from shipped bundles of every kind, served by a plain
HTTP server on 127.0.0.1 and opened in headless Chromium with every other address blocked."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from browser import REPO, chromium_path

from bench.site_page import serve
from explorer.site import cli
from explorer.site.export import CannotExport, export_site, site_zip
from vae_core import analysis, load_bundle

CHECKPOINTS = REPO / "checkpoints"
# One bundle of each kind the page shows (convolutional Gaussian, 2-D MLP, two-stage, VQ-VAE),
# and two members of a β family for its page.
EXPORTED = ("mnist-conv-z16", "digits-mlp-z2", "mnist-two-stage", "mnist-vq", "mnist-beta-0", "mnist-beta-4")
N_IMAGES = 24
needs_chromium = pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt install chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("site") / "site"
    sizes = export_site([CHECKPOINTS / name for name in EXPORTED], out, n_images=N_IMAGES)
    return out, sizes


@pytest.fixture(scope="module")
def served(site):
    """The site on a plain HTTP server, as a teacher's `python -m http.server` would serve it."""
    server, url = serve(site[0])
    yield url
    server.shutdown()


def open_page(browser, url: str, base: str, **context_args):
    """A page whose every request outside ``base`` is aborted and recorded: the site must make none."""
    context = browser.new_context(**context_args)
    outside, errors = [], []

    def only_local(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(url)
    page.wait_for_function("() => window.vaeSite || window.VAE_BETA_FAMILY")
    return context, page, outside, errors


def test_every_page_is_under_5_mb_and_names_no_outside_address(site):
    out, sizes = site
    assert set(sizes) == {*EXPORTED, "assets", "beta-family"}
    assert max(sizes.values()) < 5e6
    text = "".join(p.read_text() for p in out.rglob("*") if p.suffix in (".html", ".js", ".css"))
    assert "http://" not in text.replace("http://www.w3.org/1998/Math/MathML", "") and "https://" not in text


@needs_chromium
@pytest.mark.parametrize("name", EXPORTED)
def test_each_page_draws_every_section_from_the_local_server_alone(chromium, served, name):
    context, page, outside, errors = open_page(chromium, f"{served}/{name}/index.html", served,
                                               viewport={"width": 1280, "height": 720})
    widgets = page.locator("[data-widget]")
    assert widgets.count() >= 3
    for k in range(widgets.count()):
        assert widgets.nth(k).locator("canvas").count() > 0, widgets.nth(k).get_attribute("data-widget")
    assert "could not be drawn" not in page.inner_text("body")
    assert page.evaluate("window.__pdFirstFrame") > 0
    assert outside == [] and errors == []
    context.close()


@needs_chromium
def test_the_pages_decodings_equal_torchs_within_one_grey_level(chromium, served):
    context, page, *_ = open_page(chromium, f"{served}/mnist-conv-z16/index.html", served)
    bundle = load_bundle(CHECKPOINTS / "mnist-conv-z16")
    mu = torch.tensor(page.evaluate("window.VAE_SITE_DATA.mu.slice(0, 4)"), dtype=torch.float32)
    in_page = np.array(page.evaluate("(zs) => zs.map((z) => Array.from(vaeSite.decoder.decode(z)))", mu.tolist()))
    expected = bundle.model.decode_mean(mu).detach().reshape(4, -1).numpy()
    assert np.abs(in_page - expected).max() <= 1 / 255
    # What the page drew is that decoding: the first reconstruction's canvas, grey level by grey level.
    drawn = page.locator("#reconstructions canvas").nth(1).evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 == 0))")
    assert np.abs(np.array(drawn) - np.round(255 * in_page[0])).max() <= 1
    # A VQ-VAE's page decodes code grids: the probe images' codes, as torch does.
    page.goto(f"{served}/mnist-vq/index.html")
    page.wait_for_function("() => window.vaeSite")
    codes = page.evaluate("window.VAE_SITE_DATA.codes.slice(0, 3)")
    in_page = np.array(page.evaluate("(grids) => grids.map((k) => Array.from(vaeSite.decoder.decode(k)))", codes))
    vq = load_bundle(CHECKPOINTS / "mnist-vq").model
    expected = vq.decode_mean(torch.tensor(codes).reshape(3, 7, 7)).detach().reshape(3, -1).numpy()
    assert np.abs(in_page - expected).max() <= 1 / 255
    context.close()


@needs_chromium
def test_the_pca_plane_pad_decodes_the_latent_of_the_plane(chromium, served):
    """A point (a, b) of the PCA pad is z = mean of μ + a·u1 + b·u2, decoded as torch does."""
    from vae_core import maps

    context, page, *_ = open_page(chromium, f"{served}/mnist-conv-z16/index.html", served,
                                  viewport={"width": 1280, "height": 900})
    pad = page.locator("#latent_map .pd-overlay").first
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.35)
    caption = page.locator("#latent_map .pd-figure figcaption").last.inner_text()
    a, b = (float(v.replace("+", "").replace("\u2212", "-")) for v in re.findall(r"PC \d = ([+\u2212][\d.]+)", caption))
    mean, basis, _ = maps.pca_plane(np.array(page.evaluate("window.VAE_SITE_DATA.mu")))
    z = torch.tensor(mean + a * basis[0] + b * basis[1], dtype=torch.float32)
    expected = load_bundle(CHECKPOINTS / "mnist-conv-z16").model.decode_mean(z[None]).detach().flatten().numpy()
    drawn = page.locator("#latent_map .pd-figure canvas").last.evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 == 0))")
    assert np.abs(np.array(drawn) / 255 - expected).mean() < 0.01  # a and b are read back rounded from the caption
    context.close()


@needs_chromium
def test_the_pages_interpolation_is_vae_cores(chromium, served):
    context, page, *_ = open_page(chromium, f"{served}/mnist-conv-z16/index.html", served)
    mu = page.evaluate("window.VAE_SITE_DATA.mu.slice(0, 3)")
    for a, b in ((0, 1), (1, 2)):
        for method in ("linear", "spherical"):
            in_page = page.evaluate(f"vaeSite.interpolate(VAE_SITE_DATA.mu[{a}], VAE_SITE_DATA.mu[{b}], 9, '{method}')")
            expected = analysis.interpolate(torch.tensor(mu[a]), torch.tensor(mu[b]), 9, method).numpy()
            assert np.abs(np.array(in_page) - expected).max() < 1e-5
    context.close()


def traversal_pixels(page) -> list[int]:
    return page.locator("#traversals canvas.pd-image").first.evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 == 0))")


@needs_chromium
def test_a_touch_drag_on_a_traversal_slider_changes_the_image_on_a_phone(chromium, served):
    context, page, outside, errors = open_page(chromium, f"{served}/mnist-conv-z16/index.html", served,
                                               viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    slider = page.locator("#traversals .pd-slider input").first
    slider.scroll_into_view_if_needed()
    before = traversal_pixels(page)
    box = slider.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for k in range(1, 11):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x + k * box["width"] * 0.04, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    assert float(slider.input_value()) > 0.5  # the thumb moved right, by touch
    assert np.abs(np.array(traversal_pixels(page)) - np.array(before)).max() > 20
    assert outside == [] and errors == []
    context.close()


@needs_chromium
def test_the_beta_page_swaps_members_and_the_index_links_every_page(chromium, served):
    context, page, outside, errors = open_page(chromium, f"{served}/beta-family/index.html", served)
    first = page.locator("#beta-gesture img").get_attribute("src")
    page.locator("#beta-gesture input").fill("1")
    assert page.locator("#beta-gesture img").get_attribute("src") != first
    assert "β = 4" in page.inner_text("#beta-gesture")
    page.goto(f"{served}/index.html")
    links = page.locator("main a")
    assert {links.nth(k).get_attribute("href") for k in range(links.count())} == \
        {f"{name}/index.html" for name in EXPORTED} | {"beta-family/index.html"}
    assert outside == [] and errors == []
    context.close()


@needs_chromium
def test_a_page_opened_from_the_file_system_draws(chromium, site):
    page = chromium.new_page()
    page.goto((site[0] / "digits-mlp-z2" / "index.html").as_uri())
    page.wait_for_function("() => window.__pdFirstFrame > 0")
    assert page.locator("#latent_map canvas").count() >= 2  # the 2-D pad: points below, the cursor above
    page.close()


def test_the_command_refuses_a_folder_it_did_not_write_and_a_broken_bundle(tmp_path, capsys):
    taken = tmp_path / "notes"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep me")
    assert cli.main([str(CHECKPOINTS / "digits-mlp-z2"), "--out", str(taken)]) == 1
    assert "is not an earlier site" in capsys.readouterr().err
    assert (taken / "mine.txt").read_text() == "keep me"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{")
    assert cli.main([str(broken), "--out", str(tmp_path / "out")]) == 1
    assert "config.json" in capsys.readouterr().err


def test_the_model_cards_zip_holds_one_page(tmp_path):
    with pytest.raises(CannotExport):
        site_zip(tmp_path)  # no bundle here
    archive = zipfile.ZipFile(io.BytesIO(site_zip(CHECKPOINTS / "digits-mlp-z2", n_images=10)))
    names = set(archive.namelist())
    assert {"digits-mlp-z2-site/index.html", "digits-mlp-z2-site/digits-mlp-z2/data.js",
            "digits-mlp-z2-site/assets/site.js"} <= names
    assert "β = " not in archive.read("digits-mlp-z2-site/index.html").decode()  # one bundle: no family page
