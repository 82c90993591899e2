"""Flip averaging: the mirrored frame is segmented too, and the two probabilities averaged."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgeseg import Segmenter, SegmenterOptions


@pytest.fixture(scope="module")
def photo(ccp) -> np.ndarray:
    """A real photo at 640×352: exactly twice the default canvas, so no letterbox padding is uneven."""
    path = sorted((ccp / "images").iterdir())[0]
    return cv2.resize(cv2.imread(str(path)), (640, 352), interpolation=cv2.INTER_AREA)


def _masks(photo: np.ndarray, **options) -> tuple[np.ndarray, np.ndarray]:
    with Segmenter(SegmenterOptions(provider="cpu", zoom=False, **options)) as seg:
        return seg.segment(photo).mask, seg.segment(np.ascontiguousarray(photo[:, ::-1])).mask


def test_with_flip_averaging_a_mirrored_photo_gives_the_mirrored_mask(photo):
    mask, mirrored = _masks(photo, flip_average=True)
    assert mask.mean() > 0.05                           # someone is found
    np.testing.assert_allclose(mirrored[:, ::-1], mask, atol=1e-5)


def test_without_it_the_model_sees_a_mirrored_photo_differently(photo):
    mask, mirrored = _masks(photo)
    assert np.abs(mirrored[:, ::-1] - mask).max() > 0.1


def test_flip_averaging_makes_two_model_calls_per_frame(photo):
    with Segmenter(SegmenterOptions(provider="cpu", zoom=False, flip_average=True)) as seg:
        calls = []
        run = seg.session.run
        seg.session.run = lambda x: calls.append(x.shape) or run(x)
        seg.segment(photo)
        seg.segment_work(photo)
    assert len(calls) == 4 and len(set(calls)) == 1
