"""benchmarks.frames: the one frame reader of every benchmark."""
import numpy as np
import pytest

from benchmarks.frames import read_frames, read_looped, resized
from conftest import shared_or_skip


def test_a_short_clip_loops_to_exactly_n_frames_or_stops_at_its_end():
    video = shared_or_skip("videos", "outdoor.mp4")
    clip = read_frames(video, 100_000)
    looped = read_looped(video, len(clip) + 5, (64, 36))
    assert len(looped) == len(clip) + 5 and looped[0].shape == (36, 64, 3)
    assert np.array_equal(looped[len(clip)], looped[0])        # after the clip's last frame, its first again
    assert len(read_frames(video, 3)) == 3


def test_a_missing_video_is_an_error_that_names_it(tmp_path):
    with pytest.raises(ValueError, match="cannot open video .*nothing.mp4"):
        read_frames(tmp_path / "nothing.mp4", 3)


def test_resizing_to_the_frames_own_size_copies_it():
    frame = np.zeros((4, 6, 3), np.uint8)
    out = resized(frame, (6, 4))
    assert out is not frame and np.array_equal(out, frame)
