"""Export: every variant loads and segments, the accuracy gate refuses damage, metadata round-trips."""
import hashlib
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from edgeseg import Segmenter, SegmenterOptions  # noqa: E402
from edgeseg.train.model import build_model  # noqa: E402
from export.__main__ import main as export_main  # noqa: E402
from export.steps import read_meta  # noqa: E402
from export.verify import gate  # noqa: E402
from tests.conftest import TINY, save_tiny_checkpoint  # noqa: E402



@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(TINY)
    return save_tiny_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "tiny.pt")


@pytest.fixture(scope="module")
def exported(tiny_ckpt, small_pairs, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    code = export_main([str(tiny_ckpt), "--out", str(out), "--precision", "fp32,fp16,int8", "--calib",
                        str(small_pairs), "--calib-count", "6", "--val", str(small_pairs), "--val-count", "4",
                        "--no-latency", "--force"])
    assert code == 0
    return out


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_every_variant_loads_and_segments(exported, precision):
    with Segmenter(SegmenterOptions(model_path=exported / "model.onnx", precision=precision, provider="cpu")) as seg:
        assert seg.meta.precision == precision
        for hw in [(90, 160), (160, 90)]:
            assert seg.segment(np.zeros((*hw, 3), np.uint8)).mask.shape == hw


def test_the_metadata_round_trips_with_its_provenance(exported, tiny_ckpt):
    meta = read_meta(exported / "model.onnx")
    with Segmenter(SegmenterOptions(model_path=exported / "model.onnx", provider="cpu")) as seg:
        assert seg.meta == meta                      # the runtime (ORT) reads what export (onnx) wrote
    assert meta.source_sha256 == hashlib.sha256(tiny_ckpt.read_bytes()).hexdigest()
    assert meta.input_hw == (64, 96) and meta.adaptive and meta.schema_version == 1
    assert meta.val_person_iou is not None and meta.edgeseg_version


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_each_variant_is_written_in_its_tables_bilinear_graph(exported, precision):
    import onnx
    from edgeseg.variants import VARIANTS, variant_path
    nodes = onnx.load(str(variant_path(exported / "model.onnx", precision))).graph.node
    pads = sum(n.op_type == "Pad" for n in nodes)
    assert sum(n.op_type == "Resize" for n in nodes) == 4     # one per UpBlock (nearest or bilinear), the logits'
    assert pads == (3 if VARIANTS[precision].bilinear_graph == "conv" else 0)   # the conv form's edge pads


def test_the_conv_and_resize_graphs_compute_the_same_mask(exported):
    import onnxruntime as ort
    from edgeseg.variants import variant_path
    x = np.random.default_rng(0).random((1, 3, 64, 96), np.float32)
    conv = ort.InferenceSession(str(exported / "model.onnx"), providers=["CPUExecutionProvider"])
    fp16 = ort.InferenceSession(str(variant_path(exported / "model.onnx", "fp16")), providers=["CPUExecutionProvider"])
    name = conv.get_inputs()[0].name
    assert np.abs(conv.run(None, {name: x})[0] - fp16.run(None, {name: x})[0]).max() < 5e-3


def test_the_report_lists_each_variant(exported):
    report = json.loads((exported / "report.json").read_text())
    assert [v["variant"] for v in report["variants"]] == ["fp32", "fp16", "int8"]
    assert report["parity_max_abs_diff"] <= 1e-4
    assert "| int8 |" in (exported / "report.md").read_text()


def test_the_gate_refuses_a_damaged_variant(tiny_ckpt, small_pairs, tmp_path, monkeypatch, caplog):
    import export.__main__ as ex
    real = ex.evaluate

    def damaged(seg, pairs, limit=0):           # the int8 file scores 2 points lower than fp32
        rows, summary = real(seg, pairs, limit)
        if seg.meta.precision == "int8":
            summary = {**summary, "person_iou": summary["person_iou"] - 0.02}
        return rows, summary
    monkeypatch.setattr(ex, "evaluate", damaged)
    code = export_main([str(tiny_ckpt), "--out", str(tmp_path), "--precision", "fp32,int8", "--calib", str(small_pairs),
                        "--calib-count", "4", "--val", str(small_pairs), "--val-count", "3", "--no-latency"])
    assert code != 0
    assert "REFUSED" in caplog.text and "loses 2.00 points" in caplog.text
    assert not (tmp_path / "model.int8.onnx").exists() and (tmp_path / "model.onnx").exists()


def test_the_gate_function_allows_half_a_point():
    assert gate("int8", 0.900, 0.904, force=False) == "ok"
    assert gate("int8", 0.890, 0.904, force=True) == "forced"


@pytest.mark.parametrize("args,words", [
    (["--precision", "fp32", "--calib", "X"], "only used for int8"),
    (["--precision", "int8"], "calibration"),
    (["--force"], "needs --val"),
    (["--precision", "fp8"], "fp32, fp16, int8"),
    (["--input-size", "100x100"], "multiples of 16"),
])
def test_conflicting_export_options_are_errors(tiny_ckpt, tmp_path, args, words, caplog):
    assert export_main([str(tiny_ckpt), "--out", str(tmp_path)] + args) == 2
    assert words in caplog.text


def test_export_never_overwrites_its_own_checkpoint(tiny_ckpt, tmp_path, caplog):
    import shutil
    ckpt = shutil.copy(tiny_ckpt, tmp_path / "default.pt")
    before = ckpt.read_bytes()
    assert export_main([str(ckpt), "--out", str(tmp_path / "default.onnx"), "--precision", "fp32"]) == 2
    assert "would replace the checkpoint" in caplog.text
    assert ckpt.read_bytes() == before and not (tmp_path / "default.onnx").exists()
