"""One session's training run in the 2-D lab: the model, its optimizer and its log, held in
st.session_state and advanced a few hundred steps at a time by the page's fragment. Bounded
in steps and in time per call, so a session can never hold the server's CPU for long; it ends
with the session (nothing runs between the fragment's reruns)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from vae_core.families.toy2d import model as lab2d

MAX_STEPS = 20_000
BATCH = 256


@dataclass
class LabRun:
    """A ToyVAE training on ``points`` (N, 2) with Adam; ``history`` holds, every ``log_every``
    steps, the whole data set's D, R and ELBO (nats per point, one z per point)."""

    points: np.ndarray
    latent_dim: int = 2
    sigma: float = 0.1
    learn_sigma: bool = False
    beta: float = 1.0
    lr: float = 3e-3
    seed: int = 0
    log_every: int = 25
    steps: int = 0
    history: list[dict] = field(default_factory=list)

    def __post_init__(self):
        torch.manual_seed(self.seed)
        self.model = lab2d.ToyVAE(self.latent_dim, sigma=self.sigma, learn_sigma=self.learn_sigma)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.x = torch.as_tensor(self.points, dtype=torch.float32)
        self._record()

    @property
    def done(self) -> bool:
        return self.steps >= MAX_STEPS

    def add_points(self, points: np.ndarray) -> None:
        """Train on ``points`` (N, 2) from now on: the learner's clicks add to the data."""
        self.points = points
        self.x = torch.as_tensor(points, dtype=torch.float32)

    def set_sigma(self, sigma: float, learn: bool) -> None:
        """The decoder's s, changed mid-run; a learned s then moves on from there."""
        if learn != self.learn_sigma or (not learn and abs(sigma - self.model.sigma) > 1e-9):
            self.model.set_sigma(sigma, learn)
            self.learn_sigma = learn

    def train(self, max_steps: int = 400, max_seconds: float = 0.25) -> int:
        """Up to ``max_steps`` Adam steps on minibatches of D + beta R, stopping after
        ``max_seconds`` or at MAX_STEPS; returns the steps taken."""
        started, taken = time.perf_counter(), 0
        while taken < max_steps and not self.done and time.perf_counter() - started < max_seconds:
            idx = torch.randint(len(self.x), (min(BATCH, len(self.x)),), generator=self.gen)
            loss = self.model.loss(self.x[idx], self.beta, self.gen)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.steps += 1
            taken += 1
            if self.steps % self.log_every == 0:
                self._record()
        return taken

    @torch.no_grad()
    def _record(self) -> None:
        d, r = self.model.terms(self.x, self.gen)
        self.history.append({"step": self.steps, "D": float(d.mean()), "R": float(r.mean()),
                             "ELBO": float(-(d + r).mean()), "sigma": self.model.sigma, "beta": self.beta})
