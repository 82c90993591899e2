"""Write the training run's validation split as images/ + masks/ folders, for side-by-side scoring.

    python -m benchmarks.valsets --data ../shared/data/people/ccp --out runs/valsets

full/     the held-back photos as they are (full-body street photos)
portrait/ a deterministic head-and-shoulders crop (3:4) of each, like webcam and portrait framing
The split is the one `edgeseg train` uses (hash of the file name, val_fraction 0.1 by default).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from edgeseg.train.data import load_pairs, portrait_crop, split_pairs


def write_valsets(data: list[str], out: Path, val_fraction: float = 0.1) -> dict[str, int]:
    _, val = split_pairs(load_pairs(data).pairs, val_fraction)
    for sub in ("full", "portrait"):
        for kind in ("images", "masks"):
            (out / sub / kind).mkdir(parents=True, exist_ok=True)
    for pair in val:
        stem = pair.name.replace("/", "_")
        cv2.imwrite(str(out / "full" / "images" / f"{stem}.png"), pair.image)
        cv2.imwrite(str(out / "full" / "masks" / f"{stem}.png"), pair.mask)
        img, mask = portrait_crop(pair)
        cv2.imwrite(str(out / "portrait" / "images" / f"{stem}.png"), img)
        cv2.imwrite(str(out / "portrait" / "masks" / f"{stem}.png"), mask)
    return {"full": len(val), "portrait": len(val)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", default=["../shared/data/people/ccp"])
    p.add_argument("--out", default="runs/valsets")
    p.add_argument("--val-fraction", type=float, default=0.1)
    args = p.parse_args(argv)
    print(write_valsets(args.data, Path(args.out), args.val_fraction))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
