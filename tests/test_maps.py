"""Maps of a whole split (vae_core.maps, vae_core.split_maps) and the latent map view on them."""
import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from conftest import CHECKPOINTS, REPO
from vae_core import load_bundle, maps, split_maps
from vae_core.data import prepare

Z16 = CHECKPOINTS / "mnist-conv-z16"


def test_symmetric_kl_agrees_with_torch_distributions():
    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(7, 3)), rng.normal(scale=0.5, size=(7, 3))
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar)))
    kl = torch.distributions.kl_divergence
    for i in (0, 4):
        qi = torch.distributions.Normal(q.loc[i], q.scale[i])
        expected = (kl(qi, q) + kl(q, qi)).sum(1).numpy()
        np.testing.assert_allclose(maps.symmetric_kl(mu, logvar, i), expected, rtol=1e-9)
    near, dist = maps.nearest(mu, 2, 3, logvar=logvar)
    assert 2 not in near and list(dist) == sorted(dist) and len(near) == 3
    assert np.allclose(dist, maps.symmetric_kl(mu, logvar, 2)[near])


def test_a_split_is_encoded_and_mapped_once_then_read_from_the_disk_cache(mnist_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_MAP_CACHE", str(tmp_path))
    bundle = load_bundle(Z16)
    fractions = []
    points = split_maps.split_points(bundle, "test", data_dir=mnist_dir, limit=300, progress=fractions.append)
    assert points["mu"].shape == (300, 16) and points["images"].dtype == np.uint8 and fractions[-1] == 1.0
    x = prepare(torch.from_numpy(points["images"]), binarized=True, seed=0)[:5]  # scored as the model was trained
    assert np.allclose(points["mu"][:5], bundle.model.encode(x)[0].detach().numpy(), atol=1e-5)
    fitted = split_maps.split_map(bundle, "test", "tsne", points["mu"], limit=300)

    def no_work(*args, **kwargs):
        raise AssertionError("computed again instead of read from the cache")

    monkeypatch.setattr(split_maps.analysis, "encode_images", no_work)
    monkeypatch.setattr(maps, "_tsne", no_work)  # placing would need it: the coordinates do not
    again = split_maps.split_points(bundle, "test", data_dir=mnist_dir, limit=300)
    assert np.array_equal(again["mu"], points["mu"])
    assert np.array_equal(split_maps.split_map(bundle, "test", "tsne", again["mu"], limit=300).coords, fitted.coords)
    path = split_maps.map_path(bundle, "test", "tsne", 300, 300)
    path.write_bytes(b"cut short by a crash")  # a broken entry is computed again, not an error
    monkeypatch.undo()
    monkeypatch.setenv("VAE_MAP_CACHE", str(tmp_path))
    assert split_maps.split_map(bundle, "test", "tsne", points["mu"], limit=300).coords.shape == (300, 2)


def test_a_data_set_that_is_not_here_is_named_and_not_downloaded(tmp_path):
    from vae_core.data import DatasetNotFoundError

    with pytest.raises(DatasetNotFoundError, match="MNIST"):
        split_maps.split_images("mnist", "test", tmp_path)
    with pytest.raises(ValueError, match="folder"):
        split_maps.split_images("folder", "test", tmp_path)


def test_the_map_of_the_test_split_searches_selects_shows_neighbours_and_places_a_drawing(mnist_dir, monkeypatch):
    monkeypatch.setenv("VAE_DATA_DIR", str(mnist_dir))
    at = AppTest.from_file(str(REPO / "explorer" / "app.py"), default_timeout=240)
    at.run()
    at.sidebar.selectbox(key="bundle_picker").set_value(str(Z16.resolve())).run()
    at.switch_page("views/latent_map.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="map_source").value == "test"
    assert "600 test-split images of mnist" in at.caption[0].value
    at.radio(key="map_method").set_value("tsne").run()  # UMAP's transform: test_own_image.py
    assert not at.exception and "openTSNE" in at.caption[0].value
    at.text_input(key="map_query").set_value("label 3")
    at.button(key="FormSubmitter:map_search-Find").click().run()
    shown = [c.value for c in at.caption]
    assert any("images labelled 3" in c for c in shown) and any("images selected" in c for c in shown), shown
    assert any(h.value.startswith("Nearest neighbours of #") for h in at.subheader)
    assert any("symmetric KL" in m.value for m in at.markdown)
    # the learner's drawing lands by transform, not "approximately"
    from test_own_image import seven

    at.session_state["own_raw"] = seven()
    at.session_state["own_source"] = "drawing"
    at.session_state["own_in_use"] = True
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    caption = next(c.value for c in at.caption if "test-split images" in c.value)
    assert "The star: your own image, placed by t-SNE's optimisation against the fixed map (openTSNE's transform)" \
        in caption and "approximate" not in caption


def test_cache_entries_with_the_wrong_content_are_made_again_and_a_read_only_cache_still_maps(
        mnist_dir, monkeypatch, tmp_path):
    """A cache folder may be shared with another version or written by someone else: an entry
    that reads but holds other keys, other shapes or NaN is computed again, not trusted."""
    from safetensors.torch import save_file

    monkeypatch.setenv("VAE_MAP_CACHE", str(tmp_path / "cache"))
    bundle = load_bundle(Z16)
    points = split_maps.split_points(bundle, "test", data_dir=mnist_dir, limit=120)
    fitted = split_maps.split_map(bundle, "test", "pca", points["mu"], limit=120)
    bad_mu = torch.from_numpy(points["mu"]).clone()
    bad_mu[3, 2] = float("nan")
    for broken in ({"other": torch.zeros(2)}, {"mu": torch.zeros(100, 16), "logvar": torch.zeros(100, 16),
                   "reconstruction": torch.zeros(100), "kl": torch.zeros(100)},
                   {**{k: torch.from_numpy(v) for k, v in points.items() if k in ("logvar", "reconstruction", "kl")},
                    "mu": bad_mu}):
        save_file(broken, split_maps.points_path(bundle, "test", 120))
        again = split_maps.split_points(bundle, "test", data_dir=mnist_dir, limit=120)
        assert np.array_equal(again["mu"], points["mu"])
    save_file({"coords": torch.full((120, 2), float("nan"))}, split_maps.map_path(bundle, "test", "pca", 120, 120))
    assert np.allclose(split_maps.split_map(bundle, "test", "pca", points["mu"], limit=120).coords, fitted.coords)
    monkeypatch.setenv("VAE_MAP_CACHE", "/proc/no-cache-here")  # cannot be written: computed, not cached
    assert split_maps.split_points(bundle, "test", data_dir=mnist_dir, limit=50)["mu"].shape == (50, 16)


def test_the_cache_keeps_under_its_size_by_deleting_the_least_recently_used(tmp_path):
    import os

    for k, age in enumerate((300, 100, 200)):
        path = tmp_path / f"entry{k}.safetensors"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1e9 - age, 1e9 - age))
    keep = tmp_path / "new.safetensors"
    keep.write_bytes(b"x" * 1000)
    split_maps.prune(tmp_path, keep, max_bytes=2500)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry1.safetensors", "new.safetensors"]


def test_what_the_browser_sends_is_checked_before_use(monkeypatch):
    from explorer import live_decode, map_data
    from explorer.map_component import checked_indices

    assert checked_indices({"indices": [True, "3", 2.0, -1, 10**9, 5, 7]}, 10) == [5, 7]
    assert checked_indices({"indices": "0,1"}, 10) == [] and checked_indices({}, 10) == []
    for bad in ({"z": "abc"}, {"z": [1, 2]}, {}, {"z": {"a": 1}}, "s", [1], {"z": None}, {"z": [1, float("nan"), 3]},
                {"z": [True, 1, 2]}):
        assert live_decode.released_z(bad, 3) is None, bad
    assert live_decode.released_z({"z": [1, 2.5, -3]}, 3).tolist() == [1, 2.5, -3]
    for value, expected in (("²", None), ("٣", None), ("5", None), ("abc", None), ("600", 600)):
        monkeypatch.setenv(map_data.LIMIT_ENV, value)
        assert map_data.limit() == expected, value


def test_an_uploaded_bundle_is_mapped_from_its_probe_images_only(tmp_path):
    """A stranger's upload must not make the server encode and cache whole splits (disk, CPU)."""
    import shutil

    from explorer import map_data
    from explorer.bundles import uploads_root

    copy = uploads_root() / "test-upload" / "mnist-conv-z16"
    shutil.copytree(Z16, copy, dirs_exist_ok=True)
    sources, why = map_data.sources(load_bundle(copy))
    assert list(sources) == ["probe"] and "uploaded" in why


def test_a_umap_map_leaves_torchs_thread_count_as_it_was():
    """numba (under umap-learn) reset the process's OpenMP threads, torch's with them: a server
    fixed at one thread ran on two after a UMAP map, and a VQ-VAE resumed in the same pytest
    process no longer matched its uninterrupted run bit for bit."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        fitted = maps.fit(np.random.default_rng(0).normal(size=(60, 4)), "umap")
        fitted.place(np.zeros((1, 4)))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
