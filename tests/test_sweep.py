"""vae-sweep: a β family trained through the real command line, on digits."""
import pytest

from vae_core import load_bundle
from vae_core.cli import sweep as sweep

TINY = ["--dataset", "digits", "--arch", "mlp", "--hidden", "32", "--latent-dim", "2", "--epochs", "2",
        "--eval-k", "4", "--probe-size", "100", "--device", "cpu", "--quiet"]


def test_a_two_value_sweep_trains_a_family_that_differs_only_in_beta(tmp_path, capsys):
    assert sweep.main(["--betas", "0,1", "--out", str(tmp_path), "--", *TINY]) == 0
    out = capsys.readouterr().out
    a, b = load_bundle(tmp_path / "digits-beta-0"), load_bundle(tmp_path / "digits-beta-1")
    assert (a.train_config.beta, b.train_config.beta) == (0.0, 1.0)
    assert a.model_config == b.model_config
    assert a.command.endswith("--beta 0 --out " + str(tmp_path / "digits-beta-0"))
    # The family table: one row per β with the member's own test-set D, R and ELBO.
    rows = [line for line in out.splitlines() if line.startswith("| 0 ") or line.startswith("| 1 ")]
    assert len(rows) == 2, out
    for row, bundle in zip(rows, (a, b)):
        m = bundle.metrics
        assert f"| {m['reconstruction']:.2f} | {m['kl']:.2f} | {m['elbo']:.2f} |" in row and "finished" in row
    assert "nats per image" in out
    assert a.metrics["kl"] > b.metrics["kl"]  # without the KL term nothing holds the rate down


def test_a_failing_member_is_reported_and_the_others_still_finish(tmp_path, capsys):
    taken = tmp_path / "digits-beta-0.5"
    taken.mkdir()
    (taken / "config.json").write_text("{}")  # the trainer refuses to overwrite a bundle: exit 1
    code = sweep.main(["--betas", "0.5,2", "--out", str(tmp_path), "--parallel", "2", "--", *TINY])
    captured = capsys.readouterr()
    assert code == 1
    assert "failed (exit 1)" in captured.out and "1 of 2 members did not finish: β = 0.5" in captured.err
    assert load_bundle(tmp_path / "digits-beta-2").metrics["elbo"] < 0  # the other member finished
    # Side by side, each member's output goes to its own log, next to its folder.
    assert "already holds a bundle" in (tmp_path / "digits-beta-0.5.log").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--betas", "0,x"], "comma-separated numbers"),
    (["--betas", "1,1"], "repeats"),
    (["--betas", "-1"], ">= 0"),
    (["--betas", "1", "--parallel", "0"], "--parallel"),
    (["--betas", "1", "--", "--beta", "2"], "remove --beta"),
    (["--betas", "1", "--", "--out=x"], "remove --out"),
    (["--betas", "1", "--", "--no-such-option"], "unrecognized arguments"),
])
def test_bad_arguments_stop_before_anything_trains(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        sweep.main([*argv[:2], "--out", str(tmp_path / "family"), *argv[2:]])
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "family").exists()


def test_the_members_commands_are_the_trainers_with_their_own_beta_and_folder(tmp_path, capsys):
    assert sweep.main(["--betas", "0,0.25,8", "--out", "fam", "--name", "mnist", "--dry-run", "--",
                       "--epochs", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"vae-train --epochs 3 --beta {b} --out fam/mnist-beta-{b}" for b in ("0", "0.25", "8")]


def test_members_side_by_side_share_the_cpu_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert sweep._member_env(4)["OMP_NUM_THREADS"] == "2"
    assert "OMP_NUM_THREADS" not in sweep._member_env(1)  # one at a time: torch's own default
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert sweep._member_env(4)["OMP_NUM_THREADS"] == "3"  # the user's choice wins
