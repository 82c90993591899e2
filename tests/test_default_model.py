"""The bundled default model: its metadata matches its graph, and it finds people it never trained on."""
from __future__ import annotations

import json

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



def test_the_bundled_checkpoint_is_the_bundled_model():
    """default.pt (for fine-tuning) computes what default.onnx does: the export's own parity check."""
    import pytest
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from edgeseg.meta import ModelMeta
    from edgeseg.train.checkpoint import load_checkpoint
    from edgeseg.train.model import build_model
    from export.verify import PARITY_TOLERANCE, torch_parity
    state = load_checkpoint(DEFAULT_MODEL.with_suffix(".pt"))
    model = build_model(state["model_config"]).eval()
    model.load_state_dict(state["model"])
    rng = np.random.default_rng(0)
    frames = [cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), np.uint8), (0, 0), 3) for h, w in [(360, 640), (512, 384)]]
    trained = ModelMeta.from_json(json.dumps(state["meta"]))
    assert torch_parity(model, DEFAULT_MODEL, frames, trained) <= PARITY_TOLERANCE
