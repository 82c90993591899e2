import cv2
import numpy as np

from edgeseg.compose import Compositor, cover_resize


def person_scene():
    """A red 'person' on a green background, with its alpha."""
    frame = np.zeros((360, 640, 3), np.uint8)
    frame[:] = (0, 160, 0)
    alpha = np.zeros((360, 640), np.float32)
    alpha[60:360, 240:400] = 1.0
    frame[alpha > 0] = (0, 0, 255)
    return frame, alpha


def test_the_blurred_background_has_no_halo_of_the_person():
    frame, alpha = person_scene()
    small = cv2.resize(frame, (160, 90), interpolation=cv2.INTER_AREA)
    alpha_small = cv2.resize(alpha, (160, 90), interpolation=cv2.INTER_AREA)
    bg = Compositor().blurred_background(small, alpha_small, 20 / 4, (360, 640))
    ring = bg[100:360, 215:235]                           # background just left of the person
    assert ring[..., 2].max() < 40, "the person's red bled into the blurred background"
    naive = cv2.GaussianBlur(frame, (0, 0), 20)[100:360, 215:235]
    assert naive[..., 2].max() > 60                      # a plain blur does bleed


def test_blend_takes_the_frame_where_alpha_is_255_and_the_background_where_0():
    frame = np.full((4, 4, 3), 200, np.uint8)
    bg = np.full((4, 4, 3), 10, np.uint8)
    alpha = np.array([[0, 255, 128, 255]] * 4, np.uint8)
    out = Compositor().blend(frame, bg, alpha)
    assert out[0, 0, 0] == 10 and out[0, 1, 0] == 200 and 100 <= out[0, 2, 0] <= 110
    assert (bg == 10).all() and (frame == 200).all()          # the caller's arrays are left alone


def test_cover_resize_fills_the_frame_without_distortion():
    img = np.zeros((100, 400, 3), np.uint8)
    img[:, 150:250] = 255                                 # a centred square
    out = cover_resize(img, (360, 640))
    assert out.shape == (360, 640, 3)
    cols = np.where(out[180, :, 0] > 127)[0]
    assert abs((cols[-1] - cols[0] + 1) - 360) <= 4       # the square stays square (360 px wide)


def test_tiny_column_shaped_images_composite_without_error():
    # OpenCV reads a Python scalar as an array when the other operand is N×1 (N ≤ 4)
    frame = np.random.default_rng(0).integers(0, 256, (16, 4, 3), np.uint8)
    alpha = np.random.default_rng(1).random((16, 4)).astype(np.float32)
    small, alpha_small = cv2.resize(frame, (1, 4)), cv2.resize(alpha, (1, 4))
    bg = Compositor().blurred_background(small, alpha_small, 1.0, (16, 4))
    assert bg.shape == (16, 4, 3)


# --------------------------------------------------------------------------- the edge-band composite

from edgeseg.compose import (ALPHA_CEIL, ALPHA_FLOOR, ALPHA_LUT, BACKGROUND, BAND_MIN_UPSCALE,  # noqa: E402
                             EDGE, PERSON, SNAP, band_grid, tile_kinds, upscale_rect)

PREMULTIPLIED_LEVELS = SNAP + 2     # a blurred background weighted by 1 - a before its upscale: two levels more


def real_frames(sizes, count=2):
    """Frames of desk.mp4 at each size, with the Pipeline's alpha at working resolution and its blur input."""
    import pytest
    from conftest import shared_or_skip
    from edgeseg import Segmenter, SegmenterOptions
    from edgeseg.postprocess import feather
    cap = cv2.VideoCapture(str(shared_or_skip("videos", "desk.mp4")))
    src = []
    for i in range(count):
        cap.set(cv2.CAP_PROP_POS_FRAMES, 100 + 300 * i)
        ok, f = cap.read()
        if ok:
            src.append(f)
    cap.release()
    if not src:
        pytest.skip("desk.mp4 gave no frames")
    with Segmenter(SegmenterOptions(provider="cpu")) as seg:
        for w, h in sizes:
            for f in src:
                frame = cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR)
                work = seg.segment_work(frame)
                mask = feather(work.mask, 4.0 * max(work.mask.shape) / 1280)
                yield frame, work.frame_small, mask, cv2.convertScaleAbs(mask, alpha=255.0)


def old_blur_composite(frame, small, mask, alpha_small):
    """The composite as it was, on the remapped alpha: alpha and blur upscaled to the frame, then one
    whole-frame blend."""
    h, w = frame.shape[:2]
    c = Compositor()
    bg = c.blur_behind(frame, mask, 12.0, 320, small)
    alpha = cv2.resize(cv2.LUT(alpha_small, ALPHA_LUT), (w, h), interpolation=cv2.INTER_LINEAR)
    return c.blend(frame, bg, alpha).copy()


def test_the_composite_matches_the_whole_frame_blend_on_real_frames():
    for frame, small, mask, alpha_small in real_frames([(1280, 720), (1920, 1080), (3840, 2160)]):
        c = Compositor()
        new = c.composite(frame, alpha_small, c.blur_behind_small(frame, mask, 12.0, 320, small))
        diff = np.abs(new.astype(np.int16) - old_blur_composite(frame, small, mask, alpha_small))
        assert diff.max() <= PREMULTIPLIED_LEVELS, f"{frame.shape}: the composite moved a pixel by {diff.max()} levels"
        assert (diff > SNAP).mean() < 1e-3, f"{frame.shape}: {(diff > SNAP).mean():.2%} of the values moved > {SNAP}"
    assert frame.shape[0] * frame.shape[1] >= BAND_MIN_UPSCALE * alpha_small.size   # the 4K frames took tiles
    assert band_grid(frame.shape[:2], alpha_small.shape) is not None


def test_faint_alpha_shows_only_the_background_and_near_full_alpha_only_the_frame():
    frame = np.full((90, 160, 3), 200, np.uint8)
    background = np.full((90, 160, 3), 40, np.uint8)
    alpha = np.zeros((45, 80), np.uint8)
    alpha[:, :20], alpha[:, 20:40], alpha[:, 40:60], alpha[:, 60:] = ALPHA_FLOOR, 128, ALPHA_CEIL, 255
    for bg in (background, background[::3, ::3]):        # frame-sized (replace) and small (blur)
        out = Compositor().composite(frame, alpha, np.ascontiguousarray(bg)).astype(int)
        assert (out[:, :36] == 40).all()                  # no haze of the frame over the background
        assert 100 < out[:, 44:76].mean() < 140           # a soft edge stays soft
        assert (out[:, 84:] == 200).all()
    assert ALPHA_LUT[0] == 0 and ALPHA_LUT[ALPHA_FLOOR] == 0 and ALPHA_LUT[ALPHA_CEIL] == 255


def test_a_cut_of_a_bilinear_upscale_equals_that_part_of_the_whole_upscale():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (27, 48), np.uint8)
    for frame_hw in [(36, 64), (72, 128), (108, 192), (216, 384)]:           # ratios 4/3, 8/3, 4, 8
        grid = band_grid(frame_hw, small.shape, tile_px=(8, 8))
        whole = cv2.resize(small, frame_hw[::-1], interpolation=cv2.INTER_LINEAR)
        for ty, tx in [(0, 0), (1, 2), (2, 0)]:
            rect = (ty * grid.th, min(27, (ty + 2) * grid.th), tx * grid.tw, min(48, (tx + 3) * grid.tw))
            y0, x0 = rect[0] * grid.py // grid.qy, rect[2] * grid.px // grid.qx
            part = upscale_rect(small, grid, rect)
            assert np.array_equal(part, whole[y0:y0 + part.shape[0], x0:x0 + part.shape[1]])


def test_tiles_are_background_person_or_edge_and_an_edge_reaches_the_next_tile():
    grid = band_grid((270 * 4, 480 * 4), (270, 480), tile_px=(64, 64))      # 16×16-pixel tiles
    assert (tile_kinds(np.zeros((270, 480), np.uint8), grid) == BACKGROUND).all()
    assert (tile_kinds(np.full((270, 480), 255, np.uint8), grid) == PERSON).all()
    alpha = np.zeros((270, 480), np.uint8)
    alpha[20, 15] = 128                                  # the last column of tile (1, 0)
    kinds = tile_kinds(alpha, grid)
    assert kinds[1, 0] == EDGE and kinds[1, 1] == EDGE   # bilinear reads one pixel across the border
    assert (kinds == EDGE).sum() == 2
    alpha[20, 15] = SNAP                                 # faint enough to count as background
    assert (tile_kinds(alpha, grid) == BACKGROUND).all()


def test_a_ragged_upscale_blends_the_whole_frame_with_the_same_result():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (768, 1366, 3), np.uint8)
    alpha_small = cv2.GaussianBlur(rng.integers(0, 256, (270, 480), np.uint8), (0, 0), 4)
    assert band_grid((768, 1366), (270, 480)) is None
    alpha = cv2.resize(cv2.LUT(alpha_small, ALPHA_LUT), (1366, 768))
    replacement = rng.integers(0, 256, (768, 1366, 3), np.uint8)
    new = Compositor().composite(frame, alpha_small, replacement)
    assert np.array_equal(new, Compositor().blend(frame, replacement, alpha))
    blur = cv2.GaussianBlur(rng.integers(0, 256, (120, 213, 3), np.uint8), (0, 0), 8)   # smooth, as a blur is
    new = Compositor().composite(frame, alpha_small, blur)
    old = Compositor().blend(frame, cv2.resize(blur, (1366, 768)), alpha)
    assert np.abs(new.astype(np.int16) - old).max() <= PREMULTIPLIED_LEVELS


def test_the_band_composite_leaves_no_halo_of_the_person():
    frame, alpha = person_scene()
    frame = cv2.resize(frame, (2560, 1440), interpolation=cv2.INTER_NEAREST)   # 28× the alpha's area: tiles
    alpha_small = cv2.convertScaleAbs(cv2.resize(alpha, (480, 270), interpolation=cv2.INTER_AREA), alpha=255.0)
    c = Compositor()
    bg_small = c.blur_behind_small(frame, alpha_small.astype(np.float32) / 255, 20.0)
    out = c.composite(frame, alpha_small, bg_small)
    ring = out[400:1440, 860:940]                        # background just left of the person (x 960..1600)
    assert ring[..., 2].max() < 40, "the person's red bled into the background"
    assert (out[600:1400, 1000:1560] == frame[600:1400, 1000:1560]).all()   # the person is the frame itself


def test_the_pipeline_mask_is_the_frame_sized_alpha_behind_the_blur():
    from edgeseg import Pipeline, PipelineOptions, SegmenterOptions
    for frame, *_ in real_frames([(1920, 1080)], count=1):
        with Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu"))) as pipe:
            out = pipe.process(frame)
            mask = pipe.mask
        assert mask.shape == frame.shape[:2] and mask.dtype == np.uint8
        person = mask >= 255 - SNAP
        assert person.mean() > 0.05
        assert np.abs(out[person].astype(np.int16) - frame[person]).max() <= SNAP
