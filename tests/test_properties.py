"""Property tests (hypothesis) on the pure pre/post-processing and compositing functions."""
import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edgeseg.compose import Compositor, cover_resize
from edgeseg.postprocess import TemporalSmoother, crop_letterbox, feather, guided_filter
from edgeseg.preprocess import as_bgr_uint8, choose_canvas, letterbox_geometry, letterbox_image, to_tensor

sizes = st.integers(1, 300)
channels = st.sampled_from([None, 1, 3, 4])
dtypes = st.sampled_from([np.uint8, np.uint16, np.float32, np.float64])


@st.composite
def frames(draw):
    h, w, c, dt = draw(sizes), draw(sizes), draw(channels), draw(dtypes)
    shape = (h, w) if c is None else (h, w, c)
    if np.issubdtype(dt, np.floating):
        return draw(arrays(dt, shape, elements=st.floats(0, 1, width=32)))
    return draw(arrays(dt, shape))


@settings(max_examples=60, deadline=None)
@given(frames())
def test_any_usable_frame_becomes_bgr_uint8_of_its_size(frame):
    out = as_bgr_uint8(frame)
    assert out.shape == frame.shape[:2] + (3,) and out.dtype == np.uint8 and out.flags.c_contiguous


@settings(max_examples=200, deadline=None)
@given(sizes, sizes, st.booleans())
def test_the_letterbox_always_fits_inside_the_canvas_and_keeps_aspect(h, w, adaptive):
    canvas = choose_canvas((h, w), (144, 256), adaptive)
    lb = letterbox_geometry((h, w), canvas)
    assert canvas[0] % 16 == 0 and canvas[1] % 16 == 0
    assert 0 <= lb.top and lb.top + lb.height <= canvas[0] and 0 <= lb.left and lb.left + lb.width <= canvas[1]
    assert lb.height == canvas[0] or lb.width == canvas[1]          # fits tightly on one side
    assert abs(lb.width / lb.height - w / h) <= (w / h) * (1 / lb.height + 1 / lb.width) * 2 + 1e-9


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 120), st.integers(1, 120))
def test_preprocess_then_crop_returns_the_frame_region(h, w):
    frame = np.random.default_rng(h * 1000 + w).integers(0, 256, (h, w, 3), np.uint8)
    lb = letterbox_geometry((h, w), choose_canvas((h, w), (144, 256), True))
    x = to_tensor(letterbox_image(frame, lb), "RGB", "NCHW", (0, 0, 0), (1, 1, 1))
    assert x.shape[2:] == lb.canvas_hw and 0.0 <= x.min() and x.max() <= 1.0
    assert crop_letterbox(x[0, 0], lb).shape == (lb.height, lb.width)


masks = st.tuples(st.integers(8, 80), st.integers(8, 80)).flatmap(
    lambda hw: arrays(np.float32, hw, elements=st.floats(0, 1, width=32)))


@settings(max_examples=40, deadline=None)
@given(masks, st.floats(0, 12), st.sampled_from(["centred", "outward", "inward"]))
def test_feather_keeps_shape_and_range(mask, width, direction):
    out = feather(mask, width, direction)
    assert out.shape == mask.shape and out.min() >= -1e-6 and out.max() <= 1 + 1e-6


@settings(max_examples=40, deadline=None)
@given(masks, st.integers(1, 10), st.floats(1e-4, 1e-1))
def test_guided_filter_keeps_shape_and_range(mask, radius, eps):
    guide = np.random.default_rng(0).random(mask.shape).astype(np.float32)
    out = guided_filter(guide, mask, radius, eps)
    assert out.shape == mask.shape and out.min() >= 0 and out.max() <= 1


@settings(max_examples=30, deadline=None)
@given(st.lists(masks, min_size=1, max_size=5), st.booleans())
def test_temporal_smoothing_stays_in_range_across_size_changes(seq, guided):
    s = TemporalSmoother()
    rng = np.random.default_rng(len(seq))
    for m in seq:
        out = s(m, rng.integers(0, 256, m.shape, np.uint8) if guided else None)
        assert out.shape == m.shape and out.min() >= -1e-6 and out.max() <= 1 + 1e-6


@settings(max_examples=40, deadline=None)
@given(st.integers(4, 90), st.integers(4, 90), st.floats(0.5, 30))
def test_compositing_returns_a_uint8_frame_of_the_same_size(h, w, sigma):
    rng = np.random.default_rng(h * w)
    frame = rng.integers(0, 256, (h, w, 3), np.uint8)
    alpha = rng.random((h, w)).astype(np.float32)
    small_hw = (max(1, h // 4), max(1, w // 4))
    comp = Compositor()
    bg = comp.blurred_background(cv2.resize(frame, small_hw[::-1]), cv2.resize(alpha, small_hw[::-1]), sigma, (h, w))
    bg = bg.copy()                                              # blend reuses its own buffers in place
    out = comp.blend(frame, bg, cv2.convertScaleAbs(alpha, alpha=255))
    assert out.shape == frame.shape and out.dtype == np.uint8
    lo = np.minimum(frame, bg).astype(int) - 1
    hi = np.maximum(frame, bg).astype(int) + 1
    assert (out >= lo).all() and (out <= hi).all()              # a convex mix of frame and background


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.integers(1, 200), st.integers(1, 200))
def test_cover_resize_always_gives_the_frame_size(ih, iw, fh, fw):
    assert cover_resize(np.zeros((ih, iw, 3), np.uint8), (fh, fw)).shape == (fh, fw, 3)
