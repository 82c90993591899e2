"""The training loop: batches, BCE+Dice, per-epoch validation and atomic checkpoints.

`train` runs in one process, or in each of the processes torchrun starts (distributed.py): each
makes its share of every global batch, DDP averages the gradients, rank 0 validates and writes.
"""
from __future__ import annotations

import itertools
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader

from ..errors import ConfigError, DataError
from .augment import Augmenter
from .batches import EpochBatches, rank_share
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import Pair, load_images, load_pairs, split_pairs
from .distributed import Dist, forward_fn, setup, teardown
from .ema import WeightAverage
from .grow import grow_state_dict
from .losses import bce_dice_loss
from .model import build_model, canonical_config, count_parameters
from .qat import calibrate, enable_fake_quant
from .validation import validate

log = logging.getLogger(__name__)


@dataclass
class TrainData:
    """The pairs to train on, the validation sets, and the sampler that augments them."""
    train_pairs: list[Pair]
    val_pairs: list[Pair]
    others: dict[str, list[Pair]]      # {score key prefix: pairs}: other folders' splits, monitor sets
    augmenter: Augmenter
    skipped: dict


@dataclass
class Trainee:
    """The model and what trains it, at the epoch training starts from."""
    model: torch.nn.Module
    model_cfg: dict
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    ema: WeightAverage | None = None   # rank 0 only
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None
    start_epoch: int = 0
    best: float = -1.0
    history: list[dict] = field(default_factory=list)

    @property
    def scored(self) -> torch.nn.Module:
        """What validation scores and checkpoints store as "model": the average if there is one."""
        return self.model if self.ema is None else self.ema.model


def _lr_lambda(cfg: TrainConfig, steps_per_epoch: int):
    total = cfg.epochs * steps_per_epoch
    warm = max(1, int(cfg.warmup_epochs * steps_per_epoch))

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm)))) * 0.99 + 0.01
    return f


def _progress(iterable, total: int, desc: str):
    try:
        from tqdm import tqdm
    except ImportError:  # the train extra brings tqdm; degrade to no bar rather than fail
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True, mininterval=1.0)


def load_data(cfg: TrainConfig) -> TrainData:
    """Read every folder of the config: training pairs, validation splits, monitor sets, backgrounds, cut-outs.

    Raises:
        DataError: a folder is missing or holds no usable pair.
    """
    t_load = time.perf_counter()
    boxes = json.loads(Path(cfg.ignore_boxes).read_text()) if cfg.ignore_boxes else None
    pairset = load_pairs(cfg.data, cfg.soft_label_data, cfg.coarse_edges, boxes)
    train_pairs, val_all = split_pairs(pairset.pairs, cfg.val_fraction)
    val_pairs = [p for p in val_all if p.source == Path(cfg.data[0]).name]
    if cfg.max_val_images:
        val_pairs = val_pairs[: cfg.max_val_images]
    cap = cfg.max_val_per_source or None
    others = {f"val_{Path(d).name}": [p for p in val_all if p.source == Path(d).name][:cap] for d in cfg.data[1:]
              if Path(d).resolve() not in {Path(s).resolve() for s in cfg.soft_label_data}}
    others.update({f"dev_{Path(d).name}": load_pairs([d]).pairs for d in cfg.monitor})
    backgrounds = load_images(cfg.backgrounds)
    cutouts = load_images(cfg.cutouts, cv2.IMREAD_UNCHANGED)
    cutouts = [c for c in cutouts if c.ndim == 3 and c.shape[2] == 4]
    log.info("data: %d train pairs, %d validation, %d backgrounds, %d cut-outs, skipped %s (%.1f s)",
             len(train_pairs), len(val_pairs), len(backgrounds), len(cutouts), dict(pairset.skipped),
             time.perf_counter() - t_load)
    weights = dict(zip((Path(d).name for d in cfg.data), cfg.data_weights)) if cfg.data_weights else None
    augmenter = Augmenter(train_pairs, backgrounds, cutouts, cfg.augment, weights)
    return TrainData(train_pairs, val_pairs, others, augmenter, dict(pairset.skipped))


def _init_weights(model: torch.nn.Module, model_cfg: dict, cfg: TrainConfig, dist: Dist) -> None:
    """Start from cfg.init's weights (grown to a wider model if it is narrower; the decoder's
    upsampling may differ: the weights are the same, and training adapts them)."""
    init = dist.share(lambda: load_checkpoint(cfg.init))
    init_cfg = canonical_config(init["model_config"])
    if init_cfg == model_cfg:
        model.load_state_dict(init["model"])
        log.info("initialised from %s (epoch %d)", cfg.init, init["epoch"] + 1)
    elif {**init_cfg, "upsample": model_cfg["upsample"]} == model_cfg:
        model.load_state_dict(init["model"])
        log.info("initialised from %s (epoch %d); its decoder upsampled %s, this one %s: the outputs "
                 "differ at the start", cfg.init, init["epoch"] + 1, init_cfg["upsample"], model_cfg["upsample"])
    else:
        model.load_state_dict(grow_state_dict(init["model"], init["model_config"], model, model_cfg))
        log.info("grown from %s (epoch %d, widths %s → %s; same outputs at the start)", cfg.init,
                 init["epoch"] + 1, init["model_config"]["widths"], model_cfg["widths"])


def _read_resume(out: Path, model_cfg: dict, cfg: TrainConfig) -> dict:
    """OUT/last.pt, checked against this run's model and EMA settings.

    Raises:
        ConfigError: no checkpoint, another model config, or an average asked for that it lacks.
    """
    last = out / "last.pt"
    if not last.exists():
        raise ConfigError(f"--resume: no checkpoint {last}; start without --resume")
    state = load_checkpoint(last)
    if canonical_config(state["model_config"]) != model_cfg:
        raise ConfigError(f"--resume: {last} was trained with {state['model_config']}, not {model_cfg}")
    if cfg.ema_decay and "train_model" not in state:
        raise ConfigError(f"--resume: {last} was trained without ema_decay; resume with the same config")
    return state


def build(cfg: TrainConfig, out: Path, resume: bool, dist: Dist) -> Trainee:
    """The model, optimiser and schedule: new, from cfg.init, or restored from OUT/last.pt (any number of processes).

    Raises:
        ConfigError: see `_read_resume`.
        ModelError: cfg.init is not a readable checkpoint.
    """
    model_cfg = canonical_config({"widths": list(cfg.widths), "blocks": list(cfg.blocks), "expand": cfg.expand,
                                  "upsample": cfg.upsample})
    model = build_model(model_cfg).to(dist.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, cfg.samples_per_epoch // cfg.batch_size))
    t = Trainee(model, model_cfg, opt, sched)
    if cfg.init and not resume:
        _init_weights(model, model_cfg, cfg, dist)
    state = dist.share(lambda: _read_resume(out, model_cfg, cfg)) if resume else None
    if state is not None:
        model.load_state_dict(state.get("train_model", state["model"]))
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        t.start_epoch, t.best, t.history = state["epoch"] + 1, state["best"], state["history"]
        log.info("resuming from epoch %d (best %s so far: %.4f)", t.start_epoch + 1, cfg.best_metric, t.best)
    if cfg.ema_decay and dist.is_main:
        t.ema = WeightAverage(model, cfg.ema_decay)
        if state is not None:
            t.ema.model.load_state_dict(state["model"])
            t.ema.updates = int(state["ema_updates"])
    t.forward = forward_fn(model, cfg, dist)
    log.info("model: %s, %d parameters%s", model_cfg, count_parameters(model),
             f", weight EMA decay {cfg.ema_decay}" if cfg.ema_decay else "")
    return t


def prepare_fake_quant(t: Trainee, data: TrainData, cfg: TrainConfig, dist: Dist) -> None:
    """cfg.fake_quant: the model (and its EMA) compute as the INT8 export will, with activation ranges
    measured on the first batches of a stream no epoch draws (the same on every process)."""
    batches = EpochBatches(data.augmenter, cfg, epoch=cfg.epochs + 1000)
    xs = [x.to(dist.device) for x, _, _ in itertools.islice(iter(batches), cfg.fake_quant_calib_batches)]
    for model in [t.model] + ([t.ema.model] if t.ema is not None else []):
        n = calibrate(enable_fake_quant(model), xs)
    log.info("fake quantisation on: int8 weights, %d activation ranges from %d batches", n, len(xs))


def train_epoch(t: Trainee, data: TrainData, cfg: TrainConfig, dist: Dist, epoch: int, per_sample: bool) -> float:
    """One epoch of optimiser steps; returns the mean loss of the global batches."""
    t.model.train()
    if cfg.freeze_bn_stats:     # normalise by the statistics the model was trained with, and keep them
        for m in t.model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()
    share = rank_share(cfg.batch_size, dist.world, dist.rank)
    weight = len(share) * dist.world / cfg.batch_size   # DDP averages over ranks: this makes it the global mean
    batches = EpochBatches(data.augmenter, cfg, epoch, dist.rank, dist.world, per_sample)
    on_gpu = dist.device.type == "cuda"
    loader = DataLoader(batches, batch_size=None, num_workers=cfg.workers, persistent_workers=False,
                        pin_memory=on_gpu)
    losses = []
    bar = _progress(loader, len(batches), f"epoch {epoch + 1}/{cfg.epochs}") if dist.is_main else loader
    for x, y, valid in bar:
        if on_gpu:
            x, y, valid = (v.to(dist.device, non_blocking=True) for v in (x, y, valid))
        with torch.autocast(dist.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            logits = t.forward(x)
        loss = bce_dice_loss(logits.float(), y, cfg.dice_weight, cfg.boundary_weight, valid, cfg.lovasz_weight,
                             cfg.boundary_width, cfg.ohem_weight, cfg.ohem_fraction)
        t.opt.zero_grad(set_to_none=True)
        (loss * weight if weight != 1.0 else loss).backward()
        t.opt.step()
        t.sched.step()
        if t.ema is not None:
            t.ema.update(t.model)
        losses.append(loss.item())
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
    if dist.world == 1:
        return float(np.mean(losses))
    return dist.sum(float(np.mean(losses)) * len(share) / cfg.batch_size)


def _cpu(state_dict: dict) -> dict:
    return {k: v.detach().cpu() for k, v in state_dict.items()}


def end_epoch(t: Trainee, data: TrainData, cfg: TrainConfig, out: Path, epoch: int, loss: float,
              seconds: tuple[float, float]) -> None:
    """Rank 0: validate, append to the history, write last.pt (and best.pt if it is the best) and history.json."""
    t0, t_trained = seconds
    scores = validate(t.scored, data.val_pairs, cfg, data.others)
    row = {"epoch": epoch + 1, "loss": loss, "lr": t.sched.get_last_lr()[0],
           "seconds": time.perf_counter() - t0, **scores}
    t.history.append(row)
    value = float(epoch + 1) if cfg.best_metric == "epoch" else scores.get(cfg.best_metric, -float(epoch))
    is_best = value > t.best
    t.best = max(t.best, value)
    state = {"model": _cpu(t.scored.state_dict()), "model_config": t.model_cfg, "optimizer": t.opt.state_dict(),
             "scheduler": t.sched.state_dict(), "epoch": epoch, "best": t.best, "history": t.history,
             "train_config": cfg.to_dict(),
             "input": {"hw": list(cfg.input_hw), "adaptive": cfg.adaptive_canvas},
             "meta": json.loads(cfg.model_meta().to_json())}
    if t.ema is not None:   # "model" holds the averaged weights (what export and `init:` use)
        state.update(train_model=_cpu(t.model.state_dict()), ema_updates=t.ema.updates)
    save_checkpoint(state, out / "last.pt")
    if cfg.keep_epochs:
        save_checkpoint(state, out / f"epoch{epoch + 1}.pt")
    if is_best:
        save_checkpoint(state, out / "best.pt")
    (out / "history.json").write_text(json.dumps(t.history, indent=1))
    rate = (cfg.samples_per_epoch // cfg.batch_size) * cfg.batch_size / max(t_trained - t0, 1e-9)
    log.info("epoch %d/%d loss %.4f %s (%.0f s, %.3g samples/s)%s", epoch + 1, cfg.epochs, row["loss"],
             " ".join(f"{k}={v:.4f}" for k, v in scores.items()), row["seconds"], rate, " *best*" if is_best else "")


def finish(t: Trainee, data: TrainData, cfg: TrainConfig, out: Path, train_seconds: float) -> dict:
    """Rank 0: summary.json, curves.png and samples.png (by best.pt's weights); returns the summary."""
    summary = {"epochs": cfg.epochs, "parameters": count_parameters(t.model), "best_metric": cfg.best_metric,
               "best": t.best, "final": t.history[-1] if t.history else {}, "train_seconds_this_run": train_seconds,
               "train_pairs": len(data.train_pairs), "val_pairs": len(data.val_pairs), "skipped": data.skipped}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    try:
        from .report import plot_curves, sample_grid
        plot_curves(t.history, out / "curves.png")
        best_state = load_checkpoint(out / "best.pt") if (out / "best.pt").exists() else None
        if best_state is not None:
            t.model.load_state_dict(best_state["model"])
        sample_grid(t.model, data.val_pairs, cfg, out / "samples.png")
    except ImportError as exc:
        log.warning("skipping plots: %s (install the train extra)", exc)
    return summary


def train(cfg: TrainConfig, out_dir: str | Path, resume: bool = False) -> dict | None:
    """Train, validating and checkpointing every epoch. Returns the final summary (None on ranks other than 0).

    Writes into out_dir: last.pt, best.pt, history.json, summary.json, curves.png, samples.png.
    Under torchrun (WORLD_SIZE > 1) every process calls this; rank 0 alone writes.

    Raises:
        DataError: no usable training data.
        ConfigError: resume requested without a checkpoint, or with a different model config;
            settings that cannot work with this many processes.
    """
    out = Path(out_dir)
    dist = setup(cfg)
    try:
        if dist.is_main:
            out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        data = load_data(cfg)
        t = build(cfg, out, resume, dist)
        if cfg.fake_quant:
            prepare_fake_quant(t, data, cfg, dist)
        per_sample = cfg.seed_per_sample or dist.world > 1 or cfg.workers > 1
        if per_sample and not cfg.seed_per_sample:
            log.info("the work is split (%d processes, %d loader workers): each sample is seeded by its index "
                     "(seed_per_sample), so the samples do not depend on the split", dist.world, cfg.workers)
        t_train = time.perf_counter()
        for epoch in range(t.start_epoch, cfg.epochs):
            t0 = time.perf_counter()
            loss = train_epoch(t, data, cfg, dist, epoch, per_sample)
            if dist.is_main:
                end_epoch(t, data, cfg, out, epoch, loss, (t0, time.perf_counter()))
            dist.barrier()
        return finish(t, data, cfg, out, time.perf_counter() - t_train) if dist.is_main else None
    finally:
        teardown(dist)


def require_data(dirs: list[str]) -> None:
    """Raises DataError when no folder is named or one does not exist (the message says the fix)."""
    if not dirs:
        raise DataError("no training data: pass --data DIR (a folder with images/ and masks/; repeatable), "
                        "or list `data:` in the --config file, as configs/default.yaml does")
    for d in dirs:
        if not Path(d).exists():
            raise DataError(f"training data folder {d} does not exist; pass --data DIR with images/ and masks/")
