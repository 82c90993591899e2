"""Training data: image/mask pairs, cut-outs and backgrounds, read from folders into memory.

Pairs live as `DIR/images/NAME.jpg` (or .png/.jpeg) with `DIR/masks/NAME.png`, masks 0/255
(or, for a folder read as soft labels, 0-255 teacher probabilities).
Unusable pairs (unreadable image, missing mask, mask of another size) are skipped with a
warning and counted in `PairSet.skipped`, so a run summary can report them.
"""
from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import DataError
from ..files import IMAGE_EXTS

log = logging.getLogger(__name__)


@dataclass
class Pair:
    name: str
    image: np.ndarray          # H×W×3 uint8 BGR
    mask: np.ndarray           # H×W uint8, 0 or 255 (0-255 for soft labels)
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 of the person (whole image if none)
    ignore: np.ndarray | None = None   # H×W uint8, 1 where the label is unknown (a bystander); None: none
    coarse: bool = False       # the mask's edges are coarse (polygons): training ignores a band around them

    @property
    def source(self) -> str:
        """The folder the pair came from (the first part of its name)."""
        return self.name.split("/", 1)[0]


@dataclass
class PairSet:
    pairs: list[Pair] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


def _read_image(path: Path, flags: int) -> np.ndarray | None:
    data = np.fromfile(str(path), np.uint8)
    return cv2.imdecode(data, flags) if data.size else None


def person_bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask > 127)
    if len(xs) == 0:
        return 0, 0, mask.shape[1], mask.shape[0]
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def ignore_map(shape: tuple[int, int], boxes: list[list[int]], mask: np.ndarray) -> np.ndarray:
    """1 inside the boxes, except on labelled-person pixels; 0 elsewhere."""
    out = np.zeros(shape, np.uint8)
    for x0, y0, x1, y1 in boxes:
        out[y0:y1, x0:x1] = 1
    out[mask > 127] = 0
    return out


def load_pairs(dirs: list[str | Path], soft: list[str | Path] = (), coarse: list[str | Path] = (),
               ignore_boxes: dict[str, list[list[int]]] | None = None) -> PairSet:
    """Read every image/mask pair under each DIR/images and DIR/masks.

    Masks are binarised at 128, except in the folders listed in `soft`, whose masks are soft
    labels (a teacher's probabilities) and are kept as they are. Pairs from the folders in
    `coarse` are marked as having coarse (polygon) edges. `ignore_boxes` maps a pair's name
    ("FOLDER/STEM") to boxes whose pixels have no label (bystanders that the mask calls background).

    Raises:
        DataError: a folder is missing, or no usable pair was found at all.
    """
    result = PairSet()
    soft_dirs = {Path(d).resolve() for d in soft}
    coarse_dirs = {Path(d).resolve() for d in coarse}
    ignore_boxes = ignore_boxes or {}
    for d in map(Path, dirs):
        img_dir, mask_dir = d / "images", d / "masks"
        if not img_dir.is_dir() or not mask_dir.is_dir():
            raise DataError(f"{d} must contain images/ and masks/ folders (images/NAME.jpg with masks/NAME.png)")
        for img_path in sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS):
            mask_path = mask_dir / (img_path.stem + ".png")
            if not mask_path.exists():
                log.warning("skipping %s: no mask %s", img_path, mask_path.name)
                result.skipped["missing mask"] += 1
                continue
            image = _read_image(img_path, cv2.IMREAD_COLOR)
            if image is None:
                log.warning("skipping %s: image cannot be decoded (corrupt or truncated)", img_path)
                result.skipped["corrupt image"] += 1
                continue
            mask = _read_image(mask_path, cv2.IMREAD_GRAYSCALE)
            if mask is None:
                log.warning("skipping %s: mask cannot be decoded", mask_path)
                result.skipped["corrupt mask"] += 1
                continue
            if mask.shape != image.shape[:2]:
                log.warning("skipping %s: mask is %s but image is %s", img_path, mask.shape, image.shape[:2])
                result.skipped["mask size mismatch"] += 1
                continue
            if d.resolve() not in soft_dirs:
                mask = np.where(mask > 127, 255, 0).astype(np.uint8)
            name = f"{d.name}/{img_path.stem}"
            ignore = ignore_map(mask.shape, ignore_boxes[name], mask) if name in ignore_boxes else None
            result.pairs.append(Pair(name, image, mask, person_bbox(mask), ignore, d.resolve() in coarse_dirs))
    if not result.pairs:
        raise DataError(f"no usable image/mask pairs in {', '.join(map(str, dirs))} "
                        f"(skipped: {dict(result.skipped) or 'none found'}); check the folder layout")
    return result


def load_images(folder: str | Path | None, flags: int = cv2.IMREAD_COLOR) -> list[np.ndarray]:
    """Every readable image in a folder (unreadable ones are skipped with a warning)."""
    if not folder:
        return []
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"folder {folder} does not exist; fix the path in the config or leave it out")
    out = []
    for p in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS):
        img = _read_image(p, flags)
        if img is None:
            log.warning("skipping unreadable image %s", p)
        else:
            out.append(img)
    return out


def is_validation(name: str, fraction: float) -> bool:
    """Deterministic split by a hash of the name: stable across runs and machines."""
    h = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    return (h % 10000) < fraction * 10000


def split_pairs(pairs: list[Pair], val_fraction: float) -> tuple[list[Pair], list[Pair]]:
    train = [p for p in pairs if not is_validation(p.name, val_fraction)]
    val = [p for p in pairs if is_validation(p.name, val_fraction)]
    if not train:
        raise DataError("the validation split took every pair; lower val_fraction or add data")
    return train, val


def portrait_crop(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic head-and-shoulders crop (3:4) of a full-body pair, for portrait validation."""
    x0, y0, x1, y1 = pair.bbox
    ph = y1 - y0
    h = max(16, int(ph * 0.45))
    w = max(12, int(h * 0.75))
    cx = (x0 + x1) // 2
    top = max(0, y0 - int(0.08 * ph))
    left = int(np.clip(cx - w // 2, 0, max(0, pair.image.shape[1] - w)))
    sl = (slice(top, top + h), slice(left, left + w))
    return pair.image[sl], pair.mask[sl]
