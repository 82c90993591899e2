"""Pipeline: frame -> mask -> effect, with stage timings. What `edgeseg live` and apps call."""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .compose import Compositor, cover_resize, cutout
from .errors import ConfigError, EdgeSegError, choices_error
from .governor import Governor, Settings, ladder
from .postprocess import FEATHER_DIRECTIONS, TemporalSmoother, feather, reuse
from .preprocess import as_bgr_uint8
from .segmenter import Segmenter, SegmenterOptions, WorkMask
from .subject import SUBJECT_MODES, SubjectSelector
from .timing import StageTimes
from .zoom_track import ZoomTrack

EFFECTS = ("blur", "replace", "mask", "none", "cutout")
ALPHA_EFFECTS = ("cutout",)               # effects whose output is BGRA (the person's alpha kept)


@dataclass
class PipelineOptions:
    """Everything between the mask and the output frame. Defaults are tuned for webcams."""
    segmenter: SegmenterOptions = field(default_factory=SegmenterOptions)
    effect: str = "blur"                   # blur | replace | mask | none | cutout (BGRA)
    blur_strength: float = 12.0            # Gaussian sigma, in pixels of a 720p frame
    background: str | Path | np.ndarray | None = None   # image or video for 'replace'
    feather_px: float = 4.0                # soft edge width, in pixels of a 720p frame
    feather_direction: str = "centred"     # centred | outward | inward
    temporal: bool = True                  # confidence-weighted temporal smoothing
    temporal_base: float = 0.03            # EMA weight of a new mask where it barely changed
    temporal_gain: float = 1.0             # extra weight per unit of change: real motion passes at once
    temporal_motion: float = 0.16          # an image change (0-1 gray) at which the new mask passes whole; where the
                                           # image stands still, the mask moves at temporal_base (TemporalSmoother)
    scene_cut: float = 0.25
    mask_every: int = 1                    # run the model every N frames, reuse the mask between
    blur_size: int = 320                   # the blur runs at this long side (px), whatever the frame size
    zoom_video: bool = False               # video frames zoom on small people too (edgeseg.zoom_track): steady
                                           # boxes, each crop smoothed; up to 3 more model calls on such frames
    subject: str = "all"                   # all | largest | primary: keep every person, or one (edgeseg.subject)
    budget_ms: float | None = None         # hold the p90 frame time under this (edgeseg.governor); None: off
    # OpenCV's worker threads, for the whole process (cv2.setNumThreads) when a Pipeline is made. 1: its
    # resizes and blurs run on the calling thread, without the pool's busy-waiting; on 2 cores that cut
    # CPU per frame to 0.66x (720p) and 0.76x (1080p) at the same wall time (README). None: leave OpenCV be.
    opencv_threads: int | None = 1

    def validate(self) -> None:
        if self.effect not in EFFECTS:
            raise choices_error("effect", self.effect, EFFECTS)
        if self.feather_direction not in FEATHER_DIRECTIONS:
            raise choices_error("feather direction", self.feather_direction, FEATHER_DIRECTIONS)
        if self.mask_every < 1:
            raise ConfigError(f"mask_every must be ≥ 1, got {self.mask_every}")
        if self.blur_size < 16:
            raise ConfigError(f"blur_size must be ≥ 16 px, got {self.blur_size}")
        check_blur_strength(self.blur_strength)
        if self.feather_px < 0:
            raise ConfigError(f"feather_px {self.feather_px:g} must be ≥ 0 (soft edge width in 720p pixels; "
                              f"the default: {PipelineOptions.feather_px:g})")
        if self.effect == "replace" and self.background is None:
            raise ConfigError("effect 'replace' needs a background: --background IMAGE_OR_VIDEO")
        if self.subject not in SUBJECT_MODES:
            raise choices_error("subject", self.subject, tuple(SUBJECT_MODES))
        if self.budget_ms is not None and not self.budget_ms > 0:
            raise ConfigError(f"budget_ms must be a positive number of milliseconds, got {self.budget_ms}")
        if self.opencv_threads is not None and (isinstance(self.opencv_threads, bool)
                                                or not isinstance(self.opencv_threads, int) or self.opencv_threads < 1):
            raise ConfigError(f"opencv_threads must be a whole number ≥ 1, or None to leave OpenCV's setting alone; "
                              f"got {self.opencv_threads!r}")


def check_blur_strength(strength: float) -> float:
    """Raises ConfigError unless strength (Gaussian sigma in 720p pixels) is ≥ 0."""
    if not strength >= 0:
        raise ConfigError(f"blur strength {strength:g} must be ≥ 0 (sigma in 720p pixels; "
                          f"the default: {PipelineOptions.blur_strength:g})")
    return strength


class Background:
    """A replacement background: a still image or a looping video, scaled to cover the frame."""

    def __init__(self, source: str | Path | np.ndarray):
        self._cap = None
        self._still: np.ndarray | None = None
        self._cache: tuple[tuple[int, int], np.ndarray] | None = None
        if isinstance(source, np.ndarray):
            self._still = as_bgr_uint8(source)
            return
        path = Path(source).expanduser()
        if not path.exists():
            raise ConfigError(f"background {path} not found; pass an image or video file")
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is not None:
            self._still = img
            return
        self._cap = cv2.VideoCapture(str(path))
        if not self._cap.isOpened():
            raise ConfigError(f"background {path} is neither a readable image nor a video")

    def frame(self, hw: tuple[int, int]) -> np.ndarray:
        if self._still is not None:
            if self._cache is None or self._cache[0] != hw:
                self._cache = (hw, cover_resize(self._still, hw))
            return self._cache[1]
        ok, img = self._cap.read()
        if not ok:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, img = self._cap.read()
            if not ok:
                raise EdgeSegError("background video gives no frames; use another file")
        return cover_resize(img, hw)


class Pipeline:
    """Applies an effect behind the person in each frame.

    `process(frame)` returns the output frame; its buffer is reused on the next call, so copy it
    if you keep it. `mask` holds the last full-resolution alpha (uint8). A Pipeline keeps state
    between frames (temporal smoothing), so use one per video stream and per thread: calling one
    from two threads at once raises EdgeSegError.
    """

    def __init__(self, options: PipelineOptions | None = None, segmenter: Segmenter | None = None):
        self.options = opts = options or PipelineOptions()
        opts.validate()
        if opts.opencv_threads is not None:
            cv2.setNumThreads(opts.opencv_threads)
        self.segmenter = segmenter or Segmenter(opts.segmenter)
        self._owns_segmenter = segmenter is None
        self.timings = StageTimes()
        self.smoother = TemporalSmoother(opts.temporal_base, opts.temporal_gain, opts.scene_cut, opts.temporal_motion)
        self.zoom_track = ZoomTrack(self._crop_smoother)
        self.compositor = Compositor()
        self.background = Background(opts.background) if opts.background is not None else None
        self._busy = threading.Lock()
        self._index = 0
        self._work: WorkMask | None = None
        self._alpha: np.ndarray | None = None
        self._alpha_small: np.ndarray | None = None   # the last alpha at working resolution (uint8)
        self._alpha_fresh = False                       # whether _alpha is _alpha_small upscaled
        self._alpha_hw = (0, 0)                         # the frame size _alpha_small belongs to
        self._out: np.ndarray | None = None
        self.subject = SubjectSelector(opts.subject)
        self.governor = self._make_governor() if opts.budget_ms else None

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_segmenter and self.segmenter is not None:
            self.segmenter.close()

    @property
    def mask(self) -> np.ndarray | None:
        """The last alpha mask, uint8 H×W at frame resolution (0 = background, 255 = person).

        Upscaled from the working resolution when first read after a frame (the blur and replace
        effects never need it whole)."""
        if not self._alpha_fresh and self._alpha_small is not None:
            h, w = self._alpha_hw
            self._alpha = cv2.resize(self._alpha_small, (w, h), dst=reuse(self._alpha, (h, w)),
                                     interpolation=cv2.INTER_LINEAR)
            self._alpha_fresh = True
        return self._alpha

    def set_effect(self, effect: str) -> None:
        if effect not in EFFECTS:
            raise choices_error("effect", effect, EFFECTS)
        if effect == "replace" and self.background is None:
            raise ConfigError("effect 'replace' needs a background: --background IMAGE_OR_VIDEO")
        self.options.effect = effect

    def set_blur(self, strength: float) -> None:
        """Change the blur strength (Gaussian sigma in 720p pixels) from the next frame on.

        Raises:
            ConfigError: strength < 0.
        """
        self.options.blur_strength = float(check_blur_strength(strength))

    def reset(self) -> None:
        """Forget temporal state (call between unrelated videos)."""
        self.smoother.reset()
        self.zoom_track.reset()
        self.subject.reset()
        self._work, self._index = None, 0

    def process(self, frame: np.ndarray, still: bool = False) -> np.ndarray:
        """Segment and composite one frame. Returns uint8 BGR of the frame's size (BGRA for cutout).

        `still`: the frame is a photo, not part of a video: small people are segmented again inside
        their box (the segmenter's zoom, as `Segmenter.segment` does; not with a subject lock).

        Raises:
            FrameError: unusable frame. EdgeSegError: used from two threads at once.
        """
        if not self._busy.acquire(blocking=False):
            raise EdgeSegError("this Pipeline is already processing a frame in another thread; "
                               "create one Pipeline per stream and thread (it keeps temporal state); several Pipelines "
                               "may share one Segmenter: Pipeline(options, segmenter=seg)")
        try:
            return self._process(frame, still)
        finally:
            self._busy.release()

    def _process(self, frame: np.ndarray, still: bool = False) -> np.ndarray:
        opts, times = self.options, self.timings
        t_start = time.perf_counter()
        frame = as_bgr_uint8(frame)
        h, w = frame.shape[:2]
        if opts.effect == "none":
            self._out = reuse(self._out, frame.shape)
            np.copyto(self._out, frame)
            times.add_frame((time.perf_counter() - t_start) * 1e3)
            return self._out
        stage: dict[str, float] = {}
        fresh = self._work is None or self._index % opts.mask_every == 0 or self._work.frame_hw != (h, w)
        if fresh:
            video_zoom = opts.zoom_video and not still and not self.subject.active
            self._work = self.segmenter.segment_work(frame, stage, self._model_hook(),
                                                     zoom=still and not self.subject.active,
                                                     track=self.zoom_track if video_zoom else None)
        self._index += 1
        t = time.perf_counter()
        mask = self._work.mask
        scale = max(mask.shape) / 1280.0        # feather is given in 720p pixels
        mask = feather(mask, opts.feather_px * scale, opts.feather_direction) if opts.feather_px else mask
        self._alpha_small = cv2.convertScaleAbs(mask, alpha=255.0, dst=reuse(self._alpha_small, mask.shape))
        self._alpha_hw, self._alpha_fresh = (h, w), False
        stage["postprocess"] = stage.get("postprocess", 0.0) + (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        if opts.effect == "cutout":
            self._out = cutout(frame, self.mask, self._out)
        elif opts.effect == "mask":
            self._out = reuse(self._out, frame.shape)
            cv2.cvtColor(self.mask, cv2.COLOR_GRAY2BGR, dst=self._out)
        else:
            self._out = reuse(self._out, frame.shape)
            if opts.effect == "blur":                   # at the blur's size: composite upscales it
                # a reused mask (mask_every > 1) comes with its own frame's small copy: blur this frame
                bg = self.compositor.blur_behind_small(frame, mask, opts.blur_strength, opts.blur_size,
                                                       self._work.frame_small if fresh else None)
            else:
                bg = self.background.frame((h, w))
            self.compositor.composite(frame, self._alpha_small, bg, out=self._out)
        stage["composite"] = (time.perf_counter() - t) * 1e3
        for k, v in stage.items():
            times.add(k, v)
        times.add_frame((time.perf_counter() - t_start) * 1e3)
        if self.governor is not None and self.governor.observe(times.frames[-1]):
            self._apply(self.governor.settings)
        return self._out

    def stats(self) -> dict:
        """timings.summary(), plus the governor's steps (`governor`) and the subject lock (`subject`) when on."""
        out = self.timings.summary()
        if self.governor is not None:
            out["governor"] = self.governor.report()
        if self.subject.active:
            out["subject"] = self.subject.report()
        return out

    def _model_hook(self):
        """What runs on the model's probability map (model resolution) and the frame's gray at that size:
        temporal smoothing, then the subject lock; None when neither is on."""
        smooth = self.smoother if self.options.temporal else None
        if not self.subject.active:
            return smooth
        if smooth is None:
            return lambda prob, image: self.subject(prob)
        return lambda prob, image: self.subject(smooth(prob, image))

    def _crop_smoother(self) -> TemporalSmoother | None:
        """A zoom box's own temporal smoother (the whole frame's settings); None with temporal off."""
        o = self.options
        return TemporalSmoother(o.temporal_base, o.temporal_gain, o.scene_cut, o.temporal_motion) if o.temporal else None

    def governor_levels(self) -> list[tuple[str, Settings]]:
        """The levels a governor would step through for this pipeline (level 0: as configured)."""
        seg = self.segmenter
        canvas = None if seg.session.static_hw is not None else tuple(seg.meta.input_hw)
        return ladder(Settings(canvas, seg.options.refine, self.options.mask_every, self.options.zoom_video),
                      seg.meta.multiple)

    def _make_governor(self) -> Governor:
        return Governor(self.options.budget_ms, self.governor_levels())

    def _apply(self, s: Settings) -> None:
        """Put a governor level into effect: the segmenter gets a copy of its options (the caller's
        are not changed) and, for a canvas, a copy of its meta; the pipeline's mask_every and zoom_video change."""
        seg = self.segmenter
        if seg.options.refine != s.refine:
            seg.options = dataclasses.replace(seg.options, refine=s.refine)
        if s.canvas is not None and tuple(seg.meta.input_hw) != s.canvas:
            seg.meta = dataclasses.replace(seg.meta, input_hw=s.canvas)
        self.options.mask_every = s.mask_every
        self.options.zoom_video = s.zoom

