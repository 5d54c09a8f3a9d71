"""The command line ``vae-train-stage2`` (``python -m vae_core.cli.train_stage2``): stage 2 of the
two-stage VAE on a finished stage-1 bundle (vae_core.families.two_stage.training)."""
from __future__ import annotations

import argparse
import sys

from vae_core.cli.options import Parser, recorded_command, run_training, start_process
from vae_core.families.two_stage.training import train_second_stage


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    start_process()  # SIGTERM (a Stop) as Ctrl-C: --resume continues
    p = Parser(prog="vae-train-stage2", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("stage1", help="a finished bundle of a Gaussian VAE (best with --likelihood gaussian-learned)")
    p.add_argument("--out", required=True, help="the two-stage bundle to write")
    p.add_argument("--epochs", type=int, default=100, help="passes over the training codes")
    p.add_argument("--batch-size", type=int, default=64, help="codes per step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--lr-halve-every", type=int, default=0, help="halve the learning rate every N epochs; 0 never")
    p.add_argument("--width", type=int, default=1024, help="units of each stage-2 dense layer")
    p.add_argument("--depth", type=int, default=3, help="dense layers of each stage-2 MLP")
    p.add_argument("--seed", type=int, default=0, help="seeds stage 2's weights, the codes drawn and the order")
    p.add_argument("--data-dir", default=None, help="folder with the data set in torchvision's layout")
    p.add_argument("--no-download", action="store_true", help="never try to download a missing data set")
    p.add_argument("--overwrite", action="store_true", help="replace a bundle already in --out")
    p.add_argument("--resume", action="store_true", help="continue the unfinished run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    def run() -> None:
        out = train_second_stage(args.stage1, args.out, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                 lr_halve_every=args.lr_halve_every, width=args.width, depth=args.depth,
                                 seed=args.seed, data_dir=args.data_dir, download=not args.no_download,
                                 overwrite=args.overwrite, resume=args.resume, progress=not args.quiet,
                                 command=recorded_command("vae-train-stage2", argv))
        print(f"wrote {out}: stage 1 and stage 2; score its samples with vae-evaluate {out} --frechet-only")

    return run_training(run, args.out, "its last epoch")


if __name__ == "__main__":
    sys.exit(main())
