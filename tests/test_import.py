"""The runtime never imports torch or onnx."""
import subprocess
import sys

BLOCK_HEAVY = "import sys; sys.modules['torch'] = None; sys.modules['onnx'] = None; "


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_edgeseg_loads_neither_torch_nor_onnx():
    r = run("import sys, edgeseg, edgeseg.cli, edgeseg.video, edgeseg.sources, edgeseg.sinks; "
            "print(sorted(m for m in ('torch', 'onnx') if m in sys.modules))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_segmenting_works_when_torch_and_onnx_cannot_be_imported():
    r = run(BLOCK_HEAVY + "import numpy as np, edgeseg; s = edgeseg.Segmenter(); "
            "print(s.segment(np.zeros((90, 160, 3), np.uint8)).mask.shape)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "(90, 160)"


def test_the_cli_runs_without_torch():
    r = run(BLOCK_HEAVY + "import sys; from edgeseg.cli import main; sys.exit(main(['info', 'edgeseg/models/default.onnx']))")
    assert r.returncode == 0, r.stderr
    assert '"precision": "fp32"' in r.stdout
