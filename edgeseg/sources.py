"""Video sources: camera index, video file, URL (RTSP / HTTP MJPEG), still image, or `demo`.

Live sources (cameras, URLs) are read on their own thread and the newest frame wins: stale
frames are dropped so latency never queues up. A live source that vanishes is reopened with
backoff, then given up with a SourceError. Files are read in order, every frame.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from .errors import SourceError

log = logging.getLogger("edgeseg")
ASSETS = Path(__file__).parent / "assets"
from .files import IMAGE_EXTS  # noqa: F401  (re-exported: its home is edgeseg.files)
from .sizes import parse_size  # noqa: F401  (re-exported: its home is edgeseg.sizes)


class Source:
    """Base: read() -> frame (uint8 BGR) or None at the end of a finite source."""
    live = False
    fps: float = 30.0
    frame_count: int = 0   # 0 = unknown or endless
    name = "source"

    def __init__(self, size: tuple[int, int] | None = None, mirror: bool = False):
        self.size, self.mirror = size, mirror

    def _finish(self, frame: np.ndarray) -> np.ndarray:
        if self.size and (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        return cv2.flip(frame, 1) if self.mirror else frame

    def read(self) -> np.ndarray | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class DemoSource(Source):
    """The bundled public-domain astronaut portrait, animated like a handheld webcam."""
    name = "demo"

    def __init__(self, size: tuple[int, int] | None = None, mirror: bool = False, frames: int = 0, seed: int = 0):
        super().__init__(None, mirror)
        self.out_wh = size or (640, 360)
        img = cv2.imread(str(ASSETS / "astronaut.jpg"), cv2.IMREAD_COLOR)
        if img is None:
            raise SourceError(f"demo image {ASSETS / 'astronaut.jpg'} is missing; reinstall edgeseg")
        self.image = img
        self.frame_count, self._i = frames, 0
        rng = np.random.default_rng(seed)   # sensor noise: a few precomputed fields, cycled
        self._noise = [rng.normal(0, 3.0, (self.out_wh[1], self.out_wh[0], 3)).astype(np.int16) for _ in range(7)]

    def read(self) -> np.ndarray | None:
        if self.frame_count and self._i >= self.frame_count:
            return None
        t = self._i / self.fps
        self._i += 1
        ow, oh = self.out_wh
        ih, iw = self.image.shape[:2]
        zoom = 1.0 + 0.08 * np.sin(t * 0.7)
        s = max(ow / iw, oh / ih) * 1.15 * zoom
        cx = iw / 2 + 0.06 * iw * np.sin(t * 0.9)
        cy = ih * 0.45 + 0.04 * ih * np.sin(t * 1.3)
        m = cv2.getRotationMatrix2D((cx, cy), 2.0 * np.sin(t * 0.5), s)
        m[0, 2] += ow / 2 - cx
        m[1, 2] += oh / 2 - cy
        frame = cv2.warpAffine(self.image, m, (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        frame = cv2.add(frame, self._noise[self._i % len(self._noise)], dtype=cv2.CV_8U)
        return self._finish(frame)


class ImageSource(Source):
    """A still image: once for `process`, repeated for `live`."""

    def __init__(self, path: Path, size=None, mirror=False, repeat: bool = False):
        super().__init__(size, mirror)
        self.name = str(path)
        self.image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if self.image is None:
            raise SourceError(f"cannot read image {path}: the file is corrupt or not an image")
        self.repeat, self.frame_count, self._done = repeat, (0 if repeat else 1), False

    def read(self) -> np.ndarray | None:
        if self._done and not self.repeat:
            return None
        self._done = True
        return self._finish(self.image.copy())


ROTATIONS = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, -90: cv2.ROTATE_90_CLOCKWISE, 270: cv2.ROTATE_90_CLOCKWISE,
             -270: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, -180: cv2.ROTATE_180}


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a display-matrix rotation (degrees counter-clockwise, as PyAV gives it) to a frame."""
    code = ROTATIONS.get(int(round(rotation / 90.0)) * 90)
    return image if code is None else cv2.rotate(image, code)


class FileSource(Source):
    """A video file through PyAV, every frame in order, upright (its rotation applied).

    `pts` and `time_base` give each frame's timestamp, so an output keeps the input's timing;
    `audio_stream` is its first audio stream (or None) and, once `keep_audio` is set, its packets
    wait in `take_audio()`. A file that ends early (truncated, or undecodable from some point) sets
    `truncated`; `frames_read` and `frame_count` (from the header) say how many frames came of how many.
    """

    def __init__(self, path: Path, size=None, mirror=False):
        import av
        super().__init__(size, mirror)
        self.name = str(path)
        try:
            self.container = av.open(str(path))
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot open video {path}: the file is corrupt or its codec is unsupported "
                              f"({getattr(exc, 'strerror', None) or exc})") from None
        if not self.container.streams.video:
            self.container.close()
            raise SourceError(f"cannot open video {path}: it has no video stream")
        vs = self.stream = self.container.streams.video[0]
        vs.thread_type = "AUTO"
        audio = self.container.streams.audio
        self.audio_stream = audio[0] if audio else None
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        self.fps = float(rate) if rate else 30.0
        self.time_base = vs.time_base
        self.frame_count = vs.frames or (int(round(float(vs.duration * vs.time_base) * self.fps))
                                         if vs.duration and vs.time_base else 0)
        self.exact_count = bool(vs.frames)
        self.keep_audio = False
        self.frames_read = self.decode_errors = 0
        self.pts: int | None = None
        self.truncated, self.error = False, None
        self._audio: list = []
        self._ready: list = []
        self._packets = self.container.demux(*(s for s in (vs, self.audio_stream) if s is not None))
        self._eof = False

    def take_audio(self) -> list:
        """The audio packets demuxed since the last call (in file order)."""
        out, self._audio = self._audio, []
        return out

    def _fill(self) -> None:
        import av
        while not self._ready and not self._eof:
            try:
                pkt = next(self._packets)
            except StopIteration:
                self._eof = True
                break
            except av.error.FFmpegError as exc:       # a broken file: the end, reported as truncated
                self._eof, self.error = True, str(exc)
                break
            if pkt.stream.type == "audio":
                if self.keep_audio:
                    self._audio.append(pkt)
                continue
            try:
                self._ready.extend(pkt.decode())
            except av.error.FFmpegError:
                self.decode_errors += 1
        if self._eof and not self._ready:
            self._check_complete()

    def _check_complete(self) -> None:
        missing = self.frame_count - self.frames_read
        slack = 0 if self.exact_count else max(2, self.frame_count // 50)
        if self.frame_count and missing > slack:
            self.truncated = True

    def read(self) -> np.ndarray | None:
        self._fill()
        if not self._ready:
            return None
        f = self._ready.pop(0)
        self.pts = f.pts
        img = upright(f.to_ndarray(format="bgr24"), f.rotation)
        self.frames_read += 1
        return self._finish(img)

    def close(self) -> None:
        self.container.close()


class LiveSource(Source):
    """A camera or stream, read on its own thread; the newest frame wins.

    If it stops giving frames it is reopened after 0.5, 1, 2, ... s (`retries` times), then
    read() raises SourceError. A stream that stalls with its socket open counts as stopped: a
    URL is opened with FFmpeg open and read timeouts of `read_timeout` s, so a read that waits
    longer fails and is retried like a stream that closed.
    """
    live = True

    def __init__(self, target: int | str, size=None, mirror=False, fps: float | None = None,
                 retries: int = 4, backoff: float = 0.5, read_timeout: float = 2.0):
        super().__init__(None, mirror)
        self.target, self.want_size, self.want_fps = target, size, fps
        self.retries, self.backoff, self.read_timeout = retries, backoff, read_timeout
        self.name = f"camera {target}" if isinstance(target, int) else str(target)
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._taken = 0
        self._error: str | None = None
        self._stop = False
        self.dropped = 0
        self.cap = self._open()
        self.fps = self.cap.get(cv2.CAP_PROP_FPS) or fps or 30.0
        self._thread = threading.Thread(target=self._loop, name=f"capture-{self.name}", daemon=True)
        self._thread.start()

    def _open(self) -> cv2.VideoCapture:
        if isinstance(self.target, str):
            ms = int(self.read_timeout * 1000)
            cap = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG,
                                   [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
        else:
            cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            hint = ("no camera found at that index; pass --source FILE|URL|demo, or another index"
                    if isinstance(self.target, int) else "check the URL and that the stream is up")
            raise SourceError(f"cannot open {self.name}: {hint}")
        if self.want_size:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.want_size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.want_size[1])
        if self.want_fps:
            cap.set(cv2.CAP_PROP_FPS, self.want_fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return cap

    def _loop(self) -> None:
        failures = 0
        while not self._stop:
            ok, frame = self.cap.read()
            if ok:
                failures = 0
                with self._cond:
                    if self._seq > self._taken:
                        self.dropped += 1
                    self._frame, self._seq = frame, self._seq + 1
                    self._cond.notify_all()
                continue
            if self._stop:
                break
            failures += 1
            if failures > self.retries:
                with self._cond:
                    self._error = f"{self.name} stopped giving frames and did not come back after {self.retries} retries"
                    self._cond.notify_all()
                return
            wait = self.backoff * 2 ** (failures - 1)
            log.warning("%s gave no frame; retry %d/%d in %.1f s", self.name, failures, self.retries, wait)
            time.sleep(wait)
            self.cap.release()
            try:
                self.cap = self._open()
            except SourceError:
                pass

    def read(self) -> np.ndarray | None:
        """The newest frame not yet returned (waits for one).

        Raises:
            SourceError: the source vanished and did not come back.
        """
        give_up = self.give_up_seconds()
        deadline = time.monotonic() + give_up
        with self._cond:
            while self._seq == self._taken and self._error is None:
                if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())) and time.monotonic() >= deadline:
                    raise SourceError(f"{self.name} gave no frame for {give_up:.0f} s; check the cable or the "
                                      "stream, then start again")
            if self._seq == self._taken and self._error is not None:
                raise SourceError(self._error + "; check the cable or the stream, then start again")
            self._taken = self._seq
            frame = self._frame
        return self._finish(frame)

    def give_up_seconds(self) -> float:
        """How long read() waits for a frame: every retry's backoff, open and read timeouts, plus slack."""
        waits = sum(self.backoff * 2 ** k for k in range(self.retries))
        return 2 * self.read_timeout * (self.retries + 1) + waits + 5.0

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=5)
        self.cap.release()


def open_source(spec: str | int, size: tuple[int, int] | None = None, fps: float | None = None,
                mirror: bool = False, repeat_images: bool = False, demo_frames: int = 0, retries: int = 4) -> Source:
    """Open `spec`: a camera index ('0'), 'demo', a URL, an image or a video file.

    Raises:
        SourceError: it cannot be opened (the message says what to try instead).
    """
    text = str(spec).strip()
    if text == "demo":
        return DemoSource(size, mirror, frames=demo_frames)
    if text.isdigit():
        return LiveSource(int(text), size, mirror, fps, retries=retries)
    if "://" in text:
        return LiveSource(text, size, mirror, fps, retries=retries)
    path = Path(text).expanduser()
    if not path.exists():
        raise SourceError(f"source {text!r} is not a camera index, URL, 'demo' or an existing file")
    if path.suffix.lower() in IMAGE_EXTS:
        return ImageSource(path, size, mirror, repeat=repeat_images)
    return FileSource(path, size, mirror)
