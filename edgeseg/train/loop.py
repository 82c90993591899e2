"""The training loop: batches, BCE+Dice, per-epoch validation and atomic checkpoints."""
from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from ..errors import ConfigError, DataError
from ..meta import ModelMeta
from ..metrics import mean_scores, score_mask
from ..preprocess import choose_canvas, letterbox_geometry, letterbox_image, to_tensor
from .augment import Augmenter
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import Pair, load_images, load_pairs, portrait_crop, split_pairs
from .ema import WeightAverage
from .grow import grow_state_dict
from .losses import bce_dice_loss
from .model import build_model, count_parameters

log = logging.getLogger(__name__)


class EpochBatches(IterableDataset):
    """All batches of one epoch. Each batch has one canvas size; seeded by (seed, epoch)."""

    def __init__(self, augmenter: Augmenter, cfg: TrainConfig, epoch: int):
        self.augmenter, self.cfg, self.epoch = augmenter, cfg, epoch

    def __len__(self) -> int:
        return self.cfg.samples_per_epoch // self.cfg.batch_size

    def __iter__(self):
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, self.epoch])
        weights = np.asarray(cfg.canvas_weights, np.float64)
        for _ in range(len(self)):
            hw = tuple(cfg.canvases[rng.choice(len(cfg.canvases), p=weights / weights.sum())])
            imgs = np.empty((cfg.batch_size, 3) + hw, np.float32)
            masks = np.empty((cfg.batch_size, 1) + hw, np.float32)
            valid = np.empty((cfg.batch_size, 1) + hw, np.float32)
            for i in range(cfg.batch_size):
                img, masks[i, 0], valid[i, 0] = self.augmenter.sample(hw, rng)
                imgs[i] = to_tensor(img, "RGB", "NCHW", (0.0,) * 3, (1.0,) * 3)[0]
            yield torch.from_numpy(imgs), torch.from_numpy(masks), torch.from_numpy(valid)


@torch.no_grad()
def predict_torch(model: torch.nn.Module, image_bgr: np.ndarray, base_hw: tuple[int, int], adaptive: bool) -> np.ndarray:
    """Person probability at the image's resolution, through the runtime's letterbox."""
    lb = letterbox_geometry(image_bgr.shape[:2], choose_canvas(image_bgr.shape[:2], base_hw, adaptive))
    x = to_tensor(letterbox_image(image_bgr, lb), "RGB", "NCHW", (0.0,) * 3, (1.0,) * 3)
    prob = model(torch.from_numpy(x))[0, 0].numpy()
    prob = prob[lb.top:lb.top + lb.height, lb.left:lb.left + lb.width]
    return cv2.resize(prob, (image_bgr.shape[1], image_bgr.shape[0]), interpolation=cv2.INTER_LINEAR)


def _score_set(model: torch.nn.Module, pairs: list[Pair], cfg: TrainConfig) -> dict[str, float]:
    base, adaptive = tuple(cfg.input_hw), cfg.adaptive_canvas
    return mean_scores([score_mask(predict_torch(model, p.image, base, adaptive), p.mask > 127) for p in pairs])


def validate(model: torch.nn.Module, val: list[Pair], cfg: TrainConfig,
             others: dict[str, list[Pair]] | None = None) -> dict[str, float]:
    """Scores on the held-back split of the first data folder (whole photos and head-and-shoulders
    crops of them), then on each set in `others` ({key prefix: pairs}: the other folders' validation
    splits and the monitor sets), and `val_mean`, the mean of every person IoU and boundary F."""
    model.eval()
    scores: dict[str, float] = {}
    if val:
        f = _score_set(model, val, cfg)
        crops = [Pair(p.name, *portrait_crop(p), bbox=p.bbox) for p in val]
        p = _score_set(model, crops, cfg)
        scores = {"val_person_iou": f["person_iou"], "val_miou": f["miou"], "val_boundary_f": f["boundary_f"],
                  "val_portrait_iou": p["person_iou"], "val_portrait_boundary_f": p["boundary_f"]}
    for prefix, pairs in (others or {}).items():
        if pairs:
            s = _score_set(model, pairs, cfg)
            scores.update({f"{prefix}_iou": s["person_iou"], f"{prefix}_boundary_f": s["boundary_f"]})
    means = [v for k, v in scores.items() if k.endswith(("_iou", "_boundary_f")) and k != "val_miou"]
    if means and others:
        scores["val_mean"] = float(np.mean(means))
    return scores


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


def train(cfg: TrainConfig, out_dir: str | Path, resume: bool = False) -> dict:
    """Train, validating and checkpointing every epoch. Returns the final summary.

    Writes into out_dir: last.pt, best.pt, history.json, summary.json, curves.png, samples.png.

    Raises:
        DataError: no usable training data.
        ConfigError: resume requested without a checkpoint, or with a different model config.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
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

    model_cfg = {"arch": "EdgeUNet", "widths": list(cfg.widths), "blocks": list(cfg.blocks), "expand": cfg.expand}
    model = build_model(model_cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.samples_per_epoch // cfg.batch_size
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, steps))
    history: list[dict] = []
    start_epoch, best = 0, -1.0
    if cfg.init and not resume:
        init = load_checkpoint(cfg.init)
        if init["model_config"] == model_cfg:
            model.load_state_dict(init["model"])
            log.info("initialised from %s (epoch %d)", cfg.init, init["epoch"] + 1)
        else:
            model.load_state_dict(grow_state_dict(init["model"], init["model_config"], model, model_cfg))
            log.info("grown from %s (epoch %d, widths %s → %s; same outputs at the start)", cfg.init,
                     init["epoch"] + 1, init["model_config"]["widths"], model_cfg["widths"])
    if resume:
        last = out / "last.pt"
        if not last.exists():
            raise ConfigError(f"--resume: no checkpoint {last}; start without --resume")
        state = load_checkpoint(last)
        if state["model_config"] != model_cfg:
            raise ConfigError(f"--resume: {last} was trained with {state['model_config']}, not {model_cfg}")
        model.load_state_dict(state.get("train_model", state["model"]))
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start_epoch, best, history = state["epoch"] + 1, state["best"], state["history"]
        log.info("resuming from epoch %d (best %s so far: %.4f)", start_epoch + 1, cfg.best_metric, best)
    ema = WeightAverage(model, cfg.ema_decay) if cfg.ema_decay else None
    if ema is not None and resume:
        if "train_model" not in state:
            raise ConfigError(f"--resume: {out / 'last.pt'} was trained without ema_decay; resume with the same config")
        ema.model.load_state_dict(state["model"])
        ema.updates = int(state["ema_updates"])
    scored_model = model if ema is None else ema.model
    log.info("model: %s, %d parameters%s", model_cfg, count_parameters(model),
             f", weight EMA decay {cfg.ema_decay}" if ema else "")

    t_train = time.perf_counter()
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        model.train()
        loader = DataLoader(EpochBatches(augmenter, cfg, epoch), batch_size=None, num_workers=cfg.workers,
                            persistent_workers=False)
        losses = []
        bar = _progress(loader, steps, f"epoch {epoch + 1}/{cfg.epochs}")
        for x, y, valid in bar:
            loss = bce_dice_loss(model.forward_logits(x), y, cfg.dice_weight, cfg.boundary_weight, valid)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update(model)
            losses.append(loss.item())
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        scores = validate(scored_model, val_pairs, cfg, others)
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "lr": sched.get_last_lr()[0],
               "seconds": time.perf_counter() - t0, **scores}
        history.append(row)
        value = float(epoch + 1) if cfg.best_metric == "epoch" else scores.get(cfg.best_metric, -float(epoch))
        is_best = value > best
        best = max(best, value)
        state = {"model": scored_model.state_dict(), "model_config": model_cfg, "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict(), "epoch": epoch, "best": best, "history": history,
                 "train_config": cfg.to_dict(),
                 "input": {"hw": list(cfg.input_hw), "adaptive": cfg.adaptive_canvas},
                 "meta": json.loads(ModelMeta(input_hw=tuple(cfg.input_hw), adaptive=cfg.adaptive_canvas).to_json())}
        if ema is not None:   # "model" holds the averaged weights (what export and `init:` use)
            state.update(train_model=model.state_dict(), ema_updates=ema.updates)
        save_checkpoint(state, out / "last.pt")
        if is_best:
            save_checkpoint(state, out / "best.pt")
        (out / "history.json").write_text(json.dumps(history, indent=1))
        log.info("epoch %d/%d loss %.4f %s (%.0f s)%s", epoch + 1, cfg.epochs, row["loss"],
                 " ".join(f"{k}={v:.4f}" for k, v in scores.items()), row["seconds"], " *best*" if is_best else "")

    summary = {"epochs": cfg.epochs, "parameters": count_parameters(model), "best_metric": cfg.best_metric, "best": best,
               "final": history[-1] if history else {}, "train_seconds_this_run": time.perf_counter() - t_train,
               "train_pairs": len(train_pairs), "val_pairs": len(val_pairs), "skipped": dict(pairset.skipped)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    try:
        from .report import plot_curves, sample_grid
        plot_curves(history, out / "curves.png")
        best_state = load_checkpoint(out / "best.pt") if (out / "best.pt").exists() else None
        if best_state is not None:
            model.load_state_dict(best_state["model"])
        sample_grid(model, val_pairs, cfg, out / "samples.png")
    except ImportError as exc:
        log.warning("skipping plots: %s (install the train extra)", exc)
    return summary


def require_data(dirs: list[str]) -> None:
    for d in dirs:
        if not Path(d).exists():
            raise DataError(f"training data folder {d} does not exist; pass --data DIR with images/ and masks/")
