"""The images a user has picked, shared by every view and mirrored in the URL.

``?bundle=NAME&i=12&j=40`` on any view's address opens that bundle with probe image 12
selected (and 40 as the second image, the interpolation's end), so a teacher can send a link
to exactly what the class should see. The view itself is the address's path.

Values live under plain session keys ("i", "j"); each widget has its own key ("i_w") that
is re-seeded from the plain one, because Streamlit drops a widget's state on pages where the
widget is not drawn.
"""
from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

FIRST, SECOND = "i", "j"
_DEFAULTS = {FIRST: 0, SECOND: 1}
NOTICE = "_link_notice"  # what a link asked for and could not have, said once above the page
_INDEX = re.compile(r"[0-9]{1,6}")


def parse_index(text: str | None) -> int | None:
    """A number from a link: ASCII digits, at most six (``str.isdigit`` takes "²", which
    ``int`` refuses, and 5,000 digits cost ``int`` time); None for anything else."""
    return int(text) if text is not None and _INDEX.fullmatch(text) else None


def read_url(bundles: list[Path]) -> None:
    """Adopt the URL's bundle and images, once per browser session."""
    ss = st.session_state
    if ss.get("_url_read"):
        return
    ss["_url_read"] = True
    params = st.query_params
    name = params.get("bundle")
    match = [p for p in bundles if p.name == name]
    if match:
        ss["bundle_path"] = str(match[0])
    elif name is not None:
        ss.setdefault(NOTICE, []).append(f"the bundle {name[:80]!r}, which this server does not have")
    for key in _DEFAULTS:
        value = params.get(key)
        index = parse_index(value)
        if index is not None:
            ss[key] = index
            ss[f"_asked_{key}"] = index
        elif value is not None:
            ss.setdefault(NOTICE, []).append(f"image {key}={value[:20]!r}, which is not a probe index (a whole number)")


def write_url(bundle_name: str, extra: dict[str, str] | None = None) -> None:
    """Put the current bundle and images in the address bar (switching pages clears it), and
    ``extra`` (a running lesson's ``lesson`` and ``step``)."""
    wanted = {"bundle": bundle_name, **{k: str(get(k)) for k in _DEFAULTS}, **(extra or {})}
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def say_notice(bundle_name: str, n: int) -> None:
    """Say once, above the page, what a link asked for that it did not get, and what opened
    instead: a bundle not here, an image index out of range or not a number."""
    ss = st.session_state
    for key in _DEFAULTS:
        asked = ss.pop(f"_asked_{key}", None)
        if asked is not None and asked >= n:
            ss.setdefault(NOTICE, []).append(f"probe image {key}={asked}, where {bundle_name} has {n} (0 to {n - 1})")
    notices = ss.pop(NOTICE, None)
    if notices:
        st.warning(f"This link asked for {'; and '.join(notices)}. Opened {bundle_name}, image {get(FIRST, n)}.",
                   icon=":material/link_off:")


def get(key: str, n: int | None = None) -> int:
    """The selected probe index under ``key``, clamped to 0..n-1 when ``n`` is given."""
    value = int(st.session_state.get(key, _DEFAULTS[key]))
    return min(max(value, 0), n - 1) if n else value


def choose(key: str, value: int) -> None:
    """Select an image; call from a widget callback (it runs before any widget is drawn)."""
    st.session_state[key] = int(value)
    st.session_state[key + "_w"] = int(value)


def number_input(container, label: str, key: str, n: int, **kwargs) -> int:
    """A number input bound to the selection ``key``, valid for a probe set of ``n`` images."""
    widget = key + "_w"
    if widget not in st.session_state or not 0 <= st.session_state[widget] < n:
        st.session_state[widget] = get(key, n)
    value = container.number_input(label, 0, n - 1, key=key + "_w", **kwargs)
    st.session_state[key] = int(value)
    return int(value)


def points_to_indices(figure, selection) -> list[int]:
    """Probe indices of the points picked on a latent map (click, box or lasso).

    Each trace's ``customdata`` row starts with the probe index (see figures.latent_map); the
    browser reports a trace and a position in it, which are looked up in the server's figure
    (the browser's own copy of customdata arrives in whatever form plotly.js holds it).
    """
    indices = []
    for p in (selection or {}).get("points", []):
        trace = figure.data[p["curve_number"]] if "curve_number" in p else None
        if trace is not None and trace.customdata is not None and "point_index" in p:  # not a marker like the own image's star
            indices.append(int(figure.data[p["curve_number"]].customdata[p["point_index"]][0]))
    return indices
