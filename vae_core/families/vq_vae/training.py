"""Train a VQ-VAE and then its PixelCNN prior: ``vae-train-vq --out DIR`` (also
``vae-train-vq``), or ``train_vq()`` from Python.

Phase 1 minimises eq. 3 of van den Oord et al. 2017 (vae_core.families.vq_vae.model) with Adam over the
training split (dynamically binarized for a Bernoulli decoder on MNIST, as the Gaussian VAEs
are), with the EMA codebook and code restarts; phase 2 fits the PixelCNN prior to the code
grids of the training images, the VQ-VAE frozen. The bundle, validated by the same loader as
every other, is written after every epoch (atomically, so a kill keeps the last one) with the
state ``--resume`` continues from. At the end the test split is scored into metrics.json
(vae_core.families.vq_vae.evaluation) with the Fréchet distances of prior and uniform-code samples.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from vae_core import checkpoint as ckpt
from vae_core import sample_quality
from vae_core.config import TrainConfig
from vae_core.data import (
    VAL_FRACTION,
    binarization_note,
    binarize,
    default_binarize,
    load_dataset,
    prepare,
    probe_subset,
    split_validation,
    to_float,
)
from vae_core.families.vq_vae.evaluation import codebook_usage, evaluate_vq
from vae_core.families.vq_vae.model import VQVAE, VQConfig
from vae_core.run import RunFolder, resolve_device


def train_vq(model_config: VQConfig, train_config: TrainConfig, out: str | Path, *, prior_epochs: int = 20,
             prior_lr: float = 1e-3, frechet: int = 10_000, data_dir: str | Path | None = None, download: bool = True,
             overwrite: bool = False, resume: bool = False, progress: bool = True, command: str | None = None) -> Path:
    """Train both phases; write the bundle to ``out`` and return it. ``frechet`` test images
    (0: none) score the samples (sample_quality; MNIST and Fashion-MNIST only).

    Raises:
        DatasetNotFoundError: the data set is not on disk and cannot be downloaded.
        FileExistsError: ``out`` holds a bundle and neither ``overwrite`` nor ``resume`` is set,
            or ``resume`` is set and that run has finished.
        FloatingPointError: a loss became NaN or infinite; the bundle keeps the last epoch.
        ValueError: prior_epochs < 0 or prior_lr <= 0, or the images do not fit the model.
    """
    if prior_epochs < 0 or not prior_lr > 0:
        raise ValueError("prior_epochs must be >= 0 and prior_lr > 0")
    tc = train_config
    folder = RunFolder(out, overwrite=overwrite, resume=resume, family="vq-vae")  # refuses to clobber; tests the folder is writable
    out, state = folder.out, folder.state
    device = resolve_device(tc.device)
    torch.manual_seed(tc.seed)
    source = {"download": download, "folder": tc.folder, "image_shape": model_config.image_shape}
    whole_train = load_dataset(tc.dataset, "train", data_dir, **source)
    train_set, val_set = split_validation(whole_train, VAL_FRACTION, tc.seed)
    test_set = load_dataset(tc.dataset, "test", data_dir, **source)
    use_binarize = default_binarize(tc.dataset, model_config.likelihood) if tc.binarize is None else tc.binarize
    model = VQVAE(model_config).to(device)
    gen = torch.Generator(device=device).manual_seed(tc.seed)
    settings = {"prior_epochs": prior_epochs, "prior_lr": prior_lr}
    if state is None:
        probe = probe_subset(test_set, min(tc.probe_size, len(test_set)))
        dataset = {"name": tc.dataset, "image_shape": list(model_config.image_shape), "value_range": [0.0, 1.0],
                   "classes": test_set.classes, "binarized": use_binarize, "likelihood": model_config.likelihood}
        folder.start(model, model_config, tc, dataset, probe.images, probe.labels, command, extra={"prior": settings})
        counters: dict[str, Any] = {"phase": "vq", "epoch": 0}
    else:  # the phase and epoch it stopped after; weights and moments are restored with the phase's optimizer
        counters = {"phase": state[1].get("phase", "vq"), "epoch": int(state[1].get("epoch", 0)),
                    "elapsed_s": float(state[1].get("elapsed_s", 0.0))}
        folder.resumed(counters, stage=1 if counters["phase"] == "vq" else 2)
    x_val = prepare(val_set.images, use_binarize, seed=tc.seed).to(device)
    run = {"out": out, "gen": gen, "progress": progress}  # what the epochs share
    if counters["phase"] == "vq":
        optimizer = _optimizer(model, "vq", tc.lr, prior_lr)
        if state is not None:
            ckpt.restore_train_state(out, state, model, optimizer, gen)
        for epoch in range(counters["epoch"] + 1, tc.epochs + 1):
            record = _vq_epoch(model, optimizer, train_set.images.to(device), x_val, use_binarize, tc, epoch, run)
            _save(folder, run, model, optimizer, {"phase": "vq", "epoch": epoch}, record)
        counters, state = {"phase": "prior", "epoch": 0}, None
    optimizer = _optimizer(model, "prior", tc.lr, prior_lr)
    if state is not None:
        ckpt.restore_train_state(out, state, model, optimizer, gen)
    codes = _codes(model, prepare(train_set.images, use_binarize, seed=tc.seed)), _codes(model, x_val)
    for epoch in range(counters["epoch"] + 1, prior_epochs + 1):
        record = _prior_epoch(model, optimizer, codes, tc.batch_size, epoch, prior_epochs, run)
        _save(folder, run, model, optimizer, {"phase": "prior", "epoch": epoch}, record)
    _finish(folder, model, test_set.images, whole_train.images, use_binarize, frechet, tc,
            {"epochs": tc.epochs, "prior_epochs": prior_epochs, "wall_time_s": round(folder.elapsed, 1),
             "device": str(device)}, progress)
    return out


def _optimizer(model: VQVAE, phase: str, lr: float, prior_lr: float) -> torch.optim.Optimizer:
    if phase == "prior":
        return torch.optim.Adam(model.prior.parameters(), lr=prior_lr)
    params = [p for name, p in model.named_parameters() if not name.startswith("prior.")]
    return torch.optim.Adam(params, lr=lr)


def _vq_epoch(model: VQVAE, optimizer, images: torch.Tensor, x_val: torch.Tensor, use_binarize: bool,
              tc: TrainConfig, epoch: int, run: dict[str, Any]) -> dict[str, Any]:
    model.train()
    gen = run["gen"]
    order = torch.randperm(len(images), generator=gen, device=images.device)
    sums, steps, restarts = torch.zeros(4), 0, 0
    codes = []
    for i in tqdm(range(0, len(order), tc.batch_size), desc=f"VQ-VAE, epoch {epoch}/{tc.epochs}",
                  disable=not run["progress"], leave=False):
        x = to_float(images[order[i:i + tc.batch_size]])
        x = binarize(x, gen) if use_binarize else x
        t = model.training_terms(x)
        loss = model.loss(t)
        if not math.isfinite(float(loss.detach())):
            raise FloatingPointError(f"the VQ-VAE loss is not finite in epoch {epoch}; {run['out']} keeps the last "
                                     "epoch; try a smaller --lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        restarts += model.quantizer.update(t["z_e"], t["indices"], gen)
        sums += torch.stack([*(t[k].mean() for k in ("reconstruction", "commitment", "codebook")), loss]).detach().cpu()
        codes.append(t["indices"].cpu())
        steps += 1
    d, commitment, codebook, mean_loss = (sums / steps).tolist()
    model.eval()
    val = evaluate_vq(model, x_val, batch_size=1000)
    usage = codebook_usage(torch.cat(codes), model.config.codebook_size)
    return {"kind": "epoch", "stage": 1, "epoch": epoch, "reconstruction": d, "commitment": commitment,
            "codebook_loss": codebook, "loss": mean_loss,  # eq. 3 as minimised (VQVAE.loss), batch mean
            "perplexity": usage["perplexity"], "codes_used": usage["used"], "restarts": restarts,
            "val_reconstruction": val["reconstruction"], "val_perplexity": val["codebook"]["perplexity"],
            "units": "nats per image"}


@torch.no_grad()
def _codes(model: VQVAE, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.encode_latent(x[i:i + batch_size].to(device)) for i in range(0, len(x), batch_size)])


def _prior_epoch(model: VQVAE, optimizer, codes, batch_size: int, epoch: int, epochs: int,
                 run: dict[str, Any]) -> dict[str, Any]:
    train_codes, val_codes = codes
    model.prior.train()
    order = torch.randperm(len(train_codes), generator=run["gen"], device=train_codes.device)
    total, steps = 0.0, 0
    for i in tqdm(range(0, len(order), batch_size), desc=f"PixelCNN prior, epoch {epoch}/{epochs}",
                  disable=not run["progress"], leave=False):
        nll = -model.prior.log_prob(train_codes[order[i:i + batch_size]]).mean()
        if not math.isfinite(float(nll.detach())):
            raise FloatingPointError(f"the prior's loss is not finite in epoch {epoch}; try a smaller --prior-lr")
        optimizer.zero_grad(set_to_none=True)
        nll.backward()
        optimizer.step()
        total += float(nll.detach())
        steps += 1
    model.prior.eval()
    with torch.no_grad():
        val = float(torch.cat([-model.prior.log_prob(val_codes[i:i + 1000]) for i in range(0, len(val_codes), 1000)]).mean())
    return {"kind": "epoch", "stage": 2, "epoch": epoch, "prior_nll": total / steps, "val_prior_nll": val,
            "uniform_rate": model.uniform_rate, "units": "nats per image"}


def _save(folder: RunFolder, run: dict[str, Any], model: VQVAE, optimizer, counters: dict[str, Any],
          record: dict[str, Any]) -> None:
    folder.save_epoch(record, model, optimizer, run["gen"], counters)
    if run["progress"]:
        figures = (f"D {record['reconstruction']:.2f} nats per image, perplexity {record['perplexity']:.1f}, "
                   f"{record['codes_used']} codes used, {record['restarts']} restarts" if record["stage"] == 1 else
                   f"prior NLL {record['prior_nll']:.2f} (held out {record['val_prior_nll']:.2f}) nats per image")
        tqdm.write(f"{'VQ-VAE' if record['stage'] == 1 else 'prior'}, epoch {record['epoch']}: {figures}")


def _finish(folder: RunFolder, model: VQVAE, test_images, train_images, use_binarize: bool, frechet: int, tc: TrainConfig,
            facts: dict[str, Any], progress: bool) -> None:
    device = next(model.parameters()).device
    metrics = evaluate_vq(model, prepare(test_images, use_binarize, seed=0).to(device), progress=progress)
    metrics.update(split="test", binarization=binarization_note(use_binarize, 0), **facts)
    loaded = sample_quality.load_classifier(tc.dataset)
    if frechet > 0 and loaded is not None:
        # The whole training split in a seed-0 order, as vae-evaluate draws it: the same floor as other bundles.
        order = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(0))
        metrics["frechet_distance"] = sample_quality.report(model, to_float(test_images), to_float(train_images[order]),
                                                            *loaded, n=frechet, seed=0)
    folder.finish(metrics)
