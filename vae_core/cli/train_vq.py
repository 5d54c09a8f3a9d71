"""The command line ``vae-train-vq`` (``python -m vae_core.cli.train_vq``): a VQ-VAE and then
its PixelCNN prior (vae_core.families.vq_vae.training)."""
from __future__ import annotations

import argparse
import sys

from vae_core import checkpoint as ckpt
from vae_core.cli.options import Parser, begin, ints, recorded_command, run_training
from vae_core.config import ConfigError, TrainConfig
from vae_core.data import DATASETS, IMAGE_SHAPES
from vae_core.families.vq_vae.model import VQConfig
from vae_core.families.vq_vae.training import train_vq


def build_parser() -> argparse.ArgumentParser:
    d = VQConfig()
    p = Parser(prog="vae-train-vq", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", required=True, help="the bundle folder to write")
    p.add_argument("--dataset", default="mnist", choices=[n for n in DATASETS if n != "folder"])
    p.add_argument("--epochs", type=int, default=10, help="VQ-VAE passes over the training split")
    p.add_argument("--prior-epochs", type=int, default=20, help="PixelCNN passes over the training codes")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the VQ-VAE")
    p.add_argument("--prior-lr", type=float, default=1e-3, help="Adam learning rate of the prior")
    p.add_argument("--codebook-size", type=int, default=d.codebook_size, help="K, codes in the codebook")
    p.add_argument("--embedding-dim", type=int, default=d.embedding_dim, help="D, dimension of each code vector")
    p.add_argument("--channels", type=ints, default=d.channels, help="stride-2 conv channels, e.g. 32,64")
    p.add_argument("--residual-blocks", type=int, default=d.residual_blocks)
    p.add_argument("--commitment", type=float, default=d.commitment, help="beta of the commitment loss")
    p.add_argument("--no-ema", action="store_true", help="learn the codebook by gradient (the codebook loss)")
    p.add_argument("--decay", type=float, default=d.decay, help="the EMA codebook's decay")
    p.add_argument("--restart-after", type=int, default=d.restart_after, help="restart a code unused this many steps; 0 never")
    p.add_argument("--likelihood", default=d.likelihood, choices=("bernoulli", "gaussian", "gaussian-learned"))
    p.add_argument("--sigma", type=float, default=d.sigma, help="the Gaussian decoder's sigma")
    p.add_argument("--prior-channels", type=int, default=d.prior_channels)
    p.add_argument("--prior-layers", type=int, default=d.prior_layers)
    p.add_argument("--probe-size", type=int, default=1000, help="test images kept in the bundle for the explorer")
    p.add_argument("--frechet", type=int, default=10_000, help="test images for the Fréchet distances; 0 none")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--data-dir", default=None, help="folder with the data set in torchvision's layout")
    p.add_argument("--no-download", action="store_true", help="never try to download a missing data set")
    p.add_argument("--overwrite", action="store_true", help="replace a bundle already in --out")
    p.add_argument("--resume", action="store_true", help="continue the unfinished run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    parser, args, argv = begin(build_parser, argv)  # denormals flushed, SIGTERM as Ctrl-C, then the options
    try:
        model_cfg = VQConfig(image_shape=IMAGE_SHAPES[args.dataset], channels=args.channels,
                             residual_blocks=args.residual_blocks, embedding_dim=args.embedding_dim,
                             codebook_size=args.codebook_size, likelihood=args.likelihood, sigma=args.sigma,
                             commitment=args.commitment, ema=not args.no_ema, decay=args.decay,
                             restart_after=args.restart_after, prior_channels=args.prior_channels,
                             prior_layers=args.prior_layers)
        train_cfg = TrainConfig(dataset=args.dataset, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                probe_size=args.probe_size, seed=args.seed, device=args.device)
    except ConfigError as exc:
        parser.error(str(exc))  # one line naming the option, status 2, as vae-train does
    def run() -> None:
        out = train_vq(model_cfg, train_cfg, args.out, prior_epochs=args.prior_epochs, prior_lr=args.prior_lr,
                       frechet=args.frechet, data_dir=args.data_dir, download=not args.no_download,
                       overwrite=args.overwrite, resume=args.resume, progress=not args.quiet,
                       command=recorded_command("vae-train-vq", argv))
        m = ckpt.read_metrics(out)
        print(f"wrote {out}: test D {m['reconstruction']:.2f}, prior NLL {m['kl']:.2f} (uniform "
              f"{m['uniform_rate']:.2f}), ELBO {m['elbo']:.2f} nats per image; {m['codebook']['used']} of "
              f"{m['codebook']['codebook_size']} codes used")

    return run_training(run, args.out, "its last epoch")


if __name__ == "__main__":
    sys.exit(main())
