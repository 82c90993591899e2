"""Latency governor (`--budget-ms`): what each level costs and gives up, and what it holds under load.

    python -m benchmarks.governor --json benchmarks/results/governor.json

levels: desk.mp4 (960×540) through the blur pipeline at each governor level, fixed: ms per frame
        p50/p90, and the quality given up: mean IoU (mask at 0.5) and mean |alpha difference| of
        each frame's mask against level 0's mask for the same frame.
load:   the same frames with a competing CPU load beside them (`--load` processes that spin for at
        most `--load-seconds`), without and with the governor at `--budget` ms, in alternating
        passes: ms p50/p90, frames over budget, the governor's steps, and the same quality figures.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from pathlib import Path

import cv2
import numpy as np

from edgeseg import Pipeline, PipelineOptions, SegmenterOptions
from benchmarks.emit import emit_json
from benchmarks.frames import read_frames


def make_pipeline(budget: float | None = None) -> Pipeline:
    return Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu"), effect="blur", budget_ms=budget))


def set_level(pipe: Pipeline, level: int) -> None:
    """Fix a pipeline at one governor level (as the governor would apply it)."""
    pipe._apply(pipe.governor_levels()[level][1])


def run(pipe: Pipeline, frames: list[np.ndarray], ref: list[np.ndarray] | None) -> dict:
    ms, ious, diffs = [], [], []
    for i, f in enumerate(frames):
        t = time.perf_counter()
        pipe.process(f)
        ms.append((time.perf_counter() - t) * 1e3)
        if ref is not None:
            a, b = pipe.mask >= 128, ref[i] >= 128
            union = int((a | b).sum())
            ious.append(int((a & b).sum()) / union if union else 1.0)
            diffs.append(float(cv2.absdiff(pipe.mask, ref[i]).mean()) / 255.0)
    out = {"frames": len(frames), "ms_p50": round(float(np.percentile(ms, 50)), 3),
           "ms_p90": round(float(np.percentile(ms, 90)), 3), "ms": ms}
    if ref is not None:
        out.update(iou_vs_level0=round(float(np.mean(ious)), 4), alpha_diff_vs_level0=round(float(np.mean(diffs)), 5))
    return out


def reference_masks(frames: list[np.ndarray]) -> list[np.ndarray]:
    masks = []
    with make_pipeline() as pipe:
        for f in frames:
            pipe.process(f)
            masks.append(pipe.mask.copy())
    return masks


def levels(frames: list[np.ndarray], ref: list[np.ndarray]) -> list[dict]:
    rows = []
    with make_pipeline() as probe:
        names = [n for n, _ in probe.governor_levels()]
    for k, name in enumerate(names):
        with make_pipeline() as pipe:
            set_level(pipe, k)
            r = run(pipe, frames, ref)
            r.pop("ms")
            rows.append({"level": k, "step": name, **r})
            print(rows[-1], flush=True)
    return rows


def spin(until: float) -> None:
    x = 0
    while time.time() < until:
        x += 1


def under_load(frames: list[np.ndarray], ref: list[np.ndarray], budget: float, passes: int,
               load: int, load_seconds: float) -> dict:
    until = time.time() + load_seconds
    procs = [mp.Process(target=spin, args=(until,), daemon=True) for _ in range(load)]
    for p in procs:
        p.start()
    res = {"without": [], "with": []}
    changes = []
    try:
        for _ in range(passes):
            for kind in ("without", "with"):
                with make_pipeline(budget if kind == "with" else None) as pipe:
                    r = run(pipe, frames, ref)
                    if pipe.governor is not None:
                        changes.append(pipe.governor.changes)
                res[kind].append(r)
    finally:
        for p in procs:
            p.terminate()
    out = {}
    for kind, rows in res.items():
        ms = np.concatenate([r["ms"] for r in rows])
        out[kind] = {"frames": int(ms.size), "ms_p50": round(float(np.percentile(ms, 50)), 3),
                     "ms_p90": round(float(np.percentile(ms, 90)), 3),
                     "over_budget": round(float((ms > budget).mean()), 4),
                     "iou_vs_level0": round(float(np.mean([r["iou_vs_level0"] for r in rows])), 4),
                     "alpha_diff_vs_level0": round(float(np.mean([r["alpha_diff_vs_level0"] for r in rows])), 5)}
    out["with"]["steps"] = [[{k: c[k] for k in ("frame", "direction", "step", "level", "p90_ms")} for c in run_changes]
                            for run_changes in changes]
    out["load_still_running_at_end"] = any(p.exitcode is None for p in procs)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", default="../shared/data/videos/desk.mp4")
    p.add_argument("--frames", type=int, default=240)
    p.add_argument("--budget", type=float, default=8.0)
    p.add_argument("--passes", type=int, default=2)
    p.add_argument("--load", type=int, default=2, help="competing busy processes")
    p.add_argument("--load-seconds", type=float, default=240.0, help="the load stops after this long at the latest")
    p.add_argument("--skip-levels", action="store_true")
    p.add_argument("--json", default="benchmarks/results/governor.json")
    args = p.parse_args(argv)
    frames = read_frames(args.video, args.frames)
    ref = reference_masks(frames)
    res = {"note": "CPU, 1 ORT thread; 2-core VM with a training run on it throughout (and the competing "
                   "load on top for 'load'): read the ratios",
           "video": Path(args.video).name, "budget_ms": args.budget}
    if not args.skip_levels:
        res["levels"] = levels(frames, ref)
    res["load"] = under_load(frames, ref, args.budget, args.passes, args.load, args.load_seconds)
    emit_json(res, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
