"""Every image of a split placed by its posterior mean (PCA, t-SNE, UMAP, or z itself); hover to
see an image, click, box or lasso to select, neighbours in latent space, the PCA plane decoded."""
import time

import numpy as np
import streamlit as st

from explorer import capabilities, live_decode, map_component, map_data, map_sections, own, state, texts
from vae_core.family import GAUSSIAN_POSTERIOR

bundle = capabilities.require(GAUSSIAN_POSTERIOR)
classes = bundle.classes
dim = bundle.model_config.latent_dim

texts.header("latent_map", dim=dim)
sources, why = map_data.sources(bundle)
c1, c2, c3 = st.columns([2, 3, 2])
source = c1.selectbox("Images", list(sources), format_func=sources.get, key="map_source")
names = {"latent": "z itself"} if dim == 2 else {}
names |= {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
method = c2.radio("Projection", list(names), format_func=names.get, horizontal=True, key="map_method")
colour_by = c3.selectbox("Colour by", list(map_component.COLOURINGS), format_func=map_component.COLOURINGS.get,
                         key="map_colour")
if why:
    st.caption(why.capitalize() + ".")

started = time.perf_counter()
bar = st.empty()


def progress(text):
    return lambda f: bar.progress(min(1.0, f), text=text)


points = map_data.points(bundle, source, progress(f"Encoding every image of the {source} split…"))
expect = {"tsne": "~35 s for 10,000 points, ~2 min for 70,000 on a 2-core CPU",
          "umap": "~40 s for 10,000 or 70,000 points on a 2-core CPU"}.get(method, "seconds")  # docs/latent-map.md
fitted = map_data.fitted(bundle, source, method,
                         progress(f"Computing {names[method]} of {len(points.labels):,} points ({expect}); "
                                  "cached on disk for every visitor afterwards…"))
if method in ("tsne", "umap") and time.perf_counter() - started > 1:
    bar.progress(1.0, text="Done.")
bar.empty()
n = len(points.labels)

picked = map_sections.picked(source, n)
sel = own.picked(bundle)
# Nothing picked on the map: ring the sidebar's selected image, where this source holds it.
ring = picked or np.flatnonzero(points.probe_index == (-2 if sel.index is None else sel.index))[:1].tolist()
star = None
if sel.index is None:  # the learner's own image, placed without moving the others
    placing = "t-SNE's optimisation against the fixed map (openTSNE's transform)" if method == "tsne" else (
        "UMAP's transform (umap-learn)" if method == "umap" else "the same linear map" if method == "pca" else "μ itself")
    with st.spinner(f"Placing your image by {placing}…"):
        star = fitted.place(sel.mu[None])[0]
near = map_sections.neighbours_of(points, picked[0]) if picked else []


def on_pick(indices: list[int], how: str) -> None:
    if indices:  # an empty box keeps the selection; "Clear the selection" below drops it
        map_sections.choose(source, indices, points)


map_component.mount("latent_map", points, f"{bundle.path}|{state.stamp(bundle)}|{source}|{map_data.limit()}",
                    fitted.coords, fitted.axis_titles, classes, colour_by=colour_by, highlight=ring,
                    neighbours=near, star=star, on_pick=on_pick, split_at=points.split_at,
                    ellipses=[(*points.mu[k], *np.exp(0.5 * points.logvar[k])) for k in ring]
                    if method == "latent" and len(ring) <= map_component.RINGS else ())
elapsed = time.perf_counter() - started  # the thumbnails' packing included
st.caption(f"{points.what}; {fitted.description}; computed or read from the cache in {elapsed:.2f} s. "
           + (f"Images #{points.split_at:,} onwards are training images, which the model saw. " if points.split_at else "")
           + ("Black rings: the selection; " if 0 < len(picked) <= map_component.RINGS else
              "Bright: the selection, the others faded; " if picked else "")
           + ("purple rings: the first one's nearest neighbours by μ. " if picked else
              "The black ring: the selected image. " if ring else "")
           + ("Black ellipses: the 1σ contour of q(z|x) of the ringed images. "
              if method == "latent" and 0 < len(ring) <= map_component.RINGS else "")
           + (f"The star: your own image, placed by {placing}. " if star is not None else ""))


def on_search() -> None:
    """Runs before the rerun, so the map drawn next already shows what was found."""
    hits, st.session_state["map_found"] = map_sections.search(st.session_state.get("map_query", ""), points, classes)
    if hits:
        map_sections.choose(source, hits, points)


with st.form("map_search", border=False):
    s1, s2 = st.columns([4, 1], vertical_alignment="bottom")
    s1.text_input("Search", placeholder=f"an image's index (#123), or a label ({classes[-1]}, label {classes[0]})",
                  key="map_query", max_chars=60)
    s2.form_submit_button("Find", icon=":material/search:", on_click=on_search)
if picked:
    st.button("Clear the selection", key="map_clear", icon=":material/deselect:",
              on_click=lambda: st.session_state.pop(map_sections.PICKED, None))
if st.session_state.get("map_found"):
    st.caption("Search: " + st.session_state["map_found"] + ".")

if picked:
    if len(picked) > 1:
        st.subheader("The selected images")
        map_sections.grid(points, picked, classes)
    st.subheader(f"Nearest neighbours of #{picked[0]} in latent space")
    map_sections.neighbours(points, picked[0], classes)

if method == "pca" and dim > 2:
    st.subheader("The PCA plane as a decoder")
    map_sections.pca_pad(bundle, points, fitted.coords, picked[0] if picked else None, source)
elif dim == 2:
    st.subheader("Hover to decode")
    lim = float(max(3.0, np.percentile(np.abs(points.mu), 99.9) * 1.05))  # a few far means would shrink the rest
    dots, colors = live_decode.class_points(points.mu[:20_000], points.labels[:20_000], lim, len(classes))
    payload = {"z": [0.0, 0.0], "dims": [0, 1], "x_values": [-lim, lim], "y_values": [-lim, lim], "size": 360,
               "scale": 8, "points": dots, "colors": colors, "start": [(float(v) + lim) / (2 * lim) for v in sel.mu],
               "axes_label": f"z0 from {-lim:.1f} to {lim:.1f} (right), z1 from {-lim:.1f} to {lim:.1f} (up), "
                             "latent units; each dot an image's μ, coloured by label"}

    def choose_nearest(value) -> None:
        """A click on the plane selects the image whose μ is nearest, as a click on the map does."""
        z = live_decode.released_z(value, 2)
        if z is not None:
            map_sections.choose(source, [int(((points.mu - z) ** 2).sum(1).argmin())], points)

    if live_decode.mount(bundle, "pad", "map_pad", payload, on_release=choose_nearest):
        st.caption("Move the cursor over the plane: the decoder's mean E[x | z] at the z under it is drawn beside "
                   "it, decoded in your browser (VAE Explainer's interaction). Click to select the nearest image.")

st.download_button("Download the probe encodings (CSV: index, label, μ, σ)", state.encodings_csv(bundle),
                   f"{bundle.name}-encodings.csv", "text/csv", key="map_csv", icon=":material/download:",
                   on_click="ignore")

if picked:
    i = picked[0]
    p = points.probe_index[i]
    where = {"probe": "of the probe images", "test": "of the test split", "train": "of the training split",
             "all": "of test + training"}[source]
    st.header(f"Inspect image #{i} {where}" + (f" (probe image #{p})" if p >= 0 and source != "probe" else ""))
    if p >= 0 and sel.index == p:  # as every other view shows it
        map_sections.inspect_selected(bundle, sel)
    else:
        map_sections.inspect(bundle, points, i, classes)
    to_views = points.probe_index[i] >= 0
    if to_views and source != "probe":
        st.caption(f"It is probe image #{p}, now the selected image of every view.")
    elif not to_views:
        st.caption("Not one of the bundle's probe images, so the other views (which start from those) do not "
                   "open it; it is inspected here.")
else:
    at = np.flatnonzero(points.probe_index == (-2 if sel.index is None else sel.index))
    st.header("Inspect your image" if sel.index is None else f"Inspect image #{sel.index}" if source == "probe"
              or not len(at) else f"Inspect image #{at[0]} of the test split (probe image #{sel.index})")
    map_sections.inspect_selected(bundle, sel)
    to_views = True
if to_views:
    b1, b2, b3 = st.columns(3)
    if b1.button("Use as traversal anchor", icon=":material/tune:", key="to_traversal"):
        st.session_state["trav_anchor_kind"] = "image"
        st.switch_page("views/traversals.py")
    if b2.button("Interpolate from it", icon=":material/linear_scale:", key="to_interpolation"):
        st.switch_page("views/interpolation.py")
    if b3.button("See its posterior spread", icon=":material/blur_on:", key="to_posterior"):
        st.switch_page("views/posterior.py")
