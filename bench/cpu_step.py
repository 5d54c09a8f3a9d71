"""Where a training step's time goes on this machine, for the benchmark's 784-400-20 MLP at
batch 128: the whole step (with the fused Adam the trainer uses, then with Adam's default
implementation, then under bfloat16 autocast), the step without the optimizer, and the floor,
the same matrix multiplies forward and backward with nothing else. Milliseconds per step, median of 5 x 200.

    python -m bench.cpu_step
"""
import statistics
import time

import torch

from vae_core import ModelConfig, VAE
from vae_core.objectives import terms


def per_step_ms(step, n: int = 200) -> float:
    for i in range(20):
        step(i)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for i in range(n):
            step(i)
        runs.append((time.perf_counter() - start) / n * 1e3)
    return statistics.median(runs)


def main() -> None:
    torch.manual_seed(0)
    x_all = torch.rand(128 * 64, 1, 28, 28).round()
    model = VAE(ModelConfig(image_shape=(1, 28, 28), architecture="mlp", hidden=(400,), latent_dim=20))
    fused = torch.optim.Adam(model.parameters(), 1e-3, fused=True)
    default = torch.optim.Adam(model.parameters(), 1e-3)
    gen = torch.Generator().manual_seed(0)
    w = [torch.randn(o, i, requires_grad=True) for o, i in ((400, 784), (40, 400), (400, 20), (784, 400))]

    def batch(i):
        return x_all[(i % 64) * 128:(i % 64 + 1) * 128]

    def step(i, adam=fused, bf16=False):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = terms(model, batch(i), generator=gen).loss(1.0)
        model.zero_grad(set_to_none=True)
        loss.backward()
        if adam is not None:
            adam.step()

    def matmuls(i):
        h = batch(i).flatten(1) @ w[0].t()
        ((h @ w[1].t())[:, :20] @ w[2].t() @ w[3].t()).sum().backward()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ms per step of 128 images:")
    print(f"  whole step (forward, backward, fused Adam)  {per_step_ms(step):6.2f}")
    print(f"  the same with Adam's default implementation  {per_step_ms(lambda i: step(i, default)):6.2f}")
    print(f"  the same under bfloat16 autocast             {per_step_ms(lambda i: step(i, bf16=True)):6.2f}")
    print(f"  without the optimizer                        {per_step_ms(lambda i: step(i, None)):6.2f}")
    print(f"  the matrix multiplies alone (the floor)      {per_step_ms(matmuls):6.2f}")


if __name__ == "__main__":
    main()
