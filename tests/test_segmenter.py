import cv2
import numpy as np
import pytest

from edgeseg import FrameError, Segmenter, SegmenterOptions
from edgeseg.errors import ConfigError
from edgeseg.meta import ModelMeta
from edgeseg.metrics import iou
from tests.conftest import make_redness_model, red_square_frame


@pytest.fixture(scope="module")
def default_segmenter():
    with Segmenter(SegmenterOptions(provider="cpu", threads=2)) as seg:
        yield seg


def test_a_blank_frame_gives_an_empty_mask(default_segmenter):
    for value in (0, 128, 255):
        mask = default_segmenter.segment(np.full((720, 1280, 3), value, np.uint8)).mask
        assert (mask >= 0.5).mean() < 0.01


def test_a_covered_camera_gives_an_empty_mask(default_segmenter):
    """Near-black frames with sensor noise (a lens cap, a dark room): a candidate model marked 32-67 % of them person."""
    rng = np.random.default_rng(0)
    for level in (2, 5, 10):
        frame = np.clip(rng.normal(level, 3, (360, 640, 3)), 0, 255).astype(np.uint8)
        assert (default_segmenter.segment(frame).mask >= 0.5).mean() < 0.01


def test_the_mask_is_float32_in_0_1_at_the_frame_size(default_segmenter):
    frame = np.random.default_rng(0).integers(0, 256, (333, 517, 3), np.uint8)
    mask = default_segmenter.segment(frame).mask
    assert mask.shape == (333, 517) and mask.dtype == np.float32
    assert mask.min() >= 0.0 and mask.max() <= 1.0


def test_a_real_person_is_found(default_segmenter, ccp):
    scores = []
    for name in ("0005", "0123", "0456"):
        img = cv2.imread(str(ccp / "images" / f"{name}.jpg"))
        gt = cv2.imread(str(ccp / "masks" / f"{name}.png"), cv2.IMREAD_GRAYSCALE) > 127
        scores.append(iou(default_segmenter.segment(img).mask >= 0.5, gt))
    assert np.mean(scores) > 0.75, scores


@pytest.mark.parametrize("h,w,box", [
    (720, 1280, (500, 200, 800, 700)),     # landscape
    (1280, 720, (200, 400, 500, 1100)),    # portrait
    (300, 1200, (100, 50, 300, 250)),      # very wide
    (640, 640, (0, 0, 320, 640)),          # square, touching the border
])
def test_any_aspect_ratio_maps_back_without_stretching(tmp_path, h, w, box):
    model = make_redness_model(tmp_path / "r.onnx", ModelMeta().to_json())
    with Segmenter(SegmenterOptions(model_path=model, provider="cpu", refine=False)) as seg:
        mask = seg.segment(red_square_frame(h, w, box)).mask >= 0.5
    truth = np.zeros((h, w), bool)
    truth[box[1]:box[3], box[0]:box[2]] = True
    assert iou(mask, truth) > 0.95


def test_bad_frames_raise_frame_error(default_segmenter):
    with pytest.raises(FrameError):
        default_segmenter.segment(None)
    with pytest.raises(FrameError):
        default_segmenter.segment(np.zeros((0, 10, 3), np.uint8))


def test_a_closed_segmenter_says_so():
    seg = Segmenter(SegmenterOptions(provider="cpu"))
    seg.close()
    with pytest.raises(Exception, match="closed"):
        seg.segment(np.zeros((10, 10, 3), np.uint8))


def test_a_larger_input_size_gives_a_larger_canvas_of_the_same_shape(tmp_path):
    model = make_redness_model(tmp_path / "r.onnx", ModelMeta().to_json())
    with Segmenter(SegmenterOptions(model_path=model, provider="cpu", input_size=(160, 288))) as seg:
        assert seg.canvas_for((720, 1280)) == (160, 288)
        assert seg.canvas_for((1280, 720)) == (288, 160)        # portrait frames still get a portrait canvas
        mask = seg.segment(red_square_frame(720, 1280, (500, 200, 800, 700))).mask >= 0.5
    truth = np.zeros((720, 1280), bool)
    truth[200:700, 500:800] = True
    assert iou(mask, truth) > 0.95


@pytest.mark.parametrize("size, words", [((150, 288), "multiples of 16"), ((0, 256), "multiples of 16"),
                                         ("big", "height, width")])
def test_an_unusable_input_size_is_refused_with_the_rule(tmp_path, size, words):
    model = make_redness_model(tmp_path / "r.onnx", ModelMeta().to_json())
    with pytest.raises(ConfigError, match=words):
        Segmenter(SegmenterOptions(model_path=model, provider="cpu", input_size=size))


def test_a_fixed_size_model_refuses_another_input_size_and_says_how_to_get_one(tmp_path):
    model = make_redness_model(tmp_path / "r.onnx", ModelMeta(adaptive=False).to_json(), hw=(144, 256))
    with pytest.raises(ConfigError, match="--input-size 160x288"):
        Segmenter(SegmenterOptions(model_path=model, provider="cpu", input_size=(160, 288)))
    with Segmenter(SegmenterOptions(model_path=model, provider="cpu", input_size=(144, 256))) as seg:
        assert seg.canvas_for((720, 1280)) == (144, 256)
