"""The quality table that chooses the model: every dev set and every source's validation split, side by side
with MediaPipe Selfie Segmentation (general and landscape), person IoU and boundary F.

    python -m benchmarks.quality                                  # the bundled default, all variants, MediaPipe
    python -m benchmarks.quality --model new=runs/x/model.onnx    # add other models (LABEL=PATH or PATH)
    python -m benchmarks.quality --model ep3=runs/x/epoch3.pt --variants fp32 --no-mediapipe   # a checkpoint
    python -m benchmarks.quality --readme README.md               # also regenerate the README's quality table
    python -m benchmarks.quality --flip-average                   # add each model's fp32 with flip averaging

Sets:
    dev/portrait, dev/davis, dev/scenes   ../shared/data/dev (never trained on)
    val ccp full, val ccp portrait        the held-back ccp photos, and a head-and-shoulders crop of each
    val coco, val viton                   the held-back coco and viton pairs
The validation splits are the ones `edgeseg train` holds back (hash of the name, --val-fraction); they are
written as images/ + masks/ under --work so that MediaPipe's runner can read them. edgeseg is scored through
the runtime (`edgeseg eval`'s path: CPU, refinement on); MediaPipe raw in LiteRT (benchmarks/mediapipe_ref).
Writes benchmarks/results/quality.{json,md}. --reuse-reference keeps the MediaPipe rows of an earlier
quality.json for sets whose image count is unchanged (they do not depend on our model).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from edgeseg.evaluate import evaluate, image_mask_pairs
from edgeseg.models import DEFAULT_MODEL
from edgeseg.segmenter import Segmenter, SegmenterOptions
from edgeseg.variants import VARIANTS, variant_path

from .readme import update_readme
from .valsets import save_pair

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
BEGIN, END = "<!-- quality-table -->", "<!-- /quality-table -->"
DEV_SETS = ("portrait", "davis", "scenes")
REFERENCES = ("general", "landscape")


def write_val_splits(data_root: Path, work: Path, val_fraction: float) -> dict[str, Path]:
    """The training run's validation split of each source as images/ + masks/ folders; {set name: folder}."""
    from edgeseg.train.data import load_pairs, portrait_crop, split_pairs
    sets = {}
    for source in ("ccp", "coco", "viton"):
        folder = data_root / "people" / source
        if not folder.is_dir():
            continue
        _, val = split_pairs(load_pairs([folder]).pairs, val_fraction)
        views = {f"val {source}": lambda p: (p.image, p.mask)}
        if source == "ccp":
            views = {"val ccp full": lambda p: (p.image, p.mask), "val ccp portrait": portrait_crop}
        for name, view in views.items():
            out = work / name.replace(" ", "_")
            for pair in val:
                save_pair(out, pair.name.replace("/", "_"), *view(pair))
            sets[name] = out
    return sets


def all_sets(data_root: Path, work: Path, val_fraction: float) -> dict[str, Path]:
    sets = {f"dev {name}": data_root / "dev" / name for name in DEV_SETS if (data_root / "dev" / name).is_dir()}
    return {**sets, **write_val_splits(data_root, work, val_fraction)}


def score_edgeseg(model: Path, precision: str, sets: dict[str, Path], **options) -> dict[str, dict]:
    """Scores per set through the runtime; `options` go to SegmenterOptions (e.g. flip_average=True)."""
    out = {}
    with Segmenter(SegmenterOptions(model_path=variant_path(model, precision), provider="cpu", **options)) as seg:
        for name, folder in sets.items():
            _, summary = evaluate(seg, image_mask_pairs(folder / "images", folder / "masks"))
            out[name] = summary
    return out


def score_mediapipe(sets: dict[str, Path], earlier: dict | None) -> dict[str, dict[str, dict]]:
    from .mediapipe_ref.reference import reference_accuracy
    rows: dict[str, dict[str, dict]] = {ref: {} for ref in REFERENCES}
    for name, folder in sets.items():
        n = len(image_mask_pairs(folder / "images", folder / "masks"))
        old = {ref: (earlier or {}).get(f"mediapipe {ref}", {}).get(name) for ref in REFERENCES}
        if all(o and o.get("images") == n for o in old.values()):
            for ref in REFERENCES:
                rows[ref][name] = old[ref]
            continue
        result = reference_accuracy(folder / "images", folder / "masks", threads=2)["models"]
        for ref in REFERENCES:
            rows[ref][name] = {k: result[ref][k] for k in ("images", "person_iou", "miou", "boundary_f")}
    return rows


def variant_gate(rows: dict[str, dict], label: str, sets: list[str]) -> dict[str, float]:
    """The largest person-IoU loss (points) of each variant against fp32 over `sets`."""
    ref = rows[f"{label} fp32"]
    return {v: round(max(100 * (ref[s]["person_iou"] - rows[f"{label} {v}"][s]["person_iou"]) for s in sets), 2)
            for v in VARIANTS if v != "fp32" and f"{label} {v}" in rows}


def markdown(result: dict) -> str:
    sets = result["sets"]
    lines = ["| model | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for label, row in result["rows"].items():
        cells = [f"{row[s]['person_iou']:.3f} / {row[s]['boundary_f']:.3f}" if s in row else "–" for s in sets]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Person IoU / boundary F (threshold 0.5; boundary tolerance ceil(0.008 × diagonal) px). Images per set: "
                 + ", ".join(f"{s} {result['images'][s]}" for s in sets) + ".")
    for label, gate in result.get("variant_gate", {}).items():
        if not gate:                                    # fp32 alone: nothing to gate
            continue
        lines.append(f"Largest person-IoU loss against fp32 over the dev sets, {label}: "
                     + ", ".join(f"{v} {d:+.2f} points" for v, d in gate.items()) + ".")
    lines.append(f"`{result['command']}`, {result['date']}.")
    return "\n".join(lines)


def label_path(spec: str) -> tuple[str, Path]:
    """'LABEL=PATH' or 'PATH' -> (label, path); the label defaults to the file's stem (the benchmarks' --model)."""
    label, _, path = spec.rpartition("=")
    return label or Path(path).stem, Path(path)


def parse_models(items: list[str], work: Path | None = None) -> dict[str, Path]:
    """{label: model}: the bundled default, then each 'LABEL=PATH'. A training checkpoint (.pt) is exported to
    fp32 ONNX under `work` first (`to_onnx`), so a run's epochs are scored as they are."""
    models = {"edgeseg default": DEFAULT_MODEL, **dict(map(label_path, items))}
    return {label: to_onnx(label, path, work or Path("runs/quality")) if path.suffix == ".pt" else path
            for label, path in models.items()}


def add_model_option(p: argparse.ArgumentParser) -> None:
    """--model, repeatable: the models to score besides the bundled default (`parse_models` reads them)."""
    p.add_argument("--model", action="append", default=[],
                   help="LABEL=PATH or PATH (.onnx, or a training checkpoint .pt, exported to fp32 under --work) "
                        "to score besides the default")


def run_command(run, argv) -> int:
    """run(argv)'s exit code; an EdgeSegError (a checkpoint that does not export, a missing folder) prints its
    message and gives 2."""
    from edgeseg.errors import EdgeSegError
    try:
        return run(argv)
    except EdgeSegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def to_onnx(label: str, checkpoint: Path, work: Path) -> Path:
    """The checkpoint exported to fp32 ONNX (`python -m export`) at work/models/LABEL/model.onnx; an export
    newer than the checkpoint is reused.

    Raises:
        ConfigError: the export failed (its log says why).
    """
    from edgeseg.errors import ConfigError
    out = work / "models" / "".join(c if c.isalnum() or c in "-_." else "_" for c in label) / "model.onnx"
    if out.exists() and out.stat().st_mtime >= checkpoint.stat().st_mtime:
        return out
    from export.__main__ import main as export_main
    if export_main([str(checkpoint), "--out", str(out), "--precision", "fp32", "--no-latency"]) != 0:
        raise ConfigError(f"exporting {checkpoint} failed (see the log above); check that it is a checkpoint "
                          "written by `edgeseg train` and that the export extra is installed")
    return out


def main(argv=None) -> int:
    return run_command(_run, argv)


def _run(argv) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_option(p)
    p.add_argument("--variants", default="fp32,fp16,int8", help="variants of each model to score (those that exist)")
    p.add_argument("--data", default="../shared/data", help="the data root (people/, dev/)")
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--work", default="runs/quality", help="where the validation splits are written")
    p.add_argument("--flip-average", action="store_true",
                   help="add a row per model: fp32 with flip averaging (SegmenterOptions.flip_average)")
    p.add_argument("--no-mediapipe", action="store_true", help="skip the MediaPipe reference rows")
    p.add_argument("--reuse-reference", action="store_true", help="keep MediaPipe rows of an earlier quality.json")
    p.add_argument("--out", default=str(RESULTS / "quality"), help="output stem (.json and .md are added)")
    p.add_argument("--readme", help="regenerate the quality table in this README")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(out.with_suffix(".json").read_text())["rows"] if args.reuse_reference and \
        out.with_suffix(".json").exists() else None
    t0 = time.perf_counter()
    sets = all_sets(Path(args.data), Path(args.work), args.val_fraction)
    rows: dict[str, dict] = {}
    gates = {}
    for label, model in parse_models(args.model, Path(args.work)).items():
        for precision in [v.strip() for v in args.variants.split(",") if v.strip()]:
            if variant_path(model, precision).exists():
                rows[f"{label} {precision}"] = score_edgeseg(model, precision, sets)
                print(f"{label} {precision}: " + ", ".join(f"{s} {r['person_iou']:.3f}/{r['boundary_f']:.3f}"
                                                           for s, r in rows[f"{label} {precision}"].items()), flush=True)
        if args.flip_average and variant_path(model, "fp32").exists():
            rows[f"{label} fp32, flip-averaged"] = score_edgeseg(model, "fp32", sets, flip_average=True)
        if f"{label} fp32" in rows:
            gates[label] = variant_gate(rows, label, [s for s in sets if s.startswith("dev ")])
    if not args.no_mediapipe:
        for ref, scores in score_mediapipe(sets, earlier).items():
            rows[f"mediapipe {ref}"] = scores
    any_row = next(iter(rows.values()))
    result = {"sets": list(sets), "images": {s: any_row[s]["images"] for s in sets}, "rows": rows,
              "variant_gate": gates, "seconds": round(time.perf_counter() - t0, 1),
              "command": "python -m benchmarks.quality " + shlex.join(argv if argv is not None else sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d")}
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    table = markdown(result)
    out.with_suffix(".md").write_text(table + "\n")
    print(table)
    if args.readme:
        update_readme(Path(args.readme), table, BEGIN, END, "Quality")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
