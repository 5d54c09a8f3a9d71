"""The learner's own image: scored like the test set, placed on the map, used by every view."""
import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from conftest import CHECKPOINTS, REPO
from vae_core import analysis, evaluate, load_bundle, maps
from vae_core.own_image import encode_one

APP = str(REPO / "explorer" / "app.py")
Z16 = CHECKPOINTS / "mnist-conv-z16"


def seven() -> np.ndarray:
    grey = np.zeros((280, 280), np.float32)
    grey[60:80, 70:210] = 1.0
    for r in range(80, 250):  # the diagonal
        c = int(200 - (r - 80) * 0.5)
        grey[r, c - 10:c + 10] = 1.0
    return grey


def test_encode_one_averages_d_over_k_draws_and_keeps_the_elbo_below_l_k():
    bundle = load_bundle(Z16)
    x = analysis.probe_inputs(bundle)[:1]  # already binarized as the model scores it
    e = encode_one(bundle.model, x[0], binarized=False, k=500)
    m = evaluate(bundle.model, x, k=500, seed=0)
    assert e.bound == pytest.approx(m["log_likelihood"]["estimate"])  # the same estimator as the test set's
    assert e.rate == pytest.approx(m["kl"], rel=1e-5) and e.kl_per_dim.sum() == pytest.approx(e.rate, rel=1e-5)
    with torch.no_grad():
        mu, logvar = bundle.model.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(4000, mu.shape[1])  # an independent estimate of D
        d = -bundle.model.likelihood.log_prob(x.expand(4000, -1, -1, -1), bundle.model.decode(z)).mean()
    assert e.distortion == pytest.approx(float(d), abs=0.5)
    assert e.elbo == pytest.approx(-(e.distortion + e.rate)) and e.elbo < e.bound
    assert np.allclose(e.latent, mu[0].numpy(), atol=1e-6) and e.latent.dtype == np.float32  # as the probe means


def test_a_probe_mean_is_placed_where_the_map_has_it():
    bundle = load_bundle(Z16)
    mu = analysis.probe_encodings(bundle)["mu"].numpy()[:500]
    for method in ("pca", "latent") if mu.shape[1] == 2 else ("pca",):
        fitted = maps.fit(mu, method)
        assert np.allclose(fitted.place(mu[[7, 42]]), fitted.coords[[7, 42]], atol=1e-6)
    flipped = maps.fit(mu, "pca").coords * [-1, 1]  # a stored map whose first axis has the other sign
    assert np.allclose(maps.fit(mu, "pca", coords=flipped).place(mu[[7]]), flipped[[7]], atol=1e-6)


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_tsne_and_umap_place_a_new_point_by_transform_among_its_own_cluster(method):
    """scikit-learn's t-SNE could only average neighbours' places; openTSNE and umap-learn
    optimise the new point against the fixed map, also when the map is rebuilt from stored
    coordinates (a cache holds coordinates only)."""
    rng = np.random.default_rng(0)
    centres = np.eye(4)[:3] * 12
    mu = np.concatenate([rng.normal(size=(60, 4)) + c for c in centres])
    fitted = maps.fit(mu, method)
    rebuilt = maps.fit(mu, method, coords=fitted.coords)
    assert np.array_equal(rebuilt.coords, fitted.coords)
    new = centres + rng.normal(scale=0.3, size=(3, 4))
    for placed in (fitted.place(new), rebuilt.place(new)):
        for cluster, xy in enumerate(placed):  # nearer its own cluster's centre on the map than any other's
            centre = [np.median(fitted.coords[60 * c:60 * (c + 1)], 0) for c in range(3)]
            assert np.argmin([np.linalg.norm(xy - c) for c in centre]) == cluster, (method, cluster)


def app_with_drawing() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["own_raw"] = seven()
    at.session_state["own_source"] = "drawing"
    at.run()
    at.switch_page("views/own_image.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_page_shows_d_r_lk_and_a_star_on_the_map_and_an_ood_sentence():
    at = app_with_drawing()
    labels = [m.label for m in at.main.metric]
    assert any(label.startswith("D =") for label in labels) and any(label.startswith("L_k") for label in labels)
    assert any("higher than for" in m.value and "nats" in m.value for m in at.main.markdown)
    assert any("centre of mass" in c.value for c in at.main.caption)
    charts = [c for c in at.main.get("plotly_chart")]
    assert any("your image" in c.proto.spec for c in charts)  # the star on the latent map
    at.checkbox(key="own_invert").check().run()  # out of distribution: worse than almost every test image
    assert any("unlike the images it was trained on" in m.value for m in at.main.markdown)


def test_the_drawing_becomes_the_selected_image_of_every_view():
    at = app_with_drawing()
    at.button(key="own_adopt").click().run()
    for view, text in (("views/traversals.py", "anchor: your drawing"), ("views/posterior.py", "your drawing"),
                       ("views/interpolation.py", "your drawing"), ("views/compare.py", "your drawing"),
                       ("views/latent_map.py", "Inspect your image")):
        at.switch_page(view).run()
        assert not at.exception, (view, [e.message for e in at.exception])
        shown = [str(e.value) for kind in (at.main.markdown, at.main.caption, at.main.header) for e in kind]
        shown += [str(img.caption) for im in at.main.image for img in im.proto.imgs]
        shown += [c.proto.spec for c in at.main.get("plotly_chart")]
        assert any(text in s for s in shown), view
    at.sidebar.button(key="own_release_sidebar").click().run()
    assert at.main.header[0].value.startswith("Inspect image #")  # a probe image again


def test_a_blank_drawing_is_a_message_not_a_traceback():
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["own_raw"] = np.zeros((280, 280), np.float32)
    at.run()
    at.switch_page("views/own_image.py").run()
    assert not at.exception and any("blank" in w.value for w in at.main.warning)


def test_the_reconstruction_of_the_drawing_is_the_models():
    bundle = load_bundle(Z16)
    from vae_core.preprocess import prepare_for

    x, _ = prepare_for("mnist", seven(), (1, 28, 28))
    e = encode_one(bundle.model, x, binarized=True, k=10)
    with torch.no_grad():
        expected = bundle.model.decode_mean(bundle.model.encode(torch.tensor(e.x)[None])[0])[0].numpy()
    assert np.allclose(e.reconstruction, expected, atol=1e-6)
