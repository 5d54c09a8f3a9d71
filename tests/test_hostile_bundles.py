"""Bundles made to break the loader (issue 23): each is refused with BundleError naming the file
and the problem, never another exception. Every case here raised something else, or loaded,
on main at 0c94282."""
import io
import json
import shutil
import struct
import zipfile

import pytest
import torch
from safetensors.torch import save_file

from vae_core import BundleError, extract_zipped_bundle, load_bundle, read_history
from vae_core.checkpoint import MAX_PROBE_IMAGES

DEEP = 2000  # json.loads raises RecursionError from about 1,000 levels


@pytest.fixture
def bundle(digits_bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(digits_bundle, copy)
    return copy


def refused(folder, file, *words):
    with pytest.raises(BundleError) as err:
        load_bundle(folder)
    assert err.value.path.name == file, err.value
    for word in words:
        assert word in err.value.problem, err.value.problem
    return err.value.problem


def edit_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("file", ["config.json", "metrics.json"])
def test_json_nested_too_deep_is_refused(bundle, file):
    text = (bundle / file).read_text()
    (bundle / file).write_text(text.rstrip().rstrip("}") + ', "deep": ' + "[" * DEEP + "]" * DEEP + "}")
    refused(bundle, file, "nested")


@pytest.mark.parametrize("change, words", [
    (lambda m: m.update(elbo="abc"), ["'elbo'", "number"]),
    (lambda m: m.pop("kl"), ["'kl'", "missing"]),
    (lambda m: m.update(n_images=1.5), ["'n_images'", "integer"]),
    (lambda m: m.update(reconstruction=True), ["'reconstruction'", "number"]),
    (lambda m: m.update(log_likelihood={"estimate": [1], "k": 50}), ["'log_likelihood.estimate'"]),
    (lambda m: m.update(log_likelihood=7), ["'log_likelihood'", "object"]),
    (lambda m: m.update(split=["test"]), ["'split'", "string"]),
    (lambda m: m.update(kl_per_dim=["x", 1.0]), ["'kl_per_dim'"]),
])
def test_metrics_of_the_wrong_type_or_missing_are_refused(bundle, change, words):
    edit_json(bundle / "metrics.json", change)
    refused(bundle, "metrics.json", *words)


@pytest.mark.parametrize("label", [10, -1])
def test_probe_labels_outside_the_class_list_are_refused(bundle, label):
    probe = bundle / "probe.safetensors"
    from safetensors.torch import load_file
    tensors = load_file(probe)
    tensors["labels"][3] = label
    save_file(tensors, probe)
    refused(bundle, "probe.safetensors", "label", "10 classes")


def test_a_probe_over_the_image_limit_is_refused(bundle):
    n = MAX_PROBE_IMAGES + 1
    save_file({"images": torch.zeros(n, 1, 8, 8, dtype=torch.uint8),
               "labels": torch.zeros(n, dtype=torch.int64)}, bundle / "probe.safetensors")
    refused(bundle, "probe.safetensors", str(MAX_PROBE_IMAGES))


def test_dataset_classes_must_be_a_list_of_strings(bundle):
    edit_json(bundle / "config.json", lambda c: c["dataset"].update(classes=[{"a": 1}] * 10))
    refused(bundle, "config.json", "classes")


def zipped(folder, *, extra=(), method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name in extra:
            zf.writestr(zipfile.ZipInfo(name), b"")
        for f in ("config.json", "model.safetensors", "probe.safetensors"):
            zf.write(folder / f, f"b/{f}")
    return buffer.getvalue()


def set_central_field(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Rewrite a field of every central-directory header (and its local header) in ``data``."""
    out = bytearray(data)
    start = 0
    while (i := out.find(b"PK\x01\x02", start)) >= 0:
        struct.pack_into(fmt, out, i + offset, value)
        local = struct.unpack_from("<I", out, i + 42)[0]
        struct.pack_into(fmt, out, local + offset - 2, value)  # local headers lack "version made by"
        start = i + 4
    return bytes(out)


@pytest.mark.parametrize("field, offset, value, words", [
    ("flags", 8, 0x1, ["encrypted"]),
    ("method", 10, 99, ["compression method 99"]),
])
def test_zip_entries_encrypted_or_of_unknown_method_are_refused(bundle, tmp_path, field, offset, value, words):
    data = set_central_field(zipped(bundle), offset, "<H", value)
    with pytest.raises(BundleError) as err:
        extract_zipped_bundle(io.BytesIO(data), tmp_path / "out")
    assert all(w in err.value.problem for w in words), err.value.problem


def test_a_zip_of_many_directory_entries_is_refused(bundle, tmp_path):
    data = zipped(bundle, extra=[f"d{i}/" for i in range(5000)])
    with pytest.raises(BundleError) as err:
        extract_zipped_bundle(io.BytesIO(data), tmp_path / "out")
    assert "entries" in err.value.problem
    assert not (tmp_path / "out").exists()


def test_history_lines_nested_too_deep_are_skipped(bundle):
    with open(bundle / "history.jsonl", "a") as f:
        f.write("[" * 100_000 + "\n")
        f.write('{"epoch": 99, "loss": 1.0}\n')
    records = read_history(bundle)
    assert records[-1] == {"epoch": 99, "loss": 1.0}


def test_history_is_read_from_its_tail(bundle):
    path = bundle / "history.jsonl"
    lines = [json.dumps({"epoch": i, "pad": "x" * 1000}) for i in range(3000)]  # about 3 MB
    path.write_text("\n".join(lines) + "\n")
    records = read_history(bundle, max_bytes=100_000)
    assert records[-1]["epoch"] == 2999
    assert 50 < len(records) < 100 and records[0]["epoch"] > 2900  # a cut first line is dropped
    assert len(read_history(bundle)) == 3000  # the default tail holds a long run whole


def test_the_sidebar_says_what_is_wrong_in_one_sentence_and_names_no_server_folder(digits_bundle, tmp_path,
                                                                                  monkeypatch):
    from streamlit.testing.v1 import AppTest

    from conftest import REPO

    root = tmp_path / "served"
    cases = {"bad-metrics": lambda b: edit_json(b / "metrics.json", lambda m: m.update(elbo="abc")),
             "deep-config": lambda b: (b / "config.json").write_text("[" * DEEP + "]" * DEEP),
             "no-kl": lambda b: edit_json(b / "metrics.json", lambda m: m.pop("kl"))}
    for name, spoil in cases.items():
        spoil(shutil.copytree(digits_bundle, root / name))
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(root))
    at = AppTest.from_file(str(REPO / "explorer" / "app.py"), default_timeout=180)
    at.run()
    for name in cases:
        at.sidebar.selectbox(key="bundle_picker").set_value(str((root / name).resolve())).run()
        assert not at.exception, [e.message for e in at.exception]
        message = at.sidebar.error[0].value
        assert f"{name}/" in message and str(tmp_path) not in message, message
