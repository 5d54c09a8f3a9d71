"""2-D maps of posterior means that can place new points: PCA (scikit-learn), t-SNE (openTSNE,
Poličar et al. 2024, FFT-accelerated: Linderman et al. 2019) and UMAP (umap-learn, McInnes et al.
2018). scikit-learn's t-SNE has no map for a point it was not fitted on; openTSNE's
``TSNEEmbedding.transform`` and umap-learn's ``UMAP.transform`` optimise a new point against the
fixed map, so a learner's own image lands where the method puts it, not by a neighbours' average.

A map is rebuilt from stored coordinates (a cache holds coordinates only: no pickle): PCA refits
in milliseconds, t-SNE recomputes only the affinities, UMAP refits with the same seed (its fit is
deterministic with a ``random_state``), so the rebuilt map's coordinates are the stored ones.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

METHODS = ("latent", "pca", "tsne", "umap")
TITLES = {"tsne": ("t-SNE 1 (no units)", "t-SNE 2 (no units)"), "umap": ("UMAP 1 (no units)", "UMAP 2 (no units)")}
PERPLEXITY = 30.0
NEIGHBOURS, MIN_DIST = 15, 0.1


def describe(method: str, n: int) -> str:
    """The method and its parameters in one phrase, as the page states them."""
    return {"latent": "the 2-D latent itself, z = μ",
            "pca": "PCA (scikit-learn), 2 components of μ",
            "tsne": f"t-SNE (openTSNE, FFT gradients), perplexity {_perplexity(n):g}, PCA initialisation, seed 0",
            "umap": f"UMAP (umap-learn), {_neighbours(n)} neighbours, min_dist {MIN_DIST}, seed 0"}[method]


def _perplexity(n: int) -> float:
    return float(min(PERPLEXITY, max(1.0, (n - 1) / 3)))  # t-SNE needs 3 × perplexity < N


def _neighbours(n: int) -> int:
    return int(min(NEIGHBOURS, max(2, n - 1)))


@dataclass
class Map:
    """A fitted 2-D map of ``mu`` (N, D). ``coords`` (N, 2); ``axis_titles`` say what the units
    mean; ``place(new (M, D)) -> (M, 2)`` puts new means on it without moving the N points."""

    method: str
    coords: np.ndarray
    axis_titles: tuple[str, str]
    description: str
    _place: Callable[[np.ndarray], np.ndarray] = field(repr=False)

    def place(self, new: np.ndarray) -> np.ndarray:
        return np.asarray(self._place(np.atleast_2d(np.asarray(new, np.float64))), np.float64)


def fit(mu: np.ndarray, method: str, *, coords: np.ndarray | None = None,
        progress: Callable[[float], Any] | None = None) -> Map:
    """Fit ``method`` ("latent", "pca", "tsne", "umap") to posterior means ``mu`` (N, D); with
    ``coords`` (N, 2), rebuild the map those coordinates came from instead of recomputing them.
    ``progress(fraction)`` is called now and then during a t-SNE fit.

    Raises:
        ValueError: unknown method; "latent" for D != 2; fewer than 5 points for t-SNE or UMAP.
    """
    mu = np.ascontiguousarray(mu, dtype=np.float64)
    n = len(mu)
    if method not in METHODS:
        raise ValueError(f"unknown map {method!r}; choose one of {METHODS}")
    if method == "latent":
        if mu.shape[1] != 2:
            raise ValueError(f"the map 'latent' needs a 2-D latent space, this one has {mu.shape[1]} dimensions")
        return Map(method, mu.copy(), ("z0 = μ0 (latent units)", "z1 = μ1 (latent units)"), describe(method, n),
                   lambda new: new[:, :2])
    if method == "pca":
        return _pca(mu, coords)
    if n < 5:
        raise ValueError(f"{method} needs at least 5 points, got {n}")
    make = _tsne if method == "tsne" else _umap
    if coords is None:
        return make(mu, None, progress)
    # Stored coordinates are shown at once; what places a new point (t-SNE's affinities, a
    # UMAP refit) is built on the first placement only, which most visits never ask for.
    lock, built = threading.Lock(), []

    def place(new: np.ndarray) -> np.ndarray:
        with lock:
            if not built:
                built.append(make(mu, coords, None))
        return built[0].place(new)

    return Map(method, np.asarray(coords, np.float64), TITLES[method], describe(method, n), place)


def _pca(mu: np.ndarray, coords: np.ndarray | None) -> Map:
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=0).fit(mu)
    fitted = pca.transform(mu)
    # A stored map may have either sign per axis (another scikit-learn): follow it.
    sign = np.ones(2) if coords is None else np.where(np.sum(fitted * coords, 0) < 0, -1.0, 1.0)
    share = pca.explained_variance_ratio_ * 100
    return Map("pca", fitted * sign, (f"PC 1 ({share[0]:.0f}% of the variance of μ)",
                                      f"PC 2 ({share[1]:.0f}% of the variance of μ)"),
               describe("pca", len(mu)), lambda new: pca.transform(new) * sign)


def pca_plane(mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The PCA map's plane in latent space: the mean of ``mu`` (D,), its two components (2, D)
    (unit vectors, signs as ``fit(mu, "pca")`` draws them) and their standard deviations (2,).
    A map point (a, b) is the latent mean + a·u1 + b·u2."""
    from sklearn.decomposition import PCA

    mu = np.asarray(mu, np.float64)
    pca = PCA(n_components=2, random_state=0).fit(mu)
    return pca.mean_, pca.components_, np.sqrt(pca.explained_variance_)


def _tsne(mu: np.ndarray, coords: np.ndarray | None, progress) -> Map:
    import openTSNE

    n = len(mu)
    if coords is None:
        def report(iteration, error, embedding):  # openTSNE's callback: 250 + 500 iterations
            if progress:
                progress(min(1.0, iteration / 750))

        embedding = openTSNE.TSNE(perplexity=_perplexity(n), initialization="pca", n_jobs=-1, random_state=0,
                                  callbacks=report if progress else None, callbacks_every_iters=25).fit(mu)
    else:
        affinities = openTSNE.affinity.PerplexityBasedNN(mu, perplexity=_perplexity(n), n_jobs=-1, random_state=0)
        embedding = openTSNE.TSNEEmbedding(np.asarray(coords, np.float64), affinities, random_state=0)
    # transform: each new point starts at the median of its nearest map points and is optimised
    # against the fixed map (openTSNE's defaults: perplexity 5, 250 iterations).
    return Map("tsne", np.asarray(embedding), TITLES["tsne"], describe("tsne", n),
               lambda new: np.asarray(embedding.transform(new)))


@contextlib.contextmanager
def _torch_threads_kept():
    """numba's OpenMP layer, which umap-learn runs on, resets the process's OpenMP thread count,
    and with it torch's: the explorer's one thread per server became two, and a training run in
    the same process no longer repeated bit for bit (tests/test_maps.py). Put it back."""
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _umap(mu: np.ndarray, coords: np.ndarray | None, progress) -> Map:
    import umap

    # random_state makes the fit repeatable (and single-threaded): a map rebuilt after a restart
    # is the stored one, so a new point placed later lands on the map the visitor sees.
    reducer = umap.UMAP(n_neighbors=_neighbours(len(mu)), min_dist=MIN_DIST, random_state=0, n_jobs=1)
    with _torch_threads_kept():
        fitted = reducer.fit_transform(mu)
    if coords is not None and not np.allclose(fitted, coords, atol=1e-3):
        reducer.embedding_ = np.asarray(coords, np.float32)  # a map from another umap-learn: place against it
        fitted = np.asarray(coords)

    def place(new: np.ndarray) -> np.ndarray:
        with _torch_threads_kept():
            return reducer.transform(new)

    return Map("umap", np.asarray(fitted, np.float64), TITLES["umap"], describe("umap", len(mu)), place)


def symmetric_kl(mu: np.ndarray, logvar: np.ndarray, i: int) -> np.ndarray:
    """KL(q_i ‖ q_j) + KL(q_j ‖ q_i) between image i's diagonal Gaussian posterior and every
    image j's, (N,) nats; ``mu``, ``logvar`` (N, D). Zero for j = i."""
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    var, diff2 = np.exp(logvar), (mu - mu[i]) ** 2
    return 0.5 * np.sum((var[i] + diff2) / var + (var + diff2) / var[i] - 2.0, axis=1)


def nearest(mu: np.ndarray, i: int, k: int, logvar: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` images nearest image ``i`` (itself excluded): by Euclidean distance between
    posterior means (latent units), or by the symmetric KL between posteriors (nats) when
    ``logvar`` is given. Returns (indices (k,), distances (k,)), nearest first."""
    mu = np.asarray(mu, np.float64)
    d = symmetric_kl(mu, logvar, i) if logvar is not None else np.linalg.norm(mu - mu[i], axis=1)
    d[i] = np.inf
    near = np.argsort(d, kind="stable")[:min(k, len(mu) - 1)]
    return near, d[near]
