"""Model-only latency of ONNX models side by side, interleaved so that VM noise hits all of them alike.

    python -m benchmarks.ab_latency edgeseg/models/default.onnx OTHER.onnx [--rounds 10] [--runs 300]
    python -m benchmarks.ab_latency edgeseg/models/default.onnx edgeseg/models/default.onnx@160x288

A model is timed at its base input size, or at HxW when written MODEL@HxW (a model with dynamic H/W).

Each model runs through edgeseg's own `Session` on the CPU, under three settings: 2 threads with
ORT's default spinning, 2 threads spinning off, 1 thread spinning off. Every round times `--runs`
calls per session (after a short warm-up), and rounds rotate over all sessions. Prints the median
of the round medians, their range, and the median p90.
"""
from __future__ import annotations

import argparse

import numpy as np

from edgeseg.bench import time_it
from edgeseg.sizes import parse_hw
from edgeseg.errors import ConfigError
from edgeseg.session import Session

SETTINGS = ((2, True), (2, False), (1, False))


def parse_model(arg: str) -> tuple[str, tuple[int, int] | None]:
    """'PATH' or 'PATH@HxW' -> (path, (H, W) or None).

    Raises:
        ConfigError: the size after @ is not HxW.
    """
    path, at, size = arg.rpartition("@")
    return (path, parse_hw(size, f"{path}@")) if at else (arg, None)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--runs", type=int, default=300)
    args = p.parse_args(argv)
    runs = []
    for arg in args.models:
        try:
            path, size = parse_model(arg)
        except ConfigError as exc:
            p.error(f"{exc}; write a size as MODEL@HxW, e.g. default.onnx@160x288")
        for threads, spinning in SETTINGS:
            s = Session(path, "cpu", threads, spinning)
            x = np.random.default_rng(0).random((1, 3, *(size or s.meta.input_hw)), dtype=np.float32)
            runs.append((arg, threads, spinning, lambda s=s, x=x: s.run(x), []))
    for _ in range(args.rounds):
        for *_, fn, stats in runs:
            stats.append(time_it(fn, seconds=0, warmup_seconds=0.05, min_runs=args.runs, max_runs=args.runs))
    for path, threads, spinning, _, stats in runs:
        med = np.array([r["median"] for r in stats])
        print(f"{path}  {threads} thread(s), spinning {'on ' if spinning else 'off'}: "
              f"{np.median(med):.2f} ms ({med.min():.2f}–{med.max():.2f}), p90 {np.median([r['p90'] for r in stats]):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
