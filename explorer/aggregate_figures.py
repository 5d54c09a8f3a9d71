"""Figures of the aggregate posterior q(z) against the prior N(0, I) (plain data in, plotly
figures out), for views/aggregate.py."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

NATS = "nats"


def marginals(z: np.ndarray, dims: list[int], names: list[str], columns: int = 4,
              label: str = "q(z_j): pooled z ~ q(z|x)") -> go.Figure:
    """Per dimension: the histogram (as a density) of pooled codes (``label`` says which), with
    the N(0, 1) density over it. ``z`` is (M, D); one panel per index in ``dims``."""
    rows = math.ceil(len(dims) / columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[names[j] for j in dims],
                        vertical_spacing=0.2)  # room for a row's titles above the ticks of the row before
    grid = np.linspace(-4, 4, 161)
    prior = np.exp(-0.5 * grid ** 2) / math.sqrt(2 * math.pi)
    for k, j in enumerate(dims):
        row, col = k // columns + 1, k % columns + 1
        fig.add_trace(go.Histogram(x=z[:, j], histnorm="probability density", nbinsx=50, marker_color="#1f77b4",
                                   opacity=0.7, name=label, showlegend=k == 0), row, col)
        fig.add_trace(go.Scatter(x=grid, y=prior, mode="lines", line=dict(color="#d62728", width=2),
                                 name="prior N(0, 1)", showlegend=k == 0), row, col)
    fig.update_xaxes(range=[-4, 4])
    fig.update_layout(height=max(280, 230 * rows + 40), bargap=0, legend=dict(orientation="h", y=0.99, yanchor="top",
                      yref="container"), margin=dict(l=10, r=10, t=90, b=10))
    return fig


def holes(pooled: np.ndarray, prior_z: np.ndarray, log_q: np.ndarray, dims: tuple[int, int],
          names: tuple[str, str]) -> go.Figure:
    """The leading pair of dimensions: pooled z ~ q(z|x) in grey, prior samples z ~ N(0, I) over
    them coloured by log q(z) there (dark: a hole of q(z) the decoder never saw). Points of
    the prior trace carry their index as customdata, for a click to decode."""
    i, j = dims
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=pooled[:, i], y=pooled[:, j], mode="markers", name="z ~ q(z|x), pooled",
                               marker=dict(size=3, color="#bbbbbb"), hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=prior_z[:, i], y=prior_z[:, j], mode="markers", name="z ~ N(0, I), click one to decode",
        customdata=np.arange(len(prior_z))[:, None],
        # The colours span the 5th percentile up: one deep hole would otherwise wash out the rest.
        marker=dict(size=8, color=log_q, colorscale="Viridis", cmin=float(np.percentile(log_q, 5)),
                    cmax=float(log_q.max()), line=dict(width=0.5, color="white"),
                    colorbar=dict(title=f"log q(z_{i}, z_{j})<br>({NATS})")),
        hovertemplate="prior sample %{customdata[0]}<br>log q = %{marker.color:.2f} nats<extra></extra>"))
    fig.update_layout(height=520, xaxis_title=f"{names[0]} (latent units)", yaxis_title=f"{names[1]} (latent units)",
                      legend=dict(orientation="h", y=1.08), margin=dict(l=10, r=10, t=40, b=10))
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def eigenvalues(values: np.ndarray) -> go.Figure:
    """Eigenvalues of Cov_x(mu(x)), largest first, log axis: the directions the encoder uses."""
    fig = go.Figure(go.Bar(x=[str(k + 1) for k in range(len(values))], y=np.maximum(values, 1e-6),
                           marker_color=["#1f77b4" if v > 0.01 else "#bbbbbb" for v in values]))
    top = math.log10(max(float(np.max(values)), 1e-3)) + 0.3
    fig.update_layout(height=280, yaxis_type="log", yaxis_range=[-4, top], xaxis_title="eigenvalue rank", xaxis_type="category",
                      yaxis_title="eigenvalue of Cov_x(μ) (latent units²)", margin=dict(l=10, r=10, t=20, b=10))
    return fig
