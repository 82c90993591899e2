"""Runs MediaPipe Selfie Segmentation (.tflite, LiteRT + XNNPACK) jobs. Executed by the reference venv's python:

    PYTHONPATH=<repo root> benchmarks/.mpref/venv/bin/python runner.py JOB.json RESULT.json

Imports only numpy, cv2, ai_edge_litert, benchmarks.frames and edgeseg.compose / .evaluate / .metrics / .results / .sources (pure
numpy + cv2; importing them runs edgeseg/__init__, which imports no onnxruntime at import time). Timings are
edgeseg.results.Summary dicts (median, p90, p99, mean, std, fps, runs: the keys of `edgeseg bench`'s rows).

Job fields (all kinds): "kind" (latency | end_to_end | accuracy | pseudo_labels | label_images), "models" {name: .tflite path},
"threads" (int, or a list for latency). See `run_latency`, `run_end_to_end`, `run_accuracy` for the rest.

Pre/post-processing follows MediaPipe's selfie_segmentation_cpu graph (checked in the 0.10.21 wheel):
ImageToTensorCalculator with keep_aspect_ratio=false (the frame is stretched to the model input),
float range [0, 1], RGB; the model output is one channel of person probabilities (sigmoid inside the
model) and TensorsToSegmentationCalculator uses activation NONE.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from edgeseg.compose import Compositor
from edgeseg.evaluate import image_mask_pairs
from edgeseg.metrics import mean_scores, score_mask
from edgeseg.results import summarise
from edgeseg.sources import IMAGE_EXTS

from benchmarks.frames import read_looped
from benchmarks.mediapipe_ref.motion import MotionMeter



# --------------------------------------------------------------------------- model

class SelfieModel:
    """One selfie-segmentation .tflite in a LiteRT interpreter, with MediaPipe's pre/post-processing."""

    def __init__(self, path: str | Path, threads: int):
        self.path = Path(path)
        self.interpreter = Interpreter(model_path=str(path), num_threads=int(threads))
        self.interpreter.allocate_tensors()
        inp, = self.interpreter.get_input_details()
        out, = self.interpreter.get_output_details()
        _check_io(self.path.name, inp, out)
        self._in_index, self._out_index = inp["index"], out["index"]
        self.input_hw = (int(inp["shape"][1]), int(inp["shape"][2]))
        self._tensor = np.zeros(tuple(inp["shape"]), np.float32)
        self._rgb = np.empty((*self.input_hw, 3), np.uint8)

    def describe(self) -> dict:
        inp, = self.interpreter.get_input_details()
        out, = self.interpreter.get_output_details()
        return {"file": self.path.name, "input": [int(d) for d in inp["shape"]], "input_dtype": inp["dtype"].__name__,
                "output": [int(d) for d in out["shape"]], "output_dtype": out["dtype"].__name__}

    def set_input(self, frame_bgr: np.ndarray) -> None:
        """Stretch to the input size (no aspect ratio kept, as MediaPipe does), BGR->RGB, float32 in [0, 1]."""
        h, w = self.input_hw
        small = cv2.resize(frame_bgr, (w, h), interpolation=cv2.INTER_LINEAR)
        cv2.cvtColor(small, cv2.COLOR_BGR2RGB, dst=self._rgb)
        np.multiply(self._rgb, np.float32(1 / 255.0), out=self._tensor[0])
        self.interpreter.set_tensor(self._in_index, self._tensor)

    def invoke(self) -> None:
        self.interpreter.invoke()

    def output(self) -> np.ndarray:
        """Person probability at the model resolution, float32 H×W in [0, 1]."""
        return self.interpreter.get_tensor(self._out_index)[0, :, :, 0]

    def predict(self, frame_bgr: np.ndarray) -> np.ndarray:
        self.set_input(frame_bgr)
        self.invoke()
        return self.output()


def _check_io(name: str, inp: dict, out: dict) -> None:
    """The layout this runner assumes: float32 NHWC RGB in, float32 N×H×W×1 probabilities out."""
    if inp["dtype"] != np.float32 or len(inp["shape"]) != 4 or inp["shape"][3] != 3:
        raise ValueError(f"{name}: expected a float32 1×H×W×3 input, got {inp['dtype']} {list(inp['shape'])}")
    if out["dtype"] != np.float32 or len(out["shape"]) != 4 or out["shape"][3] != 1:
        raise ValueError(f"{name}: expected a float32 1×H×W×1 output, got {out['dtype']} {list(out['shape'])}; "
                         "a 2-channel output would need a softmax, which this runner does not do")


def load_models(job: dict, threads: int) -> dict[str, SelfieModel]:
    return {name: SelfieModel(path, threads) for name, path in job["models"].items()}


def ensemble_predict(models: list[SelfieModel], frame_bgr: np.ndarray, flip: bool) -> np.ndarray:
    """Mean person probability of several models (and of each on the mirrored frame), at the frame's size."""
    size = (frame_bgr.shape[1], frame_bgr.shape[0])
    views = [frame_bgr, np.ascontiguousarray(frame_bgr[:, ::-1])] if flip else [frame_bgr]
    total = np.zeros(frame_bgr.shape[:2], np.float32)
    for model in models:
        for i, view in enumerate(views):
            prob = cv2.resize(model.predict(view), size, interpolation=cv2.INTER_LINEAR)
            total += prob[:, ::-1] if i else prob
    return total / (len(models) * len(views))


# --------------------------------------------------------------------------- latency

def time_invoke(model: SelfieModel, warmup: int, min_seconds: float, min_runs: int) -> list[float]:
    """Times `invoke()` alone on a fixed random input until both min_seconds and min_runs are reached."""
    rng = np.random.default_rng(0)
    h, w = model.input_hw
    model.set_input(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    for _ in range(warmup):
        model.invoke()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        model.invoke()
        times.append((time.perf_counter() - t) * 1e3)
    return times


def run_latency(job: dict) -> dict:
    """job: threads (list), warmup (10), min_seconds (1.5), min_runs (50). -> {model: {threads: Summary}}."""
    threads = job.get("threads", [1, 2])
    threads = [threads] if isinstance(threads, int) else list(threads)
    warmup, min_s, min_runs = int(job.get("warmup", 10)), float(job.get("min_seconds", 1.5)), int(job.get("min_runs", 50))
    results: dict = {}
    for name, path in job["models"].items():
        per_thread, desc = {}, None
        for n in threads:
            model = SelfieModel(path, n)
            desc = model.describe()
            per_thread[str(n)] = summarise(time_invoke(model, warmup, min_s, min_runs))
        results[name] = {"model": desc, "threads": per_thread}
    return {"models": results, "settings": {"threads": threads, "warmup": warmup, "min_seconds": min_s,
                                            "min_runs": min_runs}}


# --------------------------------------------------------------------------- end to end

def read_frames(video: str, size_wh: tuple[int, int], count: int) -> list[np.ndarray]:
    """`count` BGR frames of `video` at size_wh (resized untimed; the video loops if it is short).

    Raises:
        ValueError: the video cannot be opened or gives no frame.
    """
    return read_looped(video, count, size_wh)


class BlurEffect:
    """The mask -> output half of edgeseg's Pipeline for effect 'blur' (Pipeline._process), without
    its temporal smoothing and feathering (MediaPipe's graph has neither). Calls the same
    Compositor.blur_behind and Compositor.blend as the Pipeline; with no reduced frame from a
    segmenter, blur_behind reads the full frame (the Pipeline's fallback)."""

    def __init__(self, blur_strength: float, blur_size: int):
        self.strength, self.blur_size = float(blur_strength), int(blur_size)
        self.compositor = Compositor()
        self._alpha: np.ndarray | None = None
        self._out: np.ndarray | None = None

    def postprocess(self, mask: np.ndarray, frame_hw: tuple[int, int]) -> np.ndarray:
        """uint8 full-resolution alpha, as edgeseg makes it (scale to 0..255 first, then resize)."""
        h, w = frame_hw
        if self._alpha is None or self._alpha.shape != (h, w):
            self._alpha = np.empty((h, w), np.uint8)
        mask_u8 = cv2.convertScaleAbs(mask, alpha=255.0)
        return cv2.resize(mask_u8, (w, h), dst=self._alpha, interpolation=cv2.INTER_LINEAR)

    def blurred(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.compositor.blur_behind(frame, mask, self.strength, self.blur_size)

    def composite(self, frame: np.ndarray, mask: np.ndarray, alpha_u8: np.ndarray) -> np.ndarray:
        if self._out is None or self._out.shape != frame.shape:
            self._out = np.empty(frame.shape, np.uint8)
        return self.compositor.blend(frame, self.blurred(frame, mask), alpha_u8, out=self._out)


def process_frames(model: SelfieModel, effect: BlurEffect, frames: list[np.ndarray]) -> dict[str, list[float]]:
    """Per-stage and whole-frame times (ms) for each frame."""
    stages: dict[str, list[float]] = {k: [] for k in ("preprocess", "inference", "postprocess", "composite", "frame")}
    for frame in frames:
        t0 = time.perf_counter()
        model.set_input(frame)
        t1 = time.perf_counter()
        model.invoke()
        t2 = time.perf_counter()
        mask = model.output()
        alpha_u8 = effect.postprocess(mask, frame.shape[:2])
        t3 = time.perf_counter()
        effect.composite(frame, mask, alpha_u8)
        t4 = time.perf_counter()
        for key, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0)):
            stages[key].append(dt * 1e3)
    return stages


def run_end_to_end(job: dict) -> dict:
    """job: video, size [W, H], frames, threads (2), blur_strength (12.0), blur_size (320), warmup_frames (3).

    -> {model: {stages: {stage: Summary}}}; the "frame" stage is the whole frame (its fps: frames per second).
    """
    size_wh = tuple(int(v) for v in job["size"])
    frames = read_frames(job["video"], size_wh, int(job["frames"]))
    threads = int(job.get("threads", 2))
    strength, blur_size = float(job.get("blur_strength", 12.0)), int(job.get("blur_size", 320))
    warmup = min(int(job.get("warmup_frames", 3)), len(frames))
    results = {}
    for name, model in load_models(job, threads).items():
        effect = BlurEffect(strength, blur_size)
        process_frames(model, effect, frames[:warmup])
        stages = process_frames(model, effect, frames)
        results[name] = {"model": model.describe(), "stages": {k: summarise(v) for k, v in stages.items()}}
    return {"models": results, "settings": {"video": str(job["video"]), "size": list(size_wh), "frames": len(frames),
                                            "threads": threads, "blur_strength": strength,
                                            "blur_size": blur_size, "warmup_frames": warmup}}


# --------------------------------------------------------------------------- accuracy

def score_model(model: SelfieModel, pairs: list[tuple[Path, Path]], threshold: float) -> list[dict]:
    rows = []
    for img_path, mask_path in pairs:
        img = cv2.imread(str(img_path), cv2.IMREAD_COLOR)
        gt = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        if img is None or gt is None:
            continue
        prob = cv2.resize(model.predict(img), (gt.shape[1], gt.shape[0]), interpolation=cv2.INTER_LINEAR)
        rows.append(score_mask(prob, gt > 127, threshold))
    return rows


def run_accuracy(job: dict) -> dict:
    """job: images_dir, masks_dir, limit (0 = all), threshold (0.5), threads (2)."""
    images, masks = Path(job["images_dir"]), Path(job["masks_dir"])
    pairs = image_mask_pairs(images, masks)[: int(job.get("limit", 0)) or None]   # raises if none
    threshold, threads = float(job.get("threshold", 0.5)), int(job.get("threads", 2))
    results = {}
    for name, model in load_models(job, threads).items():
        rows = score_model(model, pairs, threshold)
        results[name] = {"model": model.describe(), "images": len(rows), **mean_scores(rows)}
    return {"models": results, "settings": {"images_dir": str(images), "masks_dir": str(masks), "pairs": len(pairs),
                                            "threshold": threshold, "threads": threads}}


# --------------------------------------------------------------------------- pseudo-labels

def run_pseudo_labels(job: dict) -> dict:
    """Teacher masks for video frames. job: videos [paths], stride (5), out_dir, teacher ('general').

    Writes out_dir/images/CLIP_FRAME.jpg and out_dir/masks/CLIP_FRAME.png (soft mask, 0-255,
    at the frame's resolution): the images/ + masks/ layout that edgeseg train reads.
    """
    out = Path(job["out_dir"])
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    teacher_name = job.get("teacher", "general")
    teacher = load_models(job, int(job.get("threads", 2)))[teacher_name]
    stride, written = int(job.get("stride", 5)), {}
    for video in job["videos"]:
        cap = cv2.VideoCapture(str(video))
        if not cap.isOpened():
            raise ValueError(f"cannot open video {video}")
        clip, index, count = Path(video).stem, 0, 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if index % stride == 0:
                prob = ensemble_predict([teacher], frame, flip=False)
                name = f"{clip}_{index:05d}"
                cv2.imwrite(str(out / "images" / f"{name}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
                cv2.imwrite(str(out / "masks" / f"{name}.png"), np.clip(prob * 255 + 0.5, 0, 255).astype(np.uint8))
                count += 1
            index += 1
        cap.release()
        written[clip] = count
    return {"teacher": teacher.describe(), "frames": written, "out_dir": str(out)}


def run_label_images(job: dict) -> dict:
    """Teacher masks for a folder of images. job: images_dir, out_dir, teachers (all models), flip (true).

    Writes out_dir/NAME.png: the ensemble's soft person probability, 0-255, at the image's size.
    With gt_dir (masks of the same names), also scores the teacher against them (edgeseg.metrics).
    """
    images, out = Path(job["images_dir"]), Path(job["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    models = load_models(job, int(job.get("threads", 2)))
    names = job.get("teachers") or sorted(models)
    teachers = [models[n] for n in names]
    flip = bool(job.get("flip", True))
    gt_dir = Path(job["gt_dir"]) if job.get("gt_dir") else None
    rows, written = [], 0
    for path in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_EXTS):
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            continue
        prob = ensemble_predict(teachers, img, flip)
        cv2.imwrite(str(out / f"{path.stem}.png"), np.clip(prob * 255 + 0.5, 0, 255).astype(np.uint8))
        written += 1
        gt = cv2.imread(str(gt_dir / f"{path.stem}.png"), cv2.IMREAD_GRAYSCALE) if gt_dir else None
        if gt is not None and gt.shape == prob.shape:
            rows.append(score_mask(prob, gt > 127, 0.5))
    result = {"teachers": [m.describe() for m in teachers], "flip": flip, "written": written, "out_dir": str(out)}
    if rows:
        result["teacher_vs_gt"] = {"images": len(rows), **mean_scores(rows)}
    return result


# --------------------------------------------------------------------------- entry point

def run_flicker(job: dict) -> dict:
    """Flicker of each model's raw mask, mean |m_t - m_(t-1)| at the frame's resolution, and its jitter (the same
    with m_(t-1) carried along the frame's optical flow: benchmarks/mediapipe_ref/motion.py). job: videos [paths]."""
    models = load_models(job, int(job.get("threads", 2)))
    clips = {}
    for video in job["videos"]:
        cap = cv2.VideoCapture(str(video))
        meter = MotionMeter()
        prev = {name: None for name in models}
        sums = {name: [] for name in models}
        jitters = {name: [] for name in models}
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            meter.next_frame(frame)
            size = (frame.shape[1], frame.shape[0])
            for name, model in models.items():
                prob = cv2.resize(model.predict(frame), size, interpolation=cv2.INTER_LINEAR)
                if prev[name] is not None:
                    sums[name].append(float(cv2.absdiff(prob, prev[name]).mean()))
                    jitters[name].append(meter.jitter(prob, prev[name]))
                prev[name] = prob
        cap.release()
        clips[Path(video).name] = {name: {"frames": len(v) + 1, "flicker": float(np.mean(v)) if v else 0.0,
                                          "jitter": float(np.mean(jitters[name])) if v else 0.0}
                                   for name, v in sums.items()}
    return {"clips": clips}


JOBS = {"flicker": run_flicker, "latency": run_latency, "end_to_end": run_end_to_end, "accuracy": run_accuracy,
        "pseudo_labels": run_pseudo_labels, "label_images": run_label_images}


def runtime_versions() -> dict:
    import ai_edge_litert
    return {"python": sys.version.split()[0], "numpy": np.__version__, "opencv": cv2.__version__,
            "ai_edge_litert": getattr(ai_edge_litert, "__version__", "unknown")}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: runner.py JOB.json RESULT.json", file=sys.stderr)
        return 2
    job = json.loads(Path(argv[0]).read_text())
    kind = job.get("kind")
    if kind not in JOBS:
        print(f"unknown job kind {kind!r}; expected one of {sorted(JOBS)}", file=sys.stderr)
        return 2
    result = {"kind": kind, "runtime": runtime_versions(), **JOBS[kind](job)}
    Path(argv[1]).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
