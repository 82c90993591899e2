"""edgeseg export CHECKPOINT --out DIR|MODEL.onnx [--precision fp32,fp16,int8] ...

(`python -m export` in a source checkout; the wheel ships this package as edgeseg_export.)

Steps: export -> check -> simplify -> metadata -> parity (torch vs ORT) -> fp16 / int8
-> accuracy gate on --val -> latency -> report.md / report.json.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from edgeseg import __version__
from edgeseg.errors import ConfigError, EdgeSegError
from edgeseg.evaluate import evaluate, image_mask_pairs
from edgeseg.meta import ModelMeta
from edgeseg.segmenter import Segmenter, SegmenterOptions
from edgeseg.sizes import parse_hw_multiple
from edgeseg.files import read_images_spread
from edgeseg.variants import VARIANTS, variant_path

from .quantize import to_fp16, to_int8
from .steps import check_onnx, export_onnx, read_meta, sha256_file, simplify_onnx, write_meta
from .verify import gate, latency_ms, torch_parity

log = logging.getLogger("export")


def parse_args(argv, prog: str = "python -m export"):
    p = argparse.ArgumentParser(prog=prog, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a .pt written by `edgeseg train` (best.pt or last.pt)")
    p.add_argument("--out", required=True, help="output folder, or the fp32 file path ending in .onnx")
    p.add_argument("--name", default="model", help="file stem when --out is a folder (default: model)")
    p.add_argument("--precision", default="fp32", help=f"comma list of {', '.join(VARIANTS)} (fp32 is always made)")
    p.add_argument("--calib", help="folder of real images for INT8 calibration (images/ inside is used if present)")
    p.add_argument("--calib-count", type=int, default=200)
    p.add_argument("--val", help="folder with images/ and masks/: accuracy of every variant, and the gate")
    p.add_argument("--val-count", type=int, default=0, help="use only the first N validation pairs (0: all)")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--input-size", help="base input size HxW (height first; default: the checkpoint's)")
    p.add_argument("--dynamic", action=argparse.BooleanOptionalAction, default=None,
                   help="dynamic H/W so portrait frames get a portrait canvas (default: as trained)")
    p.add_argument("--per-channel", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--quantize-all", action="store_true", help="quantize the first and last conv too")
    p.add_argument("--force", action="store_true", help="keep variants that fail the accuracy gate")
    p.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    return p.parse_args(argv)


def check_args(args) -> list[str]:
    """The requested precisions, after checking the options against each other.

    Raises:
        ConfigError: an unknown precision, or options that contradict each other.
    """
    precisions = [s.strip() for s in args.precision.split(",") if s.strip()]
    for name in precisions:
        if name not in VARIANTS:
            raise ConfigError(f"unknown precision {name!r}; valid choices: {', '.join(VARIANTS)}")
    if "int8" in precisions and not (args.calib or args.val):
        raise ConfigError("int8 needs real calibration images: pass --calib DIR (or --val DIR)")
    if args.calib and "int8" not in precisions:
        raise ConfigError("--calib is only used for int8; add int8 to --precision or drop --calib")
    if args.force and not args.val:
        raise ConfigError("--force overrides the accuracy gate, which needs --val DIR; pass --val or drop --force")
    return precisions


def load_trained(checkpoint: str | Path):
    """(checkpoint state, torch model in eval mode, the ModelMeta it was trained with)."""
    from edgeseg.train.checkpoint import load_checkpoint
    from edgeseg.train.model import build_model

    state = load_checkpoint(checkpoint)
    model = build_model(state["model_config"])
    model.load_state_dict(state["model"])
    model.eval()
    return state, model, trained_meta(state)


def export_meta(args, state: dict, model, trained: ModelMeta, base: Path) -> ModelMeta:
    """The fp32 file's ModelMeta: the trained contract, with what export decides (size, dynamic axes,
    precision, name, provenance) overridden."""
    from edgeseg.train.model import count_parameters

    input_hw = parse_hw_multiple(args.input_size, trained.multiple) if args.input_size else trained.input_hw
    dynamic = trained.adaptive if args.dynamic is None else args.dynamic
    return trained.replace(input_hw=input_hw, adaptive=dynamic, precision="fp32", name=base.stem,
                           edgeseg_version=__version__, source_sha256=sha256_file(args.checkpoint),
                           extra={"parameters": count_parameters(model), "arch": state["model_config"]})


def build_fp32(model, base: Path, meta: ModelMeta, opset: int) -> Path:
    """torch -> ONNX -> check -> simplify -> metadata -> check; returns the fp32 file."""
    path = export_onnx(model, base, meta.input_hw, meta.adaptive, opset)
    check_onnx(path)
    simplify_onnx(path, meta.input_hw)
    write_meta(path, meta)
    check_onnx(path)
    return path


def validation_pairs(args) -> list:
    pairs = image_mask_pairs(Path(args.val) / "images", Path(args.val) / "masks") if args.val else []
    return pairs[: args.val_count] if args.val_count else pairs


def check_parity(model, path: Path, val_pairs: list, trained: ModelMeta) -> float:
    """torch on the training-side preparation vs ORT on the runtime's (see verify.torch_parity)."""
    sample_imgs = [cv2.imread(str(p)) for p, _ in val_pairs[:8]] or \
        [np.random.default_rng(i).integers(0, 256, (360, 640, 3), np.uint8) for i in range(4)]
    diff = torch_parity(model, path, sample_imgs, trained)
    log.info("parity    torch vs ONNX Runtime: max abs diff %.2e (limit 1e-4)", diff)
    return diff


def make_variants(args, model, path: Path, base: Path, meta: ModelMeta, precisions: list[str]) -> dict[str, Path]:
    """{variant name: file} for fp32 (always) and each requested variant, in the table's order.

    A variant is made from an fp32 graph in its own `bilinear_graph` form (the table's column): `path`
    when that is the reference's form, else the model exported again in that form (same function)."""
    from edgeseg.train.model import set_bilinear_graph

    reference = next(iter(VARIANTS))     # fp32, the first row of the table: always made, the gate's reference
    wanted = [name for name in VARIANTS if name == reference or name in precisions]
    with tempfile.TemporaryDirectory() as tmp:
        sources = {VARIANTS[reference].bilinear_graph: path}
        for name in wanted:
            form = VARIANTS[name].bilinear_graph
            if form not in sources:
                set_bilinear_graph(model, form)
                sources[form] = build_fp32(model, Path(tmp) / f"{form}.onnx", meta, args.opset)
                set_bilinear_graph(model, VARIANTS[reference].bilinear_graph)
        src = {name: sources[VARIANTS[name].bilinear_graph] for name in wanted}
        makers = {reference: lambda dst: path,
                  "fp16": lambda dst: to_fp16(src["fp16"], dst),
                  "int8": lambda dst: to_int8(src["int8"], dst,
                                              read_images_spread(args.calib or args.val, args.calib_count, "--calib"),
                                              args.per_channel, not args.quantize_all)}
        return {name: makers[name](variant_path(base, name)) for name in wanted}


def score_variants(args, files: dict[str, Path], val_pairs: list, meta: ModelMeta) -> tuple[list[dict], list[str]]:
    """Accuracy on --val (the gate: a refused variant's file is deleted) and latency of each variant.

    Returns the report rows and the gate's refusals."""
    reference = next(iter(files))
    rows, failures, ref_iou = [], [], None
    for name, file in files.items():
        row = {"variant": name, "file": file.name, "kb": round(file.stat().st_size / 1024, 1)}
        if val_pairs:
            with Segmenter(SegmenterOptions(model_path=file, provider="cpu")) as seg:
                _, summary = evaluate(seg, val_pairs)
            row.update(person_iou=summary["person_iou"], boundary_f=summary["boundary_f"])
            if name == reference:
                ref_iou, row["gate"] = summary["person_iou"], "reference"
            else:
                try:
                    row["gate"] = gate(name, summary["person_iou"], ref_iou, args.force)
                except EdgeSegError as exc:
                    row["gate"] = "refused"
                    failures.append(str(exc))
                    file.unlink()
            if file.exists():
                write_meta(file, read_meta(file).replace(val_person_iou=round(summary["person_iou"], 4)))
        if not args.no_latency and file.exists():
            lat = latency_ms(file, meta)
            row.update(ms_median=lat["median"], ms_p90=lat["p90"])
        rows.append(row)
        log.info("variant   %s", json.dumps(row))
    return rows, failures


def write_report(report_dir: Path, report: dict) -> Path:
    (report_dir / "report.json").write_text(json.dumps(report, indent=1))
    (report_dir / "report.md").write_text(report_markdown(report))
    log.info("report    %s", report_dir / "report.md")
    return report_dir / "report.md"


def run(args) -> int:
    """The export steps in order; returns the exit code (3: a variant was refused by the gate)."""
    precisions = check_args(args)
    state, model, trained = load_trained(args.checkpoint)
    out = Path(args.out)
    base = out if out.suffix == ".onnx" else out / f"{args.name}.onnx"
    if base.with_suffix(".pt").resolve() == Path(args.checkpoint).resolve():
        raise ConfigError(f"--out {args.out} would replace the checkpoint {args.checkpoint} with the weights-only copy "
                          "that export writes beside the model; export to another folder or file name")
    base.parent.mkdir(parents=True, exist_ok=True)
    meta = export_meta(args, state, model, trained, base)
    path = build_fp32(model, base, meta, args.opset)
    val_pairs = validation_pairs(args)
    diff = check_parity(model, path, val_pairs, trained)
    shipped = save_weights(state, meta, base.with_suffix(".pt"))
    log.info("weights   %s (for fine-tuning: `init: %s` in a training config)", shipped, shipped)
    files = make_variants(args, model, path, base, meta, precisions)
    rows, failures = score_variants(args, files, val_pairs, meta)
    write_report(base.parent, {"checkpoint": str(args.checkpoint), "source_sha256": meta.source_sha256,
                               "input_hw": list(meta.input_hw), "dynamic": meta.adaptive, "parity_max_abs_diff": diff,
                               "val_images": len(val_pairs), "parameters": meta.extra["parameters"], "variants": rows})
    if failures:
        for msg in failures:
            log.error("REFUSED: %s", msg)
        return 3
    print(f"\nnext: edgeseg info {path}\n      edgeseg live --model {path} --source demo")
    return 0


def trained_meta(state: dict) -> ModelMeta:
    """The ModelMeta training stored in the checkpoint (older checkpoints: rebuilt from their "input" entry)."""
    if "meta" in state:
        return ModelMeta.from_json(json.dumps(state["meta"]))
    trained = state.get("input", {})
    return ModelMeta(input_hw=tuple(trained.get("hw", (144, 256))), adaptive=trained.get("adaptive", True))


def save_weights(state: dict, meta: ModelMeta, path: Path) -> Path:
    """The weights-only checkpoint shipped beside the ONNX file: what `init:` needs, nothing to resume from."""
    from edgeseg.train.checkpoint import save_checkpoint
    keep = {k: state[k] for k in ("model", "model_config", "epoch", "train_config", "soup") if k in state}
    return save_checkpoint({**keep, "best": -1.0, "history": [], "meta": json.loads(meta.to_json())}, path)


def report_markdown(report: dict) -> str:
    lines = ["| variant | file | KB | person IoU | boundary F | ms median (CPU, 2 threads) | ms p90 | gate |",
             "|---|---|---|---|---|---|---|---|"]

    def f(v, fmt):
        return format(v, fmt) if isinstance(v, (int, float)) else "–"
    for r in report["variants"]:
        lines.append(f"| {r['variant']} | {r['file']} | {r['kb']} | {f(r.get('person_iou'), '.4f')} | "
                     f"{f(r.get('boundary_f'), '.4f')} | {f(r.get('ms_median'), '.3f')} | {f(r.get('ms_p90'), '.3f')} | "
                     f"{r.get('gate', '–')} |")
    lines.append(f"\nInput {report['input_hw'][0]}×{report['input_hw'][1]} (dynamic H/W: {report['dynamic']}), "
                 f"{report['parameters']} parameters, torch vs ORT max abs diff {report['parity_max_abs_diff']:.1e}, "
                 f"{report['val_images']} validation images.")
    return "\n".join(lines) + "\n"


def main(argv=None, prog: str = "python -m export") -> int:
    """Run the export; `prog` is the command's name in --help (`edgeseg export` from the CLI)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv, prog)
    try:
        return run(args)
    except EdgeSegError as exc:
        log.error("error: %s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
