"""The command line ``vae-train`` (``python -m vae_core.cli.train``): options to configs and
back, and the run registry around the training call (vae_core.families.gaussian.training)."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from vae_core import checkpoint as ckpt
from vae_core import runs
from vae_core.cli.options import Parser, begin, bf16, ints, recorded_command, run_training, stop_after
from vae_core.config import ACTIVATIONS, ARCHITECTURES, LIKELIHOODS, LR_SCHEDULES, OBJECTIVES, ConfigError, ModelConfig, TrainConfig
from vae_core.data import DATASETS, IMAGE_SHAPES
from vae_core.families.gaussian.training import train

# Config field -> argparse dest of its option; every field but image_shape (which the data set
# and, for a folder, --image-size and --color give). tests/test_cli.py checks none is missing.
MODEL_OPTIONS = {"latent_dim": "latent_dim", "architecture": "arch", "hidden": "hidden", "channels": "channels",
                 "fc_hidden": "fc_hidden", "activation": "activation", "likelihood": "likelihood", "sigma": "sigma"}
TRAIN_OPTIONS = {name: name for name in (
    "dataset", "folder", "epochs", "batch_size", "lr", "adam_eps", "lr_schedule", "beta", "warmup_epochs", "capacity",
    "capacity_epochs", "free_bits", "objective", "mc_samples", "binarize", "patience", "eval_k", "probe_size", "seed", "device",
    "compile", "bf16", "step")}

# --preset NAME: a published recipe as option defaults; options given on the line still win.
PRESETS = {
    # Burda, Grosse & Salakhutdinov 2016, section 5 and appendix: the one-stochastic-layer VAE
    # of table 1 (test NLL 86.76 nats): 784-200-200-50 tanh MLPs, Bernoulli decoder, dynamic
    # binarization, Adam (0.9, 0.999, eps 1e-4), batch 20, 3**i epochs at 1e-3 * 10**(-i/7).
    "burda2016": {"dataset": "mnist", "arch": "mlp", "hidden": (200, 200), "activation": "tanh", "latent_dim": 50,
                  "likelihood": "bernoulli", "binarize": True, "batch_size": 20, "lr": 1e-3, "adam_eps": 1e-4,
                  "lr_schedule": "burda", "epochs": 3280, "eval_k": 5000},
}


class _PresetParser(Parser):
    """vae-train's parser: a ``--preset`` anywhere on the line sets that recipe's defaults
    before the other options are read, so an explicit option overrides it."""

    def parse_known_args(self, args=None, namespace=None):
        peek = Parser(prog=self.prog, add_help=False)
        peek.add_argument("--preset", choices=tuple(PRESETS))
        chosen, _ = peek.parse_known_args(args)
        if chosen.preset:
            self.set_defaults(**PRESETS[chosen.preset])
        return super().parse_known_args(args, namespace)


def build_parser() -> argparse.ArgumentParser:
    m, t = ModelConfig(), TrainConfig()
    p = _PresetParser(
        prog="vae-train",
        description="Train a VAE and write a checkpoint bundle. Losses are in nats per image: "
                    "summed over pixels and latent dimensions, averaged over images.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", choices=tuple(PRESETS),
                   help="a published recipe's options as defaults (others given still apply): 'burda2016', the "
                        "VAE of Burda et al. 2016, table 1 (docs/benchmarks.md)")
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, default=t.dataset,
                   help="named data set; 'digits' is scikit-learn's embedded 8x8 set; 'folder' your own images (--folder)")
    g.add_argument("--folder", default="", help="with --dataset folder: a folder of images, directly in it or one "
                                                "sub-folder per class (torchvision ImageFolder); 10%% held out for testing")
    g.add_argument("--image-size", type=int, default=28, help="with --dataset folder: images resized to this square side")
    g.add_argument("--color", choices=("grey", "rgb"), default="grey", help="with --dataset folder: 1 grey or 3 RGB channels")
    g.add_argument("--data-dir", default=None, help="folder in torchvision's layout (MNIST/raw/*.gz); default $VAE_DATA_DIR or ~/.cache/vae_core/data")
    g.add_argument("--no-download", action="store_true", help="never try to download a missing data set")
    g.add_argument("--binarize", action=argparse.BooleanOptionalAction, default=None,
                   help="dynamic binarization: pixels drawn as Bernoulli(intensity) each time a batch is drawn; default on for MNIST with a Bernoulli decoder")
    g = p.add_argument_group("model")
    g.add_argument("--arch", choices=ARCHITECTURES, default=m.architecture, help="encoder/decoder body; 'conv' needs H, W divisible by 2**len(channels)")
    g.add_argument("--latent-dim", type=int, default=m.latent_dim, help="dimension of z, 2 to 256")
    g.add_argument("--hidden", type=ints, default=m.hidden, help="MLP hidden widths, comma-separated")
    g.add_argument("--channels", type=ints, default=m.channels, help="conv channels per stride-2 layer, comma-separated")
    g.add_argument("--fc-hidden", type=int, default=m.fc_hidden, help="conv: width of the dense layer before z; 0 for none")
    g.add_argument("--activation", choices=ACTIVATIONS, default=m.activation, help="hidden-layer nonlinearity")
    g.add_argument("--likelihood", choices=LIKELIHOODS, default=m.likelihood, help="decoder p(x|z): Bernoulli logits, Gaussian with fixed sigma, or Gaussian with learned sigma")
    g.add_argument("--sigma", type=float, default=m.sigma, help="Gaussian decoder std in pixel units (fixed, or initial if learned); beta = 2 sigma^2 links MSE + beta KL to the ELBO")
    g = p.add_argument_group("objective and optimisation")
    g.add_argument("--beta", type=float, default=t.beta, help="weight of the KL term in D + beta R; 1 is the ELBO, 0 a plain autoencoder")
    g.add_argument("--warmup-epochs", type=int, default=t.warmup_epochs, help="epochs over which beta rises linearly from 0 (KL warm-up); 0 for none")
    g.add_argument("--capacity", type=float, default=t.capacity,
                   help="capacity annealing (Burgess et al. 2018): minimise D + beta |KL - C| with the KL target C "
                        "rising to this many nats per image; 0 for none")
    g.add_argument("--capacity-epochs", type=int, default=t.capacity_epochs,
                   help="epochs over which C rises linearly from 0 to --capacity; 0 keeps it constant")
    g.add_argument("--free-bits", type=float, default=t.free_bits,
                   help="free bits (Kingma et al. 2016): each latent dimension's KL counts as at least this many "
                        "nats; 0 for none")
    g.add_argument("--objective", choices=OBJECTIVES, default=t.objective,
                   help="'iwae': maximise the importance-weighted bound L_k, k = --mc-samples (Burda et al. 2016); "
                        "beta 1 only. 'elbo': D + beta R")
    g.add_argument("--mc-samples", type=int, default=t.mc_samples,
                   help="L, samples of z per image in the reconstruction term; k of --objective iwae")
    g.add_argument("--epochs", type=int, default=t.epochs, help="maximum passes over the training split")
    g.add_argument("--patience", type=int, default=t.patience, help="stop after this many epochs without a better held-out D + beta R (-ELBO at beta 1); 0 never")
    g.add_argument("--batch-size", type=int, default=t.batch_size, help="images per step")
    g.add_argument("--lr", type=float, default=t.lr, help="Adam learning rate")
    g.add_argument("--adam-eps", type=float, default=t.adam_eps, help="Adam's epsilon (Burda et al. 2016: 1e-4)")
    g.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=t.lr_schedule,
                   help="'burda': 3**i epochs at lr * 10**(-i/7) for stage i (Burda et al. 2016; 3280 epochs for i <= 7)")
    g.add_argument("--seed", type=int, default=t.seed, help="seeds weights, data order and binarization")
    g.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA only)")
    g.add_argument("--bf16", nargs="?", const=True, default=t.bf16, type=bf16,
                   help="bfloat16 autocast of the forward pass; '--bf16 auto': on the CPU, where a short measurement "
                        "at the start finds it faster (and the CPU has bf16 in hardware)")
    g.add_argument("--step", choices=("auto", "eager", "compiled"), default=t.step,
                   help="'compiled': forward, backward and Adam as one torch.compile graph (CPU; faster steps, "
                        "10-25 s to compile first); 'auto': compiled where that pays (MLP runs of 25,000 steps or "
                        "more; never the conv body, slower compiled; python -m bench.compile_pays); 'eager' (default)")
    g.add_argument("--device", default=t.device, help="'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'")
    g = p.add_argument_group("output")
    g.add_argument("--out", required=True, help="bundle folder to write")
    g.add_argument("--overwrite", action="store_true", help="replace a bundle already in --out")
    g.add_argument("--resume", action="store_true",
                   help="continue the unfinished run in --out from its last complete epoch, with the options it was "
                        "started with (the others given here are ignored); starts it when --out holds none")
    g.add_argument("--eval-k", type=int, default=t.eval_k, help="importance samples k of the final test-set L_k estimate (5000 is the literature's)")
    g.add_argument("--probe-size", type=int, default=t.probe_size, help="test images stored in the bundle for the explorer")
    g.add_argument("--log-every", type=int, default=100, help="steps between history.jsonl records")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop after this many minutes of wall time, as Ctrl-C would (the bundle keeps its best "
                        "epoch; --resume continues); 0 for no limit. Runs started from the explorer have one")
    return p


def configs_from_args(args: argparse.Namespace, image_shape: tuple[int, int, int]) -> tuple[ModelConfig, TrainConfig]:
    """The configs a parsed command line asks for (the inverse of config_to_args). Raises ConfigError."""
    model = ModelConfig(image_shape=image_shape, **{f: getattr(args, dest) for f, dest in MODEL_OPTIONS.items()})
    train_cfg = TrainConfig(**{f: getattr(args, dest) for f, dest in TRAIN_OPTIONS.items()})
    return model, train_cfg


def image_shape_of(args: argparse.Namespace) -> tuple[int, int, int]:
    """(C, H, W) of the data set the command line names: fixed for a named one, from --color
    and --image-size for a folder."""
    return IMAGE_SHAPES.get(args.dataset) or ((3 if args.color == "rgb" else 1), args.image_size, args.image_size)


def config_to_args(model: ModelConfig, train_cfg: TrainConfig) -> list[str]:
    """The options of ``vae-train`` that make these configs, each given only when
    it differs from the default (without --out and the output options): what the explorer's form
    launches. Raises ConfigError when the image shape is not the named data set's."""
    args: list[str] = []
    defaults = {**ModelConfig().to_dict(), **TrainConfig().to_dict()}
    values = {**model.to_dict(), **train_cfg.to_dict()}
    for field, dest in {**MODEL_OPTIONS, **TRAIN_OPTIONS}.items():
        value = values[field]
        if value == defaults[field]:
            continue
        flag = "--" + dest.replace("_", "-")
        if isinstance(value, bool):  # --compile, --bf16; --binarize / --no-binarize
            args.append(flag if value else "--no-" + dest)
        elif isinstance(value, (tuple, list)):
            args += [flag, ",".join(map(str, value))]
        else:
            args += [flag, str(value)]
    shape = tuple(model.image_shape)
    if train_cfg.dataset == "folder":
        if shape[1] != shape[2]:
            raise ConfigError(f"image_shape: a folder's images are made square, got {shape}")
        args += ["--image-size", str(shape[1])] if shape[1] != 28 else []
        args += ["--color", "rgb"] if shape[0] == 3 else []
    elif shape != IMAGE_SHAPES[train_cfg.dataset]:
        raise ConfigError(f"image_shape: {train_cfg.dataset} images are {IMAGE_SHAPES[train_cfg.dataset]}, got {shape}")
    return args


def main(argv: list[str] | None = None) -> int:
    parser, args, argv = begin(build_parser, argv)  # denormals flushed, SIGTERM as Ctrl-C, then the options
    try:
        model_cfg, train_cfg = configs_from_args(args, image_shape_of(args))
    except ConfigError as exc:
        parser.error(str(exc))  # exits with status 2 and one line naming the option
    if args.log_every < 1:
        parser.error("--log-every must be >= 1")
    if not args.max_minutes >= 0:
        parser.error("--max-minutes must be >= 0")
    stop_after(args.max_minutes)
    command = recorded_command("vae-train", argv)

    def run() -> None:
        model, trainer, recorded = model_cfg, train_cfg, command
        if args.resume and (Path(args.out) / ckpt.TRAIN_STATE).exists():
            # The run goes on as it was started, whatever else this command line says.
            model, trainer, recorded = ckpt.read_configs(args.out)
        rank0 = int(os.environ.get("RANK", "0")) == 0  # under torchrun, rank 0 registers and reports
        with _registered(Path(args.out), recorded, rank0):
            out = train(model, trainer, args.out, data_dir=args.data_dir, download=not args.no_download,
                        command=recorded, overwrite=args.overwrite, log_every=args.log_every, progress=not args.quiet,
                        resume=args.resume)
            if rank0:  # inside: the run is recorded as finished once its summary is out
                _summary(out, model, trainer)

    return run_training(run, args.out, "its best epoch so far")


def _summary(out: Path, model_cfg: ModelConfig, train_cfg: TrainConfig) -> None:
    metrics = ckpt.read_metrics(out) or {}
    print(f"wrote {out}: test ELBO {metrics.get('elbo', float('nan')):.2f}, "
          f"L_k {metrics.get('log_likelihood', {}).get('estimate', float('nan')):.2f} with k = {train_cfg.eval_k} "
          f"(nats per image), {metrics.get('active_units')} of {model_cfg.latent_dim} active units", flush=True)


@contextlib.contextmanager
def _registered(out: Path, command: str | None, enabled: bool):
    """The run, in the registry of runs (vae_core.runs) while it trains and after it ends: the
    command registers its run, so that the explorer lists terminal runs too; the library
    function train() leaves the machine-wide registry alone."""
    if not enabled:
        yield
        return
    runs.register(out, command)
    try:
        yield
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM under ``vae-train``
        runs.finish(out, "stopped", "stopped before the last epoch; --resume continues it")
        raise
    except BaseException as exc:
        runs.finish(out, "failed", f"{type(exc).__name__}: {exc}".splitlines()[0])
        raise
    runs.finish(out, "finished")


if __name__ == "__main__":
    sys.exit(main())
