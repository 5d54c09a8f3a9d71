"""Stage 2 of the two-stage VAE: ``vae-train-stage2 STAGE1 --out DIR`` (also
``vae-train-stage2``), or ``train_second_stage()`` from Python.

Reads a finished stage-1 bundle, computes mu_z(x) and sigma_z(x) of every training image once,
draws z = mu + sigma * eps afresh each epoch, and trains the VAE on codes (vae_core.families.two_stage.model)
with Adam, the learning rate halved every ``--lr-halve-every`` epochs (the authors: 800 epochs
at 1e-4 halved every 300, batch 64; GPU-length, see docs/benchmarks.md). Writes one bundle
holding both stages, validated by the same loader, after every epoch (atomically); a killed
run continues with ``--resume``, under the options then given (a changed schedule applies from
the next epoch; the bundle records the last command). The losses are in nats per code, summed over its D dimensions.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from vae_core import checkpoint as ckpt
from vae_core.analysis import encode_images
from vae_core.distributions import DiagonalGaussian
from vae_core.data import load_dataset, prepare
from vae_core.families.gaussian.model import VAE
from vae_core.families.two_stage.model import TwoStageVAE
from vae_core.run import RunFolder


def train_second_stage(stage1: str | Path, out: str | Path, *, epochs: int = 100, batch_size: int = 64,
                       lr: float = 1e-3, lr_halve_every: int = 0, width: int = 1024, depth: int = 3, seed: int = 0,
                       data_dir: str | Path | None = None, download: bool = True, overwrite: bool = False,
                       resume: bool = False, progress: bool = True, command: str | None = None) -> Path:
    """Train stage 2 on the codes of the stage-1 bundle ``stage1``; write the two-stage bundle to
    ``out`` and return it.

    Raises:
        BundleError: ``stage1`` is not a loadable bundle of a Gaussian VAE, or its run is unfinished.
        DatasetNotFoundError: its training images are not on disk and cannot be downloaded.
        FileExistsError: ``out`` holds a bundle and neither ``overwrite`` nor ``resume`` is set,
            or ``resume`` is set and that run has finished.
        ValueError: epochs, batch size or learning rate out of range.
    """
    if epochs < 1 or batch_size < 1 or not lr > 0 or lr_halve_every < 0:
        raise ValueError("epochs and batch size must be >= 1, lr > 0, lr_halve_every >= 0")
    first = ckpt.load_bundle(stage1)
    if type(first.model) is not VAE or first.metrics is None:
        raise ckpt.BundleError(first.path, "stage 2 needs a finished stage-1 bundle of the Gaussian VAE family")
    run = RunFolder(out, overwrite=overwrite, resume=resume, family="two-stage")  # refuses to clobber; tests the folder is writable
    out = run.out
    torch.manual_seed(seed)
    model = TwoStageVAE.from_stage1(first.model, width=width, depth=depth).train()
    optimizer = torch.optim.Adam(model.stage2.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    tc = first.train_config
    train_images = load_dataset(tc.dataset, "train", data_dir, download=download, folder=tc.folder,
                                image_shape=first.model_config.image_shape).images
    x = prepare(train_images, bool(first.dataset.get("binarized")), seed=0)
    with torch.no_grad():
        mu, logvar = encode_images(first.model, x)  # once: q(z|x) of every training image, (N, D)
    settings = {"stage1_bundle": first.name, "stage1_command": first.command, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                "lr_halve_every": lr_halve_every, "seed": seed, "codes": len(mu)}
    if not run.resuming:
        run.start(model, model.config, first.train_config, first.dataset, first.probe_images, first.probe_labels,
                  command, extra={"stage2": settings})
        for record in first.history():  # stage 1's log, then stage 2's
            ckpt.append_history(out, {**record, "stage": 1})
        counters = {"epoch": 0}
    else:
        counters = run.resume(model.stage2, optimizer, gen, stage=2)
        if command:  # the options given now rule from the next epoch on; the bundle says which ran last
            ckpt.write_config(out, model.config, first.train_config, first.dataset, command, family=model.family,
                              extra={"stage2": settings})
    for epoch in range(counters["epoch"] + 1, epochs + 1):
        rate = lr * 0.5 ** ((epoch - 1) // lr_halve_every) if lr_halve_every else lr
        for group in optimizer.param_groups:
            group["lr"] = rate
        record = _epoch(model, optimizer, mu, logvar, batch_size, gen, epoch, epochs, progress)
        record["lr"] = rate
        run.save_epoch(record, model, optimizer, gen, {"epoch": epoch}, state_of=model.stage2)
        if progress:
            tqdm.write(f"stage 2, epoch {epoch}: D2 {record['reconstruction']:.2f}, KL {record['kl']:.2f} nats per "
                       f"code, gamma_z {record['gamma_z']:.4f}")
    _finish(run, model, first, settings)
    return out


def _epoch(model: TwoStageVAE, optimizer, mu, logvar, batch_size: int, gen, epoch: int, epochs: int,
           progress: bool) -> dict[str, Any]:
    z_all = DiagonalGaussian(mu, logvar).sample(1, gen)[0]  # fresh z ~ q(z|x) each epoch
    order = torch.randperm(len(z_all), generator=gen)
    sums, steps = torch.zeros(2), 0
    for i in tqdm(range(0, len(order), batch_size), desc=f"stage 2, epoch {epoch}/{epochs}", disable=not progress,
                  leave=False):
        d2, r2 = model.stage2.terms(z_all[order[i:i + batch_size]], generator=gen)
        loss = d2.mean() + r2.mean()
        if not math.isfinite(float(loss.detach())):
            raise FloatingPointError(f"stage 2's loss is not finite in epoch {epoch}; try a smaller --lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sums += torch.stack([d2.mean(), r2.mean()]).detach()
        steps += 1
    d2, r2 = (sums / steps).tolist()
    return {"kind": "epoch", "stage": 2, "epoch": epoch, "reconstruction": d2, "kl": r2, "loss": d2 + r2,
            "elbo": -(d2 + r2), "gamma_z": float(model.stage2.log_gamma.detach().exp()), "units": "nats per code"}


def _finish(run: RunFolder, model: TwoStageVAE, first, settings: dict[str, Any]) -> None:
    """metrics.json: stage 1's test figures (its weights are unchanged) without its Fréchet
    distances (the samples now come from stage 2: ``vae-evaluate --frechet-only``), and
    stage 2's training facts."""
    metrics = {k: v for k, v in first.metrics.items() if k != "frechet_distance"}
    metrics["stage2"] = {**settings, "wall_time_s": round(run.elapsed, 1),
                         "gamma_z": float(model.stage2.log_gamma.detach().exp())}
    run.finish(metrics)
