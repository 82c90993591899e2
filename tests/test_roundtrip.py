"""Train one epoch on a few real photos -> export -> load -> segment."""
import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")


@pytest.mark.slow
def test_train_export_load_segment(small_pairs, tmp_path):
    from edgeseg import Segmenter, SegmenterOptions
    from edgeseg.cli import main as cli
    from export.__main__ import main as export_main
    run = tmp_path / "run"
    assert cli(["train", "--data", str(small_pairs), "--out", str(run), "--epochs", "1",
                "--batch-size", "4", "--samples-per-epoch", "8"]) == 0
    assert (run / "last.pt").exists() and json.loads((run / "history.json").read_text())[0]["epoch"] == 1
    model = tmp_path / "m.onnx"
    assert export_main([str(run / "last.pt"), "--out", str(model), "--no-latency"]) == 0
    with Segmenter(SegmenterOptions(model_path=model, provider="cpu")) as seg:
        mask = seg.segment(np.zeros((240, 320, 3), np.uint8)).mask
        assert seg.meta.source_sha256 and seg.meta.precision == "fp32"
    assert mask.shape == (240, 320)
