"""Crashes mid-training: SIGKILL at random moments, --resume, and the same final weights."""
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from vae_core import load_bundle
from vae_core.checkpoint import read_history

ARGS = ["--dataset", "digits", "--arch", "mlp", "--hidden", "128", "--latent-dim", "2", "--epochs", "30",
        "--batch-size", "32", "--eval-k", "2", "--seed", "7", "--quiet", "--log-every", "10"]


def train(out, *extra):
    return subprocess.Popen([sys.executable, "-m", "vae_core.cli.train", *ARGS, "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def epochs_logged(out) -> int:
    return sum(1 for r in read_history(out) if r.get("kind") == "epoch")


def kill_after_epoch(proc, out, epoch: int, extra_delay: float) -> bool:
    """SIGKILL once ``epoch`` epochs are logged plus ``extra_delay`` s (mid-epoch, mid-write,
    wherever it lands); False when the run ended first."""
    deadline = time.time() + 120
    while epochs_logged(out) < epoch and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(extra_delay)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def test_sigkill_three_times_then_resume_gives_the_uninterrupted_weights(tmp_path):
    straight = train(tmp_path / "straight")
    assert straight.wait(timeout=300) == 0, straight.stderr.read()

    out, rng, kills = tmp_path / "killed", random.Random(), []
    targets = sorted(rng.sample(range(3, 26), 3))  # 30 epochs: each kill lands mid-run
    for target in targets:
        proc = train(out, "--resume")
        if kill_after_epoch(proc, out, target, rng.uniform(0, 0.15)):
            kills.append((target, (out / "train_state.safetensors").exists()))
    proc = train(out, "--resume")
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert len(kills) >= 3, kills  # each kill landed while the run was still training

    a, b = load_file(tmp_path / "straight" / "model.safetensors"), load_file(out / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ma, mb = load_bundle(tmp_path / "straight").metrics, load_bundle(out).metrics
    assert ma["elbo"] == mb["elbo"] and ma["best_epoch"] == mb["best_epoch"]
    epochs = [r["epoch"] for r in read_history(out) if r["kind"] == "epoch"]
    assert epochs == list(range(1, ma["epochs"] + 1))  # each epoch logged once, in order
    assert not (out / "train_state.safetensors").exists()  # a finished run leaves none


def test_resume_of_a_finished_run_refuses_and_changes_nothing(tmp_path):
    out = tmp_path / "done"
    proc = train(out, "--epochs", "2")
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    before = (out / "model.safetensors").read_bytes()
    proc = train(out, "--resume")
    assert proc.wait(timeout=300) == 1 and "nothing to resume" in proc.stderr.read()
    assert (out / "model.safetensors").read_bytes() == before


def test_overwrite_removes_the_old_runs_training_state(tmp_path, monkeypatch):
    """A run overwritten by another that dies before its first epoch ends must not leave the
    first run's state for --resume to continue silently."""
    from vae_core import ModelConfig, TrainConfig, train as train_fn
    from vae_core.families.gaussian import training as training

    out = tmp_path / "b"
    model_cfg = ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(16,), latent_dim=2)
    real_epoch = training._Run.epoch

    def stop_at_epoch_3(self, model, optimizer, images, epoch):
        if epoch == 3:
            raise KeyboardInterrupt  # Ctrl-C: the state of epoch 2 stays for --resume
        return real_epoch(self, model, optimizer, images, epoch)

    monkeypatch.setattr(training._Run, "epoch", stop_at_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        train_fn(model_cfg, TrainConfig(dataset="digits", epochs=5, eval_k=2, probe_size=50, device="cpu"),
                 out, progress=False)
    assert (out / "train_state.safetensors").exists()

    def die_in_epoch_1(self, *args):
        raise RuntimeError("killed in its first epoch")

    monkeypatch.setattr(training._Run, "epoch", die_in_epoch_1)
    with pytest.raises(RuntimeError):
        train_fn(model_cfg, TrainConfig(dataset="digits", epochs=5, beta=4.0, eval_k=2, probe_size=50, device="cpu"),
                 out, progress=False, overwrite=True)
    assert not (out / "train_state.safetensors").exists()
