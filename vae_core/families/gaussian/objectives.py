"""The objective's parts, in nats per image, with one sign convention.

Conventions (product guide): the reconstruction term D = -E_q[log p(x|z)] and the KL term
R = KL(q(z|x) || p(z)) are both >= 0 (D may be negative for a Gaussian decoder), summed
over pixels and latent dimensions, and averaged over images. ELBO = -(D + R) is a lower
bound on log p(x); the training loss is D + beta * R.

The model arguments are a ``VAE`` (model.py, which builds on this module: it is not imported
here, so the two never import each other).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

from vae_core.distributions import DiagonalGaussian
from vae_core.family import Terms


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag sigma^2) || N(0, I)) per dimension, in nats: (B, D) -> (B, D); see
    DiagonalGaussian.kl (Kingma & Welling 2014, appendix B)."""
    return DiagonalGaussian(mu, logvar).kl()


def terms_loss(t: Terms, beta: float, capacity: float | None = None, free_bits: float = 0.0) -> torch.Tensor:
    """The scalar training loss of a batch's terms ``t``, nats per image: :func:`objective` of
    their batch means; with the importance-weighted gap (``terms(..., importance_weighted=True)``)
    -L_k, the negative importance-weighted bound (beta 1, no capacity or free bits)."""
    loss = objective(t.reconstruction.mean(), t.kl.mean(), t.kl_per_dim.mean(0),
                     beta=beta, capacity=capacity, free_bits=free_bits)
    return loss if t.iw_gap is None else loss - t.iw_gap.mean()


def objective(reconstruction, kl, kl_per_dim, *, beta: float, capacity: float | None = None,
              free_bits: float = 0.0) -> torch.Tensor:
    """The loss minimised in training, from batch means in nats per image: ``reconstruction``
    D and ``kl`` R (scalars), ``kl_per_dim`` (D,) the rate by dimension; tensors or numbers.
    The one definition, used for training batches, the held-out split and the explorer.

    - default: D + beta * R (Higgins et al. 2017; beta = 1 is the negative ELBO);
    - ``capacity`` C (nats): D + beta * |R - C| (Burgess et al. 2018, eq. 8): the rate is
      pulled towards C rather than to 0; a C of 0 or None means no capacity term;
    - ``free_bits`` lambda (nats per latent dimension): D + beta * sum_j max(lambda, R_j)
      (Kingma et al. 2016, eq. 15): a dimension whose KL is below lambda is not pushed
      further towards the prior.
    """
    # Python floats (the held-out figures) stay float64; training tensors keep their dtype and graph.
    d, r, r_dim = (v if torch.is_tensor(v) else torch.as_tensor(v, dtype=torch.float64)
                   for v in (reconstruction, kl, kl_per_dim))
    # A tensor C (the compiled step's input) decides by being there, not by its value: no branch on data.
    if capacity is not None and (torch.is_tensor(capacity) or capacity):
        return d + beta * (r - capacity).abs()
    if free_bits > 0:
        return d + beta * r_dim.clamp(min=free_bits).sum()
    return d + beta * r


def terms(model: nn.Module, x: torch.Tensor, n_samples: int = 1,
          generator: torch.Generator | None = None, forward: Callable[..., Any] | None = None, *,
          importance_weighted: bool = False) -> Terms:
    """Reconstruction and KL terms of images ``x`` (B, C, H, W) in [0, 1], per image.

    The reconstruction term is a Monte Carlo estimate with L = ``n_samples`` draws.
    ``forward`` runs the model's forward pass in its place: a DistributedDataParallel
    wrapper or a ``torch.compile``-d model (default: ``model`` itself). Under autocast the
    log-likelihood is summed in float32.

    ``importance_weighted``: also the gap of the importance-weighted bound over the ELBO from
    the same k = L samples (``Terms.iw_gap``), so that -(ELBO + gap) estimates -L_k (Burda et
    al. 2016, eq. 8). With log w_l = log p(x|z_l) + log p(z_l) - log q(z_l|x), the gap is
    logmeanexp_l(log w_l) - mean_l(log w_l): >= 0 (Jensen), exactly 0 with its gradient at
    k = 1, so L_1 trains exactly as the ELBO does. The ELBO keeps its closed-form KL; the
    estimate's expectation and its reparameterized gradient's are those of L_k.
    """
    output = (model if forward is None else forward)(x, n_samples=n_samples, generator=generator)
    log_px = model.likelihood.log_prob(x.expand(n_samples, *x.shape).flatten(0, 1),
                                       output.out.flatten(0, 1).float()).view(n_samples, -1)
    q = DiagonalGaussian(output.mu.float(), output.logvar.float())
    kl_per_dim = q.kl()
    gap = None
    if importance_weighted:
        z = output.z.float()  # (k, B, D)
        log_w = log_px + DiagonalGaussian.standard(q.mu).log_prob(z) - q.log_prob(z)  # (k, B)
        gap = torch.logsumexp(log_w, 0) - math.log(n_samples) - log_w.mean(0)
    return Terms(reconstruction=-log_px.mean(0), kl=kl_per_dim.sum(1), kl_per_dim=kl_per_dim, mu=output.mu.detach(),
                 iw_gap=gap)


def importance_weighted_bound(model: nn.Module, x: torch.Tensor, k: int, *, chunk: int = 256,
                              generator: torch.Generator | None = None) -> torch.Tensor:
    """L_k = log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x): (B, C, H, W) -> (B,) nats.

    Burda et al. 2016, eq. 8. L_1 is the ELBO, L_k rises with k towards log p(x); k = 5000 is
    the literature's test log-likelihood estimate. Samples are drawn ``chunk`` at a time so
    memory stays bounded for any k.

    Raises:
        ValueError: k < 1 or chunk < 1.
    """
    if k < 1 or chunk < 1:
        raise ValueError(f"k and chunk must be >= 1, got k={k}, chunk={chunk}")
    q = DiagonalGaussian(*model.encode(x))  # q(z|x)
    prior = DiagonalGaussian.standard(q.mu)
    log_w = []
    for start in range(0, k, chunk):
        n = min(chunk, k - start)
        z = q.sample(n, generator)  # (n, B, D)
        out = model.decode(z)  # (n, B, C, H, W)
        log_px_z = model.likelihood.log_prob(x, out)  # (n, B)
        log_w.append(log_px_z + prior.log_prob(z) - q.log_prob(z))
    return torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k)


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """Which latent dimensions are active: Cov_x(E_q[z_u]) > threshold (Burda et al. 2016).

    ``mu`` is (N, D), the posterior means of N images; returns (D,) bool, all False for one
    image, whose variance is undefined.
    """
    if len(mu) < 2:
        return torch.zeros(mu.shape[1], dtype=torch.bool, device=mu.device)
    return mu.var(dim=0, unbiased=True) > threshold


def beta_at(epoch: float, beta: float, warmup_epochs: int) -> float:
    """KL warm-up: beta rises linearly from 0 at epoch 0 to ``beta`` at ``warmup_epochs``
    (Bowman et al. 2016), then stays. ``epoch`` may be fractional (step / steps per epoch)."""
    if warmup_epochs <= 0:
        return beta
    return beta * min(1.0, epoch / warmup_epochs)


def capacity_at(epoch: float, capacity: float, capacity_epochs: int) -> float:
    """Capacity annealing: the KL target C rises linearly from 0 at epoch 0 to ``capacity``
    nats at ``capacity_epochs`` (Burgess et al. 2018), then stays; constant when
    ``capacity_epochs`` is 0. ``epoch`` may be fractional."""
    if capacity_epochs <= 0:
        return capacity
    return capacity * min(1.0, epoch / capacity_epochs)


def learning_rate(epoch: int, lr: float, schedule: str) -> float:
    """The learning rate of 1-based ``epoch``: ``lr`` under ``"constant"``; under ``"burda"``
    (Burda et al. 2016, section 5) stage i = 0, 1, 2, ... lasts 3**i epochs at lr * 10**(-i/7),
    so epochs 1 | 2-4 | 5-13 | 14-40 ... and stages 0 to 7 end after 3,280 epochs."""
    if schedule == "constant":
        return lr
    stage, end = 0, 1
    while epoch > end:
        stage += 1
        end += 3 ** stage
    return lr * 10 ** (-stage / 7)
