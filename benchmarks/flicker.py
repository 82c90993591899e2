"""Temporal stability against MediaPipe: flicker of edgeseg's mask (raw and smoothed) and of MediaPipe's raw mask.

    python -m benchmarks.flicker [--clips talk_4,outdoor] [--model M.onnx] [--zoom-video]

Flicker is mean |m_t - m_(t-1)| over consecutive frames, masks in [0, 1] at the frame's resolution; jitter is the
same with m_(t-1) carried along the frame's optical flow (benchmarks/mediapipe_ref/motion.py), so that a person's
real motion does not count and a mask that lags behind it does; "motion" is the change that carrying the raw mask
along the flow makes by itself, about the flicker of a mask that follows the motion exactly. edgeseg's
mask is the Pipeline's final alpha (refinement and feathering on) with temporal smoothing off (raw) and on
(smoothed); "IoU smoothed vs raw" is the ghosting check (1.0: smoothing never moves the 0.5 contour).
MediaPipe general and landscape run raw in LiteRT (benchmarks/mediapipe_ref). talk_4 and outdoor were never
used for training. Writes benchmarks/results/flicker.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .live_targets import DATA, flicker

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.flicker", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", default="talk_4,outdoor")
    p.add_argument("--model", help="an .onnx model (default: the bundled one)")
    p.add_argument("--zoom-video", action="store_true", help="the Pipeline zooms video frames (PipelineOptions.zoom_video)")
    p.add_argument("--json", default=str(RESULTS / "flicker.json"))
    args = p.parse_args(argv)
    from .mediapipe_ref.reference import reference_flicker
    clips = [DATA / f"{c}.mp4" for c in args.clips.split(",") if c]
    mp = reference_flicker(clips)
    rows = []
    for clip in clips:
        ours = flicker(clip, 1, None, None, args.model, args.zoom_video)
        ref = mp[clip.name]
        row = {**ours, **{f"mediapipe_{k}": v["flicker"] for k, v in ref.items()},
               **{f"mediapipe_{k}_jitter": v["jitter"] for k, v in ref.items()}}
        row["smoothed_vs_mediapipe_general"] = row["flicker_smoothed"] / row["mediapipe_general"]
        row["raw_vs_mediapipe_general"] = row["flicker_raw"] / row["mediapipe_general"]
        row["jitter_smoothed_vs_mediapipe_general"] = row["jitter_smoothed"] / row["mediapipe_general_jitter"]
        row["jitter_raw_vs_mediapipe_general"] = row["jitter_raw"] / row["mediapipe_general_jitter"]
        row["motion_vs_mediapipe_general"] = row["motion_raw"] / row["mediapipe_general"]
        rows.append(row)
        print(f"{clip.name}: flicker: edgeseg raw {row['flicker_raw']:.5f}, smoothed {row['flicker_smoothed']:.5f} "
              f"(IoU vs raw {row['iou_smoothed_vs_raw']:.4f}); MediaPipe general {row['mediapipe_general']:.5f}, "
              f"landscape {row['mediapipe_landscape']:.5f}; smoothed / general {row['smoothed_vs_mediapipe_general']:.2f}x, "
              f"raw / general {row['raw_vs_mediapipe_general']:.2f}x. Jitter: smoothed / general "
              f"{row['jitter_smoothed_vs_mediapipe_general']:.2f}x, raw / general {row['jitter_raw_vs_mediapipe_general']:.2f}x, "
              f"landscape / general {row['mediapipe_landscape_jitter'] / row['mediapipe_general_jitter']:.2f}x. The motion "
              f"alone moves the raw mask by {row['motion_vs_mediapipe_general']:.2f}x general's flicker; "
              f"zoomed {row['zoomed_frames']}/{row['frames']} frames", flush=True)
    Path(args.json).write_text(json.dumps({"clips": rows, "model": args.model or "bundled default",
                                           "zoom_video": args.zoom_video}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
