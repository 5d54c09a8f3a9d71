"""Fuzzing the loader: thousands of mutated bundles, each either loads or raises BundleError.

Mutations hit every file of a small valid bundle: bytes flipped, inserted or cut, files
truncated, emptied or removed, and config.json values replaced with hostile JSON (huge or
negative numbers, NaN, wrong types). No other exception, no hang (a deadline per example),
no memory blow-up (peak RSS checked at the end)."""
import json
import resource
import shutil
import tempfile
from pathlib import Path

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
