"""The bundle contract: exact file set, exact weights back, and one error for every broken bundle."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from vae_core import BundleError, find_bundles, load_bundle, read_history
from vae_core.checkpoint import append_history

FILES = {"config.json", "model.safetensors", "probe.safetensors", "metrics.json", "history.jsonl"}


def test_bundle_holds_exactly_the_contract_files(digits_bundle):
    assert {p.name for p in digits_bundle.iterdir()} == FILES


def test_bundle_loads_back_every_weight_exactly(digits_bundle):
    bundle = load_bundle(digits_bundle)
    stored = load_file(digits_bundle / "model.safetensors")
    state = bundle.model.state_dict()
    assert set(state) == set(stored)
    for name, tensor in stored.items():
        assert torch.equal(state[name], tensor), name
    assert bundle.probe_images.dtype == torch.uint8 and bundle.probe_images.shape[1:] == (1, 8, 8)
    assert bundle.metrics["log_likelihood"]["k"] == 8
    assert not bundle.model.training


def test_history_has_one_record_per_epoch_and_skips_a_half_written_line(digits_bundle, tmp_path):
    epochs = [r for r in read_history(digits_bundle) if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2, 3]
    assert all(r["elbo"] == pytest.approx(-(r["reconstruction"] + r["kl"])) for r in epochs)
    copy = shutil.copytree(digits_bundle, tmp_path / "b")
    with open(copy / "history.jsonl", "a") as f:
        f.write('{"kind": "epoch", "ep')  # a writer caught mid-line
    assert len(read_history(copy)) == len(read_history(digits_bundle))
    append_history(copy, {"kind": "step", "step": 1})
    assert read_history(copy)[-1] == {"kind": "step", "step": 1}


def test_half_precision_weights_load(digits_bundle, tmp_path):
    copy = shutil.copytree(digits_bundle, tmp_path / "b")
    weights = load_file(copy / "model.safetensors")
    save_file({k: v.half() for k, v in weights.items()}, copy / "model.safetensors")
    model = load_bundle(copy).model
    for k, v in weights.items():
        torch.testing.assert_close(model.state_dict()[k], v.half().float())


def _broken(src, tmp_path, name):
    return shutil.copytree(src, tmp_path / name)


def _edit_json(path, **changes):
    data = json.loads(path.read_text())
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        node = data
        for p in parents:
            node = node[p]
        node[key] = value
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("damage, file, problem", [
    (lambda b: (b / "model.safetensors").unlink(), "model.safetensors", "missing"),
    (lambda b: (b / "config.json").unlink(), "config.json", "missing"),
    (lambda b: (b / "model.safetensors").write_bytes((b / "model.safetensors").read_bytes()[:500]),
     "model.safetensors", "safetensors"),
    (lambda b: (b / "config.json").write_text("{not json"), "config.json", "JSON"),
    (lambda b: _edit_json(b / "config.json", format_version=99), "config.json", "format_version"),
    (lambda b: _edit_json(b / "config.json", model__latent_dim=5), "model.safetensors", "shape mismatch"),
    (lambda b: _edit_json(b / "config.json", model__latent_dim=0), "config.json", "latent_dim"),
    (lambda b: _edit_json(b / "config.json", model__architecture="conv"), "model.safetensors", "do not match"),
    (lambda b: save_file({"images": torch.zeros(3, 1, 8, 8)}, b / "probe.safetensors"), "probe.safetensors", "labels"),
    (lambda b: save_file({k: v.fill_(float("nan")) for k, v in load_file(b / "model.safetensors").items()},
                         b / "model.safetensors"), "model.safetensors", "NaN"),
    (lambda b: (b / "metrics.json").write_text("[1, 2"), "metrics.json", "JSON"),
    (lambda b: save_file({"images": torch.zeros(0, 1, 8, 8, dtype=torch.uint8),
                          "labels": torch.zeros(0, dtype=torch.int64)}, b / "probe.safetensors"),
     "probe.safetensors", "no images"),
])
def test_broken_bundles_raise_one_error_naming_file_and_problem(digits_bundle, tmp_path, damage, file, problem):
    broken = _broken(digits_bundle, tmp_path, "broken")
    damage(broken)
    with pytest.raises(BundleError) as info:
        load_bundle(broken)
    assert info.value.path.name == file
    assert problem in str(info.value)


def test_not_a_folder_is_a_bundle_error(tmp_path):
    with pytest.raises(BundleError, match="not a folder"):
        load_bundle(tmp_path / "nothing")


def test_find_bundles_lists_folders_with_a_config(digits_bundle, tmp_path):
    (tmp_path / "not-a-bundle").mkdir()
    shutil.copytree(digits_bundle, tmp_path / "one")
    assert find_bundles(tmp_path) == [(tmp_path / "one").resolve()]
    assert find_bundles(tmp_path / "one") == [(tmp_path / "one").resolve()]


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "gaussian-learned"])
def test_every_likelihood_trains_and_round_trips(tmp_path, likelihood):
    from vae_core import ModelConfig, TrainConfig, train

    out = train(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(16,), latent_dim=2,
                            likelihood=likelihood, sigma=0.2),
                TrainConfig(dataset="digits", epochs=1, eval_k=2, probe_size=10, device="cpu"),
                tmp_path / likelihood, progress=False)
    bundle = load_bundle(out)
    assert bundle.model.config.likelihood == likelihood
    stored = load_file(out / "model.safetensors")
    assert ("likelihood.log_sigma" in stored) == likelihood.startswith("gaussian")
    assert all(torch.equal(bundle.model.state_dict()[k], v) for k, v in stored.items())


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_projections_round_trip_and_go_stale_with_new_weights(digits_bundle, tmp_path):
    from vae_core.checkpoint import read_projections, write_projections, write_weights

    folder = _copy(digits_bundle, tmp_path / "b")
    coords = torch.randn(50, 2)
    write_projections(folder, {"pca": (coords, ("PC 1", "PC 2"))})
    maps = read_projections(folder)
    assert torch.equal(maps["pca"][0], coords) and maps["pca"][1] == ("PC 1", "PC 2")
    model = load_bundle(folder).model
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    write_weights(folder, model)  # retrained: the stored map no longer describes this model
    assert read_projections(folder) == {}
    (folder / "projections.safetensors").write_bytes(b"junk")
    assert read_projections(folder) == {}  # a cache: never an error


def test_encodings_round_trip_match_the_model_and_refuse_wrong_shapes(digits_bundle, tmp_path):
    from vae_core import analysis
    from vae_core.checkpoint import read_encodings, write_encodings, write_weights

    folder = _copy(digits_bundle, tmp_path / "b")
    bundle = load_bundle(folder)
    n, d = len(bundle.probe_labels), bundle.model_config.latent_dim
    assert read_encodings(folder, n, d) == {}  # none written yet
    computed = analysis.probe_encodings(bundle)
    write_encodings(folder, computed)
    stored = read_encodings(folder, n, d)
    assert set(stored) == {"mu", "logvar", "kl_per_dim", "reconstruction"}
    assert all(torch.equal(stored[k], computed[k]) for k in stored)
    assert read_encodings(folder, n + 1, d) == {} and read_encodings(folder, n, d + 1) == {}
    with torch.no_grad():
        next(bundle.model.parameters()).add_(1.0)
    write_weights(folder, bundle.model)  # retrained: stale encodings are ignored
    assert read_encodings(folder, n, d) == {}


def test_probe_bounds_are_stored_with_the_encodings_for_one_n_k_and_seed(digits_bundle, tmp_path):
    from vae_core import analysis, evaluate
    from vae_core.checkpoint import probe_bounds, read_probe_bounds, write_encodings

    folder = _copy(digits_bundle, tmp_path / "b")
    bundle = load_bundle(folder)
    encodings = analysis.probe_encodings(bundle)
    b = evaluate(bundle.model, analysis.probe_inputs(bundle)[:40], k=5, seed=0)
    made = probe_bounds(b["elbo"], b["log_likelihood"]["estimate"], n=40, n_images=b["n_images"], k=5, seed=0)
    write_encodings(folder, encodings, made)
    assert read_probe_bounds(folder, 40, 5, seed=0) == made
    assert read_probe_bounds(folder, 40, 6, seed=0) is None and read_probe_bounds(folder, 41, 5, seed=0) is None
    assert read_probe_bounds(folder, 40, 5, seed=1) is None
    for bad in ({**made, "elbo": float("nan")}, {**made, "elbo": "x"}, {"elbo": 1.0}, [1, 2], {**made, "n_images": 0}):
        write_encodings(folder, encodings, bad)
        assert read_probe_bounds(folder, 40, 5, seed=0) is None, bad  # a cache: never an error
    write_encodings(folder, encodings)
    assert read_probe_bounds(folder, 40, 5, seed=0) is None


def test_shipped_bundles_carry_current_encodings_and_the_objective_view_s_bounds():
    from conftest import shipped_bundles
    from vae_core import read_encodings
    from vae_core.checkpoint import PROBE_BOUNDS_K, PROBE_BOUNDS_N, read_probe_bounds
    from vae_core.family import GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND

    for folder in shipped_bundles():
        bundle = load_bundle(folder)
        if GAUSSIAN_POSTERIOR not in bundle.model.provides:
            continue  # encodings.safetensors holds Gaussian posteriors; a VQ-VAE's codes are encoded on opening
        assert read_encodings(folder, len(bundle.probe_labels), bundle.model_config.latent_dim), folder.name
        if IMPORTANCE_WEIGHTED_BOUND in bundle.model.provides:  # else the objective view is not listed
            assert read_probe_bounds(folder, PROBE_BOUNDS_N, PROBE_BOUNDS_K, seed=0), folder.name


def test_half_precision_weights_load_widened(digits_bundle, tmp_path):
    from vae_core.checkpoint import write_weights

    folder = _copy(digits_bundle, tmp_path / "b")
    full = load_bundle(folder).model
    write_weights(folder, full, torch.float16)
    assert (folder / "model.safetensors").stat().st_size < 0.6 * (digits_bundle / "model.safetensors").stat().st_size
    half = load_bundle(folder).model
    for (name, a), b in zip(full.state_dict().items(), half.state_dict().values()):
        assert b.dtype == torch.float32
        torch.testing.assert_close(a, b, atol=2e-3, rtol=1e-3, msg=name)


def _zip(path, entries):
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _entries(folder, prefix=""):
    return {prefix + p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("prefix", ["", "my-bundle/"])
def test_zipped_bundle_extracts_and_loads(digits_bundle, tmp_path, prefix):
    from vae_core.checkpoint import extract_zipped_bundle

    archive = _zip(tmp_path / "b.zip", _entries(digits_bundle, prefix))
    out = extract_zipped_bundle(archive, tmp_path / "out")
    assert load_bundle(out).model_config == load_bundle(digits_bundle).model_config


@pytest.mark.parametrize("mutate, problem", [
    (lambda e: {"../evil.json": b"{}", **e}, "escapes"),
    (lambda e: {"/etc/config.json": b"{}", **e}, "escapes"),
    (lambda e: {"a/b/config.json": b"{}", **{k: v for k, v in e.items() if k != "config.json"}}, "nested"),
    (lambda e: {**e, "run.py": b"import os"}, "not a bundle file"),
    (lambda e: {k: v for k, v in e.items() if k != "model.safetensors"}, "missing model.safetensors"),
    (lambda e: {**{"x/" + k: v for k, v in e.items()}, "config.json": e["config.json"]}, "duplicate"),
])
def test_zipped_bundle_refuses_unsafe_archives(digits_bundle, tmp_path, mutate, problem):
    from vae_core.checkpoint import extract_zipped_bundle

    archive = _zip(tmp_path / "b.zip", mutate(_entries(digits_bundle)))
    with pytest.raises(BundleError, match=problem):
        extract_zipped_bundle(archive, tmp_path / "out")
    assert not (tmp_path / "evil.json").exists() and not list((tmp_path / "out").glob("*"))


def test_zip_bomb_is_refused_before_writing(digits_bundle, tmp_path, monkeypatch):
    from vae_core.checkpoint import zipped

    monkeypatch.setattr(zipped, "MAX_UNZIPPED_BYTES", 10 * 2**20)
    entries = _entries(digits_bundle)
    entries["history.jsonl"] = b"\n" * (20 * 2**20)  # 20 MiB of newlines deflate to ~20 KiB
    archive = _zip(tmp_path / "bomb.zip", entries)
    assert archive.stat().st_size < 2**20
    with pytest.raises(BundleError, match="over the limits"):
        zipped.extract_zipped_bundle(archive, tmp_path / "out")


def test_not_a_zip_is_refused(tmp_path):
    from vae_core.checkpoint import extract_zipped_bundle

    (tmp_path / "b.zip").write_bytes(b"PK but not really")
    with pytest.raises(BundleError, match="not a readable zip"):
        extract_zipped_bundle(tmp_path / "b.zip", tmp_path / "out")


def test_a_config_naming_huge_layers_is_refused_without_allocating_them(digits_bundle, tmp_path):
    """The weights are checked against shapes computed on the meta device, so a config that
    asks for ~800M parameters next to a small weights file costs no memory (the fresh process's
    peak RSS is measured: torch alone is ~0.5 GB). VmHWM, not getrusage's ru_maxrss: Linux
    carries ru_maxrss over from the parent across fork and exec, so under a long pytest run
    (the parent past 1 GB) the child reported the parent's peak, not its own."""
    folder = _copy(digits_bundle, tmp_path / "huge")
    config = json.loads((folder / "config.json").read_text())
    config["model"].update(architecture="mlp", hidden=[8192], image_shape=[3, 128, 128])
    (folder / "config.json").write_text(json.dumps(config))
    code = ("import sys\nfrom vae_core import BundleError, load_bundle\n"
            "try:\n    load_bundle(sys.argv[1])\nexcept BundleError as exc:\n    print('refused:', exc.problem)\n"
            "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) // 1024)")
    proc = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=300)
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("refused: ") and "shape mismatch" in lines[0], proc.stdout + proc.stderr
    assert int(lines[-1]) < 1024, f"peak RSS {lines[-1]} MB"
    config["model"].update(hidden=[100000])  # beyond the config's bounds: refused before anything
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(BundleError, match="hidden must be"):
        load_bundle(folder)


def test_a_bundle_over_the_size_limits_is_refused_before_reading(digits_bundle, tmp_path):
    from vae_core.checkpoint import MAX_FILE_BYTES, MAX_UNZIPPED_BYTES

    folder = _copy(digits_bundle, tmp_path / "big")
    # Sparse files: the sizes are real to stat() but take no disk, and nothing is read.
    for name in ("model.safetensors", "probe.safetensors", "metrics.json"):
        os.truncate(folder / name, MAX_FILE_BYTES - 1)
    assert 3 * (MAX_FILE_BYTES - 1) > MAX_UNZIPPED_BYTES
    with pytest.raises(BundleError, match="over the .* byte limit for a bundle"):
        load_bundle(folder)
    os.truncate(folder / "probe.safetensors", 10)
    os.truncate(folder / "metrics.json", 10)
    os.truncate(folder / "model.safetensors", MAX_FILE_BYTES + 1)
    with pytest.raises(BundleError, match="model.safetensors: file is .* over the"):
        load_bundle(folder)
