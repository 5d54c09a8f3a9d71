"""A decoded path between two images' posterior means: linear and spherical."""
import numpy as np
import streamlit as st
import torch

from explorer import capabilities, families, figures, live_decode, own, selection, state, texts, widgets
from vae_core import analysis
from vae_core.family import GAUSSIAN_POSTERIOR

family_own = families.section(state.current(), "interpolation")  # e.g. a VQ-VAE: interpolate before quantizing
if family_own:
    family_own(state.current())
    st.stop()
bundle = capabilities.require(GAUSSIAN_POSTERIOR)
arrays = state.probe(bundle)
n_probe, dim = arrays["mu"].shape

texts.header("interpolation")

c1, c2, c3 = st.columns(3)
start = own.picked(bundle)
a = start.index if start.index is not None else "yours"
c1.markdown(f"**From:** the selected image, {start.caption} (change it in the sidebar or on the latent map)")
b = selection.number_input(c2, "To: probe image", selection.SECOND, n_probe)
steps = c3.select_slider("Steps", [5, 7, 9, 11, 13], value=9, key="interp_steps")
for column, image, caption in ((c1, start.x, start.caption),
                               (c2, arrays["x"][b], f"probe #{b}, label {bundle.classes[arrays['labels'][b]]}")):
    column.image(figures.to_uint8_grid(image[None, None], scale=3), output_format="PNG", caption=caption)

za, zb = torch.tensor(start.mu), torch.tensor(arrays["mu"][b])
rows = np.stack([analysis.decode(bundle.model, analysis.interpolate(za, zb, steps, m)).numpy()
                 for m in ("linear", "spherical")])
norms = [[float(z.norm()) for z in analysis.interpolate(za, zb, steps, m)] for m in ("linear", "spherical")]
t = np.linspace(0, 1, steps)
# Short labels (a 32-pixel image's column is ~100 px at 1280 wide): the two norms, linear over slerp.
labels = [f"t = {v:.2f}<br>{norms[0][k]:.1f}<br>{norms[1][k]:.1f}" for k, v in enumerate(t)]
st.plotly_chart(figures.image_grid(rows, row_labels=["linear", "spherical"], col_labels=labels, scale=3,
                                   x_title="position t along the path; below it ‖z‖ of the linear path, then of the "
                                           "spherical one, latent units"),
                key="interp_grid")
st.caption(f"Decoder means E[x|z] along both paths from μ of {start.caption} to μ of #{b}. A {dim}-D prior sample "
           f"has norm ≈ √{dim} = {dim ** 0.5:.1f}.")
widgets.download_png(rows, f"{bundle.name}-interpolation-{a}-{b}.png", key="interp_png")

st.subheader("Scrub along the path")
POINTS = 129  # sent to the page; between two of them z moves linearly (a chord of the slerp arc)
methods = {"linear": "linear", "spherical": "spherical (slerp)"}
paths = {methods[m]: analysis.interpolate(za, zb, POINTS, m) for m in methods}


def remember(value: dict) -> None:
    st.session_state["interp_t"] = float(value["t"])


@st.fragment
def server_scrub():
    """The fallback for decoders the page cannot run: only this block reruns per move."""
    t = st.slider("position t along the path", 0.0, 1.0, st.session_state.get("interp_t", 0.5), 0.01,
                  key="interp_t_server")
    k = round(t * (POINTS - 1))
    images = analysis.decode(bundle.model, torch.stack([path[k] for path in paths.values()])).numpy()
    st.image(figures.to_uint8_grid(images[None], scale=6), output_format="PNG",
             caption=" · ".join(f"{name}: ‖z‖ = {float(path[k].norm()):.2f}" for name, path in paths.items()))


payload = {"paths": {name: path.tolist() for name, path in paths.items()}, "t": st.session_state.get("interp_t", 0.5),
           "from": start.caption, "to": f"probe #{b}", "scale": 6}
if live_decode.mount(bundle, "path", "interp_path", payload, on_release=remember):
    released = st.session_state.get("interp_t")
    st.caption("Drag t: both paths are decoded in your browser at every move, with no rerun; watch where the linear "
               "path's norm dips and its image fades while the spherical one stays sharp."
               + (f" Released at t = {released:.3f}." if released is not None else ""))
else:
    server_scrub()
