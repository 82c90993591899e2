"""Video files through PyAV: the codec and container tables, and VideoFileSink.

Written all-or-nothing (edgeseg.outputs): under a temporary name, every write checked, renamed into
place when complete.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .errors import ConfigError, choices_error
from .outputs import AtomicOutput


@dataclass(frozen=True)
class VideoCodec:
    """An encoder and how to drive it. `crf`: default quality (None: the codec takes no --crf)."""
    encoder: str
    pix_fmt: str
    alpha_fmt: str | None = None
    crf: int | None = None
    options: dict = field(default_factory=dict)


CODECS = {
    "h264": VideoCodec("libx264", "yuv420p", None, 23, {"preset": "veryfast"}),
    "hevc": VideoCodec("libx265", "yuv420p", None, 28, {"preset": "veryfast", "x265-params": "log-level=error"}),
    "vp9": VideoCodec("libvpx-vp9", "yuv420p", "yuva420p", 32,
                      {"b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}),
    "mpeg4": VideoCodec("mpeg4", "yuv420p", None, None, {"qmin": "2", "qmax": "4"}),
    "ffv1": VideoCodec("ffv1", "yuv420p", "yuva420p", None, {}),
}
# file suffix -> (FFmpeg muxer, default codec, default codec with alpha or None)
CONTAINERS = {
    ".mp4": ("mp4", "h264", None), ".m4v": ("mp4", "h264", None), ".mov": ("mov", "h264", None),
    ".mkv": ("matroska", "h264", "vp9"), ".webm": ("webm", "vp9", "vp9"), ".avi": ("avi", "mpeg4", None),
}
# the encoder to use where a container needs the audio re-encoded (FFmpeg's default codec name -> encoder)
AUDIO_ENCODERS = {"opus": "libopus", "mp3": "libmp3lame", "vorbis": "libopus"}
AUDIO_RATES = {"libopus": (48000,)}
ALPHA_HINT = "use a .webm (VP9 with alpha) or .mkv file, or a folder for a PNG sequence"


def video_codec(path: Path, codec: str | None, alpha: bool) -> tuple[str, str]:
    """(muxer, codec name) for an output file, checked against each other.

    Raises:
        ConfigError: unknown suffix or codec, a codec the container cannot hold, or alpha
            where the container or codec cannot keep it.
    """
    suffix = path.suffix.lower()
    if suffix not in CONTAINERS:
        raise ConfigError(f"output {path.name}: a video output is one of {', '.join(CONTAINERS)}"
                          " (or a folder for a PNG sequence)")
    muxer, default, alpha_default = CONTAINERS[suffix]
    if codec is None:
        codec = alpha_default if alpha else default
        if codec is None:
            raise ConfigError(f"output {path.name}: {suffix} cannot keep the cut-out's alpha; {ALPHA_HINT}")
    if codec not in CODECS:
        raise choices_error("codec", codec, tuple(CODECS))
    if alpha and CODECS[codec].alpha_fmt is None:
        raise ConfigError(f"codec {codec} cannot keep the cut-out's alpha; {ALPHA_HINT}")
    if alpha and suffix not in (".webm", ".mkv"):
        raise ConfigError(f"output {path.name}: {suffix} cannot keep the cut-out's alpha; {ALPHA_HINT}")
    return muxer, codec


def check_crf(codec: str, crf: int | None) -> None:
    """Raises ConfigError when --crf is given for a codec without one, or out of 0-63."""
    if crf is None:
        return
    if CODECS[codec].crf is None:
        raise ConfigError(f"codec {codec} takes no --crf; drop it, or use --codec "
                          + "|".join(k for k, v in CODECS.items() if v.crf is not None))
    if not 0 <= crf <= 63:
        raise ConfigError(f"--crf {crf} must be between 0 (best) and 63 (h264/hevc: 0-51)")


def _even(n: int) -> int:
    return n + (n & 1)


class VideoFileSink:
    """A video file through PyAV: H.264 yuv420p in .mp4 by default; VP9 with alpha for BGRA frames.

    Frames keep the timestamps they are given (`write(frame, pts)` in `time_base`), so the frame
    rate, variable or not, and the frame count are those of the input. The audio of `audio_from`
    (a source with an `audio_stream`) is copied, or re-encoded when the container cannot hold its
    codec (AAC into WebM becomes Opus). Odd sizes are padded by one pixel (4:2:0 needs even sizes).

    A FileSink (edgeseg.sinks), written all-or-nothing: `close()` moves the finished file onto `path`; `keep_partial()` keeps
    the frames so far under NAME.partial.EXT; `abort()` deletes them.

    Raises:
        ConfigError: unknown suffix or codec, --crf that the codec lacks, alpha in a container
            that cannot keep it. OutputError: the file cannot be written (at open or any write).
    """
    gray_mask = False                            # a mask goes in as the effect's BGR frame

    def __init__(self, path: str | Path, fps: float, size_wh: tuple[int, int], codec: str | None = None,
                 crf: int | None = None, alpha: bool = False, audio_from=None, time_base: Fraction | None = None,
                 inputs=()):
        import av
        self.path = Path(path).expanduser()
        muxer, self.codec = video_codec(self.path, codec, alpha)
        check_crf(self.codec, crf)
        spec = CODECS[self.codec]
        self.fps = Fraction(fps or 30.0).limit_denominator(1001)
        self.time_base = time_base or 1 / self.fps
        self.size, self.alpha, self.frames, self._last_pts = tuple(size_wh), alpha, 0, None
        self.audio_from, self.audio, self.audio_note = audio_from, None, "no audio"
        self._pad = None
        self.atomic = AtomicOutput(self.path, inputs)
        try:
            self.file = self.atomic.open()
            self.out = av.open(self.file, "w", format=muxer)
            st = self.out.add_stream(spec.encoder, rate=self.fps)
            st.width, st.height = _even(self.size[0]), _even(self.size[1])
            st.pix_fmt = spec.alpha_fmt if alpha else spec.pix_fmt
            st.codec_context.time_base = self.time_base
            st.time_base = self.time_base
            opts = dict(spec.options)
            if spec.crf is not None:
                opts["crf"] = str(spec.crf if crf is None else crf)
            st.options = opts
            self.stream = st
            ain = getattr(audio_from, "audio_stream", None)
            if ain is not None:
                self._add_audio(ain)
            self.out.start_encoding()
        except Exception as exc:
            if hasattr(self, "file"):
                self.file.close()
            raise self.atomic.failed("at the start (encoder " + spec.encoder + ")", exc) from None

    @property
    def note(self) -> str:
        """The codec and what happened to the audio, e.g. 'h264, audio aac copied'."""
        return f"{self.codec}, {self.audio_note}"

    def kept(self) -> str:
        return self.atomic.kept()

    def _add_audio(self, ain) -> None:
        name = ain.codec_context.name
        if name in self.out.supported_codecs:
            self.audio = self.out.add_stream_from_template(ain)
            self.audio_note, self._reencode = f"audio {name} copied", False
            return
        default = self.out.default_audio_codec
        enc = AUDIO_ENCODERS.get(default, default)
        rate = ain.codec_context.sample_rate
        rates = AUDIO_RATES.get(enc)
        self.audio = self.out.add_stream(enc, rate=rate if not rates or rate in rates else rates[0])
        self.audio_note, self._reencode = f"audio {name} re-encoded to {enc} ({self.path.suffix} needs it)", True

    def _mux_audio(self, flush: bool = False) -> None:
        if self.audio is None:
            return
        for pkt in self.audio_from.take_audio():
            if self._reencode:
                for fr in pkt.decode():
                    fr.pts = None
                    self.out.mux(self.audio.encode(fr))
            elif pkt.dts is not None:
                pkt.stream = self.audio
                self.out.mux(pkt)
        if flush and self._reencode:
            self.out.mux(self.audio.encode(None))

    def _frame(self, frame: np.ndarray):
        import av
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        if self.size[0] & 1 or self.size[1] & 1:
            w, h = self.size
            if self._pad is None:
                self._pad = np.empty((_even(h), _even(w), frame.shape[2]), np.uint8)
            self._pad[:h, :w] = frame
            self._pad[h:, :w] = frame[h - 1:h]
            self._pad[:, w:] = self._pad[:, w - 1:w]
            frame = self._pad
        return av.VideoFrame.from_ndarray(frame, format="bgra" if frame.shape[2] == 4 else "bgr24")

    def write(self, frame: np.ndarray, pts: int | None = None) -> None:
        """Encode one BGR (or BGRA, with alpha=True) frame at `pts` (in time_base; None: the next one).

        Raises:
            OutputError: the write failed (disk full, encoder error); the temporary file is removed.
        """
        if pts is None:
            pts = round(self.frames / (self.fps * self.time_base))
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        try:
            vf = self._frame(frame)
            vf.pts, vf.time_base = pts, self.time_base
            self.out.mux(self.stream.encode(vf))
            self._mux_audio()
        except Exception as exc:
            self._close_quietly()
            raise self.atomic.failed(f"after {self.frames} frames", exc) from None
        self._last_pts = pts
        self.frames += 1

    def _finish(self) -> None:
        self.out.mux(self.stream.encode(None))
        self._mux_audio(flush=True)
        self.out.close()
        self.file.close()

    def _close_quietly(self) -> None:
        for f in (self.out.close, self.file.close):
            try:
                f()
            except Exception:
                pass

    def close(self) -> Path:
        """Finish the file and move it onto its final name.

        Raises:
            OutputError: finishing failed (the final name keeps what it held).
        """
        try:
            self._finish()
            return self.atomic.commit()
        except Exception as exc:
            self._close_quietly()
            raise self.atomic.failed(f"while finishing ({self.frames} frames)", exc) from None

    def keep_partial(self) -> Path | None:
        """Finish the frames written so far under NAME.partial.EXT (None if that fails too)."""
        try:
            self._finish()
            return self.atomic.keep_partial()
        except Exception:
            self._close_quietly()
            self.atomic.abort()
            return None

    def abort(self) -> None:
        self._close_quietly()
        self.atomic.abort()
