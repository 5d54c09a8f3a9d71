"""The decoded manifold over two latent dimensions at Gaussian quantiles (Kingma & Welling, fig. 4)."""
import streamlit as st
import torch

from explorer import capabilities, figures, live_decode, own, spatial, state, texts, widgets
from vae_core import analysis
from vae_core.family import GAUSSIAN_POSTERIOR

bundle = capabilities.require(GAUSSIAN_POSTERIOR)
arrays = state.probe(bundle)
n_probe, dim = arrays["mu"].shape
kl_mean, order = state.kl_by_dimension(bundle)

texts.header("manifold")


def unit(j: int) -> str:
    """z5, or z[c1, 2, 3] in a grid latent."""
    return spatial.unit_name(spatial.shape_of(bundle), j)


names = [f"{unit(j)} (KL {kl_mean[j]:.2f} nats/image)" for j in range(dim)]
c1, c2, c3, c4 = st.columns(4)
i = c1.selectbox("Columns: dimension z_i", range(dim), index=order[0], format_func=names.__getitem__,
                 key="mf_i")
j = c2.selectbox("Rows: dimension z_j", range(dim), index=order[1 % dim], format_func=names.__getitem__,
                 key="mf_j")
size = c3.select_slider("Grid size", [5, 10, 15, 20], value=15, key="mf_n")
kinds = {"prior": "the prior mean z = 0", "image": "the selected image's μ"}
kind = c4.radio("Other dimensions held at", list(kinds), format_func=kinds.get, key="mf_anchor",
                disabled=dim == 2)

if i == j:
    st.warning("Pick two different dimensions.")
    st.stop()
sel = own.picked(bundle)
anchor = torch.tensor(sel.mu) if kind == "image" else torch.zeros(dim)
images, q = analysis.manifold_grid(bundle.model, anchor, (i, j), size)
scale = 2 if size > 10 else 3
ticks = [f"{v:+.2f}" for v in q.tolist()]
st.plotly_chart(figures.image_grid(images.numpy(), col_labels=ticks, row_labels=ticks[::-1], scale=scale,
                                   x_title=f"{unit(i)} (prior standard deviations)",
                                   y_title=f"{unit(j)} (prior standard deviations)"), key="mf_grid")
st.caption(f"{size}×{size} decoder means E[x|z]. "
           + (f"Other {dim - 2} dimensions at {'0' if kind == 'prior' else f'μ of {sel.caption}'}. " if dim > 2 else "")
           + "Dimensions with KL ≈ 0 are ignored by the decoder: a grid over one of them does not change.")
widgets.download_png(images.numpy(), f"{bundle.name}-manifold-z{i}-z{j}.png", key="mf_png", scale=scale)


st.subheader("Hover to decode")
cells = torch.linspace(0, 1, 201) * size - 0.5  # the cursor's place in cell units; cell a's centre is at a
p = (0.05 + cells / (size - 1) * 0.9).clamp(0.005, 0.995)  # the grid's quantiles, continued past its edges
values = torch.distributions.Normal(0.0, 1.0).icdf(p).tolist()


def remember(value) -> None:
    z = live_decode.released_z(value, len(anchor))  # from the browser: checked
    if z is not None:
        st.session_state["mf_released"] = [float(z[i]), float(z[j])]


payload = {"z": anchor.tolist(), "dims": [i, j], "x_values": values, "y_values": values, "size": 360, "scale": 8,
           "background": live_decode.png_data_url(figures.to_uint8_grid(images.numpy(), scale=1)), "start": [0.5, 0.5],
           "axes_label": f"{unit(i)} right and {unit(j)} up at the prior's quantiles 5 % to 95 %, as the grid above"}
if not live_decode.mount(bundle, "pad", "mf_pad", payload, on_release=remember):
    directions = torch.zeros(2, len(anchor))
    directions[0, i], directions[1, j] = 1.0, 1.0  # z_i and z_j move from the anchor, the others stay
    live_decode.plane_sliders(bundle, anchor.numpy(), directions.numpy(), 3.0, [f"{unit(i)} offset", f"{unit(j)} offset"], "mf_sliders")
else:
    released = st.session_state.get("mf_released")
    st.caption("Move the cursor over the grid: the z under it, between the cells too, is decoded in your browser "
               "and drawn beside it." + (f" Last click: {unit(i)} = {released[0]:+.2f}, {unit(j)} = {released[1]:+.2f}."
                                         if released else " Click to note a z."))
