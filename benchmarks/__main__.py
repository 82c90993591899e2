"""The benchmark suite: this device's latency matrix, and MediaPipe side by side.

    python -m benchmarks                      # full run, writes benchmarks/results/<device>.{json,md,png}
    python -m benchmarks --quick              # shorter runs, for a first look
    python -m benchmarks --readme README.md   # also regenerate README's speed table from the results

MediaPipe Selfie Segmentation (general 256×256, landscape 144×256) runs as raw tflite in LiteRT in
a venv this suite makes (benchmarks/mediapipe_ref), on the same frames and with the same
compositing. Accuracy uses runs/valsets (make it with `python -m benchmarks.valsets`) when present.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edgeseg.bench import BenchCase, bench_case, device_slug, fingerprint, markdown_table, run_matrix
from edgeseg.results import BenchRow, Status
from edgeseg.sizes import parse_size

from .frames import read_frames
from .readme import update_readme as update_block

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
VIDEOS = ROOT.parents[1] / "shared" / "data" / "videos"
BEGIN, END = "<!-- speed-table -->", "<!-- /speed-table -->"


def our_accuracy(valsets: Path) -> dict:
    from edgeseg import Segmenter, SegmenterOptions
    from edgeseg.evaluate import evaluate, image_mask_pairs
    out = {}
    with Segmenter(SegmenterOptions(provider="cpu")) as seg:
        for sub in ("full", "portrait"):
            _, summary = evaluate(seg, image_mask_pairs(valsets / sub / "images", valsets / sub / "masks"))
            out[sub] = summary
    return out


def reference(args, our_e2e: dict) -> dict:
    from .mediapipe_ref.reference import reference_accuracy, reference_end_to_end, reference_latency
    ref = {"latency": reference_latency(threads=args.threads_list, min_seconds=args.seconds)}
    ref["end_to_end"] = reference_end_to_end(VIDEOS / "desk.mp4", (1280, 720), args.e2e_frames, threads=2)
    valsets = Path(args.valsets)
    if valsets.exists():
        ref["accuracy"] = {sub: reference_accuracy(valsets / sub / "images", valsets / sub / "masks")
                           for sub in ("full", "portrait")}
    return ref


def side_by_side(rows: list[dict], our_e2e: dict, ours_acc: dict | None, ref: dict) -> list[dict]:
    """One line per figure: ours, each MediaPipe model, and the ratio ours / reference.

    rows: BenchRow or their JSON; our_e2e and the reference's timings: Summary (edgeseg.results).
    """
    lines = []
    lat = ref["latency"]
    rows = [BenchRow.of(r) for r in rows]
    for threads in sorted({r.threads for r in rows}):
        ours = next((r for r in rows if r.status is Status.OK and r.provider == "cpu" and r.precision == "fp32"
                     and r.threads == threads and r.size == "1280x720"), None)
        if ours is None:
            continue
        for model in ("landscape", "general"):
            m = _find_latency(lat, model, threads)
            if m:
                lines.append({"figure": f"model-only ms, {threads} thread(s)", "reference": f"mediapipe-{model}",
                              "ours": ours.model_ms["median"], "theirs": m, "ratio": ours.model_ms["median"] / m})
    e2e = ref["end_to_end"]["models"]
    for model in ("landscape", "general"):
        theirs = _e2e_median(e2e.get(model, {}))
        if theirs:
            lines.append({"figure": "end-to-end ms/frame, 1280x720 blur", "reference": f"mediapipe-{model}",
                          "ours": our_e2e["median"], "theirs": theirs, "ratio": our_e2e["median"] / theirs})
    for sub, acc in (ref.get("accuracy") or {}).items():
        for model, a in acc["models"].items():
            for key in ("person_iou", "boundary_f"):
                lines.append({"figure": f"{key}, validation {sub}", "reference": f"mediapipe-{model}",
                              "ours": ours_acc[sub][key], "theirs": a[key], "ratio": ours_acc[sub][key] / a[key]})
    return lines


def _find_latency(lat: dict, model: str, threads: int) -> float | None:
    """The reference runner's invoke() median for (model, threads)."""
    node = lat.get("models", {}).get(model, {}).get("threads", {}).get(str(threads))
    return node["median"] if node else None


def _e2e_median(node: dict) -> float | None:
    frame = node.get("stages", {}).get("frame")
    return frame["median"] if frame else None


def plots(rows: list[dict], path_prefix: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ok = [r for r in map(BenchRow.of, rows) if r.status is Status.OK]
    if not ok:
        return []
    out = []
    fig, ax = plt.subplots(figsize=(9, 4))
    labels = [f"{r.provider}/{r.precision}/{r.threads}t\n{r.size}" for r in ok]
    x = np.arange(len(ok))
    ax.bar(x - 0.2, [r.model_ms["median"] for r in ok], 0.4, label="model only",
           yerr=[[0] * len(ok), [r.model_ms["p90"] - r.model_ms["median"] for r in ok]])
    ax.bar(x + 0.2, [r.pipeline_ms["median"] for r in ok], 0.4, label="full pipeline",
           yerr=[[0] * len(ok), [r.pipeline_ms["p90"] - r.pipeline_ms["median"] for r in ok]])
    out.append(_finish(fig, ax, x, labels, "ms (median, whisker to p90)", path_prefix, "_latency.png"))
    fig, ax = plt.subplots(figsize=(9, 4))
    stages = [s for s in ("preprocess", "inference", "postprocess", "composite") if s in ok[0].stages]
    bottom = np.zeros(len(ok))
    for s in stages:
        v = np.array([r.stages.get(s, {"p50": 0})["p50"] for r in ok])
        ax.bar(x, v, bottom=bottom, label=s)
        bottom += v
    out.append(_finish(fig, ax, x, labels, "ms (p50 per stage)", path_prefix, "_stages.png"))
    return out


def _finish(fig, ax, x, labels: list[str], ylabel: str, path_prefix: Path, suffix: str) -> Path:
    import matplotlib.pyplot as plt
    ax.set_xticks(x, labels, fontsize=6, rotation=90)
    ax.set_ylabel(ylabel)
    ax.legend()
    fig.tight_layout()
    path = path_prefix.with_name(path_prefix.name + suffix)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def readme_table(result: dict) -> str:
    fp = result["device"]
    flags = ", ".join(k for k, v in fp["cpu_flags"].items() if v)
    lines = [f"Measured by `python -m benchmarks` on {fp['cpu']} ({fp['cores']} cores; {flags}), "
             f"onnxruntime {fp['onnxruntime']}, {result['date']}. Medians (p90) in ms; the pipeline is "
             "blur with refinement and temporal smoothing.", "",
             "| provider | precision | threads | frame | model ms | pipeline ms | FPS |", "|---|---|---|---|---|---|---|"]
    rows = [BenchRow.of(r) for r in result["rows"]]
    for r in rows:
        if r.status is Status.OK:
            m, p = r.model_ms, r.pipeline_ms
            lines.append(f"| {r.provider} | {r.precision} | {r.threads} | {r.size} | {m['median']:.2f} ({m['p90']:.2f}) | "
                         f"{p['median']:.2f} ({p['p90']:.2f}) | {p['fps']:.0f} |")
    missing = sorted({r.provider for r in rows if r.status is Status.UNAVAILABLE and r.provider != "cpu"})
    if missing:
        lines.append(f"\nNot measured here (no such provider in this onnxruntime): {', '.join(missing)}.")
    if result.get("side_by_side"):
        lines += ["", "Side by side with MediaPipe Selfie Segmentation (LiteRT, XNNPACK), same machine and frames "
                  "(ratio = ours / theirs; for ms lower is better, for accuracy higher is better):", "",
                  "| figure | vs | ours | theirs | ratio |", "|---|---|---|---|---|"]
        for s in result["side_by_side"]:
            lines.append(f"| {s['figure']} | {s['reference']} | {s['ours']:.3f} | {s['theirs']:.3f} | {s['ratio']:.2f} |")
    return "\n".join(lines)


def update_readme(readme: Path, table: str) -> None:
    update_block(readme, table, BEGIN, END, "Speed")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--precision", default="fp32,fp16,int8")
    p.add_argument("--provider", default="cpu,cuda,tensorrt")
    p.add_argument("--sizes", default="640x360,1280x720,1920x1080")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--e2e-frames", type=int, default=150)
    p.add_argument("--valsets", default="runs/valsets")
    p.add_argument("--no-reference", action="store_true")
    p.add_argument("--quick", action="store_true", help="0.5 s per row, 60 end-to-end frames")
    p.add_argument("--readme", help="regenerate the speed table in this README")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.e2e_frames = 0.5, 60
    args.threads_list = [int(t) for t in args.threads.split(",")]
    fp = fingerprint()
    print(json.dumps(fp))
    rows = run_matrix(None, args.precision.split(","), args.provider.split(","),
                      [parse_size(s) for s in args.sizes.split(",")], args.threads_list, args.seconds)
    desk = read_frames(VIDEOS / "desk.mp4", args.e2e_frames, (1280, 720))
    e2e_row = bench_case(BenchCase("fp32", "cpu", 2, (1280, 720)), None, args.seconds, frames=desk)
    result = {"device": fp, "date": time.strftime("%Y-%m-%d"), "rows": [r.to_json() for r in rows],
              "end_to_end_desk_720p": e2e_row.to_json()}
    if not args.no_reference:
        valsets = Path(args.valsets)
        ours_acc = our_accuracy(valsets) if valsets.exists() else None
        ref = reference(args, e2e_row.pipeline_ms)
        result.update(reference=ref, our_accuracy=ours_acc,
                      side_by_side=side_by_side(rows, e2e_row.pipeline_ms, ours_acc, ref))
        for s in result["side_by_side"]:
            print(f"{s['figure']:<42} vs {s['reference']:<20} ours {s['ours']:.3f}  theirs {s['theirs']:.3f}  "
                  f"ratio {s['ratio']:.2f}")
    RESULTS.mkdir(exist_ok=True)
    slug = device_slug(fp)
    (RESULTS / f"{slug}.json").write_text(json.dumps(result, indent=1))
    md = readme_table(result) + "\n\n## All rows\n\n" + markdown_table(rows)
    (RESULTS / f"{slug}.md").write_text(md)
    pngs = plots(rows, RESULTS / slug)
    print(f"wrote {RESULTS / (slug + '.json')}, {RESULTS / (slug + '.md')}, {', '.join(map(str, pngs))}")
    if args.readme:
        update_readme(Path(args.readme), readme_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
