"""Shared fixtures: paths to ../shared/data, a tiny ONNX model built without torch, short clips."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def shared_or_skip(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data {path} not present")
    return path


@pytest.fixture(scope="session")
def ccp() -> Path:
    return shared_or_skip("people", "ccp")


@pytest.fixture(scope="session")
def small_pairs(tmp_path_factory, ccp) -> Path:
    """A folder with 12 real image/mask pairs (symlinks), in the images/ + masks/ layout."""
    root = tmp_path_factory.mktemp("pairs")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    for img in sorted((ccp / "images").glob("*.jpg"))[:12]:
        (root / "images" / img.name).symlink_to(img)
        (root / "masks" / (img.stem + ".png")).symlink_to(ccp / "masks" / (img.stem + ".png"))
    return root


def make_redness_model(path: Path, meta_json: str | None, hw=("height", "width"), out_channels: int = 1) -> Path:
    """A 1×1-conv ONNX model: person probability = sigmoid(20·(R − G) − 5). Red pixels are 'person'."""
    import onnx
    from onnx import TensorProto, helper
    w = np.zeros((out_channels, 3, 1, 1), np.float32)
    w[:, 0], w[:, 1] = 20.0, -20.0
    nodes = [helper.make_node("Conv", ["image", "w", "b"], ["logit"]), helper.make_node("Sigmoid", ["logit"], ["mask"])]
    graph = helper.make_graph(
        nodes, "redness",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, *hw])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, out_channels, *hw])],
        [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten()),
         helper.make_tensor("b", TensorProto.FLOAT, [out_channels], [-5.0] * out_channels)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if meta_json is not None:
        model.metadata_props.add(key="edgeseg", value=meta_json)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def redness_model(tmp_path) -> Path:
    from edgeseg.meta import ModelMeta
    return make_redness_model(tmp_path / "redness.onnx", ModelMeta(input_hw=(144, 256), name="redness").to_json())


def red_square_frame(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """A gray frame with a red rectangle (x0, y0, x1, y1)."""
    frame = np.full((h, w, 3), 128, np.uint8)
    x0, y0, x1, y1 = box
    frame[y0:y1, x0:x1] = (0, 0, 255)
    return frame


def small_figure() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 1280×720 frame with a small red figure (60×120 px) holding out a short 3 px wide red arm; the
    red pixels (truth), and the arm's pixels away from its ends (arm)."""
    frame = red_square_frame(720, 1280, (600, 300, 660, 420))
    frame[330:333, 660:690] = (0, 0, 255)
    truth = np.all(frame == (0, 0, 255), axis=2)
    arm = np.zeros_like(truth)
    arm[330:333, 662:688] = True
    return frame, truth, arm


TINY = {"arch": "EdgeUNet", "widths": [4, 8, 8, 8], "blocks": [1, 1, 1], "expand": 2}   # a model config export takes in seconds


def save_tiny_checkpoint(model, path: Path) -> Path:
    """`model` (built from TINY) as a training checkpoint at a 64×96 base canvas, as export reads it."""
    from edgeseg.train.checkpoint import save_checkpoint
    save_checkpoint({"model": model.state_dict(), "model_config": TINY, "epoch": 0,
                     "input": {"hw": [64, 96], "adaptive": True}}, path)
    return path


def mask_pipeline(model, **options):
    """A CPU Pipeline on `model` whose output is the mask (effect 'mask'), with these PipelineOptions."""
    from edgeseg import SegmenterOptions
    from edgeseg.pipeline import Pipeline, PipelineOptions
    return Pipeline(PipelineOptions(segmenter=SegmenterOptions(model_path=model, provider="cpu"), effect="mask", **options))


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory) -> Path:
    """The first 24 frames of the shared desk video, re-encoded (fps kept)."""
    src = shared_or_skip("videos", "desk.mp4")
    out = tmp_path_factory.mktemp("clips") / "desk24.mp4"
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    for _ in range(24):
        ok, frame = cap.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0]))
        writer.write(frame)
    writer.release()
    cap.release()
    return out


def video_info(path: Path) -> tuple[int, float, tuple[int, int]]:
    """(frames counted by decoding, fps, (w, h))."""
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    n, size = 0, (0, 0)
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        n += 1
        size = (frame.shape[1], frame.shape[0])
    cap.release()
    return n, fps, size
