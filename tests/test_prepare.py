"""prepare / unprepare: the one preparation of a frame for a model, and its inverse for the mask."""
import numpy as np
import pytest

from edgeseg.meta import ModelMeta
from edgeseg.postprocess import unprepare
from edgeseg.preprocess import choose_canvas, prepare


@pytest.mark.parametrize("hw", [(90, 160), (160, 90), (100, 100)])
def test_a_frame_goes_into_the_metadatas_canvas_and_its_mask_comes_back_at_the_frames_size(hw):
    meta = ModelMeta(input_hw=(64, 96))
    x, lb = prepare(np.zeros(hw + (3,), np.uint8), meta)
    assert x.shape == (1, 3) + choose_canvas(hw, meta.input_hw, meta.adaptive, meta.multiple)
    mask = unprepare(np.ones(x.shape[2:], np.float32), lb, meta)
    assert mask.shape == hw and np.all(mask == 1.0)


def test_the_frame_is_normalised_as_the_metadata_says():
    frame = np.zeros((64, 96, 3), np.uint8)
    frame[..., 2] = 255                                   # pure red in BGR
    meta = ModelMeta(input_hw=(64, 96), adaptive=False, mean=(0.5, 0.25, 0.0), std=(0.5, 0.5, 2.0))
    x, _ = prepare(frame, meta)
    assert np.allclose(x[0, :, 32, 48], [(1 - 0.5) / 0.5, (0 - 0.25) / 0.5, 0.0])   # RGB order
    bgr, _ = prepare(frame, meta.replace(colour="BGR"))
    assert np.allclose(bgr[0, :, 32, 48], [(0 - 0.5) / 0.5, (0 - 0.25) / 0.5, 1 / 2.0])


def test_only_the_frames_part_of_the_canvas_comes_back():
    meta = ModelMeta(input_hw=(64, 96), adaptive=False)
    x, lb = prepare(np.zeros((64, 64, 3), np.uint8), meta)     # a square frame: pillars left and right
    out = np.zeros(x.shape[2:], np.float32)
    out[:, lb.left:lb.left + lb.width] = 1.0
    assert np.all(unprepare(out, lb, meta) == 1.0)


def test_a_logits_model_is_brought_back_through_the_sigmoid():
    meta = ModelMeta(input_hw=(64, 96), output="logits")
    x, lb = prepare(np.zeros((64, 96, 3), np.uint8), meta)
    assert np.allclose(unprepare(np.zeros(x.shape[2:], np.float32), lb, meta), 0.5)
