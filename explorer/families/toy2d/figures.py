"""Plotly figures of the 2-D lab: data space, latent space, the objective over steps, and log p(x)
four ways. Models in, figures out, no Streamlit; densities in nats per point."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from vae_core.families.toy2d import model as lab2d

NATS = "nats per point"
_GRID = np.linspace(-2.5, 2.5, 11)  # latent grid lines: the prior's ±2.5σ
_FINE = np.linspace(-3.0, 3.0, 121)


@torch.no_grad()
def _decode(model: lab2d.ToyVAE, z: np.ndarray) -> np.ndarray:
    return model.decoder(torch.as_tensor(z, dtype=torch.float32)).numpy()


def _circle(cx: float, cy: float, rx: float, ry: float, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0, 2 * np.pi, n)
    return cx + rx * np.cos(t), cy + ry * np.sin(t)


def data_space(model: lab2d.ToyVAE, points: np.ndarray, selected: int | None, *, samples: np.ndarray,
               canvas: np.ndarray | None = None) -> go.Figure:
    """The data, the decoder mean of the latent grid (a warped grid for a 2-D z, a curve with its
    ±s band for a 1-D z), samples of the model, and the selected point with its reconstruction
    f(mu(x)) and an s-circle around it. ``canvas``: faint clickable points for adding data."""
    fig = go.Figure()
    if model.latent_dim == 2:
        for k, fixed in enumerate(_GRID):
            for axis, colour in ((0, "#1f77b4"), (1, "#d62728")):
                z = np.zeros((len(_FINE), 2), np.float32)
                z[:, axis], z[:, 1 - axis] = fixed, _FINE
                line = _decode(model, z)
                fig.add_trace(go.Scatter(x=line[:, 0], y=line[:, 1], mode="lines", hoverinfo="skip",
                                         line=dict(color=colour, width=1.2), opacity=0.55, showlegend=k == 0 and True,
                                         legendgroup=f"grid{axis}", name=f"f(z), z{2 - axis} fixed (grid at ±2.5σ)"))
    else:
        curve = _decode(model, _FINE[:, None].astype(np.float32))
        tangent = np.gradient(curve, axis=0)
        normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1) / (np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-9)
        s = model.sigma
        for sign, name in ((1, None), (-1, "f(z) ± s")):
            band = curve + sign * s * normal
            fig.add_trace(go.Scatter(x=band[:, 0], y=band[:, 1], mode="lines", line=dict(width=0, color="#9ecae1"),
                                     fill="tonexty" if sign < 0 else None, fillcolor="rgba(31,119,180,0.18)",
                                     hoverinfo="skip", showlegend=name is not None, name=name or ""))
        fig.add_trace(go.Scatter(x=curve[:, 0], y=curve[:, 1], mode="lines", name="decoder mean f(z), z in [−3, 3]",
                                 line=dict(color="#1f77b4", width=2.5), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=samples[:, 0], y=samples[:, 1], mode="markers", name="samples x ~ p(x|z), z ~ p(z)",
                             marker=dict(size=4, color="#ff7f0e", opacity=0.45), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name="data (click one)",
                             customdata=np.arange(len(points)), marker=dict(size=5, color="#333", opacity=0.7),
                             hovertemplate="point %{customdata}: (%{x:.2f}, %{y:.2f})<extra></extra>"))
    if canvas is not None:
        fig.add_trace(go.Scatter(x=canvas[:, 0], y=canvas[:, 1], mode="markers", name="click to add a point",
                                 marker=dict(size=9, color="#2ca02c", opacity=0.06), customdata=-1 - np.arange(len(canvas)),
                                 hovertemplate="add (%{x:.2f}, %{y:.2f})<extra></extra>"))
    if selected is not None and selected < len(points):
        x = points[selected]
        with torch.no_grad():
            recon = model.decoder(model.posterior(torch.as_tensor(x[None])).mu).numpy()[0]
        cx, cy = _circle(recon[0], recon[1], model.sigma, model.sigma)
        fig.add_trace(go.Scatter(x=cx, y=cy, mode="lines", line=dict(color="#d62728", dash="dot"), hoverinfo="skip",
                                 name="s-circle of p(x | z = μ(x))"))
        fig.add_trace(go.Scatter(x=[x[0], recon[0]], y=[x[1], recon[1]], mode="lines+markers", name="x and f(μ(x))",
                                 line=dict(color="#d62728"), marker=dict(size=[12, 10], symbol=["circle-open", "x"],
                                                                         color="#d62728", line=dict(width=2)),
                                 hoverinfo="skip"))
    fig.update_layout(height=520, xaxis_title="x₁", yaxis_title="x₂", legend=dict(orientation="h", y=-0.15),
                      margin=dict(l=10, r=10, t=30, b=10), title="Data space", clickmode="event+select", dragmode=False)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


@torch.no_grad()
def latent_space(model: lab2d.ToyVAE, points: np.ndarray, selected: int | None) -> go.Figure:
    """The prior p(z), the aggregate posterior q(z) = (1/N) sum_n q(z | x_n) and the selected
    point's q(z|x): contours and a 1σ/2σ ellipse for a 2-D z, densities for a 1-D z."""
    q = model.posterior(torch.as_tensor(points))
    mu, std = q.mu.numpy(), q.std.numpy()
    fig = go.Figure()
    if model.latent_dim == 2:
        axis = np.linspace(-3.5, 3.5, 90)
        zz = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
        dens = np.exp(-0.5 * (((zz[:, None] - mu[None]) / std[None]) ** 2).sum(-1)) / (2 * np.pi * std.prod(1))[None]
        fig.add_trace(go.Contour(x=axis, y=axis, z=dens.mean(1).reshape(90, 90), colorscale="Blues", showscale=False,
                                 contours=dict(coloring="heatmap", showlines=False), opacity=0.8, hoverinfo="skip",
                                 name="aggregate posterior q(z)", showlegend=True))
        for r in (1, 2, 3):
            cx, cy = _circle(0, 0, r, r)
            fig.add_trace(go.Scatter(x=cx, y=cy, mode="lines", line=dict(color="grey", dash="dash", width=1),
                                     hoverinfo="skip", name="prior N(0, I): 1, 2, 3σ", showlegend=r == 1))
        if selected is not None and selected < len(points):
            for k in (1, 2):
                cx, cy = _circle(mu[selected, 0], mu[selected, 1], k * std[selected, 0], k * std[selected, 1])
                fig.add_trace(go.Scatter(x=cx, y=cy, mode="lines", line=dict(color="#d62728", width=2.5 - k),
                                         hoverinfo="skip", name="q(z|x) of the clicked point: 1σ, 2σ", showlegend=k == 1))
        fig.update_layout(xaxis_title="z₁ (latent units)", yaxis_title="z₂ (latent units)")
        fig.update_yaxes(scaleanchor="x", scaleratio=1, range=[-3.5, 3.5])
        fig.update_xaxes(range=[-3.5, 3.5])
    else:
        z = np.linspace(-4, 4, 400)
        gauss = lambda m, s: np.exp(-0.5 * ((z[:, None] - m) / s) ** 2) / (np.sqrt(2 * np.pi) * s)  # noqa: E731
        fig.add_trace(go.Scatter(x=z, y=gauss(np.zeros(1), np.ones(1))[:, 0], name="prior N(0, 1)",
                                 line=dict(color="grey", dash="dash")))
        pooled = gauss(mu[:, 0], std[:, 0]).mean(1)
        fig.add_trace(go.Scatter(x=z, y=pooled, name="aggregate posterior q(z)", fill="tozeroy", line=dict(color="#1f77b4")))
        # A narrow q(z|x) peaks far above the rest; the axis follows the prior and q(z), and the peak is cut off.
        fig.update_yaxes(range=[0, 1.3 * max(0.4, float(pooled.max()))])
        if selected is not None and selected < len(points):
            fig.add_trace(go.Scatter(x=z, y=gauss(mu[selected], std[selected])[:, 0], name="q(z|x) of the clicked point",
                                     line=dict(color="#d62728", width=2)))
        fig.update_layout(xaxis_title="z (latent units)", yaxis_title="density (per latent unit)")
    fig.update_layout(height=520, title="Latent space", legend=dict(orientation="h", y=-0.15),
                      margin=dict(l=10, r=10, t=30, b=10))
    return fig


def objective_curve(history: list[dict]) -> go.Figure:
    """ELBO, D and R of the whole data set against the training step, nats per point."""
    fig = go.Figure()
    steps = [h["step"] for h in history]
    for key, name, colour in (("ELBO", "ELBO = −(D + R)", "#2ca02c"), ("D", "D = −log p(x|z)", "#1f77b4"),
                              ("R", "R = KL(q(z|x) ‖ p(z))", "#ff7f0e")):
        fig.add_trace(go.Scatter(x=steps, y=[h[key] for h in history], name=name, mode="lines", line_color=colour))
    late = [h[k] for h in history[len(history) // 10:] for k in ("ELBO", "D", "R")]  # the first steps' hundreds of
    if len(history) > 10:  # nats would flatten the rest: the y-axis follows the last 90 %
        pad = 0.1 * (max(late) - min(late)) + 0.1
        fig.update_yaxes(range=[min(late) - pad, max(late) + pad])
    # The legend on its own line under the title (y=1.2 of the plot drew it over the title).
    fig.update_layout(height=330, xaxis_title="training step", yaxis_title=NATS, title="The objective",
                      legend=dict(orientation="h", y=1.0, yanchor="bottom", yref="paper"),
                      margin=dict(l=10, r=10, t=80, b=10))
    return fig


def four_ways(counts: list[int], naive: np.ndarray, iw: np.ndarray, elbo: float, exact: float) -> go.Figure:
    """log p(x) of one point: the naive prior estimate over S and L_k over k (several repeats
    each, (R, len(counts))), the ELBO and the exact value as lines; nats per point, log axis."""
    fig = go.Figure()
    for values, name, colour, symbol in ((naive, "naive: log (1/S) Σ p(x|z_s), z_s ~ p(z)", "#ff7f0e", "circle"),
                                         (iw, "L_k, z_i ~ q(z|x) (importance weighted)", "#1f77b4", "diamond")):
        for r, row in enumerate(values):
            fig.add_trace(go.Scatter(x=counts, y=row, mode="markers", marker=dict(color=colour, symbol=symbol, size=7,
                                                                                   opacity=0.6),
                                     name=name, legendgroup=name, showlegend=r == 0,
                                     hovertemplate="S or k = %{x}: %{y:.3f} nats<extra></extra>"))
        fig.add_trace(go.Scatter(x=counts, y=values.mean(0), mode="lines", line=dict(color=colour), hoverinfo="skip",
                                 legendgroup=name, showlegend=False))
    fig.add_hline(y=exact, line=dict(color="black", width=2), annotation_text=f"exact log p(x) = {exact:.3f}",
                  annotation_position="bottom right")
    fig.add_hline(y=elbo, line=dict(color="#2ca02c", dash="dash"), annotation_text=f"ELBO = {elbo:.3f}",
                  annotation_position="top left")
    low = min(exact, elbo) - max(2.0, 1.5 * abs(exact - elbo))
    fig.update_layout(height=420, xaxis_type="log", xaxis_title="samples S (naive) or k (L_k), log scale",
                      yaxis_title=f"log p(x) estimate ({NATS})", yaxis_range=[low, exact + max(1.0, abs(exact - elbo))],
                      legend=dict(orientation="h", y=1.15), margin=dict(l=10, r=10, t=50, b=10))
    return fig
