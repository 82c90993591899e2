"""The toolchain from an installed wheel, not the checkout: `edgeseg train`, `edgeseg export`, then
`edgeseg info` and `edgeseg eval` on what it made.

The wheel is built from a copy of the sources and installed (no dependencies) into a fresh venv; the
dependencies come from this venv's site-packages through a folder of links that leaves out this
checkout's editable edgeseg, so nothing is downloaded and torch is not installed again.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

TINY_CONFIG = """\
widths: [4, 8, 8, 8]
blocks: [1, 1, 1]
input_hw: [64, 96]
canvases: [[64, 96], [96, 64]]
canvas_weights: [0.5, 0.5]
epochs: 1
samples_per_epoch: 8
batch_size: 4
val_fraction: 0.25
workers: 0
threads: 1
"""


def test_every_package_under_edgeseg_is_in_the_wheel():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "edgeseg").rglob("__init__.py")}
    assert found - listed == set()
    assert "edgeseg_export" in listed


def _deps_folder(root: Path) -> Path:
    """Links to this venv's installed packages, less edgeseg itself (the editable install of the checkout)."""
    site = Path(sysconfig.get_paths()["purelib"])
    deps = root / "deps"
    deps.mkdir()
    for entry in site.iterdir():
        if entry.name.startswith(("edgeseg", "__editable__", "export")) or entry.suffix == ".pth":
            continue
        (deps / entry.name).symlink_to(entry)
    return deps


def _run(cmd: list, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_a_wheel_trains_exports_describes_and_scores_a_model(tmp_path, small_pairs):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    src = tmp_path / "src"
    shutil.copytree(REPO / "edgeseg", src / "edgeseg", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "export", src / "export", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run(pip + ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", tmp_path / "dist", src], tmp_path)
    wheel = next((tmp_path / "dist").glob("edgeseg-*.whl"))

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    _run(pip + ["--python", py, "install", "--no-deps", "--no-index", wheel], tmp_path)
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip())
    (site / "_deps.pth").write_text(f"{_deps_folder(tmp_path)}\n")
    where = _run([py, "-c", "import edgeseg, edgeseg_export; from edgeseg.install import pip_install; "
                            "print(edgeseg.__file__); print(pip_install('export'))"], tmp_path).stdout.split("\n")
    assert Path(where[0]).is_relative_to(env_dir), "edgeseg must come from the wheel, not the checkout"
    assert where[1] == "pip install 'edgeseg[export]'"      # hints for a wheel, not for a checkout

    edgeseg = env_dir / "bin" / "edgeseg"
    (tmp_path / "tiny.yaml").write_text(TINY_CONFIG)
    train = _run([edgeseg, "train", "--config", "tiny.yaml", "--data", small_pairs, "--out", "run"], tmp_path)
    assert "next: edgeseg export run/best.pt" in train.stdout
    _run([edgeseg, "export", "run/best.pt", "--out", "run/export", "--val", small_pairs, "--val-count", "3",
          "--no-latency"], tmp_path)
    model = tmp_path / "run" / "export" / "model.onnx"
    info = json.loads(_run([edgeseg, "info", model], tmp_path).stdout)
    assert info["meta"]["input_hw"] == [64, 96] and info["meta"]["source_sha256"] and info["input"]["name"]
    _run([edgeseg, "eval", "--model", model, "--images", small_pairs / "images", "--masks", small_pairs / "masks",
          "--limit", "4", "--json", "scores.json", "--no-profile"], tmp_path)
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert 0.0 <= scores["person_iou"] <= 1.0 and scores["images"] == 4
