"""Model families: what every model offers the explorer, written once, and the registry that
turns a bundle's ``"family"`` into a model.

A family is a subclass of :class:`LatentModel` registered with :func:`register`: one module
(the Gaussian VAE is ``model.py``). The explorer relies only on this contract: encode an
image to a point of the latent space, decode a latent, per-image D and R, sample when it can,
and the latent's shape. What a family offers beyond it is named in ``provides``; a view that
needs such a thing (a Gaussian posterior for traversals and the KL per dimension) checks for
it and, for a model without it, says in a sentence what it needs.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

# What a family may provide beyond the contract; views check these, not family names, so a new
# family that provides them gets those views with no edit to them.
GAUSSIAN_POSTERIOR = "gaussian posterior"  # q(z|x) = N(mu, diag sigma^2): encode() -> (mu, logvar)
PRIOR_SAMPLES = "prior samples"  # sample() draws from the model's prior: generation
IMPORTANCE_WEIGHTED_BOUND = "importance-weighted bound"  # L_k of Burda et al. 2016
CODEBOOK = "discrete codebook"  # a latent of code indices into ``quantizer.codebook`` (the VQ-VAE)
# z drawn through a learned second stage that follows the aggregate posterior q(z), beside the
# plain prior N(0, I): sample(..., stage1=True) draws the latter (Dai & Wipf 2019, the two-stage VAE).
SECOND_STAGE = "second-stage sampler"
# The Gaussian latent is a grid (C', h, w), flattened for the views that read a vector; those
# that draw it as a grid (KL per channel and position) read ``model.spatial_shape``.
SPATIAL_LATENT = "spatial latent"

@dataclass
class Terms:
    """Per-image parts of the objective, each (B,) in nats per image.

    Attributes:
        reconstruction: D = -(1/L) sum_l log p(x | z_l), z_l ~ q(z|x).
        kl: R = KL(q(z|x) || p(z)), closed form.
        kl_per_dim: (B, D) the rate split by latent dimension; None for a family whose rate
            does not split by dimension.
        mu: (B, D) the posterior means the terms were computed from, for a Gaussian posterior
            (the active units need them: no second pass of the encoder); else None.
        iw_gap: (B,) for the importance-weighted objective, L_k - ELBO estimated from the same
            k samples (>= 0, exactly 0 at k = 1: objectives.terms); else None.
    """

    reconstruction: torch.Tensor
    kl: torch.Tensor
    kl_per_dim: torch.Tensor | None
    mu: torch.Tensor | None = None
    iw_gap: torch.Tensor | None = None

    @property
    def elbo(self) -> torch.Tensor:
        """(B,) ELBO = -(D + R), nats per image; a lower bound on log p(x)."""
        return -(self.reconstruction + self.kl)


DEFAULT_FAMILY = "vae"  # bundles written before families existed hold no "family": the Gaussian VAE
_FAMILIES: dict[str, type["LatentModel"]] = {}


class LatentModel(nn.Module, abc.ABC):
    """The contract of a model family. Images are (B, C, H, W) float in [0, 1]; every term is
    in nats per image. Subclasses set ``family``, ``title``, ``config_class`` and ``provides``,
    build themselves from ``config_class`` instances, and implement the methods below."""

    family: ClassVar[str]
    title: ClassVar[str]
    config_class: ClassVar[type]
    provides: ClassVar[frozenset[str]] = frozenset()
    explorer_note: ClassVar[str] = ""  # one sentence for views that do not apply: what its latent is instead
    rate_name: ClassVar[str] = "KL(q(z|x) ‖ p(z))"  # what its rate R is, in words: tables and axes say it
    train_command: ClassVar[str | None] = None  # the command that trains (and --resume continues) one

    @classmethod
    def from_folder(cls, folder, config) -> "LatentModel | None":
        """The model of a bundle folder whose weights are not ``model.safetensors`` (the ONNX
        family's graphs), checked against ``config``; None (the default) loads that file.
        Raises BundleError naming the file and the problem."""
        return None

    @property
    @abc.abstractmethod
    def latent_shape(self) -> tuple[int, ...]:
        """The shape of one image's latent, e.g. (D,) for a Gaussian VAE."""

    @abc.abstractmethod
    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, *latent_shape): the latent the explorer maps and decodes for an
        image (the posterior mean of a Gaussian VAE)."""

    @abc.abstractmethod
    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """(..., *latent_shape) -> (..., C, H, W) the decoder's mean E[x|z], in [0, 1]."""

    @abc.abstractmethod
    def image_terms(self, x: torch.Tensor, *, n_samples: int = 1, generator: torch.Generator | None = None):
        """Per-image distortion D and rate R of images (B, C, H, W), nats per image: an
        ``Terms`` (reconstruction (B,), kl (B,), kl_per_dim (B, D) or None)."""

    def sample(self, n: int, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, *latent_shape) latents drawn from the model's prior; ``temperature`` scales its
        spread. Only for families that provide PRIOR_SAMPLES."""
        raise TypeError(f"{self.title} does not sample from a prior")

    def evaluate_metrics(self, x: torch.Tensor, *, k: int = 100, batch_size: int = 500, seed: int = 0,
                         progress: bool = False) -> dict[str, Any]:
        """metrics.json's held-out figures of images ``x`` (N, C, H, W) float in [0, 1], already
        binarized where the model trained on binarized data: at least ``elbo``,
        ``reconstruction`` and ``kl`` in nats per image averaged over the N images, and
        ``n_images``. ``k``: importance samples of L_k for families that provide it. A family
        without it cannot be re-scored (TypeError, as ``sample`` for one without a prior)."""
        raise TypeError(f"{self.title} does not score held-out images (it defines no evaluate_metrics)")

    def named_samplers(self) -> dict[str, Any]:
        """The latent samplers whose images are scored for sample quality, by the key
        metrics.json's ``frechet_distance`` gives each: ``prior_samples`` for most families."""
        return {"prior_samples": self.sample} if PRIOR_SAMPLES in self.provides else {}


def register(cls: type[LatentModel]) -> type[LatentModel]:
    """Class decorator: make ``cls`` the model of bundles whose config says its ``family``."""
    _FAMILIES[cls.family] = cls
    return cls


def families() -> dict[str, type[LatentModel]]:
    """Every registered family by name."""
    return dict(_FAMILIES)


def family_class(name: str | None) -> type[LatentModel]:
    """The model class of family ``name`` (None: the Gaussian VAE of bundles written before
    families). Raises KeyError with the families known when there is none of that name."""
    name = DEFAULT_FAMILY if name is None else name
    if name not in _FAMILIES:
        raise KeyError(f"unknown model family {name!r}; this vae_core knows {sorted(_FAMILIES)}")
    return _FAMILIES[name]


def config_from_dict(name: str | None, data: dict[str, Any]):
    """The family's model config from config.json's "model" section; raises ConfigError."""
    return family_class(name).config_class.from_dict(data)


@torch.no_grad()
def evaluate(model: LatentModel, x: torch.Tensor, *, k: int = 100, batch_size: int = 500, seed: int = 0,
             progress: bool = False) -> dict[str, Any]:
    """Held-out figures of ``model`` on images ``x`` (N, C, H, W) float in [0, 1], in nats per
    image: each family's own (``LatentModel.evaluate_metrics``)."""
    return model.evaluate_metrics(x, k=k, batch_size=batch_size, seed=seed, progress=progress)
