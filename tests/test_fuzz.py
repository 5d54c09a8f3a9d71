"""Fuzzing the loader: thousands of mutated bundles, each either loads or raises BundleError.

Mutations hit every file of a small valid bundle: bytes flipped, inserted or cut, files
truncated, emptied or removed, and config.json values replaced with hostile JSON (huge or
negative numbers, NaN, wrong types). No other exception, no hang (a deadline per example),
no memory blow-up (peak RSS checked at the end)."""
import json
import math
import resource
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vae_core import BundleError, load_bundle

FILES = ["config.json", "model.safetensors", "probe.safetensors", "metrics.json", "history.jsonl"]
HOSTILE = st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                    st.none(), st.booleans(), st.lists(st.integers(-5, 10**6), max_size=6),
                    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
CONFIG_PATHS = [("model", "latent_dim"), ("model", "hidden"), ("model", "image_shape"), ("model", "architecture"),
                ("model", "channels"), ("model", "fc_hidden"), ("model", "sigma"), ("model", "likelihood"),
                ("train", "beta"), ("train", "dataset"), ("train", "epochs"), ("dataset", "classes"),
                ("format_version",), ("model",), ("train",)]

byte_edit = st.tuples(st.sampled_from(["flip", "insert", "cut", "truncate", "empty", "remove"]),
                      st.floats(0, 1), st.binary(min_size=1, max_size=64))


def mutate_bytes(data: bytes, kind: str, where: float, payload: bytes) -> bytes | None:
    i = int(where * len(data))
    if kind == "flip":
        return data[:i] + bytes(b ^ 0xFF for b in payload[:1]) + data[i + 1:] if data else payload
    if kind == "insert":
        return data[:i] + payload + data[i:]
    if kind == "cut":
        return data[:i] + data[i + len(payload):]
    if kind == "truncate":
        return data[:i]
    return b"" if kind == "empty" else None  # None: remove the file


def test_mutated_bundles_load_or_raise_bundle_error(digits_bundle):
    original = {name: (digits_bundle / name).read_bytes() for name in FILES}
    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes = {"loaded": 0, "refused": 0}

    def attempt(files: dict[str, bytes | None]) -> None:
        for name in FILES:
            path = work / name
            path.unlink(missing_ok=True)
            if files[name] is not None:
                path.write_bytes(files[name])
        try:
            load_bundle(work)
            outcomes["loaded"] += 1
        except BundleError as exc:
            assert str(exc).startswith(str(work)), exc  # names the file
            outcomes["refused"] += 1

    @settings(max_examples=1500, deadline=3000, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(FILES), st.lists(byte_edit, min_size=1, max_size=3))
    def bytes_mutated(name, edits):
        files = dict(original)
        data = files[name]
        for edit in edits:
            data = mutate_bytes(data, *edit) if data is not None else None
        files[name] = data
        attempt(files)

    @settings(max_examples=700, deadline=3000, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(CONFIG_PATHS), HOSTILE)
    def config_values_replaced(path, value):
        config = json.loads(original["config.json"])
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        attempt({**original, "config.json": json.dumps(config).encode()})

    try:
        bytes_mutated()
        config_values_replaced()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kb) / 1024
    print(f"fuzz: {outcomes}, peak RSS grew by {grown_mb:.0f} MB")
    assert outcomes["refused"] > 1000 and outcomes["loaded"] > 0, outcomes
    assert grown_mb < 500


METRIC_KEYS = ["elbo", "reconstruction", "kl", "n_images", "split", "kl_per_dim", "log_likelihood",
               "log_likelihood.estimate", "codebook", "codebook.counts", "frechet_distance", "stage2.stage1_command",
               "epochs", "wall_time_s", "active_units"]
NESTED = st.recursive(st.none() | st.integers() | st.text(max_size=3),
                      lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner, max_size=2),
                      max_leaves=8)
DEEP = st.integers(1, 3000).map(lambda n: ("deep", n))  # written into the JSON text as n nested lists


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile's, for the folder entries drawn twice
def test_hostile_metrics_labels_and_zips_load_or_raise_bundle_error(digits_bundle):
    """metrics.json values of any type and depth, probe labels of any value, zip entries with
    any flags, compression method and folder entries (issue 23): BundleError or a bundle whose
    metrics views can format."""
    import io
    import zipfile

    import torch
    from safetensors.torch import load as st_load
    from safetensors.torch import save as st_save

    from vae_core import extract_zipped_bundle

    original = {name: (digits_bundle / name).read_bytes() for name in FILES}
    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    outcomes = {"loaded": 0, "refused": 0}

    def attempt(files: dict[str, bytes]) -> None:
        for name, data in files.items():
            (work / name).write_bytes(data)
        try:
            bundle = load_bundle(work)
        except BundleError as exc:
            assert str(exc).startswith(str(work)), exc
            outcomes["refused"] += 1
            return
        outcomes["loaded"] += 1
        m = bundle.metrics
        figures = [m[k] for k in ("elbo", "reconstruction", "kl")]  # what the sidebar and model card format
        assert all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in figures)
        assert all(0 <= int(y) < len(bundle.classes) for y in bundle.probe_labels)

    @settings(max_examples=300, deadline=3000, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(METRIC_KEYS), st.one_of(HOSTILE, NESTED, DEEP))
    def metrics_value(key, value):
        metrics = json.loads(original["metrics.json"])
        head, _, tail = key.partition(".")
        deep = value[1] if isinstance(value, tuple) else 0
        value = "DEEP" if deep else value
        if tail:
            metrics[head] = metrics.get(head) if isinstance(metrics.get(head), dict) else {}
            metrics[head][tail] = value
        else:
            metrics[head] = value
        text = json.dumps(metrics).replace('"DEEP"', "[" * deep + "]" * deep)
        attempt({**original, "metrics.json": text.encode()})

    @settings(max_examples=100, deadline=3000, derandomize=True, database=None)
    @given(st.lists(st.integers(-2**63, 2**63 - 1), min_size=1, max_size=4), st.integers(0, 199))
    def probe_labels(values, at):
        tensors = st_load(original["probe.safetensors"])
        labels = tensors["labels"].clone()
        labels[at:at + len(values)] = torch.tensor(values[:len(labels) - at])
        attempt({**original, "probe.safetensors": st_save({"images": tensors["images"], "labels": labels})})

    @settings(max_examples=150, deadline=5000, derandomize=True, database=None)
    @given(st.integers(0, 0xFFFF), st.sampled_from([0, 1, 8, 12, 14, 99, 0xFFFF]),
           st.lists(st.text("ab/.", min_size=1, max_size=6), max_size=40))
    def zip_structure(flags, method, folders):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
            for name in folders:
                zf.writestr(zipfile.ZipInfo(name.rstrip("/") + "/"), b"")
            for name in ("config.json", "model.safetensors", "probe.safetensors"):
                info = zipfile.ZipInfo(name)
                zf.writestr(info, original[name])
        data = bytearray(buffer.getvalue())
        i = data.find(b"PK\x01\x02")  # the first file's central header: its flags and method
        data[i + 8:i + 12] = flags.to_bytes(2, "little") + method.to_bytes(2, "little")
        out = work / "unzipped"
        shutil.rmtree(out, ignore_errors=True)
        try:
            load_bundle(extract_zipped_bundle(io.BytesIO(bytes(data)), out))
            outcomes["loaded"] += 1
        except BundleError:
            outcomes["refused"] += 1

    try:
        metrics_value()
        probe_labels()
        zip_structure()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"fuzz: {outcomes}")
    assert outcomes["refused"] > 200 and outcomes["loaded"] > 20, outcomes


YAML_BITS = st.sampled_from(["&a ", "*a", "!!python/object:os.system ", "? [a]\n", ": ", "- ", "\t", "\x07", "²",
                             "{", "[", "'", '"', "\n", "image: ", "step: ", "%YAML 1.1\n", "---\n", "9" * 30])


def test_mutated_lesson_files_are_one_problem_each_and_links_parse_strictly(tmp_path):
    """A lesson file mutated with YAML's special characters loads or is listed as that file's
    problem (explorer.lessons.load_all); a link's number is ASCII digits or nothing."""
    from explorer import lessons, selection

    original = (Path(__file__).parents[1] / "lessons" / "04-beta-collapse.yaml").read_text()
    counts = {"loaded": 0, "refused": 0}

    @settings(max_examples=250, deadline=3000, derandomize=True, database=None)
    @given(st.lists(st.tuples(st.floats(0, 1), YAML_BITS), min_size=1, max_size=4))
    def lesson_mutated(edits):
        text = original
        for where, bit in edits:
            i = int(where * len(text))
            text = text[:i] + bit + text[i:]
        folder = tmp_path / "lessons"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        (folder / "mutated.yaml").write_text(text)
        loaded, problems = lessons.load_all(roots=[folder])
        assert len(loaded) + len(problems) == 1
        if problems:
            assert problems[0].startswith("mutated.yaml"), problems
        counts["loaded" if loaded else "refused"] += 1

    @settings(max_examples=300, deadline=1000, derandomize=True, database=None)
    @given(st.one_of(st.text(max_size=12), st.text("0123456789²³٣", max_size=5000), st.none()))
    def link_number(text):
        value = selection.parse_index(text)
        assert value is None or (0 <= value < 10**6 and text.isascii() and text.isdigit())

    lesson_mutated()
    link_number()
    assert counts["refused"] > 50 and counts["loaded"] > 5, counts
