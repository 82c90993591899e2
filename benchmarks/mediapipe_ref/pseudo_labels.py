"""Pseudo-labels for training: MediaPipe Selfie Segmentation (general, 256×256) as the teacher.

    python -m benchmarks.mediapipe_ref.pseudo_labels --out runs/pseudo \\
        --videos talk_1 talk_2 talk_3 upper_body desk --stride 5

The clips not listed (by default talk_4 and outdoor) stay out for checking. The output folder has
images/ and masks/ (soft masks, 0-255) and can be passed to `edgeseg train --data`.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .reference import reference_pseudo_labels

VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "videos"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--videos", nargs="+", default=["talk_1", "talk_2", "talk_3", "upper_body", "desk"])
    p.add_argument("--stride", type=int, default=5)
    p.add_argument("--teacher", default="general", choices=("general", "landscape"))
    args = p.parse_args(argv)
    paths = [Path(v) if Path(v).exists() else VIDEOS / f"{v}.mp4" for v in args.videos]
    result = reference_pseudo_labels(paths, args.out, args.stride, args.teacher)
    print(json.dumps(result["frames"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
