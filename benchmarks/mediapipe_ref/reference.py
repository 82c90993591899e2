"""Host-side API (main env): run MediaPipe Selfie Segmentation reference jobs in the reference venv.

    from benchmarks.mediapipe_ref.reference import reference_latency
    reference_latency(threads=(1, 2))["models"]["general"]["threads"]["1"]["median"]

Each call starts the venv's python on runner.py with a JSON job and returns the parsed JSON result; timings
are edgeseg.results.Summary dicts, as in `edgeseg bench`'s rows.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from .setup_env import REPO, RUNNER, Env, child_env, ensure_env

STDERR_TAIL_LINES = 30


def _tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_reference(job: dict, env: Env | None = None, timeout: float = 600) -> dict:
    """Run one job (see runner.py) in the reference venv and return its result.

    `job["models"]` defaults to both models of `env` (general and landscape).

    Raises:
        RuntimeError: the env cannot be created, or the runner failed or timed out (with its stderr tail).
    """
    env = env or ensure_env()
    job = {"models": {name: str(p) for name, p in env.models.items()}, **job}
    proc_env = child_env()
    proc_env["PYTHONPATH"] = str(REPO)          # for edgeseg.compose / .metrics / .results and benchmarks.frames only
    with tempfile.TemporaryDirectory(prefix="mpref-") as tmp:
        job_path, result_path = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job_path.write_text(json.dumps(job, indent=2))
        cmd = [str(env.python), str(RUNNER), str(job_path), str(result_path)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=proc_env, cwd=REPO)
        except subprocess.TimeoutExpired as e:
            stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
            raise RuntimeError(f"reference job {job.get('kind')!r} timed out after {timeout:.0f} s; "
                               f"stderr tail:\n{_tail(stderr)}") from e
        if proc.returncode != 0 or not result_path.exists():
            raise RuntimeError(f"reference job {job.get('kind')!r} failed (exit {proc.returncode}); "
                               f"stderr tail:\n{_tail(proc.stderr)}")
        return json.loads(result_path.read_text())


def reference_latency(threads=(1, 2), env: Env | None = None, timeout: float = 600, **options) -> dict:
    """invoke()-only latency of both models per thread count.

    options: warmup (10), min_seconds (1.5), min_runs (50).
    """
    return run_reference({"kind": "latency", "threads": [int(t) for t in threads], **options}, env, timeout)


def reference_end_to_end(video: str | Path, size_wh: tuple[int, int], frames: int, env: Env | None = None,
                         timeout: float = 600, **options) -> dict:
    """Per-stage times of frame -> mask -> blurred background, composited with edgeseg's Compositor.

    options: threads (2), blur_strength (12.0), blur_size (320), warmup_frames (3).
    """
    job = {"kind": "end_to_end", "video": str(Path(video).resolve()), "size": [int(v) for v in size_wh],
           "frames": int(frames), **options}
    return run_reference(job, env, timeout)


def reference_accuracy(images_dir: str | Path, masks_dir: str | Path, limit: int = 0, env: Env | None = None,
                       timeout: float = 600, **options) -> dict:
    """Mean person IoU, mIoU and boundary F of both models (edgeseg.metrics, threshold 0.5).

    options: threshold (0.5), threads (2).
    """
    job = {"kind": "accuracy", "images_dir": str(Path(images_dir).resolve()),
           "masks_dir": str(Path(masks_dir).resolve()), "limit": int(limit), **options}
    return run_reference(job, env, timeout)


def reference_pseudo_labels(videos: list[str | Path], out_dir: str | Path, stride: int = 5, teacher: str = "general",
                            env: Env | None = None, timeout: float = 900) -> dict:
    """Soft teacher masks for every `stride`-th frame of each video, in the images/ + masks/ layout."""
    job = {"kind": "pseudo_labels", "videos": [str(Path(v).resolve()) for v in videos],
           "out_dir": str(Path(out_dir).resolve()), "stride": int(stride), "teacher": teacher}
    return run_reference(job, env, timeout)


def reference_label_images(images_dir: str | Path, out_dir: str | Path, teachers: list[str] | None = None,
                           flip: bool = True, gt_dir: str | Path | None = None, env: Env | None = None,
                           timeout: float = 1800) -> dict:
    """Soft teacher masks (mean of `teachers`, default both models, and of their mirrored views) for a folder.

    With gt_dir, the result also holds the teacher's scores against those masks ("teacher_vs_gt").
    """
    job = {"kind": "label_images", "images_dir": str(Path(images_dir).resolve()), "out_dir": str(Path(out_dir).resolve()),
           "teachers": list(teachers or []), "flip": bool(flip), "gt_dir": str(Path(gt_dir).resolve()) if gt_dir else ""}
    return run_reference(job, env, timeout)


def reference_flicker(videos: list[str | Path], env: Env | None = None, timeout: float = 900) -> dict:
    """{clip name: {model: {frames, flicker}}}: mean |m_t - m_(t-1)| of each model's raw mask."""
    job = {"kind": "flicker", "videos": [str(Path(v).resolve()) for v in videos]}
    return run_reference(job, env, timeout)["clips"]
