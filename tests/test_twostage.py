"""The two-stage VAE (Dai & Wipf 2019): stage 2 on stage-1 codes, one bundle for both."""
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from streamlit.testing.v1 import AppTest

from conftest import REPO, bundle_views, listed_views
from vae_core import BundleError, TwoStageVAE, load_bundle, read_history
from vae_core.families.two_stage import training as stage2_module
from vae_core.families.two_stage.training import train_second_stage

TINY = dict(width=32, depth=1, batch_size=64, progress=False)


@pytest.fixture(scope="module")
def two_stage(digits_bundle, tmp_path_factory):
    return train_second_stage(digits_bundle, tmp_path_factory.mktemp("two-stage") / "digits-two-stage",
                              epochs=12, **TINY)


def test_stage2_loss_falls_and_both_logs_are_kept(two_stage, digits_bundle):
    history = read_history(two_stage)
    stage2 = [r for r in history if r.get("stage") == 2]
    assert [r["epoch"] for r in stage2] == list(range(1, 13))
    assert stage2[-1]["loss"] < stage2[0]["loss"] - 1.0  # nats per code
    assert len([r for r in history if r.get("stage") == 1]) == len(read_history(digits_bundle))


def test_the_bundle_round_trips_both_stages(two_stage, digits_bundle):
    bundle = load_bundle(two_stage)
    assert type(bundle.model) is TwoStageVAE and bundle.family == "two-stage"
    stored = load_file(two_stage / "model.safetensors")
    state = bundle.model.state_dict()
    assert stored.keys() == state.keys() and all(torch.equal(state[k], stored[k]) for k in stored)
    first = load_file(digits_bundle / "model.safetensors")
    assert all(torch.equal(stored[f"stage1.{k}"], v) for k, v in first.items())  # stage 1 unchanged
    assert {k.split(".")[0] for k in stored} == {"stage1", "stage2"}
    assert bundle.metrics["elbo"] == load_bundle(digits_bundle).metrics["elbo"] and "stage2" in bundle.metrics


def test_samples_come_through_stage2(two_stage):
    model = load_bundle(two_stage).model
    gen = torch.Generator().manual_seed(0)
    z2, z1 = model.sample(500, generator=gen), model.sample_stage1(500, generator=gen)
    assert z2.shape == z1.shape == (500, 2)
    # Stage 1 draws N(0, I); stage 2's codes follow q(z), whose spread differs from the prior's.
    assert not torch.allclose(z2.std(0), z1.std(0), atol=0.05)


def test_a_broken_second_stage_names_the_file(two_stage, tmp_path):
    broken = shutil.copytree(two_stage, tmp_path / "broken")
    weights = load_file(broken / "model.safetensors")
    weights.pop("stage2.log_gamma")
    save_file(weights, broken / "model.safetensors")
    with pytest.raises(BundleError) as info:
        load_bundle(broken)
    assert info.value.path == broken / "model.safetensors" and "stage2.log_gamma" in info.value.problem


def test_a_stopped_stage2_run_resumes_to_the_end(digits_bundle, tmp_path, monkeypatch):
    out = tmp_path / "resumed"
    real = stage2_module._epoch

    def stop_at_3(model, optimizer, mu, logvar, batch_size, gen, epoch, epochs, progress):
        if epoch == 3:
            raise KeyboardInterrupt
        return real(model, optimizer, mu, logvar, batch_size, gen, epoch, epochs, progress)

    monkeypatch.setattr(stage2_module, "_epoch", stop_at_3)
    with pytest.raises(KeyboardInterrupt):
        train_second_stage(digits_bundle, out, epochs=4, **TINY)
    assert (out / "train_state.safetensors").exists() and not (out / "metrics.json").exists()
    monkeypatch.setattr(stage2_module, "_epoch", real)
    train_second_stage(digits_bundle, out, epochs=4, resume=True, **TINY)
    assert [r["epoch"] for r in read_history(out) if r.get("stage") == 2] == [1, 2, 3, 4]
    assert not (out / "train_state.safetensors").exists()
    with pytest.raises(FileExistsError, match="finished"):
        train_second_stage(digits_bundle, out, epochs=4, resume=True, **TINY)


def test_stage2_needs_a_finished_gaussian_vae(two_stage, tmp_path):
    with pytest.raises(BundleError, match="stage-1 bundle of the Gaussian VAE"):
        train_second_stage(two_stage, tmp_path / "x", epochs=1, **TINY)


def test_every_view_runs_on_a_two_stage_bundle(two_stage, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(two_stage.parent))
    at = AppTest.from_file(str(REPO / "explorer" / "app.py"), default_timeout=120)
    at.run()
    at.sidebar.selectbox(key="bundle_picker").set_value(str(two_stage.resolve())).run()
    assert "two-stage VAE" in at.sidebar.caption[0].value
    for view in bundle_views():
        at.switch_page(view).run()
        assert not at.exception, (view, [e.message for e in at.exception])
        needs = [i.value for i in at.main.info if i.value.startswith("This view needs")]
        assert not needs or (view in CODE_VIEWS and "discrete latent" in needs[0]), view
    assert listed_views(at) == set(bundle_views()) - CODE_VIEWS  # every page but a VQ-VAE's


CODE_VIEWS = {"families/vq_vae/codes.py", "families/vq_vae/codebook.py", "families/vq_vae/code_edit.py"}  # a VQ-VAE's alone


def test_the_run_figures_of_a_two_stage_bundle_follow_stage1(two_stage, digits_bundle):
    from explorer import run_figures

    mixed, first = read_history(two_stage), read_history(digits_bundle)
    assert [r["epoch"] for r in run_figures.epoch_records(mixed)] == [r["epoch"] for r in run_figures.epoch_records(first)]
    assert all(r.get("stage") == 1 for r in run_figures.epoch_records(mixed))


def test_every_history_record_says_its_units_and_stage(digits_bundle, vq_bundle, two_stage):
    """history.jsonl of every family: each record names its stage and its units (stage 2 of a
    two-stage VAE logs nats per code, the rest nats per image), so no curve mixes them."""
    from vae_core import read_history

    for folder in (digits_bundle, vq_bundle, two_stage):
        records = [r for r in read_history(folder) if r.get("kind") == "epoch"]
        assert records, folder
        for r in records:
            assert r["stage"] in (1, 2), (folder.name, r)
            assert r["units"] == ("nats per code" if folder == two_stage and r["stage"] == 2 else "nats per image"), r
