"""Latent traversals: decode mu + t * e_j for each dimension j, and live sliders."""
import streamlit as st
import torch

from explorer import capabilities, figures, live_decode, own, spatial, state, texts, widgets
from vae_core import analysis
from vae_core.family import GAUSSIAN_POSTERIOR

bundle = capabilities.require(GAUSSIAN_POSTERIOR)
arrays = state.probe(bundle)
n_probe, dim = arrays["mu"].shape
kl_mean, order = state.kl_by_dimension(bundle)

texts.header("traversals")
st.caption("In the grid below, rows are dimensions, largest average KL first.")

c1, c2, c3 = st.columns([2, 2, 2])
kinds = {"image": "the selected image's μ", "prior": "the prior mean z = 0"}
kind = c1.radio("Anchor z̄", list(kinds), format_func=kinds.get, key="trav_anchor",
                index=list(kinds).index(st.session_state.get("trav_anchor_kind", "image")))
st.session_state["trav_anchor_kind"] = kind
steps = c3.select_slider("Columns", [5, 7, 9, 11], value=9, key="trav_steps")
rows = st.slider("Rows (dimensions, by KL)", 1, dim, min(dim, 16), key="trav_rows") if dim > 1 else 1

if kind == "prior":
    anchor = torch.zeros(dim)
else:
    sel = own.picked(bundle)
    anchor = torch.tensor(sel.mu)
    c2.image(figures.to_uint8_grid(sel.x[None, None], scale=3),
             caption=f"anchor: {sel.caption} "
                     "(change it in the sidebar or on the latent map)", output_format="PNG", width=112)

values = torch.linspace(-3, 3, steps)
grid_shape = spatial.shape_of(bundle)  # (C', h, w) of a grid latent, whose units are named z[c, row, column]
dims = order[:rows]
grid = analysis.traversal(bundle.model, anchor, dims, values)
widgets.download_png(grid.numpy(), f"{bundle.name}-traversal.png", key="trav_png")
st.plotly_chart(figures.image_grid(
    grid.numpy(), row_labels=[f"{spatial.unit_name(grid_shape, j)} · KL {kl_mean[j]:.2f} nats/image" for j in dims],
    col_labels=[f"{t:+.1f}" for t in values.tolist()], scale=2,
    x_title="offset t added to z_j (prior standard deviations); rows: dimension · average KL per image"),
    key="trav_grid")
spatial.traversal_section(bundle, anchor, values, kl_mean)  # a grid latent: a channel here, or everywhere


LEAD = order[:min(dim, 6)]  # the leading dimensions by KL


def remember(value: dict) -> None:
    """The release: the offsets stay when the page reruns or the anchor changes."""
    st.session_state["trav_offsets"] = {j: float(t) for j, t in zip(LEAD, value["offsets"])}


@st.fragment
def server_decoder():
    """The fallback for decoders the page cannot run: only this block reruns per move."""
    left, right = st.columns([3, 2])
    z = anchor.clone()
    for j in LEAD:
        z[j] += left.slider(f"{spatial.unit_name(grid_shape, j)}: offset t from the anchor (KL {kl_mean[j]:.2f} nats per image)",
                            -3.0, 3.0, 0.0, 0.1, key=f"live_{j}")
    image = analysis.decode(bundle.model, z)
    right.image(figures.to_uint8_grid(image[None, None].numpy(), scale=8),
                caption="E[x | z] at " + ", ".join(f"{spatial.unit_name(grid_shape, j)} = {z[j]:+.2f}" for j in LEAD),
                output_format="PNG")  # JPEG would blur the pixels


st.subheader("Drag the leading dimensions")
offsets = st.session_state.get("trav_offsets", {})
sliders = [{"index": j, "offset": offsets.get(j, 0.0),
         "label": f"{spatial.unit_name(grid_shape, j)}: offset from the anchor (KL {kl_mean[j]:.2f} nats per image)"} for j in LEAD]
if live_decode.mount(bundle, "sliders", "trav_live", {"z": anchor.tolist(), "dims": sliders, "lo": -3, "hi": 3,
                                                       "scale": 8}, on_release=remember):
    st.caption("Decoded in your browser at every move (the model's decoder was sent to the page once); "
               "t in prior standard deviations.")
else:
    server_decoder()
