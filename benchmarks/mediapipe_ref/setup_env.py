"""Create the MediaPipe reference environment: a numpy<2 venv with LiteRT, and the two selfie models.

    python -m benchmarks.mediapipe_ref.setup_env [ROOT]

Everything lands under ROOT (default benchmarks/.mpref, gitignored):
    venv/              ai-edge-litert, numpy<2, opencv-python-headless (pinned in requirements.txt)
    cache/             the mediapipe wheel (downloaded with --no-deps, never installed)
    models/            selfie_segmentation.tflite (general, 256x256), selfie_segmentation_landscape.tflite (144x256)

Each step is skipped when its result is already there, so calling `ensure_env` again is cheap.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_ROOT = REPO / "benchmarks" / ".mpref"
REQUIREMENTS = HERE / "requirements.txt"
RUNNER = HERE / "runner.py"

MEDIAPIPE_VERSION = "0.10.21"
# The .tflite files are identical in every platform's wheel; fetch one fixed wheel so the download
# does not depend on the host platform.
MEDIAPIPE_WHEEL_TAGS = ("--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "--only-binary=:all:")
WHEEL_MODEL_DIR = "mediapipe/modules/selfie_segmentation/"
# model name -> (file name in the wheel, sha256 of the file in mediapipe 0.10.21)
MODELS = {
    "general": ("selfie_segmentation.tflite",
                "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"),
    "landscape": ("selfie_segmentation_landscape.tflite",
                  "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd"),
}
STAMP = "edgeseg-requirements.sha256"   # inside the venv: hash of the requirements it was built from
PIP_TIMEOUT_S = 900


@dataclass(frozen=True)
class Env:
    """Paths of a ready reference environment."""
    root: Path
    python: Path                                     # the venv's interpreter
    models: dict[str, Path] = field(default_factory=dict)   # "general" / "landscape" -> .tflite
    runner: Path = RUNNER


def _log(msg: str) -> None:
    print(f"[mediapipe_ref] {msg}", flush=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def child_env() -> dict[str, str]:
    """Environment for child interpreters: nothing of the main env leaks into the reference venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(cmd: list[str], what: str, timeout: float = PIP_TIMEOUT_S) -> str:
    """Run a command; raise RuntimeError naming `what` with the output's tail if it fails."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=child_env())
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"{what} timed out after {timeout:.0f} s (slow or no network?): {' '.join(cmd)}") from e
    except OSError as e:
        raise RuntimeError(f"{what} could not start: {e}") from e
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stdout + proc.stderr).strip().splitlines() if "is ignored" not in ln]
        tail = "\n".join(lines[-15:])
        hint = ""
        if any(s in tail for s in ("Could not find a version", "No matching distribution", "NewConnectionError",
                                   "Name or service not known", "Temporary failure in name resolution",
                                   "Max retries exceeded", "Network is unreachable")):
            hint = " (is PyPI reachable? this step needs network access)"
        raise RuntimeError(f"{what} failed{hint}; exit {proc.returncode}:\n{tail}")
    return proc.stdout


def ensure_venv(venv: Path) -> Path:
    """Create `venv` with the pinned requirements unless it already matches them. Returns its python."""
    python = _venv_python(venv)
    want = _sha256(REQUIREMENTS)
    stamp = venv / STAMP
    if python.exists() and stamp.exists() and stamp.read_text().strip() == want:
        _log(f"venv ok: {venv}")
        return python
    t0 = time.perf_counter()
    if venv.exists():
        _log(f"venv {venv} is stale or incomplete; recreating it")
        shutil.rmtree(venv)
    _log(f"creating venv {venv}")
    _run([sys.executable, "-m", "venv", str(venv)], "creating the venv")
    _log(f"installing {REQUIREMENTS.name} (ai-edge-litert, numpy<2, opencv-python-headless)")
    _run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", str(REQUIREMENTS)],
         "pip install of the reference requirements")
    _run([str(python), "-c", "import numpy, cv2, ai_edge_litert.interpreter"], "importing LiteRT in the new venv",
         timeout=120)
    stamp.write_text(want + "\n")
    _log(f"venv ready in {time.perf_counter() - t0:.1f} s")
    return python


def _download_wheel(python: Path, cache: Path) -> Path:
    """The mediapipe wheel in `cache`, downloaded (no dependencies) if it is not there yet."""
    pattern = f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"
    found = sorted(cache.glob(pattern))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    _log(f"downloading mediapipe=={MEDIAPIPE_VERSION} wheel (~35 MB, not installed) to {cache}")
    _run([str(python), "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
          *MEDIAPIPE_WHEEL_TAGS, "-d", str(cache), f"mediapipe=={MEDIAPIPE_VERSION}"],
         f"downloading the mediapipe {MEDIAPIPE_VERSION} wheel")
    found = sorted(cache.glob(pattern))
    if not found:
        raise RuntimeError(f"pip reported success but no {pattern} is in {cache}")
    return found[0]


def _models_ok(models: dict[str, Path]) -> bool:
    return all(p.exists() and _sha256(p) == MODELS[name][1] for name, p in models.items())


def _extract_models(wheel: Path, models: dict[str, Path]) -> None:
    """Copy the two .tflite files out of the wheel, checking their sha256."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            for name, dest in models.items():
                member = WHEEL_MODEL_DIR + MODELS[name][0]
                data = zf.read(member)
                if hashlib.sha256(data).hexdigest() != MODELS[name][1]:
                    raise RuntimeError(f"{member} in {wheel.name} has an unexpected sha256; "
                                       f"is it really mediapipe {MEDIAPIPE_VERSION}?")
                tmp = dest.with_suffix(".partial")
                tmp.write_bytes(data)
                tmp.replace(dest)
    except (zipfile.BadZipFile, KeyError) as e:
        raise RuntimeError(f"cannot extract the selfie models from {wheel} ({e}); delete it and retry") from e


def ensure_models(python: Path, root: Path) -> dict[str, Path]:
    """The general and landscape .tflite files under root/models, extracted from the wheel if needed."""
    model_dir = root / "models"
    models = {name: model_dir / fname for name, (fname, _) in MODELS.items()}
    if _models_ok(models):
        _log(f"models ok: {model_dir}")
        return models
    model_dir.mkdir(parents=True, exist_ok=True)
    wheel = _download_wheel(python, root / "cache")
    _log(f"extracting {', '.join(f for f, _ in MODELS.values())} from {wheel.name}")
    _extract_models(wheel, models)
    return models


def ensure_env(root: Path | None = None) -> Env:
    """Create (or reuse) the reference venv and models under `root` (default benchmarks/.mpref).

    Raises:
        RuntimeError: a step failed (no network, pip error, broken wheel); the message says which.
    """
    root = Path(root) if root is not None else DEFAULT_ROOT
    root.mkdir(parents=True, exist_ok=True)
    python = ensure_venv(root / "venv")
    models = ensure_models(python, root)
    return Env(root=root, python=python, models=models)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    t0 = time.perf_counter()
    try:
        env = ensure_env(Path(argv[0]) if argv else None)
    except RuntimeError as e:
        print(f"[mediapipe_ref] error: {e}", file=sys.stderr)
        return 1
    _log(f"ready in {time.perf_counter() - t0:.1f} s")
    _log(f"python: {env.python}")
    for name, path in env.models.items():
        _log(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
