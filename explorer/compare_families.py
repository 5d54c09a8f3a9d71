"""Two bundles of different model families side by side (the Compare page, where the two do
not both have a Gaussian posterior): what every family provides, D, the rate, reconstructions
and samples."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import figures, state, widgets
from vae_core import Bundle, analysis
from vae_core.family import PRIOR_SAMPLES


def compare_table(pair: dict[str, Bundle]) -> list[dict]:
    rows = []
    for key, b in pair.items():
        m, arrays = b.metrics or {}, state.probe(b)
        source = "test set" if m else "probe images"
        d = m.get("reconstruction", float(arrays["reconstruction"].mean()))
        r = m.get("kl", float(arrays["kl"].mean()))
        fd = (m.get("frechet_distance") or {})
        fd = fd.get("prior_samples", fd.get("stage2_samples"))
        rows.append({"": key, "bundle": b.name, "family": b.model.title.split(" (")[0], "D (nats/image)": round(d, 2),
                     "rate R (nats/image)": round(r, 2),
                     "what R is": b.model.rate_name,
                     "ELBO (nats/image)": round(-(d + r), 2), "Fréchet distance of samples": fd, "images": source})
    return rows


def compare(pair: dict[str, Bundle]) -> None:
    """Two bundles of different families: D, rate, reconstructions and samples side by side."""
    st.dataframe(compare_table(pair), hide_index=True, width="stretch")
    st.caption("D and R in nats per image. A VQ-VAE's D is usually far lower (its grid carries more information "
               "than a small Gaussian latent), and its rate is the prior's cost of describing the codes. Fréchet "
               "distances are on this project's own classifier features, not the Inception FID of papers.")
    a, b = pair["A"], pair["B"]
    same = a.dataset.get("name") == b.dataset.get("name") and a.model_config.image_shape == b.model_config.image_shape
    x = state.probe(a)["x"][:10]
    rows = [x, analysis.reconstruct(a.model, torch.tensor(x)).numpy()]
    names = ["input x", f"A: {a.name}"]
    if same:
        rows.append(analysis.reconstruct(b.model, torch.tensor(x)).numpy())
        names.append(f"B: {b.name}")
    st.subheader("Reconstructions of the same images")
    st.plotly_chart(figures.image_grid(np.stack(rows), row_labels=names, scale=2), key="cmp_family_recon")
    st.subheader("Samples from each model's prior")
    cols = st.columns(2)
    for col, (key, bundle) in zip(cols, pair.items()):
        if PRIOR_SAMPLES not in bundle.model.provides:
            col.info(f"{bundle.name} has no prior to sample.")
            continue
        grid = analysis.prior_samples(bundle.model, 16, seed=0).numpy()
        widgets.picture_grid(grid.reshape(2, 8, *grid.shape[1:]), f"{key}: {bundle.name}", container=col)
