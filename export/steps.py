"""Export steps: torch -> ONNX, check, simplify, metadata. Each returns the path it wrote."""
from __future__ import annotations

import functools
import hashlib
import logging
import time
import warnings
from pathlib import Path

import onnx

from edgeseg.meta import META_KEY, ModelMeta

log = logging.getLogger("export")
INPUT_NAME, OUTPUT_NAME = "image", "mask"   # what export names the graph's input and output; the rest
                                            # of the toolchain reads them from the file or its session


def timed_step(fn):
    """Log a step's seconds and the size of the file it returns."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        path = fn(*args, **kwargs)
        size = Path(path).stat().st_size / 1024 if path and Path(path).exists() else 0
        log.info("%-10s %6.2f s  %7.1f KB  %s", fn.__name__.replace("_onnx", ""), time.perf_counter() - t, size, path)
        return path
    return wrapper


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@timed_step
def export_onnx(model, out: Path, input_hw: tuple[int, int], dynamic: bool, opset: int = 17) -> Path:
    """torch -> ONNX (TorchScript exporter; static batch 1, optionally dynamic H and W)."""
    import torch
    model.eval()
    x = torch.rand(1, 3, *input_hw)
    axes = {name: {2: "height", 3: "width"} for name in (INPUT_NAME, OUTPUT_NAME)} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(out), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          opset_version=opset, dynamo=False, dynamic_axes=axes, do_constant_folding=True)
    return out


@timed_step
def check_onnx(path: Path) -> Path:
    """onnx.checker with full shape inference."""
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


@timed_step
def simplify_onnx(path: Path, input_hw: tuple[int, int]) -> Path:
    """onnxsim in place; on failure warn and keep the unsimplified graph."""
    try:
        import onnxsim
        model, ok = onnxsim.simplify(onnx.load(str(path)))
        if not ok:
            raise RuntimeError("onnxsim could not validate the simplified model")
        onnx.save(model, str(path))
    except Exception as exc:  # onnxsim raises many types; the unsimplified graph is still valid
        log.warning("onnxsim failed (%s); continuing with the unsimplified graph", str(exc)[:200])
    return path


def write_meta(path: Path, meta: ModelMeta) -> Path:
    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != META_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=META_KEY, value=meta.to_json())
    model.producer_name = "edgeseg"
    onnx.save(model, str(path))
    return path


def read_meta(path: Path) -> ModelMeta:
    for p in onnx.load(str(path)).metadata_props:
        if p.key == META_KEY:
            return ModelMeta.from_json(p.value)
    raise KeyError(f"{path} has no {META_KEY} metadata")
