"""Entry point: ``streamlit run explorer/app.py [-- --bundles DIR]``.

The sidebar picks a bundle first (checkpoints/, --bundles, $VAE_EXPLORER_BUNDLES, or a zip
uploaded in the browser), then lists the pages that apply to its model family (explorer.pages:
a page needs capabilities, and the family's own pages come from explorer/families/), then the
test-set figures and the selected probe image. Pages that do not apply stay reachable by
address, where they say in a sentence what they need. Bundle, view and selected images live in
the URL. A bundle that fails validation is reported in the sidebar, never as a traceback.
"""
from pathlib import Path

import streamlit as st

# The project is installed (pip install -r requirements.txt installs it in editable mode), so
# this runs from any folder: ``streamlit run explorer/app.py`` or ``vae-explorer``.
from explorer import bundles, capabilities, families, figures, lesson_panel, own, pages, projector, runtime, selection, serving, state
from vae_core import family as model_families
from vae_core import BundleError

st.set_page_config(page_title="VAE latent-space explorer", page_icon=":material/explore:", layout="wide")
projector.fit()  # less blank space above the view, formulas shrunk to their column

DEFAULT_BUNDLE = "mnist-conv-z16"


def upload_box() -> None:
    """A zipped bundle from the browser, unpacked safely and validated like any other."""
    with st.sidebar.expander("Open a zipped bundle"):
        # Any file is taken and checked here: with type="zip" the browser refused a .txt with only
        # a red icon, its reason in a tooltip; a sentence below the box says what to do instead.
        file = st.file_uploader(f"A .zip of one bundle folder, at most {bundles.MAX_UPLOAD_MB} MB", key="upload")
        if file is None:
            return
        before = bundles.uploaded_paths()
        path, error = bundles.open_upload(file.name, file.getvalue(), bundles.session_uploads())
        if error:
            st.error(f"This upload cannot be opened.\n\n{error}")
            return
        if path not in before:
            # Opened once, right after the upload: the picker above is drawn already, so the
            # choice is made on the rerun, before the picker is drawn again.
            st.session_state["_pending_pick"] = path
            st.rerun()
        st.success(f"Opened {Path(path).name}; it is listed in the picker for this session.")


def pick_bundle():
    """The bundle picker, first in the sidebar; the opened bundle, or None (with the reason shown)."""
    st.sidebar.title("VAE explorer")
    found = bundles.available_bundles()
    selection.read_url(found)
    uploaded = bundles.uploaded_paths()
    options = [str(p) for p in found] + uploaded
    if not options:
        upload_box()
        st.sidebar.error("No bundle found. Train one with `vae-train --out checkpoints/NAME` "
                         f"or point ${bundles.BUNDLES_ENV} at a folder of bundles.")
        return None
    pending = st.session_state.pop("_pending_pick", None)
    if pending in options:
        st.session_state["bundle_picker"] = pending
    default = next((i for i, p in enumerate(options) if Path(p).name == DEFAULT_BUNDLE), 0)
    # The widget's own key can be dropped when pages switch; the plain key "bundle_path" is what
    # pages read, so it is set on every run.
    if st.session_state.get("bundle_picker") not in options:
        remembered = st.session_state.get("bundle_path")
        st.session_state["bundle_picker"] = remembered if remembered in options else options[default]
    path = st.sidebar.selectbox("Checkpoint bundle", options, key="bundle_picker",
                                format_func=lambda p: Path(p).name + (" (uploaded)" if p in uploaded else ""),
                                help="Folders under checkpoints/, --bundles and $" + bundles.BUNDLES_ENV)
    st.session_state["bundle_path"] = path
    bundle, error = state.try_bundle(path)
    if error:
        st.sidebar.error(f"This bundle cannot be opened.\n\n{error}")
        upload_box()
        return None
    st.sidebar.caption(capabilities.describe(bundle))
    return bundle


def navigation(bundle) -> tuple:
    """Every page in st.navigation (so any address resolves), the ones that do not apply to
    ``bundle``'s family hidden. The menu sits in the top bar, by section, so that the sidebar
    keeps the picker, the test figures and the selected image in view on a 720-px projector."""
    provides = bundle.model.provides if bundle is not None else frozenset()
    specs = pages.all_pages()
    shown = {s.path for s in specs if (s.bundle_free or (bundle is not None and s.applies(provides)))
             and (serving.in_charge() or not s.in_charge)}
    built = {s.path: st.Page(s.path, title=s.title, icon=s.icon, default=s.default,
                             visibility="visible" if s.path in shown else "hidden") for s in specs}
    by_section = pages.by_section(specs)
    nav = st.navigation({section: [built[s.path] for s in group] for section, group in by_section.items()},
                        position="top")
    st.session_state["nav_listed"] = sorted(s.address for s in specs if s.path in shown)  # what the menu lists
    return nav, {s.address: built[s.path] for s in specs}, {s.address for s in specs if s.bundle_free}


def metrics_box(bundle) -> None:
    m = bundle.metrics
    if not m:
        st.sidebar.info("No metrics.json yet: run `vae-evaluate BUNDLE` on this bundle.")
        return
    own_metrics = families.section(bundle, "sidebar_metrics")  # a family whose figures differ (VQ-VAE)
    if own_metrics:
        own_metrics(bundle)
        return
    ll = m.get("log_likelihood")
    # A model trained elsewhere is scored on its probe images (vae_core.families.onnx.modules).
    where = {"test": "Test set", "probe": "Probe images"}.get(m.get("split", "test"), str(m.get("split")))
    st.sidebar.markdown(
        f"**{where}** ({m['n_images']:,} images, "
        f"{'stochastic binarization' if m.get('binarization', '').startswith('stochastic') else 'pixel values in [0, 1]'})  \n"
        f"ELBO **{m['elbo']:.2f}** nats/image  \n"
        + (f"L_{ll['k']} **{ll['estimate']:.2f}** nats/image  \n" if ll else "")
        + (f"active units **{m['active_units']}** of {m['latent_dim']}" if "active_units" in m else ""))


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


lesson_panel.read_url()  # a lesson's link may choose the bundle: before the picker is drawn
bundle = pick_bundle()
nav, by_address, bundle_free = navigation(bundle)
# A lesson step names its view by address; the default page's address is "".
here = nav.url_path or "reconstructions"
goto = st.session_state.pop(lesson_panel.GOTO, None)
if goto in by_address and goto != here:
    st.switch_page(by_address[goto])

def failed(exc: BundleError) -> None:
    """A model that opened but fails when run (an ONNX graph that gives what its config does not
    say, runs out of time or memory): one sentence, not a traceback."""
    st.error(f"{bundle.name if bundle is not None else 'This bundle'} failed while this view ran it: "
             f"{exc.path.name}: {exc.problem}")


try:
    if bundle is not None:
        selection.say_notice(bundle.name, len(bundle.probe_labels))
        metrics_box(bundle)
        image_box(bundle)
        upload_box()
        serving.sign_in_box()
        note = pages.missing_note(bundle.model.provides, model_families.families())
        if note:
            st.sidebar.caption(note)
        selection.write_url(bundle.name, lesson_panel.url_params())
    if bundle is not None or here in bundle_free:
        lesson_panel.panel(here)
        try:
            nav.run()
        finally:  # also when the view stops early (st.stop): it is drawn, so now what other pages will import
            runtime.warm_later_pages()
    else:
        st.info("Pick a bundle that opens in the sidebar to see its views.")
except BundleError as exc:
    failed(exc)
