"""What an ONNX bundle's config.json says of its two graphs: the image, the latent, the
posterior and the likelihood. The graphs are checked against it when the bundle opens."""
from __future__ import annotations

import math
from dataclasses import dataclass

from vae_core.config import MAX_SIDE, _check, _JSONConfig, is_int

POSTERIORS = ("gaussian", "quantized")
LIKELIHOODS = ("bernoulli", "gaussian")
DECODER_OUTPUTS = ("logits", "mean")
MAX_LATENT_UNITS = 65_536  # Stable Diffusion's 4 x 64 x 64 at 512 x 512 is 16,384
ENCODER, DECODER, PRIOR = "encoder.onnx", "decoder.onnx", "prior.onnx"


@dataclass(frozen=True)
class OnnxConfig(_JSONConfig):
    """The contract of ``encoder.onnx`` and ``decoder.onnx`` (docs/onnx.md).

    Attributes:
        image_shape: (C, H, W), C 1 or 3: the encoder's input "image", float32 in [0, 1].
        latent_shape: one image's latent: (D,) or (C', h, w) for a Gaussian posterior (the
            encoder's outputs "mu" and "logvar"); (h, w) for a quantized one (output "codes",
            int64 indices into a codebook of ``codebook_size``).
        posterior: ``"gaussian"`` (q(z|x) = N(mu, diag exp(logvar)), prior N(0, I)) or
            ``"quantized"`` (a VQ-VAE: a point mass on the codes, prior uniform or prior.onnx).
        codebook_size: K, for a quantized posterior; 0 otherwise.
        likelihood: ``"bernoulli"`` or ``"gaussian"`` (fixed ``sigma``, in pixel units of [0, 1]).
        decoder_output: what the decoder's output "out" (B, C, H, W) is: ``"logits"``
            (sigmoid(out) is the mean, as vae_core's decoders) or ``"mean"`` (E[x|z] in [0, 1]).
        source: where the graphs came from, in words (shown on the model card).
    """

    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_shape: tuple[int, ...] = (16,)
    posterior: str = "gaussian"
    codebook_size: int = 0
    likelihood: str = "bernoulli"
    sigma: float = 0.1
    decoder_output: str = "logits"
    source: str = ""

    def __post_init__(self):
        _check(len(self.image_shape) == 3 and all(is_int(s) and 0 < s <= MAX_SIDE for s in self.image_shape)
               and self.image_shape[0] in (1, 3), f"image_shape must be (C, H, W) with C 1 or 3, got {self.image_shape}")
        _check(self.posterior in POSTERIORS, f"posterior must be one of {POSTERIORS}, got {self.posterior!r}")
        dims = (1, 3) if self.posterior == "gaussian" else (2,)
        _check(len(self.latent_shape) in dims and all(is_int(s) and s > 0 for s in self.latent_shape)
               and math.prod(self.latent_shape) <= MAX_LATENT_UNITS,
               f"latent_shape must be {' or '.join(f'{d} positive integers' for d in dims)} for a {self.posterior} "
               f"posterior, at most {MAX_LATENT_UNITS} units, got {self.latent_shape}")
        quantized = self.posterior == "quantized"
        _check(is_int(self.codebook_size) and (2 <= self.codebook_size <= 65_536 if quantized
                                                        else self.codebook_size == 0),
               f"codebook_size must be from 2 to 65536 for a quantized posterior, else 0; got {self.codebook_size!r}")
        _check(self.likelihood in LIKELIHOODS, f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        _check(isinstance(self.sigma, (int, float)) and not isinstance(self.sigma, bool) and math.isfinite(self.sigma)
               and 1e-4 <= self.sigma <= 1e4, f"sigma must be a number from 1e-4 to 1e4 (pixel units), got {self.sigma!r}")
        _check(self.decoder_output in DECODER_OUTPUTS,
               f"decoder_output must be one of {DECODER_OUTPUTS}, got {self.decoder_output!r}")
        _check(isinstance(self.source, str) and len(self.source) <= 500, "source must be a string of at most 500 characters")

    @property
    def latent_dim(self) -> int:
        """Units of one latent, flattened (C' h w for a spatial one)."""
        return math.prod(self.latent_shape)

    @property
    def grid(self) -> tuple[int, int]:
        return tuple(self.latent_shape)  # a quantized latent's (h, w)
