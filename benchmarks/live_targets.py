"""Issue-5 targets: live pipeline speed vs a naive baseline, and temporal flicker/ghosting.

    python -m benchmarks.live_targets --json benchmarks/results/live_targets.json

Speed: frames of desk.mp4 scaled to each size, preloaded (decoding is not timed), through
Pipeline(effect=blur, refinement on, temporal on). The baseline runs in the same process, in passes
that alternate with ours (one pass each, `--passes` times): the same model,
mask upsampled to full resolution as float32, cv2.GaussianBlur 51×51 of the whole frame, and numpy
float32 alpha blending.
Flicker: on the talking-head clips, mean |m_t − m_{t−1}| of the pipeline's final mask (in [0, 1]),
with temporal smoothing off and on, and the mean IoU between the smoothed and unsmoothed masks of
each frame (the ghosting check).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from edgeseg import Pipeline, PipelineOptions, Segmenter, SegmenterOptions
from edgeseg.metrics import iou
from edgeseg.postprocess import TemporalSmoother

from .frames import read_frames
from .mediapipe_ref.motion import MotionMeter

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"


def stats(ms: list[float]) -> dict:
    return {"median": float(np.median(ms)), "p90": float(np.percentile(ms, 90)), "n": len(ms)}


def naive_baseline(seg: Segmenter, frame: np.ndarray) -> np.ndarray:
    a = seg.segment(frame).mask[..., None]
    blurred = cv2.GaussianBlur(frame, (51, 51), 0)
    return (frame.astype(np.float32) * a + blurred.astype(np.float32) * (1.0 - a)).astype(np.uint8)


def speed(frames: list[np.ndarray], threads: int, passes: int) -> dict:
    opts = PipelineOptions(segmenter=SegmenterOptions(provider="cpu", threads=threads), effect="blur")
    ours, base = [], []
    with Pipeline(opts) as pipe, Segmenter(SegmenterOptions(provider="cpu", threads=threads, refine=False)) as seg:
        for f in frames[:10]:
            pipe.process(f)
            naive_baseline(seg, f)
        for _ in range(passes):          # alternate whole passes: each runs as it would on its own
            for f in frames:
                t = time.perf_counter()
                pipe.process(f)
                ours.append((time.perf_counter() - t) * 1e3)
            for f in frames:
                t = time.perf_counter()
                naive_baseline(seg, f)
                base.append((time.perf_counter() - t) * 1e3)
        stages = pipe.timings.summary()["stages"]
    o, b = stats(ours), stats(base)
    return {"pipeline_ms": o, "baseline_ms": b, "speedup_median": b["median"] / o["median"], "stages": stages}


def flicker(clip: Path, threads: int, base: float | None = None, gain: float | None = None,
            model: str | None = None, zoom_video: bool = False) -> dict:
    """Flicker and jitter (benchmarks/mediapipe_ref/motion.py) of the pipeline's final mask with temporal smoothing
    off and on, on the same frames, and `motion_raw`: the change the picture's motion alone makes to the raw mask
    (about what a mask that followed the motion exactly would flicker).

    base, gain: the temporal smoother's (None: its defaults); model: an .onnx (None: the bundled one);
    zoom_video: PipelineOptions.zoom_video ("zoomed_frames": how many frames zoomed, smoothing on).
    """
    frames = read_frames(clip, 10_000)
    masks = {}
    base = TemporalSmoother().base if base is None else base
    gain = TemporalSmoother().gain if gain is None else gain
    for temporal in (False, True):
        opts = PipelineOptions(segmenter=SegmenterOptions(model_path=model, provider="cpu", threads=threads),
                               effect="mask", temporal=temporal, temporal_base=base, temporal_gain=gain,
                               zoom_video=zoom_video)
        with Pipeline(opts) as pipe:
            masks[temporal], zoomed = [], 0
            for f in frames:
                pipe.process(f)
                masks[temporal].append(pipe.mask.astype(np.float32) / 255.0)
                zoomed += bool(pipe.segmenter.last_zoom)
    raw, smooth = masks[False], masks[True]
    flick = {k: float(np.mean([np.abs(m[i] - m[i - 1]).mean() for i in range(1, len(m))])) for k, m in masks.items()}
    meter, jit, motion = MotionMeter(), {False: [], True: []}, []
    for i, f in enumerate(frames):
        meter.next_frame(f)
        if i:
            motion.append(meter.motion(raw[i - 1]))
            for k, m in masks.items():
                jit[k].append(meter.jitter(m[i], m[i - 1]))
    ious = [iou(s >= 0.5, r >= 0.5) for s, r in zip(smooth, raw)]
    r, s = flick[False], flick[True]
    return {"clip": clip.name, "frames": len(frames), "flicker_raw": r, "flicker_smoothed": s,
            "reduction_pct": 100 * (1 - s / r), "jitter_raw": float(np.mean(jit[False])),
            "jitter_smoothed": float(np.mean(jit[True])), "motion_raw": float(np.mean(motion)),
            "iou_smoothed_vs_raw": float(np.mean(ious)),
            "iou_smoothed_vs_raw_min": float(np.min(ious)), "zoomed_frames": zoomed}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", default=str(DATA / "desk.mp4"))
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--passes", type=int, default=2)
    p.add_argument("--sizes", default="1280x720,1920x1080")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--clips", default="talk_1,talk_2,talk_3,talk_4")
    p.add_argument("--temporal-base", type=float, default=TemporalSmoother().base)
    p.add_argument("--temporal-gain", type=float, default=TemporalSmoother().gain)
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--json")
    args = p.parse_args(argv)
    result: dict = {"speed": {}, "flicker": []}
    if not args.skip_speed:
        for size in args.sizes.split(","):
            w, h = (int(v) for v in size.split("x"))
            r = speed(read_frames(Path(args.video), args.frames, (w, h)), args.threads, args.passes)
            result["speed"][size] = r
            print(f"{size}: pipeline {r['pipeline_ms']['median']:.2f} ms median / {r['pipeline_ms']['p90']:.2f} p90; "
                  f"baseline {r['baseline_ms']['median']:.2f} / {r['baseline_ms']['p90']:.2f}; "
                  f"{r['speedup_median']:.1f}x faster")
            print("   " + "  ".join(f"{k} {v['p50']:.2f}" for k, v in r["stages"].items()))
    for name in filter(None, args.clips.split(",")):
        r = flicker(DATA / f"{name}.mp4", args.threads, args.temporal_base, args.temporal_gain)
        result["flicker"].append(r)
        print(f"{name}: flicker {r['flicker_raw']:.5f} -> {r['flicker_smoothed']:.5f} "
              f"(-{r['reduction_pct']:.0f}%), IoU smoothed vs raw {r['iou_smoothed_vs_raw']:.4f}")
    if result["flicker"]:
        fl = result["flicker"]
        result["flicker_mean"] = {k: float(np.mean([r[k] for r in fl]))
                                  for k in ("reduction_pct", "iou_smoothed_vs_raw", "flicker_raw", "flicker_smoothed")}
        print("mean: -{reduction_pct:.0f}% flicker, IoU {iou_smoothed_vs_raw:.4f}".format(**result["flicker_mean"]))
    result["params"] = vars(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
