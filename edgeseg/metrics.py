"""Segmentation metrics, shared by `edgeseg eval` and training validation.

- person IoU: IoU of person pixels (prediction thresholded at 0.5).
- mIoU: mean of the person IoU and the background IoU.
- boundary F: F-measure of boundary pixels matched within a tolerance of
  ceil(0.008 × image diagonal) pixels.
"""
from __future__ import annotations

import math

import cv2
import numpy as np


def iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of two boolean masks; 1.0 when both are empty."""
    union = np.count_nonzero(pred | gt)
    return 1.0 if union == 0 else np.count_nonzero(pred & gt) / union


def boundary_tolerance(hw: tuple[int, int]) -> int:
    return max(1, math.ceil(0.008 * math.hypot(*hw)))


def boundary_pixels(mask: np.ndarray) -> np.ndarray:
    """The mask's boundary: its pixels with a background pixel among their 8 neighbours (the frame's edge
    is not a boundary)."""
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)).astype(bool)


def boundary_f(pred: np.ndarray, gt: np.ndarray, tolerance: int | None = None) -> float:
    """Boundary F-measure of two boolean masks; 1.0 when neither has a boundary."""
    tol = boundary_tolerance(gt.shape) if tolerance is None else tolerance
    bp, bg = boundary_pixels(pred), boundary_pixels(gt)
    n_p, n_g = np.count_nonzero(bp), np.count_nonzero(bg)
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0
    # distance of every pixel to the nearest boundary pixel of the other mask
    dist_g = cv2.distanceTransform((~bg).astype(np.uint8), cv2.DIST_L2, 3)
    dist_p = cv2.distanceTransform((~bp).astype(np.uint8), cv2.DIST_L2, 3)
    precision = np.count_nonzero(dist_g[bp] <= tol) / n_p
    recall = np.count_nonzero(dist_p[bg] <= tol) / n_g
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def score_mask(prob: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """All metrics for one image: `prob` in [0,1] (or bool), `gt` bool, same H×W."""
    pred = prob >= threshold if prob.dtype != bool else prob
    person = iou(pred, gt)
    background = iou(~pred, ~gt)
    return {"person_iou": person, "background_iou": background, "miou": (person + background) / 2,
            "boundary_f": boundary_f(pred, gt)}


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = ("person_iou", "miou", "boundary_f")
    return {k: float(np.mean([r[k] for r in rows])) if rows else float("nan") for k in keys}
