"""The real command lines, run as a user would (subprocesses), on scikit-learn's digits."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from vae_core import load_bundle, read_history


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=240)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_one_epoch_training_run_writes_a_bundle_that_loads_back(tmp_path):
    out = tmp_path / "b"
    proc = run("vae_core.cli.train", "--dataset", "digits", "--arch", "conv", "--channels", "8,16",
               "--fc-hidden", "0", "--latent-dim", "4", "--epochs", "1", "--eval-k", "4",
               "--out", str(out), "--quiet")
    assert "nats per image" in proc.stdout
    bundle = load_bundle(out)
    stored = load_file(out / "model.safetensors")
    assert all(torch.equal(bundle.model.state_dict()[k], v) for k, v in stored.items())
    assert bundle.metrics["epochs"] == 1 and bundle.metrics["split"] == "test"
    assert "--latent-dim 4" in bundle.command
    proc = run("vae_core.cli.evaluate", str(out), "--k", "3")
    assert "k = 3" in proc.stdout and load_bundle(out).metrics["log_likelihood"]["k"] == 3


def test_help_explains_options_with_defaults():
    text = run("vae_core.cli.train", "--help").stdout
    for option in ("--beta", "--warmup-epochs", "--latent-dim", "--likelihood", "--data-dir", "--device"):
        assert option in text
    assert "nats per image" in text and "(default: 1.0)" in text


BAD_VALUES = [(["--beta", "-1"], "beta"), (["--latent-dim", "0"], "latent_dim"), (["--dataset", "cifar"], "--dataset"),
              (["--epochs", "ten"], "--epochs"), (["--free-bits", "-1"], "free_bits"),
              (["--capacity", "5", "--free-bits", "1"], "capacity"),
              (["--objective", "iwae", "--beta", "0.5"], "importance-weighted"), (["--adam-eps", "0"], "adam_eps")]
NO_GPU = ["vae_core.cli.train", "vae_core.cli.train_vq"]
MAINS = """
import contextlib, importlib, io, json, sys
results = []
for module, argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = importlib.import_module(module).main(argv)
        except SystemExit as exc:
            code = exc.code
    results.append([code, err.getvalue()])
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def refusals(tmp_path_factory, vq_bundle):
    """Command lines that must be refused before training, run as the commands' main() in one
    process (each case is a whole interpreter and torch import otherwise): {case: (exit status,
    stderr)}, and the folder each was given."""
    import json
    import shutil

    work = tmp_path_factory.mktemp("refusals")
    shutil.copytree(vq_bundle, work / "vq")
    (work / "vq" / "metrics.json").unlink()
    cases = {f"bad {i}": ("vae_core.cli.train", ["--out", str(work / f"bad{i}"), *args])
             for i, (args, _) in enumerate(BAD_VALUES)}
    cases |= {f"gpu {m}": (m, ["--dataset", "digits", "--device", "cuda", "--epochs", "1", "--out", str(work / m)])
              for m in NO_GPU}
    cases["no data"] = ("vae_core.cli.train", ["--dataset", "mnist", "--data-dir", str(work), "--no-download",
                                               "--out", str(work / "nodata")])
    before = {f.name: f.read_bytes() for f in (work / "vq").iterdir()}
    cases["resume vq"] = ("vae_core.cli.train", ["--dataset", "digits", "--resume", "--out", str(work / "vq")])
    proc = subprocess.run([sys.executable, "-c", MAINS, json.dumps(list(cases.values()))], capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    return dict(zip(cases, map(tuple, json.loads(proc.stdout.splitlines()[-1])))), work, before


@pytest.mark.parametrize("i", range(len(BAD_VALUES)))
def test_bad_values_exit_2_with_one_line_naming_the_option(refusals, i):
    (code, stderr), work = refusals[0][f"bad {i}"], refusals[1]
    option = BAD_VALUES[i][1]
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], stderr  # the usage block only with --help
    assert "Traceback" not in stderr and not (work / f"bad{i}").exists()


def test_capacity_annealing_and_a_learned_sigma_are_logged(tmp_path):
    out = tmp_path / "c"
    run("vae_core.cli.train", "--dataset", "digits", "--arch", "mlp", "--hidden", "32", "--latent-dim", "2",
        "--likelihood", "gaussian-learned", "--capacity", "4", "--capacity-epochs", "2", "--epochs", "3",
        "--log-every", "4", "--eval-k", "1", "--out", str(out), "--quiet")
    steps = [r for r in read_history(out) if r["kind"] == "step"]
    capacity = [r["capacity"] for r in steps]
    assert capacity == sorted(capacity) and 0 < capacity[0] < 2 and capacity[-1] == 4.0
    sigmas = {round(r["sigma"], 6) for r in steps}
    assert len(sigmas) > 1 and all(0 < s < 1 for s in sigmas)  # learned: it moves as training goes


def test_the_kept_epoch_is_the_best_by_the_objective_trained_not_the_elbo(tmp_path):
    out = tmp_path / "ae"
    run("vae_core.cli.train", "--dataset", "digits", "--arch", "mlp", "--hidden", "64", "--latent-dim", "4",
        "--beta", "0", "--epochs", "6", "--eval-k", "1", "--out", str(out), "--quiet")
    epochs = [r for r in read_history(out) if r["kind"] == "epoch"]
    assert all(r["val_loss"] == r["val_reconstruction"] for r in epochs)  # beta = 0: D alone
    best = min(epochs, key=lambda r: r["val_loss"])
    assert load_bundle(out).metrics["best_epoch"] == best["epoch"]
    assert best["val_elbo"] < max(r["val_elbo"] for r in epochs)  # the ELBO would have picked another epoch


def test_an_iwae_run_keeps_the_epoch_of_the_best_held_out_l_k(tmp_path):
    out = tmp_path / "iwae"
    run("vae_core.cli.train", "--dataset", "digits", "--arch", "mlp", "--hidden", "32", "--latent-dim", "4",
        "--objective", "iwae", "--mc-samples", "5", "--epochs", "3", "--eval-k", "5", "--out", str(out), "--quiet")
    bundle = load_bundle(out)
    assert (bundle.train_config.objective, bundle.train_config.mc_samples) == ("iwae", 5)
    epochs = [r for r in read_history(out) if r["kind"] == "epoch"]
    assert all(r["val_loss"] == -r["val_log_likelihood"] and r["val_k"] == 5 for r in epochs)
    assert all(r["val_log_likelihood"] > r["val_elbo"] for r in epochs)  # L_5 lies above the ELBO
    assert all(r["loss"] < r["reconstruction"] + r["kl"] for r in epochs)  # -L_5 below -ELBO on the batches too
    assert bundle.metrics["best_epoch"] == min(epochs, key=lambda r: r["val_loss"])["epoch"]


def test_training_on_a_folder_of_rgb_images(tmp_path):
    from PIL import Image

    for i in range(30):
        (tmp_path / "imgs" / f"class{i % 2}").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (24, 20), (8 * i, 100, 255 - 8 * i)).save(tmp_path / "imgs" / f"class{i % 2}" / f"{i}.jpg")
    out = tmp_path / "b"
    run("vae_core.cli.train", "--dataset", "folder", "--folder", str(tmp_path / "imgs"), "--image-size", "8",
        "--color", "rgb", "--likelihood", "gaussian", "--arch", "mlp", "--hidden", "16", "--latent-dim", "2",
        "--epochs", "1", "--eval-k", "2", "--out", str(out), "--quiet")
    bundle = load_bundle(out)
    assert bundle.model_config.image_shape == (3, 8, 8) and bundle.classes == ["class0", "class1"]
    assert bundle.probe_images.shape == (3, 3, 8, 8)  # the held-out 10 %
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run("vae_core.cli.train", "--dataset", "folder", "--folder", str(empty), "--out", str(tmp_path / "c"),
               check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and str(empty) in proc.stderr


def test_missing_dataset_is_one_clear_error(refusals):
    (code, stderr), work = refusals[0]["no data"], refusals[1]
    assert code == 1
    assert "Traceback" not in stderr and "t10k-images-idx3-ubyte.gz" in stderr
    assert not (work / "nodata").exists()  # a run that fails before its first epoch removes the folder it made


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
@pytest.mark.parametrize("command", NO_GPU)
def test_a_missing_gpu_is_one_line_and_leaves_no_folder(refusals, command):
    (code, stderr), work = refusals[0][f"gpu {command}"], refusals[1]
    assert code == 1 and stderr.strip().splitlines() == [
        "error: --device cuda: no CUDA GPU is visible on this machine; use --device cpu (or auto)"], stderr
    assert not (work / command).exists()


def test_resuming_another_familys_folder_names_its_command_and_changes_nothing(refusals):
    """vae-train --resume on a VQ-VAE folder without metrics trained a Gaussian VAE over it."""
    (code, stderr), work, before = refusals[0]["resume vq"], refusals[1], refusals[2]
    folder = work / "vq"
    assert code == 1, stderr
    assert stderr.strip().splitlines() == [
        f"error: {folder} holds a 'vq-vae' bundle, not a 'vae' one; continue it with vae-train-vq --resume"]
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == before


def test_a_diverging_run_stops_with_a_message_and_keeps_the_last_good_weights(tmp_path):
    out = tmp_path / "b"
    proc = run("vae_core.cli.train", "--dataset", "digits", "--arch", "mlp", "--hidden", "16", "--latent-dim", "2",
               "--likelihood", "gaussian", "--sigma", "1e-6", "--lr", "1e6", "--epochs", "3",
               "--out", str(out), "--quiet", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "not finite" in proc.stderr and "--lr" in proc.stderr
    assert load_bundle(out).metrics is None  # the bundle still opens: its last good weights


def test_a_non_finite_training_loss_names_its_step(tmp_path):
    out = tmp_path / "b"  # (x - f(z))^2 / sigma^2 overflows float32 at the first step
    proc = run("vae_core.cli.train", "--dataset", "digits", "--arch", "mlp", "--hidden", "16", "--latent-dim", "2",
               "--likelihood", "gaussian", "--sigma", "1e-30", "--epochs", "3", "--log-every", "5",
               "--out", str(out), "--quiet", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert re.search(r"the training loss at step 1 \(epoch 1\) is not finite", proc.stderr), proc.stderr
    assert "--sigma 1e-30" in proc.stderr and "epoch 0 (0: untrained)" in proc.stderr
    assert load_bundle(out).metrics is None


def test_an_unwritable_output_folder_is_reported_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = run("vae_core.cli.train", "--dataset", "digits", "--arch", "mlp", "--epochs", "1",
               "--out", str(blocker / "bundle"), "--quiet", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: cannot write the bundle to {blocker / 'bundle'}")
    assert blocker.read_text() == "not a folder"


def test_a_full_disk_mid_training_fails_that_write_and_keeps_the_last_bundle(tmp_path, monkeypatch):
    """ENOSPC at the third fsync of weights (epoch 3's best): the error reaches the caller, the
    weights of the previous best epoch stay as they were, no temporary file is left."""
    import errno
    import os

    from vae_core import ModelConfig, TrainConfig, checkpoint, train

    out, calls, before = tmp_path / "b", [], {}
    real_fsync = os.fsync

    def fsync(fd):
        target = os.readlink(f"/proc/self/fd/{fd}")
        if ".model.safetensors." in target:
            calls.append(target)
            if len(calls) == 4:  # 1: the untrained weights, 2-4: epochs 1-3
                before["weights"] = (out / "model.safetensors").read_bytes()
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(checkpoint.os, "fsync", fsync)
    model = ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(32,), latent_dim=2)
    with pytest.raises(OSError, match="No space left"):
        # A high learning rate so that the first epochs keep improving the held-out ELBO.
        train(model, TrainConfig(dataset="digits", epochs=6, lr=3e-3, eval_k=2), out, progress=False)
    assert len(calls) == 4
    assert (out / "model.safetensors").read_bytes() == before["weights"]
    load_bundle(out)  # still a valid bundle
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_the_training_command_computes_with_denormals_as_zero_in_every_thread(tmp_path):
    """Adam's moments of always-blank pixels would sit at denormals and slow every step
    (vae_core.families.gaussian.training.flush_denormals); the mode must reach the worker threads."""
    code = (
        "import torch\n"
        "from vae_core.cli.train import main\n"
        "assert main(['--dataset', 'digits', '--arch', 'mlp', '--hidden', '8', '--latent-dim', '2',\n"
        f"             '--epochs', '1', '--eval-k', '1', '--device', 'cpu', '--quiet', '--out', {str(tmp_path / 'b')!r}]) == 0\n"
        "torch.set_num_threads(2)\n"
        "x = torch.full((1 << 20,), 1e-40) * 1.0  # split between the threads\n"
        "print(int((x != 0).sum()))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "0"


def test_train_as_a_library_call_leaves_floating_point_alone(tmp_path):
    """train() in someone else's process must not flush their denormals (hypothesis, numpy)."""
    code = (
        "import torch\n"
        "from vae_core import ModelConfig, TrainConfig\n"
        "from vae_core.families.gaussian.training import train\n"
        "train(ModelConfig(image_shape=(1, 8, 8), architecture='mlp', hidden=(8,), latent_dim=2),\n"
        f"      TrainConfig(dataset='digits', epochs=1, eval_k=1, device='cpu'), {str(tmp_path / 'b')!r}, progress=False)\n"
        "print(float(torch.tensor([1e-40]) * 1.0))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.split()[-1]) > 0


# One non-default value per config field; the round trip must cover all of them.
CHANGED = {"latent_dim": 7, "architecture": "mlp", "hidden": (32, 16), "channels": (8, 16), "fc_hidden": 0,
           "activation": "tanh", "likelihood": "gaussian-learned", "sigma": 0.25,
           "dataset": "digits", "epochs": 3, "batch_size": 17, "lr": 3e-4, "adam_eps": 1e-4, "lr_schedule": "burda",
           "beta": 0.5, "objective": "iwae",
           "warmup_epochs": 2, "capacity": 5.0, "capacity_epochs": 4, "free_bits": 0.5, "mc_samples": 2,
           "binarize": False, "patience": 3, "eval_k": 9, "probe_size": 99, "seed": 5, "device": "cpu",
           "compile": True, "bf16": True, "step": "compiled"}


def _round_trip(model, train_cfg):
    from vae_core.cli.train import build_parser, config_to_args, configs_from_args, image_shape_of

    args = build_parser().parse_args([*config_to_args(model, train_cfg), "--out", "x"])
    return configs_from_args(args, image_shape_of(args))


@pytest.mark.parametrize("field", sorted(CHANGED))
def test_every_config_field_survives_the_trip_to_a_command_line_and_back(field):
    import dataclasses

    from vae_core import ModelConfig, TrainConfig

    value = CHANGED[field]
    model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    model, train_cfg = ModelConfig(), TrainConfig()
    if field in model_fields:
        model = dataclasses.replace(model, **{field: value})
    else:
        if field == "free_bits":  # not with capacity; digits when the data set is what changes
            train_cfg = dataclasses.replace(train_cfg, free_bits=value)
        else:
            train_cfg = dataclasses.replace(train_cfg, **{field: value})
        if field == "dataset":
            model = dataclasses.replace(model, image_shape=(1, 8, 8), architecture="mlp")
    assert _round_trip(model, train_cfg) == (model, train_cfg)


def test_the_round_trip_covers_every_field_and_a_folder_of_rgb_images(tmp_path):
    import dataclasses

    from vae_core import ModelConfig, TrainConfig

    fields = {f.name for cls in (ModelConfig, TrainConfig) for f in dataclasses.fields(cls)}
    assert fields - {"image_shape", "folder"} == set(CHANGED)  # a new field needs its option and a case here
    model = ModelConfig(image_shape=(3, 16, 16), architecture="mlp")
    train_cfg = TrainConfig(dataset="folder", folder=str(tmp_path), binarize=True)
    assert _round_trip(model, train_cfg) == (model, train_cfg)
    auto = TrainConfig(bf16="auto", step="eager")  # --bf16 auto: a value, not only a switch
    assert _round_trip(ModelConfig(), auto) == (ModelConfig(), auto)


def test_the_recorded_command_names_no_folder_of_this_machine(tmp_path):
    out = tmp_path / "b"
    run("vae_core.cli.train", "--dataset", "digits", "--arch", "mlp", "--hidden", "8", "--latent-dim", "2", "--epochs", "1",
        "--eval-k", "1", "--device", "cpu", "--quiet", "--data-dir", str(tmp_path / "data"), "--out", str(out))
    command = load_bundle(out).command
    assert "--data-dir DIR" in command and str(tmp_path / "data") not in command


def test_shipped_bundles_name_no_folder_of_the_machine_they_were_made_on():
    from conftest import shipped_bundles

    for folder in shipped_bundles():
        command = load_bundle(folder).command
        assert not re.search(r"--(data-dir|out|folder)[ =]/", command), (folder.name, command)
        assert "--data-dir" not in command or "--data-dir DIR" in command, (folder.name, command)


def test_the_installed_commands_point_at_the_command_lines():
    """pyproject's scripts resolve to the same main() functions the python -m forms run."""
    import importlib
    import shutil
    import tomllib

    from conftest import REPO

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"vae-train", "vae-evaluate", "vae-sweep", "vae-import-examples", "vae-explorer",
                            "vae-train-stage2", "vae-train-vq", "vae-export-site", "vae-export-onnx",
                            "vae-bundle-modules", "vae-import-diffusers"}
    for name, target in scripts.items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), name
    installed = shutil.which("vae-train", path=str(Path(sys.executable).parent))
    if installed:  # installed with pip (README's set-up does): the command runs
        proc = subprocess.run([installed, "--help"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and "nats per image" in proc.stdout


@pytest.mark.parametrize("option", ["--hidden", "--channels"])
def test_an_empty_layer_list_is_refused_with_one_line(option, capsys):
    """``--hidden ""`` trained a model with no hidden layer, silently (a linear VAE)."""
    from vae_core.cli.train import build_parser

    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["--out", "x", option, ""])
    assert info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert option in error and "at least one integer" in error


def test_max_minutes_stops_the_run_as_ctrl_c_does(capsys):
    """``vae-train --max-minutes M`` (runs started from the explorer carry one: test_runs.py)
    raises KeyboardInterrupt after M minutes, which run_training turns into exit status 130 with
    the bundle kept, as for Ctrl-C or the explorer's Stop (test_runs.py stops a real run)."""
    import signal
    import time

    from vae_core.cli.options import stop_after

    try:
        stop_after(0.0005)  # 30 ms
        with pytest.raises(KeyboardInterrupt):
            time.sleep(5)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    assert "the --max-minutes 0.0005 limit is reached; stopping" in capsys.readouterr().err


def test_the_burda_preset_is_the_papers_recipe_and_an_explicit_option_overrides_it():
    from vae_core.cli.train import build_parser, configs_from_args, image_shape_of

    def configs(*argv):
        args = build_parser().parse_args([*argv, "--out", "x"])
        return configs_from_args(args, image_shape_of(args))

    model, cfg = configs("--preset", "burda2016")
    assert (model.architecture, model.hidden, model.activation, model.latent_dim, model.likelihood) == (
        "mlp", (200, 200), "tanh", 50, "bernoulli")
    assert (cfg.dataset, cfg.batch_size, cfg.lr, cfg.adam_eps, cfg.lr_schedule, cfg.epochs, cfg.eval_k, cfg.binarize) == (
        "mnist", 20, 1e-3, 1e-4, "burda", 3280, 5000, True)
    _, changed = configs("--batch-size", "100", "--preset", "burda2016")  # before or after: the option wins
    assert changed.batch_size == 100 and changed.adam_eps == 1e-4
    assert configs("--out", "y")[1].batch_size == 128  # a parser without the preset keeps the defaults


def test_vae_explorer_help_says_how_instead_of_starting_a_server(capsys):
    from explorer.cli import main

    assert main(["--help"]) == 0  # before, --help went to the explorer's options and a server started
    assert "--bundles DIR" in capsys.readouterr().out
