"""Side by side in one process: edgeseg's Pipeline, MediaPipe + the cheapest blur, a straightforward pipeline.

    python -m benchmarks.e2e                       # 640x360 .. 3840x2160, writes benchmarks/results/<device>_e2e.*
    python -m benchmarks.e2e --readme README.md    # also regenerate README's end-to-end speed table

Contenders (CONTENDERS, by name):
- `edgeseg-<precision>`: `Pipeline` with its defaults (blur, refinement, feather, temporal smoothing),
  one per `--precisions` entry; the row for the CPU's default precision is marked "(default)".
- `mediapipe`: MediaPipe Selfie Segmentation landscape (144x256 .tflite, LiteRT + XNNPACK) plus the
  cheapest reasonable blur: one INTER_AREA downscale of the frame to a 320 px long side feeds both the
  model input and a Gaussian blur, then a bilinear upscale of mask and blur and a uint8
  `cv2.multiply` / `cv2.add` blend. Buffers are reused; no refinement, feather or smoothing.
- `straightforward`: the same edgeseg model without refinement, its float32 mask at full resolution,
  `cv2.GaussianBlur` 51x51 of the whole frame and a numpy float32 blend (`benchmarks.live_targets`'s baseline).

Frames come from desk.mp4, resized (untimed) to each size. The contenders take turns in blocks of
`--block` consecutive frames (the order rotates every block), so each sees the clip in order, as its
temporal state expects, and all see the same machine load. Per frame: CPU ms (`time.process_time`,
all threads of the process) and wall ms; per stage: wall ms as each contender times it. On a busy
machine read the ratios: they hold, the absolute times do not.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .frames import read_looped, resized
from .readme import update_readme as update_block

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
VIDEO = ROOT.parents[1] / "shared" / "data" / "videos" / "desk.mp4"
SIZES = ((640, 360), (1280, 720), (1920, 1080), (3840, 2160))
BEGIN, END = "<!-- e2e-table -->", "<!-- /e2e-table -->"
FPS = 30.0
BLUR_STRENGTH = 12.0         # sigma in 720p pixels, the Pipeline's default


# --------------------------------------------------------------------------- contenders

# OpenCV worker threads each contender runs with, set before each of its blocks (OpenCV's setting is
# per process). edgeseg's Pipeline sets 1 (PipelineOptions.opencv_threads); the reference and the
# straightforward pipeline get the same, which is also their cheapest in CPU; `before` runs OpenCV's own pool.
ONE_THREAD = 1
OPENCV_POOL = cv2.getNumberOfCPUs()      # OpenCV's own default: one thread per core


class EdgesegPipeline:
    """edgeseg's Pipeline with its defaults, on the CPU, in one precision (`before`: with OpenCV's own
    thread pool, as it ran before PipelineOptions.opencv_threads; `model`: another model file)."""

    def __init__(self, precision: str, before: bool = False, model: Path | None = None):
        from edgeseg import Pipeline, PipelineOptions, SegmenterOptions
        self.pipe = Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu", precision=precision,
                                                                        model_path=model),
                                             opencv_threads=None if before else ONE_THREAD))
        self.opencv_threads = OPENCV_POOL if before else ONE_THREAD
        self.model = self.pipe.segmenter.model_path.name

    def process(self, frame: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        out = self.pipe.process(frame)
        return out, self.pipe.timings.last()

    def close(self) -> None:
        self.pipe.close()


class MediaPipeCheapestBlur:
    """MediaPipe landscape + the cheapest blur (see the module docstring)."""

    def __init__(self, model_path: Path, threads: int = 1, long_side: int = 320,
                 blur_strength: float = BLUR_STRENGTH):
        from .mediapipe_ref.runner import SelfieModel
        self.model = SelfieModel(model_path, threads)
        self.long_side, self.strength = long_side, blur_strength
        self._bufs: dict[str, np.ndarray] = {}

    def _buf(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        b = self._bufs.get(name)
        if b is None or b.shape != shape:
            b = self._bufs[name] = np.empty(shape, np.uint8)
        return b

    def process(self, frame: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        h, w = frame.shape[:2]
        s = self.long_side / max(h, w)
        sw, sh = max(1, round(w * s)), max(1, round(h * s))
        t0 = time.perf_counter()
        small = cv2.resize(frame, (sw, sh), dst=self._buf("small", (sh, sw, 3)), interpolation=cv2.INTER_AREA)
        self.model.set_input(small)
        t1 = time.perf_counter()
        self.model.invoke()
        t2 = time.perf_counter()
        mask_u8 = cv2.convertScaleAbs(self.model.output(), alpha=255.0)
        alpha = cv2.resize(mask_u8, (w, h), dst=self._buf("alpha", (h, w)), interpolation=cv2.INTER_LINEAR)
        t3 = time.perf_counter()
        blurred = cv2.GaussianBlur(small, (0, 0), max(0.5, self.strength * max(sw, sh) / 1280.0),
                                   dst=self._buf("blurred", (sh, sw, 3)))
        bg = cv2.resize(blurred, (w, h), dst=self._buf("bg", (h, w, 3)), interpolation=cv2.INTER_LINEAR)
        a3 = cv2.merge([alpha, alpha, alpha], dst=self._buf("a3", (h, w, 3)))
        out = cv2.multiply(frame, a3, dst=self._buf("out", (h, w, 3)), scale=1 / 255.0)
        cv2.bitwise_not(a3, dst=a3)
        cv2.multiply(bg, a3, dst=bg, scale=1 / 255.0)
        cv2.add(out, bg, dst=out)
        t4 = time.perf_counter()
        return out, {"preprocess": (t1 - t0) * 1e3, "inference": (t2 - t1) * 1e3,
                     "postprocess": (t3 - t2) * 1e3, "composite": (t4 - t3) * 1e3}

    def close(self) -> None:
        self.model = None


class Straightforward:
    """The same model, no refinement, float32 mask at full resolution, a full-frame 51x51 blur, numpy blend."""

    def __init__(self, threads: int = 1):
        from edgeseg import Segmenter, SegmenterOptions
        self.seg = Segmenter(SegmenterOptions(provider="cpu", threads=threads, refine=False))
        self.model = self.seg.model_path.name

    def process(self, frame: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        result = self.seg.segment(frame)
        t = time.perf_counter()
        a = result.mask[..., None]
        blurred = cv2.GaussianBlur(frame, (51, 51), 0)
        out = (frame.astype(np.float32) * a + blurred.astype(np.float32) * (1.0 - a)).astype(np.uint8)
        stages = dict(result.timings)
        stages["composite"] = (time.perf_counter() - t) * 1e3
        return out, stages

    def close(self) -> None:
        self.seg.close()


@dataclass(frozen=True)
class Contender:
    name: str
    role: str                     # ours | reference | straightforward
    make: Callable[[], object]


def contenders(precisions: list[str], mediapipe_model: Path | None, threads: int,
               before: bool = False, before_model: Path | None = None) -> list[Contender]:
    """The contenders in run order: edgeseg per precision, then the reference (if its model is given), then the
    straightforward pipeline; `before` adds edgeseg in the default precision with OpenCV's own thread pool,
    `before_model` edgeseg in the default precision on that model file (e.g. the previous default)."""
    from edgeseg.variants import default_precision
    default = default_precision("cpu")
    out = [Contender(f"edgeseg-{p}" + (" (default)" if p == default else ""), "ours",
                     lambda p=p: EdgesegPipeline(p)) for p in precisions]
    if before:
        out.append(Contender(f"edgeseg-{default}, OpenCV's thread pool (before)", "before",
                             lambda: EdgesegPipeline(default, before=True)))
    elif before_model is not None:
        out.append(Contender(f"edgeseg-{default}, {Path(before_model).name} (before)", "before",
                             lambda: EdgesegPipeline(default, model=Path(before_model))))
    if mediapipe_model is not None:
        out.append(Contender("mediapipe-landscape + cheapest blur", "reference",
                             lambda: MediaPipeCheapestBlur(mediapipe_model, threads)))
    out.append(Contender("straightforward", "straightforward", lambda: Straightforward(threads)))
    return out


# --------------------------------------------------------------------------- running

def schedule(n_contenders: int, n_frames: int, block: int) -> list[tuple[int, int, list[int]]]:
    """Blocks of consecutive frames, (start, stop, contender order); the order rotates by one every block, so
    no contender always runs first (on a cold cache) or last."""
    if n_contenders < 1 or n_frames < 1 or block < 1:
        raise ValueError("schedule needs at least one contender, one frame and a block of at least one frame")
    plan = []
    for i, start in enumerate(range(0, n_frames, block)):
        k = i % n_contenders
        order = list(range(k, n_contenders)) + list(range(k))
        plan.append((start, min(start + block, n_frames), order))
    return plan


def read_source(video: Path, n: int) -> list[np.ndarray]:
    """`n` frames of `video` at its own size (the clip loops if it is shorter)."""
    try:
        return read_looped(video, n)
    except ValueError as exc:
        raise SystemExit(f"{exc}; pass --video PATH to a readable video") from None


def _pct(values: list[float]) -> dict:
    a = np.asarray(values, np.float64)
    return {"median": float(np.median(a)), "p90": float(np.percentile(a, 90))}


def run_size(runners: dict[str, object], source: list[np.ndarray], size_wh: tuple[int, int], n_frames: int,
             block: int, warmup: int) -> dict:
    """Interleaved blocks at one frame size. -> {name: {cpu_ms, wall_ms, stages, core_pct_30fps, frames}}."""
    names = list(runners)
    cpu: dict[str, list[float]] = {n: [] for n in names}
    wall: dict[str, list[float]] = {n: [] for n in names}
    stages: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    for i in range(min(warmup, len(source))):       # untimed: buffers of this size, caches
        f = resized(source[i], size_wh)
        for n in names:
            cv2.setNumThreads(getattr(runners[n], "opencv_threads", ONE_THREAD))
            runners[n].process(f)
    offset = warmup
    for start, stop, order in schedule(len(names), n_frames, block):
        frames = [resized(source[(offset + j) % len(source)], size_wh) for j in range(start, stop)]
        for k in order:
            n, r = names[k], runners[names[k]]
            cv2.setNumThreads(getattr(r, "opencv_threads", ONE_THREAD))      # untimed
            for f in frames:
                c0, t0 = time.process_time(), time.perf_counter()
                _, st = r.process(f)
                wall[n].append((time.perf_counter() - t0) * 1e3)
                cpu[n].append((time.process_time() - c0) * 1e3)
                for s, v in st.items():
                    stages[n].setdefault(s, []).append(v)
    out = {}
    for n in names:
        c = _pct(cpu[n])
        out[n] = {"cpu_ms": c, "wall_ms": _pct(wall[n]), "frames": len(cpu[n]),
                  "core_pct_30fps": c["median"] * FPS / 10.0,
                  "stages": {s: float(np.median(v)) for s, v in stages[n].items()}}
    return out


def mediapipe_model_path(wait_s: float, fetch: bool = False) -> Path | None:
    """benchmarks/.mpref/models' landscape .tflite (see benchmarks.mediapipe_ref.setup_env), waiting up to
    wait_s for a setup that is still running, or fetching it from the mediapipe wheel with `fetch`;
    None when LiteRT or the model is missing."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        print("ai-edge-litert is not installed (pip install -c constraints.txt -e '.[bench]'): "
              "the MediaPipe reference is left out")
        return None
    from .mediapipe_ref.setup_env import DEFAULT_ROOT, MODELS, _models_ok
    models = {name: DEFAULT_ROOT / "models" / fname for name, (fname, _) in MODELS.items()}
    deadline = time.monotonic() + wait_s
    while not _models_ok(models):
        if fetch:
            import sys
            from .mediapipe_ref.setup_env import ensure_models
            return ensure_models(Path(sys.executable), DEFAULT_ROOT)["landscape"]
        if time.monotonic() > deadline:
            print(f"no MediaPipe models in {DEFAULT_ROOT / 'models'} (run python -m benchmarks.mediapipe_ref.setup_env): "
                  "the MediaPipe reference is left out")
            return None
        time.sleep(5)
    return models["landscape"]


def run(sizes: list[tuple[int, int]], frames: int, block: int, warmup: int, precisions: list[str], threads: int,
        video: Path, wait_s: float = 0.0, frames_4k: int | None = None, fetch: bool = False,
        before: bool = False, before_model: Path | None = None) -> dict:
    from edgeseg.bench import fingerprint
    mp_model = mediapipe_model_path(wait_s, fetch)
    cons = contenders(precisions, mp_model, threads, before, before_model)
    runners = {c.name: c.make() for c in cons}
    source = read_source(video, frames + warmup)
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "device": fingerprint(),
              "loadavg_start": list(os.getloadavg()),
              "settings": {"video": str(video), "frames": frames, "frames_4k": frames_4k, "block": block,
                           "warmup": warmup, "threads": threads, "precisions": precisions,
                           "blur_strength": BLUR_STRENGTH},
              "contenders": {c.name: {"role": c.role, "model": getattr(runners[c.name], "model", None)
                                      if c.role != "reference" else mp_model.name} for c in cons},
              "sizes": {}}
    try:
        for w, h in sizes:
            n = frames_4k if frames_4k and w * h >= 3840 * 2160 else frames
            t = time.perf_counter()
            r = run_size(runners, source, (w, h), n, block, warmup)
            result["sizes"][f"{w}x{h}"] = r
            print(f"{w}x{h} ({time.perf_counter() - t:.0f} s): " + "; ".join(
                f"{k} {v['cpu_ms']['median']:.2f} ms CPU" for k, v in r.items()), flush=True)
    finally:
        for r in runners.values():
            r.close()
    result["loadavg_end"] = list(os.getloadavg())
    return result


# --------------------------------------------------------------------------- reporting

def _roles(result: dict) -> tuple[list[str], str | None, str | None, str | None]:
    roles = result["contenders"]
    ours = [n for n, c in roles.items() if c["role"] == "ours"]
    ref, naive, before = (next((n for n, c in roles.items() if c["role"] == role), None)
                          for role in ("reference", "straightforward", "before"))
    return ours, ref, naive, before


def markdown(result: dict) -> str:
    """The tables: CPU ms per frame with ratios, % of a core at 30 FPS, wall ms, per-stage ms."""
    ours, ref, naive, before = _roles(result)
    names = list(result["contenders"])
    d, s = result["device"], result["settings"]
    load = result["loadavg_start"][0]
    lines = [f"Measured by `python -m benchmarks.e2e` on {d['cpu']} ({d['cores']} cores), onnxruntime "
             f"{d['onnxruntime']}, {result['date'][:10]}; load average {load:.1f} at the start "
             f"(1-minute). All contenders in one process, {s['frames']} frames each per size "
             f"({s['frames_4k'] or s['frames']} at 4K), interleaved in blocks of {s['block']}; frames from "
             f"{Path(s['video']).name}, resized. Models: " +
             ", ".join(f"{n}: {c['model']}" for n, c in result["contenders"].items()) + ".", ""]
    # CPU table
    head = ["frame"] + [f"{n} CPU ms" for n in names]
    head += [f"{o.split(' ')[0]} / reference" for o in ours] if ref else []
    head += [f"straightforward / {o.split(' ')[0]}" for o in ours] if naive else []
    main_ours = next((o for o in ours if "(default)" in o), ours[0] if ours else None)
    head += [f"{main_ours.split(' ')[0]} / before"] if before and ours else []
    lines += ["CPU ms per frame (`process_time`, all threads), median (p90); ratios of the medians:", "",
              "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size, r in result["sizes"].items():
        row = [size.replace("x", "×")] + [f"{r[n]['cpu_ms']['median']:.2f} ({r[n]['cpu_ms']['p90']:.2f})" for n in names]
        if ref:
            row += [f"{r[o]['cpu_ms']['median'] / r[ref]['cpu_ms']['median']:.2f}×" for o in ours]
        if naive:
            row += [f"{r[naive]['cpu_ms']['median'] / r[o]['cpu_ms']['median']:.1f}× faster" for o in ours]
        if before and ours:
            row += [f"{r[main_ours]['cpu_ms']['median'] / r[before]['cpu_ms']['median']:.2f}×"]
        lines.append("| " + " | ".join(row) + " |")
    # wall and core %
    lines += ["", "Wall ms per frame, median (p90), and % of one core at 30 FPS (CPU median × 30):", "",
              "| frame | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    for size, r in result["sizes"].items():
        lines.append(f"| {size.replace('x', '×')} | " + " | ".join(
            f"{r[n]['wall_ms']['median']:.2f} ({r[n]['wall_ms']['p90']:.2f}), {r[n]['core_pct_30fps']:.0f} %"
            for n in names) + " |")
    # stages
    stage_names: list[str] = []
    for r in result["sizes"].values():
        for n in names:
            stage_names += [k for k in r[n]["stages"] if k not in stage_names]
    lines += ["", "Per-stage wall ms (median of each stage):", "",
              "| frame | contender | " + " | ".join(stage_names) + " |", "|" + "---|" * (len(stage_names) + 2)]
    for size, r in result["sizes"].items():
        for n in names:
            st = r[n]["stages"]
            lines.append(f"| {size.replace('x', '×')} | {n} | " +
                         " | ".join(f"{st[k]:.2f}" if k in st else "" for k in stage_names) + " |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sizes = list(result["sizes"])
    mp = [int(s.split("x")[0]) * int(s.split("x")[1]) / 1e6 for s in sizes]
    for n in result["contenders"]:
        ax.plot(mp, [result["sizes"][s][n]["cpu_ms"]["median"] for s in sizes], marker="o", label=n)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(mp, [s.replace("x", "×") for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("frame (megapixels, log scale)")
    ax.set_ylabel("CPU ms per frame, median (log scale)")
    ax.set_title(f"End to end, one process, {result['device']['cpu'][:40]}", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_suffix(".partial.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text)
    tmp.replace(path)


def update_readme(readme: Path, table: str) -> None:
    """Replace the text between README's e2e-table markers with `table` (SystemExit if they are missing)."""
    update_block(readme, table, BEGIN, END)


def parse_sizes(text: str) -> list[tuple[int, int]]:
    try:
        return [tuple(int(v) for v in s.lower().split("x")) for s in text.split(",") if s]  # type: ignore[misc]
    except ValueError:
        raise SystemExit(f"--sizes takes WxH,WxH,... (e.g. 1280x720,1920x1080), got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default=",".join(f"{w}x{h}" for w, h in SIZES))
    p.add_argument("--frames", type=int, default=200, help="measured frames per contender and size (200)")
    p.add_argument("--frames-4k", type=int, default=60, help="the same at 3840x2160 and above (60)")
    p.add_argument("--block", type=int, default=10, help="consecutive frames per turn (10)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--precisions", default="fp32,int8")
    p.add_argument("--threads", type=int, default=1, help="threads for the reference's and the straightforward "
                   "pipeline's model (1; edgeseg's Pipeline uses its own default, 1 on CPU)")
    p.add_argument("--video", type=Path, default=VIDEO)
    p.add_argument("--wait-models", type=float, default=0.0, help="seconds to wait for the MediaPipe models")
    p.add_argument("--before", action="store_true", help="add edgeseg with OpenCV's own thread pool (as before "
                   "PipelineOptions.opencv_threads), for before/after ratios per stage")
    p.add_argument("--before-model", type=Path, help="instead: add edgeseg on this model file (e.g. the previous "
                   "default, kept outside the repository) as the 'before' of the ratios")
    p.add_argument("--fetch-models", action="store_true", help="download the mediapipe wheel and extract the "
                   "models if they are missing (benchmarks.mediapipe_ref.setup_env.ensure_models)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--readme", type=Path)
    args = p.parse_args(argv)
    if args.before and args.before_model:
        p.error("--before and --before-model each add the 'before' contender; pass one")
    if args.before_model and not args.before_model.is_file():
        p.error(f"--before-model {args.before_model}: no such file; pass an .onnx model")
    from edgeseg.bench import device_slug, fingerprint
    result = run(parse_sizes(args.sizes), args.frames, args.block, args.warmup,
                 [s for s in args.precisions.split(",") if s], args.threads, args.video, args.wait_models,
                 args.frames_4k, args.fetch_models, args.before, args.before_model)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{device_slug(fingerprint())}_e2e"
    table = markdown(result)
    _write(stem.with_suffix(".json"), json.dumps(result, indent=1))
    _write(stem.with_suffix(".md"), table)
    plot(result, stem.with_suffix(".png"))
    print(table)
    print(f"wrote {stem}.json, .md, .png")
    if args.readme:
        update_readme(args.readme, table)
        print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
