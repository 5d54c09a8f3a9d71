"""Re-scoring a bundle: only a whole-test-set evaluation replaces metrics.json's test figures."""
import json
import shutil

import pytest

from vae_core.cli.evaluate import main as evaluate_main


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


@pytest.fixture(scope="module")
def mnist_like_bundle(tmp_path_factory):
    """A one-epoch MLP on the idx stand-in for MNIST: a data set with a shipped classifier."""
    from conftest import write_idx_mnist
    from vae_core import ModelConfig, TrainConfig, train

    data = write_idx_mnist(tmp_path_factory.mktemp("mnist-like"))
    out = train(ModelConfig(architecture="mlp", hidden=(32,), latent_dim=2),
                TrainConfig(dataset="mnist", epochs=1, eval_k=1, probe_size=50, device="cpu"),
                tmp_path_factory.mktemp("b") / "mnist-like", data_dir=data, download=False, progress=False)
    return out, data


def test_the_whole_test_set_gets_frechet_distances_of_samples_said_not_to_be_inception(mnist_like_bundle, tmp_path):
    source, data = mnist_like_bundle
    bundle = shutil.copytree(source, tmp_path / "b")
    assert evaluate_main([str(bundle), "--k", "0", "--frechet", "100", "--data-dir", str(data), "--no-download"]) == 0
    f = metrics(bundle)["frechet_distance"]
    assert f["n_images"] == 100 and "not comparable with the Inception FID" in f["features"]
    assert f["classifier_test_accuracy"] >= 0.99
    # One epoch of a tiny model: two samples of the data itself are far closer than anything it makes.
    assert 0 <= f["test_vs_train"] < min(f["reconstructions"], f["prior_samples"]) / 10


def test_frechet_only_replaces_that_entry_alone(mnist_like_bundle, tmp_path):
    source, data = mnist_like_bundle
    bundle = shutil.copytree(source, tmp_path / "b")
    before = metrics(bundle)
    assert "frechet_distance" not in before
    assert evaluate_main([str(bundle), "--frechet-only", "--frechet", "60", "--data-dir", str(data),
                          "--no-download"]) == 0
    after = metrics(bundle)
    assert after.pop("frechet_distance")["n_images"] == 60 and after == before
    assert evaluate_main([str(bundle), "--frechet-only", "--on", "probe"]) == 2  # whole test split only


def test_a_two_stage_bundle_gets_stage1_and_stage2_sample_distances(mnist_like_bundle, tmp_path):
    from vae_core.families.two_stage.training import train_second_stage

    source, data = mnist_like_bundle
    out = train_second_stage(source, tmp_path / "two", epochs=2, width=32, depth=1, data_dir=data, download=False,
                             progress=False)
    assert evaluate_main([str(out), "--frechet-only", "--frechet", "60", "--data-dir", str(data),
                          "--no-download"]) == 0
    f = metrics(out)["frechet_distance"]
    assert {"stage1_samples", "stage2_samples"} <= f.keys() and "prior_samples" not in f
    assert f["stage1_samples"] > 0 and f["stage2_samples"] > 0


def test_l_k_comes_with_its_standard_error_over_images():
    """metrics' L_k is the mean of the per-image bounds and its standard error their standard
    deviation over sqrt(N), drawn with the same samples (Burda et al. report L_5000 so)."""
    import math

    import torch

    from vae_core import ModelConfig, VAE, evaluate, importance_weighted_bound, terms

    torch.manual_seed(0)
    model = VAE(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(16,), latent_dim=3)).eval()
    x = torch.rand(40, 1, 8, 8).round()
    got = evaluate(model, x, k=3, batch_size=100, seed=0)["log_likelihood"]
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        terms(model, x, generator=gen)  # evaluate draws the ELBO's samples first
        per_image = importance_weighted_bound(model, x, 3, chunk=3, generator=gen).double()
    assert got["estimate"] == pytest.approx(float(per_image.mean()), abs=1e-6)
    assert got["standard_error"] == pytest.approx(float(per_image.std()) / math.sqrt(40), rel=1e-6)
    assert evaluate(model, x[:1], k=3, seed=0)["log_likelihood"]["standard_error"] is None
