"""Evaluate a Segmenter on a folder of images and masks (the metrics of `edgeseg eval`)."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from .errors import DataError
from .metrics import mean_scores, score_mask
from .sources import IMAGE_EXTS

log = logging.getLogger("edgeseg")


def image_mask_pairs(images: str | Path, masks: str | Path) -> list[tuple[Path, Path]]:
    """(image, mask) paths matched by file stem; masks are .png.

    Raises:
        DataError: a folder is missing or no image has a mask.
    """
    images, masks = Path(images), Path(masks)
    for d in (images, masks):
        if not d.is_dir():
            raise DataError(f"folder {d} does not exist; pass --images DIR and --masks DIR")
    by_stem = {p.stem: p for p in masks.iterdir() if p.suffix.lower() in IMAGE_EXTS}
    pairs = [(p, by_stem[p.stem]) for p in sorted(images.iterdir())
             if p.suffix.lower() in IMAGE_EXTS and p.stem in by_stem]
    if not pairs:
        raise DataError(f"no image in {images} has a mask of the same name in {masks}")
    return pairs


def read_pair(img_path: Path, mask_path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(BGR image, boolean person mask at the image's size: mask > 127), or None (logged) when either is unreadable."""
    img = cv2.imread(str(img_path), cv2.IMREAD_COLOR)
    gt = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    if img is None or gt is None:
        log.warning("skipping unreadable pair %s", img_path.name)
        return None
    if gt.shape != img.shape[:2]:
        gt = cv2.resize(gt, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_NEAREST)
    return img, gt > 127


def evaluate(segmenter, pairs: list[tuple[Path, Path]], limit: int = 0) -> tuple[list[dict], dict]:
    """Per-image rows and the means (person_iou, miou, boundary_f). Unreadable pairs are skipped."""
    rows = []
    for img_path, mask_path in pairs[: limit or None]:
        pair = read_pair(img_path, mask_path)
        if pair is None:
            continue
        img, gt = pair
        prob = segmenter.segment(img).mask
        rows.append({"image": img_path.name, **score_mask(prob, gt, segmenter.meta.threshold)})
    if not rows:
        raise DataError("no readable image/mask pair to evaluate")
    return rows, {"images": len(rows), **mean_scores(rows)}
