"""Pure numpy/cv2 preprocessing: letterbox a BGR frame into the model's input tensor.

The frame is scaled to fit the model canvas without changing its aspect ratio and centred;
the rest of the canvas is zero. `Letterbox` records where the content sits so that
postprocessing can cut the mask back out.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import FrameError

MAX_FRAME_PIXELS = 8192 * 8192
FLOAT_SLACK = 0.5 / 255      # float frames may stray half a uint8 step outside [0, 1] (rounding)


@dataclass(frozen=True)
class Letterbox:
    """Where a frame sits inside the model canvas."""
    frame_hw: tuple[int, int]
    canvas_hw: tuple[int, int]
    top: int
    left: int
    height: int
    width: int


def choose_canvas(frame_hw: tuple[int, int], base_hw: tuple[int, int], adaptive: bool,
                  multiple: int = 16) -> tuple[int, int]:
    """The model input size for a frame.

    With `adaptive` off this is `base_hw`. With it on, the canvas keeps the base's pixel count
    but follows the frame's aspect ratio (in multiples of `multiple`), so a portrait frame gets a
    portrait canvas and little of the canvas is padding.
    """
    if not adaptive:
        return base_hw
    fh, fw = frame_hw
    area = base_hw[0] * base_hw[1]
    aspect = min(max(fw / fh, 0.25), 4.0)
    w = max(multiple, int(round((area * aspect) ** 0.5 / multiple)) * multiple)
    h = max(multiple, int(round((area / aspect) ** 0.5 / multiple)) * multiple)
    return h, w


def letterbox_geometry(frame_hw: tuple[int, int], canvas_hw: tuple[int, int]) -> Letterbox:
    """Scale-to-fit geometry of a frame inside a canvas, centred."""
    fh, fw = frame_hw
    ch, cw = canvas_hw
    scale = min(ch / fh, cw / fw)
    h = min(ch, max(1, int(round(fh * scale))))
    w = min(cw, max(1, int(round(fw * scale))))
    return Letterbox(frame_hw, canvas_hw, (ch - h) // 2, (cw - w) // 2, h, w)


def resize_fast(image: np.ndarray, size_wh: tuple[int, int], dst: np.ndarray | None = None) -> np.ndarray:
    """Downscale with little aliasing and little cost.

    INTER_AREA is fast only for a ratio of exactly 2 and INTER_LINEAR aliases at large ratios,
    so halve with INTER_AREA while the image is at least twice the target, then finish with
    INTER_LINEAR. `dst` (of the target size, a view is fine) receives the result, saving a copy.
    """
    tw, th = size_wh
    while image.shape[1] >= 2 * tw and image.shape[0] >= 2 * th:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if (image.shape[1], image.shape[0]) == (tw, th):
        if dst is not None:
            np.copyto(dst, image)
            return dst
        return image
    return cv2.resize(image, (tw, th), dst=dst, interpolation=cv2.INTER_LINEAR)


def as_bgr_uint8(frame: object) -> np.ndarray:
    """Validate a frame and convert it to a contiguous H×W×3 uint8 BGR array.

    Accepts uint8, uint16 and float (0–1) frames with 1, 3 or 4 channels (gray, BGR, BGRA).

    Raises:
        FrameError: not a numpy array, empty, too large, of an unusable dtype or shape, or a float
            frame with NaN or values outside [0, 1] (a 0–255 float frame: divide it by 255).
    """
    if frame is None:
        raise FrameError("frame is None: the source gave no image (check that the camera or file opened)")
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"frame must be a numpy array (H×W×3 BGR uint8), got {type(frame).__name__}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)):
        raise FrameError(f"frame must be H×W (gray), H×W×3 (BGR) or H×W×4 (BGRA), got shape {frame.shape}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise FrameError(f"frame is empty (shape {frame.shape}); pass an image at least 1×1 pixels")
    if frame.shape[0] * frame.shape[1] > MAX_FRAME_PIXELS:
        raise FrameError(f"frame of {frame.shape[1]}×{frame.shape[0]} is larger than 8192×8192; downscale it first")
    if frame.dtype == np.uint8:
        pass
    elif frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype in (np.float32, np.float64, np.float16):
        lo, hi = float(frame.min()), float(frame.max())     # NaN propagates; no temporary array
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise FrameError("frame contains NaN or infinity; float frames must hold values in [0, 1]")
        if lo < -FLOAT_SLACK or hi > 1.0 + FLOAT_SLACK:
            hint = "divide it by 255" if hi <= 255.0 + FLOAT_SLACK and lo >= -FLOAT_SLACK else "rescale it"
            raise FrameError(f"float frame values lie in [{lo:g}, {hi:g}]; a float frame must be in [0, 1]: "
                             f"{hint} (or pass uint8 0–255)")
        frame = cv2.convertScaleAbs(np.asarray(frame, np.float32), alpha=255.0)
    else:
        raise FrameError(f"frame dtype {frame.dtype} is not supported; use uint8 (0–255), uint16 or float in [0, 1]")
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    elif frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(frame)


def letterbox_image(frame: np.ndarray, lb: Letterbox, out: np.ndarray | None = None) -> np.ndarray:
    """Place a resized frame (any channel count) into a zero canvas of size lb.canvas_hw."""
    ch, cw = lb.canvas_hw
    shape = (ch, cw) + frame.shape[2:]
    if out is None or out.shape != shape or out.dtype != frame.dtype:
        out = np.zeros(shape, frame.dtype)
    else:
        out.fill(0)
    resize_fast(frame, (lb.width, lb.height), out[lb.top:lb.top + lb.height, lb.left:lb.left + lb.width])
    return out


def to_tensor(canvas_bgr: np.ndarray, colour: str, layout: str, mean: tuple[float, ...],
              std: tuple[float, ...], dtype: type = np.float32) -> np.ndarray:
    """Convert a uint8 BGR canvas into a 1×C×H×W (NCHW) or 1×H×W×C (NHWC) input tensor.

    Values are x/255 then (x - mean) / std per channel, in the model's colour order. NCHW goes
    through cv2.dnn.blobFromImage (one pass, about 15× faster than the numpy path).
    """
    plain = all(m == 0.0 for m in mean) and all(v == 1.0 for v in std)
    if layout == "NCHW":
        x = cv2.dnn.blobFromImage(canvas_bgr, 1.0 / 255.0, swapRB=(colour == "RGB"))
        if not plain:
            x -= np.asarray(mean, np.float32)[None, :, None, None]
            x /= np.asarray(std, np.float32)[None, :, None, None]
        return x if dtype == np.float32 else x.astype(dtype)
    img = canvas_bgr[:, :, ::-1] if colour == "RGB" else canvas_bgr
    x = img.astype(np.float32) * np.float32(1.0 / 255.0)
    if not plain:
        x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x[None], dtype=dtype)


def prepare(frame_bgr: np.ndarray, meta, canvas_hw: tuple[int, int] | None = None, dtype: type = np.float32,
            out: np.ndarray | None = None) -> tuple[np.ndarray, Letterbox]:
    """A BGR uint8 frame -> (the model's input tensor, the Letterbox that placed the frame), as `meta`
    (ModelMeta) asks: its canvas for the frame's shape unless `canvas_hw` is given, then its colour
    order, layout, mean and std. The one preparation the Segmenter, training-time validation and
    export's parity check share; postprocess.unprepare is its inverse for the mask.

    `out` is a canvas buffer, reused when its shape fits (see letterbox_image).
    """
    hw = frame_bgr.shape[:2]
    canvas_hw = canvas_hw or choose_canvas(hw, meta.input_hw, meta.adaptive, meta.multiple)
    lb = letterbox_geometry(hw, canvas_hw)
    canvas = letterbox_image(frame_bgr, lb, out)
    return to_tensor(canvas, meta.colour, meta.layout, meta.mean, meta.std, dtype), lb
