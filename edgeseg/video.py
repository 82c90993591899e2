"""The frame loops behind `edgeseg live` and `edgeseg process`.

Both release the source and settle every output on any exit. `process` writes all-or-nothing:
a finished run replaces the output at once; on an error the output keeps what it held; on
Ctrl-C or SIGTERM the frames done are kept under NAME.partial.EXT and an OutputError says so.
`live` finalizes its recording on every normal stop (q, Ctrl-C, SIGTERM, --max-frames, the end
or loss of the source), since stopping is how a live recording ends.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .errors import ConfigError, EdgeSegError, OutputError, SourceError
from .outputs import AtomicFolder, Interrupted, check_not_input, check_writable, interruption, sigterm_as_interrupt, write_text_atomic
from .pipeline import ALPHA_EFFECTS, EFFECTS, Pipeline
from .sinks import FileSink, FrameFolderSink, ImageSink, Sink, VideoFileSink, VirtualCamSink, WindowSink, \
    check_crf, has_display, video_codec
from .sources import IMAGE_EXTS, ImageSource, Source

log = logging.getLogger("edgeseg")

# how each way of stopping ends the command (README "Exit codes")
EXIT_CODES = {"end": 0, "max-frames": 0, "quit": 0, "interrupt": 0, "source-lost": 1, "truncated": 3}


@dataclass
class LoopResult:
    frames: int
    seconds: float
    stopped_by: str          # 'end', 'max-frames', 'quit', 'interrupt', 'source-lost', 'truncated'
    summary: dict
    output: Path | None = None
    note: str = ""           # what was written: codec, audio, or why it stopped early

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.stopped_by]


def read_and_process(source: Source, pipeline: Pipeline, still: bool = False) -> np.ndarray | None:
    """The next frame through the pipeline (None at the end); the wait is timed as capture_wait.
    `still`: the frame is a photo (Pipeline.process)."""
    t = time.perf_counter()
    frame = source.read()
    if frame is None:
        return None
    pipeline.timings.add("capture_wait", (time.perf_counter() - t) * 1e3)
    return pipeline.process(frame, still=still)


def check_stats_path(path: str | Path | None) -> None:
    """Fail before any work when the --stats-json file cannot be written (OutputError)."""
    if path:
        check_writable(Path(path).expanduser())


def write_stats(path: str | Path | None, pipeline: Pipeline) -> None:
    """Raises OutputError when the stats file cannot be written."""
    if path:
        write_text_atomic(Path(path).expanduser(), json.dumps(pipeline.stats(), indent=1))


def is_folder_output(output: Path) -> bool:
    """An output that names a folder: an existing one, a trailing slash, or no suffix."""
    return output.is_dir() or str(output).endswith(("/", "\\")) or output.suffix == ""


def output_kind(source: Source, output: Path) -> str:
    """'image' (a still in, a still out), 'folder' (one PNG per frame) or 'video'."""
    if isinstance(source, ImageSource) or source.frame_count == 1 and not hasattr(source, "stream"):
        return "image"
    return "folder" if is_folder_output(output) else "video"


def frame_to_write(pipeline: Pipeline, out: np.ndarray, sink: FileSink) -> np.ndarray:
    """The 1-channel mask for a sink that takes one (`gray_mask`: PNGs), else the pipeline's frame."""
    if pipeline.options.effect == "mask" and sink.gray_mask:
        return pipeline.mask
    return out


def video_sink(path: Path, source: Source, first: np.ndarray, codec: str | None, crf: int | None,
               keep_timing: bool) -> VideoFileSink:
    """A video output at the first frame's size, with alpha for BGRA frames; keep_timing: with the
    input's timestamps and audio (process; live records at the source's frame rate, no audio).

    Raises:
        ConfigError, OutputError: see VideoFileSink.
    """
    audio = source if keep_timing and getattr(source, "audio_stream", None) else None
    return VideoFileSink(path, source.fps, (first.shape[1], first.shape[0]), codec, crf,
                         alpha=first.ndim == 3 and first.shape[2] == 4, audio_from=audio,
                         time_base=getattr(source, "time_base", None) if keep_timing else None, inputs=[source.name])


def file_sink(kind: str, output: Path, source: Source, first: np.ndarray, codec: str | None,
              crf: int | None) -> FileSink:
    """The FileSink for `kind` (see output_kind), opened at the first frame.

    Raises:
        ConfigError, OutputError: see the sink classes.
    """
    if kind == "image":
        return ImageSink(output, [source.name])
    if kind == "folder":
        return FrameFolderSink(output)
    return video_sink(output, source, first, codec, crf, keep_timing=True)


def check_process_output(source: Source, output: Path, effect: str, codec: str | None = None,
                         crf: int | None = None) -> str:
    """Everything about `output` that can be checked before any work; returns its kind.

    Raises:
        ConfigError: an output type that does not fit the input or effect.
        OutputError: the output is the input, or cannot be written.
    """
    kind = output_kind(source, output)
    alpha = effect in ALPHA_EFFECTS
    if kind == "image":
        suffix = output.suffix.lower()
        if suffix not in IMAGE_EXTS:
            raise ConfigError(f"output {output.name}: an image input needs an image output (.png, .jpg, .webp)")
        if alpha and suffix not in (".png", ".webp", ".tif", ".tiff"):
            raise ConfigError(f"output {output.name}: --effect {effect} needs .png or .webp (JPEG has no alpha)")
    elif kind == "video":
        _, name = video_codec(output, codec, alpha)
        check_crf(name, crf)
    if kind == "folder":
        AtomicFolder.check(output)
    else:
        check_not_input(output, [source.name])
        check_writable(output)
    return kind


def run_process(pipeline: Pipeline, source: Source, output: str | Path, progress: bool = True,
                stats_json: str | Path | None = None, codec: str | None = None, crf: int | None = None,
                bar: tqdm | None = None) -> LoopResult:
    """Process every frame of an image or video file into `output`, all-or-nothing.

    `output` is an image for an image input; a video file (.mp4 H.264 by default, .webm for a
    cut-out with alpha) or a folder (one PNG per frame) for a video. A video keeps the input's
    timestamps, frame count and audio. `bar`, when given, is a shared progress bar (a batch).

    Raises:
        ConfigError: the output type does not fit. OutputError: it cannot be written (checked
            before any work), a write failed, or the run was interrupted (the message says what
            was kept). SourceError: the input gave no frame.
    """
    output = Path(output).expanduser()
    kind = check_process_output(source, output, pipeline.options.effect, codec, crf)
    check_stats_path(stats_json)
    own_bar = bar is None
    if own_bar:
        bar = tqdm(total=source.frame_count or None, unit="frame", disable=not progress, leave=False,
                   desc=Path(source.name).name, dynamic_ncols=True)
    sink, frames, stopped, t0 = None, 0, "end", time.perf_counter()
    if kind == "video" and hasattr(source, "keep_audio"):
        source.keep_audio = True
    try:
        with sigterm_as_interrupt():
            while True:
                out = read_and_process(source, pipeline, still=kind == "image")
                if out is None:
                    break
                t = time.perf_counter()
                if sink is None:
                    sink = file_sink(kind, output, source, out, codec, crf)
                sink.write(frame_to_write(pipeline, out, sink), getattr(source, "pts", None))
                pipeline.timings.add("output", (time.perf_counter() - t) * 1e3)
                frames += 1
                bar.update(1)
                if kind == "image":
                    break
            if frames == 0:
                raise SourceError(f"{source.name} gave no frame: the file is empty or damaged")
            note = sink.note
            sink.close()
            if getattr(source, "truncated", False):
                stopped = "truncated"
                note = (f"{source.name} ended early: {frames} of {source.frame_count} frames read (the file is "
                        f"truncated or damaged); {output} holds the {frames} frames read")
                log.warning("warning: %s", note)
    except KeyboardInterrupt as exc:
        kept = sink.kept() if sink is not None else f"{output} was not touched"
        partial = sink.keep_partial() if sink is not None and sink.frames else None
        if sink is not None and partial is None:
            sink.abort()
        total = f" of {source.frame_count}" if source.frame_count else ""
        done = (f"the {frames} frames done are in {partial}" if partial else "no frames were kept")
        raise Interrupted(f"interrupted ({interruption(exc)}) after {frames}{total} frames: {kept}; {done}") from None
    except OutputError:
        raise                                    # the sink has removed its temporary file
    except Exception as exc:
        if sink is None:
            raise
        sink.abort()
        if not sink.frames:                      # the first frame failed: the error alone says it
            raise
        what = f"{exc}" if isinstance(exc, EdgeSegError) else f"{type(exc).__name__}: {exc}"
        raise OutputError(f"stopped by an error after {frames} frames ({what}); {sink.kept()}") from exc
    finally:
        if own_bar:
            bar.close()
        source.close()
    write_stats(stats_json, pipeline)
    return LoopResult(frames, time.perf_counter() - t0, stopped, pipeline.timings.summary(), output, note)


def run_live(pipeline: Pipeline, source: Source, headless: bool = False, max_frames: int = 0,
             output: str | Path | None = None, virtual_cam: bool = False,
             stats_json: str | Path | None = None, print_every: float = 1.0,
             codec: str | None = None, crf: int | None = None) -> LoopResult:
    """Show (or print FPS for) a live source until it ends, q is pressed, Ctrl-C or SIGTERM.

    Raises:
        OutputError: `output` cannot be written (checked before any work) or a write failed
            (the output then keeps what it held).
    """
    window = None
    if not headless and not has_display():
        log.warning("no display found: running headless (pass --headless to silence this)")
        headless = True
    recording: FileSink | None = None       # --output, settled all-or-nothing
    live: list[Sink] = []                   # --virtual-cam; both opened at the first frame (its size)
    sinks: list[Sink] = []
    frames, stopped = 0, "end"
    t0 = last_print = time.perf_counter()
    show_mask = False
    alpha = pipeline.options.effect in ALPHA_EFFECTS
    out_path = Path(output).expanduser() if output else None
    written = None
    try:
        with sigterm_as_interrupt():
            if out_path:
                check_crf(video_codec(out_path, codec, alpha)[1], crf)
                check_not_input(out_path, [source.name])
                check_writable(out_path)
            check_stats_path(stats_json)
            if not headless:
                window = WindowSink()
            try:
                while not max_frames or frames < max_frames:
                    out = read_and_process(source, pipeline)
                    if out is None:
                        break
                    t = time.perf_counter()
                    if frames == 0:
                        recording = video_sink(out_path, source, out, codec, crf, False) if out_path else None
                        live = [VirtualCamSink((out.shape[1], out.shape[0]), source.fps)] if virtual_cam else []
                        sinks = [recording, *live] if recording is not None else live
                    for sink in sinks:
                        sink.write(out)
                    if window is not None:
                        stats = pipeline.timings.last()
                        fps = frames / max(1e-6, time.perf_counter() - t0)
                        lines = [f"{fps:5.1f} fps  {pipeline.options.effect}  blur {pipeline.options.blur_strength:.0f}",
                                 "  ".join(f"{k[:5]} {v:.1f}" for k, v in stats.items())]
                        view = (cv2.cvtColor(pipeline.mask, cv2.COLOR_GRAY2BGR)
                                if show_mask and pipeline.mask is not None else out)
                        key = window.show(view, lines)
                        if key in (ord("q"), 27):
                            stopped = "quit"
                            break
                        handle_key(pipeline, key)
                        show_mask = (not show_mask) if key == ord("m") else show_mask
                    pipeline.timings.add("output", (time.perf_counter() - t) * 1e3)
                    frames += 1
                    now = time.perf_counter()
                    if headless and now - last_print >= print_every:
                        s = pipeline.timings.summary()
                        print(f"{frames} frames  {frames / (now - t0):5.1f} fps  "
                              f"{s['ms_per_frame_median']:.2f} ms/frame median", flush=True)
                        last_print = now
                else:
                    stopped = "max-frames"
            except KeyboardInterrupt:
                stopped = "interrupt"
            except SourceError as exc:
                stopped = "source-lost"
                log.error("%s", exc)
            if recording is not None:
                written, recording = recording.close(), None
    except BaseException:
        if recording is not None:
            recording.abort()
        raise
    finally:
        source.close()
        for sink in (*live, window):
            if sink is not None:
                sink.close()
    write_stats(stats_json, pipeline)
    return LoopResult(frames, time.perf_counter() - t0, stopped, pipeline.timings.summary(), written)


def handle_key(pipeline: Pipeline, key: int) -> None:
    opts = pipeline.options
    if key in (ord("+"), ord("=")):
        pipeline.set_blur(min(60.0, opts.blur_strength * 1.25))
    elif key == ord("-"):
        pipeline.set_blur(max(1.0, opts.blur_strength / 1.25))
    elif key == ord("e"):                   # cycle among effects with the same kind of frame (BGR or BGRA)
        alpha = opts.effect in ALPHA_EFFECTS
        choices = [e for e in EFFECTS if (e != "replace" or pipeline.background is not None)
                   and (e in ALPHA_EFFECTS) == alpha]
        pipeline.set_effect(choices[(choices.index(opts.effect) + 1) % len(choices)])
