"""β as one gesture, on the shipped β family (mnist-beta-0 … mnist-beta-8)."""
import json

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
    seen = {}
    for beta in ("0", "8"):
        at.select_slider(key="gesture_beta").set_value(float(beta)).run()
        assert not at.exception
        line = next(m.value for m in at.main.markdown if m.value.startswith("**β ="))
        assert f"mnist-beta-{beta}:" in line
        specs = [c.proto.spec for c in at.main.get("plotly_chart")]
        titles = [json.loads(s)["layout"]["title"]["text"] for s in specs]
        assert len(titles) == 3 and all(f"β = {beta}" in t for t in titles), titles  # map, KL bars, ringed plane
        seen[beta] = int(line.split("active units **")[1].split("**")[0])
    assert seen["8"] < seen["0"]  # large β: fewer active units (posterior collapse)


def test_a_bundle_without_a_family_offers_the_shipped_one():
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["bundle"] = "mnist-vq"
    at.run()
    at.switch_page("views/beta_gesture.py").run()
    assert any("has no β family" in w.value for w in at.main.warning)
    at.button(key="gesture_open").click().run()
    assert not at.exception and at.select_slider(key="gesture_beta") is not None
