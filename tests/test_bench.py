"""The training benchmark's smoke mode: both pipelines run end to end and report every figure.
(Speed itself is measured by running the benchmark, never asserted in a test.)"""
import json
import re
import shlex
import subprocess
import sys

from conftest import REPO, write_idx_mnist
from vae_core import load_bundle
from vae_core.cli.train import build_parser
from vae_core.families.gaussian.objectives import learning_rate


def test_train_speed_smoke_run_reports_both_pipelines(tmp_path):
    data = write_idx_mnist(tmp_path / "data")
    out = tmp_path / "speed.json"
    proc = subprocess.run([sys.executable, "-m", "bench.train_speed", "--smoke", "--device", "cpu",
                           "--data-dir", str(data), "--json", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    for name in ("ours", "reference"):
        r = report[name]
        assert len(r["epoch_seconds"]) == 1 and r["images_per_s"] > 0 and r["cpu_rss_mib"] > 0
        assert 0 < r["test_loss"] < 1e4  # a finite negative ELBO, nats per image
    assert report["ours"]["images"] == 550 and report["reference"]["images"] == 600  # 5,000/60,000 held out
    assert report["ours"]["eval"] == {**report["ours"]["eval"], "k": 10, "images": 100}
    assert report["speedup"] == report["ours"]["images_per_s"] / report["reference"]["images_per_s"]
    assert "speed-up, ours / reference" in proc.stdout and report["machine"]["cores"] >= 1


def documented_train_commands() -> list[list[str]]:
    """The ``vae-train`` command lines in docs/benchmarks.md's code blocks."""
    text = (REPO / "docs" / "benchmarks.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    lines = [line.strip() for line in "\n".join(blocks).replace("\\\n", " ").splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("vae-train ")]


def shortened(args: list[str], out, data) -> list[str]:
    """The same options, for seconds on a CPU: 2 epochs, k = 5, the eager step, no bf16, another
    folder; given last, so they win over a --preset's too."""
    ours = {"--epochs": "2", "--eval-k": "5", "--device": "cpu", "--step": "eager", "--out": str(out),
            "--data-dir": str(data), "--probe-size": "50"}
    kept, i = [], 0
    while i < len(args):
        if args[i] in ours:
            i += 2
        elif args[i] == "--bf16":  # a flag, or with its value
            i += 2 if i + 1 < len(args) and not args[i + 1].startswith("--") else 1
        else:
            kept.append(args[i])
            i += 1
    return [*kept, *(a for pair in ours.items() for a in pair), "--quiet"]


def test_the_documented_gpu_commands_run_shortened_on_the_cpu(tmp_path):
    """docs/benchmarks.md gives long runs (Burda et al.'s VAE, our conv model) that no test can
    afford; each of its training commands must at least parse and train, shortened, with its
    schedule applied."""
    commands = documented_train_commands()
    # Burda's VAE (a preset), the conv candidate, two-stage stage 1, the digits VAE / IWAE pair.
    assert len(commands) == 5 and ["--preset", "burda2016"] == commands[0][:2]
    data = write_idx_mnist(tmp_path / "data")
    # Side by side (their torch imports and setup dominate): 28 s of the suite one after another.
    procs = [subprocess.Popen([sys.executable, "-m", "vae_core.cli.train", *shortened(args, tmp_path / f"run{i}", data)],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i, args in enumerate(commands)]
    for i, (args, proc) in enumerate(zip(commands, procs)):
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        bundle = load_bundle(tmp_path / f"run{i}")
        assert bundle.metrics["log_likelihood"]["k"] == 5 and bundle.metrics["epochs"] == 2
        asked = build_parser().parse_args(args)  # a --preset's values included
        logged = [r["lr"] for r in bundle.history() if r["kind"] == "epoch"]
        assert logged == [learning_rate(e, asked.lr, asked.lr_schedule) for e in (1, 2)]
        assert bundle.train_config.adam_eps == asked.adam_eps and bundle.train_config.batch_size == asked.batch_size
