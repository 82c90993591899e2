"""Outputs: a window with overlay and hotkeys, an mp4 file, a folder of PNG masks, a virtual camera."""
from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from .errors import ConfigError, OutputError

log = logging.getLogger("edgeseg")
MIN_FREE_BYTES = 20 * 1024 * 1024


def has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def check_writable(path: Path, is_dir: bool = False) -> None:
    """Fail before any work if `path` cannot be written or its disk is (nearly) full.

    Raises:
        OutputError: the folder is missing or read-only, or has less than 20 MB free.
    """
    folder = path if is_dir else path.parent
    folder = folder if str(folder) else Path(".")
    if is_dir:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output folder {folder}: {exc.strerror}; choose another -o") from None
    if not folder.is_dir():
        raise OutputError(f"output folder {folder} does not exist; create it or choose another -o")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"output folder {folder} is not writable; choose another -o")
    if shutil.disk_usage(folder).free < MIN_FREE_BYTES:
        raise OutputError(f"output disk for {folder} is full (< 20 MB free); free space or choose another -o")


class VideoFileSink:
    """mp4 writer. Writes to NAME.partial.mp4 and renames on close, so the final name only ever
    holds a finalized, playable file (also after Ctrl-C or a source that vanished)."""

    def __init__(self, path: str | Path, fps: float, size_wh: tuple[int, int]):
        self.path = Path(path).expanduser()
        if self.path.suffix.lower() not in (".mp4", ".m4v", ".mov", ".avi"):
            raise ConfigError(f"output {self.path.name}: use a .mp4 (or .avi/.mov) file name")
        check_writable(self.path)
        self.tmp = self.path.with_name(self.path.stem + ".partial" + self.path.suffix)
        fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"))
        self.writer = cv2.VideoWriter(str(self.tmp), fourcc, float(fps or 30.0), tuple(size_wh))
        if not self.writer.isOpened():
            self.tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write video {self.path}: OpenCV has no encoder for it or the folder is read-only")
        self.size, self.frames = tuple(size_wh), 0

    def write(self, frame: np.ndarray) -> None:
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size)
        self.writer.write(frame)
        self.frames += 1

    def close(self) -> None:
        if self.writer is None:
            return
        self.writer.release()
        self.writer = None
        if self.frames:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


class MaskFolderSink:
    """One 0–255 PNG mask per frame: DIR/000000.png, 000001.png, ..."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).expanduser()
        check_writable(self.folder, is_dir=True)
        self.frames = 0

    def write_mask(self, mask_u8: np.ndarray) -> None:
        path = self.folder / f"{self.frames:06d}.png"
        if not cv2.imwrite(str(path), mask_u8):
            raise OutputError(f"cannot write {path}; is the disk full?")
        self.frames += 1

    def close(self) -> None:
        pass


class VirtualCamSink:
    """A virtual camera through pyvirtualcam (the `virtualcam` extra)."""

    def __init__(self, size_wh: tuple[int, int], fps: float):
        try:
            import pyvirtualcam
        except ImportError:
            raise OutputError("--virtual-cam needs pyvirtualcam: pip install 'edgeseg[virtualcam]'") from None
        try:
            self.cam = pyvirtualcam.Camera(width=size_wh[0], height=size_wh[1], fps=fps or 30,
                                           fmt=pyvirtualcam.PixelFormat.BGR)
        except Exception as exc:  # pyvirtualcam raises RuntimeError with the backend's reason
            raise OutputError(f"no virtual camera device: {exc}. On Linux: sudo modprobe v4l2loopback "
                              "exclusive_caps=1; on Windows/macOS install OBS (its virtual camera)") from None
        log.info("virtual camera: %s", self.cam.device)

    def write(self, frame: np.ndarray) -> None:
        self.cam.send(frame)

    def close(self) -> None:
        self.cam.close()


class WindowSink:
    """An OpenCV window with FPS and stage timings. Keys: + / - blur, e effect, m mask, q quit."""
    KEYS = "keys: +/- blur  e effect  m mask  q quit"

    def __init__(self, title: str = "edgeseg"):
        self.title = title
        self._sized = False
        cv2.namedWindow(title, cv2.WINDOW_NORMAL)

    def show(self, frame: np.ndarray, lines: list[str]) -> int:
        if not self._sized:                     # open at the frame's size (at most 1280 wide)
            s = min(1.0, 1280 / frame.shape[1])
            cv2.resizeWindow(self.title, int(frame.shape[1] * s), int(frame.shape[0] * s))
            self._sized = True
        view = frame.copy()
        for i, text in enumerate(lines + [self.KEYS]):
            y = 22 + 20 * i
            cv2.putText(view, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(view, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        cv2.imshow(self.title, view)
        return cv2.waitKey(1) & 0xFF

    def close(self) -> None:
        cv2.destroyWindow(self.title)
