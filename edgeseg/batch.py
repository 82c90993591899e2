"""`edgeseg process INPUT... -o OUTDIR/`: files, folders and globs; one progress bar; a summary.

A bad file is recorded and the batch goes on. Output names come from the input's stem and the
effect (OUTPUTS); every output path is checked before any work.
"""
from __future__ import annotations

import glob
import logging
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from .errors import ConfigError, EdgeSegError, OutputError
from .files import IMAGE_EXTS, is_image
from .outputs import Interrupted, check_writable
from .pipeline import ALPHA_EFFECTS, Pipeline
from .sinks import check_crf, video_codec
from .video import check_stats_path, run_process, write_stats

log = logging.getLogger("edgeseg")
VIDEO_EXTS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".gif")
# effect -> (image output suffix, None: the input's; video output suffix, "": a folder of PNGs)
OUTPUTS = {"mask": (".png", ""), "cutout": (".png", ".webm")}
DEFAULT_OUTPUT = (None, ".mp4")


@dataclass
class BatchResult:
    done: list = field(default_factory=list)        # (input, output, note)
    skipped: list = field(default_factory=list)     # (input, reason)
    failed: list = field(default_factory=list)      # (input, reason)
    truncated: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 3 if self.truncated else 0

    def summary(self) -> str:
        lines = [f"done {len(self.done)}, skipped {len(self.skipped)}, failed {len(self.failed)}"]
        lines += [f"  skipped {p}: {why}" for p, why in self.skipped]
        lines += [f"  failed {p}: {why}" for p, why in self.failed]
        lines += [f"  warning {p}: {note}" for p, _, note in self.done if "ended early" in note]
        return "\n".join(lines)


def is_media(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS + VIDEO_EXTS


def expand_inputs(specs: list[str], result: BatchResult) -> list[Path]:
    """Files as given, folders as their image and video files (sorted), globs as their matches.
    Missing inputs are recorded as failed, repeats and non-media files in folders as skipped."""
    paths: list[Path] = []
    for spec in specs:
        p = Path(spec).expanduser()
        if p.is_dir():
            for child in sorted(p.iterdir()):
                if child.is_file() and is_media(child):
                    paths.append(child)
                elif child.is_file() and not child.name.startswith("."):
                    result.skipped.append((child, "not an image or video file"))
        elif p.exists():
            paths.append(p)
        elif glob.has_magic(spec):
            matches = sorted(Path(m) for m in glob.glob(str(p), recursive=True))
            if not matches:
                result.failed.append((spec, "no file matches this pattern"))
            paths += [m for m in matches if m.is_file() and is_media(m)]
        else:
            result.failed.append((spec, "not found"))
    seen, unique = set(), []
    for p in paths:
        key = p.resolve()
        if key in seen:
            result.skipped.append((p, "given more than once"))
        else:
            seen.add(key)
            unique.append(p)
    return unique


def plan(inputs: list[Path], outdir: Path, effect: str, result: BatchResult) -> list[tuple[Path, Path]]:
    """(input, output) pairs. Two inputs with one output name: the second is skipped.

    Raises:
        OutputError: an output would overwrite an input (processing into the input folder).
    """
    image_suffix, video_suffix = OUTPUTS.get(effect, DEFAULT_OUTPUT)
    jobs, owner = [], {}
    inputs_resolved = {p.resolve() for p in inputs}
    for p in inputs:
        out = outdir / (p.stem + ((image_suffix or p.suffix.lower()) if is_image(p) else video_suffix))
        if out.resolve() in inputs_resolved:
            raise OutputError(f"output {out} would overwrite the input {p}; choose another -o folder")
        if out in owner:
            result.skipped.append((p, f"its output {out.name} is also the output of {owner[out].name}; rename one"))
            continue
        owner[out] = p
        jobs.append((p, out))
    return jobs


def frame_estimate(path: Path) -> int:
    """1 for an image; the header's frame count for a video (1 when unknown or unreadable)."""
    if is_image(path):
        return 1
    try:
        import av
        with av.open(str(path)) as c:
            vs = c.streams.video[0]
            return max(1, vs.frames or int(float(vs.duration * vs.time_base * vs.average_rate)))
    except Exception:
        return 1


def run_batch(pipeline: Pipeline, specs: list[str], outdir: str | Path, codec: str | None = None,
              crf: int | None = None, progress: bool = True, stats_json: str | Path | None = None) -> BatchResult:
    """Process every input into `outdir`, going past files that fail.

    Raises:
        ConfigError: bad --codec/--crf. OutputError: `outdir` or the stats file cannot be
            written, or an output would overwrite an input (all before any work).
        Interrupted: Ctrl-C or SIGTERM; the message holds the summary so far.
    """
    from .sources import open_source
    outdir = Path(outdir).expanduser()
    check_writable(outdir, is_dir=True)
    check_stats_path(stats_json)
    result = BatchResult()
    jobs = plan(expand_inputs(specs, result), outdir, pipeline.options.effect, result)
    if not jobs and not result.failed:
        raise ConfigError("no image or video files among the inputs; pass files, folders or globs")
    if codec or crf is not None or any(not is_image(p) for p, _ in jobs):   # the same for every file: check once
        suffix = OUTPUTS.get(pipeline.options.effect, DEFAULT_OUTPUT)[1] or ".mp4"
        check_crf(video_codec(Path("x" + suffix), codec, pipeline.options.effect in ALPHA_EFFECTS)[1], crf)
    sizes = [frame_estimate(p) for p, _ in jobs]
    bar = tqdm(total=sum(sizes), unit="frame", disable=not progress, dynamic_ncols=True,
               desc=f"{len(jobs)} files")
    done_frames = 0
    try:
        with logging_redirect_tqdm():
            for (src, out), size in zip(jobs, sizes):
                bar.set_postfix_str(src.name, refresh=False)
                try:
                    pipeline.reset()
                    res = run_process(pipeline, open_source(str(src)), out, codec=codec, crf=crf, bar=bar)
                    result.done.append((src, out, res.note))
                    result.truncated += res.stopped_by == "truncated"
                except Interrupted as exc:
                    result.failed.append((src, str(exc)))
                    raise Interrupted(f"{exc}\nthe batch stopped there: {result.summary()}") from None
                except EdgeSegError as exc:
                    result.failed.append((src, str(exc)))
                except Exception as exc:         # keep going past a bad file, whatever broke
                    result.failed.append((src, f"{type(exc).__name__}: {exc}"))
                done_frames += size
                bar.n = done_frames
                bar.refresh()
    finally:
        bar.close()
    write_stats(stats_json, pipeline)
    return result
