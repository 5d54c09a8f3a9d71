"""Writes the static site: one page per bundle, an index, a β-family page where several members
of one family are exported together, and the scripts they share. The pages' words are escaped
here and their numbers are written by the page with textContent, so a bundle's strings (its
name, class names, command) are shown, never run."""
from __future__ import annotations

import base64
import html
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from explorer import live_decode
from explorer.site import content as site_content

HERE = Path(__file__).parent
COMPONENTS = HERE.parent / "components"
ASSETS = "assets"
CANNOT = ("What this page cannot do without a server: train or retrain, encode an image of your own, "
          "estimate the importance-weighted bound L_k (a tighter lower bound on log p(x) than the ELBO), run "
          "t-SNE or the PixelCNN prior. The explorer does all of these.")
RESERVED = {ASSETS, "beta-family", "index.html"}  # the site's own names, which no bundle folder may take
SITE_CSS = """
body { margin: 0 auto; max-width: 62rem; padding: 0.8rem; font: 16px/1.45 system-ui, sans-serif; color: #31333f; }
header p, .lead { max-width: 48rem; }
section { border-top: 1px solid #ddd; padding: 0.6rem 0 1rem; }
h1 { font-size: 1.6rem; margin: 0.3rem 0; } h2 { font-size: 1.3rem; margin: 0.4rem 0; } h4 { margin: 0.6rem 0 0.3rem; font-weight: 500; }
.eq { margin: 0.5rem 0; overflow-x: auto; max-width: 100%; }
math { font-family: "STIX Two Math", "Cambria Math", "Latin Modern Math", "DejaVu Math TeX Gyre", math; }
input[type="range"] { height: 2rem; }  /* a thumb's reach on a touch screen */
.site-pick select, button { min-height: 2.4rem; }
.site-controls { display: flex; flex-wrap: wrap; gap: 0.8rem; align-items: end; margin: 0.4rem 0 0.8rem; }
.site-pick { display: flex; flex-direction: column; font-size: 0.85rem; gap: 0.2rem; }
.site-pick select, button { font: inherit; padding: 0.3rem 0.5rem; }
.site-grid { display: flex; flex-wrap: wrap; gap: 6px; }
.site-column { display: flex; flex-direction: column; gap: 2px; width: min-content; }
/* A phone: the decoded image above the sliders or pad that move it, so a thumb never hides it. */
@media (max-width: 600px) {
  .pd-row { flex-direction: column-reverse; gap: 0.8rem; } .pd-controls { flex: 0 0 auto; }
  .eq { font-size: 0.85rem; } .pd-code { min-height: 2.4rem; }
}
.site-map { border: 1px solid rgba(128, 128, 128, 0.4); touch-action: none; cursor: crosshair; }
.site-ticks { display: flex; justify-content: space-between; font-size: 0.8rem; opacity: 0.75; }
#beta-gesture img { width: 100%; }
.site-legend { display: flex; flex-wrap: wrap; gap: 0.6rem; font-size: 0.85rem; }
table { border-collapse: collapse; } td, th { padding: 0.2rem 0.8rem 0.2rem 0; text-align: left; }
code { white-space: pre-wrap; word-break: break-all; font-size: 0.85rem; }
.note { font-size: 0.85rem; opacity: 0.8; }
"""
# Each bundle kind's sections, in page order, and the widget that draws each (explorer/site/site.js).
WIDGETS = {"reconstructions": "reconstructions", "reconstructions_vq": "reconstructions", "traversals": "traversals",
           "manifold": "manifold", "interpolation": "interpolation", "latent_map": "latent_map",
           "generation": "generation", "generation_vq": "generation", "code_edit": "code_edit"}


def _page(title: str, body: str, scripts: list[str], depth: int = 1) -> str:
    up = "../" * depth
    tags = "".join(f'<script src="{s if s.endswith("data.js") else up + ASSETS + "/" + s}"></script>' for s in scripts)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"{up}{ASSETS}/site.css\"></head>"
            f"<body>{body}{tags}</body></html>\n")


def _section(name: str, spec: dict[str, Any], inner: str = "") -> str:
    widget = f'<div data-widget="{WIDGETS[name]}"></div>' if name in WIDGETS else ""
    equations = "".join(f'<div class="eq">{e}</div>' for e in spec["equations"])  # MathML, scrolled when too wide
    return (f'<section id="{name}"><h2>{html.escape(spec["title"])}</h2><p class="lead">{spec["lead"]}</p>'
            + equations + inner + widget + "</section>")


def _card_html(data: dict[str, Any]) -> str:
    card, e = data["card"], html.escape
    rows = "".join(f"<tr><td>{e(r['name'])}</td><td>{r['value']:.2f}</td><td>nats per image</td></tr>" for r in card["figures"])
    if card.get("active_units") is not None:
        rows += (f"<tr><td>active units</td><td>{card['active_units']} of {card.get('latent_dim') or '?'}</td>"
                 "<td>dimensions whose μ varies over the test images (Cov ≥ 0.01)</td></tr>")
    rows += "".join(f"<tr><td>Fréchet distance, {e(k.replace('_', ' '))}</td><td>{v:.2f}</td>"
                    "<td>to the test images, on this project's classifier features</td></tr>" for k, v in card["frechet"].items())
    where = (f"{e(str(card['split']))} set, {card['n_images']:,} images" if card.get("n_images") else "no metrics.json")
    notes = [f"Nats per image, {where}; binarization: {e(str(card.get('binarization') or 'none'))}."]
    if card.get("frechet_note"):
        notes.append(e(card["frechet_note"]) + ".")
    if card.get("epochs"):
        notes.append(f"Trained {card['epochs']} epochs in {card.get('wall_time_min') or '?'} min on {e(str(card.get('device')))}.")
    command = f"<p>Made by <code>{e(card['command'])}</code></p>" if card.get("command") else ""
    return (f"<table><tr><th>figure</th><th>value</th><th>unit</th></tr>{rows}</table>"
            f"<p class=\"note\">{' '.join(notes)}</p>{command}")


def _header(data: dict[str, Any]) -> str:
    e, ds = html.escape, data["dataset"]
    shape = "×".join(map(str, data["image_shape"]))
    latent = "×".join(map(str, data["latent_shape"]))
    return (f"<header><p class=\"note\"><a href=\"../index.html\">All models</a></p><h1>{e(data['name'])}</h1>"
            f"<p>A {e(data['title'])} trained on {e(str(ds.get('name', '?')))} ({shape} images, "
            f"{e(data['likelihood'])} decoder), latent {latent}. The model's decoder runs in your browser: every "
            "image that moves is decoded there, from the model's own weights.</p></header>")


def bundle_page(data: dict[str, Any]) -> str:
    """The HTML of one bundle's page (its data.js holds ``data``)."""
    sections = data["sections"]
    body = _header(data) + "<main>" + "".join(
        _section(name, spec, _card_html(data) if name.startswith("model_card") else "") for name, spec in sections.items())
    body += f"</main><footer><p class=\"note\">{html.escape(CANNOT)}</p></footer>"
    return _page(f"{data['name']}: a VAE, decoded in your browser", body,
                 ["decoder_kernels.js", "decoder_ui.js", "data.js", "site.js"])


def _write_assets(out: Path) -> None:
    assets = out / ASSETS
    assets.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(COMPONENTS / "decoder_kernels.js", assets / "decoder_kernels.js")
    # The explorer mounts decoder_ui.js as a Streamlit component (an ES module with a default
    # export); a classic script makes the same function a global and works from file:// too.
    ui = (COMPONENTS / "decoder_ui.js").read_text()
    (assets / "decoder_ui.js").write_text(ui.replace("export default function (component)", "window.pdMount = function (component)"))
    shutil.copyfile(HERE / "site.js", assets / "site.js")
    shutil.copyfile(HERE / "beta_page.js", assets / "beta_page.js")
    (assets / "site.css").write_text(live_decode.CSS + SITE_CSS)


def _data_js(data: dict[str, Any]) -> str:
    return "window.VAE_SITE_DATA = " + json.dumps(data, separators=(",", ":"), allow_nan=False) + ";\n"


def index_page(entries: list[dict[str, Any]], family: list[str] | None) -> str:
    e = html.escape
    items = "".join(f"<li><a href=\"{e(quote(d['name']))}/index.html\">{e(d['name'])}</a>: a {e(d['title'])} on "
                    f"{e(str(d['dataset'].get('name', '?')))}, latent {'×'.join(map(str, d['latent_shape']))}</li>"
                    for d in entries)
    if family:
        items += f"<li><a href=\"beta-family/index.html\">β as one gesture</a>: {e(', '.join(family))}</li>"
    body = ("<header><h1>Variational autoencoders, decoded in your browser</h1><p>Each page below holds one trained "
            "model's decoder and a few of its test images: drag, hover and scrub, and every image that moves is "
            f"computed on your device. Nothing is sent anywhere.</p></header><main><ul>{items}</ul></main>"
            f"<footer><p class=\"note\">{e(CANNOT)} Made with vae-export-site.</p></footer>")
    return _page("VAEs, decoded in your browser", body, [], depth=0)


def beta_page(members: list[dict[str, Any]]) -> str:
    spec = site_content.section("beta_gesture")
    body = ("<header><p class=\"note\"><a href=\"../index.html\">All models</a></p></header><main>"
            + _section("beta_gesture", spec, '<div id="beta-gesture"></div>') + "</main>")
    return _page("β as one gesture", body, ["decoder_ui.js", "data.js", "beta_page.js"])


def write_site(contents: list[dict[str, Any]], family: list[dict[str, Any]], out: Path) -> dict[str, int]:
    """Writes the folder ``out`` (made if absent); returns each page folder's bytes, the shared
    scripts counted under "assets"."""
    out.mkdir(parents=True, exist_ok=True)
    _write_assets(out)
    for data in contents:
        folder = out / data["name"]
        folder.mkdir(exist_ok=True)
        (folder / "data.js").write_text(_data_js(data))
        (folder / "index.html").write_text(bundle_page(data))
    if family:
        folder = out / "beta-family"
        folder.mkdir(exist_ok=True)
        (folder / "data.js").write_text("window.VAE_BETA_FAMILY = " + json.dumps(family, separators=(",", ":")) + ";\n")
        (folder / "index.html").write_text(beta_page(family))
    (out / "index.html").write_text(index_page(contents, [m["name"] for m in family] if family else None))
    return {p.name: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in out.iterdir() if p.is_dir()}


def zip_folder(folder: Path) -> bytes:
    """The folder as zip bytes, its files under one top folder named after it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, Path(folder.name) / path.relative_to(folder))
    return buffer.getvalue()


def png_b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")
