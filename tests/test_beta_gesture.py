"""β as one gesture, on the shipped β family (mnist-beta-0 … mnist-beta-8)."""
import numpy as np
from streamlit.testing.v1 import AppTest

from conftest import REPO

APP = str(REPO / "explorer" / "app.py")


def test_the_slider_moves_every_figure_to_the_member_of_that_beta():
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["bundle"] = "mnist-beta-1"
    at.run()
    at.switch_page("views/beta_gesture.py").run()
    assert not at.exception, [e.message for e in at.exception]
    slider = at.select_slider(key="gesture_beta")
    assert list(map(float, slider.options)) == [0, 0.5, 1, 2, 4, 8] and float(slider.value) == 1
    seen, pictures = {}, {}
    for beta in ("0", "8"):
        at.select_slider(key="gesture_beta").set_value(float(beta)).run()
        assert not at.exception
        line = next(m.value for m in at.main.markdown if m.value.startswith("**β ="))
        assert f"mnist-beta-{beta}:" in line
        picture = at.main.image[0].proto.imgs[0]
        assert picture.caption == f"β = {beta}: mnist-beta-{beta}"  # the member's five panels
        pictures[beta] = picture.url
        seen[beta] = int(line.split("active units **")[1].split("**")[0])
    assert seen["8"] < seen["0"]  # large β: fewer active units (posterior collapse)
    assert pictures["8"] != pictures["0"]


def test_a_member_picture_draws_that_member():
    from explorer import gesture_figure

    args = dict(pairs=np.zeros((20, 40), np.uint8), samples=np.zeros((10, 40), np.uint8),
                coords=np.random.default_rng(0).normal(size=(50, 2)), labels=np.arange(50) % 10,
                classes=[str(c) for c in range(10)], axes=("PC 1", "PC 2"), kl=np.array([2.0, 0.0]),
                active=np.array([True, False]), rates=[30.0, 5.0], distortions=[80.0, 120.0], betas=[1.0, 8.0])
    one, eight = (gesture_figure.panels(beta=b, current=k, **args) for k, b in enumerate((1.0, 8.0)))
    assert one.startswith(b"\x89PNG") and one != eight  # the ring and the titles move with the member


def test_a_bundle_without_a_family_offers_the_shipped_one():
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["bundle"] = "mnist-conv-z16"  # a Gaussian VAE with no β siblings
    at.run()
    at.switch_page("views/beta_gesture.py").run()
    assert any("has no β family" in w.value for w in at.main.warning)
    at.button(key="gesture_open").click().run()
    assert not at.exception
    assert [s.key for s in at.select_slider].count("gesture_beta") == 1
