"""The current bundle's β family on the rate–distortion plane; click a point to open that bundle."""
from pathlib import Path

import streamlit as st

from explorer import beta_families, beta_figures, bundles, capabilities, state, trained_objective
from vae_core.family import GAUSSIAN_POSTERIOR

TARGETS = {
    "views/compare.py": "Compare (the clicked bundle beside the one open now)",
    "views/latent_map.py": "Latent map",
    "views/reconstructions.py": "Reconstructions",
    "views/traversals.py": "Latent traversals",
    "views/objective.py": "β / KL vs reconstruction",
}

bundle = capabilities.require(GAUSSIAN_POSTERIOR)  # a β family weighs the KL of a Gaussian posterior
found = bundles.available_bundles() + [Path(p) for p in bundles.uploaded_paths()]

st.title("Rate–distortion plane of a β family")
st.markdown(
    "A **β family** is a set of bundles trained with the same model and settings except β (what "
    "`vae-sweep` trains). Each is one point: its **rate R** = KL(q(z|x) ‖ p(z)), the "
    "information z carries about x, against its **distortion D** = −E_q[log p(x|z)], both in nats per "
    "image on the test set. Every model sits on a line of equal ELBO, D + R = const (dotted): β trades "
    "one for the other (Alemi et al. 2018, *Fixing a broken ELBO*). β = 0 is the plain autoencoder "
    "(high rate, low distortion); large β presses q(z|x) onto the prior (R → 0, posterior collapse).")
st.latex(r"-\mathrm{ELBO} = D + R,\qquad \min\; D + \beta R")
trained_objective.show_iwae_note(bundle)


def open_bundle(path: str, target: str) -> None:
    """Make ``path`` the sidebar's bundle and remember the view to go to (a callback cannot
    switch pages; the script does it below, once the new bundle is in place)."""
    previous = st.session_state.get("bundle_path")
    st.session_state["bundle_picker"] = st.session_state["bundle_path"] = path
    if target == "views/compare.py" and previous and previous != path:
        st.session_state["compare_with"] = previous
    if target != "views/rate_distortion.py":
        st.session_state["rd_goto"] = target


def show_other_families() -> None:
    groups = beta_families.families(found)
    if not groups:
        st.info("No β family among the available bundles. Train one with, for example, "
                "`vae-sweep --betas 0,1,4 --out checkpoints --name mnist -- --dataset mnist`.")
        return
    st.markdown("Families among the available bundles; open one of their members:")
    for k, group in enumerate(groups):
        name = ", ".join(beta_families.short_name(p) for p in group)
        st.button(f"Open {group[0].name} ({len(group)} bundles: {name})", key=f"rd_family_{k}",
                  on_click=open_bundle, args=(str(group[0]), "views/rate_distortion.py"))


if st.session_state.get("rd_goto"):
    st.switch_page(st.session_state.pop("rd_goto"))

members = beta_families.family_of(bundle.path, found)
if not members:
    st.warning(f"**{bundle.name} has no β family**: no other available bundle has the same model and "
               "training settings with a different β.")
    show_other_families()
    st.stop()

points, problems = [], []
for path in members:
    member, error = state.try_bundle(path)
    if error:
        problems.append(f"{path.name}: {error}")
    else:
        points.append(beta_families.point(member))
for problem in problems:
    st.warning(f"Left out, it cannot be opened: {problem}")
current = next((k for k, p in enumerate(points) if Path(p.path) == bundle.path), None)

fig = beta_figures.rate_distortion([p.rate for p in points], [p.distortion for p in points],
                                     [p.beta for p in points], names=[p.name for p in points], current=current)
c1, c2 = st.columns([3, 2])
target = c1.selectbox("A click on a point opens that bundle in", list(TARGETS), format_func=TARGETS.get,
                      key="rd_target")


def on_pick() -> None:
    picked = beta_figures.picked_indices(fig, st.session_state["rd_plane"].selection)
    if picked and picked[0] < len(points):
        open_bundle(points[picked[0]].path, target)


st.plotly_chart(fig, key="rd_plane", on_select=on_pick, selection_mode="points",
                config={"toImageButtonOptions": {"format": "png", "scale": 2,
                                                 "filename": f"{bundle.name}-rate-distortion"}})
st.caption(f"{len(points)} bundles of {bundle.name}'s family; the ringed one is open in the sidebar. "
           "Points are joined in β order; on a dotted line every model has the same ELBO, and "
           "the further down and to the left, the better the ELBO.")

rows = [{"β": p.beta, "bundle": p.name, "D (nats/image)": round(p.distortion, 2),
         "R = KL (nats/image)": round(p.rate, 2), "ELBO (nats/image)": round(p.elbo, 2),
         "active units": f"{p.active_units} of {p.latent_dim}", "epoch kept": p.epoch_kept, "images": p.source}
        for p in points]
st.dataframe(rows, hide_index=True)
early = [p for p in points if p.epoch_kept and p.epoch_kept.split(" of ")[0] != p.epoch_kept.split(" of ")[1]]
if early:
    st.caption("Epoch kept: the trainer keeps the epoch with the best held-out objective D + β·R, and stops "
               "early when asked (" + ", ".join(f"β = {p.beta:g}: epoch {p.epoch_kept}" for p in early) + ").")
pick = c2.selectbox("Or pick a bundle of the family", [p.path for p in points], index=current or 0,
                    format_func=lambda p: beta_families.short_name(p), key="rd_member")
c2.button("Open it", key="rd_open", on_click=lambda: open_bundle(st.session_state["rd_member"], target),
          icon=":material/open_in_new:")
best = max(points, key=lambda p: p.elbo)
st.caption("Active units: dimensions u with Cov_x(E_q[z_u]) > 0.01 (Burda et al. 2016).")
with st.expander("Which member has the best ELBO?"):  # a class question: answered when asked, not printed
    st.markdown(f"β = {best.beta:g}, with {best.elbo:.2f} nats per image. β = 1 trains the ELBO itself; the others "
                "trade D against R and pay for it in ELBO.")
