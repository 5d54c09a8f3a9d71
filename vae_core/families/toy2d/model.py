"""A VAE on points x in R^2, for the explorer's 2-D lab, where every distribution can be drawn.

The model is this project's objective on a small MLP: q(z|x) = N(mu(x), diag sigma^2(x)) over
a 1-D or 2-D z (vae_core.distributions.DiagonalGaussian), p(z) = N(0, I), and a Gaussian
decoder p(x|z) = N(f(z), s^2 I) with an identity link (the image VAE's decoder squashes its
mean into [0, 1] for pixel intensities; points need all of R^2) and s fixed or learned. Every
density is in **nats per point**.

log p(x) four ways (Burda et al. 2016; the seed notes' section 4), each (N,) for points (N, 2):
``log_px_exact`` integrates p(x|z) p(z) over a fine grid of z; ``log_px_naive`` is
log (1/S) sum_s p(x|z_s), z_s ~ p(z); ``elbo`` and ``iw_bound`` (L_k) use the encoder.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from vae_core.distributions import LOG_2PI, DiagonalGaussian, isotropic_log_prob
from vae_core.families.gaussian.objectives import objective

DATASETS = ("ring", "two moons", "circles", "gaussian mixture", "spiral")


def make_points(name: str, n: int = 1000, *, seed: int = 0) -> np.ndarray:
    """(n, 2) float32 points of a toy set. ``"ring"`` is the seed notes' figure 2: z ~ N(0, I)
    pushed through g(z) = z/10 + z/||z||. Moons and circles are scikit-learn's generators
    (noise 0.05; circles scaled by 1.5 to sit on the ring's scale). Raises ValueError for an
    unknown name."""
    rng = np.random.default_rng(seed)
    if name == "ring":
        z = rng.standard_normal((n, 2))
        x = z / 10 + z / np.linalg.norm(z, axis=1, keepdims=True)
    elif name in ("two moons", "circles"):
        from sklearn import datasets as sk  # here: importing scikit-learn took 0.9 s of the lab's first view

        x = sk.make_moons(n, noise=0.05, random_state=seed)[0] - [0.5, 0.25] if name == "two moons" else \
            1.5 * sk.make_circles(n, noise=0.04, factor=0.5, random_state=seed)[0]
    elif name == "gaussian mixture":
        centres = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, 2 * np.pi, 6, endpoint=False)])
        x = centres[rng.integers(6, size=n)] + 0.12 * rng.standard_normal((n, 2))
    elif name == "spiral":
        t = np.sqrt(rng.uniform(0.05, 1, n)) * 3 * np.pi
        x = np.stack([t * np.cos(t), t * np.sin(t)], 1) / (3 * np.pi) * 1.4 + 0.04 * rng.standard_normal((n, 2))
    else:
        raise ValueError(f"unknown toy data set {name!r}; choose from {DATASETS}")
    return x.astype(np.float32)


class ToyVAE(nn.Module):
    """MLP encoder R^2 -> (mu, logvar) in R^d and decoder R^d -> R^2 (``width`` units, ``depth``
    tanh layers each; ``depth=0`` makes the decoder linear, probabilistic PCA's), and the
    decoder's log s (a parameter when ``learn_sigma``)."""

    def __init__(self, latent_dim: int = 2, width: int = 64, depth: int = 2, sigma: float = 0.1,
                 learn_sigma: bool = False):
        super().__init__()
        if latent_dim not in (1, 2):
            raise ValueError(f"the lab's latent is 1-D or 2-D, got {latent_dim}")
        self.latent_dim = latent_dim
        self.encoder = _mlp(2, 2 * latent_dim, width, max(depth, 1))
        self.decoder = _mlp(latent_dim, 2, width, depth)
        self.log_sigma = nn.Parameter(torch.tensor(math.log(sigma)), requires_grad=learn_sigma)

    @property
    def sigma(self) -> float:
        return float(self.log_sigma.detach().exp())

    def set_sigma(self, sigma: float, learn: bool) -> None:
        """Change s mid-run (the lab's slider) and whether it is learned from now on."""
        with torch.no_grad():
            self.log_sigma.fill_(math.log(sigma))
        self.log_sigma.requires_grad_(learn)

    def posterior(self, x: torch.Tensor) -> DiagonalGaussian:
        """q(z|x) of points (N, 2): a DiagonalGaussian over (N, d)."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return DiagonalGaussian(mu, logvar)

    def log_px_given_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log N(x | f(z), s^2 I), nats: x (N, 2) with z (..., N, d) -> (..., N)."""
        return isotropic_log_prob(x, self.decoder(z), self.log_sigma).sum(-1)

    def terms(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per point (N,), nats: D = -log p(x|z), one z ~ q(z|x), and R = KL(q(z|x) || N(0, I))."""
        q = self.posterior(x)
        return -self.log_px_given_z(x, q.sample(1, generator)[0]), q.kl().sum(-1)

    def loss(self, x: torch.Tensor, beta: float, generator: torch.Generator | None = None) -> torch.Tensor:
        """D + beta R averaged over the points (objectives.objective)."""
        d, r = self.terms(x, generator)
        return objective(d.mean(), r.mean(), r.mean()[None], beta=beta)  # no free bits here: R by dimension unused

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, 2) points x ~ p(x|z), z ~ N(0, I)."""
        z = torch.randn(n, self.latent_dim, generator=generator)
        return self.decoder(z) + self.sigma * torch.randn(n, 2, generator=generator)


def _mlp(d_in: int, d_out: int, width: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(d_in if i == 0 else width, width), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(width if depth else d_in, d_out))


def latent_grid(latent_dim: int, n: int, half_width: float = 6.0) -> tuple[torch.Tensor, float]:
    """A regular grid over [-w, w]^d (n points per axis): points (n^d, d) and the volume of one
    cell. N(0, I) puts less than 1e-7 of its mass outside w = 6 per axis."""
    axis = torch.linspace(-half_width, half_width, n, dtype=torch.float64)
    cell = (axis[1] - axis[0]).item() ** latent_dim
    if latent_dim == 1:
        return axis[:, None], cell
    zz = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    return zz, cell


@torch.no_grad()
def log_px_exact(model: ToyVAE, x: torch.Tensor, n: int | None = None) -> torch.Tensor:
    """log p(x) = log ∫ p(x|z) p(z) dz by the midpoint rule on a fine grid of z (``n`` points per
    axis, default 4001 for d = 1 and 401 for d = 2), in float64: (N,) nats per point. Exact to
    the grid's resolution; the tests check it against probabilistic PCA's closed form."""
    n = n or (4001 if model.latent_dim == 1 else 401)
    z, cell = latent_grid(model.latent_dim, n)
    log_prior = DiagonalGaussian.standard(z).log_prob(z)
    means = model.decoder(z.float()).double()  # f(z) once for the whole grid; each x is then a Gaussian kernel
    return (_log_mean_kernel(model, x, means, log_prior) + math.log(cell) + math.log(len(z))).float()


def _log_mean_kernel(model: ToyVAE, x: torch.Tensor, means: torch.Tensor, log_weight: torch.Tensor) -> torch.Tensor:
    """log (1/G) sum_g exp(log_weight_g) N(x | means_g, s^2 I) for points x (N, 2), float64: (N,)."""
    log_s = model.log_sigma.detach().double()
    out = []
    for chunk in x.double().split(max(1, 2**22 // len(means))):
        sq = (chunk[:, None, :] - means[None]).pow(2).sum(-1)  # (chunk, G)
        lp = -0.5 * sq / (2 * log_s).exp() - 2 * log_s - LOG_2PI + log_weight  # isotropic_log_prob over 2 dims
        out.append(torch.logsumexp(lp, 1) - math.log(len(means)))
    return torch.cat(out)


@torch.no_grad()
def log_px_naive(model: ToyVAE, x: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """log (1/S) sum_s p(x | z_s), z_s ~ p(z): (N,) nats per point; unbiased for p(x), and
    hopeless when p(x|z) is narrow, since few z from the prior land where it is not ~0."""
    z = torch.randn(samples, model.latent_dim, generator=generator)  # the same S draws for every point
    return _log_mean_kernel(model, x, model.decoder(z).double(), torch.zeros(samples, dtype=torch.float64)).float()


@torch.no_grad()
def iw_bound(model: ToyVAE, x: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """L_k = log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x) (Burda et al. 2016, eq. 8): (N,)
    nats per point; L_1 is the ELBO's one-sample estimate, and L_k rises to log p(x) as k grows."""
    out = []
    for chunk in x.split(max(1, 2**20 // max(k, 1))):
        q = model.posterior(chunk)
        z = q.sample(k, generator)
        log_w = model.log_px_given_z(chunk, z) + DiagonalGaussian.standard(z).log_prob(z) - q.log_prob(z)
        out.append(torch.logsumexp(log_w, 0) - math.log(k))
    return torch.cat(out)


@torch.no_grad()
def elbo(model: ToyVAE, x: torch.Tensor, samples: int = 1000, generator: torch.Generator | None = None) -> torch.Tensor:
    """ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z)), the expectation over ``samples`` draws: (N,) nats."""
    q = model.posterior(x)
    return model.log_px_given_z(x, q.sample(samples, generator)).mean(0) - q.kl().sum(-1)
