"""Teacher-labelled crops of the training photos, for distillation (a data folder for `edgeseg train`).

    python -m benchmarks.mediapipe_ref.teacher_crops --data ../shared/data/people/ccp --out runs/teacher_crops

Cuts webcam-like crops (head-and-shoulders, upper body, whole person; 3:4, 16:9 and 1:1) out of the
photos of the training split only (the validation photos of `edgeseg train`'s hash split are left
out), and labels each crop with a teacher: the mean of MediaPipe's general and landscape selfie
models and of both on the mirrored crop. The output folder has

    images/NAME.jpg   the crop
    masks/NAME.png    the teacher's soft person probability, 0-255 (list the folder in soft_label_data)
    gt/NAME.png       the photo's own mask, cropped alike (only for scoring the teacher)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from edgeseg.train.data import Pair, load_pairs, split_pairs

from .reference import reference_label_images

ASPECTS = ((3, 4), (16, 9), (1, 1))        # width : height
ASPECT_WEIGHTS = (0.4, 0.4, 0.2)


def crop_box(pair: Pair, rng: np.random.Generator, p_upper_body: float = 0.65) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 of a webcam-like crop around the pair's person, inside the image."""
    x0, y0, x1, y1 = pair.bbox
    ph, pw = y1 - y0, x1 - x0
    ih, iw = pair.image.shape[:2]
    aw, ah = ASPECTS[rng.choice(len(ASPECTS), p=ASPECT_WEIGHTS)]
    if rng.random() < p_upper_body:
        h = ph * rng.uniform(0.25, 0.6) / rng.uniform(0.8, 1.0)
        top = y0 - h * rng.uniform(0.03, 0.2)
    else:
        h = max(ph, pw * ah / aw) * rng.uniform(1.05, 1.3)
        top = y0 + ph / 2 - h / 2
    w = h * aw / ah
    shrink = min(1.0, iw / w, ih / h)           # fit inside the photo, keeping the aspect ratio
    w, h = w * shrink, h * shrink
    cx = x0 + pw / 2 + rng.uniform(-0.15, 0.15) * w
    left = int(np.clip(cx - w / 2, 0, iw - w))
    top = int(np.clip(top, 0, ih - h))
    return left, top, left + int(w), top + int(h)


def write_crops(pairs: list[Pair], out: Path, per_image: int, seed: int) -> int:
    """Write per_image crops of each pair to out/images and out/gt; returns how many."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    count = 0
    for pair in pairs:
        for k in range(per_image):
            x0, y0, x1, y1 = crop_box(pair, rng)
            if x1 - x0 < 32 or y1 - y0 < 32:
                continue
            stem = f"{pair.name.replace('/', '_')}_{k}"
            cv2.imwrite(str(out / "images" / f"{stem}.jpg"), pair.image[y0:y1, x0:x1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(str(out / "gt" / f"{stem}.png"), pair.mask[y0:y1, x0:x1])
            count += 1
    return count


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", default=["../shared/data/people/ccp"])
    p.add_argument("--out", default="runs/teacher_crops")
    p.add_argument("--per-image", type=int, default=2, help="crops per training photo (default 2)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="the training config's val_fraction")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--teachers", nargs="+", default=["general", "landscape"], choices=("general", "landscape"))
    p.add_argument("--no-flip", action="store_true", help="do not average in the mirrored crop")
    args = p.parse_args(argv)
    out = Path(args.out)
    train, _ = split_pairs(load_pairs(args.data).pairs, args.val_fraction)
    crops = write_crops(train, out, args.per_image, args.seed)
    result = reference_label_images(out / "images", out / "masks", args.teachers, not args.no_flip, gt_dir=out / "gt")
    summary = {"photos": len(train), "crops": crops, **{k: result[k] for k in ("written", "flip", "teacher_vs_gt") if k in result},
               "teachers": [t["file"] for t in result["teachers"]]}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    print(f"next: list {out} in the config's data and soft_label_data, then run edgeseg train")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
