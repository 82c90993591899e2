"""FP16 and static INT8 (QDQ) variants of an fp32 ONNX model."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx

from edgeseg.meta import ModelMeta
from edgeseg.preprocess import as_bgr_uint8, prepare

from .steps import read_meta, timed_step, write_meta

log = logging.getLogger("export")


@timed_step
def to_fp16(src: Path, dst: Path) -> Path:
    """Weights and activations in fp16; the model's input and output stay fp32."""
    from onnxruntime.transformers.float16 import convert_float_to_float16
    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dst))
    return write_meta(dst, read_meta(src).replace(precision="fp16"))


def calibration_tensors(images: list[np.ndarray], meta: ModelMeta) -> list[np.ndarray]:
    """Real images through the runtime's own preprocessing, at the model's base canvas."""
    out = []
    for img in images:
        out.append(prepare(as_bgr_uint8(img), meta, meta.input_hw)[0])
    return out


class ImageReader:
    """onnxruntime.quantization CalibrationDataReader over preprocessed tensors."""

    def __init__(self, input_name: str, tensors: list[np.ndarray]):
        self.input_name, self._it = input_name, iter(tensors)

    def get_next(self):
        x = next(self._it, None)
        return None if x is None else {self.input_name: x}

    def rewind(self):  # not needed by the calibrators used here
        pass


def conv_nodes(model: onnx.ModelProto) -> list[str]:
    return [n.name for n in model.graph.node if n.op_type == "Conv"]


@timed_step
def to_int8(src: Path, dst: Path, calib_images: list[np.ndarray], per_channel: bool = True,
            exclude_first_last: bool = True, method: str = "minmax") -> Path:
    """Static INT8 QDQ: quant_pre_process, calibrate on real images, quantize.

    The first and last convolutions stay in float by default (they cost the most accuracy).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    meta = read_meta(src)
    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        # pre-process the graph as it is (dynamic H/W stay dynamic); calibration runs at the base size
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=False)
        convs = conv_nodes(onnx.load(str(pre)))
        exclude = [convs[0], convs[-1]] if exclude_first_last and len(convs) > 2 else []
        name = onnx.load(str(pre)).graph.input[0].name
        quantize_static(str(pre), str(dst), ImageReader(name, calibration_tensors(calib_images, meta)),
                        quant_format=QuantFormat.QDQ, per_channel=per_channel,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=exclude, calibrate_method=methods[method])
    return write_meta(dst, meta.replace(precision="int8"))
