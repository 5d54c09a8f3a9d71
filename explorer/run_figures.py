"""Figures of a training run as it goes, from its ``history.jsonl`` records (plain data in,
plotly figure out). Every quantity is in nats per image unless its axis says otherwise.

Records are dicts with kind ("step": running means since the epoch began, every
--log-every steps; "epoch": the epoch's means plus the held-out val_* figures), step, epoch,
beta, reconstruction (D), kl (R), elbo (= -(D + R)), loss (what was minimised), and, when
the run uses them, capacity (the KL target C), free_bits (λ, nats per dimension) and sigma
(the Gaussian decoder's σ).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures import NATS


def training_points(history: list[dict]) -> list[dict]:
    """The records that trace training: the step records, or the epoch records when the run
    logged no steps (``--log-every`` longer than an epoch). Stage 1's only, for a two-stage
    bundle (its stage-2 records, nats per code, are the model card's)."""
    history = [r for r in history if r.get("stage", 1) == 1]
    steps = [r for r in history if r.get("kind") == "step"]
    return steps or [r for r in history if r.get("kind") == "epoch"]


def epoch_records(history: list[dict]) -> list[dict]:
    """The epoch records, each epoch once (the last record of it wins: a resumed run); stage
    1's only, for a two-stage bundle."""
    by_epoch = {r["epoch"]: r for r in history
                if r.get("kind") == "epoch" and "epoch" in r and r.get("stage", 1) == 1}
    return [by_epoch[e] for e in sorted(by_epoch)]


def penalty_name(history: list[dict]) -> str:
    """The name of what the loss adds to D: β·R, β·|R − C| (capacity) or β·Σ_j max(R_j, λ) (free bits)."""
    if any("capacity" in r for r in history):
        return "β·|R − C|"
    if any(r.get("free_bits") for r in history):
        return "β·Σ_j max(R_j, λ)"
    return "β·R"


def _column(records: list[dict], key: str) -> np.ndarray:
    return np.array([r.get(key, np.nan) for r in records], dtype=float)


def objective_breakdown(history: list[dict], latent_dim: int | None = None) -> go.Figure:
    """Top: the loss as D and the KL penalty stacked (their sum is the loss), with the
    unweighted KL R, and the capacity target C or the free-bits floor d·λ when the run has
    them. Bottom: the ELBO, training batches and held-out split. x: training step.

    Stacking needs positive parts; a Gaussian decoder's D can be negative (a density), and
    then the parts are drawn as plain lines."""
    points, epochs = training_points(history), epoch_records(history)
    step = _column(points, "step")
    d, kl, loss = _column(points, "reconstruction"), _column(points, "kl"), _column(points, "loss")
    penalty = loss - d  # exactly what the objective added to D, whatever it was
    stack = bool(np.all(np.nan_to_num(d) >= 0) and np.all(np.nan_to_num(penalty) >= 0))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4],
                        subplot_titles=("Loss = D + " + penalty_name(history) + (" (stacked)" if stack else ""),
                                        "ELBO = −(D + R)"))
    group = dict(stackgroup="loss") if stack else {}
    fig.add_trace(go.Scatter(x=step, y=d, name="reconstruction term D", mode="lines",
                             line=dict(color="#4C78A8"), **group), row=1, col=1)
    fig.add_trace(go.Scatter(x=step, y=penalty, name=penalty_name(history), mode="lines",
                             line=dict(color="#F58518"), **group), row=1, col=1)
    fig.add_trace(go.Scatter(x=step, y=kl, name="KL R (unweighted)", mode="lines",
                             line=dict(color="#E45756", dash="dash")), row=1, col=1)
    if any("capacity" in r for r in points):
        fig.add_trace(go.Scatter(x=step, y=_column(points, "capacity"), name="KL target C", mode="lines",
                                 line=dict(color="black", dash="dot")), row=1, col=1)
    free_bits = max((r.get("free_bits") or 0.0 for r in points), default=0.0)
    if free_bits and latent_dim:
        fig.add_trace(go.Scatter(x=[step.min(), step.max()], y=[free_bits * latent_dim] * 2, mode="lines",
                                 name=f"free-bits floor d·λ = {latent_dim}·{free_bits:g}",
                                 line=dict(color="black", dash="dot")), row=1, col=1)
    fig.add_trace(go.Scatter(x=step, y=_column(points, "elbo"), name="ELBO, training batches", mode="lines",
                             line=dict(color="#54A24B")), row=2, col=1)
    fig.add_trace(go.Scatter(x=_column(epochs, "step"), y=_column(epochs, "val_elbo"), name="ELBO, held-out split",
                             mode="lines+markers", marker=dict(size=4), line=dict(color="#2F6B2A")), row=2, col=1)
    fig.update_yaxes(title_text=NATS, row=1, col=1)
    fig.update_yaxes(title_text=NATS, row=2, col=1)
    fig.update_xaxes(title_text="training step", row=2, col=1)
    fig.update_layout(height=560, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.15),
                      uirevision="run")  # keep the user's zoom while the run refreshes
    return fig


def schedules(history: list[dict]) -> go.Figure:
    """β against the step, and beside it the capacity target C (nats per image) and the
    decoder's σ (pixel units) when the run has them."""
    points = training_points(history)
    step = _column(points, "step")
    panels = [("β", "beta", "β (weight of R)")]
    if any("capacity" in r for r in points):
        panels.append(("KL target C", "capacity", f"C ({NATS})"))
    if any("sigma" in r for r in points):
        panels.append(("decoder σ", "sigma", "σ (pixel units, [0, 1])"))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.1)
    for col, (name, key, axis) in enumerate(panels, start=1):
        fig.add_trace(go.Scatter(x=step, y=_column(points, key), name=name, mode="lines", showlegend=False),
                      row=1, col=col)
        fig.update_yaxes(title_text=axis, row=1, col=col, rangemode="tozero")
        fig.update_xaxes(title_text="training step", row=1, col=col)
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), uirevision="run")
    return fig


def kl_heatmap(history: list[dict]) -> go.Figure:
    """Held-out KL of each latent dimension (rows) after each epoch (columns), nats per image:
    units that wake up turn bright, collapsed ones stay dark (as in Burgess et al. 2018)."""
    epochs = [r for r in epoch_records(history) if isinstance(r.get("val_kl_per_dim"), list)]
    z = np.array([r["val_kl_per_dim"] for r in epochs], dtype=float).T if epochs else np.zeros((0, 0))
    fig = go.Figure(go.Heatmap(
        z=z, x=[r["epoch"] for r in epochs], y=[f"z{j}" for j in range(z.shape[0])], colorscale="Viridis",
        zmin=0, colorbar=dict(title=dict(text=f"KL ({NATS})", side="right")),
        hovertemplate="epoch %{x}, %{y}: %{z:.3f} nats per image<extra></extra>"))
    fig.update_layout(height=max(220, 60 + 18 * z.shape[0]), margin=dict(l=10, r=10, t=10, b=10),
                      xaxis_title="epoch", yaxis_title="latent dimension", uirevision="run")
    fig.update_yaxes(autorange="reversed")
    return fig


def best_epoch(history: list[dict]) -> int | None:
    """The epoch with the lowest held-out objective D + β·R so far (``val_loss``; the highest
    held-out ELBO in logs written before it was recorded): the one whose weights the bundle holds."""
    key = "val_loss" if any("val_loss" in r for r in epoch_records(history)) else "val_elbo"
    sign = 1 if key == "val_loss" else -1
    scored = [r for r in epoch_records(history) if r.get(key) is not None and np.isfinite(r[key])]
    return min(scored, key=lambda r: sign * r[key])["epoch"] if scored else None
