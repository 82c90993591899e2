"""Soak: many 720p frames through the full pipeline; memory growth and latency drift.

    python -m benchmarks.soak --frames 20000 --json benchmarks/results/soak.json --markdown benchmarks/results/soak.md

Frames come from desk.mp4 scaled to 1280×720, preloaded and looped, so the figures are the
pipeline's own (no decoding). RSS is read from /proc/self/statm after the warm-up and at the
end; drift compares the p90 of the first and the last 1,000 frames after warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from edgeseg import Pipeline, PipelineOptions, SegmenterOptions

from .frames import read_frames

VIDEO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos" / "desk.mp4"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def load_frames(n: int, size_wh=(1280, 720)) -> list[np.ndarray]:
    """desk.mp4 at size_wh, or the bundled demo source where the shared data is absent."""
    frames = read_frames(VIDEO, n, size_wh) if VIDEO.exists() else []
    if not frames:
        from edgeseg.sources import DemoSource
        src = DemoSource(size_wh)
        frames = [src.read() for _ in range(n)]
    return frames


def soak(frames: int, warmup: int = 500, window: int = 1000, threads: int = 2) -> dict:
    clip = load_frames(300)
    times = np.empty(frames, np.float64)
    rss = []
    opts = PipelineOptions(segmenter=SegmenterOptions(provider="cpu", threads=threads), effect="blur")
    with Pipeline(opts) as pipe:
        for i in range(frames):
            t = time.perf_counter()
            pipe.process(clip[i % len(clip)])
            times[i] = (time.perf_counter() - t) * 1e3
            if i == warmup - 1:
                rss_after_warmup = rss_mb()
            if i % 100 == 0:
                rss.append((i, rss_mb()))
    end = rss_mb()
    after = times[warmup:]
    w = min(window, max(1, len(after) // 2))
    first, last = np.percentile(after[:w], 90), np.percentile(after[-w:], 90)
    return {"frames": frames, "warmup": warmup, "window": w, "rss_mb_after_warmup": rss_after_warmup,
            "rss_mb_end": end, "rss_growth_mb": end - rss_after_warmup, "p90_first_ms": float(first),
            "p90_last_ms": float(last), "p90_drift_ratio": float(last / first),
            "median_ms": float(np.median(after)), "rss_samples": rss}


def markdown(r: dict) -> str:
    return (f"# Soak: {r['frames']} frames at 1280×720, full pipeline (blur, refinement, temporal)\n\n"
            f"| figure | value | limit |\n|---|---|---|\n"
            f"| RSS after warm-up ({r['warmup']} frames) | {r['rss_mb_after_warmup']:.1f} MB | |\n"
            f"| RSS at the end | {r['rss_mb_end']:.1f} MB | |\n"
            f"| RSS growth | {r['rss_growth_mb']:+.2f} MB | ≤ 5 MB |\n"
            f"| p90, first {r['window']} frames | {r['p90_first_ms']:.2f} ms | |\n"
            f"| p90, last {r['window']} frames | {r['p90_last_ms']:.2f} ms | |\n"
            f"| drift (last / first p90) | {r['p90_drift_ratio']:.3f} | ≤ 1.1 |\n"
            f"| median ms/frame | {r['median_ms']:.2f} ms | |\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=20000)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json")
    p.add_argument("--markdown")
    args = p.parse_args(argv)
    r = soak(args.frames, args.warmup, threads=args.threads)
    text = markdown(r)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
