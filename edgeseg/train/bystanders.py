"""Find bystanders in photos whose masks label only the main person (ccp), so training can ignore them.

ccp labels the one main person and leaves everyone else as background, while coco and the dev sets
label every person. Training on ccp as it is teaches "a person in the background is background".
This tool runs a segmentation model over the photos and lists, per photo, the boxes of confident
person regions that do not touch the labelled person. Training ignores those boxes (loss weight 0,
except on labelled-person pixels), unless the background is replaced, which removes the bystander.

    python -m edgeseg.train.bystanders ../shared/data/people/ccp --out configs/ccp_bystanders.json

The list is written once and committed (names and boxes only), so training does not depend on a model.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

from ..errors import EdgeSegError

log = logging.getLogger(__name__)


def bystander_boxes(prob: np.ndarray, person: np.ndarray, min_area: float = 0.002,
                    margin: float = 0.15) -> list[list[int]]:
    """Boxes (x0, y0, x1, y1) of confident person regions (prob ≥ 0.5) that do not touch `person`.

    min_area: smallest region kept, as a fraction of the image; margin: each box grows by this
    fraction of its size, so the bystander's soft edges are inside it.
    """
    h, w = person.shape
    near = cv2.dilate(person.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    n, labels, stats, _ = cv2.connectedComponentsWithStats((prob >= 0.5).astype(np.uint8), connectivity=8)
    boxes = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < min_area * h * w or near[labels == i].any():
            continue
        mx, my = int(bw * margin) + 2, int(bh * margin) + 2
        boxes.append([max(0, x - mx), max(0, y - my), min(w, x + bw + mx), min(h, y + bh + my)])
    return boxes


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(prog="python -m edgeseg.train.bystanders", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="a folder with images/ and masks/ (masks label the main person only)")
    p.add_argument("--model", help="the .onnx that finds people (default: the bundled model)")
    p.add_argument("--out", required=True, help="JSON file: {pair name: [[x0, y0, x1, y1], ...]}")
    args = p.parse_args(argv)
    from ..evaluate import image_mask_pairs
    from ..segmenter import Segmenter, SegmenterOptions
    try:
        pairs = image_mask_pairs(Path(args.data) / "images", Path(args.data) / "masks")
        found, n_boxes = {}, 0
        with Segmenter(SegmenterOptions(model_path=args.model, provider="cpu")) as seg:
            for img_path, mask_path in pairs:
                img, gt = cv2.imread(str(img_path)), cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
                if img is None or gt is None or gt.shape != img.shape[:2]:
                    continue
                boxes = bystander_boxes(seg.segment(img).mask, gt > 127)
                if boxes:
                    found[f"{Path(args.data).name}/{img_path.stem}"] = boxes
                    n_boxes += len(boxes)
    except EdgeSegError as exc:
        log.error("error: %s", exc)
        return 2
    Path(args.out).write_text("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(found.items())) + "\n}\n")
    log.info("%d of %d photos have bystanders (%d boxes) -> %s", len(found), len(pairs), n_boxes, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
