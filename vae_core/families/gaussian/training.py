"""The Gaussian VAE's training loop: ``train()``; its command line is ``vae_core/cli/train.py``.

One run: load the data set once as uint8 on the device, draw shuffled batches from it
(binarized on the fly where asked), minimise D + beta * R, log to ``history.jsonl`` every
``log_every`` steps and every epoch, keep the bundle's weights at the epoch with the best
held-out objective D + beta * R (the negative ELBO when beta = 1; written atomically, so
a crash never loses it), and score the final model on the test split into ``metrics.json``.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from vae_core import checkpoint as ckpt
from vae_core.config import ModelConfig, TrainConfig
from vae_core.data import VAL_FRACTION, binarize, default_binarize, load_dataset, prepare, probe_subset, split_validation, to_float
from vae_core.families.gaussian import distributed
from vae_core.families.gaussian.evaluation import test_metrics
from vae_core.family import evaluate
from vae_core.families.gaussian.model import VAE
from vae_core.families.gaussian.objectives import beta_at, capacity_at, learning_rate, objective, terms, terms_loss
from vae_core.run import NonFiniteLoss, resolve_device
from vae_core.run import RunFolder
from vae_core.run import check_run_options as _check_run_options
from vae_core.run import raise_if_bad as _raise_if_bad
from vae_core.run import require_finite as _require_finite



def train(model_config: ModelConfig, train_config: TrainConfig, out_dir: str | Path, *,
          data_dir: str | Path | None = None, download: bool = True, command: str | None = None,
          overwrite: bool = False, log_every: int = 100, progress: bool = True, resume: bool = False) -> Path:
    """Train a VAE and write its bundle to ``out_dir``; returns the folder.

    After every epoch the bundle also holds ``train_state.safetensors`` (weights, Adam's
    moments, the random generator); with ``resume=True`` a run killed at any moment continues
    from its last complete epoch and ends with the same weights as an uninterrupted run (on
    the CPU, where the arithmetic is deterministic). The file is removed when the run ends.

    Raises:
        DatasetNotFoundError: the data set is not on disk and cannot be downloaded.
        FileExistsError: ``out_dir`` already holds a bundle and neither ``overwrite`` nor
            ``resume`` is set, or ``resume`` is set and that run has already finished.
        PermissionError, OSError: ``out_dir`` cannot be written (checked before training).
        ValueError: the data set's image shape differs from ``model_config.image_shape``.
        FloatingPointError: the training loss or the held-out objective became NaN or infinite;
            the bundle keeps the last good epoch.

    Unlike the command, it leaves the machine-wide run registry (vae_core.runs) and floating
    point alone: on the CPU call ``flush_denormals()`` first, or later steps are slower.
    """
    rank, world, device = distributed.setup(resolve_device(train_config.device))
    try:
        _check_run_options(train_config, device, world, resume)
        # Rank 0 writes the bundle; it alone refuses to clobber one and tests the folder.
        folder = RunFolder(out_dir, overwrite=overwrite, resume=resume, write=rank == 0, family="vae")
        _train(model_config, train_config, folder, device=device, rank=rank, world=world, data_dir=data_dir,
               download=download, command=command, log_every=log_every, progress=progress and rank == 0)
    finally:
        distributed.teardown()
    return Path(out_dir)


def _train(model_config: ModelConfig, cfg: TrainConfig, folder: RunFolder, *, device: torch.device, rank: int,
           world: int, data_dir, download: bool, command: str | None, log_every: int, progress: bool) -> None:
    main, out = rank == 0, folder.out  # rank 0 writes the bundle
    torch.manual_seed(cfg.seed)
    source = {"download": download, "folder": cfg.folder, "image_shape": model_config.image_shape}
    train_set, val_set = split_validation(load_dataset(cfg.dataset, "train", data_dir, **source),
                                          VAL_FRACTION, cfg.seed)
    test_set = load_dataset(cfg.dataset, "test", data_dir, **source)
    if tuple(train_set.images.shape[1:]) != tuple(model_config.image_shape):
        raise ValueError(f"{cfg.dataset} images are {tuple(train_set.images.shape[1:])}, "
                         f"model expects {model_config.image_shape}")
    use_binarize = default_binarize(cfg.dataset, model_config.likelihood) if cfg.binarize is None else cfg.binarize

    model = VAE(model_config).to(device)  # same seed: the same initial weights in every process
    # One fused kernel for all parameters (CPU and CUDA): on the 784-400-20 MLP a CPU step takes
    # about a fifth less time than with the default Adam (python -m bench.cpu_step).
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, eps=cfg.adam_eps, fused=device.type in ("cpu", "cuda"))
    run = _Run(folder, cfg, use_binarize, torch.Generator(device=device).manual_seed(cfg.seed + rank), log_every,
               progress, forward=_forward(model, cfg, device, world), rank=rank, world=world, write=main)
    if not folder.resuming:
        probe = probe_subset(test_set, min(cfg.probe_size, len(test_set)))
        dataset = {"name": cfg.dataset, "image_shape": list(model_config.image_shape), "value_range": [0.0, 1.0],
                   "classes": test_set.classes, "binarized": use_binarize, "likelihood": model_config.likelihood}
        folder.start(model, model_config, cfg, dataset, probe.images, probe.labels, command)
        counters = {"epoch": 0, "best_loss": math.inf, "best_epoch": 0, "stale": 0}
        best_state = copy.deepcopy(model.state_dict())
    else:
        counters = run.restore(model, optimizer)  # and the log and clock, to the end of its epoch
        best_state = {k: v.to(device) for k, v in ckpt.load_bundle(out).model.state_dict().items()}
        run.say(f"resuming {out} after epoch {counters['epoch']} (step {run.step})")

    images = train_set.images.to(device)  # held once, as bytes, on the training device
    steps = cfg.epochs * -(-len(images) // max(1, cfg.batch_size // world))
    # Imported here: it pulls in torch._inductor (1.2-1.6 s), which the explorer never needs.
    from vae_core.families.gaussian import compiled_step
    run.fast, run.bf16, run.step_line = compiled_step.choose(model, optimizer, cfg, device, world, steps,
                                                    prepare(images[:cfg.batch_size], use_binarize, seed=cfg.seed))
    run.say(run.step_line)
    x_val = prepare(val_set.images, use_binarize, seed=cfg.seed).to(device)
    epoch = counters["epoch"]
    while epoch < cfg.epochs and not (cfg.patience and counters["stale"] >= cfg.patience):
        epoch += 1
        try:
            record = run.epoch(model, optimizer, images, epoch)
        except NonFiniteLoss as exc:
            _require_finite(math.nan, f"the training loss at step {exc.step} (epoch {epoch})", out,
                            counters["best_epoch"], cfg, model_config)
        # An IWAE run keeps the epoch of the best held-out L_k, at its training k.
        val = evaluate(model, x_val, k=cfg.mc_samples if cfg.objective == "iwae" else 0, batch_size=1000,
                       seed=cfg.seed)
        # Every process takes rank 0's figure, so all stop at the same epoch.
        val_loss = distributed.from_rank0(held_out_loss(val, cfg), device)
        _require_finite(val_loss, f"held-out objective after epoch {epoch} (step {run.step})", out,
                        counters["best_epoch"], cfg, model_config)
        record.update(val_elbo=val["elbo"], val_reconstruction=val["reconstruction"], val_kl=val["kl"],
                      val_kl_per_dim=val["kl_per_dim"], val_active_units=val["active_units"], val_loss=val_loss)
        bound = ""
        if "log_likelihood" in val:  # the IWAE objective's held-out L_k, at the training k
            record.update(val_log_likelihood=val["log_likelihood"]["estimate"], val_k=cfg.mc_samples)
            bound = f", L_{cfg.mc_samples} {record['val_log_likelihood']:.2f}"
        run.say(f"epoch {epoch}: training D {record['reconstruction']:.2f}, KL {record['kl']:.2f} | "
                f"held-out ELBO {val['elbo']:.2f}{bound} (nats per image)")
        improved = val_loss < counters["best_loss"]
        if improved:
            counters.update(best_loss=val_loss, best_epoch=epoch, stale=0)
            best_state = copy.deepcopy(model.state_dict())
        else:
            counters["stale"] += 1
            if cfg.patience and counters["stale"] >= cfg.patience:
                run.say(f"held-out objective has not improved for {counters['stale']} epochs; stopping")
        counters["epoch"] = epoch
        # The log, the weights where this epoch is the best so far (the bundle always holds the
        # best), then the state: a kill in between redoes this epoch.
        folder.save_epoch(record, model, optimizer, run.gen, {**counters, "step": run.step}, weights=improved)
    if not main:
        return
    wall = folder.elapsed
    model.load_state_dict(best_state)
    metrics = test_metrics(model, test_set.images, use_binarize, cfg.eval_k, device, progress, epochs=epoch,
                           best_epoch=counters["best_epoch"], wall_time_s=round(wall, 1), processes=world,
                           training_step=run.step_line)
    # NaN or infinity in either bound propagates through the sum.
    _require_finite(metrics["elbo"] + metrics.get("log_likelihood", {}).get("estimate", 0.0),
                    "the test-set ELBO or L_k", out, counters["best_epoch"], cfg, model_config)
    folder.finish(metrics)


def _forward(model: VAE, cfg: TrainConfig, device: torch.device, world: int):
    """The training forward pass: the model, wrapped in DistributedDataParallel under
    torchrun (gradients averaged across processes) and compiled when asked."""
    forward = model
    if world > 1:
        forward = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    return torch.compile(forward) if cfg.compile else forward


def held_out_loss(val: dict[str, Any], cfg: TrainConfig) -> float:
    """The objective as trained, with its final beta, C or free-bits floor, on the held-out
    split (nats per image): the kept epoch and early stopping follow it. It is -ELBO when
    beta = 1; at beta = 0 it is D alone, so a plain autoencoder keeps its best reconstructions
    rather than its first epoch (its rate, unpenalised, only grows). Under the importance-weighted
    objective it is -L_k (``val`` then holds ``log_likelihood``)."""
    if cfg.objective == "iwae":
        return -float(val["log_likelihood"]["estimate"])
    return float(objective(val["reconstruction"], val["kl"], val["kl_per_dim"], beta=cfg.beta,
                           capacity=cfg.capacity, free_bits=cfg.free_bits))


class _Run:
    """State shared by the epochs of one run: the step count, the random generator, the log."""

    def __init__(self, folder: RunFolder, cfg: TrainConfig, use_binarize: bool, gen: torch.Generator,
                 log_every: int, progress: bool, *, forward=None, rank: int = 0, world: int = 1, write: bool = True):
        self.folder, self.out, self.cfg, self.use_binarize, self.gen = folder, folder.out, cfg, use_binarize, gen
        self.log_every, self.progress = log_every, progress
        self.forward, self.rank, self.world, self.write = forward, rank, world, write
        # Under torchrun every process draws the same order and takes its own share of it;
        # noise and binarization come from each process's own generator (seeded seed + rank).
        self.order_gen = gen if world == 1 else torch.Generator(device=gen.device).manual_seed(cfg.seed)
        self.step, self.lr = 0, cfg.lr
        # The step, bf16 and the line saying which, once compiled_step.choose has chosen them.
        self.fast, self.bf16, self.step_line = None, cfg.bf16 is True, ""

    def restore(self, model: VAE, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """Load the state the last epoch saved (RunFolder.save_epoch); returns the epoch
        counters. Raises BundleError."""
        meta = self.folder.resume(model, optimizer, self.gen)
        try:
            self.step = int(meta["step"])
            return {k: meta[k] for k in ("epoch", "best_loss", "best_epoch", "stale")}
        except (KeyError, ValueError, TypeError) as exc:
            raise ckpt.BundleError(self.out / ckpt.TRAIN_STATE, f"does not fit this run ({exc})") from None

    def say(self, line: str) -> None:
        if self.progress:
            tqdm.write(line)

    def epoch(self, model: VAE, optimizer: torch.optim.Optimizer, images: torch.Tensor, epoch: int) -> dict[str, Any]:
        """One pass over ``images`` (N, C, H, W) uint8 in a fresh random order; returns the epoch's record."""
        cfg, gen = self.cfg, self.gen
        model.train()
        self.lr = learning_rate(epoch, cfg.lr, cfg.lr_schedule)
        for group in optimizer.param_groups:
            group["lr"] = self.lr
        order = torch.randperm(len(images), generator=self.order_gen, device=images.device)
        if self.world > 1:  # equal shares, so every process takes the same number of steps
            order = order[:len(order) - len(order) % self.world][self.rank::self.world]
        batch = cfg.batch_size // self.world  # the batch of all processes together is --batch-size
        steps = -(-len(order) // batch)
        sums = torch.zeros(3, device=images.device)  # running D, R, loss; read back only when logging
        first_bad = torch.full((), -1, device=images.device)  # first step with a non-finite loss
        bar = tqdm(range(steps), desc=f"epoch {epoch}/{cfg.epochs}", disable=not self.progress, leave=False,
                   unit="batch")
        for i in bar:
            x = to_float(images[order[i * batch:(i + 1) * batch]])
            if self.use_binarize:
                x = binarize(x, gen)
            beta = beta_at(epoch - 1 + i / steps, cfg.beta, cfg.warmup_epochs)
            capacity = capacity_at(epoch - 1 + i / steps, cfg.capacity, cfg.capacity_epochs) if cfg.capacity else None
            if self.fast is not None:  # the same noise, drawn as DiagonalGaussian.sample draws it
                eps = torch.randn(cfg.mc_samples, len(x), model.latent_dim, generator=gen, device=x.device)
                loss, d, r = self.fast(x, eps, beta, capacity, self.lr)
            else:
                with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                    t = terms(model, x, n_samples=cfg.mc_samples, generator=gen, forward=self.forward,
                              importance_weighted=cfg.objective == "iwae")
                    loss = terms_loss(t, beta, capacity, cfg.free_bits)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                d, r = t.reconstruction.mean(), t.kl.mean()
            self.step += 1
            sums += torch.stack([d, r, loss]).detach()
            # Recorded on the device, checked when the log reads back anyway: no sync per step.
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss.detach()), self.step, first_bad)
            if self.step % self.log_every == 0:
                _raise_if_bad(distributed.first_nonnegative(first_bad))
                recon, kl, mean_loss = (distributed.mean(sums.clone()) / (i + 1)).tolist()
                bar.set_postfix(recon=f"{recon:.1f}", kl=f"{kl:.2f}", beta=f"{beta:.2f}")
                if self.write:
                    ckpt.append_history(self.out, self.record("step", model, epoch, beta, capacity, recon, kl,
                                                              mean_loss))
        _raise_if_bad(distributed.first_nonnegative(first_bad))
        recon, kl, mean_loss = (distributed.mean(sums) / steps).tolist()
        return self.record("epoch", model, epoch, beta, capacity, recon, kl, mean_loss)

    def record(self, kind: str, model: VAE, epoch: int, beta: float, capacity: float | None, recon: float,
               kl: float, loss: float) -> dict[str, Any]:
        """One history.jsonl line: the training batches' running means since the epoch began,
        in nats per image; ``loss`` is what was minimised (see objectives.terms_loss)."""
        record = {"kind": kind, "step": self.step, "epoch": epoch, "beta": beta, "reconstruction": recon, "kl": kl,
                  "elbo": -(recon + kl), "loss": loss, "lr": self.lr,
                  "time_s": round(self.folder.elapsed, 2), "stage": 1, "units": "nats per image"}
        if capacity is not None:
            record["capacity"] = capacity
        if self.cfg.free_bits:
            record["free_bits"] = self.cfg.free_bits
        log_sigma = getattr(model.likelihood, "log_sigma", None)
        if log_sigma is not None:  # Gaussian decoder: sigma in pixel units, learned or fixed
            record["sigma"] = float(log_sigma.detach().exp())
        return record
