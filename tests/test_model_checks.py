"""A model that cannot run fails at load with a ModelError that says why, never on the first frame.

The bad models are built here with onnx.helper (no torch): each is the smallest graph that shows one fault.
"""
import logging

import numpy as np
import pytest

from edgeseg import ConfigError, FrameError, ModelError, Pipeline, PipelineOptions, Segmenter, SegmenterOptions
from edgeseg.cli import main
from edgeseg.meta import ModelMeta
from edgeseg.session import Session
from tests.conftest import make_redness_model, red_square_frame

HW = ("height", "width")


def build(path, nodes, inputs, outputs, inits=(), meta: ModelMeta | None = ModelMeta()):
    """Save a graph: inputs/outputs are (name, onnx element type name, shape) triples."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    info = [helper.make_tensor_value_info(n, getattr(TensorProto, t), list(s)) for n, t, s in inputs]
    outs = [helper.make_tensor_value_info(n, getattr(TensorProto, t), list(s)) for n, t, s in outputs]
    tensors = [numpy_helper.from_array(a, n) for n, a in inits]
    model = helper.make_model(helper.make_graph(nodes, "bad", info, outs, tensors),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if meta is not None:
        model.metadata_props.add(key="edgeseg", value=meta.to_json())
    onnx.save(model, str(path))
    return path


def conv(src="image", dst="mask", cin=3, stride=1, bias=-5.0):
    """A 1×1 conv: 20·(R − G) + bias over cin channels (with cin < 3: 20·x + bias)."""
    from onnx import helper
    w = np.zeros((1, cin, 1, 1), np.float32)
    w[0, 0] = 20.0
    if cin >= 2:
        w[0, 1] = -20.0
    node = helper.make_node("Conv", [src, "w", "b"], [dst], strides=[stride, stride])
    return node, [("w", w), ("b", np.array([bias], np.float32))]


def test_a_model_with_one_input_channel_is_refused_at_load(tmp_path):
    node, inits = conv(cin=1)
    path = build(tmp_path / "gray.onnx", [node], [("image", "FLOAT", (1, 1, *HW))], [("mask", "FLOAT", (1, 1, *HW))],
                 inits)
    with pytest.raises(ModelError, match="1 channel.*3-channel"):
        Session(path, "cpu")


@pytest.mark.parametrize("dtype", ["UINT8", "DOUBLE"])
def test_a_model_with_a_non_float_input_is_refused_at_load(tmp_path, dtype):
    from onnx import TensorProto, helper
    node, inits = conv(src="x")
    cast = helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT)
    path = build(tmp_path / "u8.onnx", [cast, node], [("image", dtype, (1, 3, *HW))], [("mask", "FLOAT", (1, 1, *HW))],
                 inits)
    with pytest.raises(ModelError, match=f"tensor\\({dtype.lower()}\\).*float32"):
        Session(path, "cpu")


def test_a_model_whose_layout_is_unlike_its_metadata_is_refused_at_load(tmp_path):
    from onnx import helper
    node, inits = conv(src="x")
    to_nchw = helper.make_node("Transpose", ["image"], ["x"], perm=[0, 3, 1, 2])
    path = build(tmp_path / "nhwc.onnx", [to_nchw, node], [("image", "FLOAT", (1, *HW, 3))],
                 [("mask", "FLOAT", (1, 1, *HW))], inits, meta=ModelMeta(layout="NCHW"))
    with pytest.raises(ModelError, match="NHWC.*metadata says layout NCHW"):
        Session(path, "cpu")


def test_the_same_nhwc_model_runs_when_its_metadata_says_nhwc(tmp_path):
    from onnx import helper
    node, inits = conv(src="x", dst="logit")
    nodes = [helper.make_node("Transpose", ["image"], ["x"], perm=[0, 3, 1, 2]), node,
             helper.make_node("Sigmoid", ["logit"], ["mask"])]
    path = build(tmp_path / "nhwc.onnx", nodes, [("image", "FLOAT", (1, *HW, 3))], [("mask", "FLOAT", (1, 1, *HW))],
                 inits, meta=ModelMeta(layout="NHWC"))
    with Segmenter(SegmenterOptions(model_path=path, provider="cpu", refine=False)) as seg:
        mask = seg.segment(red_square_frame(180, 320, (100, 50, 200, 150))).mask
    assert mask[100, 150] > 0.9 and mask[10, 10] < 0.1


def test_a_model_whose_output_is_half_the_input_size_is_refused_at_load(tmp_path):
    node, inits = conv(stride=2)
    path = build(tmp_path / "half.onnx", [node], [("image", "FLOAT", (1, 3, *HW))],
                 [("mask", "FLOAT", (1, 1, "h2", "w2"))], inits)
    with pytest.raises(ModelError, match="72x128 mask for a 144x256 input"):
        Session(path, "cpu")


def test_a_model_that_outputs_nan_is_refused_at_load(tmp_path):
    node, inits = conv(bias=float("nan"))
    path = build(tmp_path / "nan.onnx", [node], [("image", "FLOAT", (1, 3, *HW))], [("mask", "FLOAT", (1, 1, *HW))],
                 inits)
    with pytest.raises(ModelError, match="NaN or infinity for a black"):
        Session(path, "cpu")


@pytest.fixture
def nan_on_red_model(tmp_path):
    """sqrt(20·(G − R)): 0 on black and gray, NaN wherever red outweighs green."""
    from onnx import helper
    node, inits = conv(dst="d", bias=0.0)
    nodes = [node, helper.make_node("Neg", ["d"], ["n"]), helper.make_node("Sqrt", ["n"], ["mask"])]
    return build(tmp_path / "nan_on_red.onnx", nodes, [("image", "FLOAT", (1, 3, *HW))],
                 [("mask", "FLOAT", (1, 1, *HW))], inits)


def test_nan_from_the_model_never_reaches_the_caller(nan_on_red_model, caplog):
    frame = red_square_frame(180, 320, (100, 50, 200, 150))
    with caplog.at_level(logging.WARNING, logger="edgeseg"):
        with Segmenter(SegmenterOptions(model_path=nan_on_red_model, provider="cpu")) as seg:
            mask = seg.segment(frame).mask
            runs = seg.session.nonfinite_runs
    assert np.isfinite(mask).all() and mask.min() >= 0 and mask.max() <= 1
    assert mask[100, 150] < 0.5                     # NaN became background
    assert runs == 1 and "NaN or infinity" in caplog.text


def test_an_onnx_runtime_failure_at_run_time_is_a_model_error(tmp_path):
    """A graph that reshapes to a fixed 144x256 runs at its base size and fails at any other."""
    from onnx import helper
    node, inits = conv(dst="c")
    nodes = [node, helper.make_node("Reshape", ["c", "shape"], ["mask"])]
    inits = inits + [("shape", np.array([1, 1, 144, 256], np.int64))]
    path = build(tmp_path / "fixed.onnx", nodes, [("image", "FLOAT", (1, 3, *HW))],
                 [("mask", "FLOAT", (1, 1, *HW))], inits)
    with Segmenter(SegmenterOptions(model_path=path, provider="cpu", input_size=(160, 288))) as seg:
        with pytest.raises(ModelError, match="ONNX Runtime failed running fixed.onnx on a 1x3x160x288"):
            seg.segment(np.zeros((720, 1280, 3), np.uint8))


def test_a_model_path_that_is_a_folder_says_so(tmp_path, capsys):
    make_redness_model(tmp_path / "inside.onnx", ModelMeta().to_json())
    with pytest.raises(ModelError, match="is a folder.*inside.onnx"):
        Session(tmp_path, "cpu")
    with pytest.raises(ModelError, match="is a folder"):
        Segmenter(SegmenterOptions(model_path=tmp_path, precision="fp16", provider="cpu"))
    assert main(["info", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


@pytest.mark.parametrize("threads", [-1, 10**6, True, "2"])
def test_threads_out_of_range_are_refused(redness_model, threads):
    with pytest.raises(ConfigError, match="threads must be an integer from 0 to"):
        Segmenter(SegmenterOptions(model_path=redness_model, provider="cpu", threads=threads))


@pytest.mark.parametrize("frame,words", [
    (np.full((90, 160, 3), 255.0, np.float32), "divide it by 255"),
    (np.full((90, 160, 3), 200.0, np.float64), "divide it by 255"),
    (np.full((90, 160, 3), -1.0, np.float32), r"rescale it"),
    (np.full((90, 160, 3), np.nan, np.float32), "NaN"),
])
def test_a_float_frame_outside_0_1_is_refused_with_the_fix(redness_model, frame, words):
    with Segmenter(SegmenterOptions(model_path=redness_model, provider="cpu")) as seg:
        with pytest.raises(FrameError, match=words):
            seg.segment(frame)
    with Pipeline(PipelineOptions(segmenter=SegmenterOptions(model_path=redness_model, provider="cpu"))) as pipe:
        with pytest.raises(FrameError, match="must be in \\[0, 1\\]|NaN"):
            pipe.process(frame)


def test_a_float_frame_in_0_1_gives_the_same_mask_as_its_uint8_twin(redness_model):
    frame = red_square_frame(180, 320, (100, 50, 200, 150))
    with Segmenter(SegmenterOptions(model_path=redness_model, provider="cpu")) as seg:
        a = seg.segment(frame).mask
        b = seg.segment(frame.astype(np.float32) / 255).mask
    assert np.abs(a - b).max() < 1e-3
