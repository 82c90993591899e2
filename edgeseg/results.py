"""The benchmark result schema: a latency `Summary`, a row `Status` and a `BenchRow`.

Shared by `edgeseg bench` / `tune`, the benchmarks suite and the MediaPipe reference runner (which
runs in its own venv without onnxruntime, so this module needs numpy only).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, TypedDict

import numpy as np


class Summary(TypedDict):
    """Latency of repeated calls in ms: percentiles, mean ± std, calls per second at the median, samples."""
    median: float
    p90: float
    p99: float
    mean: float
    std: float
    fps: float
    runs: int


def summarise(ms) -> Summary:
    """The Summary of a sequence of durations in ms."""
    a = np.asarray(ms, np.float64)
    med = float(np.median(a))
    return Summary(median=med, p90=float(np.percentile(a, 90)), p99=float(np.percentile(a, 99)),
                   mean=float(a.mean()), std=float(a.std()), fps=1000.0 / med if med > 0 else float("inf"),
                   runs=int(a.size))


class Status(str, Enum):
    """How a row ended. Its JSON is the value ("ok", ...)."""
    OK = "ok"                     # measured on the provider asked for
    FALLBACK = "fallback"         # measured, but ONNX Runtime ran it on `actual_provider`
    UNAVAILABLE = "unavailable"   # not measured: `note` says why (no such provider here, no such variant file)

    def __str__(self) -> str:
        return self.value


@dataclass
class BenchRow(Mapping):
    """One setting of a benchmark matrix and what was measured (None: not measured, absent from the JSON).

    It reads like its JSON dict (row["status"], {**row}), so rows measured now and rows loaded from
    a results file go through the same code: `BenchRow.of(row)` takes either.
    """
    precision: str
    provider: str
    threads: int
    size: str                              # the frame, WxH
    spinning: bool = False
    session_start_ms: float | None = None
    canvas: str | None = None              # the model input, WxH
    model_ms: Summary | None = None        # session.run alone
    pipeline_ms: Summary | None = None     # frame in, blurred frame out
    stages: dict | None = None             # the pipeline's per-stage p50/p90 (edgeseg.timing)
    file: str | None = None
    actual_provider: str | None = None
    status: Status = Status.OK
    noisy: bool | None = None              # a p90 above WIDE_SPREAD × its median
    note: str | None = None

    def __post_init__(self) -> None:
        self.status = Status(self.status)

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> BenchRow:
        """`row` as a BenchRow (a JSON dict's unknown keys are dropped).

        Raises:
            TypeError: a key of the four that name the setting is missing. ValueError: an unknown status.
        """
        if isinstance(row, cls):
            return row
        return cls(**{k: v for k, v in row.items() if k in _FIELDS})

    @property
    def measured(self) -> bool:
        return self.status in (Status.OK, Status.FALLBACK)

    def to_json(self) -> dict:
        """The JSON dict: every field that is not None, the status as its value."""
        return {k: v.value if isinstance(v, Status) else v for k, v in self.items()}

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, key) if key in _FIELDS else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (k for k in _FIELDS if getattr(self, k) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


_FIELDS = tuple(f.name for f in fields(BenchRow))
