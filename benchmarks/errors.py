"""Where a model's mask errors are, and what each kind costs in boundary F: the diagnosis behind a model change.

    python -m benchmarks.errors                                   # the bundled default and MediaPipe general
    python -m benchmarks.errors --model new=runs/x/model.onnx     # add models (LABEL=PATH or PATH; .pt: exported)
    python -m benchmarks.errors --sets portrait --no-mediapipe

Per model and dev set (edgeseg through the runtime: `edgeseg eval`'s path, CPU, zoom and refinement on;
MediaPipe general raw in LiteRT through benchmarks/mediapipe_ref, its mask written to --work):
- person IoU and boundary F;
- missed and false person pixels farther than the boundary tolerance from the true edge (L2, as
  `edgeseg.metrics.boundary_f` measures it), in % of all pixels, by where they are: inside the frame, within
  5 % of its left or right side, of its bottom, of its top;
- boundary F with every pixel beyond the tolerance set right ("far fixed") and with every pixel within it set
  right ("near fixed"). 1 − far fixed is what edges and structures narrower than two tolerances cost once every
  region is right; 1 − near fixed, about what the wrong regions cost.
Writes benchmarks/results/errors.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from edgeseg.evaluate import image_mask_pairs, read_pair
from edgeseg.metrics import boundary_f, boundary_pixels, boundary_tolerance, iou
from edgeseg.segmenter import Segmenter, SegmenterOptions

from .quality import DEV_SETS, add_model_option, parse_models, run_command

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
ZONES = ("inside", "sides", "bottom", "top")
EDGE_FRACTION = 0.05          # a zone at the frame's edge is this fraction of its long side deep


def zone_map(hw: tuple[int, int], edge: float = EDGE_FRACTION) -> np.ndarray:
    """Each pixel's zone, as an index into ZONES: the top and bottom strips, then the left and right ones."""
    h, w = hw
    e = max(1, int(edge * max(h, w)))
    zones = np.zeros(hw, np.uint8)
    zones[:, :e] = zones[:, -e:] = ZONES.index("sides")
    zones[-e:, :] = ZONES.index("bottom")
    zones[:e, :] = ZONES.index("top")
    return zones


def far_from_edge(gt: np.ndarray) -> np.ndarray:
    """True where a pixel is farther than the boundary tolerance from the true mask's boundary."""
    edge = boundary_pixels(gt)
    if not edge.any():
        return np.ones(gt.shape, bool)
    dist = cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, 3)
    return dist > boundary_tolerance(gt.shape)


def breakdown(pred: np.ndarray, gt: np.ndarray) -> dict:
    """One image's errors (see the module doc). pred, gt: boolean masks of the same size."""
    far = far_from_edge(gt)
    zones = zone_map(gt.shape)
    n = gt.size / 100.0
    missed = np.bincount(zones[~pred & gt & far], minlength=len(ZONES)) / n
    false = np.bincount(zones[pred & ~gt & far], minlength=len(ZONES)) / n
    return {"person_iou": iou(pred, gt), "boundary_f": boundary_f(pred, gt),
            "boundary_f_far_fixed": boundary_f(np.where(far, gt, pred), gt),
            "boundary_f_near_fixed": boundary_f(np.where(far, pred, gt), gt),
            "missed": dict(zip(ZONES, missed.tolist())), "false": dict(zip(ZONES, false.tolist()))}


def mean_breakdown(rows: list[dict]) -> dict:
    """The mean of `breakdown` rows, with the image count."""
    out = {"images": len(rows)}
    for key, value in rows[0].items():
        if isinstance(value, dict):
            out[key] = {z: float(np.mean([r[key][z] for r in rows])) for z in value}
        else:
            out[key] = float(np.mean([r[key] for r in rows]))
    return out


def _pairs(folder: Path) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(image, boolean mask, stem) of each readable pair in folder (images/, masks/), read as `edgeseg eval` does."""
    pairs = ((read_pair(i, m), i.stem) for i, m in image_mask_pairs(folder / "images", folder / "masks"))
    return [(*pair, stem) for pair, stem in pairs if pair is not None]


def score_edgeseg(model: Path, sets: dict[str, Path]) -> dict[str, dict]:
    with Segmenter(SegmenterOptions(model_path=model, provider="cpu", threads=1)) as seg:
        return {name: mean_breakdown([breakdown(seg.segment(img).mask >= seg.meta.threshold, gt)
                                      for img, gt, _ in _pairs(folder)])
                for name, folder in sets.items()}


def score_mediapipe(sets: dict[str, Path], work: Path) -> dict[str, dict]:
    """MediaPipe general raw (no flip), its masks written by the reference runner under `work`."""
    from .mediapipe_ref.reference import reference_label_images
    out = {}
    for name, folder in sets.items():
        masks = work / name.replace(" ", "_")
        reference_label_images(folder / "images", masks, teachers=["general"], flip=False)
        rows = []
        for _, gt, stem in _pairs(folder):
            prob = cv2.imread(str(masks / f"{stem}.png"), cv2.IMREAD_GRAYSCALE)
            if prob is not None and prob.shape == gt.shape:
                rows.append(breakdown(prob >= 128, gt))         # written as round(p × 255): p >= 0.5
        out[name] = mean_breakdown(rows)
    return out


def markdown(result: dict) -> str:
    zones = " / ".join(ZONES)
    lines = [f"| model | set | person IoU / boundary F | boundary F, far fixed | boundary F, near fixed "
             f"| missed % ({zones}) | false % ({zones}) |", "|---|---|---|---|---|---|---|"]
    for label, per_set in result["rows"].items():
        for name, r in per_set.items():
            lines.append(f"| {label} | {name} | {r['person_iou']:.3f} / {r['boundary_f']:.3f} | "
                         f"{r['boundary_f_far_fixed']:.3f} | {r['boundary_f_near_fixed']:.3f} | "
                         + " / ".join(f"{r['missed'][z]:.3f}" for z in ZONES) + " | "
                         + " / ".join(f"{r['false'][z]:.3f}" for z in ZONES) + " |")
    lines += ["", "Errors counted are farther than the boundary tolerance (ceil(0.008 × diagonal) px) from the true "
              f"edge; the edge zones are {EDGE_FRACTION:.0%} of the long side deep. Far fixed: every such pixel set "
              "right; near fixed: every other pixel set right.", f"`{result['command']}`, {result['date']}."]
    return "\n".join(lines)


def main(argv=None) -> int:
    return run_command(_run, argv)


def _run(argv) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.errors", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_option(p)
    p.add_argument("--data", default="../shared/data", help="the data root (dev/ under it)")
    p.add_argument("--sets", default=",".join(DEV_SETS), help="dev sets to score, comma-separated")
    p.add_argument("--no-mediapipe", action="store_true", help="skip MediaPipe general")
    p.add_argument("--work", default="runs/errors", help="where MediaPipe's masks and exported checkpoints are written")
    p.add_argument("--out", default=str(RESULTS / "errors"), help="output stem (.json and .md are added)")
    args = p.parse_args(argv)
    sets = {f"dev {s}": Path(args.data) / "dev" / s for s in args.sets.split(",") if s.strip()}
    t0 = time.perf_counter()
    rows = {label: score_edgeseg(model, sets) for label, model in parse_models(args.model, Path(args.work)).items()}
    if not args.no_mediapipe:
        rows["mediapipe general"] = score_mediapipe(sets, Path(args.work))
    cmd = shlex.join(argv if argv is not None else sys.argv[1:])
    result = {"rows": rows, "seconds": round(time.perf_counter() - t0, 1),
              "command": f"python -m benchmarks.errors {cmd}".strip(),
              "date": time.strftime("%Y-%m-%d")}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    table = markdown(result)
    out.with_suffix(".md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
