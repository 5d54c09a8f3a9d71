"""What the open model offers a view: the sentence a view shows where the model lacks what it
needs (vae_core.family's capability flags), and the sidebar's one-line description."""
from __future__ import annotations

import streamlit as st

from explorer import state
from vae_core import Bundle
from vae_core.family import CODEBOOK, GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND, PRIOR_SAMPLES, SPATIAL_LATENT

# What each thing a view may need is, in the sentence shown where the open model lacks it.
NEEDS = {GAUSSIAN_POSTERIOR: "a diagonal Gaussian posterior q(z|x) = N(μ(x), diag σ²(x)) over a vector z",
         PRIOR_SAMPLES: "a prior p(z) to draw latents from",
         IMPORTANCE_WEIGHTED_BOUND: "the importance-weighted bound L_k, which needs q(z|x) and p(z) as densities",
         CODEBOOK: "a discrete latent, a grid of codebook indices (a VQ-VAE)"}


def require(*needs: str) -> Bundle:
    """The picked bundle, when its model family provides everything in ``needs``
    (vae_core.family); otherwise one sentence saying what this view needs, and the page stops."""
    bundle = state.current()
    missing = [n for n in needs if n not in bundle.model.provides]
    if missing:
        note = bundle.model.explorer_note or "The menu at the top lists the pages that apply to it."
        st.info(f"This view needs {' and '.join(NEEDS[n] for n in missing)}. {bundle.name} is a "
                f"{bundle.model.title}, which has none. {note}")
        st.stop()
    return bundle


def _decoder(m) -> str | None:
    """"bernoulli decoder", or a Gaussian one with its σ (its D depends on it)."""
    likelihood = getattr(m, "likelihood", None)
    if likelihood is None:
        return None
    return f"{likelihood} decoder" + (f", σ = {m.sigma:g}" if likelihood == "gaussian" and hasattr(m, "sigma") else "")


def describe(bundle: Bundle) -> str:
    """One line for the sidebar: data set, family, body, latent size, decoder, beta, test ELBO."""
    m, t = bundle.model_config, bundle.train_config
    latent = "×".join(map(str, bundle.model.latent_shape))
    gaussian = GAUSSIAN_POSTERIOR in bundle.model.provides
    latent = f"{latent}-D latent" if gaussian else f"{latent} grid of codes" if CODEBOOK in bundle.model.provides else latent
    if SPATIAL_LATENT in bundle.model.provides:  # a grid of units: C × h × w, as its family names it
        latent = f"{'×'.join(map(str, bundle.model.spatial_shape))} latent grid"
    # An IWAE (Burda et al. 2016) trained on L_k, not on D + βR: its k, not a β, says what it trained.
    objective = f"IWAE, k = {t.mc_samples}" if getattr(t, "objective", "elbo") == "iwae" else f"β = {t.beta:g}"
    parts = [bundle.model.title, t.dataset, getattr(m, "architecture", None), latent,
             f"K = {m.codebook_size} codes" if getattr(m, "codebook_size", 0) else None,
             _decoder(m), objective if gaussian and not bundle.dataset.get("imported_from") else None]
    line = " · ".join(p for p in parts if p)
    if bundle.metrics:
        split = "probe" if bundle.metrics.get("split") == "probe" else "test"  # a model trained elsewhere: its probe set
        line += f" · {split} ELBO {bundle.metrics['elbo']:.1f} nats/image"
    return line
