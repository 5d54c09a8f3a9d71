"""Serving a class (issue 23): what a visitor may not do, what the teacher gets back with the
token, who may stop a run, and uploads that belong to one session and are bounded. On main at
0c94282 every visitor could start and stop any run and train on any folder of the server, and
uploads went to one fixed folder in /tmp shared by every session, kept forever."""
import gc
import io
import os
import signal
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from vae_core import ConfigError, runs

APP = str(REPO / "explorer" / "app.py")
TOKEN = "correct-horse-battery-staple"
LONG = ["--dataset", "digits", "--arch", "mlp", "--hidden", "8", "--latent-dim", "2", "--epochs", "5000",
        "--log-every", "5", "--eval-k", "2", "--probe-size", "50"]


@pytest.fixture(autouse=True)
def own_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_RUNS_DIR", str(tmp_path / "registry"))
    monkeypatch.setenv("VAE_EXPLORER_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("VAE_EXPLORER_NO_TRAINING", raising=False)
    yield
    for run in runs.running_here():
        if run.pid and run.pid != os.getpid():
            os.kill(run.pid, signal.SIGKILL)
            runs.get_run(run.out)


@pytest.fixture
def a_class(monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_CLASS", "1")
    monkeypatch.setenv("VAE_EXPLORER_TEACHER_TOKEN", TOKEN)


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def menu(at: AppTest) -> set[str]:
    """The addresses the navigation menu lists (app.py records them)."""
    return set(at.session_state["nav_listed"])


def sign_in(at: AppTest, token: str) -> AppTest:
    at.sidebar.text_input(key="teacher_token").set_value(token)
    next(b for b in at.sidebar.button if b.label == "Sign in").click().run()
    return at


def test_a_visitor_of_a_class_has_no_training_pages_and_no_form(a_class):
    at = app()
    assert not {"train", "run_live"} & menu(at)
    for page in ("views/train.py", "views/run_live.py"):  # still reachable by address: a sentence, no control
        at.switch_page(page).run()
        assert not at.exception and "served to a class" in at.info[0].value
        assert not [b for b in at.button if b.label in ("Start training", "Stop it", "Stop this run")]
        assert not at.dataframe  # no list of the server's runs, folders or commands


def test_the_teacher_signs_in_with_the_token_and_starts_a_run_that_is_theirs(a_class, tmp_path):
    at = sign_in(app(), "wrong-token-of-good-length")
    assert "Not the teacher token." in [e.value for e in at.sidebar.error]
    assert not {"train", "run_live"} & menu(at)
    at = sign_in(at, TOKEN)
    assert {"train", "run_live"} <= menu(at)
    at.switch_page("views/train.py").run()
    at.number_input(key="tr_epochs").set_value(5000)
    at.text_input(key="tr_name").set_value("teachers-run")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception and not at.error
    run = runs.get_run(tmp_path / "runs" / "teachers-run")
    assert run.state == "running" and run.owner == "teacher"
    other = app()  # another browser: a visitor, who cannot stop it
    other.switch_page("views/run_live.py").run()
    assert not [b for b in other.button if b.key == "live_stop"]
    assert runs.get_run(run.out).state == "running"


def test_five_wrong_tokens_end_the_sign_in_for_that_session(a_class):
    at = app()
    for _ in range(5):
        at = sign_in(at, "not-it-but-long-enough")
    assert not [t for t in at.sidebar.text_input if t.key == "teacher_token"]
    from explorer import serving

    assert serving.MAX_SIGN_IN_TRIES == 5 and not {"train"} & menu(at)


def test_stop_takes_only_the_owners_runs(tmp_path):
    out = tmp_path / "runs" / "teachers"
    runs.launch(LONG, out, limit=2, owner="teacher")
    assert not runs.stop(out, owner="local") and runs.get_run(out).state == "running"
    terminal = tmp_path / "runs" / "terminal"
    terminal.mkdir(parents=True)
    runs.register(terminal, "vae-train ...")  # this process, as a terminal run registers itself
    assert not runs.stop(terminal, owner="teacher")  # a terminal's run: stopped from the terminal
    assert runs.stop(out, owner="teacher")


def test_what_one_browser_may_ask_of_the_server_is_bounded(tmp_path):
    from explorer import launch

    with pytest.raises(ConfigError, match="folder of the server"):
        launch.check(launch.RunRequest(dataset="folder", folder=str(tmp_path)), paths=False)
    with pytest.raises(ConfigError, match=f"1 to {launch.MAX_EPOCHS}"):
        launch.check(launch.RunRequest(epochs=100_000_000))
    with pytest.raises(runs.RunLimitError, match="this session has started"):
        launch.start(launch.RunRequest(), owner="local", paths=True, started_before=launch.MAX_RUNS_PER_SESSION)
    assert runs.list_runs() == []


def test_listening_beyond_localhost_is_a_class_whatever_the_flags(monkeypatch):
    import streamlit as st

    from explorer import serving

    monkeypatch.delenv("VAE_EXPLORER_CLASS", raising=False)
    for address, served_to_a_class in [("localhost", False), ("127.0.0.1", False), ("::1", False),
                                       ("0.0.0.0", True), ("", True), (None, True), ("192.168.1.5", True)]:
        monkeypatch.setattr(st, "get_option", lambda name, a=address: a if name == "server.address" else None)
        assert serving.class_mode() is served_to_a_class, address


@pytest.mark.parametrize("argv, address", [([], "localhost"), (["--", "--class"], "0.0.0.0"),
                                           (["--server.address", "10.0.0.2", "--", "--class"], "10.0.0.2")])
def test_vae_explorer_listens_on_localhost_unless_serving_a_class(monkeypatch, argv, address):
    import sys

    from streamlit.web import cli as streamlit_cli

    from explorer import cli

    seen = []
    monkeypatch.setattr(streamlit_cli, "main", lambda: seen.append(list(sys.argv)) or 0)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    assert cli.main(argv) == 0
    given = seen[0]
    assert given[given.index("--server.address") + 1] == address and given.count("--server.address") == 1


# ---------------------------------------------------------------- uploads

def zipped(folder: Path, salt: str = "") -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        for f in folder.iterdir():
            if f.name == "history.jsonl":
                zf.writestr(f"b/{f.name}", f.read_text() + salt)  # other content, same model
            elif f.is_file():
                zf.write(f, f"b/{f.name}")
    return data.getvalue()


def test_uploads_belong_to_one_session_of_this_process(digits_bundle):
    from explorer import bundles

    root = bundles.uploads_root()
    assert root.name.startswith("vae-explorer-uploads-") and oct(root.stat().st_mode & 0o777) == "0o700"
    a, b = bundles.SessionUploads(), bundles.SessionUploads()
    path, error = bundles.open_upload("mine.zip", zipped(digits_bundle), a)
    assert error is None and Path(path).is_relative_to(a.folder) and a.existing() == [path]
    assert b.existing() == []  # another session does not list it
    at = app()  # nor does a new browser session's picker
    assert path not in at.sidebar.selectbox(key="bundle_picker").options
    folder = a.folder
    del a
    gc.collect()
    assert not folder.exists()  # the session's state is gone: so are its uploads


def test_a_session_keeps_three_uploads_and_the_server_a_quota(digits_bundle, monkeypatch):
    from explorer import bundles

    other = bundles.SessionUploads()
    first_other, _ = bundles.open_upload("o.zip", zipped(digits_bundle, "\n"), other)
    mine = bundles.SessionUploads()
    paths = [bundles.open_upload(f"{i}.zip", zipped(digits_bundle, "\n" * (i + 2)), mine)[0] for i in range(4)]
    assert mine.existing() == paths[1:] and not Path(paths[0]).exists()
    size = sum(f.stat().st_size for f in Path(paths[-1]).rglob("*"))
    monkeypatch.setattr(bundles, "UPLOAD_QUOTA_MB", 3.5 * size / 2**20)  # room for this session's three only
    bundles.open_upload("again.zip", zipped(digits_bundle, "\n" * 9), mine)
    assert not Path(first_other).exists() and other.existing() == []  # the oldest other session's went
    assert len(mine.existing()) == 3
