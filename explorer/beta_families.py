"""β families: bundles whose configurations are equal except β (what ``python -m
vae_core.cli.sweep`` trains), and each member's point (R, D) on the rate–distortion plane.

A family is found from config.json alone (no weights are loaded): two bundles belong to the
same family when their model configs are equal and their training configs are equal once β,
the device and torch.compile are set aside (a member trained on a GPU and one trained on the
CPU are the same experiment).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import streamlit as st

from explorer import state
from vae_core import Bundle, BundleError, weights_stamp
from vae_core.checkpoint import CONFIG, read_config, read_configs, weights_digest

# What may differ inside a family: β itself, and where and how fast the member ran (device, compile, step).
VARYING = ("beta", "device", "compile", "step")


@dataclass(frozen=True)
class Point:
    """One bundle on the rate–distortion plane, nats per image: R = KL, D = reconstruction,
    ELBO = −(D + R). ``source`` says which images the figures average over."""
    path: str
    name: str
    beta: float
    distortion: float
    rate: float
    active_units: int
    latent_dim: int
    source: str
    epoch_kept: str = ""  # "best of trained", e.g. "1 of 10", when metrics.json says

    @property
    def elbo(self) -> float:
        return -(self.distortion + self.rate)


def family_key(path: str | Path) -> str | None:
    """The bundle's configuration with β (and the device) left out, as a canonical JSON
    string; None when its config.json cannot be read (such a bundle joins no family)."""
    try:
        model, train, _ = read_configs(path)
    except BundleError:
        return None
    settings = {k: v for k, v in asdict(train).items() if k not in VARYING}
    return json.dumps({"model": asdict(model), "train": settings}, sort_keys=True, default=str)


def _model(config: dict) -> dict:
    stage1 = config["model"].get("stage1")  # a two-stage bundle's first stage is its Gaussian VAE
    return stage1 if isinstance(stage1, dict) else config["model"]


# What makes two bundles near relatives, in the order it weighs: a partner that differs from A in
# one late setting tells more than one that differs in an early one.
KINSHIP = (("data set", lambda c: c["train"].get("dataset")), ("model family", lambda c: c.get("family") or "vae"),
           ("architecture", lambda c: _model(c).get("architecture")),
           ("latent dimension", lambda c: _model(c).get("latent_dim")),
           ("decoder", lambda c: _model(c).get("likelihood")), ("β", lambda c: c["train"].get("beta")))


def nearest_relative(path: str | Path, candidates: list[str]) -> tuple[str, list[str]] | None:
    """The candidate closest to the bundle at ``path`` by KINSHIP (fewest differences, the
    earlier settings first, then by name), and the settings in which it differs; None when no
    candidate's config.json can be read."""
    try:
        mine = read_config(path)
    except BundleError:
        return None
    scored = []
    for other in candidates:
        try:
            theirs = read_config(other)
        except BundleError:
            continue
        differs = [name for name, of in KINSHIP if of(theirs) != of(mine)]
        scored.append(([name in differs for name, _ in KINSHIP], Path(other).name, other, differs))
    if not scored:
        return None
    _, _, best, differs = min(scored)
    return best, differs


def beta_of(path: str | Path) -> float:
    return float(read_configs(path)[1].beta)


@st.cache_data(show_spinner=False, max_entries=8)
def _keys(stamped: tuple[tuple[str, float], ...]) -> dict[str, tuple[str | None, str]]:
    """Each bundle's family key and the SHA-256 of its weights (to spot copies)."""
    return {path: (family_key(path), _digest(path)) for path, _ in stamped}


def _digest(path: str) -> str:
    try:
        return weights_digest(path)
    except (OSError, BundleError):
        return path  # unreadable weights: never taken for a copy of another bundle


def _stamp(path: Path) -> float:
    """Changes with the weights or with config.json, which the family key is read from."""
    config = Path(path) / CONFIG
    return max(weights_stamp(path), config.stat().st_mtime if config.exists() else 0.0)


def families(bundles: list[Path], *, keep: Path | None = None) -> list[list[Path]]:
    """Groups of two or more ``bundles`` with equal configs except β, each sorted by β, largest
    group first. A bundle copied to a second folder (the same weights: a training run and its
    copy in checkpoints/, both listed by the sidebar) counts once: ``keep`` if it is one of the
    copies, else the first listed."""
    bundles = [Path(p) for p in bundles]
    if keep is not None:  # listed first, so it is the copy kept
        bundles = [Path(keep), *(p for p in bundles if p != Path(keep))]
    keys = _keys(tuple((str(p), _stamp(p)) for p in bundles))
    groups: dict[str, list[Path]] = {}
    seen: set[str] = set()
    for p in bundles:
        key, digest = keys[str(p)]
        if key is not None and digest not in seen:
            seen.add(digest)
            groups.setdefault(key, []).append(p)
    found = [sorted(g, key=beta_of) for g in groups.values() if len(g) >= 2]
    return sorted(found, key=len, reverse=True)


def family_of(path: str | Path, bundles: list[Path]) -> list[Path]:
    """The family of the bundle at ``path`` among ``bundles`` (itself included, sorted by β),
    or [] when no other bundle shares its configuration."""
    path = Path(path)
    return next((group for group in families(bundles, keep=path) if path in group), [])


def point(bundle: Bundle) -> Point:
    """The bundle's (R, D) from metrics.json's test-set figures, or, when it has none yet,
    averaged over its probe images (D then from one z sample per image, as in training)."""
    m, beta = bundle.metrics, float(bundle.train_config.beta)
    if m and {"reconstruction", "kl", "active_units"} <= m.keys():
        return Point(str(bundle.path), bundle.name, beta, float(m["reconstruction"]), float(m["kl"]),
                     int(m["active_units"]), int(m.get("latent_dim", bundle.model_config.latent_dim)),
                     f"test set, {m.get('n_images', 0):,} images",
                     f"{m['best_epoch']} of {m['epochs']}" if {"best_epoch", "epochs"} <= m.keys() else "")
    arrays = state.probe(bundle)
    active = int(arrays["active"].sum()) if "active" in arrays else 0
    return Point(str(bundle.path), bundle.name, beta, float(arrays["reconstruction"].mean()),
                 float(arrays["kl"].mean()), active, arrays["mu"].shape[1],
                 f"probe, {len(arrays['labels']):,} images (no metrics.json)")


def short_name(path: str | Path) -> str:
    """``mnist-beta-0.5 (β = 0.5)``: the folder and its β, for pickers."""
    try:
        return f"{Path(path).name} (β = {beta_of(path):g})"
    except BundleError:
        return Path(path).name
