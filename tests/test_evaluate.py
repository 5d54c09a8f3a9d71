"""Re-scoring a bundle: only a whole-test-set evaluation replaces metrics.json's test figures."""
import json
import shutil

import pytest

from vae_core.evaluation import main as evaluate_main


@pytest.fixture
def bundle(digits_bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(digits_bundle, copy)
    return copy


def metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


@pytest.mark.parametrize("args", [["--on", "probe"], ["--limit", "20"], ["--on", "probe", "--k", "0"]])
def test_partial_evaluations_leave_the_test_figures_alone(bundle, args, capsys):
    before = (bundle / "metrics.json").read_bytes()
    assert evaluate_main([str(bundle), "--k", "3", *args]) == 0
    assert (bundle / "metrics.json").read_bytes() == before
    out = capsys.readouterr().out
    assert "not written to metrics.json" in out  # says where the figures went


def test_partial_evaluation_goes_to_the_json_file_asked_for(bundle, tmp_path):
    target = tmp_path / "probe-k3.json"
    assert evaluate_main([str(bundle), "--on", "probe", "--k", "3", "--json", str(target)]) == 0
    saved = json.loads(target.read_text())
    assert saved["split"] == "probe" and saved["log_likelihood"]["k"] == 3 and saved["n_images"] == 200


def test_whole_test_set_without_lk_drops_the_old_lk_and_keeps_training_facts(bundle):
    old = metrics(bundle)
    assert "log_likelihood" in old
    assert evaluate_main([str(bundle), "--k", "0", "--seed", "3"]) == 0
    new = metrics(bundle)
    assert "log_likelihood" not in new  # an L_k of another evaluation never sits beside this ELBO
    assert new["split"] == "test" and new["n_images"] == old["n_images"]
    assert "seed 3" in new["binarization"] or new["binarization"].startswith("none")
    assert {k: new[k] for k in ("epochs", "best_epoch", "wall_time_s")} == \
        {k: old[k] for k in ("epochs", "best_epoch", "wall_time_s")}


def test_no_download_is_an_option(bundle, tmp_path, capsys):
    # digits needs no files; a missing MNIST with --no-download fails with one line, no traceback.
    config = json.loads((bundle / "config.json").read_text())
    assert evaluate_main([str(bundle), "--k", "0", "--no-download"]) == 0
    config["train"]["dataset"] = "mnist"
    (bundle / "config.json").write_text(json.dumps(config))
    assert evaluate_main([str(bundle), "--no-download", "--data-dir", str(tmp_path / "none")]) == 1
    assert "MNIST" in capsys.readouterr().err
