"""Training runs: the registry's listing, launching, stopping and limit (vae_core.runs), the
form's checks (explorer.launch), the run figures, and the Training pages under AppTest.

Launched runs are real ``vae-train`` processes on the digits set (seconds each);
every test has its own registry and runs folder, and its processes are ended afterwards."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from vae_core import ConfigError, runs

APP = str(REPO / "explorer" / "app.py")
def train_args(epochs: int) -> list[str]:
    return ["--dataset", "digits", "--arch", "mlp", "--hidden", "32", "--latent-dim", "2", "--epochs", str(epochs),
            "--log-every", "5", "--eval-k", "2", "--probe-size", "50"]


LONG = train_args(100_000)


@pytest.fixture(autouse=True)
def own_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path / "registry"))
    monkeypatch.setenv("VAE_EXPLORER_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("VAE_MAX_RUNS", raising=False)
    monkeypatch.delenv("VAE_EXPLORER_NO_TRAINING", raising=False)
    yield
    for run in runs.running_here():  # never leave a training process behind
        if run.pid and run.pid != os.getpid():
            os.kill(run.pid, signal.SIGKILL)
            runs.get_run(run.out)  # reaps it


def wait_until(predicate, what: str, timeout_s: float = 120):
    """Poll until ``predicate()`` is true; the deadline only stops a hung test."""
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(0.2)
    return value


def ended(out):
    run = runs.get_run(out)
    return run if run.state != "running" else None


# ---------------------------------------------------------------- vae_core.runs

def test_launch_respects_the_limit_and_stop_keeps_the_bundle(tmp_path):
    out = tmp_path / "runs" / "long"
    run = runs.launch(LONG, out, limit=1)
    assert run.state == "running" and run.log is not None and run.out == out.resolve()
    with pytest.raises(runs.RunLimitError, match="the limit is 1"):
        runs.launch(LONG, tmp_path / "runs" / "second", limit=1)
    with pytest.raises(runs.RunLimitError, match="already writing"):
        runs.launch(LONG, out, limit=5)
    # The training state is written last in an epoch: its history line and weights come first,
    # and a stop between them would rightly leave no state to resume from.
    wait_until(lambda: (out / "train_state.safetensors").is_file(), "a first complete epoch")
    assert runs.stop(out)
    run = wait_until(lambda: ended(out), "the run to stop")
    assert run.state == "stopped" and "--resume" in run.error
    assert (out / "model.safetensors").is_file() and (out / "train_state.safetensors").is_file()
    assert "stopped;" in runs.read_log(run) and "%|" not in runs.read_log(run)  # progress bars left out
    assert not runs.stop(out)  # nothing left to stop
    assert [r.out for r in runs.list_runs()] == [out.resolve()]


def _lines(out):
    path = out / "history.jsonl"
    return [line for line in path.read_text().splitlines() if line.endswith("}")] if path.is_file() else []


def test_a_launched_run_finishes_and_its_bundle_is_listed(tmp_path):
    from explorer import bundles, launch

    out = tmp_path / "runs" / "short"
    runs.launch(train_args(2), out, limit=1)
    run = wait_until(lambda: ended(out), "the run to end")
    assert run.state == "finished", runs.read_log(run)
    assert (out / "metrics.json").is_file() and "wrote" in runs.read_log(run)
    assert out.resolve() in bundles.available_bundles() and out.resolve().parent in launch.bundle_roots()


def test_a_process_that_fails_before_training_is_recorded_as_failed(tmp_path):
    out = tmp_path / "runs" / "bad"
    runs.launch(["--dataset", "digits", "--latent-dim", "0"], out, limit=1)
    run = wait_until(lambda: ended(out), "the process to exit")
    assert run.state == "failed" and "latent_dim" in run.error  # the last line of its log
    assert runs.get_run(out).state == "failed"  # recorded, not only derived


def test_states_of_dead_reused_and_foreign_pids(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    cases = {"dead": {"pid": dead.pid, "started": time.time()},
             "alive": {"pid": os.getpid(), "started": time.time()},
             "reused": {"pid": os.getpid(), "started": 1.0},  # this process is younger than the run
             "elsewhere": {"pid": 1, "host": "another-machine", "started": time.time()}}
    for name, entry in cases.items():
        runs._write(tmp_path / name, {"out": str(tmp_path / name), "state": "running", "host": os.uname().nodename,
                                      **entry})
    states = {r.out.name: r.state for r in runs.list_runs()}
    assert states == {"dead": "killed", "alive": "running", "reused": "killed", "elsewhere": "running"}
    assert {r.out.name for r in runs.running_here()} == {"alive"}  # the limit counts this machine's


def test_the_command_registers_its_run_and_the_library_call_does_not(tmp_path):
    """train() in a notebook leaves the machine-wide registry alone; the training command
    registers its run (listed, finished, with no log file, as it was not launched)."""
    from vae_core import ModelConfig, TrainConfig, train

    out = train(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(16,), latent_dim=2),
                TrainConfig(dataset="digits", epochs=1, eval_k=2, probe_size=50, device="cpu"),
                tmp_path / "notebook-run", progress=False)
    assert runs.get_run(out) is None and runs.list_runs() == []
    out = tmp_path / "command-run"
    # In a process of its own, as a user runs it: the command sets flush-to-zero for its process.
    proc = subprocess.run([sys.executable, "-m", "vae_core.cli.train", "--dataset", "digits", "--arch", "mlp", "--hidden",
                           "16", "--latent-dim", "2", "--epochs", "1", "--eval-k", "2", "--probe-size", "50",
                           "--device", "cpu", "--quiet", "--out", str(out)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    run = runs.get_run(out)
    assert run.state == "finished" and run.log is None and run in runs.list_runs()


# ---------------------------------------------------------------- explorer.launch: the form's checks

def test_the_form_passes_only_options_that_differ_from_the_defaults():
    from explorer.launch import RunRequest, check

    assert check(RunRequest()) == ["--latent-dim", "2", "--arch", "mlp", "--dataset", "digits",
                                   "--epochs", "300", "--log-every", "10", "--max-minutes", "60"]
    args = check(RunRequest(likelihood="gaussian-learned", sigma=0.2, beta=4.0))
    assert args[args.index("--sigma") + 1] == "0.2" and "--beta" in args
    assert "--sigma" not in check(RunRequest(sigma=0.2))  # unused by a Bernoulli decoder


@pytest.mark.parametrize("change, field", [({"beta": -1.0}, "beta"), ({"latent_dim": 0}, "latent_dim"),
                                           ({"epochs": 0}, "epochs"), ({"likelihood": "poisson"}, "likelihood"),
                                           ({"dataset": "imagenet"}, "dataset"), ({"log_every": 0}, "log_every"),
                                           ({"capacity": 5.0, "free_bits": 0.5}, "capacity")])
def test_bad_form_values_are_refused_naming_the_field(change, field):
    from explorer.launch import RunRequest, check

    with pytest.raises(ConfigError, match=field):
        check(RunRequest(**change))


def test_the_forms_command_line_trains_the_configs_the_form_asked_for(tmp_path):
    """The form goes to the command through the typed configs, and the command parses back to
    the same configs: what is trained is what the form showed."""
    from explorer import launch
    from vae_core.cli.train import build_parser, configs_from_args, image_shape_of

    for request in (launch.RunRequest(), launch.RunRequest(likelihood="gaussian", sigma=0.2, beta=4.0, free_bits=0.5),
                    launch.RunRequest(dataset="folder", folder=str(tmp_path), image_size=16, color="rgb")):
        args = build_parser().parse_args([*launch.check(request), "--out", str(tmp_path / "x")])
        assert configs_from_args(args, image_shape_of(args)) == launch.configs(request)


def test_run_names_are_plain_and_new(tmp_path):
    from explorer.launch import RunRequest, out_folder

    assert out_folder(RunRequest()).name.startswith("digits-mlp-z2-b1-")
    (tmp_path / "runs" / "taken").mkdir(parents=True)
    for name in ("../escape", "taken", "a b"):
        with pytest.raises(ConfigError, match="name"):
            out_folder(RunRequest(name=name))


# ---------------------------------------------------------------- explorer.run_figures

def history(n_epochs=3, steps_per_epoch=2, d=2, **extra):
    records = []
    for e in range(1, n_epochs + 1):
        for s in range(steps_per_epoch):
            step = (e - 1) * steps_per_epoch + s + 1
            recon, kl = 30.0 - step, 0.5 * step
            records.append({"kind": "step", "step": step, "epoch": e, "beta": 4.0, "reconstruction": recon, "kl": kl,
                            "elbo": -(recon + kl), "loss": recon + 4.0 * abs(kl - 1.0), **extra})
        records.append({**records[-1], "kind": "epoch", "val_elbo": -30.0 + e, "val_kl_per_dim": [0.1 * e] * d})
    return records


def test_breakdown_stacks_the_parts_of_the_loss_and_shows_the_capacity_target():
    from explorer import run_figures

    h = history(capacity=1.0)
    fig = run_figures.objective_breakdown(h, latent_dim=2)
    traces = {t.name: t for t in fig.data}
    d, penalty = traces["reconstruction term D"], traces["β·|R − C|"]
    assert d.stackgroup == penalty.stackgroup == "loss"
    points = run_figures.training_points(h)
    assert list(d.y + penalty.y) == pytest.approx([r["loss"] for r in points])  # the stack sums to the loss
    assert list(traces["KL target C"].y) == [1.0] * len(points)
    assert "ELBO, held-out split" in traces and all("nats per image" in a.title.text for a in (fig.layout.yaxis,
                                                                                                fig.layout.yaxis2))


def test_free_bits_and_a_learned_sigma_show_in_the_figures():
    from explorer import run_figures

    h = history(free_bits=0.5, sigma=0.3)
    for r in h:
        r["reconstruction"] -= 100  # a Gaussian decoder's D is a density, it can be negative
    fig = run_figures.objective_breakdown(h, latent_dim=2)
    names = {t.name for t in fig.data}
    assert "β·Σ_j max(R_j, λ)" in names and "free-bits floor d·λ = 2·0.5" in names
    assert all(t.stackgroup is None for t in fig.data)  # not stacked: parts of mixed sign
    titles = [a.text for a in run_figures.schedules(h).layout.annotations]
    assert titles == ["β", "decoder σ"]


def test_kl_heatmap_is_dimensions_by_epochs_and_a_resumed_epoch_counts_once():
    from explorer import run_figures

    h = history(n_epochs=4, d=3)
    h.append({**h[-1], "val_kl_per_dim": [9.0, 9.0, 9.0], "val_elbo": 5.0})  # epoch 4 again, after a resume
    heat = run_figures.kl_heatmap(h).data[0]
    assert heat.z.shape == (3, 4) and list(heat.x) == [1, 2, 3, 4] and heat.z[0, -1] == 9.0
    assert run_figures.best_epoch(h) == 4 and run_figures.best_epoch([]) is None


# ---------------------------------------------------------------- the pages, under AppTest

def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_run_view_follows_a_history_being_appended(digits_bundle, tmp_path):
    out = shutil.copytree(digits_bundle, tmp_path / "live-run")
    records = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    epoch_ends = [i for i, r in enumerate(records) if r["kind"] == "epoch"]
    (out / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:epoch_ends[0] + 1]))
    runs.register(out, "vae-train ...")  # alive: this process
    at = open_page("views/run_live.py")
    assert at.selectbox(key="live_run").value == str(out.resolve())
    assert metric(at, "state") == "running" and metric(at, "epoch") == "1 of 3"
    assert any(b.key == "live_stop" for b in at.button)  # a running run can be stopped
    with open(out / "history.jsonl", "a") as f:  # the run writes on, and is caught mid-line
        f.write("".join(json.dumps(r) + "\n" for r in records[epoch_ends[0] + 1:epoch_ends[1] + 1]))
        f.write(json.dumps(records[epoch_ends[1] + 1])[:40])
    at.run()
    assert not at.exception and metric(at, "epoch") == "2 of 3"
    heat = json.loads(at.get("plotly_chart")[2].proto.spec)["data"][0]
    assert len(heat["x"]) == 2  # one column per epoch so far
    runs.finish(out, "finished")
    at.run()
    assert metric(at, "state") == "finished" and not [b for b in at.button if b.key == "live_stop"]


def test_starting_and_stopping_a_run_from_the_app(tmp_path):
    at = open_page("views/train.py")
    at.number_input(key="tr_epochs").set_value(5000)  # launch.MAX_EPOCHS
    at.text_input(key="tr_name").set_value("from-the-form")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Watch a training run"  # it opens the run's live view
    out = (tmp_path / "runs" / "from-the-form").resolve()
    run = runs.get_run(out)
    assert run.state == "running" and "--epochs 5000" in run.command and run.command.endswith(str(out))
    assert run.owner == "local" and "--max-minutes 60" in run.command
    wait_until(lambda: _lines(out), "a first history record")
    at.switch_page("views/run_live.py").run()
    assert metric(at, "state") == "running"
    at.button(key="live_stop").click().run()
    wait_until(lambda: ended(out), "the run to stop")
    at.run()
    assert metric(at, "state") == "stopped" and not at.exception
    at.switch_page("views/train.py").run()
    assert at.dataframe[0].value["state"].tolist() == ["stopped"]
    assert "stopped;" in at.code[-1].value  # its log


@pytest.mark.parametrize("key, value, field", [("tr_beta", -1.0, "beta"), ("tr_latent", 0, "latent_dim")])
def test_bad_form_input_is_a_message_and_starts_nothing(key, value, field):
    at = open_page("views/train.py")
    at.number_input(key=key).set_value(value)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception and field in at.error[0].value
    assert at.number_input(key=key).value == value  # the form keeps what was typed
    assert runs.list_runs() == []


def test_the_form_shows_only_the_fields_its_decoder_and_kl_constraint_use():
    """σ for a Gaussian decoder, C for capacity annealing, λ for free bits; every field showed
    whatever was chosen (issue 27)."""
    at = open_page("views/train.py")
    keys = lambda: {w.key for w in at.number_input}  # noqa: E731
    assert at.selectbox(key="tr_likelihood").value == "bernoulli"
    assert not keys() & {"tr_sigma", "tr_capacity", "tr_capacity_epochs", "tr_free_bits"}
    at.selectbox(key="tr_likelihood").set_value("gaussian").run()
    assert "tr_sigma" in keys() and not keys() & {"tr_capacity", "tr_free_bits"}
    at.radio(key="tr_reg").set_value("capacity annealing").run()
    assert {"tr_sigma", "tr_capacity", "tr_capacity_epochs"} <= keys() and "tr_free_bits" not in keys()
    at.radio(key="tr_reg").set_value("free bits").run()
    assert "tr_free_bits" in keys() and not keys() & {"tr_capacity", "tr_capacity_epochs"}
    assert not at.exception


def test_no_training_setting_hides_the_form_and_stop(monkeypatch, digits_bundle, tmp_path):
    monkeypatch.setenv("VAE_EXPLORER_NO_TRAINING", "1")
    at = open_page("views/train.py")
    assert "switched off" in at.info[0].value and not [b for b in at.button if b.label == "Start training"]
    out = shutil.copytree(digits_bundle, tmp_path / "watched")
    runs.register(out, None)
    at.switch_page("views/run_live.py").run()
    assert metric(at, "state") == "running" and not [b for b in at.button if b.key == "live_stop"]


def test_the_form_reaches_the_newer_training_options(tmp_path):
    from explorer.launch import RunRequest, check

    args = check(RunRequest(beta=20.0, capacity=5.0, capacity_epochs=50))
    assert args[args.index("--capacity") + 1] == "5.0" and args[args.index("--capacity-epochs") + 1] == "50"
    assert "--free-bits" in check(RunRequest(free_bits=0.5))
    args = check(RunRequest(dataset="folder", folder=str(tmp_path), image_size=16, color="rgb"))
    assert args[args.index("--folder") + 1] == str(tmp_path) and "--image-size" in args and "rgb" in args


@pytest.mark.parametrize("option, trace", [({"capacity": 3.0, "capacity_epochs": 2, "beta": 10.0}, "KL target C"),
                                           ({"free_bits": 0.5}, "free-bits floor d·λ = 2·0.5")])
def test_each_kl_constraint_shows_in_the_breakdown_of_a_real_run(tmp_path, option, trace):
    from explorer import run_figures
    from vae_core import ModelConfig, TrainConfig, read_history, train

    out = train(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(16,), latent_dim=2),
                TrainConfig(dataset="digits", epochs=2, eval_k=2, probe_size=50, device="cpu", **option),
                tmp_path / "run", progress=False, log_every=2)
    names = {t.name for t in run_figures.objective_breakdown(read_history(out), latent_dim=2).data}
    assert trace in names and run_figures.penalty_name(read_history(out)) != "β·R"


def test_a_learned_decoder_sigma_shows_in_the_schedules_of_a_real_run(tmp_path):
    from explorer import run_figures
    from vae_core import ModelConfig, TrainConfig, read_history, train

    out = train(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(16,), latent_dim=2,
                            likelihood="gaussian-learned"),
                TrainConfig(dataset="digits", epochs=2, eval_k=2, probe_size=50, device="cpu"),
                tmp_path / "run", progress=False, log_every=2)
    schedules = run_figures.schedules(read_history(out))
    assert [a.text for a in schedules.layout.annotations] == ["β", "decoder σ"]
    assert all(0 < s < 1 for s in schedules.data[1].y)  # σ in pixel units


def test_vae_core_imports_where_fcntl_does_not_exist():
    """macOS has fcntl but Windows has not; the registry uses filelock and psutil instead."""
    code = ("import sys\n"
            "sys.modules['fcntl'] = None  # import fcntl now raises ImportError, as on Windows\n"
            "import vae_core, vae_core.runs, vae_core.cli.train, vae_core.cli.sweep\n"
            "print('imported', vae_core.__version__)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "imported" in proc.stdout, proc.stderr
