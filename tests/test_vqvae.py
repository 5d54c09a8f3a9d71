"""VQ-VAE (van den Oord et al. 2017): quantizer, losses, EMA, restarts, the PixelCNN's masks,
training with --resume, the bundle and its figures."""
import math

import pytest
import torch
from safetensors.torch import load_file

from conftest import bundle_views, listed_views, tiny_vq_configs
from vae_core import BundleError, VQConfig, VQVAE, load_bundle, read_history
from vae_core.families.vq_vae import training as train_vq_module
from vae_core.families.vq_vae.prior import MaskedConv2d, PixelCNN
from vae_core.families.vq_vae.training import train_vq
from vae_core.families.vq_vae.evaluation import codebook_usage
from vae_core.families.vq_vae.model import VectorQuantizer

TINY_MODEL, TINY_TRAIN = tiny_vq_configs()  # the session fixture vq_bundle is trained with them


def _train(out, **kw):
    return train_vq(TINY_MODEL, TINY_TRAIN, out, prior_epochs=4, frechet=0, progress=False, **kw)


def _quantizer(codebook, ema=False, restart_after=0):
    q = VectorQuantizer(len(codebook), len(codebook[0]), ema=ema, decay=0.9, restart_after=restart_after)
    q.codebook.data.copy_(torch.tensor(codebook))
    if ema:
        q.embed_sum.copy_(torch.tensor(codebook))
    return q


def test_gradients_reach_the_encoder_through_the_straight_through_estimator():
    model = VQVAE(TINY_MODEL)
    x = torch.rand(8, 1, 8, 8)
    t = model.training_terms(x)
    t["reconstruction"].mean().backward()  # D alone: its only path to the encoder is straight through
    first = model.encoder[0].weight.grad
    assert first is not None and first.abs().sum() > 0
    assert model.quantizer.codebook.grad is None  # EMA codebook: a buffer, never a gradient


def test_codebook_and_commitment_losses_against_a_hand_computation():
    q = _quantizer([[0.0, 0.0], [1.0, 1.0], [3.0, 0.0]])
    z_e = torch.tensor([[0.2, 0.9, 2.2], [0.1, 1.2, 0.5]]).reshape(1, 2, 1, 3).requires_grad_()  # 3 vectors
    z_q, idx, codebook_loss, commitment = q(z_e)
    # Nearest codes: (0.2, 0.1) -> 0, (0.9, 1.2) -> 1, (2.2, 0.5) -> 2 (squared distance 0.89, to code 1 1.69)
    assert idx.tolist() == [[[0, 1, 2]]]
    by_hand = (0.2**2 + 0.1**2) + (0.1**2 + 0.2**2) + (0.8**2 + 0.5**2)
    assert codebook_loss.item() == pytest.approx(by_hand) and commitment.item() == pytest.approx(by_hand)
    assert torch.allclose(z_q, torch.tensor([[0.0, 1.0, 3.0], [0.0, 1.0, 0.0]]).reshape(1, 2, 1, 3))
    (z_q.sum() + commitment.sum()).backward()  # straight through: dz_q/dz_e = 1; commitment: 2 (z_e - e)
    expected = 1 + 2 * (z_e.detach() - torch.tensor([[0.0, 1.0, 3.0], [0.0, 1.0, 0.0]]).reshape(1, 2, 1, 3))
    assert torch.allclose(z_e.grad, expected)


def test_one_ema_update_against_a_hand_computation():
    q = _quantizer([[0.0, 0.0], [1.0, 1.0], [3.0, 0.0]], ema=True)
    z_e = torch.tensor([[0.2, 0.4, 2.5], [0.1, 0.3, 0.5]]).reshape(1, 2, 1, 3)  # codes 0, 0, 2
    q.update(z_e, q.indices(z_e))
    counts = torch.tensor([0.9 * 1 + 0.1 * 2, 0.9 * 1 + 0.1 * 0, 0.9 * 1 + 0.1 * 1])
    sums = torch.tensor([[0.9 * 0 + 0.1 * 0.6, 0.9 * 0 + 0.1 * 0.4], [0.9, 0.9], [0.9 * 3 + 0.1 * 2.5, 0.1 * 0.5]])
    total, eps = counts.sum(), 1e-5
    smoothed = (counts + eps) / (total + 3 * eps) * total
    assert torch.allclose(q.cluster_size, counts) and torch.allclose(q.embed_sum, sums)
    assert torch.allclose(q.codebook, sums / smoothed[:, None], atol=1e-6)
    assert q.unused.tolist() == [0.0, 1.0, 0.0]


def test_an_unused_code_is_restarted_on_a_vector_of_the_batch():
    q = _quantizer([[0.0, 0.0], [100.0, 100.0]], ema=True, restart_after=2)  # code 1 is far from all data
    z_e = torch.tensor([[0.5, -0.5, 0.2], [0.1, 0.3, -0.2]]).reshape(1, 2, 1, 3)
    assert q.update(z_e, q.indices(z_e)) == 0  # one step unused: not yet
    assert q.update(z_e, q.indices(z_e)) == 1
    batch = z_e.reshape(2, 3).t()
    assert any(torch.allclose(q.codebook[1], v) for v in batch) and q.unused[1] == 0 and q.cluster_size[1] == 1
    assert (q.indices(z_e) == 1).any()  # the restarted code now wins a vector


def test_the_pixelcnn_masks_make_each_output_depend_only_on_earlier_positions():
    prior = PixelCNN(codes=8, channels=6, layers=2)
    h, w = 5, 5
    for i, j in [(0, 0), (2, 3), (4, 4), (3, 0)]:
        inp = torch.randn(1, 6, h, w, requires_grad=True)
        prior.net(inp)[0, :, i, j].sum().backward()
        touched = inp.grad.abs().sum(1)[0] > 0  # (h, w): which inputs reached output (i, j)
        later = torch.tensor([[r * w + c >= i * w + j for c in range(w)] for r in range(h)])
        assert not touched[later].any(), (i, j)
        if (i, j) != (0, 0):
            assert touched[~later].any(), (i, j)  # and it does see the past
    with pytest.raises(ValueError):
        MaskedConv2d(2, 2, 4, "A")


def test_codebook_usage_perplexity():
    assert codebook_usage(torch.tensor([0, 1, 2, 3]), 8)["perplexity"] == pytest.approx(4.0)
    usage = codebook_usage(torch.tensor([5, 5, 5]), 8)
    assert usage["perplexity"] == pytest.approx(1.0) and usage["used"] == 1 and usage["used_share"] == 1 / 8


def test_training_writes_a_bundle_the_loader_validates(vq_bundle):
    bundle = load_bundle(vq_bundle)
    assert type(bundle.model) is VQVAE and bundle.family == "vq-vae"
    stored = load_file(vq_bundle / "model.safetensors")
    state = bundle.model.state_dict()
    assert stored.keys() == state.keys() and all(torch.equal(state[k], stored[k].float()) for k in stored)
    assert not any("mask" in k for k in stored)  # masks are rebuilt from the layer type
    history = read_history(vq_bundle)
    assert [(r["stage"], r["epoch"]) for r in history] == [(1, 1), (1, 2), (1, 3)] + [(2, e) for e in range(1, 5)]
    prior = [r["prior_nll"] for r in history if r["stage"] == 2]
    assert prior[-1] < prior[0] < history[-1]["uniform_rate"]  # the prior learns, and beats uniform
    m = bundle.metrics
    assert m["uniform_rate"] == pytest.approx(16 * math.log(16))  # a 4 x 4 grid of 16 codes
    assert m["elbo"] == pytest.approx(-(m["reconstruction"] + m["kl"]))
    assert m["kl"] < m["uniform_rate"] and m["codebook"]["used"] >= 8


def test_image_terms_rate_is_the_prior_nll_of_the_codes(vq_bundle):
    model = load_bundle(vq_bundle).model
    x = torch.rand(5, 1, 8, 8).bernoulli()
    t = model.image_terms(x)
    codes = model.encode_latent(x)
    assert codes.dtype == torch.long and codes.shape == (5, 4, 4)
    assert torch.allclose(t.kl, -model.prior.log_prob(codes))
    assert torch.allclose(t.reconstruction, -model.likelihood.log_prob(x, model.decode(codes)))


def test_prior_samples_are_code_grids_and_temperature_zero_is_greedy(vq_bundle):
    model = load_bundle(vq_bundle).model
    gen = torch.Generator().manual_seed(0)
    grids = model.sample(50, generator=gen)
    assert grids.shape == (50, 4, 4) and grids.dtype == torch.long and 0 <= grids.min() and grids.max() < 16
    greedy = model.sample(3, temperature=0)
    assert (greedy == greedy[0]).all()
    assert model.decode_mean(grids).shape == (50, 1, 8, 8)
    assert set(model.named_samplers()) == {"prior_samples", "uniform_samples"}


def test_resume_after_a_kill_ends_with_the_weights_of_an_uninterrupted_run(vq_bundle, tmp_path, monkeypatch):
    saves = []
    real_save = train_vq_module._save

    def killed_after_four(*args):
        real_save(*args)
        saves.append(1)
        if len(saves) == 4:  # three VQ-VAE epochs and one prior epoch written
            raise KeyboardInterrupt

    monkeypatch.setattr(train_vq_module, "_save", killed_after_four)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "run")
    monkeypatch.setattr(train_vq_module, "_save", real_save)
    with pytest.raises(FileExistsError):
        _train(tmp_path / "run")  # neither --resume nor --overwrite
    _train(tmp_path / "run", resume=True)
    done, again = load_file(vq_bundle / "model.safetensors"), load_file(tmp_path / "run" / "model.safetensors")
    assert all(torch.equal(done[k], again[k]) for k in done)
    assert [(r["stage"], r["epoch"]) for r in read_history(tmp_path / "run")] == \
        [(r["stage"], r["epoch"]) for r in read_history(vq_bundle)]
    assert not (tmp_path / "run" / "train_state.safetensors").exists()


def test_a_config_out_of_range_is_refused():
    with pytest.raises(ValueError, match="codebook_size"):
        VQConfig(codebook_size=1)
    with pytest.raises(ValueError, match="divisible"):
        VQConfig(image_shape=(1, 28, 28), channels=(8, 8, 8))


def test_the_evaluate_command_scores_a_vq_bundle(vq_bundle, capsys):
    from vae_core.cli.evaluate import main

    assert main([str(vq_bundle), "--on", "probe", "--no-write"]) == 0
    said = capsys.readouterr().out
    assert "prior NLL" in said and "uniform" in said and "codes used" in said


def test_a_broken_vq_bundle_names_the_file(vq_bundle, tmp_path):
    import shutil

    bad = shutil.copytree(vq_bundle, tmp_path / "bad")
    text = (bad / "config.json").read_text().replace('"codebook_size": 16', '"codebook_size": 17')
    (bad / "config.json").write_text(text)
    with pytest.raises(BundleError) as info:
        load_bundle(bad)
    assert info.value.path.name == "model.safetensors" and "shape mismatch" in info.value.problem


VIEWS = bundle_views()


def test_every_view_draws_for_a_vq_bundle_or_says_why_it_does_not_apply(vq_bundle, digits_bundle, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from conftest import REPO

    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", f"{vq_bundle.parent}:{digits_bundle.parent}")
    at = AppTest.from_file(str(REPO / "explorer" / "app.py"), default_timeout=120)
    at.run()
    at.sidebar.selectbox(key="bundle_picker").set_value(str(vq_bundle.resolve())).run()
    said = {}
    for view in VIEWS:
        at.switch_page(view).run()
        assert not at.exception, (view, [e.message for e in at.exception])
        needs = [i.value for i in at.main.info if i.value.startswith("This view needs")]
        said[view] = needs[0] if needs else None
    applies = {v for v, s in said.items() if s is None}
    assert applies == {"views/reconstructions.py", "views/generation.py", "views/interpolation.py",
                       "families/vq_vae/codes.py", "families/vq_vae/codebook.py", "families/vq_vae/code_edit.py",
                       "views/model_card.py", "views/compare.py", "views/own_image.py"}, said
    assert listed_views(at) == applies  # the navigation lists exactly the pages that apply
    assert all("grid of codebook indices" in s for s in said.values() if s)  # the family's one sentence


def test_editing_a_cell_changes_the_decoding(vq_bundle, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from conftest import REPO

    monkeypatch.setenv("VAE_EXPLORER_BUNDLES", str(vq_bundle.parent))
    at = AppTest.from_file(str(REPO / "explorer" / "app.py"), default_timeout=120)
    at.run()
    at.sidebar.selectbox(key="bundle_picker").set_value(str(vq_bundle.resolve())).run()
    at.switch_page("families/vq_vae/code_edit.py").run()
    before = at.main.markdown[-1].value if at.main.markdown else ""
    picker = at.selectbox(key="edit_code")
    new_code = next(k for k in range(16) if k != picker.value)
    picker.set_value(new_code).run()
    assert not at.exception, [e.message for e in at.exception]
    edits = at.session_state["vq_edits"]
    (grid_edits,) = edits.values()
    assert list(grid_edits.values()) == [new_code]
    assert any("**1** cell edited" in m.value for m in at.main.markdown), before


def test_a_bad_option_is_one_line_and_status_2(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "vae_core.cli.train_vq", "--out", str(tmp_path / "x"), "--dataset", "digits",
                           "--codebook-size", "1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "codebook_size must be" in done.stderr
    assert not (tmp_path / "x").exists()


def test_the_prior_s_embedding_is_drawn_as_nn_embedding_draws_it_and_not_on_meta():
    """The PixelCNN draws its embedding itself (to skip the draw on the loader's meta skeleton);
    a training run from the same seed must start from the same weights as before."""
    from vae_core.families.vq_vae.prior import PixelCNN

    torch.manual_seed(3)
    ours = PixelCNN(8, 4, 1).embed.weight
    torch.manual_seed(3)
    assert torch.equal(ours, torch.nn.Embedding(8, 4).weight) and ours.requires_grad
    with torch.device("meta"):
        assert PixelCNN(8, 4, 1).embed.weight.is_meta
