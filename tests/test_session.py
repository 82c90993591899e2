import logging

import pytest

from edgeseg.errors import ConfigError, MetadataError, ModelError, ProviderError
from edgeseg.meta import ModelMeta
from edgeseg.session import Session, resolve_providers

CPU_ONLY = ["CPUExecutionProvider"]
GPU = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_auto_takes_the_best_provider_present():
    assert resolve_providers("auto", GPU)[0] == "TensorrtExecutionProvider"
    assert resolve_providers("auto", CPU_ONLY) == ["CPUExecutionProvider"]


def test_an_explicit_request_wins_over_auto_order():
    assert resolve_providers("cuda", GPU) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers("cpu", GPU) == ["CPUExecutionProvider"]


def test_a_missing_provider_that_was_asked_for_names_the_fix():
    with pytest.raises(ProviderError, match=r"onnxruntime-gpu|edgeseg\[gpu\]"):
        resolve_providers("cuda", CPU_ONLY)


def test_an_unknown_provider_lists_the_valid_names():
    with pytest.raises(ConfigError, match="auto, cpu, cuda, tensorrt"):
        resolve_providers("opencl", CPU_ONLY)


def test_a_silent_ort_fallback_from_an_explicit_provider_is_an_error(redness_model, monkeypatch):
    # ORT falls back to CPU when the CUDA libraries fail to load; an explicit request must not.
    monkeypatch.setattr("edgeseg.session.available_providers", lambda: GPU)
    import onnxruntime as ort
    real = ort.InferenceSession

    def cpu_only(path, so, providers, provider_options):
        return real(path, so, providers=["CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", cpu_only)
    with pytest.raises(ProviderError, match="fell back"):
        Session(redness_model, "cuda")


def test_an_auto_fallback_is_logged_loudly(redness_model, monkeypatch, caplog):
    monkeypatch.setattr("edgeseg.session.available_providers", lambda: GPU)
    import onnxruntime as ort
    real = ort.InferenceSession
    monkeypatch.setattr(ort, "InferenceSession",
                        lambda path, so, providers, provider_options: real(path, so, providers=["CPUExecutionProvider"]))
    with caplog.at_level(logging.WARNING, logger="edgeseg"):
        sess = Session(redness_model, "auto")
    assert sess.provider == "cpu"
    assert "FALLBACK" in caplog.text


def test_the_session_reports_what_ort_gave(redness_model, caplog):
    with caplog.at_level(logging.INFO, logger="edgeseg"):
        sess = Session(redness_model, "cpu")
    assert sess.providers == ["CPUExecutionProvider"] and "on cpu" in caplog.text


def test_a_missing_model_file_says_how_to_fix_it(tmp_path):
    with pytest.raises(ModelError, match="not found.*--model"):
        Session(tmp_path / "nope.onnx", "cpu")


def test_a_corrupt_model_file_is_refused(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf" * 10)
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        Session(bad, "cpu")


def test_a_truncated_model_file_is_refused(tmp_path):
    from edgeseg.models import DEFAULT_MODEL
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(DEFAULT_MODEL.read_bytes()[:5000])
    with pytest.raises(ModelError):
        Session(cut, "cpu")


def test_a_model_without_metadata_is_refused_with_the_options_to_use(tmp_path):
    from tests.conftest import make_redness_model
    with pytest.raises(MetadataError, match="--input-size"):
        Session(make_redness_model(tmp_path / "plain.onnx", None), "cpu")


def test_a_model_without_metadata_runs_when_described_explicitly(tmp_path):
    from tests.conftest import make_redness_model
    meta = ModelMeta(input_hw=(64, 64), adaptive=False)
    sess = Session(make_redness_model(tmp_path / "plain.onnx", None), "cpu", meta=meta)
    assert sess.meta.input_hw == (64, 64)


def test_a_model_with_the_wrong_output_shape_is_refused(tmp_path):
    from tests.conftest import make_redness_model
    path = make_redness_model(tmp_path / "three.onnx", ModelMeta().to_json(), out_channels=3)
    with pytest.raises(ModelError, match="output"):
        Session(path, "cpu")


def test_the_session_exposes_its_input_and_output_names_and_shapes(redness_model):
    sess = Session(redness_model, "cpu")
    assert (sess.input.name, sess.input.shape, sess.input.type) == ("image", (1, 3, "height", "width"), "tensor(float)")
    assert (sess.output.name, sess.output.shape) == ("mask", (1, 1, "height", "width"))
    assert (sess.input_name, sess.output_name) == ("image", "mask")
