"""Street-scene scale: whole people pasted small into people-free scenes (training and validation)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

import edgeseg.train.augment as augment
from edgeseg.train.augment import AugmentConfig, Augmenter, is_whole_person, paste_person
from edgeseg.train.data import Pair, person_bbox
from benchmarks.valsets import group_scene, small_person_scene


def _pair(top: int = 60, bottom: int = 580, name: str = "ccp/p") -> Pair:
    image = np.full((600, 400, 3), 200, np.uint8)
    mask = np.zeros((600, 400), np.uint8)
    mask[top:bottom, 130:270] = 255
    image[mask > 0] = (10, 20, 30)
    return Pair(name, image, mask, person_bbox(mask))


def _scene(h: int = 144, w: int = 256) -> np.ndarray:
    return np.full((h, w, 3), 120, np.uint8)


def test_a_pasted_person_has_the_asked_height_and_lands_where_asked():
    img, mask = paste_person(_pair(), _scene(), height_frac=0.4, centre_x=0.25, bottom_y=0.9)
    assert img.shape == (144, 256, 3) and mask.shape == (144, 256) and mask.dtype == np.float32
    ys, xs = np.nonzero(mask >= 0.5)
    assert abs((ys.max() + 1 - ys.min()) - 0.4 * 144) <= 2
    assert abs(ys.max() + 1 - 0.9 * 144) <= 2
    assert abs((xs.min() + xs.max() + 1) / 2 - 0.25 * 256) <= 2
    inside = cv2.erode((mask >= 0.99).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert inside.any() and np.all(img[inside] < 40)            # the person, not the photo's background,
    outside = cv2.dilate((mask > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
    assert np.all(img[outside] == 120)                          # over the scene


def test_a_very_small_person_is_still_one_solid_blob():
    _, mask = paste_person(_pair(), _scene(), height_frac=0.1, centre_x=0.5, bottom_y=0.5)
    ys, xs = np.nonzero(mask >= 0.5)
    assert abs((ys.max() + 1 - ys.min()) - 0.1 * 144) <= 2
    assert mask.max() > 0.99 and 0.0 <= mask.min()


def test_a_person_cut_off_by_the_bottom_of_the_photo_is_not_pasted_whole():
    assert is_whole_person(_pair())
    assert not is_whole_person(_pair(bottom=600))


def test_small_people_are_never_drawn_unless_enabled(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("small_person_sample called")
    monkeypatch.setattr(augment, "small_person_sample", boom)
    aug = Augmenter([_pair()], [_scene(300, 400)], [], AugmentConfig())
    rng = np.random.default_rng(0)
    for _ in range(50):
        aug.sample((144, 256), rng)


def test_with_small_people_always_on_every_person_is_small():
    aug = Augmenter([_pair()], [_scene(300, 400)], [], AugmentConfig(p_small_person=1.0, p_photometric=0.0))
    rng = np.random.default_rng(0)
    for _ in range(30):
        _, mask, _ = aug.sample((144, 256), rng)
        ys, _ = np.nonzero(mask >= 0.5)
        assert 0.2 * 144 - 3 <= ys.max() + 1 - ys.min() <= 0.6 * 144 + 3


def test_the_small_person_validation_scene_is_the_same_every_time():
    pair = _pair(name="ccp/ccp_0001")
    scenes = [np.random.default_rng(i).integers(0, 255, (300, 500, 3), dtype=np.uint8) for i in range(3)]
    a, b = small_person_scene(pair, scenes), small_person_scene(pair, scenes)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert set(np.unique(a[1])) == {0, 255} and a[0].shape[0] == 360
    ys, _ = np.nonzero(a[1])
    assert 0.25 * 360 - 3 <= ys.max() + 1 - ys.min() <= 0.55 * 360 + 3


def test_a_group_scene_labels_every_pasted_person_and_is_the_same_every_time():
    people = [_pair(name=f"ccp/ccp_{i:04d}") for i in range(4)]
    scenes = [np.random.default_rng(i).integers(100, 255, (300, 500, 3), dtype=np.uint8) for i in range(3)]
    a, b = group_scene(people[0], people[1:], scenes), group_scene(people[0], people[1:], scenes)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    img, mask = a
    n, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8))
    assert 2 <= n - 1 <= 3                          # two or three people, side by side
    dark = (img.max(axis=2) < 60)                   # the people's own pixels (the scenes are ≥ 100)
    assert dark.sum() > 0 and (mask[dark] == 255).mean() > 0.99


def test_an_unknown_augment_key_lists_the_valid_ones():
    from edgeseg.errors import ConfigError
    from edgeseg.train.config import config_from_dict
    with pytest.raises(ConfigError, match="p_small_person"):
        config_from_dict({"augment": {"p_small_peple": 0.1}})
