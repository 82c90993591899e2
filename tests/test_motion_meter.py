"""Jitter (benchmarks/mediapipe_ref/motion.py): mask changes beyond what the picture's own motion explains."""
import numpy as np

from benchmarks.mediapipe_ref.motion import MotionMeter


def scene(shift: int) -> tuple[np.ndarray, np.ndarray]:
    """A textured person (a disc) on a flat background, moved `shift` px right; and its mask."""
    h, w = 180, 240
    yy, xx = np.mgrid[:h, :w]
    inside = ((yy - 90) ** 2 + (xx - 100 - shift) ** 2) < 50 ** 2
    texture = (128 + 60 * np.sin((xx - shift) / 3.0) * np.cos(yy / 4.0)).astype(np.uint8)
    frame = np.where(inside, texture, 40).astype(np.uint8)
    return np.repeat(frame[..., None], 3, axis=2), inside.astype(np.float32)


def test_a_mask_that_follows_the_motion_has_little_jitter_and_a_lagging_one_has_it_all():
    meter = MotionMeter()
    following, lagging = [], []
    last_mask = None
    for t in range(6):
        frame, mask = scene(3 * t)
        meter.next_frame(frame)
        if last_mask is None:
            assert meter.jitter(mask, mask) is None           # the first frame has no motion to compare with
        else:
            following.append(meter.jitter(mask, last_mask))
            lagging.append(meter.jitter(last_mask, last_mask))   # the mask stayed where it was: a ghost
        last_mask = mask
    flicker = np.abs(scene(3)[1] - scene(0)[1]).mean()
    assert np.mean(lagging) > 0.6 * flicker
    assert np.mean(following) < 0.1 * np.mean(lagging)


def test_the_motion_part_is_the_change_that_the_motion_alone_makes():
    meter = MotionMeter()
    frame0, mask0 = scene(0)
    frame1, mask1 = scene(3)
    meter.next_frame(frame0)
    assert meter.motion(mask0) is None
    meter.next_frame(frame1)
    flicker = np.abs(mask1 - mask0).mean()
    assert abs(meter.motion(mask0) - flicker) < 0.15 * flicker      # the disc moved: all of its flicker is motion
    still = MotionMeter()
    still.next_frame(frame0)
    still.next_frame(frame0)
    assert still.motion(mask0) < 1e-4                               # nothing moved
