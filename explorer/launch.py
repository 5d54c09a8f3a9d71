"""Starting training runs from the browser: the explorer's settings for it, and the form's
values checked and turned into the command line ``vae-train ...``.

Settings (``streamlit run explorer/app.py -- OPTIONS``, or the environment):

- ``--no-training`` or ``VAE_EXPLORER_NO_TRAINING=1``: no form and no Stop buttons, for an
  explorer served to many people; runs can still be watched.
- ``--runs-dir DIR`` or ``$VAE_EXPLORER_RUNS``: where runs started here write their bundles
  (default ``runs/`` at the repository root).
- ``--max-runs N`` or ``$VAE_MAX_RUNS``: concurrent runs on this machine (default 1 on a CPU
  machine, one per GPU otherwise; see vae_core.runs.default_limit).

Who may start and stop runs is explorer.serving's question. What one browser can ask for is
bounded here: MAX_EPOCHS, MAX_MINUTES of wall time (the run stops itself, keeping its best
epoch), MAX_RUNS_PER_SESSION; the folder data set only for a session in charge of the server.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from vae_core import ConfigError, ModelConfig, TrainConfig, runs
from vae_core.data import DATASETS, IMAGE_SHAPES
from vae_core.cli.train import config_to_args

REPO = Path(__file__).resolve().parents[1]
NO_TRAINING_ENV, RUNS_DIR_ENV = "VAE_EXPLORER_NO_TRAINING", "VAE_EXPLORER_RUNS"
FOLDER = "folder"  # torchvision ImageFolder data set, where vae_core offers it
MAX_EPOCHS = 5000  # digits: ~5 min on 2 CPU cores; a terminal run has no such bound
MAX_MINUTES = 60  # wall time of a run started here (vae-train --max-minutes)
MAX_RUNS_PER_SESSION = 10


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--no-training", action="store_true")
    parser.add_argument("--runs-dir", default=None)
    parser.add_argument("--max-runs", type=int, default=None)
    return parser.parse_known_args(sys.argv[1:])[0]


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` is set to anything but "", 0, false or no."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def training_enabled() -> bool:
    """False under ``--no-training`` or ``VAE_EXPLORER_NO_TRAINING`` (see env_flag)."""
    return not (_options().no_training or env_flag(NO_TRAINING_ENV))


def runs_dir() -> Path:
    """Folder of the bundles of runs started from the browser."""
    return Path(_options().runs_dir or os.environ.get(RUNS_DIR_ENV) or REPO / "runs").expanduser()


def max_runs() -> int:
    """Concurrent runs allowed on this machine (``--max-runs``, ``$VAE_MAX_RUNS``, else by device)."""
    value = _options().max_runs
    return value if value is not None and value >= 1 else runs.default_limit()


def bundle_roots() -> list[Path]:
    """Where runs' bundles are: the runs folder and every registered run's folder (runs
    started from a terminal write anywhere)."""
    return [runs_dir(), *(run.out for run in runs.list_runs())]


@dataclass(frozen=True)
class RunRequest:
    """What the form asks for. Units: β dimensionless; capacity C and free bits λ in nats
    (C of the whole KL per image, λ per latent dimension); σ in pixel units of [0, 1]."""

    dataset: str = "digits"
    arch: str = "mlp"
    latent_dim: int = 2
    likelihood: str = "bernoulli"
    sigma: float = 0.1
    beta: float = 1.0
    warmup_epochs: int = 0
    capacity: float = 0.0
    capacity_epochs: int = 0
    free_bits: float = 0.0
    epochs: int = 300  # digits, MLP, z = 2: 15-30 s on 2 CPU cores, time to watch it
    log_every: int = 10  # 11 steps per digits epoch: about one training point per epoch
    folder: str = ""
    image_size: int = 28
    color: str = "grey"
    name: str = ""


def datasets() -> list[str]:
    """Data sets the installed vae_core trains on, digits first (no download needed)."""
    return sorted(DATASETS, key=lambda d: (d != "digits", d == FOLDER, d))


def configs(request: RunRequest, *, paths: bool = True) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs the form asks for, validated as training validates them.
    ``paths`` False (a visitor of a class): the folder data set, which names a folder of the
    server, is refused.

    Raises:
        ConfigError: a value is out of range; the message names the field.
    """
    r = request
    if r.dataset not in DATASETS:
        raise ConfigError(f"dataset must be one of {tuple(DATASETS)}, got {r.dataset!r}")
    if not (isinstance(r.epochs, int) and 1 <= r.epochs <= MAX_EPOCHS):
        raise ConfigError(f"epochs must be 1 to {MAX_EPOCHS} for a run started here (a terminal's vae-train has "
                          f"no bound), got {r.epochs!r}")
    if r.dataset == FOLDER and not paths:
        raise ConfigError("the folder data set names a folder of the server; only the person in charge of it may")
    if r.dataset == FOLDER:
        if not r.folder or not Path(r.folder).expanduser().is_dir():
            raise ConfigError(f"folder must be an existing folder of class sub-folders, got {r.folder!r}")
        shape = (3 if r.color == "rgb" else 1, r.image_size, r.image_size)
    else:
        shape = IMAGE_SHAPES[r.dataset]
    # sigma is unused by a Bernoulli decoder: left at its default, so the command does not show it
    sigma = r.sigma if r.likelihood != "bernoulli" else ModelConfig.sigma
    model = ModelConfig(image_shape=shape, latent_dim=r.latent_dim, architecture=r.arch, likelihood=r.likelihood,
                        sigma=sigma)
    train = TrainConfig(dataset=r.dataset, folder=r.folder if r.dataset == FOLDER else "", epochs=r.epochs,
                        beta=r.beta, warmup_epochs=r.warmup_epochs, capacity=r.capacity,
                        capacity_epochs=r.capacity_epochs, free_bits=r.free_bits)
    return model, train


def check(request: RunRequest, *, paths: bool = True) -> list[str]:
    """The command-line arguments (without --out) for ``request``: its configs through
    vae_core.cli.train.config_to_args, each option given only when it differs from the
    default, --log-every, and --max-minutes MAX_MINUTES.

    Raises:
        ConfigError: a value is out of range, or a folder asked for without ``paths``; the
            message names the field.
    """
    model, train = configs(request, paths=paths)
    if not (isinstance(request.log_every, int) and request.log_every >= 1):
        raise ConfigError(f"log_every must be an integer >= 1, got {request.log_every!r}")
    return [*config_to_args(model, train), "--log-every", str(request.log_every), "--max-minutes", str(MAX_MINUTES)]


def out_folder(request: RunRequest) -> Path:
    """The bundle folder for ``request``: its name, or data set, body, latent size, β and the
    time. Raises ConfigError for a name that is not a plain folder name or already exists."""
    name = request.name.strip() or (f"{request.dataset}-{request.arch}-z{request.latent_dim}-b{request.beta:g}-"
                                    + time.strftime("%Y%m%d-%H%M%S"))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}", name):
        raise ConfigError(f"name must be letters, digits, '.', '_' or '-' (at most 80), got {name!r}")
    out = runs_dir() / name
    if out.exists():
        raise ConfigError(f"name: {out} already exists; choose another name")
    return out


def start(request: RunRequest, *, owner: str, paths: bool, started_before: int = 0) -> runs.Run:
    """Check ``request`` and launch it for ``owner`` (see vae_core.runs.stop); ``paths``: may
    it name a folder of the server; ``started_before``: runs this session started already.

    Raises:
        ConfigError: a bad value, or a folder without ``paths``.
        runs.RunLimitError: MAX_RUNS_PER_SESSION reached, or max_runs() alive on this machine.
        OSError: the runs folder cannot be written.
    """
    args = check(request, paths=paths)
    if started_before >= MAX_RUNS_PER_SESSION:
        raise runs.RunLimitError(f"this session has started {started_before} runs, the most one session may")
    out = out_folder(request)
    out.parent.mkdir(parents=True, exist_ok=True)
    return runs.launch(args, out, limit=max_runs(), owner=owner)
