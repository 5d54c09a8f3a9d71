"""Decoding in the page: one Streamlit component (custom components v2) that receives a
bundle's decoder once (explorer/page_decoder.py), keeps it in the page, and decodes at every
pointer move with no script rerun (explorer/components/decoder_ui.js). Only the release
reaches Python, as the trigger ``release``, whose handler each view passes.

Weights are sent once per bundle per browser session: the server notes what it sent, and
the page says nothing when all is well (a state report costs a script rerun). A page that
lacks what the server thinks it sent (the run that carried it was cut short by a newer one)
asks again with the state ``cached`` = ``"missing DIGEST"``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import streamlit as st

from explorer import state
from explorer.page_decoder import PageDecoder, Unsupported, export

HERE = Path(__file__).parent / "components"
CSS = """
.pd-row { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; font-family: var(--st-font, sans-serif);
          color: var(--st-text-color, #31333f); font-size: 0.9rem; }
.pd-controls { flex: 1 1 16rem; display: flex; flex-direction: column; gap: 0.6rem; min-width: 14rem; }
.pd-slider { display: flex; flex-direction: column; gap: 0.2rem; }
.pd-slider input { width: 100%; accent-color: var(--st-primary-color, #ff4b4b); }
.pd-figure { margin: 0; }
.pd-figure figcaption { font-size: 0.8rem; opacity: 0.75; max-width: 20rem; }
.pd-image { image-rendering: pixelated; border: 1px solid rgba(128, 128, 128, 0.4); display: block; }
.pd-stack { position: relative; border: 1px solid rgba(128, 128, 128, 0.4); box-sizing: content-box; }
.pd-stack canvas { position: absolute; left: 0; top: 0; display: block; }
.pd-overlay { cursor: crosshair; touch-action: none; }
.pd-axes { font-size: 0.8rem; opacity: 0.75; max-width: 24rem; }
.pd-palette { display: flex; flex-wrap: wrap; gap: 3px; max-width: 26rem; }
.pd-code { width: 2.3rem; padding: 0.15rem; font-size: 0.8rem; border: 1px solid rgba(128, 128, 128, 0.5);
           background: var(--st-secondary-background-color, #f0f2f6); color: inherit; border-radius: 4px; cursor: pointer; }
.pd-code:hover { border-color: var(--st-primary-color, #ff4b4b); }
.pd-current { font-weight: 700; border-color: var(--st-primary-color, #ff4b4b); }
"""
JS = (HERE / "decoder_kernels.js").read_text() + "\n" + (HERE / "decoder_ui.js").read_text()
_COMPONENT = st.components.v2.component("vae_explorer.page_decoder", js=JS, css=CSS)
_SENT = "page_decoder_sent"  # digests sent to this browser session's page


@st.cache_resource(show_spinner=False, max_entries=32)
def _export(path: str, stamp: float) -> PageDecoder | str:
    try:
        return export(state.get_bundle(path).model)
    except Unsupported as exc:
        return str(exc)


def page_decoder(bundle) -> PageDecoder | str:
    """The bundle's decoder packed for the page, or the reason the page cannot run it."""
    return _export(str(bundle.path), state.stamp(bundle))


def fallback_note(reason: str) -> None:
    st.caption(f"This model's decoder runs on the server here, one script rerun per move: {reason}.")


def _on_cached(key: str) -> None:
    value = (st.session_state.get(key) or {}).get("cached") or ""
    if value.startswith("missing "):
        st.session_state.setdefault(_SENT, set()).discard(value.removeprefix("missing "))


def mount(source, mode: str, key: str, payload: dict[str, Any],
          on_release: Callable[[dict[str, Any]], None] | None = None, height: int | str = "content") -> bool:
    """Show the in-page decoder of ``source`` (a bundle, or a PageDecoder already exported) in
    ``mode`` ("sliders", "pad", "path" or "codes"; the payload each takes is in decoder_ui.js).
    ``on_release`` gets the released value (a dict) in a callback, before the rerun. Returns
    False, having said why in a caption, when the page cannot run this bundle's decoder: the
    caller then shows its server-side version."""
    exported = source if isinstance(source, PageDecoder) else page_decoder(source)
    if isinstance(exported, str):
        fallback_note(exported)
        return False
    data = {"mode": mode, "digest": exported.digest, "spec": exported.spec, "dtype": exported.dtype, **payload}
    sent = st.session_state.setdefault(_SENT, set())
    if exported.digest not in sent:
        data["weights"] = exported.weights
        sent.add(exported.digest)

    def released() -> None:
        value = (st.session_state.get(key) or {}).get("release")
        if value is not None and on_release is not None:
            on_release(value)

    _COMPONENT(key=key, data=data, height=height, on_cached_change=lambda: _on_cached(key),
               on_release_change=released)
    return True


def png_data_url(picture) -> str:
    """An (H, W, 3) uint8 picture as a data: URL, for a pad's background."""
    import base64

    from explorer import figures

    return "data:image/png;base64," + base64.b64encode(figures.png_bytes(picture)).decode("ascii")


def class_points(coords, labels, lim: float, n_classes: int) -> tuple[list, list[str]]:
    """Points (x, y) in [-lim, lim]² as [fx, fy, class] fractions of a pad, and the class
    colours the latent map uses (plotly's T10 or Alphabet)."""
    import plotly.express as px

    frac = (coords + lim) / (2 * lim)
    inside = (frac >= 0).all(1) & (frac <= 1).all(1)
    points = [[round(float(x), 4), round(float(y), 4), int(c)] for (x, y), c in zip(frac[inside], labels[inside])]
    palette = px.colors.qualitative.T10 if n_classes <= 10 else px.colors.qualitative.Alphabet
    return points, list(palette)


def released_z(value, dim: int):
    """The latent a pad's release sent, (dim,) float64, or None when it is not ``dim`` finite
    numbers (a release comes from the browser, so from anyone)."""
    import numpy as np

    z = value.get("z") if isinstance(value, dict) else None
    if not isinstance(z, list) or len(z) != dim or not all(type(v) in (int, float) for v in z):
        return None
    z = np.asarray(z, np.float64)
    return z if np.isfinite(z).all() else None


def plane_sliders(bundle, origin, basis, lim: float, labels: list[str], key: str) -> None:
    """The server's version of a pad, for a decoder the page cannot run: two sliders a, b from
    −``lim`` to ``lim`` decode z = origin + a·basis[0] + b·basis[1] (``basis`` (2, D)), one rerun
    of this fragment per move."""
    import numpy as np
    import torch

    from explorer import figures
    from vae_core import analysis

    @st.fragment
    def pad() -> None:
        left, right = st.columns([3, 2])
        a = left.slider(f"{labels[0]} (latent units)", -lim, lim, 0.0, lim / 20, key=f"{key}_a")
        b = left.slider(f"{labels[1]} (latent units)", -lim, lim, 0.0, lim / 20, key=f"{key}_b")
        z = np.asarray(origin, np.float32) + a * np.asarray(basis[0], np.float32) + b * np.asarray(basis[1], np.float32)
        image = analysis.decode(bundle.model, torch.from_numpy(z))
        right.image(figures.to_uint8_grid(image[None, None].numpy(), scale=8), output_format="PNG",
                    caption=f"E[x | z] at {labels[0]} = {a:+.2f}, {labels[1]} = {b:+.2f}")

    pad()
