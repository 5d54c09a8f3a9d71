"""Train a small diffusers AutoencoderKL on the CPU, on our objective, and save it with
diffusers' ``save_pretrained``: a real AutoencoderKL folder to open with vae-import-diffusers
(docs/diffusers.md gives the commands that made the shipped one).

    python -m vae_core.families.autoencoder_kl.training --dataset fashion-mnist --data-dir DIR \\
        --out runs/fashion-kl --minutes 25

The objective is the ELBO's D + β R, nats per image: D = -log N(x; decoded mean, σ² I) with
pixels in [0, 1], R = KL(q(z|x) ‖ N(0, I)) summed over the C' h w latent units. Stable
Diffusion's VAE trained instead on L1 + LPIPS + a GAN loss with a KL weight near 10⁻⁶; this
small one keeps β = 1 so its posterior and prior mean what they say. Images are zero-padded
from 28 to 32 pixels (three blocks: an 8 x 8 latent grid).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from vae_core.data import load_dataset, to_float
from vae_core.distributions import isotropic_log_prob
from vae_core.extras import need

SMALL = dict(block_out_channels=(16, 32, 32), layers_per_block=1, latent_channels=4, norm_num_groups=8)


def _pad(images: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.pad(to_float(images), (2, 2, 2, 2))  # 28 -> 32, background stays 0


def train(dataset: str, data_dir: str | None, out: Path, *, minutes: float, batch_size: int = 64,
          lr: float = 1e-3, sigma: float = 0.1, beta: float = 1.0, seed: int = 0) -> dict:
    """Train until ``minutes`` have passed (checked after each batch); save_pretrained into
    ``out/diffusers`` after every epoch and at the end, replacing the last one only when the new
    one is whole. Returns the last epoch's figures (nats per image, on the training batches)."""
    diffusers = need("diffusers", "diffusers", "Training an AutoencoderKL")
    torch.manual_seed(seed)
    x_train = _pad(load_dataset(dataset, "train", data_dir, download=False).images)
    n = len(SMALL["block_out_channels"])
    vae = diffusers.AutoencoderKL(in_channels=1, out_channels=1, down_block_types=("DownEncoderBlock2D",) * n,
                                  up_block_types=("UpDecoderBlock2D",) * n, sample_size=32, **SMALL)
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    log_sigma = torch.tensor(sigma).log()
    started, epoch, log = time.monotonic(), 0, []
    while time.monotonic() - started < minutes * 60:
        epoch += 1
        order = torch.randperm(len(x_train))
        sums = torch.zeros(2)
        seen = 0
        for i in range(0, len(order), batch_size):
            x = x_train[order[i:i + batch_size]]
            posterior = vae.encode(2 * x - 1).latent_dist
            mean = (vae.decode(posterior.sample()).sample + 1) / 2
            d = -isotropic_log_prob(x, mean, log_sigma).flatten(1).sum(1)
            r = posterior.kl()  # summed over the latent units: (B,)
            loss = (d + beta * r).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sums += torch.stack([d.sum(), r.sum()]).detach()
            seen += len(x)
            if time.monotonic() - started > minutes * 60:
                break
        row = {"epoch": epoch, "images": seen, "reconstruction": float(sums[0] / seen), "kl": float(sums[1] / seen),
               "minutes": round((time.monotonic() - started) / 60, 1)}
        row["elbo"] = -(row["reconstruction"] + row["kl"])
        log.append(row)
        print(json.dumps(row), flush=True)
        set_scaling_factor(vae, x_train)
        _save(vae, out / "diffusers")
        (out / "training.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    return log[-1]


@torch.no_grad()
def set_scaling_factor(vae, x: torch.Tensor, n: int = 5000) -> float:
    """Set the config's scaling_factor to 1 / std of latents z ~ q(z|x) of the first ``n``
    training images, as Rombach et al. (2022) chose Stable Diffusion's 0.18215: what a latent
    diffusion model trained on this VAE would multiply z by. Returns it."""
    z = torch.cat([vae.encode(2 * b - 1).latent_dist.sample() for b in x[:n].split(500)])
    factor = float(1 / z.std())
    vae.register_to_config(scaling_factor=factor)
    return factor


def _save(vae, folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".save-"))
    vae.save_pretrained(tmp, safe_serialization=True)
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_core.families.autoencoder_kl.training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist", choices=("fashion-mnist", "mnist"))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", required=True)
    parser.add_argument("--minutes", type=float, default=25.0, help="wall-clock budget (default 25)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    train(args.dataset, args.data_dir, Path(args.out), minutes=args.minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
