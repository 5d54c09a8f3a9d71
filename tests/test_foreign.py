"""Foreign weights: the pytorch/examples VAE, read with torch.load(weights_only=True) only."""
import subprocess
import sys

import pytest
import torch

from bench.reference_vae import VAE as ExamplesVAE  # pytorch/examples vae/main.py, layer for layer
from vae_core import BundleError, load_bundle
from vae_core.cli.import_examples import examples_vae, import_examples, read_examples_state_dict


class Payload:
    """Unpickling this object writes a file: what a malicious checkpoint would do."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (exec, (f"open({self.target!r}, 'w').write('pwned')",))


@pytest.fixture
def examples_pth(tmp_path):
    reference = ExamplesVAE()
    path = tmp_path / "vae.pth"
    torch.save(reference.state_dict(), path)
    return reference, path


def test_examples_weights_become_our_model_with_the_same_function(examples_pth):
    reference, path = examples_pth
    ours = examples_vae(read_examples_state_dict(path))
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        mu, logvar = ours.encode(x)
        ref_mu, ref_logvar = reference.encode(x.view(-1, 784))
        z = torch.randn(5, 20)
        assert torch.allclose(mu, ref_mu, atol=1e-6) and torch.allclose(logvar, ref_logvar, atol=1e-6)
        assert torch.allclose(ours.decode_mean(z).view(5, 784), reference.decode(z), atol=1e-6)


def test_a_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned.txt"
    bad = tmp_path / "evil.pth"
    state = ExamplesVAE().state_dict()
    state["fc1.weight"] = Payload(marker)
    torch.save(state, bad)
    torch.load(bad, weights_only=False)  # the payload is live: a plain load runs it
    assert marker.read_text() == "pwned"
    marker.unlink()
    with pytest.raises(BundleError, match="refused: not a weights-only PyTorch file"):
        read_examples_state_dict(bad)
    proc = subprocess.run([sys.executable, "-m", "vae_core.cli.import_examples", str(bad), "--out", str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "refused" in proc.stderr and "Traceback" not in proc.stderr
    assert not marker.exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("change, problem", [
    (lambda s: s.pop("fc4.bias"), "expected keys"),
    (lambda s: s.__setitem__("fc3.weight", torch.zeros(400, 21)), "fc3.weight must be"),
    (lambda s: s["fc1.bias"].fill_(float("nan")), "NaN"),
])
def test_wrong_state_dicts_are_named(tmp_path, change, problem):
    state = ExamplesVAE().state_dict()
    change(state)
    torch.save(state, tmp_path / "x.pth")
    with pytest.raises(BundleError, match=problem):
        read_examples_state_dict(tmp_path / "x.pth")


def test_import_writes_a_bundle_the_explorer_opens(examples_pth, mnist_dir, tmp_path):
    _, path = examples_pth
    out = import_examples(path, tmp_path / "examples-vae", data_dir=mnist_dir, probe_size=100)
    bundle = load_bundle(out)
    assert bundle.model_config.hidden == (400,) and bundle.model_config.latent_dim == 20
    assert bundle.probe_images.shape == (100, 1, 28, 28) and not bundle.dataset["binarized"]


@pytest.mark.parametrize("key", ["fc1.weight", "fc21.weight"])
def test_a_wrongly_shaped_first_layer_names_the_file(tmp_path, key):
    state = ExamplesVAE().state_dict()
    state[key] = torch.zeros(400)  # 1-D where a matrix belongs
    path = tmp_path / "x.pth"
    torch.save(state, path)
    with pytest.raises(BundleError) as info:
        read_examples_state_dict(path)
    assert info.value.path == path and key in info.value.problem


def test_the_importer_does_not_depend_on_the_layer_indices_of_our_networks(examples_pth, monkeypatch):
    """Our MLP may gain or reorder modules (a norm layer, a dropout); the import maps the
    examples' dense layers onto ours in order, not onto hard-coded Sequential indices."""
    from torch import nn

    from vae_core.families.gaussian import model as model

    original = model.build_encoder  # where the VAE looks its encoder up
    monkeypatch.setattr(model, "build_encoder", lambda cfg: nn.Sequential(nn.Identity(), *original(cfg)))
    reference, path = examples_pth
    ours = examples_vae(read_examples_state_dict(path))
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(ours.encode(x)[0], reference.encode(x.view(-1, 784))[0], atol=1e-6)
