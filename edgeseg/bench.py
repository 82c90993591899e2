"""Latency measurement: device fingerprint, warm-up, time-based run counts, percentiles.

Used by `edgeseg bench`, `edgeseg tune` and the benchmarks/ suite. Measurements are reported,
never asserted.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import platform
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .errors import EdgeSegError
from .models import pick_model_file
from .results import BenchRow, Status, Summary, summarise
from .session import PROVIDER_NAMES, available_providers, short_name
from .variants import get_variant

CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "neon")
WIDE_SPREAD = 1.5   # a row whose p90 exceeds this many medians was measured while something else ran


def fingerprint() -> dict:
    """CPU model, cores, instruction flags, GPU, versions and available providers."""
    import onnxruntime as ort
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        text = Path("/proc/cpuinfo").read_text()
        m = re.search(r"model name\s*:\s*(.+)", text)
        cpu = m.group(1).strip() if m else cpu
        m = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        flags = set(m.group(1).split()) if m else set()
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "cpu_flags": {f: f in flags for f in CPU_FLAGS},
            "gpu": gpu_info(), "onnxruntime": ort.__version__, "edgeseg": __version__,
            "python": platform.python_version(), "os": f"{platform.system()} {platform.release()}",
            "providers": [short_name(p) for p in available_providers()]}


def gpu_info() -> dict | None:
    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10).stdout.strip().splitlines()
    except (OSError, subprocess.SubprocessError):
        return None
    if not out:
        return None
    name, driver, mem = (s.strip() for s in out[0].split(","))
    return {"name": name, "driver": driver, "memory": mem}


def device_slug(fp: dict) -> str:
    """A file-name-safe device name, e.g. 'amd-epyc-2c' or 'nvidia-h100-80gb-hbm3'."""
    name = fp["gpu"]["name"] if fp.get("gpu") else f"{fp['cpu']}-{fp['cores']}c"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def time_it(fn, seconds: float = 1.0, warmup_seconds: float = 0.3, min_runs: int = 30,
            max_runs: int = 100_000) -> Summary:
    """Warm up, then call fn until `seconds` have passed (and at least min_runs); ms percentiles."""
    end = time.perf_counter() + warmup_seconds
    fn()
    while time.perf_counter() < end:
        fn()
    times: list[float] = []
    end = time.perf_counter() + seconds
    while (time.perf_counter() < end or len(times) < min_runs) and len(times) < max_runs:
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return summarise(times)


@dataclass
class BenchCase:
    precision: str
    provider: str
    threads: int
    size_wh: tuple[int, int]
    spinning: bool = False


def demo_frames(size_wh: tuple[int, int], n: int = 24) -> list[np.ndarray]:
    from .sources import DemoSource
    src = DemoSource(size_wh, frames=n)
    return [src.read() for _ in range(n)]


def bench_case(case: BenchCase, model: str | Path | None, seconds: float,
               frames: list[np.ndarray] | None = None) -> BenchRow:
    """One row: model-only and full-pipeline latency with the stage breakdown.

    A provider that this onnxruntime lacks, or a missing variant, gives a row with that status.
    """
    from .pipeline import Pipeline, PipelineOptions
    from .segmenter import Segmenter, SegmenterOptions
    w, h = case.size_wh
    row = BenchRow(case.precision, case.provider, case.threads, f"{w}x{h}", case.spinning)
    if PROVIDER_NAMES[case.provider] not in available_providers():
        row.status, row.note = Status.UNAVAILABLE, f"onnxruntime here has no {case.provider} provider"
        return row
    try:
        path = pick_model_file(model, case.precision, case.provider)
        t = time.perf_counter()
        seg = Segmenter(SegmenterOptions(model_path=path, provider=case.provider, threads=case.threads,
                                         spinning=case.spinning))
        row.session_start_ms = (time.perf_counter() - t) * 1e3
    except EdgeSegError as exc:
        row.status, row.note = Status.UNAVAILABLE, str(exc)
        return row
    with seg:
        canvas = seg.canvas_for((h, w))
        meta = seg.meta
        shape = (1, 3, *canvas) if meta.layout == "NCHW" else (1, *canvas, 3)
        x = np.random.default_rng(0).random(shape, np.float32).astype(seg.session.input_dtype)
        row.canvas = f"{canvas[1]}x{canvas[0]}"
        row.model_ms = time_it(lambda: seg.session.run(x), seconds)
        frames = frames or demo_frames((w, h))
        with Pipeline(PipelineOptions(effect="blur"), segmenter=seg) as pipe:
            cycle = itertools.cycle(frames)
            row.pipeline_ms = time_it(lambda: pipe.process(next(cycle)), seconds)
            row.stages = pipe.timings.summary()["stages"]
        row.file = path.name
        row.actual_provider = seg.provider
    row.status = Status.OK if row.actual_provider == case.provider else Status.FALLBACK
    row.noisy = any(t["p90"] > WIDE_SPREAD * t["median"] for t in (row.model_ms, row.pipeline_ms))
    return row


def device_line(fp: dict) -> str:
    """The fingerprint as one line a person reads."""
    flags = ", ".join(f for f, on in fp["cpu_flags"].items() if on) or "none of " + ", ".join(CPU_FLAGS)
    gpu = fp["gpu"]["name"] if fp.get("gpu") else "no GPU"
    return (f"device: {fp['cpu']} ({fp['cores']} cores; {flags}), {gpu}; onnxruntime {fp['onnxruntime']} "
            f"({', '.join(fp['providers'])}); edgeseg {fp['edgeseg']}, Python {fp['python']}, {fp['os']}")


def model_line(model: str | Path | None, precisions: list[str]) -> str:
    """Which model file(s) the rows measure, said once."""
    from .models import DEFAULT_MODEL
    from .variants import variant_path
    base = Path(model).expanduser() if model else DEFAULT_MODEL
    files = [variant_path(base, p).name for p in precisions if variant_path(base, p).exists()]
    return f"model: {base}" + (f" ({', '.join(files)})" if len(files) > 1 else "")


def split_providers(providers: list[str]) -> tuple[list[str], list[str]]:
    """(the providers this onnxruntime can run, those it cannot), each in the given order."""
    have = available_providers()
    return [p for p in providers if PROVIDER_NAMES[p] in have], [p for p in providers if PROVIDER_NAMES[p] not in have]


def unavailable_line(missing: list[str]) -> str:
    """One line for the providers that were not measured, with how to get them."""
    have = ", ".join(short_name(p) for p in available_providers())
    from .session import install_hint
    hint = install_hint("tensorrt" if missing == ["tensorrt"] else "cuda")
    return f"not measured: {', '.join(missing)} (this onnxruntime has {have}); to get them: {hint}"


def load_warning() -> str | None:
    """A warning when the 1-minute load average exceeds the cores (timings are then noisy)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return None
    cores = os.cpu_count() or 1
    if load <= cores:
        return None
    return (f"warning: the load average is {load:.1f} on {cores} cores: other work is running, so these "
            "timings are noisy. Compare rows of one run only, or measure again when the machine is idle")


def spread_warning(rows: list[Mapping]) -> str | None:
    """A warning naming the rows (BenchRow or its JSON) whose p90 exceeds WIDE_SPREAD × their median."""
    wide = [r for r in map(BenchRow.of, rows) if r.noisy]
    if not wide:
        return None
    names = ", ".join(f"{r.provider} {r.precision} {r.threads}t {r.size}" for r in wide[:4])
    more = f" and {len(wide) - 4} more" if len(wide) > 4 else ""
    return (f"warning: {len(wide)} row(s) have a wide spread (p90 over {WIDE_SPREAD:g}× the median: {names}{more}); "
            "something else was running: measure again, or with --seconds 3")


@contextlib.contextmanager
def _quiet_sessions():
    """Each row opens a session; keep its INFO line ("model ... on cpu") out of the table, warnings in."""
    logger = logging.getLogger("edgeseg")
    level = logger.level
    logger.setLevel(max(logging.WARNING, level))
    try:
        yield
    finally:
        logger.setLevel(level)


def unsuited_pairs(providers: list[str], precisions: list[str]) -> list[tuple[str, str]]:
    """The (provider, precision) pairs whose variant does not suit the provider (Variant.providers)."""
    return [(pv, pr) for pv in providers for pr in precisions if not get_variant(pr).suits(pv)]


def unsuited_notes(pairs: list[tuple[str, str]]) -> str:
    """'fp16 on cpu (the variant's note); ...' for (provider, precision) pairs."""
    return "; ".join(f"{pr} on {pv} ({get_variant(pr).note})" for pv, pr in pairs)


def unsuited_line(pairs: list[tuple[str, str]]) -> str:
    """One line for the (provider, precision) pairs not measured because the variant does not suit the provider."""
    return f"not measured, not suited: {unsuited_notes(pairs)}. Pass --unsuited to measure them too"


def run_matrix(model, precisions, providers, sizes, threads, seconds: float = 1.0, log=print,
               spinning: bool = False, only_available: bool = False, progress: bool = False,
               unsuited: bool = True) -> list[BenchRow]:
    """Bench every (provider, precision, threads, size) and return the rows, logging each as it ends.

    only_available: skip the providers this onnxruntime lacks, logging one line for them instead of a
    row each. unsuited=False: skip the variants a provider does not suit (Variant.providers, e.g. fp16
    on the CPU), logging one line with the variants' notes. progress: one tqdm bar over all rows (on
    stderr, hidden when it is not a terminal).
    """
    if only_available:
        providers, missing = split_providers(list(providers))
        if missing:
            log(unavailable_line(missing))
    skipped = [] if unsuited else unsuited_pairs(list(providers), list(precisions))
    if skipped:
        log(unsuited_line(skipped))
    cases = [BenchCase(pr, pv, n, size, spinning) for pv in providers for pr in precisions
             if (pv, pr) not in skipped for n in threads for size in sizes]
    rows = []
    bar = _progress(len(cases)) if progress else None
    emit = bar.write if bar is not None and log is print else log   # rows print above the bar
    with _quiet_sessions():
        for case in cases:
            if bar is not None:
                bar.set_description(f"{case.provider} {case.precision} {case.threads}t "
                                    f"{case.size_wh[0]}x{case.size_wh[1]}")
            row = bench_case(case, model, seconds)
            rows.append(row)
            if bar is not None:
                bar.update()
            emit(format_row(row))
    if bar is not None:
        bar.close()
    return rows


def _progress(total: int):
    from tqdm import tqdm
    return tqdm(total=total, unit="row", leave=False, disable=None, dynamic_ncols=True)


def format_row(row: Mapping) -> str:
    """One row (a BenchRow or its JSON) as a line of `edgeseg bench`'s output."""
    r = BenchRow.of(row)
    head = f"{r.provider:>8} {r.precision:>4} {r.threads}t {r.size:>9}"
    if not r.measured:
        return f"{head}  {r.status.value}: {r.note or ''}"
    m, p = r.model_ms, r.pipeline_ms
    flag = "  (noisy)" if r.noisy else ""
    status = "" if r.status is Status.OK else f"  {r.status.value} to {r.actual_provider}"
    return (f"{head}  model {m['median']:6.3f} ms (p90 {m['p90']:6.3f})   pipeline {p['median']:6.2f} ms "
            f"(p90 {p['p90']:6.2f}, {p['fps']:6.1f} fps){status}{flag}")


def markdown_table(rows: list[Mapping]) -> str:
    """The rows (BenchRow or their JSON) as a Markdown table, every statistic of both timings."""
    lines = ["| provider | precision | threads | frame | model ms median | p90 | p99 | mean ± std | pipeline ms median | p90 | FPS | status |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in map(BenchRow.of, rows):
        head = f"| {r.provider} | {r.precision} | {r.threads} | {r.size} |"
        if r.measured:
            m, p = r.model_ms, r.pipeline_ms
            lines.append(f"{head} {m['median']:.3f} | {m['p90']:.3f} | {m['p99']:.3f} | {m['mean']:.3f} ± {m['std']:.3f} | "
                         f"{p['median']:.2f} | {p['p90']:.2f} | {p['fps']:.0f} | {r.status.value} |")
        else:
            lines.append(f"{head} – | – | – | – | – | – | – | {r.status.value}: {(r.note or '')[:80]} |")
    return "\n".join(lines) + "\n"
