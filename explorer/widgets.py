"""Small Streamlit helpers shared by the views."""
import numpy as np
import streamlit as st

from explorer import figures


def download_png(images: np.ndarray, filename: str, *, key: str, scale: int = 3, container=st) -> None:
    """A download button for an image grid (R, N, C, H, W) in [0, 1], saved as one PNG."""
    container.download_button("Download PNG", figures.png_bytes(figures.to_uint8_grid(images, scale)), filename,
                              "image/png", key=key, icon=":material/download:",
                              on_click="ignore")  # no rerun: the page stays as it is
