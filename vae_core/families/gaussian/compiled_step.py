"""The whole CPU training step as one compiled graph: forward, backward and Adam's update.

On the CPU what a step costs above its matrix multiplies is the small operations between them
and Python's dispatch of each (python -m bench.cpu_step: 1.7 × the multiplies eager). Compiling
the model alone leaves the backward and the optimizer outside the graph, and was slower still.
Here the loss is a pure function of the parameters (torch.func.functional_call), its gradient
is taken with torch.func.grad_and_value, and Adam's update is written out on the optimizer's
own state tensors, all inside one torch.compile: inductor fuses the elementwise work into a few
C++ loops around the multiplies. The noise ε of the reparameterization is drawn outside, with
the run's generator, in the order the eager step draws it, so both consume the same random
streams.

The optimizer's state keeps torch.optim.Adam's layout (``step``, ``exp_avg``, ``exp_avg_sq`` per
parameter), so checkpoints and resume are unchanged, and the update is Adam's (Kingma & Ba
2015, algorithm 1, with torch's placement of ε): m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
θ ← θ − lr · (m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + ε).
"""
from __future__ import annotations

import shutil

import torch
import torch._inductor.config
from torch.func import functional_call, grad_and_value

from vae_core.families.gaussian.model import VAE
from vae_core.families.gaussian.objectives import terms, terms_loss


def supported(model: torch.nn.Module, device: torch.device, world: int) -> str | None:
    """None when the compiled step can run this model here, else why not (one phrase)."""
    if device.type != "cpu":
        return "it is for the CPU (a GPU run can use --compile)"
    if world > 1:
        return "it does not run under torchrun"
    if type(model) is not VAE:
        return f"it is written for the Gaussian VAE, not a {type(model).__name__}"
    if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return "batch normalization updates its statistics outside the parameters"
    if not (shutil.which("c++") or shutil.which("g++")):
        return "torch.compile needs a C++ compiler on the CPU (apt install g++)"
    return None


class CompiledStep:
    """``step(x, eps, beta, capacity, lr)`` -> (loss, D, R), batch means in nats per image,
    having updated ``model``'s parameters and ``optimizer``'s state as one eager step of
    ``terms(...).loss`` with ``optimizer.step()`` would. ``x`` (B, C, H, W) in [0, 1];
    ``eps`` (L, B, D) standard normal noise; ``beta``, ``capacity``, ``lr`` numbers or 0-dim
    tensors (``capacity`` None without capacity annealing); changing them does not recompile."""

    def __init__(self, model: VAE, optimizer: torch.optim.Adam, *, n_samples: int, free_bits: float, bf16: bool,
                 importance_weighted: bool = False):
        group = optimizer.param_groups[0]
        if len(optimizer.param_groups) != 1 or group["weight_decay"] or group["amsgrad"] or group["maximize"]:
            raise ValueError("the compiled step implements plain Adam: one parameter group, no weight decay")
        self.model, self.n_samples, self.free_bits, self.bf16 = model, n_samples, free_bits, bf16
        self.importance_weighted = importance_weighted  # the IWAE objective (objectives.terms)
        self.names = [n for n, _ in model.named_parameters()]
        params = list(model.parameters())
        for p in params:  # torch.optim.Adam's own state, created as its first step would
            state = optimizer.state[p]
            if not state:
                state.update(step=torch.tensor(0.0), exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
        # Flat lists of tensors, not the state's dicts: the compiled call's guards check fewer objects.
        self.steps = [optimizer.state[p]["step"] for p in params]
        self.exp_avg = [optimizer.state[p]["exp_avg"] for p in params]
        self.exp_avg_sq = [optimizer.state[p]["exp_avg_sq"] for p in params]
        self.params = [p.detach() for p in params]  # aliases: the update writes the parameters in place
        self.betas, self.eps = group["betas"], group["eps"]
        # Compiled in this process, not in inductor's pool of workers: a run stopped (SIGTERM,
        # the explorer's Stop button) while compiling otherwise waited at exit for the pool's
        # jobs, over two minutes on a busy 2-core machine (tests/test_runs.py).
        torch._inductor.config.compile_threads = 1
        self._compiled = torch.compile(self._step, dynamic=False)

    def _loss(self, params: dict, x, eps, beta, capacity):
        def forward(x, n_samples, generator):
            return functional_call(self.model, params, (x,), {"n_samples": n_samples, "noise": eps})

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            t = terms(self.model, x, self.n_samples, forward=forward, importance_weighted=self.importance_weighted)
            loss = terms_loss(t, beta, capacity, self.free_bits)
        return loss, (t.reconstruction.mean().detach(), t.kl.mean().detach())

    def _step(self, params: list, steps: list, exp_avg: list, exp_avg_sq: list, x, eps, beta, capacity, lr):
        grads, (loss, (d, r)) = grad_and_value(self._loss, has_aux=True)(dict(zip(self.names, params)), x, eps, beta,
                                                                         capacity)
        b1, b2 = self.betas
        for name, p, t, m, v in zip(self.names, params, steps, exp_avg, exp_avg_sq):
            g = grads[name]
            t.add_(1)
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.sub_(lr / (1 - b1 ** t) * m / (v.sqrt() / (1 - b2 ** t).sqrt() + self.eps))
        return loss, d, r

    def __call__(self, x, eps, beta, capacity, lr):
        def tensor(v):  # numbers become 0-dim tensors: a new β or lr is an input, not a recompile
            return v if torch.is_tensor(v) else torch.tensor(float(v))

        return self._compiled(self.params, self.steps, self.exp_avg, self.exp_avg_sq, x, eps, tensor(beta),
                              None if capacity is None else tensor(capacity), tensor(lr))


# "auto" compiles a run of at least this many steps, by body; None: never. Measured by
# python -m bench.compile_pays (docs/benchmarks.md): the MLP's compile (17 s) pays after 22,117
# steps at batch 128 on one Xeon core (14,000 on two); the conv body's compiled step was slower
# than the eager one (72 against 65 ms), so compiling it never pays on this CPU.
AUTO_MIN_STEPS = {"mlp": 25_000, "conv": None}




def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX, Linux's cpuinfo)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _ms_per_step(step: CompiledStep, x: torch.Tensor, latent: int, n_samples: int, steps: int = 20) -> float:
    import time

    one = torch.tensor(1.0)
    lr = torch.tensor(1e-3)
    eps = torch.randn(n_samples, len(x), latent)
    step(x, eps, one, None, lr)  # compiles
    started = time.perf_counter()
    for _ in range(steps):
        step(x, eps, one, None, lr)
    return (time.perf_counter() - started) / steps * 1e3


def choose(model: VAE, optimizer: torch.optim.Adam, cfg, device: torch.device, world: int, steps: int,
           x: torch.Tensor) -> tuple[CompiledStep | None, bool, str]:
    """The step a run takes: (a CompiledStep or None for the eager one, bf16 or not, a line
    saying which and why). ``cfg`` is the TrainConfig (``step``: auto, eager or compiled;
    ``bf16``: true, false or auto), ``steps`` the run's total, ``x`` a training batch for
    ``bf16 = auto``'s measurement: 20 compiled steps each way on copies of the model, bf16 kept
    when it is faster and the CPU computes bf16 natively. Raises ValueError when ``step`` is
    "compiled" and it cannot apply."""
    import copy

    why_not = supported(model, device, world)
    if cfg.step == "compiled" and why_not:
        raise ValueError(f"--step compiled cannot run here: {why_not}")
    threshold = AUTO_MIN_STEPS.get(model.config.architecture)
    compiled = cfg.step == "compiled" or (cfg.step == "auto" and why_not is None and threshold is not None
                                          and steps >= threshold)
    bf16 = cfg.bf16 is True
    note = ""
    if cfg.bf16 == "auto":
        bf16 = False
        if device.type == "cpu" and compiled and native_bf16():
            timing = {}
            for flag in (False, True):
                clone = copy.deepcopy(model)
                step = CompiledStep(clone, torch.optim.Adam(clone.parameters(), lr=cfg.lr), n_samples=cfg.mc_samples,
                                    free_bits=cfg.free_bits, bf16=flag, importance_weighted=cfg.objective == "iwae")
                timing[flag] = _ms_per_step(step, x, model.latent_dim, cfg.mc_samples)
            bf16 = timing[True] < 0.9 * timing[False]
            note = f"; bf16 auto: {timing[True]:.2f} ms against {timing[False]:.2f} ms in float32, so {'bf16' if bf16 else 'float32'}"
        else:
            note = "; bf16 auto: float32 (" + ("no bf16 in this CPU's hardware" if device.type == "cpu" and compiled
                                               else "measured only for the compiled CPU step") + ")"
    if not compiled:
        reason = why_not or ("asked" if cfg.step != "auto" else
                             f"the run has {steps} steps, under {threshold:,}" if threshold is not None else
                             f"compiling a {model.config.architecture} body's step does not pay on the CPU")
        return None, bf16, f"training step: eager ({reason}){note}"
    fast = CompiledStep(model, optimizer, n_samples=cfg.mc_samples, free_bits=cfg.free_bits, bf16=bf16,
                        importance_weighted=cfg.objective == "iwae")
    return fast, bf16, f"training step: forward, backward and Adam compiled as one graph{note}"
