"""Motion-compensated flicker ("jitter"): how much a video's mask changes beyond what the picture's motion explains.

Flicker, mean |m_t - m_(t-1)|, counts a person's real motion as flicker. Jitter is mean |m_t - warp(m_(t-1))|,
where warp carries the last mask along the optical flow from frame t back to frame t-1 (OpenCV's Farneback, on
gray frames at half size). A mask that follows the motion scores near 0 (flow errors aside, the same for every
model on a clip), a mask that jitters scores its jitter, and a mask that lags behind a moving person (a ghost)
scores the motion it missed. Only numpy and OpenCV: the MediaPipe runner's venv imports this file too.
"""
from __future__ import annotations

import cv2
import numpy as np

FLOW_SCALE = 0.5          # the flow is computed at this fraction of the frame's size


class MotionMeter:
    """Feed it a clip's frames in order (`next_frame`); `jitter(mask, last_mask)` then measures one model's
    step from the last frame to this one. Each model keeps its own last mask; the flow is shared."""

    def __init__(self, scale: float = FLOW_SCALE):
        self.scale = scale
        self._gray: np.ndarray | None = None
        self._flow: np.ndarray | None = None     # frame t -> frame t-1, in full-size pixels
        self._grid: tuple[np.ndarray, np.ndarray] | None = None

    def next_frame(self, frame_bgr: np.ndarray) -> None:
        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        gray = cv2.resize(gray, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        h, w = frame_bgr.shape[:2]
        if self._gray is None or self._gray.shape != gray.shape:
            self._flow = None
        else:
            flow = cv2.calcOpticalFlowFarneback(gray, self._gray, None, 0.5, 3, 15, 3, 5, 1.2, 0)
            flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(1 / self.scale)
            if self._grid is None or self._grid[0].shape != (h, w):
                self._grid = tuple(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
            self._flow = flow
        self._gray = gray

    def _warped(self, last_mask: np.ndarray) -> np.ndarray:
        gx, gy = self._grid
        return cv2.remap(last_mask, gx + self._flow[..., 0], gy + self._flow[..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)

    def jitter(self, mask: np.ndarray, last_mask: np.ndarray) -> float | None:
        """mean |mask - last_mask carried along the flow|, masks float32 in [0, 1] at the frame's size;
        None for a clip's first frame."""
        return None if self._flow is None else float(cv2.absdiff(mask, self._warped(last_mask)).mean())

    def motion(self, last_mask: np.ndarray) -> float | None:
        """mean |last_mask carried along the flow - last_mask|: the change the picture's motion alone makes to a
        mask, about what a mask that follows the motion exactly would flicker; None for a clip's first frame."""
        return None if self._flow is None else float(cv2.absdiff(self._warped(last_mask), last_mask).mean())
