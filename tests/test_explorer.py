"""Every view of the app, run with Streamlit's AppTest on the shipped bundles."""
import re
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO, bundle_views, listed_views, shipped_bundles
from vae_core import weights_stamp

APP = str(REPO / "explorer" / "app.py")
VIEWS = bundle_views()  # Lessons: tests/test_lessons.py
BUNDLES = shipped_bundles()


def open_app(bundle=None, query=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if bundle is not None:
        at.sidebar.selectbox(key="bundle_picker").set_value(str(bundle.resolve())).run()
    assert not at.exception, at.exception
    return at


def show(at: AppTest, view: str) -> AppTest:
    at.switch_page(view).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_shipped_bundles_exist():
    names = {b.name for b in BUNDLES}
    assert {"mnist-conv-z16", "mnist-conv-z2", "fashion-conv-z16", "digits-mlp-z2", "mnist-vq"} <= names, names
    assert sum(f.stat().st_size for b in BUNDLES for f in b.iterdir()) < 60 * 2**20  # the size budget


# The β family's members differ from mnist-beta-1 only in β (tests/test_beta_families.py): each
# opens, and draws the pages that read its own files; mnist-beta-1 draws them all.
SAME_AS_BETA_1 = {"mnist-beta-0", "mnist-beta-0.5", "mnist-beta-2", "mnist-beta-4", "mnist-beta-8"}
# The Burda-architecture VAE is a Gaussian MLP VAE as digits-mlp-z2 (every view runs on it, below
# and in test_every_view_runs_on_a_small_mlp_bundle): its own files' views suffice.
# The AutoencoderKL's every view runs in tests/test_autoencoder_kl.py, on a smaller one of its family.
OWN_FILES_ONLY = SAME_AS_BETA_1 | {"mnist-burda-vae", "fashion-autoencoder-kl"}
OWN_FILES_VIEWS = ["views/reconstructions.py", "views/latent_map.py", "views/model_card.py"]


@pytest.mark.parametrize("bundle", BUNDLES, ids=[b.name for b in BUNDLES])
def test_every_view_runs_on_a_shipped_bundle(bundle):
    at = open_app(bundle)
    assert bundle.name == at.session_state["bundle_path"].split("/")[-1]
    assert "nats/image" in at.sidebar.markdown[0].value  # test-set metrics shown with units
    for view in OWN_FILES_VIEWS if bundle.name in OWN_FILES_ONLY else VIEWS:
        show(at, view)
        if any(i.value.startswith("This view needs") for i in at.main.info):
            continue  # a view for another family, saying in a sentence why it does not apply
        assert at.title[0].value and at.latex, view


def test_default_bundle_and_reconstruction_numbers():
    at = open_app()
    assert at.session_state["bundle_path"].endswith("mnist-conv-z16")
    assert "nats per image" in at.main.caption[-1].value
    at.selectbox(key="recon_class").set_value("3").run()
    at.radio(key="recon_order").set_value("worst (highest D)").run()
    assert not at.exception
    captions = [im.caption for im in at.main.image[0].proto.imgs]  # "#index label · D d · R r"
    assert len(captions) == at.select_slider(key="recon_count").value
    assert all(c.split(" · ")[0].endswith(" 3") for c in captions), captions
    d = [float(re.search(r"D ([\d.]+)", c).group(1)) for c in captions]
    assert d == sorted(d, reverse=True) and d[0] > d[-1], d  # worst first


def test_latent_map_of_the_probe_images_z_itself_then_tsne():
    at = open_app(next(b for b in BUNDLES if b.name == "mnist-conv-z2"))
    show(at, "views/latent_map.py")
    assert at.selectbox(key="map_source").value == "probe"  # no MNIST in the server's data folder
    assert at.radio(key="map_method").value == "latent"
    caption = next(c.value for c in at.caption if "probe images;" in c.value)
    assert "1σ contour" in caption  # the selected image's ellipse is drawn
    at.radio(key="map_method").set_value("tsne").run()
    caption = next(c.value for c in at.caption if "probe images;" in c.value)
    assert not at.exception and "openTSNE" in caption and caption.startswith("600 probe images")


def test_beta_slider_recomputes_the_objective():
    at = show(open_app(), "views/objective.py")
    metric = {m.label: float(m.value) for m in at.metric}
    d, r = metric["D (nats/image)"], metric["R = KL (nats/image)"]
    at.slider(key="beta").set_value(4.0).run()
    metric = {m.label: float(m.value) for m in at.metric}
    assert metric["D + β·R (nats/image)"] == pytest.approx(d + 4 * r, abs=0.05)  # shown to 2 decimals
    assert metric["ELBO (nats/image)"] == pytest.approx(-(d + r), abs=0.02)


def test_traversal_sliders_decode_in_the_page_and_fall_back_to_the_server(monkeypatch):
    at = show(open_app(), "views/traversals.py")
    assert not at.exception
    assert not [s for s in at.slider if s.key and s.key.startswith("live_")]  # the page's sliders instead
    assert any("Decoded in your browser" in c.value for c in at.caption)
    from explorer import page_decoder

    def refuse(model):
        raise page_decoder.Unsupported("its decoder has a Foo layer")

    monkeypatch.setattr(page_decoder, "describe", refuse)
    from explorer import live_decode

    live_decode._export.clear()
    monkeypatch.setattr(live_decode, "export", lambda model: refuse(model))
    at.run()
    assert any("runs on the server here" in c.value and "Foo" in c.value for c in at.caption)
    sliders = [s for s in at.slider if s.key and s.key.startswith("live_")]
    assert len(sliders) == 6  # the leading dimensions by KL
    image = at.main.image[-1]
    before = image.value[0], image.captions[0]
    sliders[0].set_value(2.0).run()
    image = at.main.image[-1]
    # Media URLs are content hashes: a new URL is a newly decoded picture.
    assert image.value[0] != before[0]
    dim = sliders[0].key.removeprefix("live_")
    z_of = lambda caption: float(re.search(rf"z{dim} = ([-+][0-9.]+)", caption).group(1))  # noqa: E731
    assert z_of(image.captions[0]) == pytest.approx(z_of(before[1]) + 2.0, abs=0.011)
    live_decode._export.clear()


def test_a_broken_bundle_is_a_message_not_a_traceback(tmp_path, monkeypatch, digits_bundle):
    broken = shutil.copytree(digits_bundle, tmp_path / "broken-bundle")
    (broken / "model.safetensors").write_bytes(b"\x00" * 10)
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(tmp_path))
    at = open_app()
    at.sidebar.selectbox(key="bundle_picker").set_value(str(broken.resolve())).run()
    assert not at.exception
    assert "model.safetensors" in at.sidebar.error[0].value


def test_every_view_runs_on_a_small_mlp_bundle(monkeypatch, digits_bundle):
    """A stranger's bundle from --bundles/$VAE_EXPLORER_BUNDLES: MLP, grey levels, 200 probe images."""
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(digits_bundle.parent))
    at = open_app(digits_bundle)
    for view in VIEWS:
        show(at, view)


def test_an_iwae_bundle_says_so_where_d_and_r_are_shown(tmp_path, monkeypatch, digits_bundle):
    """A bundle trained on L_k: the model card, the β / KL view and the rate–distortion plane say
    which objective and k, and that D + βR is not what it trained; an ELBO bundle shows no such note."""
    import json

    iwae = shutil.copytree(digits_bundle, tmp_path / "digits-iwae")
    config = json.loads((iwae / "config.json").read_text())
    config["train"].update(objective="iwae", mc_samples=5)
    (iwae / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(tmp_path))
    views = ("views/model_card.py", "views/objective.py", "views/rate_distortion.py")
    at = open_app(iwae)
    assert "IWAE, k = 5" in at.sidebar.caption[0].value and "β = " not in at.sidebar.caption[0].value
    for view in views:
        notes = [i.value for i in show(at, view).main.info if "importance-weighted bound L_5" in i.value]
        assert len(notes) == 1 and "D + β·R is not the loss" in notes[0], view
    at = open_app(digits_bundle)
    assert not any("importance-weighted bound" in i.value for i in show(at, "views/objective.py").main.info)


def test_bundle_folders_come_from_the_option_and_the_environment(monkeypatch, tmp_path):
    from explorer import bundles

    monkeypatch.setattr("sys.argv", ["app.py", "--bundles", str(tmp_path / "a")])
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", f"{tmp_path / 'b'}:{tmp_path / 'c'}")
    assert bundles.bundle_roots() == [bundles.CHECKPOINTS, tmp_path / "a", tmp_path / "b", tmp_path / "c"]


def test_the_url_opens_a_bundle_with_an_image_selected():
    at = open_app(query={"bundle": "mnist-conv-z2", "i": "42", "j": "7"})
    assert at.session_state["bundle_path"].endswith("mnist-conv-z2")
    assert at.sidebar.number_input(key="i_w").value == 42
    show(at, "views/interpolation.py")
    assert at.number_input(key="j_w").value == 7 and "#42" in at.markdown[1].value
    assert dict(at.query_params) == {"bundle": "mnist-conv-z2", "i": "42", "j": "7"}
    at.sidebar.number_input(key="i_w").set_value(5).run()
    assert at.query_params["i"] == "5"  # the address follows the selection


def test_a_url_with_unknown_values_falls_back_to_defaults():
    at = open_app(query={"bundle": "no-such-bundle", "i": "-3"})
    assert at.session_state["bundle_path"].endswith("mnist-conv-z16") and not at.exception
    assert at.sidebar.number_input(key="i_w").value == 0


def test_inspect_panel_follows_the_selected_image_and_opens_traversals():
    at = show(open_app(query={"i": "12"}), "views/latent_map.py")
    assert at.header[0].value == "Inspect image #12"
    at.sidebar.number_input(key="i_w").set_value(30).run()
    assert at.header[0].value == "Inspect image #30"
    at.button(key="to_traversal").click().run()
    assert not at.exception
    assert at.title[0].value == "Latent traversals"
    assert any("anchor: probe #30" in c for img in at.image for c in img.captions)


def test_views_respond_to_their_controls():
    at = show(open_app(), "views/manifold.py")
    at.selectbox(key="mf_j").set_value(at.selectbox(key="mf_i").value).run()
    assert "two different dimensions" in at.warning[0].value
    show(at, "views/generation.py")
    first = at.main.image[0].proto.imgs[0].url
    at.slider(key="gen_t").set_value(0.0).run()
    assert at.main.image[0].proto.imgs[0].url != first  # T = 0: every image is the prior mean's
    show(at, "views/posterior.py")
    at.radio(key="post_kind").set_value("mask").run()
    assert "damaged input" in at.main.caption[-1].value and not at.exception
    show(at, "views/model_card.py")
    assert at.code[0].value.startswith("vae-train")


def test_an_uploaded_zip_opens_and_a_bad_one_is_a_message(digits_bundle, tmp_path, monkeypatch):
    import io
    import zipfile

    from explorer import bundles

    mine = bundles.SessionUploads()
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        for f in digits_bundle.iterdir():
            zf.write(f, f"digits/{f.name}")
    path, error = bundles.open_upload("my digits.zip", data.getvalue(), mine)
    assert error is None and path.endswith("my_digits")
    assert bundles.open_upload("my digits.zip", data.getvalue(), mine)[0] == path  # same content: unpacked once
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../../etc/config.json", "{}")
    path_bad, error = bundles.open_upload("evil.zip", bad.getvalue(), mine)
    assert path_bad is None and "escapes" in error
    assert bundles.open_upload("big.zip", b"0" * (bundles.MAX_UPLOAD_MB * 2**20 + 1), mine)[1].endswith("MB limit.")
    # A file that is not a zip is named, with what to upload instead (a .txt met only a red icon).
    assert bundles.open_upload("notes.txt", b"hello", mine)[1].startswith("notes.txt is not a .zip file. Zip the")
    # An opened upload joins the picker and every view runs on it.
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["_uploads"] = mine
    at.session_state["bundle_path"] = path
    at.run()
    assert at.sidebar.selectbox(key="bundle_picker").value == path and not at.exception
    show(at, "views/latent_map.py")


def test_probe_arrays_are_one_read_only_copy_shared_by_every_session():
    from explorer import state

    first, second = open_app(), open_app()  # two sessions
    assert not first.exception and not second.exception
    path = str(REPO / "checkpoints" / "mnist-conv-z16")
    a, b = state.probe_arrays(path, weights_stamp(path)), state.probe_arrays(path, weights_stamp(path))
    assert a is b and a["mu"] is b["mu"]  # the same objects, not copies
    assert not any(v.flags.writeable for v in a.values())
    with pytest.raises(ValueError):
        a["mu"][0, 0] = 1.0  # a view cannot change what the other sessions see


def test_the_objective_view_shows_the_loss_as_trained_with_free_bits(monkeypatch, tmp_path):
    """The view's "training loss at this β" is the loss the bundle was trained with, free bits
    included; it used to show D + β·R whatever the regulariser."""
    import numpy as np

    from vae_core import ModelConfig, TrainConfig, load_bundle, train

    out = tmp_path / "free-bits"
    train(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(32,), latent_dim=4),
          TrainConfig(dataset="digits", epochs=2, free_bits=3.0, eval_k=2, probe_size=100, device="cpu"),
          out, progress=False)
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(tmp_path))
    at = show(open_app(out), "views/objective.py")
    from explorer import state  # the arrays the view used

    arrays = state.probe_arrays(str(out.resolve()), weights_stamp(str(out.resolve())))
    d, kl_dim = float(arrays["reconstruction"].mean()), arrays["kl_per_dim"].mean(0)
    assert kl_dim.min() < 3.0  # some dimension sits below the floor, so the two losses differ
    shown = next(m for m in at.metric if m.label.startswith("D + "))  # the loss at this β
    expected = d + 1.0 * float(np.maximum(kl_dim, 3.0).sum())
    assert float(shown.value) == pytest.approx(expected, abs=0.01)
    assert load_bundle(out).train_config.free_bits == 3.0


def test_the_navigation_lists_the_pages_of_the_open_models_family():
    """The sidebar starts with the bundle picker and links only the pages that apply: no VQ-VAE
    page for a Gaussian VAE, no Gaussian-only page for a VQ-VAE; one line names what other
    families would add."""
    from explorer.pages import all_pages
    from vae_core.family import GAUSSIAN_POSTERIOR

    at = open_app()  # mnist-conv-z16
    title, first = list(at.sidebar.children.values())[:2]
    assert title.type == "title" and getattr(first, "key", None) == "bundle_picker", first
    listed = listed_views(at)
    assert not any(v.startswith("families/vq_vae/") for v in listed)
    assert {"views/latent_map.py", "views/traversals.py", "views/objective.py"} <= listed
    assert "Code grids" in at.sidebar.caption[-1].value  # what a VQ-VAE would add
    vq = REPO / "checkpoints" / "mnist-vq"
    at.sidebar.selectbox(key="bundle_picker").set_value(str(vq.resolve())).run()
    listed = listed_views(at)
    gaussian_only = {p.path for p in all_pages() if GAUSSIAN_POSTERIOR in p.needs}
    assert gaussian_only and not listed & gaussian_only, listed & gaussian_only
    assert {"families/vq_vae/codes.py", "views/interpolation.py", "views/generation.py"} <= listed
    assert "Latent map" in at.sidebar.caption[-1].value


@pytest.mark.parametrize("query, said", [
    ({"bundle": "no-such-bundle", "i": "3"}, "asked for the bundle 'no-such-bundle'"),
    ({"i": "²"}, "is not a probe index"),
    ({"i": "9" * 5000}, "is not a probe index"),
    ({"bundle": "mnist-conv-z16", "i": "99999"}, "asked for probe image i=99999, where mnist-conv-z16 has"),
    ({"bundle": "gone", "i": "²"}, "the bundle 'gone', which this server does not have; and image i='²'"),
    ({"lesson": "04-beta-collapse", "step": "²"}, "step '²' of the lesson 04-beta-collapse, which has steps 1 to"),
    ({"lesson": "04-beta-collapse", "step": "99"}, "step '99' of the lesson 04-beta-collapse"),
])
def test_a_link_that_asks_for_what_is_not_there_opens_and_says_so(query, said):
    """Links are strangers' input: ``str.isdigit`` took "²", which ``int`` refused (the page
    died); a missing bundle or index was replaced by another with no word (issue 23)."""
    at = open_app(query=query)  # asserts no exception
    warnings = [w.value for w in at.main.warning]
    assert any(said in w and "Opened" in w for w in warnings), warnings
    if "lesson" in query:  # step "²" is step 1; a step past the end is the last
        from explorer.lessons import load_all

        steps = len(next(lesson for lesson in load_all()[0] if lesson.id == query["lesson"]).steps)
        assert at.session_state["lesson_step"] == (0 if query["step"] == "²" else steps - 1)
    else:
        assert at.session_state["bundle_path"].endswith("mnist-conv-z16")


@pytest.mark.parametrize("name, absent, present", [
    ("mnist-vq", {"beta", "sigma", "free_bits", "mc_samples", "eval_k"}, {"codebook_size", "commitment", "epochs"}),
    ("mnist-conv-z16", {"sigma", "hidden", "capacity_epochs"}, {"channels", "fc_hidden", "beta", "likelihood"}),
])
def test_the_model_card_lists_only_the_settings_the_model_used(name, absent, present):
    """It listed σ for a Bernoulli decoder and β, free bits, ... for a VQ-VAE (issue 27)."""
    at = show(open_app(REPO / "checkpoints" / name), "views/model_card.py")
    listed = {row for table in at.dataframe[-3:-1] for row in table.value["setting"]}
    assert present <= listed and not absent & listed, listed
    note = next(c.value for c in at.main.caption if c.value.startswith("Left out, as this model never used them"))
    assert "sigma" in note
    # Both kinds can be published as a static page (explorer/site/, tests/test_site.py).
    assert "Download as a static web page (zip)" in [b.proto.label for b in at.get("download_button")]


def test_stage_twos_histograms_are_labelled_as_its_codes_u():
    """They were labelled "pooled z ~ q(z|x)", like stage 1's (issue 27)."""
    import json

    at = show(open_app(REPO / "checkpoints" / "mnist-two-stage"), "views/aggregate.py")
    names = [{t.get("name") for t in json.loads(c.proto.spec)["data"]} for c in at.get("plotly_chart")]
    assert any("q(u_j): pooled u ~ q(u|z), stage 2's codes" in n for n in names), names
    assert not any("q(u_j): pooled u ~ q(u|z), stage 2's codes" in n and "q(z_j): pooled z ~ q(z|x)" in n for n in names)


def test_reconstructions_of_a_vq_vae_speak_of_its_codes_not_a_gaussian_posterior():
    """The page kept its Gaussian wording (posterior mean μ(x), KL term) for a VQ-VAE (issue 27)."""
    at = show(open_app(REPO / "checkpoints" / "mnist-vq"), "views/reconstructions.py")
    text = " ".join(m.value for m in at.main.markdown) + " ".join(c.value for c in at.main.caption)
    assert "z_q(x)" in text and "−log p(k(x))" in text
    assert "μ(x)" not in text and "KL term" not in text and "E[x | z = μ]" not in text
