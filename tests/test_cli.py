"""The real command lines, run as a user would (subprocesses), on scikit-learn's digits."""
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from vae_core import load_bundle


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=240)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_one_epoch_training_run_writes_a_bundle_that_loads_back(tmp_path):
    out = tmp_path / "b"
    proc = run("vae_core.train", "--dataset", "digits", "--arch", "conv", "--channels", "8,16",
               "--fc-hidden", "0", "--latent-dim", "4", "--epochs", "1", "--eval-k", "4",
               "--out", str(out), "--quiet")
    assert "nats per image" in proc.stdout
    bundle = load_bundle(out)
    stored = load_file(out / "model.safetensors")
    assert all(torch.equal(bundle.model.state_dict()[k], v) for k, v in stored.items())
    assert bundle.metrics["epochs"] == 1 and bundle.metrics["split"] == "test"
    assert "--latent-dim 4" in bundle.command
    proc = run("vae_core.evaluate", str(out), "--k", "3", "--on", "probe")
    assert "k = 3" in proc.stdout and load_bundle(out).metrics["log_likelihood"]["k"] == 3


def test_help_explains_options_with_defaults():
    text = run("vae_core.train", "--help").stdout
    for option in ("--beta", "--warmup-epochs", "--latent-dim", "--likelihood", "--data-dir", "--device"):
        assert option in text
    assert "nats per image" in text and "(default: 1.0)" in text


@pytest.mark.parametrize("args, option", [
    (["--beta", "-1"], "beta"),
    (["--latent-dim", "0"], "latent_dim"),
    (["--dataset", "cifar"], "--dataset"),
    (["--epochs", "ten"], "--epochs"),
])
def test_bad_values_exit_2_with_one_line_naming_the_option(tmp_path, args, option):
    proc = run("vae_core.train", "--out", str(tmp_path / "x"), *args, check=False)
    assert proc.returncode == 2
    assert option in proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr


def test_missing_dataset_is_one_clear_error(tmp_path):
    proc = run("vae_core.train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--no-download",
               "--out", str(tmp_path / "x"), check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "t10k-images-idx3-ubyte.gz" in proc.stderr


def test_a_diverging_run_stops_with_a_message_and_keeps_the_last_good_weights(tmp_path):
    out = tmp_path / "b"
    proc = run("vae_core.train", "--dataset", "digits", "--arch", "mlp", "--hidden", "16", "--latent-dim", "2",
               "--likelihood", "gaussian", "--sigma", "1e-6", "--lr", "1e6", "--epochs", "3",
               "--out", str(out), "--quiet", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "not finite" in proc.stderr and "--lr" in proc.stderr
    assert load_bundle(out).metrics is None  # the bundle still opens: its last good weights
