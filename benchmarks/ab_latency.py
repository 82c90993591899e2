"""Model-only latency of ONNX models side by side, interleaved so that VM noise hits all of them alike.

    python -m benchmarks.ab_latency edgeseg/models/default.onnx OTHER.onnx [--rounds 10] [--runs 300]

For each model and each ORT setting (2 threads with ORT's default spinning, 2 threads spinning off,
1 thread spinning off), every round times `--runs` calls after 30 warm-up calls; rounds rotate over
all sessions. Prints the median of the round medians, their range, and the median p90.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import onnxruntime as ort

from edgeseg.meta import META_KEY, ModelMeta

SETTINGS = ((2, True), (2, False), (1, False))


def make_session(path: str, threads: int, spinning: bool) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--runs", type=int, default=300)
    args = p.parse_args(argv)
    sessions = {}
    for n, path in enumerate(args.models):
        for threads, spinning in SETTINGS:
            s = make_session(path, threads, spinning)
            text = s.get_modelmeta().custom_metadata_map.get(META_KEY)
            h, w = ModelMeta.from_json(text).input_hw if text else (144, 256)
            x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
            sessions[(n, path, threads, spinning)] = (s, {s.get_inputs()[0].name: x})
    stats = {k: [] for k in sessions}
    for _ in range(args.rounds):
        for key, (s, feed) in sessions.items():
            for _ in range(30):
                s.run(None, feed)
            ts = np.empty(args.runs)
            for i in range(args.runs):
                t = time.perf_counter()
                s.run(None, feed)
                ts[i] = (time.perf_counter() - t) * 1e3
            stats[key].append((np.median(ts), np.percentile(ts, 90)))
    for (_, path, threads, spinning), v in stats.items():
        v = np.asarray(v)
        print(f"{path}  {threads} thread(s), spinning {'on ' if spinning else 'off'}: "
              f"{np.median(v[:, 0]):.2f} ms ({v[:, 0].min():.2f}–{v[:, 0].max():.2f}), p90 {np.median(v[:, 1]):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
