"""Views of a spatial latent, a grid (C', h, w) of units (diffusers' AutoencoderKL, an ONNX VAE
whose encoder gives a feature map): the model gives the views its units flattened in (channel,
row, column) order (vae_core.family.SPATIAL_LATENT); these sections draw them back as a grid.

Figure builders (arrays in, plotly figure out) and the Streamlit sections that place them.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.subplots import make_subplots

from explorer import figures
from vae_core import analysis
from vae_core.family import SPATIAL_LATENT

PER_ROW = 4  # heat maps side by side: 4 channels (Stable Diffusion's) fill a projector's width


def shape_of(bundle) -> tuple[int, int, int] | None:
    """(C', h, w) of the open model's latent when it is spatial, else None."""
    return tuple(bundle.model.spatial_shape) if SPATIAL_LATENT in bundle.model.provides else None


def unit_name(shape: tuple[int, int, int] | None, j: int) -> str:
    """The name of flattened unit ``j``: z[c, row, column] for a grid, z{j} for a vector."""
    if shape is None:
        return f"z{j}"
    c, rest = divmod(int(j), shape[1] * shape[2])
    return f"z[c{c}, {rest // shape[2]}, {rest % shape[2]}]"


def channel_maps(values: np.ndarray, shape: tuple[int, int, int], title: str, unit: str,
                 colorscale: str = "Viridis", total: bool = True) -> go.Figure:
    """One heat map per channel of ``values`` (C' h w,) reshaped to ``shape``, on one colour
    scale (``unit`` labels its bar); row 0 at the top, as in the image. Each map's title gives
    the channel's sum (``total``: a KL adds up) or its mean (a σ does not)."""
    maps = np.asarray(values, dtype=np.float64).reshape(shape)
    c = shape[0]
    cols = min(c, PER_ROW)
    rows = math.ceil(c / cols)
    names = [f"channel {k} · Σ {maps[k].sum():.1f}" if total else f"channel {k} · mean {maps[k].mean():.2f}"
             for k in range(c)]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names,
                        horizontal_spacing=0.05, vertical_spacing=0.12)
    for k in range(c):
        fig.add_trace(go.Heatmap(z=maps[k], coloraxis="coloraxis",
                                 hovertemplate=f"channel {k}, row %{{y}}, column %{{x}}: %{{z:.3f}} {unit}<extra></extra>"),
                      row=k // cols + 1, col=k % cols + 1)
    ticks = dict(tickmode="linear", tick0=0, dtick=max(1, shape[1] // 4), tickfont_size=10)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", title_text=None, **ticks)
    fig.update_xaxes(constrain="domain", **{**ticks, "dtick": max(1, shape[2] // 4)})
    fig.update_xaxes(title_text="column", row=rows, col=1)
    fig.update_yaxes(title_text="row", row=rows, col=1)
    fig.update_layout(coloraxis=dict(colorscale=colorscale, colorbar=dict(title=dict(text=unit, side="right"))),
                      title=title, height=80 + 260 * rows, margin=dict(l=10, r=10, t=80, b=10))
    return fig


def kl_section(bundle, kl_mean: np.ndarray) -> None:
    """The average KL of every unit as heat maps, per channel and per position."""
    shape = shape_of(bundle)
    if shape is None:
        return
    st.subheader("KL per channel and per position")
    st.plotly_chart(channel_maps(kl_mean, shape, f"average KL of each latent unit, nats per image ({shape[0]} channels × "
                                 f"{shape[1]} × {shape[2]} positions)", "nats per image"), key="spatial_kl")
    per_position = np.asarray(kl_mean).reshape(shape).sum(0)
    st.caption(f"The latent is a grid of {shape[0]} channels at {shape[1]} × {shape[2]} positions, one unit each; "
               f"the title of each map gives that channel's total. Summed over channels, the positions range "
               f"from {per_position.min():.2f} to {per_position.max():.2f} nats per image: bright cells are where "
               "the model spends its rate, usually where the images differ most.")


def posterior_section(bundle, sigma: np.ndarray, kl_per_dim: np.ndarray) -> None:
    """The selected image's σ and KL of every unit, per channel and position."""
    shape = shape_of(bundle)
    if shape is None:
        return
    st.header("Where the encoder is sure")
    st.plotly_chart(channel_maps(sigma, shape, "σ of q(z|x) of each unit for this image (1 = the prior's)",
                                 "σ, latent units", "Cividis", total=False), key="spatial_sigma")
    st.plotly_chart(channel_maps(kl_per_dim, shape, "KL of each unit for this image, nats per image", "nats per image"),
                    key="spatial_kl_image")
    unused = [k for k in range(shape[0]) if np.asarray(sigma).reshape(shape)[k].min() > 0.9]
    st.caption("Small σ (dark) is a unit the image pins down; σ near 1 is one left at the prior, which the "
               "decoder ignores. The KL map adds where μ sits: KL_j = ½(μ_j² + σ_j² − log σ_j² − 1) nats, large "
               "where the image pins a unit far from the prior's mean."
               + (f" Channel{'s' * (len(unused) > 1)} {', '.join(map(str, unused))} stay{'s' * (len(unused) == 1)} at the "
                  "prior at every position for this image: the model does not use "
                  f"{'them' if len(unused) > 1 else 'it'} to describe it." if unused else ""))


def traversal_section(bundle, anchor: torch.Tensor, values: torch.Tensor, kl_mean: np.ndarray) -> None:
    """Traverse one unit (a channel at a position) or a whole channel (every position at once)."""
    shape = shape_of(bundle)
    if shape is None:
        return
    c, h, w = shape
    st.subheader("Traverse the grid")
    grid_kl = np.asarray(kl_mean).reshape(shape)
    mode = st.radio("Move", ["channel", "unit"], horizontal=True, key="spatial_trav_mode",
                    format_func={"channel": "a whole channel (every position by t)",
                                 "unit": "one unit: a channel at a chosen position"}.get)
    if mode == "unit":
        top = np.unravel_index(int(np.argmax(grid_kl)), shape)
        a, b, d = st.columns(3)
        row = a.slider("Row", 0, h - 1, int(top[1]), key="spatial_row")
        col = b.slider("Column", 0, w - 1, int(top[2]), key="spatial_col")
        d.caption(f"Defaults to the unit with the largest average KL: {unit_name(shape, int(np.ravel_multi_index(top, shape)))}.")
        directions = torch.zeros(c, c * h * w)
        for k in range(c):
            directions[k, k * h * w + row * w + col] = 1.0
        labels = [f"{unit_name(shape, k * h * w + row * w + col)} · KL {grid_kl[k, row, col]:.2f}" for k in range(c)]
    else:
        directions = torch.zeros(c, c * h * w)
        for k in range(c):
            directions[k, k * h * w:(k + 1) * h * w] = 1.0
        labels = [f"channel {k} · KL {grid_kl[k].sum():.2f}" for k in range(c)]
    grid = analysis.traversal_along(bundle.model, anchor, directions, values)
    st.plotly_chart(figures.image_grid(grid.numpy(), row_labels=labels, col_labels=[f"{t:+.1f}" for t in values.tolist()],
                                       scale=2, x_title="offset t added to the unit(s) (prior standard deviations); "
                                       "rows: channel · its KL, nats per image"), key="spatial_trav_grid")
