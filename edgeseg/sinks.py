"""Outputs: the Sink protocols, and images, PNG sequences, a virtual camera and a window.

Video files live in edgeseg.videofile (re-exported here). Files are all-or-nothing
(edgeseg.outputs): written under a temporary name, every write checked, renamed into place when
complete.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from .errors import ConfigError, OutputError
from .outputs import AtomicFolder, write_bytes_atomic
from .videofile import CODECS, CONTAINERS, VideoFileSink, check_crf, video_codec  # noqa: F401 (re-exported)

log = logging.getLogger("edgeseg")


@runtime_checkable
class Sink(Protocol):
    """Where a loop puts frames: `write(frame)` for each frame, `close()` once at the end."""

    def write(self, frame: np.ndarray) -> None: ...

    def close(self) -> object: ...


@runtime_checkable
class FileSink(Sink, Protocol):
    """An all-or-nothing output (an image, a video, a PNG sequence).

    `close()` moves the finished output onto its name and returns that name; on Ctrl-C,
    `keep_partial()` keeps the frames so far under NAME.partial.EXT (None: nothing kept); on an
    error, `abort()` deletes them. `frames`: frames written. `note`: what was written (codec,
    audio). `kept()`: what the final name holds until close(). `gray_mask`: an `--effect mask`
    goes in as the 1-channel mask (True: PNG) or as the effect's BGR frame (False: a video).
    """
    frames: int
    note: str
    gray_mask: bool

    def write(self, frame: np.ndarray, pts: int | None = None) -> None: ...

    def close(self) -> Path: ...

    def keep_partial(self) -> Path | None: ...

    def abort(self) -> None: ...

    def kept(self) -> str: ...


def has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def encode_image(path: Path, image: np.ndarray) -> bytes:
    """`image` encoded for `path`'s suffix (PNG, JPEG, WebP, ...).

    Raises:
        ConfigError: OpenCV cannot encode that suffix, or alpha into a format without it.
    """
    suffix = path.suffix.lower()
    if image.ndim == 3 and image.shape[2] == 4 and suffix not in (".png", ".webp", ".tif", ".tiff"):
        raise ConfigError(f"output {path.name}: {suffix} has no alpha; use .png or .webp for a cut-out")
    params = [cv2.IMWRITE_WEBP_QUALITY, 101] if suffix == ".webp" and image.ndim == 3 and image.shape[2] == 4 else []
    try:
        ok, buf = cv2.imencode(suffix, image, params)
    except cv2.error:
        ok = False
    if not ok:
        raise ConfigError(f"output {path.name}: cannot encode {suffix or 'a file without suffix'}; use .png or .jpg")
    return buf.tobytes()


def write_image(path: str | Path, image: np.ndarray, inputs=()) -> Path:
    """Write an image all-or-nothing (1-channel masks stay 1-channel, BGRA keeps its alpha).

    Raises:
        ConfigError: see encode_image. OutputError: it cannot be written.
    """
    path = Path(path).expanduser()
    return write_bytes_atomic(path, encode_image(path, image), inputs)


class ImageSink:
    """A still image (a FileSink of one frame): its write() puts the whole image in place at once.

    1-channel masks stay 1-channel, BGRA keeps its alpha. Nothing is on disk before that write,
    and the image is complete after it, so abort() has nothing to delete.
    """
    note = ""
    gray_mask = True

    def __init__(self, path: str | Path, inputs=()):
        self.path, self.inputs, self.frames = Path(path).expanduser(), tuple(inputs), 0

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        """Raises ConfigError (see encode_image), OutputError: it cannot be written (see write_image)."""
        write_image(self.path, image, self.inputs)
        self.frames = 1

    def close(self) -> Path:
        return self.path

    def keep_partial(self) -> Path | None:
        return self.path if self.frames else None

    def abort(self) -> None:
        pass

    def kept(self) -> str:
        return f"{self.path} holds the image" if self.frames else f"{self.path} was not touched"


class FrameFolderSink:
    """One PNG per frame (DIR/000000.png, 000001.png, ...), 1-channel for masks, BGRA for cut-outs.

    The sequence is built in a temporary folder and moved onto DIR when complete.

    Raises:
        OutputError: DIR holds other files, or cannot be written.
    """
    note = "PNG sequence"
    gray_mask = True

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).expanduser()
        self.atomic = AtomicFolder(self.folder)
        self.frames = 0

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        """Raises OutputError: the PNG cannot be encoded or written (the temporary folder is removed)."""
        path = self.atomic.tmp / f"{self.frames:06d}.png"
        ok, buf = cv2.imencode(".png", image)
        try:
            if not ok:
                raise OSError(f"PNG encoding failed for a {image.shape} frame")
            with open(path, "wb") as f:
                if f.write(buf) != len(buf):
                    raise OSError(28, "short write")
        except Exception as exc:
            raise self.atomic.failed(f"after {self.frames} frames", exc) from None
        self.frames += 1

    def close(self) -> Path:
        """Raises OutputError: the folder cannot be moved into place (DIR keeps what it held)."""
        try:
            return self.atomic.commit()
        except Exception as exc:
            raise self.atomic.failed("while moving it into place", exc) from None

    def keep_partial(self) -> Path | None:
        try:
            return self.atomic.keep_partial()
        except OSError:
            self.atomic.abort()
            return None

    def abort(self) -> None:
        self.atomic.abort()

    def kept(self) -> str:
        return self.atomic.kept()


class VirtualCamSink:
    """A virtual camera through pyvirtualcam (the `virtualcam` extra): a live Sink, BGR (alpha dropped).

    Raises:
        OutputError: pyvirtualcam is not installed, or there is no virtual camera device.
    """

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
        self.cam.send(frame[:, :, :3] if frame.shape[2] == 4 else frame)

    def close(self) -> None:
        self.cam.close()


class WindowSink:
    """An OpenCV window with FPS and stage timings. Keys: + / - blur, e effect, m mask, q quit.

    Not a Sink: `show(frame, lines)` takes the overlay and returns the key pressed, which drives the loop.
    """
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
