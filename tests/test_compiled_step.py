"""The whole CPU step compiled (vae_core.families.gaussian.compiled_step) against the eager step it replaces."""
import shutil

import pytest
import torch

from vae_core import ModelConfig, VAE
from vae_core.families.gaussian.compiled_step import CompiledStep, supported
from vae_core.families.gaussian.objectives import terms, terms_loss

pytestmark = pytest.mark.skipif(not (shutil.which("c++") or shutil.which("g++")),
                                reason="torch.compile on the CPU needs a C++ compiler (apt install g++)")


def pair():
    torch.manual_seed(0)
    a = VAE(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(32,), latent_dim=3))
    b = VAE(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(32,), latent_dim=3))
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.mark.parametrize("capacity, free_bits, weighted", [(2.0, 0.0, False), (None, 0.3, False), (None, 0.0, True)],
                         ids=["capacity", "free bits", "IWAE"])  # D + βR: below
def test_three_compiled_steps_equal_three_eager_steps(capacity, free_bits, weighted):
    eager, fast = pair()
    opt_e, opt_f = (torch.optim.Adam(m.parameters(), lr=1e-2) for m in (eager, fast))
    step = CompiledStep(fast, opt_f, n_samples=2, free_bits=free_bits, bf16=False, importance_weighted=weighted)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(16, 1, 8, 8).round()
    beta = 1.0 if weighted else 0.7
    for i in range(3):
        state = gen.get_state()
        loss = terms_loss(terms(eager, x, 2, generator=gen, importance_weighted=weighted), beta, capacity, free_bits)
        opt_e.zero_grad()
        loss.backward()
        opt_e.step()
        gen.set_state(state)  # the same noise, drawn as the eager step draws it
        eps = torch.randn(2, 16, 3, generator=gen)
        got, d, r = step(x, eps, torch.tensor(beta), None if capacity is None else torch.tensor(capacity),
                         torch.tensor(1e-2))
        assert float(got) == pytest.approx(float(loss), rel=1e-5), i
        assert float(d) > 0 and float(r) > 0
    # Adam's first steps move each weight by about lr whatever the size of its gradient, so the
    # two graphs' float32 rounding shows at ~1e-5; a wrong update would be ~lr = 1e-2 off.
    for (name, p), q in zip(eager.named_parameters(), fast.parameters()):
        assert torch.allclose(p, q, atol=2e-4), (name, float((p - q).abs().max()))
    s_e, s_f = opt_e.state_dict()["state"], opt_f.state_dict()["state"]
    assert all(torch.allclose(s_e[k]["exp_avg_sq"], s_f[k]["exp_avg_sq"], atol=1e-7) and
               float(s_e[k]["step"]) == float(s_f[k]["step"]) == 3 for k in s_e)  # Adam's own layout


def test_where_the_compiled_step_does_not_apply_it_says_why():
    model = VAE(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(8,), latent_dim=2))
    assert supported(model, torch.device("cpu"), 1) is None
    assert "torchrun" in supported(model, torch.device("cpu"), 2)
    assert "CPU" in supported(model, torch.device("cuda"), 1)


def test_a_run_with_the_compiled_step_trains_as_the_eager_one(tmp_path):
    from vae_core import TrainConfig, load_bundle, train

    model = ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(32,), latent_dim=2)
    elbo = {}
    for step in ("eager", "compiled"):
        out = train(model, TrainConfig(dataset="digits", epochs=2, eval_k=1, probe_size=50, device="cpu", step=step,
                                       bf16="auto" if step == "eager" else False), tmp_path / step, progress=False)
        m = load_bundle(out).metrics
        elbo[step] = m["elbo"]
        assert m["training_step"].startswith("training step: " + ("eager" if step == "eager" else "forward, backward"))
    assert "bf16 auto: float32 (measured only for the compiled CPU step)" in load_bundle(tmp_path / "eager").metrics[
        "training_step"]  # what --bf16 auto decided, and why
    assert elbo["compiled"] == pytest.approx(elbo["eager"], abs=0.5), elbo  # the same noise, the same updates


def test_step_auto_compiles_a_long_mlp_run_and_never_a_conv_one():
    """--step auto follows bench.compile_pays: the MLP past its measured break-even, the conv
    body (slower compiled on the CPU) never."""
    from vae_core import TrainConfig
    from vae_core.families.gaussian.compiled_step import AUTO_MIN_STEPS, choose

    cfg = TrainConfig(dataset="digits", step="auto")
    mlp = VAE(ModelConfig(image_shape=(1, 8, 8), architecture="mlp", hidden=(8,), latent_dim=2))
    conv = VAE(ModelConfig(image_shape=(1, 8, 8), architecture="conv", channels=(4,), fc_hidden=0, latent_dim=2))
    lines = []
    for model, steps, compiled in ((mlp, AUTO_MIN_STEPS["mlp"], True), (mlp, AUTO_MIN_STEPS["mlp"] - 1, False),
                                   (conv, 10 ** 9, False)):
        fast, _, line = choose(model, torch.optim.Adam(model.parameters()), cfg, torch.device("cpu"), 1, steps,
                               torch.rand(4, 1, 8, 8))
        assert (fast is not None) == compiled, line
        lines.append(line)
    assert f"under {AUTO_MIN_STEPS['mlp']:,}" in lines[1] and "conv body's step does not pay" in lines[2]
