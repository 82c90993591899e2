"""Parameters and multiply-adds of an ONNX model at a given input size, read from the graph.

    python -m benchmarks.model_budget edgeseg/models/default.onnx --input-size 176x320

Counts Conv (and ConvTranspose/MatMul/Gemm) multiply-adds from ONNX shape inference at the
given size; parameters are the initializers' elements (BatchNorm already folded by onnxsim),
plus the training-time count (with BatchNorm) from the model's metadata.
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

from edgeseg.sizes import parse_hw
from edgeseg.meta import META_KEY, ModelMeta


def budget(path: str, input_hw: tuple[int, int] | None = None) -> dict:
    model = onnx.load(path)
    meta = next((ModelMeta.from_json(p.value) for p in model.metadata_props if p.key == META_KEY), None)
    hw = input_hw or (meta.input_hw if meta else None)
    inp = model.graph.input[0].type.tensor_type.shape.dim
    if hw:
        inp[2].dim_value, inp[3].dim_value = hw
    inferred = shape_inference.infer_shapes(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input)}
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    macs = 0
    for node in inferred.graph.node:
        if node.op_type == "Conv" and node.input[1] in inits:
            w = inits[node.input[1]]
            out = shapes.get(node.output[0])
            if out and all(out):
                macs += int(np.prod(out)) * int(np.prod(w.shape[1:]))
        elif node.op_type in ("MatMul", "Gemm") and node.input[1] in inits:
            out = shapes.get(node.output[0])
            if out and all(out):
                macs += int(np.prod(out)) * int(inits[node.input[1]].shape[0])
    params = int(sum(a.size for a in inits.values() if a.dtype.kind == "f"))
    return {"file": path, "input_hw": list(hw) if hw else None, "macs": macs, "mmacs": macs / 1e6,
            "onnx_parameters": params,
            "training_parameters": (meta.extra or {}).get("parameters") if meta else None}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--input-size", help="HxW (default: the model's base size)")
    args = p.parse_args(argv)
    hw = parse_hw(args.input_size) if args.input_size else None
    print(json.dumps(budget(args.model, hw), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
