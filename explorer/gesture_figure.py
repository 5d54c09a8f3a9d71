"""One β-family member drawn as one PNG: reconstructions, prior samples, the latent map, KL per
dimension and the rate–distortion plane with this member ringed (matplotlib, Agg).

Why a picture and not plotly charts: the β gesture swaps all five panels on every move of its
slider, and three plotly charts took 300–500 ms to redraw in Chromium on 2 cores (python -m
bench.explorer_speed --only gesture), where one cached image is swapped at Streamlit's floor.
The interactive versions of each panel are the other views.
"""
from __future__ import annotations

import io

import numpy as np

from explorer.figures import NATS

PALETTE = ["#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#BAB0AC"]


def panels(*, beta: float, pairs: np.ndarray, samples: np.ndarray, coords: np.ndarray, labels: np.ndarray,
           classes: list[str], axes: tuple[str, str], kl: np.ndarray, active: np.ndarray,
           rates: list[float], distortions: list[float], betas: list[float], current: int) -> bytes:
    """PNG bytes of one member's five panels. ``pairs`` (H, W[, 3]) uint8, test images above
    their reconstructions; ``samples`` the same for prior samples; ``coords`` (N, 2) PCA of μ with
    ``labels`` (N,); ``kl`` (D,) average KL per dimension, nats, and ``active`` (D,) bool;
    ``rates``, ``distortions``, ``betas``: the whole family, ``current`` this member's index."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    # Placed by hand, not with layout="constrained": that measured every label's extent and
    # took 0.3 of the 0.5 s a member cost; zlib level 1 saves another 0.1 s for a 5 % larger PNG.
    fig = plt.figure(figsize=(13, 7.6), dpi=100)
    top = fig.add_gridspec(1, 2, left=0.01, right=0.99, top=0.95, bottom=0.66, wspace=0.04)
    bottom = fig.add_gridspec(1, 3, left=0.05, right=0.99, top=0.57, bottom=0.14, wspace=0.28)
    a1, a2 = fig.add_subplot(top[0]), fig.add_subplot(top[1])
    for ax, picture, title in ((a1, pairs, "test images (top) and E[x | z = μ(x)] (bottom)"),
                               (a2, samples, "decoder means of z ~ N(0, I), seed 0")):
        ax.imshow(picture, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(f"β = {beta:g}: {title}", fontsize=11)
        ax.axis("off")
    m, k, r = (fig.add_subplot(bottom[i]) for i in range(3))
    _latent_map(m, coords, labels, classes, axes, beta)
    _kl_bars(k, kl, active, beta)
    _rate_distortion(r, rates, distortions, betas, current)
    out = io.BytesIO()
    fig.savefig(out, format="png", pil_kwargs={"compress_level": 1})
    plt.close(fig)
    return out.getvalue()


def _latent_map(ax, coords, labels, classes, axes, beta):
    for c, name in enumerate(classes):
        pick = labels == c
        ax.scatter(coords[pick, 0], coords[pick, 1], s=6, color=PALETTE[c % len(PALETTE)], label=name, alpha=0.8)
    ax.set_title(f"PCA of μ(x), β = {beta:g}", fontsize=11)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.legend(fontsize=7, markerscale=2, ncols=2, title="label", title_fontsize=7, loc="best")


def _kl_bars(ax, kl, active, beta):
    order = np.argsort(-kl)
    ax.bar(range(len(kl)), kl[order], color=["#1f77b4" if active[j] else "#c7c7c7" for j in order])
    ax.set_xticks(range(len(kl)), [f"z{j}" for j in order], rotation=90, fontsize=7)
    ax.set_title(f"KL per dimension, β = {beta:g}: {int(active.sum())} of {len(kl)} active", fontsize=11)
    ax.set_xlabel("latent dimension, largest KL first (grey: inactive)")
    ax.set_ylabel(f"KL, {NATS}")


def _rate_distortion(ax, rates, distortions, betas, current):
    r, d = np.asarray(rates), np.asarray(distortions)
    total = r + d
    x_hi = r.max() * 1.1 + 1
    for c in np.linspace(total.min(), total.max(), 5):  # lines of equal ELBO, D + R = c
        ax.plot([0, x_hi], [c, c - x_hi], ls=":", color="grey", lw=0.8)
    ax.plot(r, d, "-", color="#9ecae1", lw=1)
    ax.scatter(r, d, c=np.log1p(betas), cmap="viridis", s=60, zorder=3)
    for x, y, b in zip(r, d, betas):
        right = x > 0.75 * x_hi  # labelled on its left, inside the axes
        ax.annotate(f"β = {b:g}", (x, y), textcoords="offset points", xytext=(-8 if right else 6, 4),
                    ha="right" if right else "left", fontsize=8)
    ax.scatter([r[current]], [d[current]], s=300, facecolors="none", edgecolors="black", linewidths=2, zorder=4)
    pad = max((d.max() - d.min()) * 0.08, 1.0)
    ax.set_xlim(-0.02 * x_hi, x_hi)
    ax.set_ylim(d.min() - pad, d.max() + pad)
    ax.set_title(f"rate–distortion plane, β = {betas[current]:g} ringed", fontsize=11)
    ax.set_xlabel(f"rate R = KL(q(z|x) ‖ p(z)), {NATS}")
    ax.set_ylabel(f"distortion D, {NATS}")


def member_panels(bundle, arrays: dict, proj, family: tuple, current: int, *,
                  n_images: int = 10, n_samples: int = 10) -> bytes:
    """:func:`panels` of one member ``bundle`` of a β family: reconstructions of its first
    ``n_images`` probe images, ``n_samples`` prior samples (seed 0), ``proj`` (an
    analysis.Projection of the probe means), KL per dimension from ``arrays`` (the probe
    arrays). ``family`` is (rates, distortions, betas) of all members, nats per image. Shared
    by the explorer's β gesture and the static page."""
    import torch

    from explorer.figures import to_uint8_grid
    from vae_core import analysis

    x = torch.tensor(arrays["x"][:n_images])
    pairs = np.stack([x.numpy(), analysis.reconstruct(bundle.model, x).numpy()])
    rates, distortions, betas = family
    return panels(
        beta=betas[current], pairs=to_uint8_grid(pairs, 2),
        samples=to_uint8_grid(analysis.prior_samples(bundle.model, n_samples, seed=0).numpy()[None], 2),
        coords=proj.coords, labels=arrays["labels"][:len(proj.coords)], classes=bundle.classes, axes=proj.axis_titles,
        kl=arrays["kl_per_dim"].mean(0), active=np.asarray(arrays["active"]), rates=list(rates),
        distortions=list(distortions), betas=list(betas), current=current)
