"""β as one gesture: one slider through a β family's trained members, every figure at once."""
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from explorer import families, family_figures, figures, state
from vae_core import analysis

N_IMAGES, N_SAMPLES, N_MAP = 8, 8, 1000


@st.cache_data(show_spinner="Preparing this member's figures…", max_entries=64)
def member_figures(path: str, stamp: float) -> dict:
    """What the gesture shows of one member, computed once per weights and shared by every
    session: reconstructions of the first N_IMAGES probe images, N_SAMPLES prior samples
    (seed 0), the PCA map of N_MAP posterior means, KL per dimension, active units."""
    bundle = state.get_bundle(path)
    arrays = state.probe(bundle)
    x = torch.tensor(arrays["x"][:N_IMAGES])
    kl_mean, _ = state.kl_by_dimension(bundle)
    proj = state.get_projection(bundle, "pca", min(N_MAP, len(arrays["labels"])))
    return {"pairs": figures.to_uint8_grid(np.stack([x.numpy(), analysis.reconstruct(bundle.model, x).numpy()]), 3),
            "samples": figures.to_uint8_grid(analysis.prior_samples(bundle.model, N_SAMPLES, seed=0).numpy()[None], 3),
            "coords": proj.coords, "axes": proj.axis_titles, "labels": arrays["labels"][:len(proj.coords)],
            "kl": kl_mean, "active": np.asarray(arrays["active"]), "spread": float(np.asarray(arrays["mu"]).std(0).sum())}


bundle = state.current()
bundles = state.available_bundles() + [Path(p) for p in st.session_state.get("uploads", [])]
st.title("β as one gesture")
st.markdown(
    "Move β through a family of models trained alike except for β, and watch everything change at once: "
    "the reconstructions sharpen as β falls, the latent map gains structure as β rises towards 1 and "
    "loses it beyond, prior samples go from noise (β = 0, a plain autoencoder whose codes the prior "
    "does not describe) to blurred averages (large β), and the rate R moves along the family's "
    "rate–distortion curve.")
st.latex(r"\min_{\theta,\phi}\; D + \beta R,\qquad D = -\mathbb{E}_{q}[\log p(x\mid z)],\quad "
         r"R = \mathrm{KL}(q(z\mid x)\,\|\,p(z))")

members = families.family_of(bundle.path, bundles)
if not members:
    groups = families.families(bundles)
    st.warning(f"{bundle.name} has no β family (no other bundle is trained alike with another β).")
    if groups:
        def open_family(path: str) -> None:
            st.session_state["bundle_picker"] = st.session_state["bundle_path"] = path

        st.button(f"Open the family of {groups[0][0].name} ({len(groups[0])} members)", key="gesture_open",
                  on_click=open_family, args=(str(groups[0][0]),), type="primary")
    st.stop()

points = [families.point(state.get_bundle(p)) for p in members]
betas = [p.beta for p in points]


@st.fragment
def gesture() -> None:
    """Only this block reruns when β moves: every member's figures are cached, so a move redraws."""
    start = next((b for b, p in zip(betas, points) if Path(p.path) == bundle.path), betas[0])
    beta = st.select_slider("β (the trained members of the family)", betas, value=start, key="gesture_beta",
                            format_func=lambda b: f"{b:g}")
    k = betas.index(beta)
    p, member = points[k], state.get_bundle(members[k])
    f = member_figures(str(member.path), state.stamp(member))
    st.markdown(f"**β = {beta:g}** · {member.name}: D **{p.distortion:.1f}**, R **{p.rate:.1f}**, "
                f"ELBO **{p.elbo:.1f}** nats per image ({p.source}) · active units **{int(f['active'].sum())}** "
                f"of {len(f['active'])}")
    left, right = st.columns(2)
    left.image(f["pairs"], caption=f"β = {beta:g}: {N_IMAGES} test images (top) and E[x | z = μ(x)] (bottom)")
    right.image(f["samples"], caption=f"β = {beta:g}: decoder means of z ~ N(0, I), seed 0")
    c1, c2, c3 = st.columns(3)
    fig = figures.latent_map(f["coords"], f["labels"], member.classes, f["axes"], title=f"PCA of μ(x), β = {beta:g}")
    fig.update_layout(height=380, showlegend=False)
    c1.plotly_chart(fig, key="gesture_map")
    kl = figures.kl_per_dimension(f["kl"], f["active"])
    kl.update_layout(height=380, title=f"KL per dimension, β = {beta:g}", showlegend=False)
    c2.plotly_chart(kl, key="gesture_kl")
    rd = family_figures.rate_distortion([q.rate for q in points], [q.distortion for q in points], betas,
                                        names=[q.name for q in points], current=k)
    rd.update_layout(height=380, title=f"Rate–distortion plane, β = {beta:g} ringed")
    c3.plotly_chart(rd, key="gesture_rd")
    st.caption(f"Latent map: {len(f['labels']):,} test images' μ(x), PCA, coloured by label; the axes rescale per "
               f"member (the spread Σ_j std(μ_j) is {f['spread']:.1f} latent units). KL bars: largest first, pale = "
               "inactive unit (Cov_x(μ_u) ≤ 0.01, Burda et al. 2016). Rate–distortion: D against R in nats per "
               "image, dotted lines of equal ELBO.")


gesture()
