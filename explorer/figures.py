"""Plotly figure builders: arrays in, ``plotly.graph_objects.Figure`` out, no Streamlit.

Every axis states its unit; terms of the objective are in nats per image.
"""
from __future__ import annotations

import numpy as np
# Imported here, once, before any session draws: plotly's validators look pandas up in
# sys.modules without importing it, so a figure drawn while another session's thread was
# still importing pandas met a half-initialized module (tests/test_threads.py).
import pandas  # noqa: F401
import plotly.express as px
import plotly.graph_objects as go
import torch

PAD = 2
NATS = "nats per image"


def to_uint8_grid(images: np.ndarray | torch.Tensor, scale: int = 3) -> np.ndarray:
    """(R, N, C, H, W) float in [0, 1] -> one (H', W', 3) uint8 picture, R rows of N cells
    separated by PAD white pixels, each pixel drawn as a ``scale`` x ``scale`` block (nearest
    neighbour keeps digits crisp).

    Tiled with numpy rather than torchvision.utils.make_grid: importing torchvision costs about
    2 s of the explorer's start on a 2-core CPU, and the tiling is one reshape."""
    images = np.clip(np.asarray(images, dtype=np.float32), 0, 1)
    rows, cols, c, h, w = images.shape
    images = images.repeat(scale, axis=3).repeat(scale, axis=4)
    if c == 1:
        images = images.repeat(3, axis=2)
    h, w = h * scale, w * scale
    canvas = np.ones((rows, cols, 3, h + PAD, w + PAD), np.float32)
    canvas[..., PAD:, PAD:] = images
    picture = canvas.transpose(0, 3, 1, 4, 2).reshape(rows * (h + PAD), cols * (w + PAD), 3)
    picture = np.pad(picture, ((0, PAD), (0, PAD), (0, 0)), constant_values=1.0)  # closing border
    return (picture * 255).round().astype(np.uint8)


def image_grid(images: np.ndarray | torch.Tensor, *, row_labels: list[str] | None = None,
               col_labels: list[str] | None = None, scale: int = 3, title: str | None = None,
               x_title: str | None = None, y_title: str | None = None, width: int | None = None) -> go.Figure:
    """A grid of images with a label per row and per column. ``images``: (R, N, C, H, W) in [0, 1].

    ``width``: the pixels the chart gets when that is less than the grid needs (a column of the
    page); plotly then shrinks the picture, and the figure's height shrinks with it rather than
    leaving a blank band below."""
    rows, cols, _, h, w = np.asarray(images).shape
    scale = max(scale, -(-72 // w))  # small images (8x8 digits) get cells wide enough for their labels
    picture = to_uint8_grid(images, scale)
    shrink = min(1.0, (width - 100) / picture.shape[1]) if width else 1.0  # ~100 px for the row labels
    fig = px.imshow(picture, binary_string=True)  # sent as one PNG, not as numbers
    cell_w, cell_h = w * scale + PAD, h * scale + PAD
    fig.update_xaxes(tickvals=[PAD + cell_w * (i + 0.5) for i in range(cols)], ticktext=col_labels or [""] * cols,
                     side="bottom", showgrid=False, title=x_title, tickfont_size=11, ticks="" if not col_labels else None)
    fig.update_yaxes(tickvals=[PAD + cell_h * (i + 0.5) for i in range(rows)], ticktext=row_labels or [""] * rows,
                     showgrid=False, title=y_title, constraintoward="top",  # slack below, not above
                     ticks="" if not row_labels else None)
    fig.update_traces(hoverinfo="skip", hovertemplate=None)
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      height=max(160, round(rows * cell_h * shrink) + 90
                                 + (30 if col_labels and "<br>" in col_labels[0] else 0)))
    return fig


def _class_names(labels: np.ndarray, classes: list[str]) -> list[str]:
    return [classes[i] if 0 <= i < len(classes) else str(i) for i in labels]


def latent_map(coords: np.ndarray, labels: np.ndarray, classes: list[str], axis_titles: tuple[str, str],
               *, title: str | None = None, highlight: list[int] = (),
               ellipses: list[tuple[np.ndarray, np.ndarray]] = ()) -> go.Figure:
    """Scatter of 2-D coordinates (N, 2) coloured by class; hover shows label and probe index.

    ``highlight``: indices drawn with a black ring (the selected images). ``ellipses``: (centre
    (2,), radii (2,)) pairs drawn as axis-aligned ellipses, the 1-sigma contour of a diagonal
    q(z|x) when the map is z itself.
    """
    names = np.array(_class_names(labels, classes))
    fig = go.Figure()
    palette = px.colors.qualitative.T10 if len(classes) <= 10 else px.colors.qualitative.Alphabet
    for i, cls in enumerate(dict.fromkeys(classes)):
        idx = np.flatnonzero(names == cls)
        if len(idx) == 0:
            continue
        fig.add_trace(go.Scattergl(
            x=coords[idx, 0], y=coords[idx, 1], mode="markers", name=cls,
            marker=dict(size=5, color=palette[i % len(palette)], opacity=0.75),
            customdata=np.stack([idx, labels[idx]], axis=1),
            hovertemplate=f"label {cls}<br>probe index %{{customdata[0]}}<extra></extra>"))
    for centre, radii in ellipses:
        fig.add_shape(type="circle", xref="x", yref="y", x0=centre[0] - radii[0], x1=centre[0] + radii[0],
                      y0=centre[1] - radii[1], y1=centre[1] + radii[1], line=dict(color="black", width=1.5))
    if len(highlight):
        pick = np.asarray(highlight)
        # WebGL too: an SVG trace would be drawn under the WebGL canvas of the classes.
        fig.add_trace(go.Scattergl(x=coords[pick, 0], y=coords[pick, 1], mode="markers", name="selected",
                                   marker=dict(size=14, symbol="circle-open", color="black", line=dict(width=2)),
                                 customdata=np.stack([pick, labels[pick]], axis=1),
                                 hovertemplate="selected: probe index %{customdata[0]}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title=axis_titles[0], yaxis_title=axis_titles[1], height=560,
                      legend_title_text="label", margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      dragmode="pan", clickmode="event+select")
    return fig


def mark_own(fig: go.Figure, xy: np.ndarray, name: str = "your image") -> go.Figure:
    """Add the learner's own image to a latent map: a large star at ``xy`` (2,), map units."""
    fig.add_trace(go.Scattergl(x=[xy[0]], y=[xy[1]], mode="markers", name=name,
                               marker=dict(size=22, symbol="star", color="gold", line=dict(width=2, color="black")),
                               hovertemplate=f"{name}<extra></extra>"))
    return fig


def posterior_bars(mu: np.ndarray, sigma: np.ndarray, kl: np.ndarray) -> go.Figure:
    """One image's q(z|x): mu per dimension with +-sigma error bars, and its KL per dimension
    (nats). All arrays (D,); dimensions in index order, the prior N(0, 1) drawn as a band."""
    from plotly.subplots import make_subplots

    names = [f"z{j}" for j in range(len(mu))]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("posterior mean μ_j ± σ_j (latent units)", f"KL_j ({NATS})"))
    fig.add_shape(type="rect", xref="x domain", yref="y", x0=0, x1=1, y0=-1, y1=1, fillcolor="lightgrey",
                  opacity=0.35, line_width=0, layer="below")  # the prior's +-1 standard deviation
    fig.add_trace(go.Scatter(x=names, y=mu, mode="markers", marker=dict(size=9, color="#1f77b4"),
                             error_y=dict(type="data", array=sigma, visible=True), name="μ ± σ",
                             hovertemplate="%{x}: μ %{y:.2f} ± %{error_y.array:.2f}<extra></extra>"), 1, 1)
    fig.add_trace(go.Bar(x=names, y=kl, marker_color="#ff7f0e", name="KL",
                         hovertemplate="%{x}: %{y:.2f} nats<extra></extra>"), 1, 2)
    reach = max(3.0, float(np.max(np.abs(mu) + sigma)) * 1.1)
    fig.update_yaxes(range=[-reach, reach], row=1, col=1)  # the prior's scale, so sigma = 1 looks like 1
    fig.update_layout(height=300, showlegend=False, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def training_curve(history: list[dict]) -> go.Figure:
    """Left: reconstruction D and -ELBO; right: KL R; nats per image against epoch, from
    history.jsonl records. Training batches as thin lines, the held-out split as markers."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=(f"reconstruction D and −ELBO ({NATS})", f"KL R ({NATS})"))
    steps = [r for r in history if r.get("kind") == "step"]
    epochs = [r for r in history if r.get("kind") == "epoch"]
    per_epoch = (epochs[0].get("step") or 1) if epochs else 1
    series = [("reconstruction", "val_reconstruction", "D", "#1f77b4", 1), ("elbo", "val_elbo", "−ELBO", "#2ca02c", 1),
              ("kl", "val_kl", "R", "#ff7f0e", 2)]
    for train_key, val_key, name, color, col in series:
        sign = -1 if train_key == "elbo" else 1
        if steps:
            fig.add_trace(go.Scatter(x=[r["step"] / per_epoch for r in steps], y=[sign * r[train_key] for r in steps],
                                     mode="lines", line=dict(color=color, width=1), opacity=0.45,
                                     name=f"{name}, training batches"), 1, col)
        held = [r for r in epochs if r.get(val_key) is not None]
        if held:
            fig.add_trace(go.Scatter(x=[r["epoch"] for r in held], y=[sign * r[val_key] for r in held],
                                     mode="lines+markers", line=dict(color=color, width=2), marker_size=4,
                                     name=f"{name}, held out"), 1, col)
    fig.update_xaxes(title="epoch")
    fig.update_layout(height=380, legend=dict(orientation="h", y=1.18), margin=dict(l=10, r=10, t=60, b=10))
    return fig


def learned_sigma_curve(history: list[dict], key: str = "sigma", title: str = "decoder σ = γ (pixel units)",
                        x_key: str = "epoch") -> go.Figure:
    """A learned decoder standard deviation over training (Dai & Wipf 2019 show γ → 0 as the
    decoder fits the data manifold): ``key`` of the epoch records against ``x_key``, log axis."""
    epochs = [r for r in history if r.get("kind") == "epoch" and r.get(key) is not None]
    fig = go.Figure(go.Scatter(x=[r[x_key] for r in epochs], y=[r[key] for r in epochs], mode="lines+markers",
                               marker_size=4, line=dict(color="#9467bd")))
    fig.update_layout(height=260, xaxis_title=x_key, yaxis_title=title, yaxis_type="log",
                      margin=dict(l=10, r=10, t=20, b=10))
    return fig


def stage2_curve(records: list[dict]) -> go.Figure:
    """Stage 2 of a two-stage VAE over its epochs: D2 = −log p(z|u) and KL2 = KL(q(u|z) ‖ p(u)),
    nats per code (summed over the code's dimensions), training batches' means."""
    fig = go.Figure()
    for key, name, color in (("reconstruction", "D2 = −log p(z | u)", "#1f77b4"), ("kl", "KL2 = KL(q(u|z) ‖ p(u))", "#ff7f0e")):
        fig.add_trace(go.Scatter(x=[r["epoch"] for r in records], y=[r[key] for r in records], mode="lines+markers",
                                 marker_size=4, name=name, line=dict(color=color)))
    fig.update_layout(height=300, xaxis_title="stage-2 epoch", yaxis_title="nats per code",
                      legend=dict(orientation="h", y=1.15), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def png_bytes(picture: np.ndarray) -> bytes:
    """(H, W, 3) uint8 -> PNG file bytes, for download buttons."""
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.fromarray(picture).save(out, format="PNG")
    return out.getvalue()


def kl_per_dimension(kl_mean: np.ndarray, active: np.ndarray, names: list[str] | None = None) -> go.Figure:
    """Bars of the average KL of each latent dimension (D,), largest first; active units coloured.
    ``names``: each dimension's label (default z0, z1, ...)."""
    order = np.argsort(-kl_mean)
    names = names or [f"z{j}" for j in range(len(kl_mean))]
    fig = go.Figure()
    for is_active, name, color in ((True, "active unit (Cov_x(mu) > 0.01)", "#1f77b4"),
                                   (False, "inactive (collapsed to the prior)", "#c7c7c7")):
        pick = [j for j in order if bool(active[j]) == is_active]
        fig.add_trace(go.Bar(x=[names[j] for j in pick], y=kl_mean[pick], name=name, marker_color=color,
                             hovertemplate="%{x}: %{y:.2f} nats per image<extra></extra>"))
    fig.update_xaxes(categoryorder="array", categoryarray=[names[j] for j in order],
                     title="latent dimension (sorted by KL)")
    fig.update_layout(yaxis_title=f"KL, {NATS}", height=360, legend=dict(orientation="h", y=1.12),
                      margin=dict(l=10, r=10, t=30, b=10))
    return fig


def reconstruction_vs_kl(recon: np.ndarray, kl: np.ndarray, labels: np.ndarray, classes: list[str]) -> go.Figure:
    """Each image as a point (KL R, reconstruction D), with dotted lines of equal ELBO (D + R = c)."""
    fig = latent_map(np.stack([kl, recon], axis=1), labels, classes,
                     (f"KL R, {NATS}", f"reconstruction D, {NATS}"))
    fig.update_traces(hovertemplate="label %{fullData.name}<br>probe index %{customdata[0]}"
                                    "<br>R %{x:.1f}, D %{y:.1f} nats<extra></extra>")
    total = recon + kl
    lo, hi = np.percentile(total, [5, 95])
    x_max = float(np.max(kl)) * 1.05
    for c in np.linspace(lo, hi, 4).round(-1):
        fig.add_trace(go.Scatter(x=[0, x_max], y=[c, c - x_max], mode="lines", showlegend=False,
                                 line=dict(dash="dot", color="grey", width=1), hoverinfo="skip"))
        fig.add_annotation(x=0, y=c, text=f"ELBO = {-c:.0f}", showarrow=False, xanchor="left",
                           yanchor="bottom", font=dict(size=10, color="grey"))
    fig.update_layout(height=460)
    return fig


def objective_bar(recon: float, kl: float, beta: float) -> go.Figure:
    """The objective D + β·R as stacked parts, next to the ELBO's D + R (β = 1). A negative D (a
    Gaussian decoder's density over continuous pixels) cannot stack: the parts are then drawn side
    by side from 0, each total marked where it ends."""
    fig = go.Figure()
    rows = [f"D + β·R (β = {beta:g})", "−ELBO = D + R (β = 1)"]
    fig.add_trace(go.Bar(y=rows, x=[recon, recon], name="reconstruction D", orientation="h", marker_color="#1f77b4",
                         hovertemplate="D = %{x:.2f} nats per image<extra></extra>"))
    fig.add_trace(go.Bar(y=rows, x=[beta * kl, kl], name="KL term (β·R, or R)", orientation="h",
                         marker_color="#ff7f0e", hovertemplate="%{x:.2f} nats per image<extra></extra>"))
    if recon < 0:
        fig.add_trace(go.Scatter(y=rows, x=[recon + beta * kl, recon + kl], mode="markers", name="the total",
                                 marker=dict(symbol="line-ns-open", size=26, color="black", line_width=3),
                                 hovertemplate="%{x:.2f} nats per image<extra></extra>"))
    fig.update_layout(barmode="stack" if recon >= 0 else "group", xaxis_title=NATS, height=220,
                      legend=dict(orientation="h", y=1.25, traceorder="normal"),
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig

