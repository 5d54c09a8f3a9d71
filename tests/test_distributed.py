"""The GPU options on the CPU: data-parallel training under torchrun with the gloo backend,
and the training loop under --compile and --bf16."""
import functools
import math
import subprocess
import sys

import torch

from vae_core import ModelConfig, TrainConfig, load_bundle
from vae_core.families.gaussian import training as training

OPTIONS = ["--dataset", "digits", "--arch", "mlp", "--hidden", "64", "--latent-dim", "4", "--epochs", "6",
           "--eval-k", "10", "--quiet"]


def test_two_processes_train_one_bundle_as_good_as_one_process(tmp_path):
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    proc = subprocess.run([*torchrun, "-m", "vae_core.cli.train", *OPTIONS, "--out", str(tmp_path / "ddp")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("wrote ") == 1  # rank 0 alone writes and reports
    single = subprocess.run([sys.executable, "-m", "vae_core.cli.train", *OPTIONS, "--out", str(tmp_path / "one")],
                            capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp, one = load_bundle(tmp_path / "ddp"), load_bundle(tmp_path / "one")
    assert ddp.metrics["processes"] == 2 and one.metrics["processes"] == 1
    assert [r["epoch"] for r in ddp.history() if r["kind"] == "epoch"] == list(range(1, 7))
    assert abs(ddp.metrics["elbo"] - one.metrics["elbo"]) < 3.0, (ddp.metrics["elbo"], one.metrics["elbo"])


def test_cuda_only_options_are_refused_on_the_cpu(tmp_path):
    """--compile (of the model) is for CUDA; on the CPU the whole step is compiled instead
    (--step compiled), and --bf16 is allowed there since it pays where the CPU has AMX."""
    proc = subprocess.run([sys.executable, "-m", "vae_core.cli.train", *OPTIONS, "--device", "cpu", "--compile",
                           "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "CUDA" in proc.stderr and not (tmp_path / "x" / "config.json").exists()


def test_the_training_loop_under_compile_and_bf16_runs(tmp_path, monkeypatch):
    """--compile is refused on the CPU, so without this no GPU-less run would execute its
    code: the refusal is lifted, and torch.compile uses dynamo's eager backend (no code
    generation, which the CPU does not need to prove)."""
    monkeypatch.setattr(training, "_check_run_options", lambda *args: None)
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    model = ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(32,), latent_dim=2)
    run = TrainConfig(dataset="digits", epochs=2, eval_k=5, device="cpu", compile=True, bf16=True)
    out = training.train(model, run, tmp_path / "b", progress=False)
    metrics = load_bundle(out).metrics
    assert metrics["epochs"] == 2 and math.isfinite(metrics["elbo"])
