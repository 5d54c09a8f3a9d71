"""β as one gesture: one slider through a β family's trained members, every figure at once."""
from pathlib import Path

import streamlit as st

from explorer import beta_families, bundles, capabilities, gesture_figure, state, texts
from vae_core.family import GAUSSIAN_POSTERIOR

N_IMAGES, N_SAMPLES, N_MAP = 10, 10, 1000


@st.cache_data(show_spinner=False, max_entries=64)
def member_png(path: str, stamp: float, family: tuple, current: int) -> bytes:
    """One member's five panels as one PNG (explorer/gesture_figure.py), computed once per
    weights and family and shared by every session: reconstructions of the first N_IMAGES
    probe images, N_SAMPLES prior samples (seed 0), the PCA map of N_MAP posterior means, KL
    per dimension with active units, and the family's rate–distortion plane with this member
    ringed. ``family`` is (rates, distortions, betas) of all members, nats per image."""
    bundle = state.get_bundle(path)
    arrays = state.probe(bundle)
    proj = state.get_projection(bundle, "pca", min(N_MAP, len(arrays["labels"])))
    return gesture_figure.member_panels(bundle, arrays, proj, family, current, n_images=N_IMAGES,
                                        n_samples=N_SAMPLES)


bundle = capabilities.require(GAUSSIAN_POSTERIOR)  # a β family weighs the KL of a Gaussian posterior
found = bundles.available_bundles() + [Path(p) for p in bundles.uploaded_paths()]
texts.header("beta_gesture")

members = beta_families.family_of(bundle.path, found)
if not members:
    groups = beta_families.families(found)
    st.warning(f"{bundle.name} has no β family (no other bundle is trained alike with another β).")
    if groups:
        def open_family(path: str) -> None:
            st.session_state["bundle_picker"] = st.session_state["bundle_path"] = path

        st.button(f"Open the family of {groups[0][0].name} ({len(groups[0])} members)", key="gesture_open",
                  on_click=open_family, args=(str(groups[0][0]),), type="primary")
    st.stop()

points = [beta_families.point(state.get_bundle(p)) for p in members]
betas = [p.beta for p in points]
family = (tuple(p.rate for p in points), tuple(p.distortion for p in points), tuple(betas))


def picture(k: int) -> bytes:
    """Member k's picture, drawn on its first showing (0.3-0.5 s) and then cached for every
    visitor. Drawing all six before the first view took 3-5 s on 2 cores (issue 27); a move
    to a member not yet shown costs one drawing, once per server."""
    return member_png(str(members[k]), state.stamp(state.get_bundle(members[k])), family, k)


@st.fragment
def gesture() -> None:
    """Only this block reruns when β moves, and it swaps one picture (cached after its first showing)."""
    start = next((b for b, p in zip(betas, points) if Path(p.path) == bundle.path), betas[0])
    beta = st.select_slider("β (the trained members of the family)", betas, value=start, key="gesture_beta",
                            format_func=lambda b: f"{b:g}")
    k = betas.index(beta)
    p = points[k]
    st.markdown(f"**β = {beta:g}** · {p.name}: D **{p.distortion:.1f}**, R **{p.rate:.1f}**, "
                f"ELBO **{p.elbo:.1f}** nats per image ({p.source}) · active units **{p.active_units}** "
                f"of {p.latent_dim}")
    st.image(picture(k), caption=f"β = {beta:g}: {p.name}")
    st.caption(f"Top: the first {N_IMAGES} test images and their reconstructions; {N_SAMPLES} prior samples. Bottom: "
               f"{N_MAP:,} test images' μ(x), PCA, coloured by label (the axes rescale per member); KL of each latent "
               "dimension, largest first, grey = inactive unit (Cov_x(μ_u) ≤ 0.01, Burda et al. 2016); the family's "
               "rate–distortion plane, D against R in nats per image, dotted lines of equal ELBO. The interactive "
               "versions: Latent map, β / KL vs reconstruction, Rate–distortion plane.")


gesture()
