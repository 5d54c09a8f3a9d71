"""β families: finding them, the rate–distortion view on the shipped MNIST family, and the
compare view."""
import json
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import CHECKPOINTS
from explorer import beta_families, beta_figures

APP = str(CHECKPOINTS.parent / "explorer" / "app.py")
FAMILY = sorted(CHECKPOINTS.glob("mnist-beta-*"), key=lambda p: float(p.name.removeprefix("mnist-beta-")))


def open_view(view: str, bundle) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.sidebar.selectbox(key="bundle_picker").set_value(str(bundle.resolve())).run()
    at.switch_page(view).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def with_beta(source, folder, beta: float, **train):
    """A copy of ``source`` with another β (and other training settings) in its config.json,
    and weights of its own (a trailing byte: families read configs and hash weights only)."""
    copy = shutil.copytree(source, folder)
    with open(copy / "model.safetensors", "ab") as weights:
        weights.write(folder.name.encode())
    config = json.loads((copy / "config.json").read_text())
    config["train"].update(beta=beta, **train)
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def test_a_family_is_configs_equal_except_beta(digits_bundle, tmp_path):
    a = with_beta(digits_bundle, tmp_path / "a", 0.0)
    b = with_beta(digits_bundle, tmp_path / "b", 4.0, device="cuda")  # where it ran does not matter
    other = with_beta(digits_bundle, tmp_path / "c", 2.0, epochs=99)  # another experiment
    assert beta_families.family_key(a) == beta_families.family_key(b) != beta_families.family_key(other)
    assert beta_families.families([other, b, a]) == [[a, b]]  # sorted by β; the odd one out has no family
    assert beta_families.family_of(other, [a, b, other]) == []
    assert beta_families.family_key(tmp_path / "missing") is None


def test_a_bundle_in_two_folders_counts_once(digits_bundle, tmp_path):
    a = with_beta(digits_bundle, tmp_path / "a", 0.0)
    b = with_beta(digits_bundle, tmp_path / "b", 4.0)
    copy = shutil.copytree(a, tmp_path / "copy-of-a")  # e.g. a run folder and checkpoints/
    assert beta_families.families([a, b, copy]) == [[a, b]]
    assert beta_families.family_of(copy, [a, b, copy]) == [copy, b]  # the bundle asked about is the one kept


def test_the_rate_distortion_figure():
    fig = beta_figures.rate_distortion([120.0, 25.0, 3.0], [70.0, 90.0, 180.0], [0, 1, 8],
                                         names=["b0", "b1", "b8"], current=1)
    points = next(t for t in fig.data if t.name == "bundles of the family")
    assert list(points.text) == ["β = 0", "β = 1", "β = 8"]
    assert "nats per image" in fig.layout.xaxis.title.text and "nats per image" in fig.layout.yaxis.title.text
    lines = [t for t in fig.data if t.mode == "lines"]
    assert lines and all(np.isclose(t.x[0] + t.y[0], t.x[1] + t.y[1]) for t in lines)  # D + R constant
    # A click reports the trace and the point; it maps back to the bundle's index.
    curve = list(fig.data).index(points)
    selection = {"points": [{"curve_number": curve, "point_index": 2}, {"curve_number": 0, "point_index": 0}]}
    assert beta_figures.picked_indices(fig, selection) == [2]
    with pytest.raises(ValueError):
        beta_figures.rate_distortion([1.0], [1.0, 2.0], [0], names=["x"])


def test_the_shipped_family_spans_the_autoencoder_and_collapse():
    betas = [json.loads((p / "config.json").read_text())["train"]["beta"] for p in FAMILY]
    assert len(betas) >= 5 and 0 in betas and max(betas) >= 4, betas
    assert beta_families.families(FAMILY) == [FAMILY]
    metrics = [json.loads((p / "metrics.json").read_text()) for p in FAMILY]
    rates = [m["kl"] for m in metrics]
    assert rates == sorted(rates, reverse=True)  # more β, less information in z
    assert metrics[-1]["active_units"] < metrics[0]["active_units"]


def test_the_rate_distortion_view_draws_the_family_and_opens_a_member():
    at = open_view("views/rate_distortion.py", FAMILY[1])
    rows = at.dataframe[0].value
    assert list(rows["bundle"]) == [p.name for p in FAMILY]
    assert np.allclose(rows["ELBO (nats/image)"], -(rows["D (nats/image)"] + rows["R = KL (nats/image)"]), atol=0.02)
    assert f"{len(FAMILY)} bundles of {FAMILY[1].name}'s family" in at.caption[0].value
    at.selectbox(key="rd_member").set_value(str(FAMILY[-1].resolve()))
    at.selectbox(key="rd_target").set_value("views/compare.py")
    at.button(key="rd_open").click().run()
    assert not at.exception
    assert at.title[0].value == "Compare two bundles"
    assert at.session_state["bundle_path"] == str(FAMILY[-1].resolve())  # the sidebar's bundle
    assert at.selectbox(key="compare_with").value == str(FAMILY[1].resolve())  # beside the one open before


def test_a_bundle_without_a_family_says_so_and_offers_the_families():
    at = open_view("views/rate_distortion.py", CHECKPOINTS / "mnist-conv-z2")
    assert "mnist-conv-z2 has no β family" in at.warning[0].value
    button = next(b for b in at.button if (b.key or "").startswith("rd_family_"))
    button.click().run()
    assert not at.exception and at.session_state["bundle_path"] == str(FAMILY[0].resolve())


def test_compare_starts_beside_the_nearest_relative_and_says_why():
    """mnist-conv-z16 was put beside mnist-beta-0, an unrelated MLP (the first of its data set)."""
    at = open_view("views/compare.py", CHECKPOINTS / "mnist-conv-z16")
    assert at.selectbox(key="compare_with").value == str((CHECKPOINTS / "mnist-conv-z2").resolve())
    assert "B was chosen as A's nearest relative among the bundles here: it differs in latent dimension." in [
        c.value for c in at.caption]


def test_the_compare_view_puts_two_members_side_by_side():
    at = open_view("views/compare.py", FAMILY[2])
    assert at.selectbox(key="compare_with").value == str(FAMILY[-1].resolve())  # the β furthest away
    assert any("β family whose β is furthest" in c.value for c in at.caption)
    rows = at.dataframe[0].value
    assert list(rows["β"]) == [json.loads((p / "config.json").read_text())["train"]["beta"] for p in (FAMILY[2], FAMILY[-1])]
    assert len(at.get("plotly_chart")) == 6  # 2 maps, reconstructions, 2 traversals, KL per dimension
    at.selectbox(key="compare_with").set_value(str((CHECKPOINTS / "fashion-conv-z16").resolve())).run()
    assert not at.exception and "different data" in at.warning[0].value
    at.slider(key="cmp_rows").set_value(2).run()
    assert not at.exception


# Where a marker of the family trace is on the page, from plotly's own axes (page pixels).
POINT_JS = """(k) => {
  const gd = document.querySelector('.js-plotly-plot');
  const tr = gd._fullData.find((d) => d.name === 'bundles of the family');
  const L = gd._fullLayout, box = gd.getBoundingClientRect();
  return [box.left + L._size.l + L.xaxis.l2p(tr.x[k]), box.top + L._size.t + L.yaxis.l2p(tr.y[k])];
}"""


def test_clicking_a_point_in_the_browser_opens_that_bundle(explorer_url, chromium):
    """The plotly selection itself (AppTest cannot click a chart): headless Chromium, a real server."""
    from browser import wait_until_drawn
    from playwright import sync_api

    page = chromium.new_page(viewport={"width": 1400, "height": 1300})
    page.goto(f"{explorer_url}/rate_distortion?bundle={FAMILY[2].name}&i=0")
    wait_until_drawn(page)
    page.wait_for_timeout(500)  # plotly settles after the DOM
    x, y = page.evaluate(POINT_JS, len(FAMILY) - 1)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_url("**/compare?*", timeout=60_000)
    wait_until_drawn(page)
    assert f"bundle={FAMILY[-1].name}" in page.url  # the clicked bundle is the sidebar's now
    sync_api.expect(page.get_by_role("heading", name="Compare two bundles")).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
    page.close()
