"""The ONNX family: shipped bundles exported and reopened agree with the originals, a VAE
defined only here becomes a bundle through bundle_from_modules and opens in every view, and
graphs that do not fit their config are refused in one sentence naming the file."""
import math

import pytest
import torch
from torch import nn

from conftest import CHECKPOINTS
from vae_core import BundleError, load_bundle
from vae_core.families.gaussian.objectives import importance_weighted_bound
from vae_core.families.onnx import bundle_from_modules, export_bundle
from vae_core.families.onnx.export import export_graph

TOL = 1e-4


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """mnist-conv-z16 and mnist-vq, each with its ONNX export (about 15 s for both)."""
    out = tmp_path_factory.mktemp("onnx")
    return {name: (load_bundle(CHECKPOINTS / name), load_bundle(export_bundle(CHECKPOINTS / name, out / f"{name}-onnx")[0]))
            for name in ("mnist-conv-z16", "mnist-vq")}


def _seeded():
    return torch.Generator().manual_seed(0)


def test_an_exported_gaussian_vae_gives_every_number_of_the_original_within_1e_4(exported):
    original, onnx = exported["mnist-conv-z16"]
    assert onnx.family == "onnx" and (onnx.path / "encoder.onnx").is_file() and not (onnx.path / "model.safetensors").exists()
    x = original.probe_images[:64].float() / 255
    a, b = original.model.image_terms(x, generator=_seeded()), onnx.model.image_terms(x, generator=_seeded())
    for name in ("reconstruction", "kl", "kl_per_dim", "elbo"):
        assert torch.allclose(getattr(a, name), getattr(b, name), atol=TOL, rtol=0), name
    mu = original.model.encode(x)[0]
    assert torch.allclose(original.model.decode_mean(mu), onnx.model.decode_mean(mu), atol=TOL)
    z = original.model.sample(8, generator=_seeded())
    assert torch.equal(z, onnx.model.sample(8, generator=_seeded()))  # the same prior, drawn the same way
    la = importance_weighted_bound(original.model, x[:8], 16, generator=_seeded())
    lb = importance_weighted_bound(onnx.model, x[:8], 16, generator=_seeded())
    assert torch.allclose(la, lb, atol=TOL)
    assert onnx.metrics == original.metrics  # its figures, which the graphs reproduce


def test_an_exported_vq_vae_keeps_its_codes_rate_and_prior_samples(exported):
    original, onnx = exported["mnist-vq"]
    assert (onnx.path / "prior.onnx").is_file() and onnx.model.latent_shape == original.model.latent_shape
    x = original.probe_images[:64].float() / 255
    assert torch.equal(original.model.encode_latent(x), onnx.model.encode_latent(x))
    a, b = original.model.image_terms(x), onnx.model.image_terms(x)
    assert torch.allclose(a.reconstruction, b.reconstruction, atol=TOL, rtol=0)
    assert torch.allclose(a.kl, b.kl, atol=TOL, rtol=0)  # -log p(k) under the PixelCNN, run by onnxruntime
    assert torch.equal(original.model.sample(4, generator=_seeded()), onnx.model.sample(4, generator=_seeded()))


class TinyVAE(nn.Module):
    """A VAE written here only: an MLP on 8 x 8 digits whose encoder gives (mu, log sigma) and
    whose decoder ends in a sigmoid, as most tutorials write one."""

    def __init__(self, latent: int = 3):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, 32), nn.ReLU(), nn.Linear(32, 64), nn.Sigmoid(),
                                     nn.Unflatten(1, (1, 8, 8)))

    def encode(self, x):
        mu, log_std = self.encoder(x).chunk(2, dim=1)
        return mu, log_std

    def loss(self, x):
        mu, log_std = self.encode(x)
        z = mu + log_std.exp() * torch.randn_like(mu)
        d = nn.functional.binary_cross_entropy(self.decoder(z), x, reduction="none").flatten(1).sum(1)
        r = 0.5 * (mu ** 2 + (2 * log_std).exp() - 2 * log_std - 1).sum(1)
        return (d + r).mean()


class Encoder(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, x):
        return self.vae.encode(x)


@pytest.fixture(scope="session")
def module_bundle(tmp_path_factory):
    """TinyVAE trained one epoch on digits, written by bundle_from_modules with its images."""
    from vae_core.data import load_dataset

    torch.manual_seed(0)
    train = load_dataset("digits", "train").images.float() / 255
    vae = TinyVAE()
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    for batch in train.split(64):  # one epoch
        opt.zero_grad()
        vae.loss(batch).backward()
        opt.step()
    test = load_dataset("digits", "test")
    out = bundle_from_modules(Encoder(vae), vae.decoder, test.images, tmp_path_factory.mktemp("mine") / "my-vae",
                              labels=test.labels, classes=test.classes, encoder_scale="log_std", dataset="digits")
    return vae, test, out


def test_a_vae_defined_in_a_test_file_becomes_a_bundle_with_its_own_numbers(module_bundle):
    vae, test, out = module_bundle
    bundle = load_bundle(out)
    x = test.images[:50].float() / 255
    mu, log_std = vae.encode(x)
    got_mu, got_logvar = bundle.model.encode(x)
    assert torch.allclose(got_mu, mu, atol=1e-5) and torch.allclose(got_logvar, 2 * log_std, atol=1e-5)
    assert torch.allclose(bundle.model.decode_mean(mu), vae.decoder(mu), atol=1e-5)
    # D at z = mu is its own binary cross-entropy, R its own closed-form KL: nats per image.
    bce = nn.functional.binary_cross_entropy(vae.decoder(mu), x, reduction="none").flatten(1).sum(1)
    d = -bundle.model.likelihood.log_prob(x, bundle.model.decode(mu))
    assert torch.allclose(d, bce, atol=1e-3)
    kl = 0.5 * (mu ** 2 + (2 * log_std).exp() - 2 * log_std - 1).sum(1)
    assert torch.allclose(bundle.model.image_terms(x).kl, kl, atol=1e-4)
    assert bundle.classes == test.classes and len(bundle.probe_images) == len(test.images)
    assert bundle.metrics["split"] == "probe" and bundle.metrics["n_images"] == len(test.images) and math.isfinite(bundle.metrics["elbo"])


def test_a_graph_that_does_not_fit_its_config_is_one_sentence_naming_the_file(module_bundle, tmp_path):
    import shutil

    vae, _, out = module_bundle
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    decoder = nn.Sequential(nn.Linear(3, 64), nn.Unflatten(1, (1, 8, 8)))
    export_graph(decoder.forward, decoder, torch.zeros(2, 3), broken / "decoder.onnx", ["latent"], ["out"])
    with pytest.raises(BundleError, match=r"decoder.onnx: has inputs \['latent'\], the config implies \['z'\]"):
        load_bundle(broken)
    wide = nn.Sequential(nn.Linear(3, 128), nn.Unflatten(1, (2, 8, 8)))
    export_graph(wide.forward, wide, torch.zeros(2, 3), broken / "decoder.onnx", ["z"], ["out"])
    with pytest.raises(BundleError, match=r"decoder.onnx: output 'out' has shape \[.*2, 8, 8\], the config implies"):
        load_bundle(broken)
    (broken / "encoder.onnx").write_bytes(b"not a graph")
    with pytest.raises(BundleError, match="encoder.onnx: not an ONNX model"):
        load_bundle(broken)


def test_a_graph_that_points_at_external_weight_files_is_refused(module_bundle, tmp_path):
    import shutil

    import onnx

    _, _, out = module_bundle
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    proto = onnx.load(str(bad / "decoder.onnx"))
    onnx.external_data_helper.convert_model_to_external_data(proto, location="../not-here/secret.bin", size_threshold=0)
    (bad / "decoder.onnx").write_bytes(proto.SerializeToString())
    with pytest.raises(BundleError, match="external files"):
        load_bundle(bad)


def test_without_onnxruntime_the_bundle_names_the_extra_to_install(module_bundle, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with pytest.raises(BundleError, match=r"install the extra 'onnx', pip install -e '\.\[onnx\]'"):
        load_bundle(module_bundle[2])


def test_a_zipped_onnx_upload_is_refused_unless_the_server_allows_it(module_bundle, monkeypatch):
    from conftest import upload_needs_consent

    assert load_bundle(upload_needs_consent(module_bundle[2], monkeypatch)).family == "onnx"


def test_the_commands_export_a_bundle_and_bundle_a_users_modules(digits_bundle, tmp_path, capsys):
    from vae_core.cli.onnx import export_main, modules_main

    assert export_main([str(digits_bundle), "--out", str(tmp_path / "exported")]) == 0
    assert load_bundle(tmp_path / "exported").model_config.latent_shape == (2,)
    assert export_main([str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 1
    assert "missing: not a folder" in capsys.readouterr().err
    # A user's file naming a function that returns (encoder, decoder), and a folder of images.
    (tmp_path / "mine.py").write_text(
        "from torch import nn\n"
        "def build():\n"
        "    enc = nn.Sequential(nn.Flatten(), nn.Linear(48, 4))\n"
        "    dec = nn.Sequential(nn.Linear(2, 48), nn.Sigmoid(), nn.Unflatten(1, (3, 4, 4)))\n"
        "    return enc, dec\n"
        "def grid():\n"  # a posterior that is a (2, 2, 2) grid, as a convolutional encoder gives
        "    enc = nn.Conv2d(3, 4, 2, stride=2)\n"
        "    dec = nn.Sequential(nn.ConvTranspose2d(2, 3, 2, stride=2), nn.Sigmoid())\n"
        "    return enc, dec\n")
    from PIL import Image

    for cls in ("red", "blue"):
        (tmp_path / "images" / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (9, 7), (200, 10, 10) if cls == "red" else (10, 10, 200)).save(tmp_path / "images" / cls / f"{i}.png")
    assert modules_main([f"{tmp_path / 'mine.py'}:build", "--images", str(tmp_path / "images"), "--image-shape", "3", "4",
                         "4", "--out", str(tmp_path / "colour"), "--likelihood", "gaussian"]) == 0
    colour = load_bundle(tmp_path / "colour")
    assert colour.classes == ["blue", "red"] and tuple(colour.probe_images.shape) == (6, 3, 4, 4)
    assert modules_main([f"{tmp_path / 'mine.py'}:grid", "--images", str(tmp_path / "images"), "--image-shape", "3", "4",
                         "4", "--out", str(tmp_path / "grid")]) == 0
    grid = load_bundle(tmp_path / "grid")
    assert grid.model.spatial_shape == (2, 2, 2) and grid.model.latent_shape == (8,)
    assert grid.model.decode_mean(grid.model.encode(colour.probe_images.float() / 255)[0]).shape == (6, 3, 4, 4)
    assert modules_main([f"{tmp_path / 'mine.py'}:nothing", "--images", str(tmp_path / "images"), "--image-shape", "3",
                         "4", "4", "--out", str(tmp_path / "y")]) == 1
    assert "has no function 'nothing'" in capsys.readouterr().err


def test_the_vae_from_the_test_file_opens_in_every_view_that_applies(module_bundle, monkeypatch):
    from test_explorer import VIEWS, open_app, show

    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(module_bundle[2].parent))
    at = open_app(module_bundle[2])
    refused = set()
    for view in VIEWS:
        show(at, view)
        assert not at.main.error, (view, [e.value for e in at.main.error])
        if any(i.value.startswith("This view needs") for i in at.main.info):
            refused.add(view)
    # A Gaussian VAE in ONNX has every view but the VQ-VAE's own pages.
    assert refused == {v for v in VIEWS if v.startswith("families/vq_vae/")}


def test_an_exported_vq_vae_shows_its_reconstructions_samples_and_card(exported, monkeypatch):
    from test_explorer import open_app, show

    onnx = exported["mnist-vq"][1]
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(onnx.path.parent))
    at = open_app(onnx.path)
    for view in ("views/reconstructions.py", "views/generation.py", "views/model_card.py"):
        show(at, view)
        assert not at.main.error and not [i for i in at.main.info if i.value.startswith("This view needs")], view
    assert any("prior.onnx" in c.value for c in at.main.caption), [c.value for c in at.main.caption]  # where the graphs came from


def test_an_onnx_decoder_that_is_a_chain_of_known_layers_decodes_in_the_page(exported, module_bundle):
    from explorer import page_decoder

    original, onnx = exported["mnist-conv-z16"]
    mine, theirs = page_decoder.export(onnx.model), page_decoder.export(original.model)
    assert mine.spec == theirs.spec and mine.weights == theirs.weights  # the same layers, the same bytes
    chain = load_bundle(module_bundle[2]).model
    net = chain.page_network()
    z = torch.randn(5, 3)
    assert torch.allclose(torch.sigmoid(net(z)), module_bundle[0].decoder(z), atol=1e-5)  # its sigmoid left to the page
    with pytest.raises(page_decoder.Unsupported, match="codebook is inside decoder.onnx"):
        page_decoder.export(exported["mnist-vq"][1].model)


def test_the_example_of_docs_onnx_md_runs_and_its_bundle_opens(tmp_path, monkeypatch):
    import re

    from conftest import REPO

    text = (REPO / "docs" / "onnx.md").read_text()
    example = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "docs/onnx.md", "exec"), {"__name__": "__docs__"})
    bundle = load_bundle(tmp_path / "runs" / "my-digits-vae")
    assert bundle.family == "onnx" and bundle.model.latent_shape == (4,)
    assert bundle.metrics["elbo"] > -60  # 20 epochs on digits: far above an untrained model's (about -100 nats)


# ---- what a stranger's graphs may not do (found by attacking the loader; each was a failure) ----

def _write_graph(path, nodes, inputs, outputs, consts=()):
    """A hand-made ONNX graph: ``inputs``/``outputs`` as (name, elem_type, shape) triples."""
    from onnx import helper

    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(*i) for i in inputs],
                              [helper.make_tensor_value_info(*o) for o in outputs], list(consts))
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())


def _stranger(module_bundle, tmp_path):
    import shutil

    folder = tmp_path / "stranger"
    shutil.copytree(module_bundle[2], folder)
    return folder


def _decoder(folder, extra_nodes=(), consts=(), out="y"):
    """decoder.onnx: z (batch, 3) -> MatMul -> Reshape (batch, 1, 8, 8), plus ``extra_nodes``."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.full((3, 64), 0.01, np.float32), "w")
    shape = numpy_helper.from_array(np.array([-1, 1, 8, 8], np.int64), "shape")
    nodes = [helper.make_node("MatMul", ["z", "w"], ["m"]), helper.make_node("Reshape", ["m", "shape"], ["y"]),
             *extra_nodes]
    if out != "out":
        nodes.append(helper.make_node("Identity", [out], ["out"]))
    _write_graph(folder / "decoder.onnx", nodes, [("z", TensorProto.FLOAT, ["batch", 3])],
                 [("out", TensorProto.FLOAT, ["batch", 1, 8, 8])], [w, shape, *consts])


def test_a_constant_that_points_at_a_server_file_is_refused_before_anything_runs(module_bundle, tmp_path, monkeypatch):
    from onnx import TensorProto, helper

    folder = _stranger(module_bundle, tmp_path)
    secret = TensorProto(name="c", data_type=TensorProto.FLOAT, dims=[1], data_location=TensorProto.EXTERNAL)
    secret.external_data.add(key="location", value="pyproject.toml")  # relative: onnxruntime would read the cwd's
    _decoder(folder, [helper.make_node("Constant", [], ["c"], value=secret), helper.make_node("Add", ["y", "c"], ["s"])],
             out="s")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("a secret of the server")
    with pytest.raises(BundleError, match="external files"):
        load_bundle(folder)


def test_a_loop_is_refused_and_a_run_that_asks_too_much_is_stopped_with_a_sentence(module_bundle, tmp_path, monkeypatch):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    folder = _stranger(module_bundle, tmp_path)
    body = helper.make_graph([helper.make_node("Identity", ["c"], ["c2"])], "body",
                             [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                              helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                             [helper.make_tensor_value_info("c2", TensorProto.BOOL, [])])
    trips = numpy_helper.from_array(np.array(10**15, np.int64), "trips")
    _decoder(folder, [helper.make_node("Loop", ["trips", ""], [], body=body)], [trips])
    with pytest.raises(BundleError, match="decoder.onnx: has a Loop node, which can run without end"):
        load_bundle(folder)
    # 4 GB asked for in the middle of the graph: the shared arena ($VAE_ONNX_MAX_MB) says no.
    size = numpy_helper.from_array(np.array([1_000_000_000], np.int64), "size")
    _decoder(folder, [helper.make_node("ConstantOfShape", ["size"], ["big"]),
                      helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0),
                      helper.make_node("Add", ["y", "total"], ["s"])], [size], out="s")
    model = load_bundle(folder).model
    with pytest.raises(BundleError, match=r"decoder.onnx: asked for more memory than the \$VAE_ONNX_MAX_MB"):
        model.decode_mean(torch.zeros(2, 3))
    # Minutes of matrix products: stopped after $VAE_ONNX_RUN_SECONDS.
    side = numpy_helper.from_array(np.array([3000, 3000], np.int64), "side")
    chain = [helper.make_node("ConstantOfShape", ["side"], ["a0"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1e-4]))]
    chain += [helper.make_node("MatMul", [f"a{i}", f"a{i}"], [f"a{i + 1}"]) for i in range(40)]  # ~20 s of work
    chain += [helper.make_node("ReduceSum", ["a40"], ["t"], keepdims=0), helper.make_node("Add", ["y", "t"], ["s"])]
    _decoder(folder, chain, [side], out="s")
    monkeypatch.setenv("VAE_ONNX_RUN_SECONDS", "1")
    model = load_bundle(folder).model
    with pytest.raises(BundleError, match=r"ran for over 1 s and was stopped"):
        model.decode_mean(torch.zeros(1, 3))


def test_a_graph_whose_outputs_break_its_config_is_stopped_when_it_runs(module_bundle, tmp_path):
    import numpy as np
    from onnx import helper, numpy_helper

    folder = _stranger(module_bundle, tmp_path)
    # Declared (batch, 1, 8, 8), but it gives (batch, 1, 8, 4) on a run: its reshape's target is
    # computed from z, so no check at load can see it.
    from onnx import TensorProto

    consts = [numpy_helper.from_array(np.array([-1, 1, 8, 4], np.int64), "half"),
              numpy_helper.from_array(np.array([0], np.int64), "zero"),
              numpy_helper.from_array(np.array([32], np.int64), "thirtytwo"),
              numpy_helper.from_array(np.array([1], np.int64), "one")]
    _decoder(folder, [helper.make_node("Cast", ["z"], ["zi"], to=TensorProto.INT64),
                      helper.make_node("ReduceMin", ["zi"], ["low"], keepdims=0),
                      helper.make_node("Mul", ["low", "zero"], ["nothing"]),
                      helper.make_node("Add", ["half", "nothing"], ["target"]),
                      helper.make_node("Slice", ["m", "zero", "thirtytwo", "one"], ["h"]),
                      helper.make_node("Reshape", ["h", "target"], ["s"])], consts, out="s")
    model = load_bundle(folder).model
    with pytest.raises(BundleError, match=r"decoder.onnx: gave output 'out' of shape \[2, 1, 8, 4\]"):
        model.decode_mean(torch.zeros(2, 3))
    # NaN from a division by zero is named, not passed on as D = NaN.
    _decoder(folder, [helper.make_node("Div", ["y", "zeros"], ["s"])],
             [numpy_helper.from_array(np.zeros(1, np.float32), "zeros")], out="s")
    with pytest.raises(BundleError, match="gave NaN or infinite values in 'out'"):
        load_bundle(folder).model.decode_mean(torch.zeros(2, 3))


def test_the_explorer_shows_a_graph_failing_mid_view_as_a_sentence(module_bundle, tmp_path, monkeypatch):
    import numpy as np
    from onnx import helper, numpy_helper

    from test_explorer import open_app

    folder = _stranger(module_bundle, tmp_path)
    _decoder(folder, [helper.make_node("Div", ["y", "zeros"], ["s"])],
             [numpy_helper.from_array(np.zeros(1, np.float32), "zeros")], out="s")
    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(folder.parent))
    at = open_app(folder)  # asserts no exception reached the page
    assert any("failed while this view ran it: decoder.onnx: gave NaN" in e.value for e in at.error)


def test_what_the_loader_and_the_commands_refuse_they_refuse_in_one_sentence(exported, module_bundle, tmp_path, capsys):
    import io
    import zipfile

    from vae_core.checkpoint import extract_zipped_bundle, weights_digest
    from vae_core.cli.onnx import export_main, modules_main

    onnx_vq = exported["mnist-vq"][1].path
    assert export_main([str(onnx_vq), "--out", str(tmp_path / "again")]) == 1  # already ONNX: nothing traced
    assert "vae-export-onnx writes bundles of the families vae, two-stage, vq-vae" in capsys.readouterr().err
    # A zip holding both kinds of weights, and a stray model.safetensors beside the graphs.
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        for f in module_bundle[2].iterdir():
            zf.write(f, f.name)
        zf.write(CHECKPOINTS / "digits-mlp-z2" / "model.safetensors", "model.safetensors")
    with pytest.raises(BundleError, match="holds both model.safetensors and ONNX graphs"):
        extract_zipped_bundle(io.BytesIO(data.getvalue()), tmp_path / "mixed")
    folder = _stranger(module_bundle, tmp_path)
    before = weights_digest(folder)
    (folder / "model.safetensors").write_bytes((CHECKPOINTS / "digits-mlp-z2" / "model.safetensors").read_bytes())
    assert weights_digest(folder) == before  # the caches stay tied to the graphs that run
    (tmp_path / "f.py").write_text("import torch\ndef one():\n    return torch.nn.Linear(2, 2)\n"
                                   "def boom():\n    raise KeyError('weights')\n")
    for name, said in (("one", "must return (encoder, decoder), two torch.nn.Modules"), ("boom", "raised KeyError")):
        assert modules_main([f"{tmp_path / 'f.py'}:{name}", "--images", str(tmp_path), "--image-shape", "1", "8", "8",
                             "--out", str(tmp_path / "o")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and said in err and "Traceback" not in err


def test_an_onnx_decoder_with_its_bias_first_still_decodes_in_the_page(module_bundle, tmp_path):
    import numpy as np
    from onnx import helper, numpy_helper

    from explorer import page_decoder

    folder = _stranger(module_bundle, tmp_path)
    bias = numpy_helper.from_array(np.linspace(-1, 1, 64, dtype=np.float32), "b")
    _decoder(folder, [helper.make_node("Sigmoid", ["y"], ["s"])], [bias], out="s")  # its mean; the Add goes in below
    import onnx

    proto = onnx.load(str(folder / "decoder.onnx"))
    proto.graph.node.insert(1, helper.make_node("Add", ["b", "m"], ["mb"]))
    proto.graph.node[2].input[0] = "mb"
    (folder / "decoder.onnx").write_bytes(proto.SerializeToString())
    model = load_bundle(folder).model
    z = torch.randn(4, 3)
    assert torch.allclose(torch.sigmoid(model.page_network()(z)), model.decode_mean(z), atol=1e-5)
    assert page_decoder.export(model).spec["layers"][0]["op"] == "linear"
