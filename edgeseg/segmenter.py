"""Segmenter: frame in, person mask out. Shaped like MediaPipe Tasks."""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from pathlib import Path

import cv2
import numpy as np

from .errors import ConfigError
from .install import EXPORT_COMMAND
from .meta import ModelMeta
from .models import pick_model_file
from .postprocess import crop_letterbox, guided_filter, mask_probability
from .preprocess import as_bgr_uint8, choose_canvas, prepare, resize_fast
from .session import Session, available_providers, check_threads, folder_error, resolve_providers, short_name
from .zoom import Box, check_zoom, zoom_boxes
from .zoom_track import ZoomTrack


@dataclass
class SegmenterOptions:
    """How to build a Segmenter. Every field has a sensible default."""
    model_path: str | Path | None = None   # None: the bundled default model
    precision: str | None = None           # fp32 | fp16 | int8; None: the fastest for the device
    provider: str = "auto"                 # auto | cpu | cuda | tensorrt
    threads: int = 0                       # ONNX Runtime intra-op threads; 0: 1 on CPU, the provider's default elsewhere
    spinning: bool = False                 # ORT thread spinning: off, so ORT does not starve OpenCV
    refine: bool = True                    # edge-aware (guided filter) refinement, guided by the frame
    refine_radius: int = 6                 # in pixels at a 480 px working resolution (scales with it)
    refine_eps: float = 2e-3
    work_size: int = 480                   # long side of the resolution the mask is refined at
    input_size: tuple[int, int] | None = None   # base model input (H, W) for a model with dynamic H/W;
                                           # None: the model's own. Larger is more accurate and slower
    meta: ModelMeta | None = None          # describe a model that carries no ModelMeta
    zoom: bool = True                      # segment small people again, cut out of the frame (edgeseg.zoom):
                                           # segment() only, up to 3 more model calls on such frames
    zoom_below: float = 0.5                # ... for a group whose box covers less than this fraction of the frame
    zoom_margin: float = 0.15              # the box grows by this fraction of its size on each side
    flip_average: bool = False             # also segment the mirrored frame and average the two
                                           # probabilities: a second model call on every frame and box


@dataclass
class SegmentationResult:
    mask: np.ndarray                       # float32 H×W person probability in [0, 1], frame resolution
    timings: dict[str, float] = field(default_factory=dict)  # ms: preprocess, inference, postprocess

    def binary(self, threshold: float = 0.5) -> np.ndarray:
        return self.mask >= threshold


@dataclass
class WorkMask:
    """A mask at the working resolution, with the frame scaled to match (for the pipeline)."""
    mask: np.ndarray          # float32, work resolution
    frame_small: np.ndarray   # uint8 BGR, work resolution
    frame_hw: tuple[int, int]


class Segmenter:
    """Segments people in BGR frames with an ONNX model.

    One Segmenter may be shared across threads: calls are serialised by a lock (each keeps its
    own buffers). For parallel throughput, make one Segmenter per thread.

    Raises (constructor): ModelError, MetadataError, ProviderError, ConfigError.
    """

    def __init__(self, options: SegmenterOptions | None = None):
        self.options = opts = options or SegmenterOptions()
        if opts.work_size < 32:
            raise ConfigError(f"work_size must be ≥ 32 px, got {opts.work_size}")
        check_threads(opts.threads)
        check_zoom(opts.zoom_below, opts.zoom_margin)
        if opts.model_path is not None and Path(opts.model_path).expanduser().is_dir():
            raise folder_error(Path(opts.model_path).expanduser())
        first = resolve_providers(opts.provider, available_providers())[0]
        self.model_path = pick_model_file(opts.model_path, opts.precision, short_name(first))
        # On CPU one thread is fastest for this small a model once spinning is off (measured: README)
        threads = opts.threads or (1 if first == "CPUExecutionProvider" else 0)
        self.session = Session(self.model_path, opts.provider, threads, spinning=opts.spinning, meta=opts.meta)
        self.meta = self.session.meta
        if opts.input_size is not None:
            self.meta = dataclasses.replace(self.meta, input_hw=self._checked_input_size(opts.input_size))
        self._lock = threading.Lock()
        self._canvas: np.ndarray | None = None
        self.last_zoom: list[Box] = []        # the boxes (frame pixels) segment() last segmented again
        self._gray: np.ndarray | None = None

    def _checked_input_size(self, size) -> tuple[int, int]:
        try:
            h, w = (int(v) for v in size)
        except (TypeError, ValueError):
            raise ConfigError(f"input_size must be (height, width), got {size!r}") from None
        m = self.meta.multiple
        if h < m or w < m or h % m or w % m:
            raise ConfigError(f"input_size {h}x{w}: height and width must be positive multiples of {m} "
                              f"(e.g. {self.meta.input_hw[0]}x{self.meta.input_hw[1]}, the model's own)")
        if self.session.static_hw is not None and self.session.static_hw != (h, w):
            sh, sw = self.session.static_hw
            raise ConfigError(f"{self.model_path.name} has a fixed {sh}x{sw} input, so input_size {h}x{w} cannot "
                              f"apply; re-export it with `{EXPORT_COMMAND} CKPT --input-size {h}x{w}`")
        return h, w

    @classmethod
    def from_path(cls, model_path: str | Path | None = None, **kwargs) -> "Segmenter":
        return cls(SegmenterOptions(model_path=model_path, **kwargs))

    @classmethod
    def from_options(cls, options: SegmenterOptions) -> "Segmenter":
        return cls(options)

    def __enter__(self) -> "Segmenter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]

    @property
    def provider(self) -> str:
        return self.session.provider

    def canvas_for(self, frame_hw: tuple[int, int]) -> tuple[int, int]:
        if self.session.static_hw is not None:
            return self.session.static_hw
        return choose_canvas(frame_hw, self.meta.input_hw, self.meta.adaptive, self.meta.multiple)

    def segment_work(self, frame: np.ndarray, timings: dict[str, float] | None = None,
                     smooth: Callable[[np.ndarray], np.ndarray] | None = None, zoom: bool = False,
                     track: ZoomTrack | None = None) -> WorkMask:
        """Segment a frame, returning the mask at the working resolution (see SegmenterOptions).

        `smooth(prob, image)`, if given, is applied to the model's probability map (at model resolution,
        before refinement; `image` is the frame's gray uint8 at that size): the Pipeline's temporal
        smoothing hooks in here, where it is cheapest.
        `zoom` (for a still image; with the `zoom` option on) segments small people again as segment()
        does, at full resolution, and brings that mask back to the working resolution. `track` zooms a
        video frame: its boxes hold still from frame to frame and each crop is smoothed by its own
        smoother (edgeseg.zoom_track). Neither: one model call (video frames, by default).
        """
        frame = self._open_frame(frame)
        timings = timings if timings is not None else {}
        with self._lock:
            work = self._segment_work(frame, timings, smooth)
            boxes = self._frame_boxes(work.mask, work.frame_hw) if zoom or track is not None else []
            smooths = None
            if track is not None:
                kept = track.update(boxes, work.frame_hw)
                boxes, smooths = [b for b, _ in kept], [f for _, f in kept]
            self.last_zoom = []
            if not boxes:
                return work
            t = time.perf_counter()
            mask = _resized(work.mask, work.frame_hw)
            timings["postprocess"] += (time.perf_counter() - t) * 1e3
            self.last_zoom = self._zoom(frame, boxes, mask, timings, smooths)
            t = time.perf_counter()
            small = cv2.resize(mask, work.mask.shape[::-1], interpolation=cv2.INTER_AREA)
            timings["postprocess"] += (time.perf_counter() - t) * 1e3
            return WorkMask(np.clip(small, 0.0, 1.0, out=small), work.frame_small, work.frame_hw)

    def _open_frame(self, frame: np.ndarray) -> np.ndarray:
        """The frame as contiguous BGR uint8. Raises: ConfigError (closed), FrameError (unusable frame)."""
        if self.session is None:
            raise ConfigError("this Segmenter is closed; create a new one")
        return as_bgr_uint8(frame)

    def _segment_work(self, frame: np.ndarray, timings: dict[str, float], smooth=None) -> WorkMask:
        opts, meta = self.options, self.meta
        t0 = time.perf_counter()
        fh, fw = frame.shape[:2]
        s = min(1.0, opts.work_size / max(fh, fw))
        work_wh = (max(1, round(fw * s)), max(1, round(fh * s)))
        small = resize_fast(frame, work_wh) if s < 1.0 else frame
        ch, cw = self.canvas_for((fh, fw))
        if self._canvas is None or self._canvas.shape != (ch, cw, 3):
            self._canvas = np.zeros((ch, cw, 3), np.uint8)      # reused while the canvas size holds
        x, lb = prepare(small, meta, (ch, cw), self.session.input_dtype, self._canvas)
        # the smoother follows the image: the frame's gray at the probability's size (before flip_average
        # writes the mirrored frame into the canvas)
        image = cv2.cvtColor(crop_letterbox(self._canvas, lb), cv2.COLOR_BGR2GRAY) if smooth is not None else None
        t1 = time.perf_counter()
        prob = mask_probability(self.session.run(x), lb, meta)
        if opts.flip_average:
            prob = cv2.addWeighted(prob, 0.5, self._mirrored_probability(small, (ch, cw)), 0.5, 0.0)
        t2 = time.perf_counter()
        if smooth is not None:
            prob = smooth(np.ascontiguousarray(prob), image)
        mask = cv2.resize(prob, work_wh, interpolation=cv2.INTER_LINEAR)
        if opts.refine:
            self._gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY, dst=self._gray)
            guide = self._gray.astype(np.float32) * np.float32(1 / 255)
            radius = max(1, int(round(opts.refine_radius * max(work_wh) / 480)))
            mask = guided_filter(guide, mask, radius, opts.refine_eps)
        else:
            np.clip(mask, 0.0, 1.0, out=mask)
        t3 = time.perf_counter()
        timings.update(preprocess=(t1 - t0) * 1e3, inference=(t2 - t1) * 1e3, postprocess=(t3 - t2) * 1e3)
        return WorkMask(mask, small, (fh, fw))

    def _mirrored_probability(self, small: np.ndarray, canvas_hw: tuple[int, int]) -> np.ndarray:
        """The model's probability for the mirrored frame, mirrored back (same shape as the plain one's)."""
        x, lb = prepare(np.ascontiguousarray(small[:, ::-1]), self.meta, canvas_hw, self.session.input_dtype, self._canvas)
        return np.ascontiguousarray(mask_probability(self.session.run(x), lb, self.meta)[:, ::-1])

    def _zoom_boxes(self, work_mask: np.ndarray) -> list[Box]:
        """The boxes (work pixels) around small people to segment again; none with the zoom option off."""
        if not self.options.zoom:
            return []
        return zoom_boxes(work_mask, self.meta.threshold, self.options.zoom_below, self.options.zoom_margin)

    def _frame_boxes(self, work_mask: np.ndarray, frame_hw: tuple[int, int]) -> list[Box]:
        """_zoom_boxes in frame pixels."""
        (wh, ww), (fh, fw) = work_mask.shape, frame_hw
        return [b.scaled(fw / ww, fh / wh, fw, fh) for b in self._zoom_boxes(work_mask)]

    def _zoom(self, frame: np.ndarray, boxes: list[Box], mask: np.ndarray, timings: dict[str, float],
              smooths: list | None = None) -> list[Box]:
        """Segment each box (frame pixels) again, cut from the full-resolution frame, and write that
        mask into `mask` (frame resolution) inside the box, largest group first; `smooths[i]`, if
        given, runs on box i's probability map. Returns the boxes."""
        done = []
        for i, fbox in enumerate(boxes):
            inner: dict[str, float] = {}
            crop = self._segment_work(np.ascontiguousarray(frame[fbox.y0:fbox.y1, fbox.x0:fbox.x1]), inner,
                                      smooths[i] if smooths else None)
            t = time.perf_counter()
            bh, bw = fbox.y1 - fbox.y0, fbox.x1 - fbox.x0
            _resized(crop.mask, (bh, bw), mask[fbox.y0:fbox.y1, fbox.x0:fbox.x1])
            inner["postprocess"] += (time.perf_counter() - t) * 1e3
            for k, v in inner.items():
                timings[k] += v
            done.append(fbox)
        return done

    def segment(self, frame: np.ndarray) -> SegmentationResult:
        """Person probability for a frame.

        frame: H×W×3 BGR uint8 (gray, BGRA, uint16 and float 0–1 frames are converted).
        Returns a SegmentationResult whose mask is float32 H×W in [0, 1] at the frame's size.
        With `zoom` on, a frame whose people are small is segmented again inside the box around each
        small group (edgeseg.zoom: up to 3 more model calls; `last_zoom` lists the boxes). The Pipeline
        calls segment_work, which zooms on a still image and, with zoom_video, on video (steady boxes).

        Raises:
            FrameError: the frame cannot be used (says why).
        """
        frame = self._open_frame(frame)
        timings: dict[str, float] = {}
        with self._lock:
            work = self._segment_work(frame, timings)
            t = time.perf_counter()
            fh, fw = work.frame_hw
            mask = _resized(work.mask, (fh, fw))
            timings["postprocess"] += (time.perf_counter() - t) * 1e3
            self.last_zoom = self._zoom(frame, self._frame_boxes(work.mask, work.frame_hw), mask, timings)
        return SegmentationResult(np.clip(mask, 0.0, 1.0), timings)


def _resized(mask: np.ndarray, hw: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """`mask` at size hw, bilinear: `mask` itself when it already has that size and no `out` is given."""
    if mask.shape == hw:
        if out is None:
            return mask
        np.copyto(out, mask)
        return out
    return cv2.resize(mask, (hw[1], hw[0]), dst=out, interpolation=cv2.INTER_LINEAR)
