"""Subject lock: keep one person (largest, or the tracked main person); everyone else is background."""
import cv2
import numpy as np
import pytest

from edgeseg import Pipeline, PipelineOptions, SegmenterOptions
from edgeseg.cli import main
from edgeseg.errors import ConfigError
from edgeseg.subject import PrimaryTracker, SubjectSelector, largest_region, person_regions
from tests.conftest import shared_or_skip

HW = (144, 256)


def blobs(*boxes: tuple[int, int, int, int], hw=HW) -> np.ndarray:
    """A soft probability map with one filled rectangle (x0, y0, x1, y1) per person."""
    p = np.zeros(hw, np.float32)
    for x0, y0, x1, y1 in boxes:
        p[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = 1.0
    return cv2.GaussianBlur(p, (5, 5), 0)


def kept_boxes(out: np.ndarray, boxes) -> list[bool]:
    """Which of the boxes the output still holds (its centre pixel above 0.5)."""
    h, w = out.shape
    return [bool(out[min(h - 1, (max(0, y0) + y1) // 2), min(w - 1, (max(0, x0) + x1) // 2)] > 0.5)
            for x0, y0, x1, y1 in boxes]


def test_two_people_are_two_regions_and_a_thin_gap_does_not_split_one():
    assert person_regions(blobs((20, 20, 60, 120), (150, 20, 200, 120))).count == 2
    assert person_regions(blobs((20, 20, 60, 120), (62, 40, 80, 60))).count == 1     # a hand 2 px away


def test_largest_keeps_the_larger_person_with_its_soft_edge_and_clears_the_other():
    small, big = (20, 40, 50, 100), (120, 10, 200, 140)
    prob = blobs(small, big)
    out = SubjectSelector("largest")(prob)
    assert kept_boxes(out, [small, big]) == [False, True]
    assert out[:, :100].max() == 0.0                                     # the other person fully background
    edge = (prob > 0.05) & (prob < 0.95)
    edge[:, :100] = False
    np.testing.assert_array_equal(out[edge], prob[edge])                 # soft edge kept as the model gave it
    assert prob[60, 30] > 0.5                                            # the input is not changed


def test_all_keeps_everyone_unchanged():
    prob = blobs((20, 40, 50, 100), (120, 10, 200, 140))
    assert SubjectSelector("all")(prob) is prob


def test_an_empty_mask_stays_empty():
    prob = np.zeros(HW, np.float32)
    assert largest_region(person_regions(prob)) == []
    assert SubjectSelector("primary")(prob).max() == 0.0


def test_primary_prefers_a_person_near_the_centre_over_a_slightly_larger_one_in_a_corner():
    centre, corner = (108, 30, 148, 130), (0, 0, 48, 110)
    out = SubjectSelector("primary")(blobs(centre, corner))
    assert kept_boxes(out, [centre, corner]) == [True, False]


def crossing(frames=60, main=(108, 40, 148, 140), width=70):
    """A main person at the centre; a larger person walks across in front of them, left to right."""
    for t in range(frames):
        x = int(-width + (256 + width) * t / (frames - 1))
        yield main, (x, 0, x + width, 144)


def test_primary_holds_its_person_while_a_larger_one_crosses_in_front():
    sel = SubjectSelector("primary")
    held = []
    for main, crosser in crossing():
        out = sel(blobs(main, crosser))
        kept = kept_boxes(out, [main])[0]
        apart = crosser[2] < main[0] - 4 or crosser[0] > main[2] + 4
        if apart:                                  # when they do not touch, only the main person is kept
            held.append(kept and not out[:, max(0, crosser[0]):max(0, crosser[2])].any())
    assert len(held) > 30 and all(held)
    assert sel.tracker.acquisitions == 1


def test_largest_switches_to_the_crosser_where_primary_does_not():
    sel = SubjectSelector("largest")
    main, crosser = list(crossing())[12]
    assert kept_boxes(sel(blobs(main, crosser)), [main, crosser]) == [False, True]


def test_primary_waits_out_a_short_dropout_then_reacquires_after_the_person_is_gone_for_long():
    tracker_frames = PrimaryTracker().lost_frames
    sel = SubjectSelector("primary")
    main, other = (108, 40, 148, 140), (10, 60, 40, 130)
    sel(blobs(main, other))
    for _ in range(tracker_frames):                     # the main person is briefly gone: nobody is kept
        assert sel(blobs(other)).max() == 0.0
    assert kept_boxes(sel(blobs(main, other)), [main, other]) == [True, False]
    assert sel.tracker.acquisitions == 1
    for _ in range(tracker_frames + 1):                 # gone for long: the other person is chosen
        out = sel(blobs(other))
    assert kept_boxes(out, [other]) == [True]
    assert sel.tracker.acquisitions == 2


def test_unknown_subject_mode_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="all, largest, primary"):
        SubjectSelector("biggest")
    with pytest.raises(ConfigError, match="all, largest, primary"):
        PipelineOptions(subject="me").validate()


def red_frame(*boxes, hw=(360, 640)):
    frame = np.full((*hw, 3), 128, np.uint8)
    for x0, y0, x1, y1 in boxes:
        frame[y0:y1, x0:x1] = (0, 0, 255)
    return frame


def regions(mask_u8: np.ndarray) -> int:
    n, _, stats, _ = cv2.connectedComponentsWithStats((mask_u8 >= 128).astype(np.uint8))
    return int((stats[1:, cv2.CC_STAT_AREA] > 0.002 * mask_u8.size).sum())


@pytest.mark.parametrize("subject, expected", [("all", 2), ("largest", 1), ("primary", 1)])
def test_pipeline_mask_holds_one_region_with_a_subject_mode(redness_model, subject, expected):
    opts = PipelineOptions(segmenter=SegmenterOptions(model_path=redness_model, provider="cpu"),
                           effect="mask", subject=subject)
    with Pipeline(opts) as pipe:
        pipe.process(red_frame((40, 60, 160, 340), (300, 40, 480, 350)))
        assert regions(pipe.mask) == expected


def test_cli_largest_gives_one_person_region_on_a_photo_of_three_players(tmp_path):
    image = shared_or_skip("dev", "scenes", "images", "coco_000000217285.jpg")
    for subject in ("all", "largest"):
        assert main(["process", str(image), "--subject", subject, "--effect", "mask",
                     "-o", str(tmp_path / f"{subject}.png"), "-q"]) == 0
    assert regions(cv2.imread(str(tmp_path / "all.png"), cv2.IMREAD_GRAYSCALE)) >= 2
    assert regions(cv2.imread(str(tmp_path / "largest.png"), cv2.IMREAD_GRAYSCALE)) == 1


def test_primary_holds_its_person_through_a_composited_clip_where_another_crosses_the_centre():
    from benchmarks.subject import crossing_clip, read_pair, run_clip
    ccp = shared_or_skip("people", "ccp")
    bg = cv2.imread(str(sorted(shared_or_skip("backgrounds").glob("*.jpg"))[3]))
    main_p, crosser, side = (read_pair(ccp / "images" / f"{n}.jpg", ccp / "masks" / f"{n}.png")
                             for n in ("0001", "0002", "0003"))
    clip = crossing_clip(main_p, crosser, bg, frames=45, side=side)
    res = {mode: run_clip(clip, mode) for mode in ("largest", "primary")}
    primary = res["primary"]
    assert primary["acquisitions"] == 1
    assert primary["main_kept"] >= 0.9 * primary["main_visible"]
    assert primary["others_kept"] <= 0.2 * primary["main_visible"]   # only while they touch (one region)
    assert res["largest"]["main_kept"] < primary["main_kept"]        # the nearer crosser wins 'largest'
