"""Small Streamlit helpers shared by the views."""
import numpy as np
import streamlit as st

from explorer import figures


def picture_grid(images: np.ndarray, title: str, *, scale: int = 3, container=st) -> None:
    """A titled grid of images with no labels, (R, N, C, H, W) in [0, 1], as one picture that the
    browser scales to its column: drawn as a plotly chart it kept the height of its full size,
    a blank band below when the column was narrower, and tick marks under each column."""
    container.markdown(f"**{title}**")
    container.image(figures.to_uint8_grid(images, scale), output_format="PNG")


def download_png(images: np.ndarray, filename: str, *, key: str, scale: int = 3, container=st) -> None:
    """A download button for an image grid (R, N, C, H, W) in [0, 1], saved as one PNG."""
    container.download_button("Download PNG", figures.png_bytes(figures.to_uint8_grid(images, scale)), filename,
                              "image/png", key=key, icon=":material/download:",
                              on_click="ignore")  # no rerun: the page stays as it is


def start_at(key: str, value, bundle_path) -> None:
    """Widget ``key`` starts at ``value`` whenever another bundle is opened: a value moved for one
    model is not carried to the next (a β slider left at 1 beside a model trained with β = 8).
    A lesson step that sets ``key`` sets it for its own bundle (explorer.lesson_panel.start
    marks it), so the step's value stands. Call before the widget, which then takes no value=."""
    mark = f"_{key}_of"
    if st.session_state.get(mark) != str(bundle_path):
        st.session_state[mark] = str(bundle_path)
        st.session_state[key] = value


def mark_set(key: str, bundle_path) -> None:
    """``key``'s value was chosen for the bundle at ``bundle_path`` (see start_at)."""
    st.session_state[f"_{key}_of"] = str(bundle_path)
