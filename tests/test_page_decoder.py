"""The decoder the page runs (explorer/components/decoder_kernels.js, in Chromium) equals
torch's on every shipped bundle: to 1e-4 per pixel with float32 weights, 1/255 with float16."""
import base64

import numpy as np
import pytest
import torch
from torch import nn

from browser import REPO, browser_fixtures, chromium_path
from conftest import shipped_bundles
from explorer import page_decoder
from vae_core.checkpoint import load_bundle

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt install chromium)")
_, browser, _ = browser_fixtures()
KERNELS = (REPO / "explorer/components/decoder_kernels.js").read_text()


@pytest.fixture(scope="module")
def page(browser):
    page = browser.new_page()
    page.set_content("<html><body></body></html>")
    page.add_script_tag(content=KERNELS)
    yield page
    page.close()


def page_decode(page, spec, weights_b64, dtype, latents) -> np.ndarray:
    out = page.evaluate("""([spec, b64, dtype, latents]) => {
      const dec = buildPageDecoder(spec, pdFloats(b64, dtype));
      return latents.map((z) => Array.from(dec.decode(z)));
    }""", [spec, weights_b64, dtype, latents.reshape(len(latents), -1).tolist()])
    return np.array(out, np.float32)


def torch_decode(model, latents) -> np.ndarray:
    with torch.no_grad():
        return model.decode_mean(latents).reshape(len(latents), -1).numpy()


@pytest.mark.parametrize("path", shipped_bundles(), ids=lambda p: p.name)
def test_the_page_decodes_every_shipped_bundle_as_torch_does(page, path):
    model = load_bundle(path).model
    if getattr(model, "page_decoder_note", None):  # diffusers' decoder: the views say why it stays on the server
        with pytest.raises(page_decoder.Unsupported, match="diffusers"):
            page_decoder.describe(model)
        return
    spec, weights = page_decoder.describe(model)
    latents = page_decoder.check_latents(model, n=8, seed=1)
    expected = torch_decode(model, latents)
    exact = page_decode(page, spec, base64.b64encode(weights.astype("<f4").tobytes()).decode(), "float32", latents)
    assert np.abs(exact - expected).max() <= 1e-4
    shipped = page_decoder.export(model)  # what the explorer sends: float16 where it stays within 1/255
    sent = page_decode(page, shipped.spec, shipped.weights, shipped.dtype, latents)
    assert np.abs(sent - expected).max() <= (page_decoder.FLOAT16_TOLERANCE if shipped.dtype == "float16" else 1e-4)


def test_a_wrong_kernel_would_be_caught(page):
    """The comparison can fail: a decoder whose transposed convolution has its kernel flipped
    differs from torch's by far more than the tolerance."""
    model = load_bundle(REPO / "checkpoints/mnist-conv-z2").model
    spec, weights = page_decoder.describe(model)
    conv = next(layer for layer in spec["layers"] if layer["op"] == "conv_transpose")
    n, k = conv["in"] * conv["out"], conv["k"]
    block = weights[conv["w"]:conv["w"] + n * k * k].reshape(n, k, k)
    weights[conv["w"]:conv["w"] + n * k * k] = block[:, ::-1, ::-1].ravel()
    latents = page_decoder.check_latents(model, n=4)
    got = page_decode(page, spec, base64.b64encode(weights.tobytes()).decode(), "float32", latents)
    assert np.abs(got - torch_decode(model, latents)).max() > 0.05


def test_float16_is_refused_where_it_would_move_a_pixel_by_more_than_1_255():
    model = load_bundle(REPO / "checkpoints/digits-mlp-z2").model
    with torch.no_grad():  # weights scaled so float16's rounding is amplified through the logits
        model.decoder[-2].weight.mul_(3000.0)
    shipped = page_decoder.export(model)
    assert shipped.float16_error > page_decoder.FLOAT16_TOLERANCE and shipped.dtype == "float32"


def test_layers_the_page_cannot_run_are_named():
    model = load_bundle(REPO / "checkpoints/mnist-conv-z2").model
    model.decoder.insert(1, nn.BatchNorm1d(256))
    with pytest.raises(page_decoder.Unsupported, match="BatchNorm1d"):
        page_decoder.export(model)


@pytest.mark.parametrize("latent_dim", [1, 2])
def test_the_page_runs_the_2d_labs_decoder_as_torch_does(page, latent_dim):
    from vae_core.families.toy2d import model as lab2d

    torch.manual_seed(0)
    model = lab2d.ToyVAE(latent_dim)
    exported = page_decoder.export_network(model.decoder, latent_dim, [2, 1, 1])
    z = 3 * torch.randn(16, latent_dim)
    with torch.no_grad():
        expected = model.decoder(z).numpy()
    got = page_decode(page, exported.spec, exported.weights, exported.dtype, z.numpy())
    assert np.abs(got - expected).max() <= 1e-4
