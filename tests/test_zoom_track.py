"""Zoom on video: a box holds still while the people stay inside it, and each box smooths its own crop."""
from __future__ import annotations

from edgeseg.postprocess import TemporalSmoother
from edgeseg.zoom import Box
from edgeseg.zoom_track import SLACK, ZoomTrack, grown, holds
from tests.conftest import mask_pipeline, red_square_frame, small_figure

HW = (720, 1280)


def _track() -> ZoomTrack:
    return ZoomTrack(TemporalSmoother)


def test_a_new_box_is_grown_by_the_slack_and_clipped_to_the_frame():
    assert grown(Box(100, 100, 200, 300), SLACK, HW) == Box(90, 80, 210, 320)
    assert grown(Box(0, 650, 100, 720), SLACK, HW) == Box(0, 643, 110, 720)


def test_a_box_that_stays_inside_the_kept_one_keeps_it():
    assert holds(Box(90, 80, 210, 320), Box(95, 85, 200, 310))


def test_a_box_that_leaves_the_kept_one_replaces_it():
    assert not holds(Box(90, 80, 210, 320), Box(150, 100, 250, 300))


def test_a_box_that_shrinks_to_under_half_the_kept_one_replaces_it():
    assert not holds(Box(0, 0, 400, 400), Box(10, 10, 200, 200))


def test_small_moves_keep_the_box_and_its_smoother():
    track = _track()
    (first, smooth), = track.update([Box(100, 100, 200, 300)], HW)
    for dx in (2, -3, 5):
        (box, again), = track.update([Box(100 + dx, 100, 200 + dx, 300)], HW)
        assert box == first and again is smooth


def test_a_moved_person_gets_a_new_box_and_a_fresh_smoother():
    track = _track()
    (_, smooth), = track.update([Box(100, 100, 200, 300)], HW)
    (box, fresh), = track.update([Box(400, 100, 500, 300)], HW)
    assert box == grown(Box(400, 100, 500, 300), SLACK, HW) and fresh is not smooth


def test_nobody_to_zoom_on_drops_the_tracks_and_a_new_frame_size_starts_over():
    track = _track()
    track.update([Box(100, 100, 200, 300)], HW)
    assert track.update([], HW) == [] and track.boxes == []
    (_, smooth), = track.update([Box(100, 100, 200, 300)], HW)
    (_, other), = track.update([Box(100, 100, 200, 300)], (360, 640))
    assert other is not smooth


def test_two_groups_keep_a_box_each():
    track = _track()
    a, b = Box(100, 100, 200, 300), Box(800, 100, 900, 300)
    first = track.update([a, b], HW)
    again = track.update([b, a], HW)              # the larger group first this time
    assert [box for box, _ in again] == [first[1][0], first[0][0]]
    assert again[0][1] is first[1][1] and again[1][1] is first[0][1]


def test_temporal_off_means_no_smoother_for_the_crops():
    (_, smooth), = ZoomTrack(lambda: None).update([Box(100, 100, 200, 300)], HW)
    assert smooth is None


def _walking(n: int):
    """Frames of a small red figure (60×120 px in 1280×720) moving 2 px right per frame."""
    return [red_square_frame(720, 1280, (600 + 2 * i, 300, 660 + 2 * i, 420)) for i in range(n)]


def test_video_zoom_holds_one_box_while_a_small_person_moves_a_little(redness_model):
    with mask_pipeline(redness_model, zoom_video=True) as pipe:
        boxes = []
        for frame in _walking(6):
            pipe.process(frame)
            boxes.append(pipe.segmenter.last_zoom)
    assert len(boxes[0]) == 1 and all(b == boxes[0] for b in boxes)
    box = boxes[0][0]
    assert box.x0 <= 600 and box.x1 >= 670 and box.y0 <= 300 and box.y1 >= 420


def test_video_frames_make_one_call_unless_video_zoom_is_on(redness_model):
    frame = _walking(1)[0]
    with mask_pipeline(redness_model) as plain, mask_pipeline(redness_model, zoom_video=True, subject="largest") as locked:
        plain.process(frame)
        locked.process(frame)
        assert plain.segmenter.last_zoom == [] and locked.segmenter.last_zoom == []


def test_video_zoom_finds_a_thin_arm_the_single_call_misses(redness_model):
    frame, _, arm = small_figure()
    with mask_pipeline(redness_model) as plain, mask_pipeline(redness_model, zoom_video=True) as zoomed:
        for _ in range(3):
            plain.process(frame)
            zoomed.process(frame)
        assert zoomed.mask[arm].mean() > plain.mask[arm].mean() + 10


def test_reset_forgets_the_zoom_boxes(redness_model):
    with mask_pipeline(redness_model, zoom_video=True) as pipe:
        pipe.process(_walking(1)[0])
        assert pipe.zoom_track.boxes
        pipe.reset()
        assert pipe.zoom_track.boxes == []
