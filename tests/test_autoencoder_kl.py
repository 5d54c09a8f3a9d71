"""diffusers' AutoencoderKL: a folder written by save_pretrained (diffusers' own test
configuration) opens as a bundle whose numbers are diffusers' own, every view runs on it (colour
16 x 16 images, a 4 x 8 x 8 latent: small, as the views decode it many times), and a stranger's
folder is checked before anything is built."""
import json
import sys

import numpy as np
import pytest
import torch

from vae_core import BundleError, load_bundle
from vae_core.families.autoencoder_kl.importer import import_autoencoder_kl, read_autoencoder_kl

TINY = dict(block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2,
            up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=32, sample_size=32)


@pytest.fixture(scope="session")
def diffusers_folders(tmp_path_factory):
    """A pipeline folder holding a random tiny AutoencoderKL in vae/ (save_pretrained), and a
    folder of 24 colour images in two classes."""
    from diffusers import AutoencoderKL
    from PIL import Image

    root = tmp_path_factory.mktemp("diffusers")
    torch.manual_seed(0)
    vae = AutoencoderKL(**TINY).eval()
    vae.save_pretrained(root / "pipeline" / "vae")
    (root / "pipeline" / "model_index.json").write_text("{}")
    rng = np.random.default_rng(0)
    for name, channel in (("red", 0), ("blue", 2)):
        (root / "images" / name).mkdir(parents=True)
        for i in range(12):
            a = np.zeros((40, 40, 3), np.uint8)
            a[..., channel] = rng.integers(100, 255)
            a[rng.integers(0, 20):30, 5:25] = 255
            Image.fromarray(a).save(root / "images" / name / f"{i}.png")
    return vae, root


@pytest.fixture(scope="session")
def kl_bundle(diffusers_folders, tmp_path_factory):
    vae, root = diffusers_folders
    return vae, import_autoencoder_kl(root / "pipeline", root / "images", tmp_path_factory.mktemp("kl") / "tiny-kl",
                                      image_shape=(3, 16, 16))


def test_the_bundle_gives_diffusers_own_posterior_decoder_and_kl(kl_bundle):
    vae, out = kl_bundle
    bundle = load_bundle(out)
    assert bundle.model.spatial_shape == (4, 8, 8) and bundle.model.latent_shape == (256,)
    assert tuple(bundle.probe_images.shape) == (24, 3, 16, 16) and bundle.classes == ["blue", "red"]
    x = bundle.probe_images[:8].float() / 255
    with torch.no_grad():
        dist = vae.encode(2 * x - 1).latent_dist  # diffusers works in [-1, 1]
        mu, logvar = bundle.model.encode(x)
        assert torch.allclose(mu, dist.mean.flatten(1), atol=1e-5)
        assert torch.allclose(logvar, dist.logvar.flatten(1), atol=1e-5)
        assert torch.allclose(bundle.model.image_terms(x).kl, dist.kl(), atol=1e-3)  # R: diffusers' KL to N(0, I)
        decoded = ((vae.decode(dist.mean).sample + 1) / 2).clamp(0, 1)
        assert torch.allclose(bundle.model.decode_mean(mu), decoded, atol=1e-5)
    assert bundle.metrics["split"] == "probe" and bundle.metrics["n_images"] == 24 and bundle.metrics["latent_dim"] == 256


def test_a_strangers_folder_is_checked_before_anything_is_built(diffusers_folders, tmp_path):
    _, root = diffusers_folders
    with pytest.raises(BundleError, match="holds no AutoencoderKL"):
        read_autoencoder_kl(tmp_path)
    (tmp_path / "diffusion_pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(BundleError, match="a pickle, which is not opened"):
        read_autoencoder_kl(tmp_path)
    config = json.loads((root / "pipeline" / "vae" / "config.json").read_text())
    for case, (change, said) in enumerate((({"_class_name": "UNet2DModel"}, "is not an AutoencoderKL config"),
                         ({"block_out_channels": [32, 65536]}, "block_out_channels must be"),
                         ({"down_block_types": ["CrossAttnDownBlock2D"] * 2}, "down_block_types must be"))):
        folder = tmp_path / f"case{case}"
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({**config, **change}))
        (folder / "diffusion_pytorch_model.safetensors").write_bytes(
            (root / "pipeline" / "vae" / "diffusion_pytorch_model.safetensors").read_bytes())
        with pytest.raises(BundleError, match=said):
            read_autoencoder_kl(folder)


def test_without_diffusers_the_bundle_names_the_extra_to_install(kl_bundle, monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)
    with pytest.raises(BundleError, match=r"install the extra 'diffusers', pip install -e '\.\[diffusers\]'"):
        load_bundle(kl_bundle[1])


def test_every_view_runs_on_a_colour_spatial_latent_and_draws_its_grid(kl_bundle, monkeypatch):
    from test_explorer import VIEWS, open_app, show

    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(kl_bundle[1].parent))
    at = open_app(kl_bundle[1])
    said = {}
    for view in VIEWS:
        show(at, view)
        said[view] = [i.value for i in at.main.info if i.value.startswith("This view needs")]
        assert not at.main.error, (view, [e.value for e in at.main.error])
        if view == "views/objective.py":
            assert "KL per channel and per position" in [h.value for h in at.main.subheader]
        if view == "views/traversals.py":
            assert "Traverse the grid" in [h.value for h in at.main.subheader]
        if view == "views/model_card.py":
            assert any("scaling_factor = 0.18215" in i.value for i in at.main.info)
        if view == "views/generation.py":  # prior samples, with what they are for Stable Diffusion's VAE
            assert any("a diffusion model does" in i.value for i in at.main.info)
    # Every shared view draws; only the VQ-VAE's own pages say why they do not apply.
    assert {v for v, s in said.items() if s} == {v for v in VIEWS if v.startswith("families/vq_vae/")}


def test_the_command_imports_a_pipeline_folder(diffusers_folders, tmp_path, capsys):
    from vae_core.cli.diffusers import main

    _, root = diffusers_folders
    assert main([str(root / "pipeline"), "--images", str(root / "images"), "--out", str(tmp_path / "b"),
                 "--probe-size", "5"]) == 0
    bundle = load_bundle(tmp_path / "b")  # at the model's sample_size, 32: a 4 x 16 x 16 latent
    assert bundle.model.spatial_shape == (4, 16, 16) and len(bundle.probe_images) == 5
    assert main([str(tmp_path), "--images", str(root / "images"), "--out", str(tmp_path / "c")]) == 1
    assert "holds no AutoencoderKL" in capsys.readouterr().err


def test_older_attention_names_open_and_a_config_too_large_to_run_is_refused(diffusers_folders, tmp_path):
    from safetensors.torch import load_file, save_file

    vae, root = diffusers_folders
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text((root / "pipeline" / "vae" / "config.json").read_text())
    renames = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
    state = load_file(root / "pipeline" / "vae" / "diffusion_pytorch_model.safetensors")
    renamed = {}
    for key, value in state.items():
        for new, former in renames.items():
            key = key.replace(f".{new}.", f".{former}.")
        renamed[key] = value
    assert renamed.keys() != state.keys()
    save_file(renamed, old / "diffusion_pytorch_model.safetensors")
    model = read_autoencoder_kl(old, (3, 16, 16))  # as diffusers' own from_pretrained renames them
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model.encode(x)[0], vae.encode(2 * x - 1).latent_dist.mean.flatten(1), atol=1e-5)
    # 64 latent channels at 512 x 512 with one block: 16.7 million units per image, refused unbuilt.
    big = tmp_path / "big"
    big.mkdir()
    config = json.loads((root / "pipeline" / "vae" / "config.json").read_text())
    config.update(block_out_channels=[32], down_block_types=["DownEncoderBlock2D"], up_block_types=["UpDecoderBlock2D"],
                  latent_channels=64, sample_size=512)
    (big / "config.json").write_text(json.dumps(config))
    (big / "diffusion_pytorch_model.safetensors").write_bytes(b"never read")
    with pytest.raises(BundleError, match="the latent would have 16777216 units, over 65536"):
        read_autoencoder_kl(big)


def test_an_uploaded_autoencoder_kl_needs_the_servers_consent(kl_bundle, monkeypatch):
    from conftest import upload_needs_consent

    assert load_bundle(upload_needs_consent(kl_bundle[1], monkeypatch)).family == "autoencoder-kl"