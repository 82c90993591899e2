"""The bundled default model: its metadata matches its graph, and it finds people it never trained on."""
from __future__ import annotations

import cv2
import numpy as np

from edgeseg import Segmenter
from edgeseg.metrics import score_mask
from edgeseg.models import DEFAULT_MODEL
from edgeseg.train.data import is_validation


def test_the_bundled_model_runs_at_the_input_size_its_metadata_gives():
    with Segmenter.from_path(DEFAULT_MODEL, provider="cpu") as seg:
        h, w = seg.meta.input_hw
        assert h % seg.meta.multiple == 0 and w % seg.meta.multiple == 0
        assert seg.canvas_for((h * 4, w * 4)) == (h, w)


def test_the_bundled_model_finds_the_person_in_photos_training_held_back(ccp):
    held_back = [p for p in sorted((ccp / "images").glob("*.jpg")) if is_validation(f"ccp/{p.stem}", 0.1)][:16]
    assert len(held_back) == 16
    scores = []
    with Segmenter.from_path(DEFAULT_MODEL, provider="cpu") as seg:
        for path in held_back:
            gt = cv2.imread(str(ccp / "masks" / (path.stem + ".png")), cv2.IMREAD_GRAYSCALE) > 127
            scores.append(score_mask(seg.segment(cv2.imread(str(path))).mask, gt))
    assert np.mean([s["person_iou"] for s in scores]) > 0.85
    assert np.mean([s["boundary_f"] for s in scores]) > 0.8
