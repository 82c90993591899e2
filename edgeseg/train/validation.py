"""Scoring a torch model during training, through the runtime's preparation (prepare / unprepare)."""
from __future__ import annotations

import numpy as np
import torch

from ..meta import ModelMeta
from ..metrics import mean_scores, score_mask
from ..postprocess import unprepare
from ..preprocess import prepare
from .config import TrainConfig
from .data import Pair, portrait_crop


@torch.no_grad()
def predict_torch(model: torch.nn.Module, image_bgr: np.ndarray, meta: ModelMeta) -> np.ndarray:
    """Person probability at the image's resolution, prepared as the runtime prepares it
    (preprocess.prepare / postprocess.unprepare with the model's ModelMeta; on the model's device)."""
    x, lb = prepare(image_bgr, meta)
    device = next(model.parameters()).device
    return unprepare(model(torch.from_numpy(x).to(device))[0, 0].float().cpu().numpy(), lb, meta)


def _score_set(model: torch.nn.Module, pairs: list[Pair], cfg: TrainConfig) -> dict[str, float]:
    meta = cfg.model_meta()
    return mean_scores([score_mask(predict_torch(model, p.image, meta), p.mask > 127) for p in pairs])


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
