"""vae-import-diffusers: a diffusers AutoencoderKL as a bundle (docs/diffusers.md).

    vae-import-diffusers PATH --images FOLDER --out DIR [--size H W] [--sigma S]

PATH: a folder written by AutoencoderKL.save_pretrained, or a pipeline's folder holding vae/.
FOLDER: the probe images (ImageFolder layout), or a data set name (fashion-mnist, mnist).
"""
from __future__ import annotations

import sys

from vae_core.checkpoint import BundleError
from vae_core.cli.options import Parser, recorded_command
from vae_core.data import DatasetError, DatasetNotFoundError
from vae_core.extras import MissingExtra


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = Parser(prog="vae-import-diffusers", description="Open a diffusers AutoencoderKL folder as a bundle.")
    parser.add_argument("path", help="the AutoencoderKL's folder (config.json + diffusion_pytorch_model.safetensors), "
                                     "or a pipeline's folder with it in vae/")
    parser.add_argument("--images", required=True,
                        help="the probe images: an image folder, or a data set name (mnist, fashion-mnist)")
    parser.add_argument("--out", required=True, help="the bundle folder to write")
    parser.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None,
                        help="the image size the views work at (default: the model's sample_size)")
    parser.add_argument("--sigma", type=float, default=0.1,
                        help="σ of the Gaussian likelihood D is computed under, pixel units of [0, 1] (default 0.1)")
    parser.add_argument("--probe-size", type=int, default=1000, help="images kept as the probe set (default 1000)")
    parser.add_argument("--data-dir", default=None, help="the data sets' folder, for --images mnist or fashion-mnist")
    args = parser.parse_args(argv)
    if args.probe_size < 1:
        parser.error(f"--probe-size must be at least 1, got {args.probe_size}")
    try:
        from vae_core.families.autoencoder_kl.importer import import_autoencoder_kl, read_autoencoder_kl

        shape = None
        if args.size:
            channels = read_autoencoder_kl(args.path).config.image_shape[0]
            shape = (channels, *args.size)
        out = import_autoencoder_kl(args.path, args.images, args.out, image_shape=shape, sigma=args.sigma,
                                    probe_size=args.probe_size, data_dir=args.data_dir,
                                    command=recorded_command("vae-import-diffusers", argv))
    except (BundleError, MissingExtra, DatasetNotFoundError, DatasetError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out}; open it with: vae-explorer --bundles {out} (then pick {out.name} in the sidebar)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
