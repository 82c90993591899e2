"""The model budget, side by side in one process: CPU time per model call, edgeseg against MediaPipe.

    python -m benchmarks.model_cpu [--model M.onnx] [--rounds 10] [--calls 200]
    python -m benchmarks.model_cpu --model new=a.onnx --model old=b.onnx   # several models, same rounds

edgeseg runs through its `Session` on the CPU (1 thread, spinning off: as the live pipeline runs it) at
its default canvas; MediaPipe Selfie Segmentation general (256×256) and landscape (144×256) run raw in
LiteRT with 1 thread (needs the bench extra, ai-edge-litert, and benchmarks/.mpref/models from
`python -m benchmarks.mediapipe_ref.setup_env`). Rounds interleave the models, `--calls` each per round;
CPU time is time.process_time (all threads of the process). The input is a real frame of desk.mp4.
Reports the median over rounds of the mean CPU and wall ms per call, and each edgeseg/MediaPipe ratio.
Writes benchmarks/results/model_cpu.json.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edgeseg.models import DEFAULT_MODEL

from .frames import read_frames
from .live_targets import DATA
from .quality import label_path

ROOT = Path(__file__).resolve().parent


def runners(models: list[str]) -> dict:
    from edgeseg.preprocess import prepare
    from edgeseg.session import Session
    from .mediapipe_ref.runner import SelfieModel
    from .mediapipe_ref.setup_env import DEFAULT_ROOT, MODELS
    frame = read_frames(DATA / "desk.mp4", 1, (1280, 720))[0]
    out = {}
    for spec in models:
        label, model = label_path(spec)
        sess = Session(model, provider="cpu", threads=1, spinning=False)
        x, lb = prepare(frame, sess.meta)
        out[f"edgeseg {label} @{lb.canvas_hw[0]}x{lb.canvas_hw[1]}"] = lambda s=sess, x=x: s.run(x)
    for name, (fname, _) in MODELS.items():
        m = SelfieModel(DEFAULT_ROOT / "models" / fname, threads=1)
        m.set_input(frame)
        out[f"mediapipe {name} @{m.input_hw[0]}x{m.input_hw[1]}"] = m.invoke
    return out


def measure(calls: dict, rounds: int, n: int) -> dict:
    for fn in calls.values():          # warm-up
        for _ in range(20):
            fn()
    cpu = {k: [] for k in calls}
    wall = {k: [] for k in calls}
    for r in range(rounds):
        order = list(calls)[r % len(calls):] + list(calls)[: r % len(calls)]   # rotate who goes first
        for name in order:
            fn = calls[name]
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(n):
                fn()
            cpu[name].append((time.process_time() - c0) * 1e3 / n)
            wall[name].append((time.perf_counter() - w0) * 1e3 / n)
    return {k: {"cpu_ms": float(np.median(cpu[k])), "wall_ms": float(np.median(wall[k])),
                "cpu_ms_rounds": [round(v, 3) for v in cpu[k]]} for k in calls}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.model_cpu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", help="an edgeseg .onnx, PATH or LABEL=PATH; repeat to measure "
                   "several in the same rounds (default: the bundled model); the ratios are to the first")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--json", default=str(ROOT / "results" / "model_cpu.json"))
    args = p.parse_args(argv)
    result = measure(runners(args.model or [str(DEFAULT_MODEL)]), args.rounds, args.calls)
    ours = next(k for k in result if k.startswith("edgeseg"))
    for k, v in result.items():
        ratio = "" if k == ours else f"   {ours.split(' @')[0]} / this: {result[ours]['cpu_ms'] / v['cpu_ms']:.2f}x CPU"
        print(f"{k:40s} CPU {v['cpu_ms']:.3f} ms/call, wall {v['wall_ms']:.3f}{ratio}")
    Path(args.json).write_text(json.dumps({"rows": result, "rounds": args.rounds, "calls": args.calls,
                                           "date": time.strftime("%Y-%m-%d")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
