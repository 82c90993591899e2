"""Pure cv2 compositing: halo-free background blur, replacement, blending. uint8 in, uint8 out."""
from __future__ import annotations

import cv2
import numpy as np

from .preprocess import resize_fast


def cover_resize(image: np.ndarray, frame_hw: tuple[int, int]) -> np.ndarray:
    """Scale an image to cover a frame (no distortion), centre-cropping the excess."""
    fh, fw = frame_hw
    ih, iw = image.shape[:2]
    s = max(fh / ih, fw / iw)
    nh, nw = max(fh, int(round(ih * s))), max(fw, int(round(iw * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    y, x = (nh - fh) // 2, (nw - fw) // 2
    return np.ascontiguousarray(resized[y:y + fh, x:x + fw])


class Compositor:
    """Blends a frame with a background through an alpha mask, reusing its buffers frame to frame.

    The blur is halo-free: the background is blurred with the person weighted out and the result
    renormalised by the blurred weights, so the person's colours never bleed into it. It runs on a
    reduced-size copy of the frame and is upscaled once.
    """

    def __init__(self):
        self._bufs: dict[str, np.ndarray] = {}

    def _buf(self, name: str, shape: tuple[int, ...], dtype=np.uint8) -> np.ndarray:
        b = self._bufs.get(name)
        if b is None or b.shape != shape or b.dtype != dtype:
            b = self._bufs[name] = np.empty(shape, dtype)
        return b

    def blurred_background(self, small: np.ndarray, alpha_small: np.ndarray, sigma: float,
                           out_hw: tuple[int, int]) -> np.ndarray:
        """Halo-free blurred background, upscaled to out_hw.

        small: the frame at reduced size (uint8 BGR); alpha_small: float32 person alpha of the
        same size; sigma: blur in pixels of `small`.
        """
        sh, sw = alpha_small.shape
        h, w = out_hw
        weight = self._buf("weight", (sh, sw), np.float32)
        np.subtract(1.0, alpha_small, out=weight)       # numpy: cv2 reads a scalar as an array for N×1 inputs
        np.maximum(weight, 1e-3, out=weight)
        w3 = cv2.merge([weight, weight, weight], dst=self._buf("w3", (sh, sw, 3), np.float32))
        smallf = cv2.multiply(small, w3, dst=self._buf("smallf", (sh, sw, 3), np.float32), dtype=cv2.CV_32F)
        sigma = max(0.5, sigma)
        cv2.GaussianBlur(smallf, (0, 0), sigma, dst=smallf)
        den = cv2.GaussianBlur(weight, (0, 0), sigma, dst=self._buf("den", (sh, sw), np.float32))
        cv2.merge([den, den, den], dst=w3)
        cv2.divide(smallf, w3, dst=smallf)
        bg_small = cv2.convertScaleAbs(smallf, dst=self._buf("bg_small", (sh, sw, 3)))
        return cv2.resize(bg_small, (w, h), dst=self._buf("bg", (h, w, 3)), interpolation=cv2.INTER_LINEAR)

    def blur_behind(self, frame: np.ndarray, mask: np.ndarray, strength: float, blur_size: int = 320,
                    small_src: np.ndarray | None = None) -> np.ndarray:
        """The blurred background for `frame`, with the person (`mask`, float32 any size) cut out.

        `strength` is a sigma in 720p pixels. The blur runs at the smallest size where that sigma
        is still 2 px (a stronger blur needs fewer pixels), at most `blur_size` on the long side,
        so its cost does not grow with the frame. `small_src`, a reduced copy of the frame, saves
        re-reading the full frame when it is at least that large.
        """
        h, w = frame.shape[:2]
        long_side = min(blur_size, max(h, w), max(48, round(2.0 * 1280 / max(strength, 1e-3))))
        s = long_side / max(h, w)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        src = small_src if small_src is not None and small_src.shape[1] >= size[0] else frame
        small = resize_fast(src, size)
        alpha = cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)
        return self.blurred_background(small, alpha, strength * max(size) / 1280.0, (h, w))

    def blend(self, frame: np.ndarray, background: np.ndarray, alpha_u8: np.ndarray,
              out: np.ndarray | None = None) -> np.ndarray:
        """out = frame·a + background·(1 − a), with a = alpha_u8 / 255 (H×W uint8).

        Works in place to touch few frame-sized buffers: `background` is overwritten when it is
        one of this Compositor's buffers (as blur_behind returns), else copied first.
        """
        h, w = frame.shape[:2]
        a3 = cv2.merge([alpha_u8, alpha_u8, alpha_u8], dst=self._buf("a3", (h, w, 3)))
        if out is None:
            out = self._buf("out", (h, w, 3))
        cv2.multiply(frame, a3, dst=out, scale=1 / 255.0)
        bg = background
        if bg is not self._bufs.get("bg"):              # never modify a caller's array
            bg = self._buf("bg", (h, w, 3))
            np.copyto(bg, background)
        cv2.bitwise_not(a3, dst=a3)
        cv2.multiply(bg, a3, dst=bg, scale=1 / 255.0)
        return cv2.add(out, bg, dst=out)


def cutout(frame: np.ndarray, alpha_u8: np.ndarray, out: np.ndarray | None = None,
           floor: int = 16, ceil: int = 240) -> np.ndarray:
    """BGRA: the frame with the person's soft alpha, the background fully transparent.

    Alpha at or below `floor` becomes 0 and at or above `ceil` 255, linear between, so the
    model's faint response on the background leaves no haze while edges stay soft.
    """
    h, w = frame.shape[:2]
    out = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=out if out is not None and out.shape == (h, w, 4) else None)
    a = cv2.convertScaleAbs(cv2.subtract(alpha_u8, floor), alpha=255.0 / (ceil - floor))   # saturating
    cv2.mixChannels([a], [out], [0, 3])
    return out
