"""VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete Representation
Learning"): the model family ``"vq-vae"``.

The encoder maps an image to a grid of vectors z_e(x) (B, D, h, w), 7 x 7 for 28 x 28 images;
each is replaced by its nearest of K codebook vectors e_k, and the decoder reconstructs from
that quantized grid z_q(x) through the project's likelihoods, so D = -log p(x | z_q) is in
nats per image as everywhere else. The gradient passes the quantization straight through
(z_q = z_e + sg[e - z_e]). The loss per image is the paper's eq. 3:

    D + ||sg[z_e] - e||^2 + beta ||z_e - sg[e]||^2,   beta = ``commitment`` = 0.25,

the squared norms summed over the grid and the D dimensions. With ``ema`` the codebook is not
learned by gradient but as an exponential moving average of the vectors assigned to each code
(the paper's appendix A.1; Sonnet's ``VectorQuantizerEMA``), and the codebook term is dropped.
Codes no batch has picked for ``restart_after`` steps are restarted on a vector of the batch.

The prior over codes is a PixelCNN (vae_core.families.vq_vae.prior) trained afterwards on the training
set's code grids. The posterior q(k | x) is a point mass, so the rate KL(q || p) is the prior's
negative log-likelihood of the image's codes, -log p(k(x)); under a uniform prior it is
h w log K, fixed. ELBO = -(D + rate) <= log p(x), nats per image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from vae_core.config import MAX_LAYERS, MAX_SIDE, MAX_WIDTH, ConfigError, _check, _finite, _JSONConfig
from vae_core.family import Terms
from vae_core.families.vq_vae.evaluation import evaluate_vq
from vae_core.families.vq_vae.prior import PixelCNN
from vae_core.family import CODEBOOK, PRIOR_SAMPLES, LatentModel, register
from vae_core.likelihoods import build_likelihood


@dataclass(frozen=True)
class VQConfig(_JSONConfig):
    """A VQ-VAE and its prior. ``channels``: the stride-2 convolutions of the encoder (the
    decoder mirrors them); ``residual_blocks`` at the lowest resolution; ``embedding_dim`` D
    and ``codebook_size`` K; ``likelihood`` and ``sigma`` as in ModelConfig; ``commitment``
    beta of eq. 3; ``ema``/``decay`` the codebook's moving averages; ``restart_after`` steps
    without use before a code is restarted (0: never); ``prior_channels``/``prior_layers``
    the PixelCNN's width and its masked 3 x 3 layers."""

    image_shape: tuple[int, int, int] = (1, 28, 28)
    channels: tuple[int, ...] = (32, 64)
    residual_blocks: int = 1
    embedding_dim: int = 16
    codebook_size: int = 64
    likelihood: str = "bernoulli"
    sigma: float = 0.1
    commitment: float = 0.25
    ema: bool = True
    decay: float = 0.99
    restart_after: int = 100
    prior_channels: int = 64
    prior_layers: int = 4

    def __post_init__(self):
        _check(len(self.image_shape) == 3 and all(isinstance(s, int) and s > 0 for s in self.image_shape)
               and self.image_shape[0] in (1, 3) and max(self.image_shape[1:]) <= MAX_SIDE,
               f"image_shape must be (C, H, W) with C 1 or 3 and H, W up to {MAX_SIDE}, got {self.image_shape}")
        _check(1 <= len(self.channels) <= 4 and all(isinstance(c, int) and 0 < c <= MAX_WIDTH for c in self.channels),
               f"channels must be 1 to 4 integers from 1 to {MAX_WIDTH}, got {self.channels}")
        factor = 2 ** len(self.channels)
        _check(self.image_shape[1] % factor == 0 and self.image_shape[2] % factor == 0,
               f"{len(self.channels)} stride-2 layers need H and W divisible by {factor}, got {self.image_shape}")
        for name, low, top in (("residual_blocks", 0, MAX_LAYERS), ("embedding_dim", 1, 1024),
                               ("codebook_size", 2, 4096), ("restart_after", 0, 10**9),
                               ("prior_channels", 1, MAX_WIDTH), ("prior_layers", 0, 16)):
            value = getattr(self, name)
            _check(isinstance(value, int) and low <= value <= top, f"{name} must be an integer from {low} to {top}, got {value!r}")
        _check(self.likelihood in ("bernoulli", "gaussian", "gaussian-learned"),
               f"likelihood must be bernoulli, gaussian or gaussian-learned, got {self.likelihood!r}")
        _check(_finite(self.sigma) and self.sigma > 0, f"sigma must be a finite number > 0, got {self.sigma!r}")
        _check(_finite(self.commitment) and self.commitment >= 0, f"commitment must be >= 0, got {self.commitment!r}")
        _check(_finite(self.decay) and 0 < self.decay < 1, f"decay must be between 0 and 1, got {self.decay!r}")
        if not isinstance(self.ema, bool):
            raise ConfigError(f"ema must be true or false, got {self.ema!r}")

    @property
    def grid(self) -> tuple[int, int]:
        """(h, w) of the code grid."""
        factor = 2 ** len(self.channels)
        return self.image_shape[1] // factor, self.image_shape[2] // factor

    architecture = property(lambda self: "conv")


class Residual(nn.Module):
    """x + conv1x1(relu(conv3x3(relu(x)))), the paper's residual block."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 1))

    def forward(self, x):
        return x + self.body(x)


class VectorQuantizer(nn.Module):
    """K codebook vectors of dimension D; nearest-code quantization of (B, D, h, w) grids.

    Buffers (all float, stored in the bundle): ``codebook`` (K, D) when ``ema`` (else a
    Parameter), the moving averages ``cluster_size`` (K,) and ``embed_sum`` (K, D), and
    ``unused`` (K,), the training steps since each code was last picked. The averages start at
    one count per code and sums equal to the initial codebook, so a code no batch picks keeps its
    vector (Sonnet starts counts at 0 and debiases them)."""

    def __init__(self, codebook_size: int, dim: int, *, ema: bool, decay: float, restart_after: int,
                 eps: float = 1e-5):
        super().__init__()
        self.ema, self.decay, self.restart_after, self.eps = ema, decay, restart_after, eps
        init = torch.empty(codebook_size, dim).uniform_(-1 / codebook_size, 1 / codebook_size)
        if ema:
            self.register_buffer("codebook", init)
            self.register_buffer("cluster_size", torch.ones(codebook_size))
            self.register_buffer("embed_sum", init.clone())
        else:
            self.codebook = nn.Parameter(init)
        self.register_buffer("unused", torch.zeros(codebook_size))

    @property
    def size(self) -> int:
        return self.codebook.shape[0]

    def indices(self, z_e: torch.Tensor) -> torch.Tensor:
        """(B, D, h, w) -> (B, h, w) int64, the nearest code of each vector (squared Euclidean)."""
        flat = z_e.movedim(1, -1).reshape(-1, z_e.shape[1])
        e = self.codebook
        dist = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e.t() + e.pow(2).sum(1)
        return dist.argmin(1).view(z_e.shape[0], *z_e.shape[2:])

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """(..., h, w) int64 -> (..., D, h, w) codebook vectors."""
        return F.embedding(indices, self.codebook).movedim(-1, -3)

    def forward(self, z_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """z_q with the straight-through gradient (B, D, h, w), indices (B, h, w), and per image
        (B,) the codebook loss ||sg[z_e] - e||^2 and the commitment loss ||z_e - sg[e]||^2."""
        idx = self.indices(z_e.detach())
        e = self.lookup(idx)
        codebook_loss = (z_e.detach() - e).pow(2).flatten(1).sum(1)
        commitment_loss = (z_e - e.detach()).pow(2).flatten(1).sum(1)
        return z_e + (e - z_e).detach(), idx, codebook_loss, commitment_loss

    @torch.no_grad()
    def update(self, z_e: torch.Tensor, indices: torch.Tensor, generator: torch.Generator | None = None) -> int:
        """After a training step: the EMA codebook update (when ``ema``) from the batch's vectors
        z_e (B, D, h, w) and their codes (B, h, w), then restarts; returns how many codes were
        restarted. EMA, with n_k the batch's count of code k and s_k the sum of its vectors:
        N_k <- decay N_k + (1 - decay) n_k; m_k <- decay m_k + (1 - decay) s_k;
        e_k = m_k / Ñ_k with Laplace smoothing Ñ_k = (N_k + eps) / (sum N + K eps) * sum N."""
        flat = z_e.movedim(1, -1).reshape(-1, z_e.shape[1]).float()
        idx = indices.reshape(-1)
        counts = torch.bincount(idx, minlength=self.size).to(flat.dtype)
        if self.ema:
            sums = torch.zeros_like(self.embed_sum).index_add_(0, idx, flat)
            self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
            self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
            total = self.cluster_size.sum()
            smoothed = (self.cluster_size + self.eps) / (total + self.size * self.eps) * total
            self.codebook.copy_(self.embed_sum / smoothed[:, None])
        self.unused.add_(1).masked_fill_(counts > 0, 0)
        dead = (self.unused >= self.restart_after).nonzero().flatten() if self.restart_after else idx[:0]
        if len(dead):
            pick = torch.randint(len(flat), (len(dead),), generator=generator, device=flat.device)
            self.codebook.data[dead] = flat[pick]
            if self.ema:
                self.cluster_size[dead] = 1.0
                self.embed_sum[dead] = flat[pick]
            self.unused[dead] = 0
        return len(dead)


@register
class VQVAE(LatentModel):
    """Encoder, vector quantizer, decoder and PixelCNN prior. Images are (B, C, H, W) float in
    [0, 1]; a latent is an (h, w) grid of int64 code indices from 0 to K - 1."""

    family = "vq-vae"
    train_command = "vae-train-vq"
    title = "VQ-VAE (van den Oord et al. 2017)"
    config_class = VQConfig
    provides = frozenset({PRIOR_SAMPLES, CODEBOOK})
    rate_name = "−log p(k(x)) under the PixelCNN prior"
    explorer_note: ClassVar[str] = ("Its latent is a grid of codebook indices, one of K codes per cell, with no "
                                    "σ and no dimensions to traverse: see Code grids, Codebook and Edit the codes.")

    def __init__(self, config: VQConfig):
        super().__init__()
        self.config = config
        c, top = config.image_shape[0], config.channels[-1]
        down: list[nn.Module] = []
        for c_in, c_out in zip([c, *config.channels[:-1]], config.channels):
            down += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]
        self.encoder = nn.Sequential(*down[:-1], *(Residual(top) for _ in range(config.residual_blocks)),
                                     nn.ReLU(), nn.Conv2d(top, config.embedding_dim, 1))
        up: list[nn.Module] = [nn.Conv2d(config.embedding_dim, top, 3, padding=1),
                               *(Residual(top) for _ in range(config.residual_blocks)), nn.ReLU()]
        chans = list(reversed(config.channels))
        for c_in, c_out in zip(chans, [*chans[1:], c]):
            up += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]
        self.decoder = nn.Sequential(*up[:-1])
        self.quantizer = VectorQuantizer(config.codebook_size, config.embedding_dim, ema=config.ema,
                                         decay=config.decay, restart_after=config.restart_after)
        self.likelihood = build_likelihood(config)
        self.prior = PixelCNN(config.codebook_size, config.prior_channels, config.prior_layers)

    @property
    def latent_shape(self) -> tuple[int, int]:
        return self.config.grid

    @property
    def uniform_rate(self) -> float:
        """h w log K: the rate of every image under a uniform prior over codes, nats per image."""
        h, w = self.config.grid
        return h * w * math.log(self.config.codebook_size)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> z_e (B, D, h, w), before quantization."""
        return self.encoder(x)

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, h, w) int64: the code grid k(x)."""
        return self.quantizer.indices(self.encode(x))

    def decode_vectors(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D, h, w) vectors (quantized or not) -> (B, C, H, W) decoder outputs (logits or
        pre-sigmoid means)."""
        return self.decoder(z)

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """(..., h, w) int64 code grids -> (..., C, H, W) decoder outputs."""
        lead = indices.shape[:-2]
        out = self.decoder(self.quantizer.lookup(indices.reshape(-1, *indices.shape[-2:])))
        return out.reshape(*lead, *out.shape[1:])

    def decode_mean(self, indices: torch.Tensor) -> torch.Tensor:
        """(..., h, w) int64 -> (..., C, H, W) E[x | z_q], float in [0, 1]."""
        return self.likelihood.mean(self.decode(indices))

    def training_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The parts of eq. 3 for images (B, C, H, W), each (B,) per image, and what the EMA
        update needs: ``reconstruction`` D (nats), ``codebook``, ``commitment``, ``z_e``, ``indices``."""
        z_e = self.encode(x)
        z_q, idx, codebook_loss, commitment_loss = self.quantizer(z_e)
        d = -self.likelihood.log_prob(x, self.decode_vectors(z_q))
        return {"reconstruction": d, "codebook": codebook_loss, "commitment": commitment_loss,
                "z_e": z_e.detach(), "indices": idx}

    def loss(self, t: dict[str, torch.Tensor]) -> torch.Tensor:
        """Eq. 3 averaged over the batch; without the codebook term when the codebook is an EMA."""
        vq = t["commitment"] * self.config.commitment + (0 if self.config.ema else t["codebook"])
        return (t["reconstruction"] + vq).mean()

    def image_terms(self, x: torch.Tensor, *, n_samples: int = 1, generator: torch.Generator | None = None) -> Terms:
        """Per image (B,), nats: D = -log p(x | z_q(x)) and the rate -log p(k(x)) under the
        PixelCNN prior (the KL of the point-mass posterior). Deterministic: n_samples is unused."""
        return self.terms_of_codes(x, self.encode_latent(x))

    def terms_of_codes(self, x: torch.Tensor, idx: torch.Tensor) -> Terms:
        """``image_terms`` of images (B, C, H, W) whose codes ``idx`` (B, h, w) are known."""
        d = -self.likelihood.log_prob(x, self.decode(idx))
        return Terms(reconstruction=d, kl=-self.prior.log_prob(idx), kl_per_dim=None)

    def evaluate_metrics(self, x: torch.Tensor, *, batch_size: int = 500, progress: bool = False, **_) -> dict:
        """D, the prior's rate, codebook use (evaluation.evaluate_vq); no posterior, so no L_k."""
        return evaluate_vq(self, x, batch_size=batch_size, progress=progress)

    def sample(self, n: int, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, h, w) code grids from the PixelCNN prior, in raster order; ``temperature`` divides
        its logits (0: the most likely code at every step)."""
        return self.prior.sample(n, self.config.grid, temperature=temperature, generator=generator)

    def sample_uniform(self, n: int, *, temperature: float = 1.0,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, h, w) codes drawn uniformly and independently: what the decoder gets without a prior."""
        device = self.quantizer.codebook.device
        return torch.randint(self.config.codebook_size, (n, *self.config.grid), generator=generator, device=device)

    def named_samplers(self) -> dict[str, Any]:
        return {"prior_samples": self.sample, "uniform_samples": self.sample_uniform}
