"""Entry point: ``streamlit run explorer/app.py [-- --bundles DIR]``.

The sidebar picks a bundle (checkpoints/, --bundles, $VAE_EXPLORER_BUNDLES); each view is a
file in views/ (not pages/, which Streamlit would list on its own before st.navigation runs).
A bundle that fails validation is reported in the sidebar, never as a traceback.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from any folder

import streamlit as st  # noqa: E402

from explorer import state  # noqa: E402

st.set_page_config(page_title="VAE latent-space explorer", page_icon=":material/explore:", layout="wide")

PAGES = [
    st.Page("views/reconstructions.py", title="Reconstructions", icon=":material/image:", default=True),
    st.Page("views/latent_map.py", title="Latent map", icon=":material/scatter_plot:"),
    st.Page("views/traversals.py", title="Latent traversals", icon=":material/tune:"),
    st.Page("views/objective.py", title="β / KL vs reconstruction", icon=":material/balance:"),
]
DEFAULT_BUNDLE = "mnist-conv-z16"


def sidebar() -> bool:
    """Bundle picker; True when a bundle is loaded and the page can be drawn."""
    st.sidebar.title("VAE explorer")
    st.sidebar.caption("Pick a trained model; each page shows one part of what it learned.")
    bundles = state.available_bundles()
    if not bundles:
        st.sidebar.error(f"No bundle found. Train one with `python -m vae_core.train --out checkpoints/NAME` "
                         f"or point ${state.BUNDLES_ENV} at a folder of bundles.")
        return False
    options = [str(p) for p in bundles]
    default = next((i for i, p in enumerate(bundles) if p.name == DEFAULT_BUNDLE), 0)
    # The widget's own key can be dropped when pages switch; the plain key "bundle_path" is what
    # pages read, so it is set on every run.
    remembered = st.session_state.get("bundle_path")
    path = st.sidebar.selectbox("Checkpoint bundle", options, key="bundle_picker",
                                index=options.index(remembered) if remembered in options else default,
                                format_func=lambda p: Path(p).name,
                                help="Folders under checkpoints/, --bundles and $" + state.BUNDLES_ENV)
    st.session_state["bundle_path"] = path
    bundle, error = state.try_bundle(path)
    if error:
        st.sidebar.error(f"This bundle cannot be opened.\n\n{error}")
        return False
    st.sidebar.caption(state.describe(bundle))
    m = bundle.metrics
    if m:
        ll = m.get("log_likelihood")
        st.sidebar.markdown(
            f"**Test set** ({m['n_images']:,} images, {m.get('binarization', '').split(':')[0]} binarization)  \n"
            f"ELBO **{m['elbo']:.2f}** nats/image  \n"
            + (f"L_{ll['k']} **{ll['estimate']:.2f}** nats/image  \n" if ll else "")
            + f"active units **{m['active_units']}** of {m['latent_dim']}")
    else:
        st.sidebar.info("No metrics.json yet: run `python -m vae_core.evaluate` on this bundle.")
    return True


navigation = st.navigation(PAGES)
if sidebar():
    navigation.run()
else:
    st.info("Pick a bundle that opens in the sidebar to see its views.")
