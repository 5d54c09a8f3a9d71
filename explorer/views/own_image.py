"""Draw or upload an image and watch the model encode, reconstruct and place it."""
import numpy as np
import streamlit as st

from explorer import figures, map_data, own, state
from vae_core.family import GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND
from vae_core.preprocess import ImageInputError, read_image, to_grey

bundle = state.current()
gaussian = GAUSSIAN_POSTERIOR in bundle.model.provides
arrays = state.probe(bundle)

# Each pen-up reruns the page; Streamlit greys the results while it runs, so a digit drawn in
# three strokes flashed three times. Here the old results stay as they are until the new ones
# replace them.
NO_STALE_FADE = "<style>.stMain [data-stale='true'] {opacity: 1 !important; transition: none !important}</style>"
st.html(NO_STALE_FADE)
st.title("Your own image")
st.markdown(
    "Draw a digit (or upload a picture: a colour one for a colour model) and see what the model makes of it: the image as the model "
    "sees it, its reconstruction, the terms of the objective, where q(z|x) sits in every dimension, "
    "and where the image lands among the test images on the latent map.")
st.latex(r"\begin{gathered}x_{\text{yours}} \;\to\; q(z\mid x) = \mathcal{N}\big(\mu(x), \operatorname{diag}\sigma^2(x)\big)"
         r"\;\to\; \hat x = \mathbb{E}[x\mid z = \mu(x)]\\ \mathrm{ELBO} = -(D + R) \le \mathcal{L}_k \le \log p(x)"
         r"\end{gathered}")  # two lines: one was 890 px, wider than a 1280-px projector's column

draw, result = st.columns([2, 3])
with draw:
    how = st.radio("Input", ["Draw", "Upload"], horizontal=True, key="own_how")
    if how == "Draw":
        from streamlit_drawable_canvas import st_canvas  # a component: imported only where it is drawn

        width = st.slider("Pen width (canvas pixels)", 8, 40, 22, key="own_pen")
        canvas = st_canvas(stroke_width=width, stroke_color="#FFFFFF", background_color="#000000",
                           height=280, width=280, drawing_mode="freedraw", key="own_canvas",
                           return_image_data=True)
        st.caption("White ink on black, as the data set's images are. The bin icon above clears the canvas.")
        pixels = getattr(canvas, "image_data", None) if canvas is not None else None
        if pixels is not None and (pixels[..., :3].max() > 0):
            grey = to_grey(pixels)
            if own.raw() is None or not np.array_equal(own.raw(), grey.astype(np.float32)):
                own.keep(grey, "drawing")
    else:
        file = st.file_uploader("A picture of one digit or object (PNG, JPEG, at most 10 MB)",
                                type=["png", "jpg", "jpeg", "bmp", "gif", "webp"], key="own_upload")
        if file is not None:
            try:
                colour = bundle.probe_images.shape[1] == 3  # a colour model keeps a photo's colours
                own.keep(read_image(file.getvalue(), file.name, colour=colour), f"upload {file.name}")
            except ImageInputError as exc:
                st.error(str(exc))
    st.checkbox("Invert the prepared image (an out-of-distribution test)", key=own.INVERT)

if own.raw() is None:
    result.info("Draw a stroke on the canvas (or upload a picture): its encoding appears here.")
    st.stop()
try:
    x, recipe = own.prepared(bundle)
except ImageInputError as exc:
    result.warning(str(exc))
    st.stop()
e = own.encoded(bundle, x)

with result:
    left, right = st.columns(2)
    left.image(figures.to_uint8_grid(np.stack([e.x[None], e.reconstruction[None]]), scale=5), output_format="PNG",
               caption="top: your image as the model sees it; bottom: its reconstruction E[x | z]")
    total = arrays["reconstruction"] + arrays["kl"]
    share = float((total < e.distortion + e.rate).mean() * 100)
    right.metric("D = −E_q[log p(x|z)]", f"{e.distortion:.1f} nats",
                 help="The reconstruction term, one z ~ q(z|x).")
    right.metric("R = KL(q(z|x) ‖ p(z))" if gaussian else "R = −log p(k(x)), the prior over codes", f"{e.rate:.1f} nats")
    if e.bound is not None:
        right.metric(f"L_k, k = {e.k}", f"{e.bound:.1f} nats", help="The importance-weighted bound on log p(x).")
    st.caption(f"Prepared {recipe}. {'Binarized once (seed 0), as the model was trained. ' if bundle.dataset.get('binarized') else ''}"
               f"Source: your {st.session_state.get(own.SOURCE, 'image')}.")

    typical = float(np.median(total))
    verdict = ("unlike the images it was trained on" if share > 95 else
               "a little unusual for the model" if share > 75 else "like the images it was trained on")
    st.markdown(
        f"**−ELBO = D + R = {e.distortion + e.rate:.1f} nats**, higher than for **{share:.0f}%** of the "
        f"{len(total):,} test images (their median {typical:.1f}): to this model the input looks {verdict}. "
        "A letter, a scribble or an inverted image gets a large D (the decoder can only draw what it was "
        "trained on) and a low L_k (the model gives it little probability).")

if not gaussian:
    st.info(f"{bundle.name} is a {bundle.model.title}: its latent is not a Gaussian q(z|x), so there is no "
            "μ ± σ and no map of posterior means here. " + (bundle.model.explorer_note or ""))
    st.stop()

st.subheader("q(z|x) of your image, dimension by dimension")
st.plotly_chart(figures.posterior_bars(e.latent, e.sigma, e.kl_per_dim), key="own_bars")
st.caption("Left: μ_j ± σ_j; the grey band is the prior's ±1. Right: KL_j = ½(μ_j² + σ_j² − log σ_j² − 1) "
           f"in nats; they sum to R = {e.rate:.1f}.")

st.subheader("Where it lands on the latent map")
dim = len(e.latent)
methods = {"latent": "z itself (2-D latent)"} if dim == 2 else {}
methods |= {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
method = st.radio("Map", list(methods), format_func=methods.get, horizontal=True, key="own_map")
probe = map_data.points(bundle, "probe")
with st.spinner(f"Computing the {methods[method]} map of the probe images (cached for every visitor)…"):
    fitted = map_data.fitted(bundle, "probe", method)
n = len(probe.labels)
fig = figures.latent_map(fitted.coords, probe.labels, bundle.classes, fitted.axis_titles)
figures.mark_own(fig, fitted.place(e.latent[None])[0])
st.plotly_chart(fig, key="own_latent_map")
st.caption(f"The star is your image's μ among the posterior means of {n:,} test images ({fitted.description}), "
           + ("placed by the same PCA fit (the other points do not move)." if method == "pca" else
              "which is the map itself." if method == "latent" else
              "placed by openTSNE's transform: the new point is optimised against the fixed map." if method == "tsne"
              else "placed by umap-learn's transform: the new point is optimised against the fixed map."))

in_use = st.session_state.get(own.IN_USE, False)
if in_use:
    st.success("Your image is the selected image in every view (traversals, posterior spread, interpolation, "
               "compare, the latent map).")
    st.button("Go back to the probe images", key="own_release", on_click=own.use, args=(False,))
else:
    st.button("Use it as the selected image in every view", key="own_adopt", on_click=own.use, args=(True,),
              type="primary", icon=":material/check_circle:")
if IMPORTANCE_WEIGHTED_BOUND in bundle.model.provides and e.bound is not None:
    st.caption(f"ELBO {e.elbo:.1f} ≤ L_{e.k} {e.bound:.1f} ≤ log p(x): the gap L_k − ELBO = {e.bound - e.elbo:.1f} "
               "nats is the part of KL(q(z|x) ‖ p(z|x)) the importance samples recover (all nats per image).")
