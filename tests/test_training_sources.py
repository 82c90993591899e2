"""Training on several sources: bystanders ignored, coarse edges ignored, draw weights, recovery from ONNX."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgeseg.train.augment import (AugmentConfig, Augmenter, edge_band, object_crop,  # noqa: E402
                                   group_sample, match_background, paste_distractors, random_blob, recolour_background,
                                   spatial_sample)
from edgeseg.train.bystanders import bystander_boxes  # noqa: E402
from edgeseg.train.data import Pair, ignore_map, person_bbox  # noqa: E402
from edgeseg.train.losses import bce_dice_loss  # noqa: E402

MODEL = Path(__file__).resolve().parents[1] / "edgeseg" / "models" / "default.onnx"
NO_PHOTOMETRIC = dict(p_photometric=0, p_low_light=0, p_noise=0, p_blur=0, p_jpeg=0)


def _pair(name: str = "ccp/p", coarse: bool = False, boxes=None) -> Pair:
    image = np.full((400, 300, 3), 200, np.uint8)
    mask = np.zeros((400, 300), np.uint8)
    mask[80:380, 100:200] = 255
    image[mask > 0] = (10, 20, 30)
    ignore = ignore_map(mask.shape, boxes, mask) if boxes else None
    return Pair(name, image, mask, person_bbox(mask), ignore, coarse)


def test_a_confident_region_apart_from_the_labelled_person_is_a_bystander():
    person = np.zeros((100, 100), bool)
    person[20:90, 10:40] = True
    prob = np.zeros((100, 100), np.float32)
    prob[20:90, 10:40] = 0.9            # the labelled person: not a bystander
    prob[30:80, 70:90] = 0.8            # someone else
    prob[5:7, 95:97] = 0.9              # a speck: too small
    boxes = bystander_boxes(prob, person)
    assert len(boxes) == 1
    x0, y0, x1, y1 = boxes[0]
    assert x0 <= 70 and y0 <= 30 and x1 >= 90 and y1 >= 80 and x0 > 40


def test_an_ignored_box_never_covers_the_labelled_person():
    pair = _pair(boxes=[[0, 0, 300, 400]])
    assert pair.ignore[pair.mask > 127].max() == 0 and pair.ignore[pair.mask == 0].min() == 1


def test_bystander_pixels_carry_no_label_unless_the_background_is_replaced():
    pair = _pair(boxes=[[220, 100, 290, 300]])
    rng = np.random.default_rng(0)
    kept = AugmentConfig(p_replace_background=0.0, max_rotation=0, p_flip=0, **NO_PHOTOMETRIC)
    _, mask, valid = spatial_sample(pair, (160, 160), kept, rng, backgrounds=[])
    assert (valid == 0).any() and valid[mask >= 0.5].min() == 1
    replaced = AugmentConfig(p_replace_background=1.0, **NO_PHOTOMETRIC)
    _, _, valid = spatial_sample(pair, (160, 160), replaced, rng, backgrounds=[np.zeros((200, 200, 3), np.uint8)])
    assert valid.min() == 1          # the new background removed the bystander


def test_a_coarse_mask_has_no_label_in_a_band_around_its_edge():
    cfg = AugmentConfig(p_replace_background=0.0, max_rotation=0, p_flip=0, p_upper_body=0, p_full_body=1,
                        **NO_PHOTOMETRIC)
    _, mask, valid = spatial_sample(_pair(coarse=True), (160, 160), cfg, np.random.default_rng(1), backgrounds=[])
    band = edge_band(mask, cfg.coarse_band)
    assert band.any() and np.all(valid[band] == 0) and np.all(valid[~band] == 1)
    _, _, valid = spatial_sample(_pair(), (160, 160), cfg, np.random.default_rng(1), backgrounds=[])
    assert valid.min() == 1          # fine edges are kept


def test_pixels_without_a_label_add_nothing_to_the_loss():
    logits = torch.randn(2, 1, 16, 16)
    target = (torch.rand(2, 1, 16, 16) > 0.5).float()
    valid = torch.ones_like(target)
    valid[:, :, :8] = 0
    other = target.clone()
    other[:, :, :8] = 1 - other[:, :, :8]                 # change only the unlabelled half
    assert torch.allclose(bce_dice_loss(logits, target, 1.0, 3.0, valid), bce_dice_loss(logits, other, 1.0, 3.0, valid))
    assert torch.allclose(bce_dice_loss(logits, target, 1.0, 3.0, torch.ones_like(target)),
                          bce_dice_loss(logits, target, 1.0, 3.0))        # all valid: the plain loss


def test_a_frame_with_nobody_in_it_adds_nothing_to_the_dice_term():
    from edgeseg.train.losses import dice_loss
    logits = torch.randn(2, 1, 16, 16)
    target = torch.zeros(2, 1, 16, 16)
    target[0, :, 4:12, 4:12] = 1.0
    with_empty = dice_loss(logits, target)
    alone = dice_loss(logits[:1], target[:1])
    assert torch.allclose(with_empty, alone)            # the empty sample is the BCE term's alone
    assert dice_loss(logits, torch.zeros_like(target)) == 0


def test_draw_weights_choose_how_often_each_source_gives_a_photo():
    pairs = [_pair("a/1"), _pair("a/2"), _pair("a/3"), _pair("b/1")]
    aug = Augmenter(pairs, [], [], AugmentConfig(), {"a": 1.0, "b": 3.0})
    rng = np.random.default_rng(0)
    drawn = [aug._pair(rng).source for _ in range(2000)]
    assert abs(drawn.count("b") / 2000 - 0.75) < 0.04      # by weight, not by the 1-in-4 pair count


def test_empty_samples_teach_that_a_covered_lens_or_a_dark_room_has_nobody_in_it():
    background = np.random.default_rng(1).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    aug = Augmenter([_pair()], [background], [], AugmentConfig(p_empty=1.0, **NO_PHOTOMETRIC))
    rng = np.random.default_rng(0)
    samples = [aug.sample((96, 160), rng) for _ in range(30)]
    for img, mask, valid in samples:
        assert img.shape == (96, 160, 3) and img.dtype == np.uint8
        assert not mask.any() and valid.all()           # every pixel labelled background
        assert img.mean() < 50                          # dark: a plain bright wall is not taught as empty
    stds = [img.std() for img, _, _ in samples]
    assert max(stds) > 3 * min(stds)                    # flat covered lenses and textured dark rooms


def test_configs_without_empty_samples_never_draw_one():
    aug = Augmenter([_pair()], [], [], AugmentConfig(**NO_PHOTOMETRIC))
    rng = np.random.default_rng(0)
    assert all(aug.sample((96, 160), rng)[1].any() for _ in range(20))


def _scene_with_a_person(name: str = "coco/scene") -> Pair:
    rng = np.random.default_rng(7)
    grey = rng.integers(0, 255, (300, 400), dtype=np.uint8)       # textured grey: not a flat wall
    image = cv2.merge([grey, grey, grey])
    mask = np.zeros((300, 400), np.uint8)
    mask[40:280, 20:120] = 255                                      # a red person on the left
    image[mask > 0] = (0, 0, 255)
    return Pair(name, image, mask, person_bbox(mask), None, True)


def test_an_object_crop_stays_clear_of_every_labelled_person():
    pair = _scene_with_a_person()
    rng = np.random.default_rng(0)
    crops = [object_crop(pair, (96, 160), rng) for _ in range(20)]
    found = [c for c in crops if c is not None]
    assert found and all(c.shape == (96, 160, 3) for c in found)
    for c in found:                                 # grey only: no pixel of the red person, even blended in
        assert int(np.abs(c[..., 2].astype(int) - c[..., 0]).max()) == 0


def test_no_object_crop_from_a_photo_the_person_fills_or_a_flat_one():
    full = np.full((300, 400), 255, np.uint8)
    filled = Pair("coco/filled", np.zeros((300, 400, 3), np.uint8) + 90, full, person_bbox(full), None, True)
    assert object_crop(filled, (96, 160), np.random.default_rng(0)) is None
    flat = _scene_with_a_person()
    flat.image[:] = 128
    assert object_crop(flat, (96, 160), np.random.default_rng(0)) is None


def test_object_crops_are_labelled_background_and_come_only_from_sources_that_label_everyone():
    scene = _scene_with_a_person()
    aug = Augmenter([scene], [], [], AugmentConfig(p_object_crop=1.0, **NO_PHOTOMETRIC))
    rng = np.random.default_rng(2)
    samples = [aug.sample((96, 160), rng) for _ in range(10)]
    assert sum(not m.any() for _, m, _ in samples) >= 5 and all(v.all() for _, _, v in samples)
    ccp_only = Augmenter([_pair()], [], [], AugmentConfig(p_object_crop=1.0, **NO_PHOTOMETRIC))
    assert all(ccp_only.sample((96, 160), rng)[1].any() for _ in range(10))


def test_a_recoloured_background_changes_hue_and_leaves_the_person_as_it_was():
    rng = np.random.default_rng(3)
    hsv = np.dstack([rng.integers(0, 180, (64, 64)), rng.integers(120, 255, (64, 64)),
                     rng.integers(80, 255, (64, 64))]).astype(np.uint8)
    img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    mask = np.zeros((64, 64), np.float32)
    mask[16:48, 20:40] = 1.0
    out = recolour_background(img, mask, rng)
    person = mask > 0.5
    assert np.array_equal(out[person], img[person])
    hue_in = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)[..., 0].astype(int)
    hue_out = cv2.cvtColor(out, cv2.COLOR_BGR2HSV)[..., 0].astype(int)
    turned = np.minimum((hue_out - hue_in) % 180, (hue_in - hue_out) % 180)[~person]
    assert np.median(turned) >= 9                       # at least 18° of hue (OpenCV hue is degrees / 2)


def test_background_recolouring_is_off_unless_asked_and_keeps_older_configs_samples():
    pair = _pair()
    pair.image[pair.mask == 0] = (40, 90, 200)          # a red-orange wall
    plain = Augmenter([pair], [], [], AugmentConfig(**NO_PHOTOMETRIC))
    again = Augmenter([pair], [], [], AugmentConfig(p_background_hue=0.0, **NO_PHOTOMETRIC))
    recoloured = Augmenter([pair], [], [], AugmentConfig(p_background_hue=1.0, **NO_PHOTOMETRIC))
    a, b, c = (aug.sample((96, 160), np.random.default_rng(5)) for aug in (plain, again, recoloured))
    assert np.array_equal(a[0], b[0])
    person = a[1] > 0.5
    assert np.array_equal(c[1], a[1]) and np.array_equal(c[0][person], a[0][person])
    assert not np.array_equal(c[0][~person], a[0][~person])


def test_a_matched_background_meets_the_person_at_low_contrast_and_leaves_the_person_alone():
    rng = np.random.default_rng(4)
    img = np.zeros((96, 96, 3), np.uint8)
    img[:] = (230, 230, 230)                             # a bright wall
    img += rng.integers(0, 20, img.shape).astype(np.uint8)
    mask = np.zeros((96, 96), np.float32)
    mask[20:96, 30:66] = 1.0
    img[mask > 0.5] = (30, 40, 50)                       # a dark jacket
    out = match_background(img, mask, rng)
    person = mask > 0.5
    assert np.array_equal(out[person], img[person])
    gap = lambda im: abs(float(im[~person].mean()) - float(im[person].mean()))  # noqa: E731
    assert gap(out) < 0.5 * gap(img)
    nobody = np.zeros((96, 96), np.float32)
    assert np.array_equal(match_background(img, nobody, rng), img)


def test_background_matching_is_off_unless_asked_and_keeps_older_configs_samples():
    pair = _pair()
    plain = Augmenter([pair], [], [], AugmentConfig(**NO_PHOTOMETRIC))
    matched = Augmenter([pair], [], [], AugmentConfig(p_background_match=1.0, **NO_PHOTOMETRIC))
    a, c = (aug.sample((96, 160), np.random.default_rng(5)) for aug in (plain, matched))
    person = a[1] > 0.5
    assert np.array_equal(c[1], a[1]) and np.array_equal(c[0][person], a[0][person])
    assert not np.array_equal(c[0][~person], a[0][~person])


def _whole_person(shade: int) -> Pair:
    image = np.full((300, 200, 3), 220, np.uint8)
    mask = np.zeros((300, 200), np.uint8)
    mask[40:290, 70:130] = 255
    image[mask > 0] = shade
    return Pair(f"ccp/{shade}", image, mask, person_bbox(mask), None, False)


def test_a_group_sample_shows_several_people_and_labels_every_one_as_person():
    cfg = AugmentConfig(group_max=4)
    people = [_whole_person(shade) for shade in (30, 60, 90, 120)]        # grey people, one shade each
    backgrounds = [np.full((200, 300, 3), (0, 160, 0), np.uint8)]       # on a green field
    for seed in range(6):
        img, mask = group_sample(people, backgrounds, (96, 160), cfg, np.random.default_rng(seed))
        assert img.shape == (96, 160, 3) and mask.shape == (96, 160)
        b, g, r = (img[..., i].astype(int) for i in range(3))
        grey = (np.abs(b - g) < 3) & (np.abs(r - g) < 3)                 # person pixels (edges are mixed)
        assert grey.any() and (mask[grey] > 0.5).all()                   # every person pixel is person
        assert (mask[(g > 150) & (b < 10)] < 0.5).all()                  # the field is background
        shades = {int(v) for v in np.unique(g[grey]) if int(v) in (30, 60, 90, 120)}
        assert len(shades) >= 2                                          # a group, not one person


def test_group_samples_are_off_unless_asked_and_keep_older_configs_samples():
    pair, bg = _pair(), np.full((200, 300, 3), (0, 160, 0), np.uint8)
    plain = Augmenter([pair], [bg], [], AugmentConfig(**NO_PHOTOMETRIC))
    off = Augmenter([pair], [bg], [], AugmentConfig(p_group=0.0, **NO_PHOTOMETRIC))
    a, b = (aug.sample((96, 160), np.random.default_rng(7)) for aug in (plain, off))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    people = [_whole_person(30), _whole_person(90)]
    on = Augmenter(people, [bg], [], AugmentConfig(p_group=1.0, p_background_hue=0, **NO_PHOTOMETRIC))
    img, mask, valid = on.sample((96, 160), np.random.default_rng(7))
    assert valid.all() and (mask > 0.5).any()


def _tilt(mask: np.ndarray) -> float:
    """Degrees between the mask's long axis and the vertical."""
    m = cv2.moments((mask > 0.5).astype(np.uint8), binaryImage=True)
    theta = 0.5 * np.degrees(np.arctan2(2 * m["mu11"], m["mu20"] - m["mu02"]))   # long axis, from the x axis
    return abs(abs(theta) - 90)


def test_large_rotations_tilt_people_far_and_only_when_asked():
    pair = _pair()
    cfg = dict(p_replace_background=0, p_upper_body=0, p_full_body=1.0, p_flip=0, p_constant_border=1.0,
               **NO_PHOTOMETRIC)
    upright = Augmenter([pair], [], [], AugmentConfig(**cfg))
    tilted = Augmenter([pair], [], [], AugmentConfig(p_large_rotation=1.0, large_rotation=90, **cfg))
    rng_a, rng_b = np.random.default_rng(2), np.random.default_rng(2)
    a = [_tilt(upright.sample((96, 160), rng_a)[1]) for _ in range(12)]
    b = [_tilt(tilted.sample((96, 160), rng_b)[1]) for _ in range(12)]
    assert max(a) <= 14                                 # max_rotation 12, plus the mask's pixel steps
    assert max(b) >= 30


def _height_fraction(mask: np.ndarray) -> float:
    rows = np.flatnonzero((mask > 0.5).any(axis=1))
    return (rows[-1] - rows[0] + 1) / mask.shape[0]


def test_a_wider_full_body_margin_shows_the_person_smaller_and_the_default_keeps_older_samples():
    pair = _pair()
    cfg = dict(p_replace_background=0, p_upper_body=0, p_full_body=1.0, p_constant_border=1.0, **NO_PHOTOMETRIC)
    near = Augmenter([pair], [], [], AugmentConfig(**cfg))
    same = Augmenter([pair], [], [], AugmentConfig(full_body_margin=(1.05, 1.6), **cfg))
    far = Augmenter([pair], [], [], AugmentConfig(full_body_margin=(2.5, 3.0), **cfg))
    rng_a, rng_b, rng_c = (np.random.default_rng(4) for _ in range(3))
    a = [near.sample((96, 160), rng_a)[1] for _ in range(8)]
    b = [same.sample((96, 160), rng_b)[1] for _ in range(8)]
    c = [far.sample((96, 160), rng_c)[1] for _ in range(8)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert min(_height_fraction(m) for m in a) > 0.6         # 1.05-1.6: the person fills 62-95 % of the height
    assert max(_height_fraction(m) for m in c) < 0.42        # 2.5-3.0: 33-40 %, plus the rotation and pixel steps


def test_a_blob_is_one_smooth_region_around_its_centre():
    blob = random_blob((120, 160), (80.0, 60.0), 30.0, np.random.default_rng(1))
    assert blob.dtype == np.float32 and blob.min() >= 0 and blob.max() <= 1
    assert blob[60, 80] == 1.0 and blob[:5].max() == 0 and blob[:, :20].max() == 0   # inside the radius only
    count, _ = cv2.connectedComponents((blob >= 0.5).astype(np.uint8))
    assert count == 2                                   # background + one blob


def test_distractors_touch_the_person_from_behind_and_leave_the_label_and_the_person_alone():
    rng = np.random.default_rng(4)
    img = np.full((96, 160, 3), 200, np.uint8)
    mask = np.zeros((96, 160), np.float32)
    mask[20:96, 60:100] = 1.0
    img[mask > 0] = (10, 20, 30)
    texture = np.full((96, 160, 3), (0, 0, 255), np.uint8)            # a red thing
    label = mask.copy()
    out = paste_distractors(img, mask, [texture], 2, rng)
    assert np.array_equal(mask, label)
    inner = cv2.erode((mask > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert np.array_equal(out[inner], img[inner])                     # the person stays in front
    changed = np.any(out != img, axis=2) & (mask == 0)
    assert changed.any()
    ring = cv2.dilate((mask > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert (changed & ring).any()                                     # it touches the person


def test_no_distractor_without_a_person_and_none_unless_asked():
    img = np.full((64, 64, 3), 90, np.uint8)
    texture = np.zeros((64, 64, 3), np.uint8)
    empty = np.zeros((64, 64), np.float32)
    assert np.array_equal(paste_distractors(img, empty, [texture], 2, np.random.default_rng(0)), img)
    pair, bg = _pair(), np.full((200, 300, 3), (0, 0, 255), np.uint8)
    plain = Augmenter([pair], [bg], [], AugmentConfig(p_cutout=0, **NO_PHOTOMETRIC))
    off = Augmenter([pair], [bg], [], AugmentConfig(p_cutout=0, p_distractor=0.0, **NO_PHOTOMETRIC))
    on = Augmenter([pair], [bg], [], AugmentConfig(p_cutout=0, p_replace_background=0, p_distractor=1.0,
                                                   **NO_PHOTOMETRIC))
    a, b = (aug.sample((96, 160), np.random.default_rng(5)) for aug in (plain, off))
    assert np.array_equal(a[0], b[0])
    c = on.sample((96, 160), np.random.default_rng(5))
    person = c[1] > 0.5
    saturated = (cv2.cvtColor(c[0], cv2.COLOR_BGR2HSV)[..., 1] > 100) & ~person
    assert saturated.any()                    # a red blob (maybe hue-turned) on the grey wall behind the person


@pytest.mark.slow
def test_a_model_recovered_from_its_onnx_file_gives_the_same_masks_and_trains_stably(small_pairs):
    pytest.importorskip("onnx")
    import cv2
    import onnxruntime as ort
    from edgeseg.train.data import load_pairs
    from edgeseg.train.recover import recover_model
    images = [p.image for p in load_pairs([small_pairs]).pairs][:6]
    model, meta = recover_model(MODEL, images)
    x = np.random.default_rng(0).random((1, 3, *meta.input_hw), np.float32)
    ref = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    with torch.no_grad():
        assert np.abs(model(torch.from_numpy(x)).numpy() - ref).max() < 1e-4
        # training-mode BatchNorm (batch statistics of real photos) gives nearly the same masks
        batch = torch.from_numpy(np.stack([cv2.resize(i, (208, 272))[:, :, ::-1].transpose(2, 0, 1) / 255.0
                                           for i in images]).astype(np.float32))
        model.eval()
        eval_out = model(batch)
        model.train()
        train_out = model(batch)
    assert ((eval_out >= 0.5) == (train_out >= 0.5)).float().mean() > 0.97


def _side_cut(mask: np.ndarray) -> bool:
    m = mask > 0.5
    return max(m[:, 0].mean(), m[:, -1].mean()) >= 0.15


def test_a_closeup_crop_cuts_the_shoulders_at_the_frame_sides_and_is_off_unless_asked():
    image = np.full((400, 300, 3), 200, np.uint8)
    mask = np.zeros((400, 300), np.uint8)
    cv2.circle(mask, (150, 70), 30, 255, -1)                # a head on shoulders 0.28x the person's height
    mask[100:390, 110:190] = 255
    image[mask > 0] = (10, 20, 30)
    pair = Pair("ccp/p", image, mask, person_bbox(mask))
    cfg = dict(p_replace_background=0, p_upper_body=1.0, p_constant_border=1.0, **NO_PHOTOMETRIC)
    plain = Augmenter([pair], [], [], AugmentConfig(**cfg))
    same = Augmenter([pair], [], [], AugmentConfig(p_closeup=0.0, **cfg))
    close = Augmenter([pair], [], [], AugmentConfig(p_closeup=1.0, **cfg))
    rng_a, rng_b, rng_c = (np.random.default_rng(5) for _ in range(3))
    a = [plain.sample((160, 120), rng_a)[1] for _ in range(16)]
    b = [same.sample((160, 120), rng_b)[1] for _ in range(16)]
    c = [close.sample((160, 120), rng_c)[1] for _ in range(16)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert sum(map(_side_cut, c)) >= 14                      # 0.7-1.0x the shoulders' width, ±12° turns
    assert sum(map(_side_cut, a)) <= 10                      # the plain upper-body crops mostly show both shoulders
    assert all(m[: m.shape[0] // 3].any() for m in c)        # the head stays in the frame
