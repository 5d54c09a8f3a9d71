"""Configuration dataclasses: validated on construction, round-tripped through JSON.

A bundle's ``config.json`` stores both configs, so a model can be rebuilt from its folder
alone. Unknown keys are refused loudly rather than ignored (a typo would otherwise train a
different model than the one asked for).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

ARCHITECTURES = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian", "gaussian-learned")
ACTIVATIONS = ("relu", "tanh")
LR_SCHEDULES = ("constant", "burda")
OBJECTIVES = ("elbo", "iwae")


class ConfigError(ValueError):
    """A configuration value is out of range or unknown; the message names the field."""


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_int(value: Any) -> bool:
    """An integer, not a bool: JSON's true and false are not sizes."""
    return type(value) is int


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


class _JSONConfig:
    """to_dict / from_dict for the config dataclasses; unknown keys are refused."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        _check(not unknown, f"{cls.__name__}: unknown field(s) {unknown}")
        # JSON has no tuples; the dataclasses use tuples so configs stay hashable.
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        try:
            return cls(**kwargs)
        except TypeError as exc:  # e.g. a wrongly typed value reaching a comparison
            raise ConfigError(f"{cls.__name__}: {exc}") from None


MAX_SIDE, MAX_LAYERS, MAX_WIDTH = 512, 8, 8192  # far beyond any model here; bounds what a config can ask for


@dataclass(frozen=True)
class ModelConfig(_JSONConfig):
    """The architecture of a VAE.

    Attributes:
        image_shape: (C, H, W) of the images the model reads and writes.
        latent_dim: dimension of z, 2 to 256.
        architecture: ``"mlp"`` (any image size) or ``"conv"`` (H and W divisible by
            2 ** len(channels); 28x28 MNIST with the default two stride-2 layers).
        hidden: widths of the MLP's hidden layers (encoder; the decoder mirrors them).
        channels: channels of the convolutional layers (encoder; the decoder mirrors them).
        fc_hidden: width of the fully connected layer between convolutions and latent; 0 for none.
        activation: ``"relu"`` or ``"tanh"``.
        likelihood: decoder p(x|z): ``"bernoulli"`` (logits, binary cross-entropy),
            ``"gaussian"`` (N(f(z), sigma^2 I), sigma fixed) or ``"gaussian-learned"``
            (one trainable sigma, Dai & Wipf 2019).
        sigma: decoder standard deviation for ``"gaussian"``, initial value for
            ``"gaussian-learned"``; in the units of pixel intensity in [0, 1].
    """

    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = 16
    architecture: str = "conv"
    hidden: tuple[int, ...] = (400,)
    channels: tuple[int, ...] = (32, 64)
    fc_hidden: int = 256
    activation: str = "relu"
    likelihood: str = "bernoulli"
    sigma: float = 0.1

    def __post_init__(self):
        _check(len(self.image_shape) == 3 and all(isinstance(s, int) and s > 0 for s in self.image_shape)
               and self.image_shape[0] in (1, 3) and max(self.image_shape[1:]) <= MAX_SIDE,
               f"image_shape must be (C, H, W) with C 1 or 3 and H, W from 1 to {MAX_SIDE}, got {self.image_shape}")
        _check(isinstance(self.latent_dim, int) and 2 <= self.latent_dim <= 256,
               f"latent_dim must be an integer from 2 to 256, got {self.latent_dim!r}")
        _check(self.architecture in ARCHITECTURES,
               f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        _check(self.likelihood in LIKELIHOODS,
               f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        _check(self.activation in ACTIVATIONS,
               f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        _check(len(self.hidden) <= MAX_LAYERS and all(isinstance(h, int) and 0 < h <= MAX_WIDTH for h in self.hidden),
               f"hidden must be at most {MAX_LAYERS} integers from 1 to {MAX_WIDTH}, got {self.hidden}")
        _check(1 <= len(self.channels) <= MAX_LAYERS and all(isinstance(c, int) and 0 < c <= MAX_WIDTH for c in self.channels),
               f"channels must be 1 to {MAX_LAYERS} integers from 1 to {MAX_WIDTH}, got {self.channels}")
        _check(isinstance(self.fc_hidden, int) and 0 <= self.fc_hidden <= MAX_WIDTH,
               f"fc_hidden must be from 0 to {MAX_WIDTH}, got {self.fc_hidden}")
        _check(_finite(self.sigma) and self.sigma > 0, f"sigma must be a finite number > 0, got {self.sigma!r}")
        if self.architecture == "conv":
            factor = 2 ** len(self.channels)
            _, h, w = self.image_shape
            _check(h % factor == 0 and w % factor == 0,
                   f"conv architecture with {len(self.channels)} stride-2 layers needs H and W divisible "
                   f"by {factor}, got {h}x{w}; use architecture 'mlp' or fewer channels")


@dataclass(frozen=True)
class TrainConfig(_JSONConfig):
    """How a model is trained. Losses are in nats per image throughout.

    Attributes:
        dataset: ``"mnist"``, ``"fashion-mnist"``, ``"digits"`` or ``"folder"`` (the user's
            own images; see ``folder``).
        folder: for ``dataset="folder"``, the image folder (torchvision ImageFolder layout, or
            images directly in it); the model's image_shape says the size and grey or RGB.
        epochs: maximum number of passes over the training split.
        batch_size: images per optimisation step.
        lr: Adam learning rate (the first one under a schedule).
        adam_eps: Adam's epsilon, added to the root of the second moment (Kingma & Ba 2015);
            Burda et al. 2016 train with 1e-4.
        lr_schedule: ``"constant"``, or ``"burda"``: Burda et al. 2016, section 5: stage
            i = 0, 1, ... lasts 3**i epochs at lr * 10**(-i/7) (3,280 epochs for stages 0 to 7).
        beta: weight of the KL term in D + beta * R (Higgins et al. 2017); 1 is the ELBO.
        warmup_epochs: beta rises linearly from 0 to ``beta`` over this many epochs
            (Bowman et al. 2016); 0 for none.
        capacity: capacity annealing (Burgess et al. 2018): when > 0, the loss is
            D + beta * |R - C| with the KL target C, in nats per image, rising to this value.
        capacity_epochs: epochs over which C rises linearly from 0 to ``capacity``; 0 keeps it
            constant.
        free_bits: free bits (Kingma et al. 2016): when > 0, each latent dimension's KL,
            averaged over the batch, counts as at least this many nats. Not with ``capacity``.
        objective: ``"elbo"`` (D + beta * R and its variants above) or ``"iwae"``: maximise the
            importance-weighted bound L_k with k = ``mc_samples`` samples per image (Burda et
            al. 2016, eq. 8); L_1 is the ELBO, exactly. Only with beta 1 and no warm-up,
            capacity or free bits, which are ELBO variants.
        mc_samples: L, Monte Carlo samples of z per image for the reconstruction term; the k of
            ``objective="iwae"``.
        binarize: dynamic binarization (pixels drawn as Bernoulli(intensity) every time a
            batch is drawn); None means on for a Bernoulli decoder on MNIST, off otherwise.
        patience: stop when the held-out D + beta * R (-ELBO at beta = 1) has not improved for
            this many epochs; 0 never.
        eval_k: importance samples k of the final L_k log-likelihood estimate on the test split.
        probe_size: held-out test images stored in the bundle for the explorer.
        seed: seeds the weights, the data order and the binarization.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        compile: ``torch.compile`` the model's forward pass (CUDA only).
        bf16: bfloat16 autocast of the forward pass (true, false, or ``"auto"``: on the CPU, kept
            when a short measurement at the start finds it faster and the CPU computes bf16 in
            hardware); losses are summed in float32.
        step: ``"eager"`` (the default), ``"compiled"`` (forward, backward and Adam as one
            torch.compile graph on the CPU, vae_core.families.gaussian.compiled_step), or ``"auto"`` (compiled where
            it applies and pays: an MLP run of at least 25,000 steps, never the conv body, whose
            compiled step is slower on the CPU; compiled_step.AUTO_MIN_STEPS). Not
            the default: the compile delays the first epoch by 10–25 s, which a run started from
            the browser and watched, or stopped early, pays for nothing.
    """

    dataset: str = "mnist"
    folder: str = ""
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    adam_eps: float = 1e-8
    lr_schedule: str = "constant"
    beta: float = 1.0
    warmup_epochs: int = 0
    capacity: float = 0.0
    capacity_epochs: int = 0
    free_bits: float = 0.0
    objective: str = "elbo"
    mc_samples: int = 1
    binarize: bool | None = None
    patience: int = 0
    eval_k: int = 100
    probe_size: int = 4000
    seed: int = 0
    device: str = "auto"
    compile: bool = False
    bf16: bool | str = False
    step: str = "eager"

    def __post_init__(self):
        from vae_core.data import DATASETS  # local: data imports torchvision, config should stay light

        _check(self.dataset in DATASETS, f"dataset must be one of {tuple(DATASETS)}, got {self.dataset!r}")
        _check(isinstance(self.folder, str) and (bool(self.folder) == (self.dataset == "folder")),
               f"folder is needed with dataset 'folder' and only with it, got dataset {self.dataset!r}, "
               f"folder {self.folder!r}")
        for name in ("epochs", "batch_size", "mc_samples", "eval_k", "probe_size"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value >= 1, f"{name} must be an integer >= 1, got {value!r}")
        for name in ("warmup_epochs", "capacity_epochs", "patience", "seed"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value >= 0, f"{name} must be an integer >= 0, got {value!r}")
        _check(self.lr_schedule in LR_SCHEDULES, f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        _check(_finite(self.lr) and self.lr > 0, f"lr must be a finite number > 0, got {self.lr!r}")
        _check(_finite(self.adam_eps) and 0 < self.adam_eps < 1,
               f"adam_eps must be a number between 0 and 1, got {self.adam_eps!r}")
        _check(_finite(self.beta) and self.beta >= 0, f"beta must be a finite number >= 0, got {self.beta!r}")
        for name in ("capacity", "free_bits"):
            value = getattr(self, name)
            _check(_finite(value) and value >= 0, f"{name} must be a finite number of nats >= 0, got {value!r}")
        _check(not (self.capacity > 0 and self.free_bits > 0),
               "choose capacity annealing or free bits, not both (capacity and free_bits both > 0)")
        _check(self.objective in OBJECTIVES, f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        _check(self.objective == "elbo" or (self.beta == 1 and not (self.warmup_epochs or self.capacity
                                                                     or self.free_bits)),
               "the importance-weighted objective (objective 'iwae') bounds log p(x) only as it is: beta 1, "
               f"no warm-up, capacity or free bits (got beta {self.beta:g}, warmup_epochs {self.warmup_epochs}, "
               f"capacity {self.capacity:g}, free_bits {self.free_bits:g})")
        _check(isinstance(self.compile, bool), f"compile must be true or false, got {self.compile!r}")
        _check(isinstance(self.bf16, bool) or self.bf16 == "auto", f"bf16 must be true, false or 'auto', got {self.bf16!r}")
        _check(self.step in ("auto", "eager", "compiled"), f"step must be 'auto', 'eager' or 'compiled', got {self.step!r}")
        _check(self.binarize in (None, True, False), f"binarize must be true, false or null, got {self.binarize!r}")
        _check(isinstance(self.device, str) and (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")),
               f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
