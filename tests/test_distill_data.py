"""Distillation data: teacher-labelled crops of the training photos, read as soft labels."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgeseg.errors import ConfigError
from edgeseg.train.config import config_from_dict
from edgeseg.train.data import Pair, load_pairs, person_bbox
from benchmarks.mediapipe_ref.teacher_crops import ASPECTS, crop_box, write_crops


def _write_pair(root, name, mask):
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    cv2.imwrite(str(root / "images" / f"{name}.png"), np.full((*mask.shape, 3), 90, np.uint8))
    cv2.imwrite(str(root / "masks" / f"{name}.png"), mask)


def _ramp() -> np.ndarray:
    return np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1))


def test_a_soft_label_folder_keeps_the_teacher_probabilities(tmp_path):
    _write_pair(tmp_path / "teacher", "a", _ramp())
    mask = load_pairs([tmp_path / "teacher"], soft=[tmp_path / "teacher"]).pairs[0].mask
    np.testing.assert_array_equal(mask, _ramp())


def test_other_folders_are_binarised_at_the_midpoint(tmp_path):
    _write_pair(tmp_path / "photos", "a", _ramp())
    mask = load_pairs([tmp_path / "photos"], soft=[tmp_path / "other"]).pairs[0].mask
    assert set(np.unique(mask)) == {0, 255}
    np.testing.assert_array_equal(mask == 255, _ramp() > 127)


def test_the_person_box_of_a_soft_mask_ignores_faint_probabilities():
    mask = np.full((40, 40), 20, np.uint8)          # a faint haze everywhere
    mask[10:30, 5:15] = 230
    assert person_bbox(mask) == (5, 10, 15, 30)


def test_soft_label_data_must_be_one_of_the_data_folders():
    with pytest.raises(ConfigError, match="must also be listed in data"):
        config_from_dict({"data": ["photos"], "soft_label_data": ["teacher"]})
    assert config_from_dict({"data": ["photos", "teacher"], "soft_label_data": ["teacher"]}).soft_label_data == ["teacher"]


def _person_pair() -> Pair:
    image = np.random.default_rng(0).integers(0, 255, (600, 400, 3), dtype=np.uint8)
    mask = np.zeros((600, 400), np.uint8)
    mask[60:580, 130:270] = 255
    return Pair("ccp/p", image, mask, person_bbox(mask))


def test_teacher_crops_lie_inside_the_photo_with_one_of_the_webcam_aspects():
    pair, rng = _person_pair(), np.random.default_rng(1)
    for _ in range(200):
        x0, y0, x1, y1 = crop_box(pair, rng)
        assert 0 <= x0 < x1 <= 400 and 0 <= y0 < y1 <= 600
        aspect = (x1 - x0) / (y1 - y0)
        assert min(abs(aspect - w / h) for w, h in ASPECTS) < 0.05, aspect
        assert x0 < 270 and x1 > 130 and y0 <= 60           # the person is in it, head included


def test_teacher_crops_are_written_with_the_photo_mask_cut_alike(tmp_path):
    pair = _person_pair()
    assert write_crops([pair], tmp_path, per_image=3, seed=0) == 3
    for img_path in sorted((tmp_path / "images").glob("*.jpg")):
        gt = cv2.imread(str(tmp_path / "gt" / f"{img_path.stem}.png"), cv2.IMREAD_GRAYSCALE)
        assert cv2.imread(str(img_path)).shape[:2] == gt.shape
        assert gt.any() and set(np.unique(gt)) <= {0, 255}


def test_a_crop_taller_than_a_landscape_photo_shrinks_without_changing_its_aspect():
    image = np.zeros((300, 1000, 3), np.uint8)           # wide photo, person from top to bottom
    mask = np.zeros((300, 1000), np.uint8)
    mask[5:295, 450:550] = 255
    pair, rng = Pair("ccp/wide", image, mask, person_bbox(mask)), np.random.default_rng(2)
    for _ in range(200):
        x0, y0, x1, y1 = crop_box(pair, rng, p_upper_body=0.0)   # whole person: taller than the photo
        assert 0 <= x0 < x1 <= 1000 and 0 <= y0 < y1 <= 300
        aspect = (x1 - x0) / (y1 - y0)
        assert min(abs(aspect - w / h) for w, h in ASPECTS) < 0.05, aspect
