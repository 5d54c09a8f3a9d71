"""The seeds' formulas with one image's numbers in them: the decoder's log-likelihood with its
constants, the closed-form KL with its ½ and its Σ log σ_j², and β = 2σ² (objective view)."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import own
from vae_core import Bundle


def kl_terms(mu: np.ndarray, sigma: np.ndarray) -> dict[str, float]:
    """The closed-form KL(N(μ, diag σ²) ‖ N(0, I)) in its four sums, nats:
    KL = ½ (Σ μ_j² + Σ σ_j² − Σ log σ_j² − d)."""
    mu, var = np.asarray(mu, np.float64), np.asarray(sigma, np.float64) ** 2
    parts = {"sum_mu2": float((mu ** 2).sum()), "sum_var": float(var.sum()), "sum_log_var": float(np.log(var).sum()),
             "d": len(mu)}
    parts["kl"] = 0.5 * (parts["sum_mu2"] + parts["sum_var"] - parts["sum_log_var"] - parts["d"])
    return parts


def section(bundle: Bundle) -> None:
    """Draw the written-out terms of the selected image (z = μ for the decoder's term)."""
    sel = own.picked(bundle)
    model = bundle.model
    with torch.no_grad():
        out = model.decode(torch.tensor(sel.mu, dtype=torch.float32)[None])[0]
    w = model.likelihood.written_out(torch.tensor(sel.x), out)
    st.subheader(f"Written out for the selected image ({sel.caption})")
    st.markdown("The lecture notes' formulas with this image's numbers, every constant kept; the decoder's term at z = μ(x) "
                "(the D above averages it over z ~ q(z|x)). All in nats per image.")
    left, right = st.columns(2)
    with left:
        if "constant" in w:  # a Gaussian decoder N(f(z), σ² I)
            st.latex(r"\log p(x\mid z) = -\frac d2\log(2\pi\sigma^2) - \frac{\lVert x - f(z)\rVert^2}{2\sigma^2}")
            st.latex(rf"= \underbrace{{{w['constant']:.1f}}}_{{\text{{constant}}}} - \frac{{{w['squared_error']:.2f}}}"
                     rf"{{2 \cdot {w['sigma']:.4f}^2}} = {w['log_px_z']:.1f}")
            st.caption(f"d = {w['pixels']} pixels, σ = {w['sigma']:.4f} (pixel units). ‖x − f(z)‖² is **summed** over the "
                       f"pixels. Minimizing ‖x − f(z)‖² + β·KL with **β = 2σ² = {w['beta_for_summed_error']:.4g}** is "
                       "minimizing 2σ² × (−ELBO) up to a constant: the same optimum. With a per-pixel *mean* squared "
                       f"error the same β would be 2σ²/d = {w['beta_for_mean_error']:.3g}.")
        else:  # Bernoulli
            st.latex(r"\log p(x\mid z) = \sum_{i=1}^{d} x_i\log p_i + (1-x_i)\log(1-p_i),\qquad p = \mathrm{sigmoid}(f(z))")
            st.latex(rf"= {w['ink_term']:.1f} + ({w['background_term']:.1f}) = {w['log_px_z']:.1f}")
            st.caption(f"d = {w['pixels']} pixels; the first sum runs over the ink (x_i = 1), the second over the "
                       "background. It has no constant: for binary x it is a normalized probability. β = 2σ² belongs "
                       "to a Gaussian decoder; this one has no σ.")
    with right:
        k = kl_terms(sel.mu, sel.sigma)
        st.latex(r"R = \mathrm{KL}(q(z\mid x)\,\|\,p(z)) = \tfrac12\textstyle\sum_j\left(\mu_j^2 + \sigma_j^2 - "
                 r"\log\sigma_j^2 - 1\right)")
        st.latex(rf"= \tfrac12\big(\underbrace{{{k['sum_mu2']:.2f}}}_{{\sum\mu_j^2}} + \underbrace{{{k['sum_var']:.2f}}}"
                 rf"_{{\sum\sigma_j^2}} - \underbrace{{({k['sum_log_var']:.2f})}}_{{\sum\log\sigma_j^2}} - "
                 rf"\underbrace{{{k['d']}}}_{{d}}\big) = {k['kl']:.2f}")
        st.caption("The ½ and the Σ log σ_j² matter: one of the lecture notes (the blog post \"Variational Auto-Encoder\", "
                   "25 September 2025) prints "
                   "2KL = ‖μ‖² + ‖σ‖² − m·1ᵀ log σ − m, whose log term should be 2·1ᵀ log σ = Σ log σ_j². "
                   f"With it the KL here would read {0.5 * (k['sum_mu2'] + k['sum_var'] - k['d'] * 0.5 * k['sum_log_var'] - k['d']):.2f}, not {k['kl']:.2f}.")
