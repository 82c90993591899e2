"""Zoom: small people are segmented a second time, cut out of the full-resolution frame."""
from __future__ import annotations

import numpy as np
import pytest

from edgeseg import Segmenter, SegmenterOptions
from edgeseg.errors import ConfigError
from edgeseg.metrics import iou
from edgeseg.zoom import MAX_BOXES, Box, zoom_boxes
from tests.conftest import mask_pipeline, red_square_frame, small_figure


def _mask(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    m = np.zeros((h, w), np.float32)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = 0.9
    return m


def test_nobody_found_means_no_zoom():
    assert zoom_boxes(np.zeros((270, 480), np.float32), 0.5, 0.5, 0.15) == []


@pytest.mark.parametrize("h, w", [(1, 1), (1, 40), (10, 10)])
def test_a_tiny_frame_is_never_zoomed(h, w):
    assert zoom_boxes(np.ones((h, w), np.float32), 0.5, 0.5, 0.15) == []


def test_a_speck_is_not_a_person_to_zoom_on():
    assert zoom_boxes(_mask(270, 480, (100, 100, 102, 102)), 0.5, 0.5, 0.15) == []


def test_a_person_filling_the_frame_is_not_zoomed():
    assert zoom_boxes(_mask(270, 480, (40, 0, 440, 270)), 0.5, 0.5, 0.15) == []


def test_a_small_person_gets_their_box_grown_by_the_margin():
    assert zoom_boxes(_mask(270, 480, (200, 100, 240, 200)), 0.5, 0.5, 0.25) == [Box(190, 75, 250, 225)]            # 40×100 grown by 25 % of its size on each side


def test_the_grown_box_stops_at_the_frame_edge():
    box, = zoom_boxes(_mask(270, 480, (0, 150, 60, 270)), 0.5, 0.5, 0.5)
    assert box.x0 == 0 and box.y1 == 270 and box.x1 == 90 and box.y0 == 90


def test_probabilities_under_the_threshold_do_not_count():
    m = _mask(270, 480, (200, 100, 240, 200))
    m[:, :] = np.maximum(m, 0.3)                    # a faint haze everywhere
    assert zoom_boxes(m, 0.5, 0.5, 0.0) == [Box(200, 100, 240, 200)]


def test_people_standing_apart_get_a_box_each_largest_first():
    m = _mask(270, 480, (20, 20, 60, 250)) + _mask(270, 480, (400, 60, 430, 240))    # together: most of the frame
    assert zoom_boxes(m, 0.5, 0.5, 0.0) == [Box(20, 20, 60, 250), Box(400, 60, 430, 240)]


def test_people_close_together_share_one_box():
    m = _mask(270, 480, (20, 100, 60, 220)) + _mask(270, 480, (80, 100, 120, 220)) + _mask(270, 480, (400, 0, 480, 270))
    assert zoom_boxes(m, 0.5, 0.5, 0.0)[1] == Box(20, 100, 120, 220)      # 20 px apart: one group


def test_no_more_than_max_boxes_groups_are_zoomed():
    m = sum(_mask(270, 480, (10 + 90 * i, 100, 40 + 90 * i, 160)) for i in range(MAX_BOXES + 2))
    m[0:270, 460:480] = 0.9                                                 # a pole: the union spans the frame
    assert len(zoom_boxes(m, 0.5, 0.5, 0.0)) == MAX_BOXES


def test_a_box_scales_to_the_frame_and_stays_inside_it():
    assert Box(190, 75, 250, 225).scaled(1280 / 480, 720 / 270, 1280, 720) == Box(506, 200, 667, 600)
    assert Box(0, 0, 480, 270).scaled(1280 / 480, 720 / 270, 1280, 720) == Box(0, 0, 1280, 720)


@pytest.mark.parametrize("below, margin", [(0.0, 0.1), (1.5, 0.1), (0.5, -0.1)])
def test_unusable_zoom_options_are_refused(redness_model, below, margin):
    with pytest.raises(ConfigError, match="zoom_"):
        Segmenter(SegmenterOptions(model_path=redness_model, provider="cpu", zoom_below=below, zoom_margin=margin))


def test_a_thin_arm_of_a_small_person_is_found_with_zoom(redness_model):
    frame, truth, arm = small_figure()
    with Segmenter(SegmenterOptions(model_path=redness_model, provider="cpu", zoom=False)) as plain, \
            Segmenter(SegmenterOptions(model_path=redness_model, provider="cpu")) as zoomed:
        without = plain.segment(frame).mask >= 0.5
        result = zoomed.segment(frame)
        assert plain.last_zoom == []
        box, = zoomed.last_zoom
    assert box.x0 <= 600 and box.y0 <= 300 and box.x1 >= 690 and box.y1 >= 420
    assert (result.mask >= 0.5)[arm].mean() > 0.9 > without[arm].mean()
    assert iou(result.mask >= 0.5, truth) > iou(without, truth)
    assert set(result.timings) == {"preprocess", "inference", "postprocess"}


def test_a_large_person_is_segmented_once(redness_model):
    frame = red_square_frame(720, 1280, (300, 0, 1000, 720))
    with Segmenter(SegmenterOptions(model_path=redness_model, provider="cpu")) as seg:
        seg.segment(frame)
        assert seg.last_zoom == []


def test_the_live_path_never_zooms(redness_model):
    """segment_work (the Pipeline's call) keeps one model call per frame, whatever the options."""
    frame, _, _ = small_figure()
    with Segmenter(SegmenterOptions(model_path=redness_model, provider="cpu")) as zoomed, \
            Segmenter(SegmenterOptions(model_path=redness_model, provider="cpu", zoom=False)) as plain:
        np.testing.assert_array_equal(zoomed.segment_work(frame).mask, plain.segment_work(frame).mask)
        assert zoomed.last_zoom == []


def test_a_photo_through_the_pipeline_zooms_and_a_video_frame_does_not(redness_model):
    frame, truth, arm = small_figure()
    with mask_pipeline(redness_model) as pipe:
        pipe.process(frame)
        assert pipe.segmenter.last_zoom == []
        video = pipe.mask.copy()
        pipe.reset()
        pipe.process(frame, still=True)
        assert len(pipe.segmenter.last_zoom) == 1
        photo = pipe.mask
    # the Pipeline's mask is at its working resolution (480 px), where a 3 px arm is about one pixel wide
    assert iou(photo >= 128, truth) > iou(video >= 128, truth)
    assert photo[arm].mean() > video[arm].mean() + 10


def test_a_photo_with_a_subject_lock_is_segmented_once(redness_model):
    frame, _, _ = small_figure()
    with mask_pipeline(redness_model, subject="largest") as pipe:
        pipe.process(frame, still=True)
        assert pipe.segmenter.last_zoom == []


def test_process_zooms_on_an_image_file(redness_model, tmp_path):
    import cv2
    from edgeseg.sources import open_source
    from edgeseg.video import run_process
    frame, _, _ = small_figure()
    cv2.imwrite(str(tmp_path / "photo.png"), frame)
    with mask_pipeline(redness_model) as pipe:
        run_process(pipe, open_source(str(tmp_path / "photo.png")), tmp_path / "out.png", progress=False)
        assert len(pipe.segmenter.last_zoom) == 1
    assert cv2.imread(str(tmp_path / "out.png")).shape == frame.shape
