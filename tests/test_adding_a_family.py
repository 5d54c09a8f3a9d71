"""docs/adding-a-family.md, run: its code blocks build a family, write a bundle of it and give
it an explorer folder; the app then lists exactly the pages that work for it."""
import re
import types

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO, bundle_views, listed_views
from vae_core import evaluate, family, load_bundle

DOC = REPO / "docs" / "adding-a-family.md"


def namespace_x(bundle):
    return bundle.probe_images.float() / 255


def doc_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture
def point_family(digits_bundle, tmp_path, monkeypatch):
    """The doc's family registered, its bundle written, its explorer folder in place."""
    model_code, bundle_code, explorer_code = doc_blocks()
    namespace: dict = {}
    exec(compile(model_code, f"{DOC}: the model", "exec"), namespace)
    source = load_bundle(digits_bundle)
    out = tmp_path / "bundles" / "point-ae"
    namespace.update(out=out, probe=source.probe_images, labels=source.probe_labels)
    exec(compile(bundle_code, f"{DOC}: the bundle", "exec"), namespace)
    folder = types.ModuleType("explorer.families.point_ae")
    exec(compile(explorer_code, f"{DOC}: the explorer folder", "exec"), folder.__dict__)
    from explorer import families

    monkeypatch.setitem(families.FOLDERS, "point-ae", folder)
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(out.parent))
    yield out, namespace["PointAutoencoder"]
    assert family._FAMILIES.pop("point-ae") is namespace["PointAutoencoder"]  # other tests see the shipped ones


def test_the_documented_family_opens_in_the_explorer_with_the_pages_that_apply(point_family):
    out, cls = point_family
    bundle = load_bundle(out)
    assert type(bundle.model) is cls and bundle.family == "point-ae" and bundle.model.provides == frozenset()
    assert bundle.metrics["elbo"] == evaluate(bundle.model, namespace_x(bundle))["elbo"]  # vae-evaluate's figures
    assert [r["epoch"] for r in bundle.history()] == [1, 2, 3, 4, 5]
    at = AppTest.from_file(str(REPO / "explorer" / "app.py"), default_timeout=120)
    at.run()
    at.sidebar.selectbox(key="bundle_picker").set_value(str(out.resolve())).run()
    assert not at.exception, at.exception
    assert "no rate: a point encoder" in at.sidebar.markdown[0].value  # the family's own sidebar section
    assert "a Gaussian VAE" in at.sidebar.caption[-1].value and "Latent map" in at.sidebar.caption[-1].value
    works = set()
    for view in bundle_views():
        at.switch_page(view).run()
        assert not at.exception, (view, [e.message for e in at.exception])
        if not any(i.value.startswith("This view needs") for i in at.main.info):
            works.add(view)
    assert "views/reconstructions.py" in works and "views/latent_map.py" not in works
    assert listed_views(at) == works  # the doc's promise: no view edited, the navigation right
