"""The latent map in the page (explorer/components/latent_map.js): every point of a source on a
canvas, the image under the cursor drawn from thumbnail sheets sent once per browser session,
box and lasso selection. Only a selection comes back to Python (the trigger "picked").

Why our own canvas and not a library's chart: st.plotly_chart's hover can show text only, so an
image on hover costs a server round trip; plotly.js inside a component is 4.8 MB and its styles
do not reach a shadow root; Apple's Embedding Atlas (its Streamlit component, 0.26) reports a
selection as an SQL predicate, not row indices, and its package requires sentence-transformers,
litellm, fastapi and DuckDB (docs/views.md, "The latent map").
"""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any, Callable

import numpy as np
import plotly.colors
import plotly.express as px
import streamlit as st

from explorer import figures
from explorer.map_data import Points

HERE = Path(__file__).parent / "components"
CSS = """
.lm-root { font-family: var(--st-font, sans-serif); color: var(--st-text-color, #31333f); font-size: 0.85rem; }
.lm-bar { display: flex; gap: 0.4rem; align-items: center; flex-wrap: wrap; margin-bottom: 0.3rem; }
.lm-button { padding: 0.25rem 0.6rem; border: 1px solid rgba(128,128,128,0.5); border-radius: 4px; cursor: pointer;
             background: var(--st-secondary-background-color, #f0f2f6); color: inherit; font-size: 0.85rem; }
.lm-on { border-color: var(--st-primary-color, #ff4b4b); font-weight: 700; }
.lm-hint, .lm-axes { opacity: 0.75; font-size: 0.8rem; }
.lm-wrap { position: relative; width: 100%; }
.lm-wrap canvas { display: block; }
.lm-over { position: absolute; left: 0; top: 0; cursor: crosshair; touch-action: none; }
.lm-tip { position: absolute; display: none; pointer-events: none; background: var(--st-background-color, #fff);
          border: 1px solid rgba(128,128,128,0.6); border-radius: 4px; padding: 4px; max-width: 180px;
          box-shadow: 0 2px 6px rgba(0,0,0,0.2); font-size: 0.85rem; }
.lm-tip canvas { image-rendering: pixelated; display: block; margin-bottom: 2px; }
.lm-legend { display: flex; flex-wrap: wrap; gap: 0.3rem 0.8rem; align-items: center; margin-top: 0.3rem; }
.lm-chip { display: inline-flex; gap: 0.3rem; align-items: center; }
.lm-swatch { width: 0.8rem; height: 0.8rem; border-radius: 2px; display: inline-block; }
.lm-gradient { width: 10rem; height: 0.8rem; display: inline-block; border-radius: 2px; }
"""
_COMPONENT = st.components.v2.component("vae_explorer.latent_map", js=(HERE / "latent_map.js").read_text(), css=CSS)
_SENT = "latent_map_sent"
RINGS = 50  # a selection up to this size is ringed; a larger one is drawn over the faded others
PER_SHEET, COLS = 4096, 64  # thumbnails per sheet: 64 × 64 cells, 1,792 px square for 28 × 28 images
COLOURINGS = {"label": "label", "distortion": "D (nats per image)", "rate": "R (nats per image)",
              "elbo": "−ELBO = D + R (nats per image)"}


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


@st.cache_resource(show_spinner="Packing the thumbnails for the page…", max_entries=8)
def _packed(key: str, _points: Points, coords_key: str, _coords: np.ndarray) -> dict[str, Any]:
    """What the page keeps per points and map: coordinates, labels, D, R and the thumbnail sheets."""
    images = _points.images
    n, c, h, w = images.shape
    sheets = []
    for start in range(0, n, PER_SHEET):
        chunk = images[start:start + PER_SHEET]
        rows = -(-len(chunk) // COLS)
        canvas = np.zeros((rows * COLS, c, h, w), np.uint8)
        canvas[:len(chunk)] = chunk
        picture = canvas.reshape(rows, COLS, c, h, w).transpose(0, 3, 1, 4, 2).reshape(rows * h, COLS * w, c)
        picture = np.repeat(picture, 3, axis=2) if c == 1 else picture
        sheets.append("data:image/png;base64," + base64.b64encode(figures.png_bytes(picture)).decode("ascii"))
    return {"coords": _b64(_coords.astype(np.float32)), "labels": _b64(np.clip(_points.labels, 0, 255).astype(np.uint8)),
            "d": _b64(_points.distortion.astype(np.float32)), "r": _b64(_points.rate.astype(np.float32)),
            "sheets": sheets, "cell": [h, w], "cols": COLS, "per_sheet": PER_SHEET}


def colours(points: Points, by: str, classes: list[str]) -> dict[str, Any]:
    """Per-point colour indices and their palette: classes (plotly's T10 or Alphabet, as every
    map here), or a continuous value (D, R, −ELBO) by its rank, on viridis with its range."""
    if by == "label":
        palette = list(px.colors.qualitative.T10 if len(classes) <= 10 else px.colors.qualitative.Alphabet)
        index = np.asarray(points.labels) % len(palette)
        legend = [[name, k % len(palette)] for k, name in enumerate(classes) if (points.labels == k).any()]
        return {"colors": _b64(index.astype(np.uint8)), "palette": palette, "legend": legend, "colorbar": None}
    value = {"distortion": points.distortion, "rate": points.rate,
             "elbo": points.distortion + points.rate}[by].astype(np.float64)
    lo, hi = np.percentile(value, [1, 99])  # a few outliers would squash everyone else into one colour
    index = np.clip((value - lo) / max(hi - lo, 1e-9) * 255, 0, 255).round().astype(np.uint8)
    palette = plotly.colors.sample_colorscale("Viridis", list(np.linspace(0, 1, 256)))
    return {"colors": _b64(index), "palette": palette, "legend": [],
            "colorbar": {"title": COLOURINGS[by] + " (1st to 99th percentile)", "lo": f"{lo:.1f}", "hi": f"{hi:.1f}"}}


def checked_indices(value: dict, n: int) -> list[int]:
    """The indices of a "picked" trigger, which comes from the browser, so from anyone: ints
    (not bools) in 0..n-1, at most 100,000 of them."""
    indices = value.get("indices")
    return [i for i in indices[:100_000] if type(i) is int and 0 <= i < n] if isinstance(indices, list) else []


def _on_cached(key: str) -> None:
    value = (st.session_state.get(key) or {}).get("cached") or ""
    if value.startswith("missing "):
        st.session_state.setdefault(_SENT, set()).discard(value.removeprefix("missing "))


def mount(key: str, points: Points, points_key: str, coords: np.ndarray, axis_titles: tuple[str, str],
          classes: list[str], *, colour_by: str = "label", highlight=(), neighbours=(), star=None, ellipses=(),
          split_at: int = 0,
          on_pick: Callable[[list[int], str], None] | None = None, height: int = 520) -> None:
    """Draw the map of ``points`` at ``coords`` (N, 2). ``points_key`` names the points (bundle,
    weights, source) and with the coordinates makes the digest the page caches them under.
    ``highlight``: the selection, ringed (up to RINGS) or, when larger, drawn over the others,
    which fade. ``ellipses``: (cx, cy, rx, ry) in map units. ``split_at``: where the training
    images start in a "test + training" source (0: none). ``on_pick(indices, how)`` runs in a callback when the visitor clicks, boxes or lassoes."""
    coords_key = hashlib.sha256(np.ascontiguousarray(coords, np.float32).tobytes()).hexdigest()[:16]
    digest = hashlib.sha256(f"{points_key}|{coords_key}".encode()).hexdigest()[:20]
    data = {"digest": digest, "axis_titles": list(axis_titles), "classes": classes, "height": height,
            "highlight": [int(i) for i in highlight] if len(highlight) <= RINGS else [], "neighbours": [int(i) for i in neighbours],
            "selected": _b64(np.asarray(highlight, np.uint32)) if len(highlight) > RINGS else None,
            "split_at": split_at,
            "star": None if star is None else [float(star[0]), float(star[1])],
            "ellipses": [[float(v) for v in e] for e in ellipses],
            **colours(points, colour_by, classes)}
    sent = st.session_state.setdefault(_SENT, set())
    if digest not in sent:
        data["points"] = _packed(points_key, points, coords_key, np.asarray(coords))
        sent.add(digest)

    def picked() -> None:
        value = (st.session_state.get(key) or {}).get("picked")
        if on_pick is not None and isinstance(value, dict):
            on_pick(checked_indices(value, len(points.labels)), str(value.get("how", "click"))[:10])

    _COMPONENT(key=key, data=data, height="content", on_cached_change=lambda: _on_cached(key),
               on_picked_change=picked)
