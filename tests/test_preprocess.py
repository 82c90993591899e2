import numpy as np
import pytest

from edgeseg.errors import FrameError
from edgeseg.preprocess import as_bgr_uint8, choose_canvas, letterbox_geometry, letterbox_image, to_tensor


def test_a_16_9_frame_fills_the_landscape_canvas_exactly():
    lb = letterbox_geometry((720, 1280), (144, 256))
    assert (lb.top, lb.left, lb.height, lb.width) == (0, 0, 144, 256)


def test_a_portrait_frame_is_centred_without_stretching():
    lb = letterbox_geometry((800, 600), (144, 256))
    assert lb.height == 144 and lb.width == 108 and lb.left == (256 - 108) // 2
    assert abs(lb.width / lb.height - 600 / 800) < 0.01


@pytest.mark.parametrize("hw,expect", [((720, 1280), (144, 256)), ((1280, 720), (256, 144)), ((500, 500), (192, 192))])
def test_the_adaptive_canvas_follows_the_frame_orientation(hw, expect):
    assert choose_canvas(hw, (144, 256), adaptive=True) == expect


def test_the_canvas_is_fixed_when_not_adaptive():
    assert choose_canvas((1280, 720), (144, 256), adaptive=False) == (144, 256)


def test_canvas_sides_are_multiples_of_16_for_odd_aspect_ratios():
    for hw in [(100, 1000), (1000, 100), (333, 777), (1, 1)]:
        h, w = choose_canvas(hw, (144, 256), adaptive=True)
        assert h % 16 == 0 and w % 16 == 0 and h >= 16 and w >= 16


def test_letterbox_pads_with_zeros_outside_the_content():
    frame = np.full((100, 50, 3), 200, np.uint8)
    lb = letterbox_geometry(frame.shape[:2], (64, 64))
    canvas = letterbox_image(frame, lb)
    assert canvas[:, : lb.left].max() == 0 and canvas[:, lb.left + lb.width:].max() == 0
    assert canvas[lb.top:lb.top + lb.height, lb.left:lb.left + lb.width].min() == 200


def test_to_tensor_gives_nchw_rgb_in_0_1():
    canvas = np.zeros((4, 6, 3), np.uint8)
    canvas[..., 2] = 255                         # red in BGR
    x = to_tensor(canvas, "RGB", "NCHW", (0, 0, 0), (1, 1, 1))
    assert x.shape == (1, 3, 4, 6) and x.dtype == np.float32
    assert x[0, 0].min() == 1.0 and x[0, 2].max() == 0.0


def test_to_tensor_applies_mean_and_std():
    x = to_tensor(np.full((2, 2, 3), 255, np.uint8), "BGR", "NHWC", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert x.shape == (1, 2, 2, 3) and np.allclose(x, 1.0)


@pytest.mark.parametrize("frame", [
    np.zeros((10, 12), np.uint8),
    np.zeros((10, 12, 1), np.uint8),
    np.zeros((10, 12, 4), np.uint8),
    np.zeros((10, 12, 3), np.uint16),
    np.zeros((10, 12, 3), np.float32),
    np.zeros((10, 24, 3), np.uint8)[:, ::2],      # non-contiguous
])
def test_usable_frames_are_converted_to_contiguous_bgr_uint8(frame):
    out = as_bgr_uint8(frame)
    assert out.shape == (10, 12, 3) and out.dtype == np.uint8 and out.flags.c_contiguous


@pytest.mark.parametrize("frame,words", [
    (None, "None"),
    ("not an image", "numpy array"),
    (np.zeros((0, 0, 3), np.uint8), "empty"),
    (np.zeros((10, 10, 2), np.uint8), "shape"),
    (np.zeros((10, 10, 3), np.int64), "dtype"),
    (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
])
def test_unusable_frames_are_refused_with_a_reason(frame, words):
    with pytest.raises(FrameError, match=words):
        as_bgr_uint8(frame)


def test_letterboxing_into_a_reused_canvas_gives_the_same_canvas_as_a_fresh_one():
    from edgeseg.preprocess import resize_fast
    frame = np.random.default_rng(0).integers(0, 256, (270, 480, 3), np.uint8)
    lb = letterbox_geometry((270, 480), (176, 320))
    expect = np.zeros((176, 320, 3), np.uint8)
    expect[lb.top:lb.top + lb.height, lb.left:lb.left + lb.width] = resize_fast(frame, (lb.width, lb.height))
    canvas = letterbox_image(frame, lb)
    assert np.array_equal(canvas, expect)
    canvas[:] = 7                                        # a dirty reused canvas is cleared around the content
    assert np.array_equal(letterbox_image(frame, lb, canvas), expect)
