"""A bundle written before the families moved into vae_core/families/ (by commit 414ea54, with
``python -m vae_core.train --dataset digits --arch mlp --hidden 32 --latent-dim 2 --epochs 3
--eval-k 8 --probe-size 100 --out old-main-digits``) opens, scores, and the views that read its
files (probe, metrics, history, config) draw it; the shipped bundles, older still, run every view
in tests/test_explorer.py."""
import shutil

import torch
from streamlit.testing.v1 import AppTest

from conftest import REPO, bundle_views, listed_views
from vae_core import VAE, evaluate, load_bundle, read_history

OLD = REPO / "tests" / "data" / "old-main-digits"


def test_a_bundle_written_before_the_move_loads_and_scores_as_it_did():
    bundle = load_bundle(OLD)
    assert type(bundle.model) is VAE and bundle.family == "vae"
    assert bundle.command.startswith("python -m vae_core.train ")  # its record, as written
    x = bundle.probe_images.float() / 255
    now = evaluate(bundle.model, x, k=0)
    assert torch.isfinite(torch.tensor(now["elbo"])) and now["latent_dim"] == 2
    # Its log has no stage or units (they came later); the model card reads it all the same.
    records = [r for r in read_history(OLD) if r["kind"] == "epoch"]
    assert [r["epoch"] for r in records] == [1, 2, 3] and "units" not in records[0]


def test_the_views_that_read_its_files_draw_a_bundle_written_before_the_move(tmp_path, monkeypatch):
    copy = shutil.copytree(OLD, tmp_path / "bundles" / "old-main-digits")
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(copy.parent))
    at = AppTest.from_file(str(REPO / "explorer" / "app.py"), default_timeout=120)
    at.run()
    at.sidebar.selectbox(key="bundle_picker").set_value(str(copy.resolve())).run()
    assert not at.exception, at.exception
    listed = listed_views(at)
    assert "views/latent_map.py" in listed and not any(v.startswith("families/vq_vae/") for v in listed)
    for view in ("views/reconstructions.py", "views/latent_map.py", "views/objective.py", "views/model_card.py"):
        at.switch_page(view).run()
        assert not at.exception, (view, [e.message for e in at.exception])
        assert not [i.value for i in at.main.info if i.value.startswith("This view needs")], view
    assert set(bundle_views()) - listed  # the VQ-VAE's pages, hidden
