import numpy as np
import pytest

from edgeseg.errors import ConfigError
from edgeseg.postprocess import TemporalSmoother, feather, guided_filter


def disc(h=120, w=160, r=40):
    yy, xx = np.mgrid[:h, :w]
    return (((yy - h / 2) ** 2 + (xx - w / 2) ** 2) < r * r).astype(np.float32)


def test_outward_feather_grows_the_mask_and_inward_shrinks_it():
    m = disc()
    area = (m >= 0.5).sum()
    assert (feather(m, 10, "outward") >= 0.5).sum() > area * 1.1
    assert (feather(m, 10, "inward") >= 0.5).sum() < area * 0.9
    centred = (feather(m, 10, "centred") >= 0.5).sum()
    assert abs(centred - area) < area * 0.05


def test_outward_feather_keeps_the_person_fully_opaque():
    m = disc()
    assert feather(m, 10, "outward")[m == 1].min() == pytest.approx(1.0)


def test_feather_refuses_an_unknown_direction_listing_valid_ones():
    with pytest.raises(ConfigError, match="centred, outward, inward"):
        feather(disc(), 4, "sideways")


def test_the_guided_filter_snaps_a_blocky_mask_to_the_image_edge():
    guide = np.zeros((128, 128), np.float32)
    guide[:, 61:] = 1.0                                   # true edge at x = 61
    blurry = np.clip((np.arange(128) - 50) / 12.0, 0, 1)[None].repeat(128, 0).astype(np.float32)
    out = guided_filter(guide, blurry, radius=8, eps=1e-3)
    row = out[64]
    assert row[58] < blurry[64, 58] - 0.15 and row[64] > 0.7   # the ramp moves to where the image has its edge


def test_temporal_smoothing_cuts_flicker_but_follows_real_motion():
    rng = np.random.default_rng(0)
    base = disc()
    smoother = TemporalSmoother()
    raw_flicker, smooth_flicker, prev_raw, prev_s = [], [], None, None
    for _ in range(30):
        noisy = np.clip(base + rng.normal(0, 0.04, base.shape).astype(np.float32) * (base > 0.2), 0, 1)
        s = smoother(noisy).copy()
        if prev_raw is not None:
            raw_flicker.append(np.abs(noisy - prev_raw).mean())
            smooth_flicker.append(np.abs(s - prev_s).mean())
        prev_raw, prev_s = noisy, s
    assert np.mean(smooth_flicker) < 0.6 * np.mean(raw_flicker)
    moved = np.roll(base, 20, axis=1)                     # the person moves: no ghost left behind
    out = smoother(moved)
    assert np.abs(out - moved).max() < 0.05


def test_a_scene_cut_resets_the_smoother():
    smoother = TemporalSmoother(cut=0.2)
    smoother(disc())
    other = np.zeros_like(disc())
    other[:, :80] = 1.0
    np.testing.assert_allclose(smoother(other), other)


def test_temporal_smoothing_handles_column_shaped_masks():
    s = TemporalSmoother()
    for _ in range(3):
        out = s(np.random.default_rng(0).random((4, 1)).astype(np.float32))
    assert out.shape == (4, 1)


def test_with_a_still_image_a_jumping_mask_moves_only_by_the_base_weight():
    still = np.full((120, 160), 90, np.uint8)
    smoother = TemporalSmoother(base=0.03)
    smoother(disc(), still)
    jumped = np.roll(disc(), 6, axis=1)                     # the model's answer jumps; the picture did not move
    out = smoother(jumped, still)
    changed = jumped != disc()
    np.testing.assert_allclose(np.abs(out - disc())[changed], 0.03, atol=1e-6)


def test_where_the_image_moves_the_new_mask_passes_at_once():
    rng = np.random.default_rng(1)
    texture = rng.integers(0, 256, (120, 160), np.uint8)
    person = np.where(disc() > 0, texture, 30).astype(np.uint8)
    smoother = TemporalSmoother()
    smoother(disc(), person)
    moved_mask, moved_image = np.roll(disc(), 20, axis=1), np.roll(person, 20, axis=1)
    out = smoother(moved_mask, moved_image)
    assert np.abs(out - moved_mask).max() < 0.05           # no ghost where the person was


def test_the_image_guided_smoother_flickers_less_than_the_mask_only_one_on_a_still_scene():
    rng = np.random.default_rng(0)
    still = np.full((120, 160), 90, np.uint8)
    flicker = {}
    for guided in (False, True):
        smoother, prev, steps = TemporalSmoother(), None, []
        for i in range(30):
            noisy = np.roll(disc(), int(rng.integers(-3, 4)), axis=1)       # edges jump by up to 3 px
            s = smoother(noisy, still if guided else None).copy()
            if prev is not None:
                steps.append(np.abs(s - prev).mean())
            prev = s
        flicker[guided] = np.mean(steps)
    assert flicker[True] < 0.5 * flicker[False]


def test_the_smoother_refuses_an_image_of_another_size_than_the_mask():
    with pytest.raises(ConfigError, match="mask's size"):
        TemporalSmoother()(disc(), np.zeros((10, 10), np.uint8))


def test_the_smoother_refuses_a_motion_scale_that_is_not_positive():
    with pytest.raises(ConfigError, match="motion > 0"):
        TemporalSmoother(motion=0)
