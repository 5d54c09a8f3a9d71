"""Figures of β families and of two bundles side by side: data in, plotly Figure out.

Every quantity is in nats per image (summed over pixels and latent dimensions, averaged over
images), and every axis says so.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from explorer.figures import NATS

CURRENT, OTHER = "#1f77b4", "#ff7f0e"


def rate_distortion(rates: Sequence[float], distortions: Sequence[float], betas: Sequence[float], *,
                    names: Sequence[str], current: int | None = None, lines: int = 6) -> go.Figure:
    """Each bundle as a point (rate R = KL, distortion D), labelled by its β, with dotted lines
    of equal ELBO, D + R = c (Alemi et al. 2018, "Fixing a broken ELBO", fig. 1).

    ``rates``, ``distortions``, ``betas``, ``names``: one entry per bundle, nats per image.
    ``current``: index of the bundle drawn ringed (the one open in the sidebar). Each marker's
    ``customdata`` row is (its index in these lists, its ELBO), so a click maps back to a
    bundle. Raises ValueError on lists of unequal length or no bundles.
    """
    r, d = np.asarray(rates, float), np.asarray(distortions, float)
    if not (len(r) == len(d) == len(betas) == len(names)) or len(r) == 0:
        raise ValueError("rates, distortions, betas and names must have one entry per bundle")
    total = r + d
    x_hi = float(r.max()) * 1.1 + 1.0
    pad = max(float(d.max() - d.min()) * 0.08, 1.0)
    y_lo, y_hi = float(d.min()) - pad, float(d.max()) + pad
    fig = go.Figure()
    for c in _round_levels(total.min(), total.max(), lines):
        # The part of D + R = c inside the plotted box.
        x0, x1 = max(0.0, c - y_hi), min(x_hi, c - y_lo)
        if x0 >= x1:
            continue
        fig.add_trace(go.Scatter(x=[x0, x1], y=[c - x0, c - x1], mode="lines", showlegend=False,
                                 line=dict(dash="dot", color="grey", width=1), hoverinfo="skip"))
        fig.add_annotation(x=x1, y=c - x1, text=f"ELBO = {-c:g}", showarrow=False, xanchor="right",
                           yanchor="bottom", font=dict(size=10, color="grey"))
    fig.add_trace(go.Scatter(
        x=r, y=d, mode="markers+text+lines", name="bundles of the family",
        line=dict(color="#9ecae1", width=1),  # the members in β order: the family's curve
        marker=dict(size=13, color=np.log1p(np.asarray(betas, float)), colorscale="Viridis", line=dict(width=0)),
        text=[f"β = {b:g}" for b in betas], textposition="top right",
        customdata=np.column_stack([np.arange(len(r)), -total]), hovertext=list(names),
        hovertemplate="%{hovertext}<br>%{text}<br>R %{x:.2f}, D %{y:.2f}, ELBO %{customdata[1]:.2f} nats per image"
                      "<extra>click to open</extra>"))
    if current is not None:
        fig.add_trace(go.Scatter(x=[r[current]], y=[d[current]], mode="markers", name="open in the sidebar",
                                 marker=dict(size=24, symbol="circle-open", color="black", line=dict(width=2)),
                                 hoverinfo="skip"))
    fig.update_xaxes(title=f"rate R = KL(q(z|x) ‖ p(z)), {NATS}", range=[-0.02 * x_hi, x_hi])
    fig.update_yaxes(title=f"distortion D = −E_q[log p(x|z)], {NATS}", range=[y_lo, y_hi])
    fig.update_layout(height=520, legend=dict(orientation="h", y=1.08), margin=dict(l=10, r=10, t=40, b=10),
                      clickmode="event+select", dragmode="pan")
    return fig


def _round_levels(low: float, high: float, n: int) -> list[float]:
    """About ``n`` round values of D + R spanning [low, high] (nats), for the equal-ELBO lines."""
    span = max(high - low, 1.0)
    step = 10 ** np.floor(np.log10(span / max(n - 1, 1)))
    step *= next(m for m in (1, 2, 5, 10) if span / (step * m) <= n)
    return [float(v) for v in np.arange(np.floor(low / step) * step, high + step, step)]


def kl_per_dimension_pair(kl_a: np.ndarray, kl_b: np.ndarray, *, names: tuple[str, str],
                          active_a: np.ndarray | None = None, active_b: np.ndarray | None = None) -> go.Figure:
    """The average KL of each latent dimension of two models, (D_a,) and (D_b,) nats per image,
    each sorted largest first and drawn side by side by rank: the dimensions of two models do
    not correspond, but how the rate spreads over them does. Inactive units (Cov_x(μ_u) ≤ 0.01,
    when ``active_*`` is given) are drawn pale."""
    fig = go.Figure()
    for kl, active, name, color in ((kl_a, active_a, names[0], CURRENT), (kl_b, active_b, names[1], OTHER)):
        order = np.argsort(-np.asarray(kl))
        opacity = [1.0 if active is None or active[j] else 0.3 for j in order]
        fig.add_trace(go.Bar(x=np.arange(1, len(order) + 1), y=np.asarray(kl)[order], name=name,
                             marker=dict(color=color, opacity=opacity), customdata=[f"z{j}" for j in order],
                             hovertemplate=f"{name}<br>rank %{{x}}: %{{customdata}}, KL %{{y:.2f}} nats per image"
                                           "<extra></extra>"))
    fig.update_layout(barmode="group", height=340, xaxis_title="latent dimension, ranked by its KL (1 = largest)",
                      yaxis_title=f"KL, {NATS}", legend=dict(orientation="h", y=1.15),
                      margin=dict(l=10, r=10, t=30, b=10))
    fig.update_xaxes(dtick=1)
    return fig


def picked_indices(figure: go.Figure, selection: dict | None) -> list[int]:
    """Indices (into the lists given to :func:`rate_distortion`) of the bundles a click or
    box picked; points of other traces (equal-ELBO lines, the ring) are ignored."""
    picked = []
    for p in (selection or {}).get("points", []):
        curve, index = p.get("curve_number"), p.get("point_index")
        if curve is None or index is None or curve >= len(figure.data):
            continue
        trace = figure.data[curve]
        if trace.name == "bundles of the family" and trace.customdata is not None and index < len(trace.customdata):
            picked.append(int(trace.customdata[index][0]))
    return picked

