"""Entry point: ``streamlit run explorer/app.py [-- --bundles DIR]``.

The sidebar picks a bundle (checkpoints/, --bundles, $VAE_EXPLORER_BUNDLES, or a zip
uploaded in the browser) and the selected probe image; each view is a file in views/ (not
pages/, which Streamlit would list on its own before st.navigation runs). Bundle, view and
selected images live in the URL. A bundle that fails validation is reported in the sidebar,
never as a traceback.
"""
from pathlib import Path

import streamlit as st

# The project is installed (pip install -r requirements.txt installs it in editable mode), so
# this runs from any folder: ``streamlit run explorer/app.py`` or ``vae-explorer``.
from explorer import figures, lesson_panel, own, selection, state

st.set_page_config(page_title="VAE latent-space explorer", page_icon=":material/explore:", layout="wide")

PAGES = {
    "Teach a class": [
        st.Page("views/lessons.py", title="Lessons", icon=":material/school:"),
        st.Page("views/own_image.py", title="Your own image", icon=":material/draw:"),
        st.Page("views/beta_gesture.py", title="β as one gesture", icon=":material/swipe:"),
    ],
    "Images": [
        st.Page("views/reconstructions.py", title="Reconstructions", icon=":material/image:", default=True),
        st.Page("views/posterior.py", title="Posterior spread", icon=":material/blur_on:"),
        st.Page("views/generation.py", title="Generation", icon=":material/auto_awesome:"),
    ],
    "Latent space": [
        st.Page("views/latent_map.py", title="Latent map", icon=":material/scatter_plot:"),
        st.Page("views/traversals.py", title="Latent traversals", icon=":material/tune:"),
        st.Page("views/manifold.py", title="Manifold grid", icon=":material/grid_on:"),
        st.Page("views/interpolation.py", title="Interpolation", icon=":material/linear_scale:"),
        st.Page("views/aggregate.py", title="Aggregate posterior", icon=":material/bubble_chart:"),
    ],
    "Discrete latents (VQ-VAE)": [
        st.Page("views/codes.py", title="Code grids", icon=":material/grid_view:"),
        st.Page("views/codebook.py", title="Codebook", icon=":material/dataset:"),
        st.Page("views/code_edit.py", title="Edit the codes", icon=":material/edit:"),
    ],
    "Objective and model": [
        st.Page("views/objective.py", title="β / KL vs reconstruction", icon=":material/balance:"),
        st.Page("views/model_card.py", title="Model card", icon=":material/badge:"),
    ],
    "β experiments": [
        st.Page("views/rate_distortion.py", title="Rate–distortion plane", icon=":material/show_chart:"),
        st.Page("views/compare.py", title="Compare two bundles", icon=":material/compare:"),
    ],
    "2-D lab": [
        st.Page("views/lab.py", title="2-D lab: train live", icon=":material/science:"),
    ],
    "Training": [
        st.Page("views/train.py", title="Start a run", icon=":material/play_circle:"),
        st.Page("views/run_live.py", title="Watch a run", icon=":material/monitoring:"),
    ],
}
TRAINING_PAGES = {page.url_path for page in PAGES["Training"] + PAGES["2-D lab"] + PAGES["Teach a class"][:1]}  # drawn even when no bundle opens
DEFAULT_BUNDLE = "mnist-conv-z16"


def upload_box(options: list[str]) -> None:
    """A zipped bundle from the browser, unpacked safely and validated like any other."""
    with st.sidebar.expander("Open a zipped bundle"):
        file = st.file_uploader(f"A .zip of one bundle folder, at most {state.MAX_UPLOAD_MB} MB", type="zip",
                                key="upload")
        if file is None:
            return
        path, error = state.open_upload(file.name, file.getvalue())
        if error:
            st.error(f"This upload cannot be opened.\n\n{error}")
            return
        uploads = st.session_state.setdefault("uploads", [])
        if path not in uploads:
            uploads.append(path)
            if path not in options:
                options.append(path)
            st.session_state["bundle_picker"] = path  # open it once, right after the upload
        st.success(f"Opened {Path(path).name}; it is listed in the picker for this session.")


def sidebar() -> bool:
    """Bundle picker and selected image; True when a bundle is loaded and the page can be drawn."""
    st.sidebar.title("VAE explorer")
    st.sidebar.caption("Pick a trained model; each page shows one part of what it learned.")
    bundles = state.available_bundles()
    selection.read_url(bundles)
    options = [str(p) for p in bundles] + list(st.session_state.get("uploads", []))
    upload_box(options)
    if not options:
        st.sidebar.error(f"No bundle found. Train one with `python -m vae_core.train --out checkpoints/NAME` "
                         f"or point ${state.BUNDLES_ENV} at a folder of bundles.")
        return False
    default = next((i for i, p in enumerate(options) if Path(p).name == DEFAULT_BUNDLE), 0)
    # The widget's own key can be dropped when pages switch; the plain key "bundle_path" is what
    # pages read, so it is set on every run.
    if st.session_state.get("bundle_picker") not in options:
        remembered = st.session_state.get("bundle_path")
        st.session_state["bundle_picker"] = remembered if remembered in options else options[default]
    path = st.sidebar.selectbox("Checkpoint bundle", options, key="bundle_picker",
                                format_func=lambda p: Path(p).name + (" (uploaded)" if p.startswith(str(state.UPLOADS)) else ""),
                                help="Folders under checkpoints/, --bundles and $" + state.BUNDLES_ENV)
    st.session_state["bundle_path"] = path
    bundle, error = state.try_bundle(path)
    if error:
        st.sidebar.error(f"This bundle cannot be opened.\n\n{error}")
        return False
    st.sidebar.caption(state.describe(bundle))
    metrics_box(bundle)
    image_box(bundle)
    selection.write_url(bundle.name, lesson_panel.url_params())
    return True


def metrics_box(bundle) -> None:
    m = bundle.metrics
    if not m:
        st.sidebar.info("No metrics.json yet: run `python -m vae_core.evaluate` on this bundle.")
        return
    if "codebook" in m:  # a VQ-VAE (vae_core.vq_evaluation)
        st.sidebar.markdown(
            f"**Test set** ({m['n_images']:,} images)  \n"
            f"D **{m['reconstruction']:.2f}**, prior NLL **{m['kl']:.2f}** nats/image  \n"
            f"ELBO **{m['elbo']:.2f}** nats/image  \n"
            f"codes used **{m['codebook']['used']}** of {m['codebook']['codebook_size']}, perplexity "
            f"{m['codebook']['perplexity']:.1f}")
        return
    ll = m.get("log_likelihood")
    st.sidebar.markdown(
        f"**Test set** ({m['n_images']:,} images, "
        f"{'stochastic binarization' if m.get('binarization', '').startswith('stochastic') else 'grey levels'})  \n"
        f"ELBO **{m['elbo']:.2f}** nats/image  \n"
        + (f"L_{ll['k']} **{ll['estimate']:.2f}** nats/image  \n" if ll else "")
        + f"active units **{m['active_units']}** of {m['latent_dim']}")


def image_box(bundle) -> None:
    """The selected probe image, used by inspection, traversals, posterior spread, interpolation;
    or the learner's own image where they made it the selected one (views/own_image.py)."""
    mine = own.usable(bundle)
    if mine is not None:
        left, right = st.sidebar.columns([3, 2])
        left.markdown("**Selected image: your own** (every view starts from it)")
        left.button("Back to the probe images", key="own_release_sidebar", on_click=own.use, args=(False,))
        right.image(figures.to_uint8_grid(mine.x[None, None], scale=2), output_format="PNG", caption="yours")
        return
    arrays = state.probe(bundle)
    n = len(arrays["labels"])
    left, right = st.sidebar.columns([3, 2])
    i = selection.number_input(left, f"Selected image (0 to {n - 1})", selection.FIRST, n,
                               help="A probe image's index. Click a point on the latent map to select it.")
    right.image(figures.to_uint8_grid(arrays["x"][i][None, None], scale=2), output_format="PNG",
                caption=f"label {bundle.classes[arrays['labels'][i]]}")


# 21 pages: Streamlit would show ten and hide the rest behind "View 3 more" (the β and training pages).
navigation = st.navigation(PAGES, expanded=True)
# A lesson step names its view by address; the default page's address is "".
VIEWS = {page.url_path or "reconstructions": page for group in PAGES.values() for page in group}
here = navigation.url_path or "reconstructions"
lesson_panel.VIEWS = set(VIEWS)
lesson_panel.read_url()
goto = st.session_state.pop(lesson_panel.GOTO, None)
if goto in VIEWS and goto != here:
    st.switch_page(VIEWS[goto])
if sidebar() or navigation.url_path in TRAINING_PAGES:
    lesson_panel.panel(here)
    navigation.run()
else:
    st.info("Pick a bundle that opens in the sidebar to see its views.")
