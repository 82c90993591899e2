"""Verification: ORT against torch, and every variant's accuracy against fp32."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edgeseg.bench import time_it
from edgeseg.errors import VerificationError
from edgeseg.meta import ModelMeta
from edgeseg.postprocess import unprepare
from edgeseg.preprocess import as_bgr_uint8, prepare
from edgeseg.session import Session

log = logging.getLogger("export")
PARITY_TOLERANCE = 1e-4
GATE_POINTS = 0.5


def torch_parity(model, onnx_path: Path, frames: list[np.ndarray], trained: ModelMeta) -> float:
    """Max abs diff, over BGR frames, between torch fed the way it was trained and ONNX Runtime (CPU)
    fed the way the runtime feeds the exported file: preprocess.prepare with `trained` (the
    checkpoint's ModelMeta, at the export's canvas) against prepare with the file's own metadata,
    each mask brought back to the frame by postprocess.unprepare. A file whose colour order or
    normalisation differs from training's fails here.

    Raises:
        VerificationError: the difference exceeds PARITY_TOLERANCE.
    """
    import torch
    sess = Session(onnx_path, "cpu")
    runtime = sess.meta
    torch_meta = trained.replace(input_hw=runtime.input_hw, adaptive=runtime.adaptive, multiple=runtime.multiple)
    worst = 0.0
    with torch.no_grad():
        for frame in frames:
            frame = as_bgr_uint8(frame)
            x, lb = prepare(frame, torch_meta)
            ref = unprepare(model(torch.from_numpy(x))[0, 0].numpy(), lb, torch_meta)
            y, lb = prepare(frame, runtime, sess.static_hw, sess.input_dtype)
            worst = max(worst, float(np.abs(unprepare(sess.run(y), lb, runtime) - ref).max()))
    if worst > PARITY_TOLERANCE:
        raise VerificationError(f"ONNX Runtime on the exported file differs from torch as trained by {worst:.2e} "
                                f"(> {PARITY_TOLERANCE:.0e}); check that its metadata's colour/mean/std match "
                                "training's, then the opset and unsupported ops")
    return worst


def latency_ms(path: Path, meta: ModelMeta, threads: int = 2, seconds: float = 1.5) -> dict[str, float]:
    """Model-only CPU latency at the base input size (edgeseg.bench.time_it): median, p90, ... in ms."""
    sess = Session(path, "cpu", threads=threads)
    shape = (1, 3, *meta.input_hw) if meta.layout == "NCHW" else (1, *meta.input_hw, 3)
    x = np.random.default_rng(0).random(shape, np.float32)
    return time_it(lambda: sess.run(x), seconds, min_runs=50)


def gate(name: str, iou: float, ref_iou: float, force: bool) -> str:
    """Refuse a variant that loses more than GATE_POINTS of person IoU against fp32.

    Returns 'ok' or 'forced'. Raises VerificationError unless force.
    """
    drop = (ref_iou - iou) * 100
    if drop <= GATE_POINTS:
        return "ok"
    msg = (f"{name} loses {drop:.2f} points of person IoU against fp32 ({iou:.4f} vs {ref_iou:.4f}; "
           f"the limit is {GATE_POINTS}). Try other calibration images (--calib), or --force to keep it anyway")
    if force:
        log.warning("FORCED: %s", msg)
        return "forced"
    raise VerificationError(msg)
