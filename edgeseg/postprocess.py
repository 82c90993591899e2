"""Pure numpy/cv2 mask post-processing: un-letterbox, edge-aware refinement, feather, temporal.

All functions take and return float32 masks in [0, 1] unless stated.
"""
from __future__ import annotations

import cv2
import numpy as np

from .errors import ConfigError, choices_error
from .preprocess import Letterbox

FEATHER_DIRECTIONS = ("centred", "outward", "inward")


def crop_letterbox(canvas_mask: np.ndarray, lb: Letterbox) -> np.ndarray:
    """The part of a canvas-sized mask that covers the frame (a view)."""
    return canvas_mask[lb.top:lb.top + lb.height, lb.left:lb.left + lb.width]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float, subsample: int = 2) -> np.ndarray:
    """Fast guided filter (He & Sun 2015) with a gray guide: src's edges snap to the guide's.

    guide: H×W float32 gray in [0,1]; src: H×W float32. The coefficients are computed at
    1/subsample resolution and applied at full resolution.
    """
    h, w = guide.shape
    if subsample > 1 and min(h, w) // subsample >= 8:
        size = (max(1, w // subsample), max(1, h // subsample))
        g = cv2.resize(guide, size, interpolation=cv2.INTER_AREA)
        p = cv2.resize(src, size, interpolation=cv2.INTER_AREA)
        r = max(1, radius // subsample)
    else:
        g, p, r = guide, src, max(1, radius)
    k = (2 * r + 1, 2 * r + 1)
    mean_g = cv2.boxFilter(g, -1, k)
    mean_p = cv2.boxFilter(p, -1, k)
    var_g = cv2.boxFilter(g * g, -1, k) - mean_g * mean_g
    cov_gp = cv2.boxFilter(g * p, -1, k) - mean_g * mean_p
    a = cov_gp / (var_g + eps)
    b = mean_p - a * mean_g
    a = cv2.boxFilter(a, -1, k)
    b = cv2.boxFilter(b, -1, k)
    if a.shape != guide.shape:
        a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
    out = cv2.multiply(a, guide)
    cv2.add(out, b, dst=out)
    return np.clip(out, 0.0, 1.0, out=out)


def feather(mask: np.ndarray, width: float, direction: str = "centred") -> np.ndarray:
    """Soften the mask edge over about `width` pixels.

    direction: 'centred' keeps the 0.5 contour where it is; 'outward' moves the soft band
    outside the person (the mask grows); 'inward' moves it inside (the mask shrinks).

    Raises:
        ConfigError: unknown direction (lists the valid ones) or negative width.
    """
    if direction not in FEATHER_DIRECTIONS:
        raise choices_error("feather direction", direction, FEATHER_DIRECTIONS)
    if width < 0:
        raise ConfigError(f"feather width must be ≥ 0 px, got {width}")
    if width < 1:
        return mask
    half = max(1, int(round(width / 2)))
    if direction != "centred":
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * half + 1, 2 * half + 1))
        mask = (cv2.dilate if direction == "outward" else cv2.erode)(mask, kernel)
    k = 2 * half + 1
    return cv2.blur(mask, (k, k))


class TemporalSmoother:
    """Confidence-weighted EMA that cuts flicker without ghosting, guided by the image when it has it.

    Each pixel moves toward the new mask with weight w = clip(base + gain·|new − old|, base, 1):
    small jitter (flicker) is averaged away, while a real change (motion) passes through at once,
    so nothing lags or ghosts. A scene cut (mean change above `cut`) resets the state.

    Called with the frame's gray image at the mask's size (`image`, uint8), the mask follows the image:
    m = clip(|image change| / motion, 0, 1), the change blurred 3×3 and taken as the largest in a 5×5
    neighbourhood, and w = max(m, base + gain·|new − old|·m). Where the image moved the new mask passes
    at once (no lag behind a moving person); where it stood still only `base` of the new mask comes in,
    however much the model's answer jumped (that jump is flicker). On every clip measured it flickers
    less and lags less than the mask-only weight (README: the temporal stability table).
    """

    def __init__(self, base: float = 0.03, gain: float = 1.0, cut: float = 0.25, motion: float = 0.16):
        if not (0.0 < base <= 1.0) or gain < 0 or not (0.0 < cut <= 1.0) or not motion > 0:
            raise ConfigError("temporal smoothing needs 0 < base ≤ 1, gain ≥ 0, 0 < cut ≤ 1 and motion > 0")
        self.base, self.gain, self.cut, self.motion = base, gain, cut, motion
        self._state: np.ndarray | None = None
        self._diff: np.ndarray | None = None
        self._weight: np.ndarray | None = None
        self._image: np.ndarray | None = None      # the last guide image, blurred (uint8)
        self._moved: np.ndarray | None = None
        self._lut: np.ndarray | None = None         # |Δimage| (0-255) -> its weight, clip(Δ / (255·motion), 0, 1)

    def reset(self) -> None:
        self._state = None
        self._image = None

    def _motion(self, image: np.ndarray | None) -> np.ndarray | None:
        """clip(|Δimage| / motion, 0, 1) (5×5 max) against the last image, float32; None without a last image
        of this size. Keeps `image` (blurred) as the next call's last image."""
        if image is None:
            self._image = None
            return None
        blurred = cv2.GaussianBlur(image, (3, 3), 0)
        last, self._image = self._image, blurred
        if last is None or last.shape != blurred.shape:
            return None
        moved = cv2.dilate(cv2.absdiff(blurred, last), _DILATE_5)
        if self._lut is None:
            self._lut = np.minimum(np.arange(256, dtype=np.float32) / np.float32(255.0 * self.motion), 1.0)
        self._moved = cv2.LUT(moved, self._lut, dst=reuse(self._moved, moved.shape, np.float32))
        return self._moved

    def __call__(self, mask: np.ndarray, image: np.ndarray | None = None) -> np.ndarray:
        """The smoothed mask (the smoother's own buffer: copy it to keep it).

        image: the frame's gray uint8 at the mask's size (optional; see the class doc)."""
        s = self._state
        if image is not None and image.shape != mask.shape:
            raise ConfigError(f"the smoother's image is {image.shape[:2]} but the mask is {mask.shape}; "
                              "pass the frame's gray image at the mask's size")
        moved = self._motion(image)
        if s is None or s.shape != mask.shape:
            self._state = mask.copy()
            self._diff = np.empty_like(mask)
            self._weight = np.empty_like(mask)
            return self._state
        cv2.absdiff(mask, s, dst=self._diff)
        if float(cv2.mean(self._diff)[0]) > self.cut:
            np.copyto(s, mask)
            return s
        # w = clip(base + gain * |d| [* m], base, 1) [max m];  s += w * (mask - s)
        np.multiply(self._diff, self.gain, out=self._weight)   # numpy for scalars: cv2 misreads them on N×1 masks
        if moved is not None:
            cv2.multiply(self._weight, moved, dst=self._weight)
        np.add(self._weight, self.base, out=self._weight)
        if moved is not None:
            cv2.max(self._weight, moved, dst=self._weight)
        np.minimum(self._weight, 1.0, out=self._weight)
        cv2.subtract(mask, s, dst=self._diff)
        cv2.multiply(self._diff, self._weight, dst=self._diff)
        cv2.add(s, self._diff, dst=s)
        return s


_DILATE_5 = np.ones((5, 5), np.uint8)


def reuse(buf: np.ndarray | None, shape: tuple[int, ...], dtype: type = np.uint8) -> np.ndarray:
    """`buf` when it has this shape and dtype, else a new empty array: a per-frame buffer kept across frames."""
    return buf if buf is not None and buf.shape == shape and buf.dtype == dtype else np.empty(shape, dtype)


def mask_probability(output: np.ndarray, lb: Letterbox, meta) -> np.ndarray:
    """The model's canvas-sized H×W output -> person probability over the frame's part of the canvas
    (a view when the model outputs probabilities; sigmoid when `meta.output` is "logits")."""
    prob = crop_letterbox(output, lb)
    return sigmoid(prob).astype(np.float32) if meta.output == "logits" else prob


def unprepare(output: np.ndarray, lb: Letterbox, meta) -> np.ndarray:
    """The inverse of preprocess.prepare for the mask: the model's H×W output -> probability at the
    frame's size (lb.frame_hw), bilinear."""
    fh, fw = lb.frame_hw
    return cv2.resize(mask_probability(output, lb, meta), (fw, fh), interpolation=cv2.INTER_LINEAR)
