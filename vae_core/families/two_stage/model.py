"""The two-stage VAE (Dai & Wipf 2019, "Diagnosing and Enhancing VAE Models"): the model
family ``"two-stage"``.

Stage 1 is this project's VAE, best with a Gaussian decoder whose scalar gamma is learned
(``--likelihood gaussian-learned``). Its aggregate posterior q(z) = E_x q(z|x) need not match
the prior N(0, I), so z ~ N(0, I) lands where the decoder never looked and samples are poor.
Stage 2 is a second VAE trained on stage-1 codes z ~ q(z|x): u ~ N(0, I) -> z = f2(u) + gamma_z
eps follows q(z) instead, and x = stage-1 decoder mean(z). Each stage's MLP is as in the
authors' code: ``depth`` dense ReLU layers of ``width``, the input concatenated back before
the output layer; gamma_z is one learned scalar (initial 1). Stage 2 is trained after stage 1
(``vae-train-stage2``), not jointly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vae_core.config import ConfigError, ModelConfig, _JSONConfig
from vae_core.distributions import DiagonalGaussian, isotropic_log_prob
from vae_core.families.gaussian.model import VAE
from vae_core.family import (GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND, PRIOR_SAMPLES, SECOND_STAGE, LatentModel,
                             register)



@dataclass(frozen=True)
class TwoStageConfig(_JSONConfig):
    """Both stages. ``stage1`` is the first VAE's ModelConfig; stage 2 has a latent u of the
    same dimension as z and MLPs of ``depth`` layers of ``width`` units."""

    stage1: ModelConfig = ModelConfig()
    width: int = 1024
    depth: int = 3

    def __post_init__(self):
        if isinstance(self.stage1, dict):  # from JSON
            object.__setattr__(self, "stage1", ModelConfig.from_dict(self.stage1))
        if not isinstance(self.stage1, ModelConfig):
            raise ConfigError(f"stage1 must be a model config, got {type(self.stage1).__name__}")
        for name, top in (("width", 8192), ("depth", 8)):
            value = getattr(self, name)
            if not (isinstance(value, int) and 1 <= value <= top):
                raise ConfigError(f"{name} must be an integer from 1 to {top}, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"stage1": self.stage1.to_dict(), "width": self.width, "depth": self.depth}

    # What the explorer reads of a model config, taken from stage 1.
    image_shape = property(lambda self: self.stage1.image_shape)
    latent_dim = property(lambda self: self.stage1.latent_dim)
    architecture = property(lambda self: self.stage1.architecture)
    likelihood = property(lambda self: self.stage1.likelihood)


class _SkipMLP(nn.Module):
    """``depth`` ReLU layers of ``width``, then a linear layer from [input, hidden] to ``out``."""

    def __init__(self, d_in: int, d_out: int, width: int, depth: int):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(d_in if i == 0 else width, width), nn.ReLU()]
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(d_in + width, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.cat([x, self.hidden(x)], dim=-1))


class SecondStage(nn.Module):
    """The VAE on codes: q(u|z) = N(mu_u, diag sigma_u^2), p(u) = N(0, I),
    p(z|u) = N(f2(u), gamma_z^2 I) with one learned log gamma_z. z and u are (B, D)."""

    def __init__(self, dim: int, width: int, depth: int):
        super().__init__()
        self.encoder = _SkipMLP(dim, 2 * dim, width, depth)
        self.decoder = _SkipMLP(dim, dim, width, depth)
        self.log_gamma = nn.Parameter(torch.zeros(()))

    def encode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D) codes -> mu_u, logvar_u (B, D)."""
        mu, logvar = self.encoder(z).chunk(2, dim=-1)
        return mu, logvar

    def terms(self, z: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-code D2 = -log p(z|u), u ~ q(u|z) (one sample), and R2 = KL(q(u|z) || p(u)), each
        (B,) in nats per code: D2 = sum_j (z_j - f2(u)_j)^2 / (2 gamma^2) + log gamma + log(2 pi)/2."""
        q = DiagonalGaussian(*self.encode(z))
        u = q.sample(1, generator)[0]
        d2 = -isotropic_log_prob(z, self.decoder(u), self.log_gamma).sum(-1)
        return d2, q.kl().sum(-1)

    def generate(self, u: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ p(z|u) = f2(u) + gamma_z eps for u (n, D), as the authors sample: (n, D)."""
        mean = self.decoder(u)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + self.log_gamma.exp() * eps


@register
class TwoStageVAE(LatentModel):
    """Stage 1 (a VAE) and stage 2 (a VAE on its codes) in one model. Everything but sampling
    is stage 1's: encode, decode, the terms, L_k. ``sample`` draws through stage 2;
    ``sample_stage1`` from N(0, I) as a plain VAE does, for the comparison."""

    family = "two-stage"
    train_command = "vae-train-stage2"
    title = "two-stage VAE (Dai & Wipf 2019)"
    config_class = TwoStageConfig
    provides = frozenset({GAUSSIAN_POSTERIOR, PRIOR_SAMPLES, IMPORTANCE_WEIGHTED_BOUND, SECOND_STAGE})

    def __init__(self, config: TwoStageConfig):
        super().__init__()
        self.config = config
        self.stage1 = VAE(config.stage1)
        self.stage2 = SecondStage(config.stage1.latent_dim, config.width, config.depth)

    # Stage 1's parts, under the names the explorer and the objectives use for a VAE.
    encoder = property(lambda self: self.stage1.encoder)
    decoder = property(lambda self: self.stage1.decoder)
    likelihood = property(lambda self: self.stage1.likelihood)
    latent_dim = property(lambda self: self.stage1.latent_dim)
    latent_shape = property(lambda self: self.stage1.latent_shape)
    reparameterize = staticmethod(VAE.reparameterize)

    def encode(self, x):
        return self.stage1.encode(x)

    def encode_latent(self, x):
        return self.stage1.encode_latent(x)

    def decode(self, z):
        return self.stage1.decode(z)

    def decode_mean(self, z):
        return self.stage1.decode_mean(z)

    def reconstruct(self, x):
        return self.stage1.reconstruct(x)

    def forward(self, x, n_samples: int = 1, generator: torch.Generator | None = None):
        return self.stage1(x, n_samples=n_samples, generator=generator)

    def image_terms(self, x, *, n_samples: int = 1, generator: torch.Generator | None = None):
        return self.stage1.image_terms(x, n_samples=n_samples, generator=generator)

    def evaluate_metrics(self, x, **options) -> dict:
        """Stage 1's figures: D, R and L_k are stage 1's; stage 2 changes only how z is sampled."""
        return self.stage1.evaluate_metrics(x, **options)

    def sample(self, n: int, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, D) z = f2(u) + gamma_z eps, u ~ N(0, T^2 I): codes that follow q(z), not p(z)."""
        device = self.stage2.log_gamma.device
        u = temperature * torch.randn((n, self.latent_dim), generator=generator, device=device)
        return self.stage2.generate(u, generator)

    def sample_stage1(self, n: int, *, temperature: float = 1.0,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, D) z ~ N(0, T^2 I): stage 1's own samples, as a plain VAE draws them."""
        return self.stage1.sample(n, temperature=temperature, generator=generator)

    def named_samplers(self):
        return {"stage1_samples": self.sample_stage1, "stage2_samples": self.sample}

    @classmethod
    def from_stage1(cls, stage1: VAE, *, width: int = 1024, depth: int = 3) -> "TwoStageVAE":
        """A two-stage model holding ``stage1``'s weights and a fresh stage 2."""
        model = cls(TwoStageConfig(stage1=stage1.config, width=width, depth=depth))
        model.stage1.load_state_dict(stage1.state_dict())
        return model.to(next(stage1.parameters()).device)
