"""Benchmark frames from a video: read n of them (looping a short clip), resized untimed.

numpy + cv2 only, so the MediaPipe reference runner (its own venv) reads frames the same way.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def resized(frame: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """A copy of `frame` at size_wh (INTER_AREA to shrink, bilinear to grow)."""
    if (frame.shape[1], frame.shape[0]) == tuple(size_wh):
        return frame.copy()
    shrink = size_wh[0] < frame.shape[1]
    return cv2.resize(frame, tuple(size_wh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def read_frames(video: str | Path, n: int, size_wh: tuple[int, int] | None = None,
                loop: bool = False) -> list[np.ndarray]:
    """Up to `n` BGR frames of `video`, at its own size or at size_wh; `loop`: a clip shorter than n
    starts over, so exactly n come back (else reading stops at the clip's end).

    Raises:
        ValueError: the video cannot be opened, or gives no frame.
    """
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {video}")
    frames: list[np.ndarray] = []
    try:
        while len(frames) < n:
            ok, frame = cap.read()
            if not ok:
                if not frames:
                    raise ValueError(f"video {video} gives no frames")
                if not loop:
                    break
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            frames.append(resized(frame, size_wh) if size_wh else frame)
    finally:
        cap.release()
    return frames


def read_looped(video: str | Path, n: int, size_wh: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Exactly `n` frames of `video` (a short clip loops); see read_frames."""
    return read_frames(video, n, size_wh, loop=True)
