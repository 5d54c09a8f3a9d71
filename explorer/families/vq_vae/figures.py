"""Plotly figures of a VQ-VAE's discrete latent: code grids, codebook usage and map, training
curves. Arrays in, figures out, no Streamlit; terms in nats per image."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures import NATS

_SCALE = "Turbo"  # neighbouring indices get distinct colours; the index itself is written in each cell


def _ink(codes: np.ndarray, codebook_size: int) -> list[str]:
    """Black on Turbo's light middle, white on its dark ends, so every index stays readable."""
    t = codes / max(1, codebook_size - 1)
    return ["white" if v < 0.15 or v > 0.8 else "black" for v in t]


def code_grids(grids: np.ndarray, codebook_size: int, titles: list[str], *, changed: np.ndarray | None = None) -> go.Figure:
    """(N, h, w) int code grids as N heatmaps side by side, each cell coloured and labelled by
    its code index; hovering a cell shows its row, column and code. ``changed`` (N, h, w) bool
    outlines edited cells."""
    n, h, w = grids.shape
    fig = make_subplots(rows=1, cols=n, subplot_titles=titles, horizontal_spacing=0.02)
    for k in range(n):
        fig.add_trace(go.Heatmap(z=grids[k], zmin=0, zmax=codebook_size - 1, colorscale=_SCALE, showscale=False,
                                 text=grids[k].astype(str), texttemplate="%{text}", textfont_size=9,
                                 hovertemplate="row %{y}, column %{x}: code %{z}<extra></extra>"), 1, k + 1)
    fig.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor="x", constrain="domain")
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_layout(height=150 + 8 * h, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def editable_grid(grid: np.ndarray, codebook_size: int, picked: tuple[int, int] | None,
                  edited: set[tuple[int, int]]) -> go.Figure:
    """One (h, w) code grid as square markers that can be clicked (a scatter, which Streamlit's
    point selection supports); the picked cell is ringed in black, edited cells in white.
    Each point's customdata is (row, column)."""
    h, w = grid.shape
    rows, cols = np.mgrid[0:h, 0:w]
    line = [3 if (r, c) == picked else (2 if (r, c) in edited else 0) for r, c in zip(rows.ravel(), cols.ravel())]
    colour = ["black" if (r, c) == picked else "white" for r, c in zip(rows.ravel(), cols.ravel())]
    fig = go.Figure(go.Scatter(
        x=cols.ravel(), y=rows.ravel(), mode="markers+text", text=grid.ravel().astype(str),
        customdata=np.stack([rows.ravel(), cols.ravel()], 1), textfont=dict(size=12, color=_ink(grid.ravel(), codebook_size)),
        marker=dict(symbol="square", size=38, color=grid.ravel(), colorscale=_SCALE, cmin=0, cmax=codebook_size - 1,
                    line=dict(width=line, color=colour)),
        hovertemplate="row %{customdata[0]}, column %{customdata[1]}: code %{text}<extra>click to edit</extra>"))
    fig.update_yaxes(autorange="reversed", range=[h - 0.5, -0.5], showgrid=False, zeroline=False,
                     tickvals=list(range(h)), title="row")
    fig.update_xaxes(range=[-0.5, w - 0.5], showgrid=False, zeroline=False, tickvals=list(range(w)), title="column",
                     side="top")
    fig.update_layout(width=60 + 46 * w, height=80 + 46 * h, margin=dict(l=10, r=10, t=40, b=10),
                      dragmode=False, clickmode="event+select")
    return fig


def usage_bars(counts: np.ndarray, perplexity: float) -> go.Figure:
    """How often each code is picked, codes sorted from most to least used; hover names the code."""
    order = np.argsort(counts)[::-1]
    share = counts[order] / max(1, counts.sum())
    fig = go.Figure(go.Bar(x=list(range(len(order))), y=share, customdata=order, marker_color="#1f77b4",
                           hovertemplate="code %{customdata}: %{y:.2%} of the cells<extra></extra>"))
    fig.add_hline(y=1 / len(counts), line_dash="dot", annotation_text="uniform use, 1/K", annotation_position="top right")
    fig.update_layout(height=300, xaxis_title="codes, most used first (hover for the index)",
                      yaxis_title="share of code cells", yaxis_tickformat=".1%",
                      title=f"perplexity exp H = {perplexity:.1f} of K = {len(counts)}",
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def codebook_map(coords: np.ndarray, counts: np.ndarray, axis_titles: tuple[str, str]) -> go.Figure:
    """The K codebook vectors projected to 2-D, sized and coloured by use (log scale); codes no
    probe image picked are grey crosses."""
    used = counts > 0
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=coords[used, 0], y=coords[used, 1], mode="markers+text", text=np.flatnonzero(used).astype(str),
        textposition="top center", textfont_size=9, customdata=counts[used],
        marker=dict(size=6 + 14 * np.sqrt(counts[used] / counts.max()), color=np.log10(counts[used]),
                    colorscale="Viridis", colorbar=dict(title="log10 uses")),
        hovertemplate="code %{text}: %{customdata} cells<extra></extra>", name="used"))
    if (~used).any():
        fig.add_trace(go.Scatter(x=coords[~used, 0], y=coords[~used, 1], mode="markers", name="never picked",
                                 text=np.flatnonzero(~used).astype(str), marker=dict(symbol="x", color="grey", size=8),
                                 hovertemplate="code %{text}: never picked<extra></extra>"))
    fig.update_layout(height=460, xaxis_title=axis_titles[0], yaxis_title=axis_titles[1], showlegend=bool((~used).any()),
                      margin=dict(l=10, r=10, t=20, b=10))
    return fig


def vq_training_curves(history: list[dict]) -> go.Figure:
    """Left: D of the VQ-VAE per epoch (training batches and held out), nats per image; middle:
    codebook perplexity; right: the PixelCNN prior's NLL of the codes against the uniform rate."""
    vq = [r for r in history if r.get("stage") == 1 and r.get("kind") == "epoch"]
    prior = [r for r in history if r.get("stage") == 2 and r.get("kind") == "epoch"]
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.07,
                        subplot_titles=(f"reconstruction D ({NATS})", "codebook perplexity", f"prior NLL of codes ({NATS})"))
    for key, name, colour in (("reconstruction", "D, training", "#1f77b4"), ("val_reconstruction", "D, held out", "#17becf")):
        fig.add_trace(go.Scatter(x=[r["epoch"] for r in vq], y=[r[key] for r in vq], name=name, mode="lines+markers",
                                 marker_size=4, line_color=colour), 1, 1)
    fig.add_trace(go.Scatter(x=[r["epoch"] for r in vq], y=[r["perplexity"] for r in vq], name="perplexity",
                             mode="lines+markers", marker_size=4, line_color="#9467bd"), 1, 2)
    for key, name, colour in (("prior_nll", "prior NLL, training", "#ff7f0e"), ("val_prior_nll", "prior NLL, held out", "#d62728")):
        fig.add_trace(go.Scatter(x=[r["epoch"] for r in prior], y=[r[key] for r in prior], name=name,
                                 mode="lines+markers", marker_size=4, line_color=colour), 1, 3)
    if prior:
        fig.add_trace(go.Scatter(x=[prior[0]["epoch"], prior[-1]["epoch"]], y=[prior[0]["uniform_rate"]] * 2,
                                 name="uniform prior: h w log K", mode="lines", line=dict(dash="dot", color="grey")), 1, 3)
    fig.update_xaxes(title="VQ-VAE epoch", row=1, col=1)
    fig.update_xaxes(title="VQ-VAE epoch", row=1, col=2)
    fig.update_xaxes(title="prior epoch", row=1, col=3)
    fig.update_layout(height=360, legend=dict(orientation="h", y=-0.25), margin=dict(l=10, r=10, t=40, b=10))
    return fig
