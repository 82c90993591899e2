"""Pure cv2 compositing: halo-free background blur, replacement, blending. uint8 in, uint8 out."""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .preprocess import resize_fast

TILE_PX = (16, 128)   # tile (w, h) in frame pixels, about: smaller tiles blend fewer pixels but cost more calls
BACKGROUND, EDGE, PERSON = 0, 1, 2
MAX_GRID_DENOMINATOR = 16
SNAP = 2              # alpha within this of 0 (255) counts as background (person): the output moves ≤ 2 levels
# The composite's alpha: at or below ALPHA_FLOOR (3 %) it is background, at or above ALPHA_CEIL person, linear
# between. The model's faint response on the background would only lay a haze of the frame over the blur, and
# without it the edge band (tiles with 2 < a < 253 somewhere) covers 24 % of a 4K desk.mp4 frame instead of 34 %
# (output within 7 levels of the plain soft blend, 0.3 % of the pixels moved by more than 3)
ALPHA_FLOOR, ALPHA_CEIL = 8, 247


def alpha_ramp(floor: int, ceil: int) -> np.ndarray:
    """A 256-entry uint8 table (for cv2.LUT): alpha at or below `floor` becomes 0, at or above `ceil` 255,
    linear between, rounded as cv2.convertScaleAbs rounds."""
    shifted = np.clip(np.arange(256, dtype=np.int16) - floor, 0, 255).astype(np.uint8).reshape(16, 16)
    return cv2.convertScaleAbs(shifted, alpha=255.0 / (ceil - floor)).ravel()


ALPHA_LUT = alpha_ramp(ALPHA_FLOOR, ALPHA_CEIL)
# Tiles pay from this frame/alpha area ratio up: below it (1080p and under for a 480 px working size) the
# tile bookkeeping and the per-tile calls cost more than the blending they save, with the soft edge band of
# the default model (30-45 % of the tiles): 0.71-0.87x the whole-frame composite at 4K, 0.90-0.94x at
# 1440p, 0.95-1.09x at 1080p (1.14x in the pipeline, benchmarks.e2e), 1.05-1.5x at 720p and 360p
BAND_MIN_UPSCALE = 24
# Weighting a small background by 1 - a before its upscale pays from this frame/alpha area ratio up (1080p and
# over for a 480 px working size): the weighted background is upscaled from the alpha's size, larger than the
# blur's, and below it that costs more than the full-resolution multiply it saves (the composite stage, old vs
# new in one process: 1.26x at 360p, 1.11x at 720p; 0.92x at 1080p, 0.82x at 1440p, 0.87x at 4K)
PREMULTIPLY_MIN_UPSCALE = 12


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
        h, w = out_hw
        bg_small = self.halo_free_blur(small, alpha_small, sigma)
        return cv2.resize(bg_small, (w, h), dst=self._buf("bg", (h, w, 3)), interpolation=cv2.INTER_LINEAR)

    def halo_free_blur(self, small: np.ndarray, alpha_small: np.ndarray, sigma: float) -> np.ndarray:
        """The blurred background at the size of `small` (see `blurred_background`)."""
        sh, sw = alpha_small.shape
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
        return cv2.convertScaleAbs(smallf, dst=self._buf("bg_small", (sh, sw, 3)))

    def blur_behind(self, frame: np.ndarray, mask: np.ndarray, strength: float, blur_size: int = 320,
                    small_src: np.ndarray | None = None) -> np.ndarray:
        """The blurred background for `frame`, with the person (`mask`, float32 any size) cut out.

        `strength` is a sigma in 720p pixels. The blur runs at the smallest size where that sigma
        is still 2 px (a stronger blur needs fewer pixels), at most `blur_size` on the long side,
        so its cost does not grow with the frame. `small_src`, a reduced copy of the frame, saves
        re-reading the full frame when it is at least that large.
        """
        h, w = frame.shape[:2]
        bg_small = self.blur_behind_small(frame, mask, strength, blur_size, small_src)
        return cv2.resize(bg_small, (w, h), dst=self._buf("bg", (h, w, 3)), interpolation=cv2.INTER_LINEAR)

    def blur_behind_small(self, frame: np.ndarray, mask: np.ndarray, strength: float, blur_size: int = 320,
                          small_src: np.ndarray | None = None) -> np.ndarray:
        """`blur_behind` before its upscale: the blurred background at the blur's own size, for
        `composite` to upscale straight into the output."""
        h, w = frame.shape[:2]
        long_side = min(blur_size, max(h, w), max(48, round(2.0 * 1280 / max(strength, 1e-3))))
        s = long_side / max(h, w)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        src = small_src if small_src is not None and small_src.shape[1] >= size[0] else frame
        small = resize_fast(src, size)
        alpha = cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)
        return self.halo_free_blur(small, alpha, strength * max(size) / 1280.0)

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

    def composite(self, frame: np.ndarray, alpha_small: np.ndarray, background: np.ndarray,
                  out: np.ndarray | None = None, tile_px: int | tuple[int, int] = TILE_PX) -> np.ndarray:
        """out = frame·a + background·(1 − a), a = the alpha through ALPHA_LUT, upscaled bilinearly to the frame, / 255.

        Where the frame is at least PREMULTIPLY_MIN_UPSCALE times the alpha's area, a small background (the blur)
        is weighted by 1 − a at the alpha's size and upscaled once into `out`, so full resolution only adds
        frame·a (one multiply and one add a pixel, where the blend needs two multiplies); otherwise the
        background is upscaled (or, frame-sized, copied) into `out` and blended. Where the frame is at least
        BAND_MIN_UPSCALE times the alpha's area, tiles whose alpha is ≥ 253 throughout are copied from the frame
        and only tiles of the edge band (2 < a < 253 somewhere) are blended, their alpha upscaled exactly tile row
        by tile row; smaller upscales blend the whole frame (the tiles would cost more than they save). The
        result is within 4 levels of upscaling the remapped alpha and the background and calling `blend` (2 for
        the tiles' SNAP, 2 for weighting the background before its upscale; on real frames under 0.1 % of the
        values move by more than 2).

        frame: H×W×3 uint8; alpha_small: uint8 alpha at any size up to the frame's (the working
        resolution); background: H×W×3 uint8, or a smaller image that is upscaled bilinearly.
        """
        h, w = frame.shape[:2]
        if out is None:
            out = self._buf("out", (h, w, 3))
        sh, sw = alpha_small.shape
        alpha_small = cv2.LUT(alpha_small, ALPHA_LUT, dst=self._buf("alpha_lut", (sh, sw)))
        grid = band_grid((h, w), (sh, sw), tile_px) if h * w >= BAND_MIN_UPSCALE * sh * sw else None
        premultiplied = background.shape[:2] != (h, w) and h * w >= PREMULTIPLY_MIN_UPSCALE * sh * sw
        if premultiplied:
            cv2.resize(self._weighted_background(background, alpha_small), (w, h), dst=out,
                       interpolation=cv2.INTER_LINEAR)
        elif background.shape[:2] == (h, w):
            np.copyto(out, background)
        else:
            cv2.resize(background, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
        tmp = self._buf("tile_f", (h, w, 3))
        if grid is None:                                # small upscale or no exact grid: blend the whole frame
            alpha = cv2.resize(alpha_small, (w, h), dst=self._buf("alpha", (h, w)), interpolation=cv2.INTER_LINEAR)
            _over(out, frame, cv2.merge([alpha, alpha, alpha], dst=self._buf("a3", (h, w, 3))), tmp, premultiplied)
            return out
        scratch, a3 = self._buf("tile_up", (h, w)), self._buf("a3", (h, w, 3))
        for kind, small_rect, (y0, y1, x0, x1) in band_runs(alpha_small, grid):
            if kind == PERSON:
                out[y0:y1, x0:x1] = frame[y0:y1, x0:x1]
            else:
                ta = upscale_rect(alpha_small, grid, small_rect, None, scratch)
                ta3 = cv2.merge([ta, ta, ta], dst=a3[:y1 - y0, :x1 - x0])
                _over(out[y0:y1, x0:x1], frame[y0:y1, x0:x1], ta3, tmp[:y1 - y0, :x1 - x0], premultiplied)
        return out

    def _weighted_background(self, background: np.ndarray, alpha_small: np.ndarray) -> np.ndarray:
        """The background at the alpha's size, times (255 − alpha) / 255: upscaled, it is background·(1 − a)
        to within a level, because the blurred background barely changes across one alpha pixel."""
        sh, sw = alpha_small.shape
        bg = cv2.resize(background, (sw, sh), dst=self._buf("bg_weighted", (sh, sw, 3)), interpolation=cv2.INTER_LINEAR)
        inv = cv2.bitwise_not(alpha_small, dst=self._buf("inv_alpha", (sh, sw)))
        return cv2.multiply(bg, cv2.merge([inv, inv, inv], dst=self._buf("inv_alpha3", (sh, sw, 3))), dst=bg,
                            scale=1 / 255.0)


def _over(out: np.ndarray, frame: np.ndarray, a3: np.ndarray, tmp: np.ndarray, premultiplied: bool) -> None:
    """In place, a = a3 / 255 (3-channel uint8, overwritten): out = frame·a + out when `out` holds the
    background already weighted by 1 − a (premultiplied), else out = frame·a + out·(1 − a), with the same
    rounding as `Compositor.blend`."""
    cv2.multiply(frame, a3, dst=tmp, scale=1 / 255.0)
    if not premultiplied:
        cv2.bitwise_not(a3, dst=a3)
        cv2.multiply(out, a3, dst=out, scale=1 / 255.0)
    cv2.add(out, tmp, dst=out)


# --------------------------------------------------------------------------- the edge band



@dataclass(frozen=True)
class BandGrid:
    """Tiles where a bilinear upscale from the small size to the frame can be cut exactly.

    Frame/small is px/qx across (py/qy down) in lowest terms; a tile is tw×th small pixels, both
    multiples of qx (qy), so its corners land on whole frame pixels.
    """
    frame_hw: tuple[int, int]
    small_hw: tuple[int, int]
    px: int
    qx: int
    py: int
    qy: int
    tw: int
    th: int


def band_grid(frame_hw: tuple[int, int], small_hw: tuple[int, int],
              tile_px: int | tuple[int, int] = TILE_PX) -> BandGrid | None:
    """The tile grid for an upscale from small_hw to frame_hw, or None when the ratio is too ragged
    (a denominator above 16, as for 1366 -> 480) or the small image is not smaller."""
    (h, w), (sh, sw) = frame_hw, small_hw[:2]
    if sh > h or sw > w or sh < 1 or sw < 1:
        return None
    gx, gy = math.gcd(w, sw), math.gcd(h, sh)
    px, qx, py, qy = w // gx, sw // gx, h // gy, sh // gy
    if max(qx, qy) > MAX_GRID_DENOMINATOR:
        return None
    tile_w, tile_h = (tile_px, tile_px) if isinstance(tile_px, int) else tile_px
    tw = qx * max(1, round(tile_w / px))
    th = qy * max(1, round(tile_h / py))
    return BandGrid((h, w), (sh, sw), px, qx, py, qy, tw, th)


def tile_kinds(alpha_small: np.ndarray, grid: BandGrid, snap: int = SNAP) -> np.ndarray:
    """Per tile: BACKGROUND where every upscaled alpha is at most `snap`, PERSON where every one is
    at least 255 − snap, else EDGE. Taking such a tile from the background (or the frame) moves a
    pixel by at most `snap` levels from the blend.

    A bilinear upscale reads at most one small pixel beyond a tile: the max and min run over the
    tile grown by one pixel (one dilate and one erode with a tile-sized kernel, sampled per tile).
    """
    kernel = np.ones((grid.th + 2, grid.tw + 2), np.uint8)
    hi = cv2.dilate(alpha_small, kernel, anchor=(1, 1), borderType=cv2.BORDER_REPLICATE)[::grid.th, ::grid.tw]
    lo = cv2.erode(alpha_small, kernel, anchor=(1, 1), borderType=cv2.BORDER_REPLICATE)[::grid.th, ::grid.tw]
    kinds = np.full(hi.shape, EDGE, np.uint8)
    kinds[hi <= snap] = BACKGROUND
    kinds[lo >= 255 - snap] = PERSON
    return kinds


def band_runs(alpha_small: np.ndarray, grid: BandGrid):
    """Yield (kind, small rect, frame rect) for the PERSON and EDGE runs of each tile row, background
    left out; rects are (y0, y1, x0, x1). A short run between two edge runs joins them (one blend
    costs less than three calls)."""
    sh, sw = grid.small_hw
    h, w = grid.frame_hw
    kinds = tile_kinds(alpha_small, grid)
    for ty, row in enumerate(kinds):
        sy0, sy1 = ty * grid.th, min(sh, (ty + 1) * grid.th)
        y0, y1 = sy0 * grid.py // grid.qy, min(h, sy1 * grid.py // grid.qy)
        cuts = np.flatnonzero(row[1:] != row[:-1]) + 1
        starts = [0, *cuts.tolist()]
        ends = [*cuts.tolist(), len(row)]
        runs = [[int(row[s]), s, e] for s, e in zip(starts, ends)]
        merged: list[list[int]] = []
        for i, run in enumerate(runs):
            if (merged and merged[-1][0] == EDGE and i + 1 < len(runs) and runs[i + 1][0] == EDGE
                    and run[2] - run[1] <= 1):
                merged[-1][2] = run[2]                  # absorb a one-tile gap into the edge run before
            elif merged and merged[-1][0] == EDGE and run[0] == EDGE:
                merged[-1][2] = run[2]
            else:
                merged.append(run)
        for kind, t0, t1 in merged:
            if kind == BACKGROUND:
                continue
            sx0, sx1 = t0 * grid.tw, min(sw, t1 * grid.tw)
            x0, x1 = sx0 * grid.px // grid.qx, min(w, sx1 * grid.px // grid.qx)
            yield kind, (sy0, sy1, sx0, sx1), (y0, y1, x0, x1)


def upscale_rect(small: np.ndarray, grid: BandGrid, rect: tuple[int, int, int, int], dst: np.ndarray | None = None,
                 scratch: np.ndarray | None = None) -> np.ndarray:
    """The frame-resolution pixels of a bilinear upscale of `small` over one tile rect (small coordinates,
    on the grid) into dst: identical to that part of cv2.resize(small, frame size). Reads one grid step
    beyond the rect, so the interpolation at its border sees the same neighbours. `scratch`, frame-sized,
    saves an allocation; without `dst` the result is a view into it."""
    sh, sw = grid.small_hw
    sy0, sy1, sx0, sx1 = rect
    rh = min(grid.frame_hw[0], sy1 * grid.py // grid.qy) - sy0 * grid.py // grid.qy
    rw = min(grid.frame_hw[1], sx1 * grid.px // grid.qx) - sx0 * grid.px // grid.qx
    my0, my1 = max(0, sy0 - grid.qy), min(sh, sy1 + grid.qy)
    mx0, mx1 = max(0, sx0 - grid.qx), min(sw, sx1 + grid.qx)
    uh, uw = (my1 - my0) * grid.py // grid.qy, (mx1 - mx0) * grid.px // grid.qx
    up = cv2.resize(small[my0:my1, mx0:mx1], (uw, uh), dst=None if scratch is None else scratch[:uh, :uw],
                    interpolation=cv2.INTER_LINEAR)
    oy, ox = (sy0 - my0) * grid.py // grid.qy, (sx0 - mx0) * grid.px // grid.qx
    if dst is None:
        return up[oy:oy + rh, ox:ox + rw]
    np.copyto(dst, up[oy:oy + rh, ox:ox + rw])
    return dst


def cutout(frame: np.ndarray, alpha_u8: np.ndarray, out: np.ndarray | None = None,
           floor: int = 16, ceil: int = 240) -> np.ndarray:
    """BGRA: the frame with the person's soft alpha, the background fully transparent.

    Alpha at or below `floor` becomes 0 and at or above `ceil` 255, linear between, so the
    model's faint response on the background leaves no haze while edges stay soft.
    """
    h, w = frame.shape[:2]
    out = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=out if out is not None and out.shape == (h, w, 4) else None)
    a = cv2.LUT(alpha_u8, alpha_ramp(floor, ceil))
    cv2.mixChannels([a], [out], [0, 3])
    return out
