"""Stage timings: a rolling window per stage, summarised as p50/p90 in milliseconds."""
from __future__ import annotations

import time
from collections import deque
from contextlib import contextmanager

import numpy as np

STAGES = ("capture_wait", "preprocess", "inference", "postprocess", "composite", "output")


class StageTimes:
    """Per-stage durations (ms) of the last `window` frames, plus the whole-frame time."""

    def __init__(self, window: int = 2000):
        self.window = window
        self.stages: dict[str, deque] = {}
        self.frames: deque = deque(maxlen=window)
        self.count = 0

    def add(self, stage: str, ms: float) -> None:
        q = self.stages.get(stage)
        if q is None:
            q = self.stages[stage] = deque(maxlen=self.window)
        q.append(ms)

    def add_frame(self, ms: float) -> None:
        self.frames.append(ms)
        self.count += 1

    @contextmanager
    def stage(self, name: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, (time.perf_counter() - t) * 1e3)

    def last(self) -> dict[str, float]:
        return {k: v[-1] for k, v in self.stages.items() if v}

    def summary(self) -> dict:
        """{'frames', 'ms_per_frame_median', 'ms_per_frame_p90', 'stages': {name: {p50, p90}}}."""
        def pct(q, p):
            return float(np.percentile(np.fromiter(q, float), p)) if q else float("nan")
        order = [s for s in STAGES if s in self.stages] + [s for s in self.stages if s not in STAGES]
        return {"frames": self.count,
                "ms_per_frame_median": pct(self.frames, 50), "ms_per_frame_p90": pct(self.frames, 90),
                "stages": {s: {"p50": pct(self.stages[s], 50), "p90": pct(self.stages[s], 90)} for s in order}}

    def format(self) -> str:
        s = self.summary()
        lines = [f"{s['frames']} frames: {s['ms_per_frame_median']:.2f} ms/frame median, "
                 f"{s['ms_per_frame_p90']:.2f} ms p90"]
        lines += [f"  {k:<13} p50 {v['p50']:6.2f} ms   p90 {v['p90']:6.2f} ms" for k, v in s["stages"].items()]
        return "\n".join(lines)
