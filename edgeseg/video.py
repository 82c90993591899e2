"""The frame loops behind `edgeseg live` and `edgeseg process`.

Both release the source and finalize every output on any exit: the end of the input, a source
that vanished, Ctrl-C, or an error.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import ConfigError, OutputError, SourceError
from .pipeline import EFFECTS, Pipeline
from .sinks import MaskFolderSink, VideoFileSink, VirtualCamSink, WindowSink, check_writable, has_display
from .sources import IMAGE_EXTS, Source

log = logging.getLogger("edgeseg")


@dataclass
class LoopResult:
    frames: int
    seconds: float
    stopped_by: str          # 'end', 'max-frames', 'quit', 'interrupt', 'source-lost'
    summary: dict

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class Progress:
    """A one-line progress bar on stderr (no dependency)."""

    def __init__(self, total: int, enabled: bool = True):
        self.total, self.enabled, self.t0, self.last = total, enabled, time.perf_counter(), 0.0

    def update(self, n: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self.last < 0.5 and not force):
            return
        self.last = now
        fps = n / max(1e-6, now - self.t0)
        if self.total:
            done = int(30 * n / self.total)
            bar = "#" * done + "." * (30 - done)
            sys.stderr.write(f"\r[{bar}] {n}/{self.total} frames  {fps:5.1f} fps")
        else:
            sys.stderr.write(f"\r{n} frames  {fps:5.1f} fps")
        sys.stderr.flush()

    def close(self, n: int) -> None:
        if self.enabled:
            self.update(n, force=True)
            sys.stderr.write("\n")


def read_and_process(source: Source, pipeline: Pipeline) -> np.ndarray | None:
    """The next frame through the pipeline (None at the end); the wait is timed as capture_wait."""
    t = time.perf_counter()
    frame = source.read()
    if frame is None:
        return None
    pipeline.timings.add("capture_wait", (time.perf_counter() - t) * 1e3)
    return pipeline.process(frame)


def write_stats(path: str | Path | None, pipeline: Pipeline) -> None:
    if path:
        Path(path).write_text(json.dumps(pipeline.stats(), indent=1))


def run_process(pipeline: Pipeline, source: Source, output: str | Path, progress: bool = True,
                stats_json: str | Path | None = None) -> LoopResult:
    """Process every frame of an image or video file into `output`.

    `output` is an image file for an image input, an mp4 for a video, or a folder for
    `--effect mask` (one PNG mask per frame).

    Raises:
        OutputError: the output cannot be written (checked before any work).
    """
    output = Path(output).expanduser()
    if Path(source.name).exists() and output.resolve() == Path(source.name).resolve():
        raise OutputError(f"output {output} is the input file; choose another -o (the input is never overwritten)")
    mask_folder = pipeline.options.effect == "mask" and (output.suffix == "" or output.is_dir())
    if source.frame_count == 1 and not mask_folder:       # a still image
        if output.suffix.lower() not in IMAGE_EXTS:
            raise ConfigError(f"output {output.name}: an image input needs an image output (.png, .jpg)")
        check_writable(output)
        frame = source.read()
        t = time.perf_counter()
        out = pipeline.process(frame)
        if not cv2.imwrite(str(output), out):
            raise OutputError(f"cannot write {output}")
        write_stats(stats_json, pipeline)
        return LoopResult(1, time.perf_counter() - t, "end", pipeline.timings.summary())
    sink = MaskFolderSink(output) if mask_folder else None
    bar = Progress(source.frame_count, progress)
    frames, stopped = 0, "end"
    t0 = time.perf_counter()
    try:
        while True:
            out = read_and_process(source, pipeline)
            if out is None:
                break
            t = time.perf_counter()
            if mask_folder:
                sink.write_mask(pipeline.mask)
            else:
                if sink is None:
                    sink = VideoFileSink(output, source.fps, (out.shape[1], out.shape[0]))
                sink.write(out)
            pipeline.timings.add("output", (time.perf_counter() - t) * 1e3)
            frames += 1
            bar.update(frames)
    except KeyboardInterrupt:
        stopped = "interrupt"
        log.warning("interrupted: finalizing %s with %d frames", output, frames)
    except SourceError as exc:
        stopped = "source-lost"
        log.error("%s; finalizing %s with %d frames", exc, output, frames)
    finally:
        bar.close(frames)
        if sink is not None:
            sink.close()
        source.close()
        write_stats(stats_json, pipeline)
    return LoopResult(frames, time.perf_counter() - t0, stopped, pipeline.timings.summary())


def run_live(pipeline: Pipeline, source: Source, headless: bool = False, max_frames: int = 0,
             output: str | Path | None = None, virtual_cam: bool = False,
             stats_json: str | Path | None = None, print_every: float = 1.0) -> LoopResult:
    """Show (or print FPS for) a live source until it ends, q is pressed, or Ctrl-C."""
    window = None
    if not headless and not has_display():
        log.warning("no display found: running headless (pass --headless to silence this)")
        headless = True
    writer = vcam = None
    frames, stopped = 0, "end"
    t0 = last_print = time.perf_counter()
    show_mask = False
    try:
        if output:
            check_writable(Path(output).expanduser())
        if not headless:
            window = WindowSink()
        while not max_frames or frames < max_frames:
            out = read_and_process(source, pipeline)
            if out is None:
                break
            t = time.perf_counter()
            if output:
                if writer is None:
                    writer = VideoFileSink(output, source.fps, (out.shape[1], out.shape[0]))
                writer.write(out)
            if virtual_cam:
                if vcam is None:
                    vcam = VirtualCamSink((out.shape[1], out.shape[0]), source.fps)
                vcam.write(out)
            if window is not None:
                stats = pipeline.timings.last()
                fps = frames / max(1e-6, time.perf_counter() - t0)
                lines = [f"{fps:5.1f} fps  {pipeline.options.effect}  blur {pipeline.options.blur_strength:.0f}",
                         "  ".join(f"{k[:5]} {v:.1f}" for k, v in stats.items())]
                view = cv2.cvtColor(pipeline.mask, cv2.COLOR_GRAY2BGR) if show_mask and pipeline.mask is not None else out
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
    finally:
        source.close()
        for sink in (writer, vcam, window):
            if sink is not None:
                sink.close()
        write_stats(stats_json, pipeline)
    return LoopResult(frames, time.perf_counter() - t0, stopped, pipeline.timings.summary())


def handle_key(pipeline: Pipeline, key: int) -> None:
    opts = pipeline.options
    if key in (ord("+"), ord("=")):
        opts.blur_strength = min(60.0, opts.blur_strength * 1.25)
    elif key == ord("-"):
        opts.blur_strength = max(1.0, opts.blur_strength / 1.25)
    elif key == ord("e"):
        choices = [e for e in EFFECTS if e != "replace" or pipeline.background is not None]
        pipeline.set_effect(choices[(choices.index(opts.effect) + 1) % len(choices)])
