"""Augmentations that make street photos look like webcam frames.

Every spatial change is one affine warp applied to image and mask alike (mask: nearest
neighbour). Photometric changes touch the image only.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .data import Pair


@dataclass
class AugmentConfig:
    p_upper_body: float = 0.55      # head-and-shoulders / upper-body framing
    p_full_body: float = 0.25       # the whole person with a margin (else: random zoom)
    full_body_margin: tuple[float, float] = (1.05, 1.6)   # crop height / person height in those: larger
                                    # values show the person smaller, as a street scene or a video does
    p_replace_background: float = 0.4
    p_cutout: float = 0.15          # a sample made of a cut-out on a background
    p_flip: float = 0.5
    max_rotation: float = 12.0
    p_large_rotation: float = 0.0   # rotate by up to ±large_rotation instead: a dancer's legs in the air,
    large_rotation: float = 90.0    # a cartwheel, someone lying on the grass (photo and cut-out samples)
    p_constant_border: float = 0.5  # black border (as letterboxing gives) instead of reflection
    p_photometric: float = 0.9
    p_low_light: float = 0.15
    p_noise: float = 0.35
    p_blur: float = 0.25
    p_jpeg: float = 0.3
    p_small_person: float = 0.0     # a whole person pasted small onto a background (street-scene scale)
    small_person_height: tuple[float, float] = (0.2, 0.6)   # the person's height / the canvas height
    small_person_max: int = 1       # paste 1 to this many people into a street-scene sample
    coarse_band: int = 5            # px (at the canvas) around coarse mask edges that carry no label
    p_empty: float = 0.0            # a dark frame without a person: covered lens, dark room
    p_object_crop: float = 0.0      # a crop of a photo that holds no person (things, food, animals, signs)
    object_crop_sources: tuple[str, ...] = ("coco",)   # sources that label every person (crops are really empty)
    p_background_hue: float = 0.0   # rotate the background's hue (the person keeps theirs): red walls, pink
                                    # graffiti and skin-coloured things are background too
    p_background_match: float = 0.0  # move the background's colours (Lab mean and spread) towards the person's
                                    # near their edge: dark hair against dark trees, a white shirt on a bright wall
    p_group: float = 0.0            # 2 to group_max whole people pasted large, side by side and overlapping,
    group_max: int = 4              # into a scene: a one-person training set teaches that the others are background
    p_distractor: float = 0.0       # paste 1 to distractor_max blobs of another photo's texture behind the
                                    # person, touching them: a red tent pole or a desk beside someone is background
    distractor_max: int = 2
    p_closeup: float = 0.0          # of the upper-body crops: a selfie close-up whose frame is 0.7-1.0x as wide
                                    # as the person's shoulders, so its sides cut them (most webcam portraits)


def _affine(cx: float, cy: float, crop_h: float, out_hw: tuple[int, int], angle: float, flip: bool) -> np.ndarray:
    """Matrix mapping a crop of height crop_h centred at (cx, cy) onto the output canvas."""
    oh, ow = out_hw
    m = cv2.getRotationMatrix2D((cx, cy), angle, oh / crop_h)
    m[0, 2] += ow / 2 - cx
    m[1, 2] += oh / 2 - cy
    if flip:
        m[0] = -m[0]
        m[0, 2] += ow
    return m


def _angle(cfg: AugmentConfig, rng: np.random.Generator) -> float:
    """A rotation in degrees: up to ±max_rotation, or with p_large_rotation up to ±large_rotation."""
    if cfg.p_large_rotation > 0 and rng.random() < cfg.p_large_rotation:   # drawn only when enabled
        return rng.uniform(-cfg.large_rotation, cfg.large_rotation)
    return rng.uniform(-cfg.max_rotation, cfg.max_rotation)


def _random_crop_box(pair: Pair, out_hw: tuple[int, int], cfg: AugmentConfig, rng: np.random.Generator
                     ) -> tuple[float, float, float]:
    x0, y0, x1, y1 = pair.bbox
    pw, ph = x1 - x0, y1 - y0
    oh, ow = out_hw
    r = rng.random()
    if r < cfg.p_upper_body and cfg.p_closeup > 0 and rng.random() < cfg.p_closeup:   # drawn only when enabled
        return closeup_box(pair, out_hw, rng)
    if r < cfg.p_upper_body:
        # head-and-shoulders (0.25) to waist (0.65), head near the top like a webcam
        frac = rng.uniform(0.22, 0.65)
        crop_h = ph * frac / rng.uniform(0.75, 1.05)
        top = y0 - crop_h * rng.uniform(0.02, 0.25)
        cy = top + crop_h / 2
        cx = x0 + pw / 2 + rng.uniform(-0.25, 0.25) * crop_h * ow / oh
    elif r < cfg.p_upper_body + cfg.p_full_body:
        crop_h = max(ph, pw * oh / ow) * rng.uniform(*cfg.full_body_margin)
        cx = x0 + pw / 2 + rng.uniform(-0.2, 0.2) * crop_h * ow / oh
        cy = y0 + ph / 2 + rng.uniform(-0.1, 0.1) * crop_h
    else:
        h, w = pair.image.shape[:2]
        crop_h = h * rng.uniform(0.3, 1.1)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    return cx, cy, max(crop_h, 8.0)


def closeup_box(pair: Pair, out_hw: tuple[int, int], rng: np.random.Generator) -> tuple[float, float, float]:
    """A head-and-shoulders crop (centre x, centre y, height) as tight as a selfie: the frame is 0.7-1.0x as
    wide as the person over the rows it shows, so the person touches or crosses its sides."""
    x0, y0, x1, y1 = pair.bbox
    ph = max(1.0, y1 - y0)
    oh, ow = out_hw
    crop_h = ph * rng.uniform(0.2, 0.4)
    left, right = float(x0), float(x1)
    for _ in range(2):                       # the width over the rows shown depends on the height shown
        rows = pair.mask[int(y0):int(min(y1, y0 + crop_h))] > 127
        cols = np.flatnonzero(rows.any(axis=0))
        if cols.size:
            left, right = float(cols[0]), float(cols[-1] + 1)
        crop_h = float(np.clip((right - left) * rng.uniform(0.7, 1.0) * oh / ow, 0.15 * ph, 0.5 * ph))
    top = y0 - crop_h * rng.uniform(0.0, 0.15)
    cx = (left + right) / 2 + rng.uniform(-0.15, 0.15) * crop_h * ow / oh
    return cx, top + crop_h / 2, max(crop_h, 8.0)


def _random_background(backgrounds: list[np.ndarray], out_hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    bg = backgrounds[rng.integers(len(backgrounds))]
    oh, ow = out_hw
    bh, bw = bg.shape[:2]
    s = max(oh / bh, ow / bw) * rng.uniform(1.0, 1.8)
    ch, cw = int(np.ceil(oh / s)), int(np.ceil(ow / s))
    y, x = rng.integers(0, bh - ch + 1), rng.integers(0, bw - cw + 1)
    out = cv2.resize(bg[y:y + ch, x:x + cw], (ow, oh), interpolation=cv2.INTER_AREA)
    return out[:, ::-1].copy() if rng.random() < 0.5 else out


def _blend(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[:, :, None]
    return (fg.astype(np.float32) * a + bg.astype(np.float32) * (1 - a)).astype(np.uint8)


def edge_band(mask: np.ndarray, width: int) -> np.ndarray:
    """True within about width/2 px of the mask's person/background edge."""
    k = np.ones((width, width), np.uint8)
    hard = (mask >= 0.5).astype(np.uint8)
    return cv2.dilate(hard, k) != cv2.erode(hard, k)


def spatial_sample(pair: Pair, out_hw: tuple[int, int], cfg: AugmentConfig, rng: np.random.Generator,
                   backgrounds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A webcam-like view of a pair: framing, rotation, flip and maybe a new background.

    Returns the image, the mask in [0, 1] and the label's validity (0 where the pixel has no label:
    a bystander box, or the band around a coarse edge). A new background removes both: the
    bystanders are gone and the composite's edge is the mask's edge.
    """
    cx, cy, crop_h = _random_crop_box(pair, out_hw, cfg, rng)
    m = _affine(cx, cy, crop_h, out_hw, _angle(cfg, rng), rng.random() < cfg.p_flip)
    size = (out_hw[1], out_hw[0])
    border = cv2.BORDER_CONSTANT if rng.random() < cfg.p_constant_border else cv2.BORDER_REFLECT_101
    img = cv2.warpAffine(pair.image, m, size, flags=cv2.INTER_LINEAR, borderMode=border)
    mask = cv2.warpAffine(pair.mask, m, size, flags=cv2.INTER_NEAREST, borderMode=border)
    mask = mask.astype(np.float32) / 255.0
    valid = np.ones(out_hw, np.float32)
    if backgrounds and rng.random() < cfg.p_replace_background:
        alpha = cv2.GaussianBlur(mask, (3, 3), 0)
        img = _blend(img, _random_background(backgrounds, out_hw, rng), alpha)
        return img, mask, valid
    if pair.ignore is not None:
        valid -= cv2.warpAffine(pair.ignore, m, size, flags=cv2.INTER_NEAREST, borderMode=border)
    if pair.coarse:
        valid[edge_band(mask, cfg.coarse_band)] = 0.0
    return img, mask, valid


def cutout_sample(cutouts: list[np.ndarray], backgrounds: list[np.ndarray], out_hw: tuple[int, int],
                  cfg: AugmentConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """An RGBA cut-out (soft alpha) pasted onto a background; the alpha is the (soft) label."""
    oh, ow = out_hw
    rgba = cutouts[rng.integers(len(cutouts))]
    ch, cw = rgba.shape[:2]
    s = oh * rng.uniform(0.6, 2.6) / ch          # >1.2: only the upper body fits
    angle = _angle(cfg, rng)
    m = cv2.getRotationMatrix2D((cw / 2, 0), angle, s)
    m[0, 2] += rng.uniform(0.15, 0.85) * ow - cw / 2
    m[1, 2] += rng.uniform(-0.05, 0.35) * oh
    if rng.random() < cfg.p_flip:
        m[0] = -m[0]
        m[0, 2] += ow
    warped = cv2.warpAffine(rgba, m, (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    alpha = warped[:, :, 3].astype(np.float32) / 255.0
    img = _blend(warped[:, :, :3], _random_background(backgrounds, out_hw, rng), alpha)
    return img, alpha


def empty_sample(backgrounds: list[np.ndarray], out_hw: tuple[int, int],
                 rng: np.random.Generator) -> np.ndarray:
    """A dark frame with nobody in it: a covered lens (near-black with sensor noise) or, given
    backgrounds, a people-free scene in a dark room (darkened to 2-30 %).

    Dark only: flat walls and defocused scenes labelled background would also teach that a plain
    shirt filling the view is background.
    """
    oh, ow = out_hw
    if backgrounds and rng.random() < 0.5:
        img = _random_background(backgrounds, out_hw, rng).astype(np.float32) * rng.uniform(0.02, 0.3)
    else:
        img = np.full((oh, ow, 3), rng.uniform(0, 24, 3), np.float32)
        img += rng.normal(0, rng.uniform(0.5, 6), img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


FLAT_STD = 20.0     # object crops with less grey-level spread than this are flat (a wall, the sky): not used


def object_crop(pair: Pair, out_hw: tuple[int, int], rng: np.random.Generator, tries: int = 24
                ) -> np.ndarray | None:
    """A crop of the photo, at the canvas's aspect ratio and 30-90 % of the largest that fits, that holds no
    person pixel (nor one near it, nor an unlabelled one), resized to out_hw and maybe mirrored; None when
    none was found.

    What a person-only training set never shows: the photo's main subject is a cup, a dog or a bus, and
    it is background. Only sources that label every person (coco) make such a crop truly empty. Flat crops
    are skipped (as in empty_sample: a plain wall labelled background also teaches that a plain shirt is).
    """
    oh, ow = out_hw
    h, w = pair.mask.shape
    busy = (pair.mask > 0).astype(np.uint8)
    if pair.ignore is not None:
        busy |= (pair.ignore > 0).astype(np.uint8)
    if not busy.any():
        return None
    # kept clear of the labelled people by 4 % of the photo: polygon masks miss fingers and hair
    margin = max(3, round(0.04 * max(h, w))) | 1
    busy = cv2.dilate(busy, np.ones((margin, margin), np.uint8))
    integral = cv2.integral(busy)
    full = min(h, w * oh / ow)
    for _ in range(tries):
        ch = full * rng.uniform(0.3, 0.9)
        cw = ch * ow / oh
        if ch < 16 or cw < 16:
            return None
        y0, x0 = int(rng.uniform(0, h - ch + 1)), int(rng.uniform(0, w - cw + 1))
        y1, x1 = min(h, y0 + int(round(ch))), min(w, x0 + int(round(cw)))
        if integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0] == 0:
            crop = cv2.resize(pair.image[y0:y1, x0:x1], (ow, oh), interpolation=cv2.INTER_AREA)
            if cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).std() < FLAT_STD:
                continue                                # a bare wall or sky: see empty_sample
            return crop[:, ::-1].copy() if rng.random() < 0.5 else crop
    return None


def is_whole_person(pair: Pair) -> bool:
    """The person ends inside the photo (feet in view), so it can be pasted whole into another scene."""
    return pair.bbox[3] < pair.mask.shape[0] - 1      # a mask without a person has the whole photo as its box


def paste_person(pair: Pair, background: np.ndarray, height_frac: float, centre_x: float, bottom_y: float,
                 angle: float = 0.0, flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The pair's person (cut out by its mask) pasted onto `background`, which sets the output size.

    height_frac: the person's height as a fraction of the output height; centre_x and bottom_y:
    where the person's horizontal centre and feet land, as fractions of the output width and height.
    Returns the BGR image and the float32 mask in [0, 1].
    """
    oh, ow = background.shape[:2]
    image, mask, (x0, y0, x1, y1) = pair.image, pair.mask, pair.bbox
    scale = oh * height_frac / (y1 - y0)
    if scale < 0.5:     # shrink by area first: a large warp-down would alias
        f = 2 * scale
        image = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_AREA)
        x0, y0, x1, y1, scale = x0 * f, y0 * f, x1 * f, y1 * f, 0.5
    cx = (x0 + x1) / 2 - (centre_x - 0.5) * ow / scale
    cy = y1 - (bottom_y - 0.5) * oh / scale
    m = _affine(cx, cy, oh / scale, (oh, ow), angle, flip)
    img = cv2.warpAffine(image, m, (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = cv2.warpAffine(mask, m, (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = mask.astype(np.float32) / 255.0
    alpha = cv2.GaussianBlur(mask, (3, 3), 0)
    return _blend(img, background, alpha), mask


def small_person_sample(pairs: list[Pair], backgrounds: list[np.ndarray], out_hw: tuple[int, int],
                        cfg: AugmentConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A street-scene-scale sample: 1 to small_person_max whole people, small, in a people-free scene."""
    img = _random_background(backgrounds, out_hw, rng)
    mask = np.zeros(out_hw, np.float32)
    for _ in range(int(rng.integers(1, cfg.small_person_max + 1)) if cfg.small_person_max > 1 else 1):
        pair = pairs[rng.integers(len(pairs))]
        img, person = paste_person(pair, img, rng.uniform(*cfg.small_person_height),
                                   rng.uniform(0.1, 0.9), rng.uniform(0.55, 1.0),
                                   rng.uniform(-cfg.max_rotation, cfg.max_rotation) / 2, rng.random() < cfg.p_flip)
        np.maximum(mask, person, out=mask)
    return img, mask


def group_sample(pairs: list[Pair], backgrounds: list[np.ndarray], out_hw: tuple[int, int],
                 cfg: AugmentConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """2 to group_max whole people in a people-free scene, side by side and overlapping, at 0.5-2 × the
    canvas height: the far ones first and smaller, the near ones over them, larger and lower (their heads stay
    near the top), so that the frame's bottom edge cuts them as it cuts a group photo or a table of people.
    Every one is person.

    What the dev scenes show: of three women side by side, or of the people at a bar, one is found.
    """
    img = _random_background(backgrounds, out_hw, rng)
    mask = np.zeros(out_hw, np.float32)
    n = int(rng.integers(2, max(2, cfg.group_max) + 1))
    slots = (np.arange(n) + rng.uniform(0.2, 0.8, n)) / n      # one slot across the width each, jittered
    heights = np.sort(rng.uniform(0.5, 2.0, n))               # far (small) first: the near ones cover them
    for x, height in zip(rng.permutation(slots), heights):
        pair = pairs[rng.integers(len(pairs))]
        bottom = rng.uniform(0.85, 1.0) + 0.8 * (height - 0.5)    # the nearer, the lower the feet
        img, person = paste_person(pair, img, float(height), float(x), bottom,
                                   rng.uniform(-cfg.max_rotation, cfg.max_rotation) / 2, rng.random() < cfg.p_flip)
        np.maximum(mask, person, out=mask)
    return img, mask


def turn_hue(img: np.ndarray, rng: np.random.Generator, saturation: tuple[float, float]) -> np.ndarray:
    """The image with its hue rotated by 20-340° and its saturation scaled by a factor in `saturation`."""
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    hue = hsv[..., 0].astype(np.int16) + int(rng.integers(10, 171))
    hsv[..., 0] = (hue % 180).astype(np.uint8)
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(*saturation), 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def recolour_background(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The image with the hue of its background (mask < 0.5) rotated by 20-340° and its saturation
    scaled by 0.8-1.6; person pixels are unchanged."""
    shifted = turn_hue(img, rng, (0.8, 1.6))
    background = mask < 0.5
    out = img.copy()
    out[background] = shifted[background]
    return out


def match_background(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The image with its background's colours (mask < 0.5; Lab mean and standard deviation per channel)
    moved 50-100 % of the way to those of the person's pixels near their edge (within about 1/12 of the
    image height), so person and background meet at low contrast; person pixels are unchanged, and the
    new background is blended in over the mask's softened edge. Without person or background pixels the
    image comes back as it was."""
    person = mask >= 0.5
    near = person & edge_band(mask, max(5, img.shape[0] // 12) | 1)
    if near.sum() < 20 or (~person).sum() < 20:
        return img
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB).astype(np.float32)
    ref, bg = lab[near], lab[~person]
    mu_r, sd_r = ref.mean(0), ref.std(0) + 1.0
    mu_b, sd_b = bg.mean(0), bg.std(0) + 1.0
    t = rng.uniform(0.5, 1.0)
    mu, sd = mu_b + t * (mu_r - mu_b), sd_b + t * (sd_r - sd_b)
    moved = np.clip((lab - mu_b) * (sd / sd_b) + mu, 0, 255).astype(np.uint8)
    recoloured = cv2.cvtColor(moved, cv2.COLOR_LAB2BGR)
    alpha = cv2.GaussianBlur(person.astype(np.float32), (3, 3), 0)
    alpha[person] = 1.0
    return _blend(img, recoloured, alpha)


def random_blob(hw: tuple[int, int], centre: tuple[float, float], radius: float,
                rng: np.random.Generator) -> np.ndarray:
    """A float32 H×W alpha in [0, 1]: an irregular, smooth-edged blob (a star polygon of 5-10 vertices at
    0.45-1.0 × radius, rounded by a blur) centred at (x, y), anti-aliased at its edge."""
    n = int(rng.integers(5, 11))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * rng.uniform(0.45, 1.0, n)
    pts = np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], 1)
    blob = np.zeros(hw, np.float32)
    cv2.fillPoly(blob, [np.round(pts * 4).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=2)
    sigma = max(0.5, 0.15 * radius)
    blob = cv2.GaussianBlur(blob, (0, 0), sigma)
    return cv2.GaussianBlur((blob >= 0.5).astype(np.float32), (3, 3), 0)


def paste_distractors(img: np.ndarray, mask: np.ndarray, textures: list[np.ndarray], count: int,
                      rng: np.random.Generator) -> np.ndarray:
    """The image with `count` blobs of texture (each a random one of `textures`, canvas-sized BGR, maybe
    hue-rotated) pasted into the background touching the person, who stays in front; the mask (the
    label) is unchanged, so the blobs are background. The image unchanged when nobody is in it.

    What the dev sets' worst images show: a red tent pole, a roof or a desk that touches the person
    becomes person. Blobs, not rectangles, so that a straight edge does not give the paste away.
    """
    person = (mask >= 0.5).astype(np.uint8)
    if not person.any() or person.all() or not textures:
        return img
    h, w = mask.shape
    gap = cv2.distanceTransform(1 - person, cv2.DIST_L2, 3)     # background pixels: distance to the person
    behind = 1.0 - cv2.GaussianBlur(mask.astype(np.float32), (3, 3), 0)
    for _ in range(count):
        radius = min(h, w) * rng.uniform(0.08, 0.35)
        near = np.flatnonzero((gap > 0.1 * radius) & (gap < 0.6 * radius))
        if near.size == 0:
            continue
        y, x = divmod(int(near[rng.integers(near.size)]), w)
        texture = textures[rng.integers(len(textures))]
        if rng.random() < 0.5:
            texture = turn_hue(texture, rng, (1.0, 2.0))
        img = _blend(texture, img, random_blob((h, w), (x, y), radius, rng) * behind)
    return img


def photometric(img: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Lighting, white balance, saturation, low light, noise, blur and JPEG artefacts."""
    if rng.random() < cfg.p_photometric:
        x = img.astype(np.float32)
        gains = rng.uniform(0.8, 1.2, 3).astype(np.float32) * rng.uniform(0.65, 1.35)
        x = x * gains + rng.uniform(-30, 30)
        gray = x.mean(axis=2, keepdims=True)
        x = gray + (x - gray) * rng.uniform(0.4, 1.4)
        x = 255.0 * (np.clip(x, 0, 255) / 255.0) ** rng.uniform(0.7, 1.5)
        img = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < cfg.p_low_light:
        img = (img.astype(np.float32) * rng.uniform(0.15, 0.5)).astype(np.uint8)
        img = cv2.add(img, rng.normal(0, rng.uniform(2, 8), img.shape).astype(np.int16).clip(0, 255).astype(np.uint8))
    if rng.random() < cfg.p_noise:
        noise = rng.normal(0, rng.uniform(2, 10), img.shape).astype(np.float32)
        img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if rng.random() < cfg.p_blur:
        if rng.random() < 0.6:
            img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.5))
        else:
            k = int(rng.integers(3, 8))
            kernel = np.zeros((k, k), np.float32)
            kernel[k // 2] = 1.0 / k
            rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1.0)
            kernel = cv2.warpAffine(kernel, rot, (k, k))
            img = cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))
    if rng.random() < cfg.p_jpeg:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return img


class Augmenter:
    """Makes one training sample (BGR uint8 image, float32 mask in [0,1], float32 validity) of a canvas size.

    source_weights: {folder name: weight} of how often a photo sample comes from each folder
    (a folder then gives a uniformly drawn pair); None draws uniformly over all pairs.
    """

    def __init__(self, pairs: list[Pair], backgrounds: list[np.ndarray], cutouts: list[np.ndarray],
                 cfg: AugmentConfig | None = None, source_weights: dict[str, float] | None = None):
        self.pairs, self.backgrounds, self.cutouts = pairs, backgrounds, cutouts
        self.cfg = cfg or AugmentConfig()
        self.whole_people = [p for p in pairs if is_whole_person(p) and not p.coarse and p.ignore is None]
        self.object_pairs = [p for p in pairs if p.source in self.cfg.object_crop_sources]
        self.by_source: list[list[Pair]] = []
        self.source_p = None
        if source_weights:
            names = [n for n in source_weights if any(p.source == n for p in pairs)]
            self.by_source = [[p for p in pairs if p.source == n] for n in names]
            w = np.asarray([source_weights[n] for n in names], np.float64)
            self.source_p = w / w.sum()

    def _pair(self, rng: np.random.Generator) -> Pair:
        if self.source_p is None:
            return self.pairs[rng.integers(len(self.pairs))]
        group = self.by_source[rng.choice(len(self.by_source), p=self.source_p)]
        return group[rng.integers(len(group))]

    def _textures(self, out_hw: tuple[int, int], n: int, rng: np.random.Generator) -> list[np.ndarray]:
        """n canvas-sized textures for distractors: people-free scenes, and person-free crops of photos
        (object_crop: things, food, animals) where a source labels every person."""
        out = []
        for _ in range(n):
            crop = None
            if self.object_pairs and rng.random() < 0.5:
                crop = object_crop(self.object_pairs[rng.integers(len(self.object_pairs))], out_hw, rng)
            out.append(crop if crop is not None else _random_background(self.backgrounds, out_hw, rng))
        return out

    def _nobody(self, img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A sample without a person: every pixel labelled background."""
        hw = img.shape[:2]
        return photometric(img, self.cfg, rng), np.zeros(hw, np.float32), np.ones(hw, np.float32)

    def sample(self, out_hw: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # drawn only when enabled, so configs without it keep their random sequence (and results)
        if self.cfg.p_empty > 0 and rng.random() < self.cfg.p_empty:
            return self._nobody(empty_sample(self.backgrounds, out_hw, rng), rng)
        if self.cfg.p_object_crop > 0 and self.object_pairs and rng.random() < self.cfg.p_object_crop:
            img = object_crop(self.object_pairs[rng.integers(len(self.object_pairs))], out_hw, rng)
            if img is not None:
                return self._nobody(img, rng)
        if (self.cfg.p_group > 0 and self.whole_people and self.backgrounds
                and rng.random() < self.cfg.p_group):          # drawn only when enabled (as p_empty)
            img, mask = group_sample(self.whole_people, self.backgrounds, out_hw, self.cfg, rng)
            valid = np.ones(out_hw, np.float32)
        elif (self.cfg.p_small_person > 0 and self.whole_people and self.backgrounds
                and rng.random() < self.cfg.p_small_person):
            img, mask = small_person_sample(self.whole_people, self.backgrounds, out_hw, self.cfg, rng)
            valid = np.ones(out_hw, np.float32)
        elif self.cutouts and self.backgrounds and rng.random() < self.cfg.p_cutout:
            img, mask = cutout_sample(self.cutouts, self.backgrounds, out_hw, self.cfg, rng)
            valid = np.ones(out_hw, np.float32)
        else:
            img, mask, valid = spatial_sample(self._pair(rng), out_hw, self.cfg, rng, self.backgrounds)
        # drawn only when enabled (as p_empty)
        if self.cfg.p_distractor > 0 and self.backgrounds and rng.random() < self.cfg.p_distractor:
            count = int(rng.integers(1, self.cfg.distractor_max + 1))
            img = paste_distractors(img, mask, self._textures(out_hw, count, rng), count, rng)
        if self.cfg.p_background_hue > 0 and rng.random() < self.cfg.p_background_hue:
            img = recolour_background(img, mask, rng)
        if self.cfg.p_background_match > 0 and rng.random() < self.cfg.p_background_match:   # only when enabled
            img = match_background(img, mask, rng)
        return photometric(img, self.cfg, rng), mask, valid
