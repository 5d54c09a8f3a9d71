"""The config of a diffusers AutoencoderKL bundle: diffusers' own settings, each bounded, so a
stranger's config.json cannot ask for a network larger than its weights file."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vae_core.config import MAX_SIDE, _check, _JSONConfig, is_int

DOWN, UP = "DownEncoderBlock2D", "UpDecoderBlock2D"  # the only blocks AutoencoderKL is built from
ACTIVATIONS = ("silu", "swish", "relu", "gelu", "mish")
# AutoencoderKL.__init__'s arguments this family passes on (the rest keep diffusers' defaults).
DIFFUSERS_KEYS = ("in_channels", "out_channels", "down_block_types", "up_block_types", "block_out_channels",
                  "layers_per_block", "act_fn", "latent_channels", "norm_num_groups", "sample_size",
                  "scaling_factor", "shift_factor", "use_quant_conv", "use_post_quant_conv", "mid_block_add_attention")


MAX_LATENT_UNITS = 65_536  # Stable Diffusion's 4 x 64 x 64 at 512 x 512 is 16,384
MAX_ACTIVATIONS = 2**26  # channels x pixels at any block: Stable Diffusion's VAE at 512 x 512 needs 2**25


@dataclass(frozen=True)
class AutoencoderKLConfig(_JSONConfig):
    """diffusers' AutoencoderKL settings (as its config.json names them) and what the explorer
    adds: the image size the probe set has, and the σ of the Gaussian likelihood D assumes.

    Attributes:
        image_shape: (C, H, W) of the probe images; H and W divisible by 2^(blocks - 1).
        block_out_channels, layers_per_block, latent_channels, norm_num_groups, act_fn,
        use_quant_conv, use_post_quant_conv, mid_block_add_attention, sample_size: as diffusers.
        scaling_factor, shift_factor: what a latent diffusion model multiplies (after
            subtracting the shift) the VAE's latent by; no view here applies them.
        sigma: D = -log N(x; decoded mean, σ² I) in nats per image, pixels in [0, 1]. The
            AutoencoderKL defines no likelihood (it trained on L1, LPIPS and a GAN loss), so
            the ELBO here is under this assumed Gaussian.
        source: where the weights came from, in words.
    """

    image_shape: tuple[int, int, int] = (3, 32, 32)
    block_out_channels: tuple[int, ...] = (64,)
    layers_per_block: int = 1
    latent_channels: int = 4
    norm_num_groups: int = 32
    act_fn: str = "silu"
    sample_size: int = 32
    scaling_factor: float = 0.18215
    shift_factor: float | None = None
    use_quant_conv: bool = True
    use_post_quant_conv: bool = True
    mid_block_add_attention: bool = True
    sigma: float = 0.1
    source: str = ""

    def __post_init__(self):
        _check(isinstance(self.block_out_channels, tuple) and 1 <= len(self.block_out_channels) <= 6
               and all(is_int(b) and 0 < b <= 1024 for b in self.block_out_channels),
               f"block_out_channels must be 1 to 6 integers up to 1024, got {self.block_out_channels!r}")
        c, h, w = self.image_shape if len(self.image_shape) == 3 else (0, 0, 0)
        factor = 2 ** (len(self.block_out_channels) - 1)
        _check(c in (1, 3) and all(is_int(s) and 0 < s <= MAX_SIDE for s in (h, w)) and h % factor == 0
               and w % factor == 0, f"image_shape must be (C, H, W), C 1 or 3, H and W divisible by {factor}, "
                                    f"got {self.image_shape}")
        _check(is_int(self.norm_num_groups) and self.norm_num_groups > 0
               and all(b % self.norm_num_groups == 0 for b in self.block_out_channels),
               f"norm_num_groups must divide every block's channels, got {self.norm_num_groups}")
        _check(is_int(self.layers_per_block) and 1 <= self.layers_per_block <= 4,
               f"layers_per_block must be from 1 to 4, got {self.layers_per_block!r}")
        _check(is_int(self.latent_channels) and 1 <= self.latent_channels <= 64,
               f"latent_channels must be from 1 to 64, got {self.latent_channels!r}")
        units = self.latent_channels * (h // factor) * (w // factor)
        _check(units <= MAX_LATENT_UNITS, f"the latent would have {units} units, over {MAX_LATENT_UNITS}")
        widest = max(b * (h >> i) * (w >> i) for i, b in enumerate(self.block_out_channels))
        _check(widest <= MAX_ACTIVATIONS, f"a block would hold {widest} values per image, over {MAX_ACTIVATIONS}: "
                                          "open it at a smaller image size")
        _check(self.act_fn in ACTIVATIONS, f"act_fn must be one of {ACTIVATIONS}, got {self.act_fn!r}")
        _check(is_int(self.sample_size) and 0 < self.sample_size <= 4096, "sample_size must be from 1 to 4096")
        for name in ("scaling_factor", "sigma") + (("shift_factor",) if self.shift_factor is not None else ()):
            value = getattr(self, name)
            _check(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                   and (value >= 1e-4 or name == "shift_factor"), f"{name} must be a finite number >= 1e-4, got {value!r}")
        for name in ("use_quant_conv", "use_post_quant_conv", "mid_block_add_attention"):
            _check(isinstance(getattr(self, name), bool), f"{name} must be true or false")
        _check(isinstance(self.source, str) and len(self.source) <= 500, "source must be a string of at most 500 characters")

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """(C', h, w): latent_channels at 1/2^(blocks - 1) of the image's height and width."""
        factor = 2 ** (len(self.block_out_channels) - 1)
        return self.latent_channels, self.image_shape[1] // factor, self.image_shape[2] // factor

    @property
    def latent_dim(self) -> int:
        return math.prod(self.latent_shape)

    @property
    def likelihood(self) -> str:
        return "gaussian"  # what build_likelihood reads: fixed σ

    def diffusers_kwargs(self) -> dict[str, Any]:
        """AutoencoderKL(**these)."""
        n = len(self.block_out_channels)
        return {"in_channels": self.image_shape[0], "out_channels": self.image_shape[0],
                "down_block_types": (DOWN,) * n, "up_block_types": (UP,) * n,
                "block_out_channels": tuple(self.block_out_channels), "layers_per_block": self.layers_per_block,
                "act_fn": self.act_fn, "latent_channels": self.latent_channels, "norm_num_groups": self.norm_num_groups,
                "sample_size": self.sample_size, "scaling_factor": self.scaling_factor, "shift_factor": self.shift_factor,
                "use_quant_conv": self.use_quant_conv, "use_post_quant_conv": self.use_post_quant_conv,
                "mid_block_add_attention": self.mid_block_add_attention}

    @classmethod
    def from_diffusers(cls, data: dict[str, Any], image_shape: tuple[int, int, int], **extra) -> "AutoencoderKLConfig":
        """From diffusers' config.json (its ``_class_name`` checked by the caller). Raises
        ConfigError for blocks other than AutoencoderKL's own or values out of bounds."""
        _check(isinstance(data.get("block_out_channels"), list), "config.json needs \"block_out_channels\", a list")
        n = len(data["block_out_channels"])
        for key, block in (("down_block_types", DOWN), ("up_block_types", UP)):
            _check(list(data.get(key) or [block] * n) == [block] * n, f"{key} must be {n} x {block!r}, got {data.get(key)}")
        _check(data.get("in_channels", 3) == data.get("out_channels", 3) == image_shape[0],
               f"in_channels and out_channels must both be the image's {image_shape[0]}")
        known = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
                 if k in DIFFUSERS_KEYS and k not in ("in_channels", "out_channels", "down_block_types", "up_block_types")}
        return cls(image_shape=tuple(image_shape), **known, **extra)
