"""The ONNX family's command lines (docs/onnx.md):

    vae-export-onnx BUNDLE --out DIR
        a Gaussian VAE, two-stage VAE or VQ-VAE bundle as encoder.onnx + decoder.onnx
    vae-bundle-modules FILE.py:FUNCTION --images PATH --out DIR [--image-shape C H W] ...
        FUNCTION() returns the user's (encoder, decoder) modules, weights loaded; written as an
        ONNX bundle with their images as the probe set. This runs the user's own file, as
        python would: it is for their machine, not for anything a browser sends.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from torch import nn

from vae_core.checkpoint import BundleError
from vae_core.cli.options import Parser, recorded_command
from vae_core.data import DATASETS, DatasetError, DatasetNotFoundError
from vae_core.extras import MissingExtra
from vae_core.families.onnx.config import LIKELIHOODS
from vae_core.families.onnx.modules import SCALES

ERRORS = (BundleError, MissingExtra, DatasetNotFoundError, DatasetError, ValueError, OSError)


def export_main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = Parser(prog="vae-export-onnx", description="Write a bundle as an ONNX bundle (encoder.onnx, decoder.onnx).")
    parser.add_argument("bundle", help="a bundle folder of the Gaussian VAE, two-stage VAE or VQ-VAE family")
    parser.add_argument("--out", required=True, help="the ONNX bundle's folder")
    args = parser.parse_args(argv)
    from vae_core.families.onnx.export import export_bundle

    try:
        out, used = export_bundle(args.bundle, args.out, command=recorded_command("vae-export-onnx", argv))
    except ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({', '.join(f'{k} by the {v} exporter' for k, v in used.items())}); "
          f"open it with: vae-explorer --bundles {out} (then pick {out.name} in the sidebar)")
    return 0


def _load_factory(spec: str):
    """FILE.py:FUNCTION or package.module:FUNCTION -> the function."""
    where, _, name = spec.rpartition(":")
    if not where or not name:
        raise ValueError(f"expected FILE.py:FUNCTION or module:FUNCTION, got {spec!r}")
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise ValueError(f"{path} is not a file")
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except ValueError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001  a syntax error, a missing import: theirs
        raise ValueError(f"cannot load {where}: {type(exc).__name__}: {exc}") from None
    if not callable(getattr(module, name, None)):
        raise ValueError(f"{where} has no function {name!r}")
    return getattr(module, name)


def _run_factory(spec: str) -> tuple:
    """The (encoder, decoder) pair FUNCTION() returns; whatever the user's file raises, in words."""
    factory = _load_factory(spec)
    try:
        pair = factory()
    except (Exception, SystemExit) as exc:  # noqa: BLE001  their code, their exceptions
        raise ValueError(f"{spec} raised {type(exc).__name__}: {exc}") from None
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(m, nn.Module) for m in pair)):
        raise ValueError(f"{spec} must return (encoder, decoder), two torch.nn.Modules; it returned {type(pair).__name__}")
    return tuple(pair)


def modules_main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = Parser(prog="vae-bundle-modules",
                    description="Write a bundle from your own PyTorch encoder and decoder (exported to ONNX).")
    parser.add_argument("factory", help="FILE.py:FUNCTION (or module:FUNCTION); FUNCTION() returns (encoder, decoder)")
    parser.add_argument("--images", required=True, help="an image folder (one sub-folder per class, or images in it)")
    parser.add_argument("--image-shape", type=int, nargs=3, metavar=("C", "H", "W"), required=True,
                        help="what the encoder reads: channels (1 or 3), height, width; images are resized to it")
    parser.add_argument("--out", required=True, help="the bundle folder to write")
    parser.add_argument("--likelihood", choices=LIKELIHOODS, default="bernoulli", help="p(x|z) for D (default bernoulli)")
    parser.add_argument("--sigma", type=float, default=0.1, help="the Gaussian likelihood's σ, pixel units (default 0.1)")
    parser.add_argument("--decoder-output", choices=("mean", "logits"), default="mean",
                        help="what the decoder returns: the mean in [0, 1] (default) or logits")
    parser.add_argument("--encoder-scale", choices=SCALES, default="logvar",
                        help="the encoder's second output: logvar (default), log_std or std")
    parser.add_argument("--dataset", choices=[d for d in DATASETS if d != "folder"], default=None,
                        help="the named data set the images are from, if any")
    parser.add_argument("--probe-size", type=int, default=1000, help="images kept as the probe set (default 1000)")
    args = parser.parse_args(argv)
    from vae_core.families.onnx.modules import bundle_from_modules

    if args.probe_size < 1:
        parser.error(f"--probe-size must be at least 1, got {args.probe_size}")
    try:
        pair = _run_factory(args.factory)
        out = bundle_from_modules(*pair, args.images, args.out, likelihood=args.likelihood,
                                  sigma=args.sigma, decoder_output=args.decoder_output,
                                  encoder_scale=args.encoder_scale, image_shape=args.image_shape,
                                  dataset=args.dataset, probe_size=args.probe_size,
                                  command=recorded_command("vae-bundle-modules", argv))
    except ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001  the user's modules can raise anything while exported or run
        print(f"error: your modules failed while being exported or run on the images: {type(exc).__name__}: "
              f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}", file=sys.stderr)
        return 1
    print(f"wrote {out}; open it with: vae-explorer --bundles {out} (then pick {out.name} in the sidebar)")
    return 0
