"""Two bundles side by side: numbers, latent maps, reconstructions of the same images,
traversals and KL per dimension (e.g. β = 0, 1 and 8 of one family)."""
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from explorer import beta_families, beta_figures, bundles, compare_families, figures, own, state
from vae_core import analysis
from vae_core.families.gaussian.evaluation import ACTIVE_THRESHOLD
from vae_core.family import GAUSSIAN_POSTERIOR

bundle = state.current()
found = [str(p) for p in bundles.available_bundles()] + bundles.uploaded_paths()
others = [p for p in found if Path(p) != bundle.path]

st.title("Compare two bundles")
st.markdown(
    "The bundle open in the sidebar (**A**) beside a second one (**B**): the same held-out images through "
    "both. Within a β family this shows what β does: β = 0 (a plain autoencoder) keeps every detail "
    "but leaves the latent map without the prior's shape; β = 1 trains the ELBO; a large β pushes "
    "q(z|x) onto the prior, so fewer dimensions carry information and reconstructions blur. All "
    "figures in nats per image.")
st.latex(r"\min_{q,\,p}\; D + \beta R,\qquad D = -\mathbb{E}_{q(z|x)}[\log p(x\mid z)],\quad "
         r"R = \mathrm{KL}(q(z\mid x)\,\|\,p(z))")

if not others:
    st.info("Only one bundle is available; train or open a second one to compare.")
    st.stop()


def default_other() -> tuple[str, str]:
    """B to start with, and why: the β family member whose β is furthest from A's; else A's
    nearest relative (same data set, family, architecture, ... : beta_families.KINSHIP)."""
    family = [str(p) for p in beta_families.family_of(bundle.path, [Path(p) for p in found]) if p != bundle.path]
    if family:
        beta = float(bundle.train_config.beta)
        furthest = max(family, key=lambda p: abs(beta_families.beta_of(p) - beta))
        return furthest, "the member of A's β family whose β is furthest from A's"
    kin = beta_families.nearest_relative(bundle.path, others)
    if kin is None:
        return others[0], ""
    path, differs = kin
    return path, ("A's nearest relative among the bundles here: "
                  + (f"it differs in {', '.join(differs)}" if differs else "the same settings"))


chosen, why = default_other()
if st.session_state.get("compare_with") not in others:
    st.session_state["compare_with"] = chosen
other_path = st.selectbox("B: compare with", others, key="compare_with", format_func=beta_families.short_name,
                          help="Any other available bundle; members of A's β family are labelled with their β.")
if other_path == chosen and why:
    st.caption(f"B was chosen as {why}.")
other, error = state.try_bundle(other_path)
if error:
    st.error(f"{Path(other_path).name} cannot be opened.\n\n{error}")
    st.stop()
pair = {"A": bundle, "B": other}
if not all(GAUSSIAN_POSTERIOR in b.model.provides for b in pair.values()):  # e.g. a VQ-VAE beside a Gaussian VAE
    st.info("The latent maps, traversals and KL per dimension below need a Gaussian posterior in both bundles; "
            + " and ".join(f"{b.name} is a {b.model.title}" for b in pair.values()) + ". What both have:")
    compare_families.compare(pair)
    st.stop()
arrays = {k: state.probe(b) for k, b in pair.items()}
points = {k: beta_families.point(b) for k, b in pair.items()}
st.dataframe([{"": k, "bundle": b.name, "β": float(b.train_config.beta),
               "D (nats/image)": round(points[k].distortion, 2), "R = KL (nats/image)": round(points[k].rate, 2),
               "ELBO (nats/image)": round(points[k].elbo, 2),
               "active units": f"{points[k].active_units} of {points[k].latent_dim}", "images": points[k].source}
              for k, b in pair.items()], hide_index=True)
same_data = (bundle.dataset.get("name") == other.dataset.get("name")
             and bundle.model_config.image_shape == other.model_config.image_shape)
if not same_data:
    names_ab = (bundle.dataset.get("name"), other.dataset.get("name"))
    shapes_ab = ["×".join(map(str, b.model_config.image_shape)) for b in (bundle, other)]
    differ = (f"different data ({names_ab[0]} and {names_ab[1]})" if names_ab[0] != names_ab[1]
              else f"images of different sizes ({shapes_ab[0]} and {shapes_ab[1]})")
    st.warning(f"A and B were trained on {differ}: each shows its own probe images below.")

st.subheader("Latent maps (PCA of the posterior means)")
n = min(2000, *(len(a["labels"]) for a in arrays.values()))
cols = st.columns(2)
for col, (k, b) in zip(cols, pair.items()):
    proj = state.get_projection(b, "pca", n)
    fig = figures.latent_map(proj.coords, arrays[k]["labels"][:n], b.classes, proj.axis_titles,
                             title=f"{k}: {b.name} (β = {b.train_config.beta:g})")
    fig.update_layout(height=420, showlegend=(k == "B"))
    col.plotly_chart(fig, key=f"cmp_map_{k}")
st.caption(f"The first {n:,} probe images of each, coloured by label. PCA keeps the directions of largest "
           "variance of μ(x); the axis titles give the share of variance each keeps.")

st.subheader("Reconstructions of the same images")
if st.button("Other images", key="cmp_shuffle"):
    st.session_state["cmp_seed"] = st.session_state.get("cmp_seed", 0) + 1
sel = own.picked(bundle)
i = sel.index if sel.index is not None else -1  # -1: the learner's own image, in no probe set
rng = np.random.default_rng(st.session_state.get("cmp_seed", 0))
pool = np.arange(len(arrays["A"]["labels"]))
others = rng.choice(pool[pool != i], size=min(9, len(pool) - 1), replace=False)
chosen = np.concatenate([[i], others]).astype(int)
x = np.concatenate([sel.x[None], arrays["A"]["x"][others]])
rows = [x, analysis.reconstruct(bundle.model, torch.tensor(x)).numpy()]
names = ["input x", f"A: E[x | z = μ], β = {bundle.train_config.beta:g}"]
if same_data:
    rows.append(analysis.reconstruct(other.model, torch.tensor(x)).numpy())
    names.append(f"B: E[x | z = μ], β = {other.train_config.beta:g}")
st.plotly_chart(figures.image_grid(np.stack(rows), row_labels=names,
                                   col_labels=[sel.caption if j < 0 else f"#{j} · {bundle.classes[arrays['A']['labels'][j]]}" for j in chosen],
                                   scale=2, x_title="probe index · label (the first is the sidebar's selected image)"),
                key="cmp_recon")
if not same_data:
    xb = arrays["B"]["x"][:len(chosen)]
    st.plotly_chart(figures.image_grid(np.stack([xb, analysis.reconstruct(other.model, torch.tensor(xb)).numpy()]),
                                       row_labels=["B's input x", "B: E[x | z = μ]"], scale=2), key="cmp_recon_b")

st.subheader("Traversals from the selected image")
c1, c2 = st.columns(2)
steps = c1.select_slider("Columns (offsets t from −3 to 3)", [5, 7, 9], value=7, key="cmp_steps")
rows_n = c2.slider("Rows (dimensions with the largest KL)", 1, 8, 5, key="cmp_rows")
values = torch.linspace(-3, 3, steps)
cols = st.columns(2)
for col, (k, b) in zip(cols, pair.items()):
    kl_mean, order = state.kl_by_dimension(b)
    anchor = own.picked(b).mu if same_data or k == "A" else arrays[k]["mu"][0]
    dims = order[:min(rows_n, len(order))]
    grid = analysis.traversal(b.model, torch.tensor(anchor), dims, values)
    col.plotly_chart(figures.image_grid(
        grid.numpy(), row_labels=[f"z{j} · KL {kl_mean[j]:.2f}" for j in dims],
        col_labels=[f"{t:+.1f}" for t in values.tolist()], scale=2,
        title=f"{k}: {b.name}", x_title="offset t added to z_j; rows: dimension · KL (nats per image)",
        width=460),  # half of the wide layout's main column
        key=f"cmp_trav_{k}")
st.caption(f"Each row decodes μ(x) + t·e_j of {sel.caption} for one dimension j, the dimensions with "
           "the largest average KL first. A row that does not change is a dimension the decoder ignores.")

st.subheader("KL per dimension")
active = {k: a["active"] for k, a in arrays.items()}
st.plotly_chart(beta_figures.kl_per_dimension_pair(
    arrays["A"]["kl_per_dim"].mean(0), arrays["B"]["kl_per_dim"].mean(0),
    names=(f"A: {bundle.name}", f"B: {other.name}"), active_a=active["A"], active_b=active["B"]), key="cmp_kl")
st.caption(f"Average KL of each dimension over the probe images, largest first; pale bars are inactive units "
           f"(Cov_x(μ_u) ≤ {ACTIVE_THRESHOLD}, Burda et al. 2016). The rates R are the sums of each model's bars.")
