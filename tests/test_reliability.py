"""Bad input gets a clear error and loses nothing."""
import hashlib
import shutil

import cv2
import numpy as np
import pytest

from edgeseg import ConfigError, FrameError, Pipeline, PipelineOptions, Segmenter, SegmenterOptions
from edgeseg.cli import main


@pytest.fixture(scope="module")
def seg():
    with Segmenter(SegmenterOptions(provider="cpu", threads=1)) as s:
        yield s


@pytest.mark.parametrize("frame", [
    np.zeros((1, 1, 3), np.uint8),
    np.zeros((4320, 7680, 3), np.uint8),                       # 8K
    np.zeros((120, 160), np.uint8),                            # grayscale
    np.zeros((120, 160, 4), np.uint8),                         # BGRA
    np.zeros((120, 160, 3), np.float32),                       # float 0-1
    np.zeros((120, 160, 3), np.uint16),                        # 16-bit
    np.zeros((120, 320, 3), np.uint8)[:, ::2],                 # non-contiguous view
    np.zeros((160, 120, 3), np.uint8).transpose(1, 0, 2),      # transposed view
], ids=["1x1", "8K", "gray", "bgra", "float", "uint16", "strided", "transposed"])
def test_convertible_frames_give_a_mask_of_their_size(seg, frame):
    mask = seg.segment(frame).mask
    assert mask.shape == frame.shape[:2] and mask.dtype == np.float32


@pytest.mark.parametrize("frame,words", [
    (None, "None"), (np.zeros((0, 0, 3), np.uint8), "empty"), (np.zeros((5, 0, 3), np.uint8), "empty"),
    (np.zeros((9000, 9000, 3), np.uint8), "8192"), (np.zeros((4, 4, 3), bool), "dtype"), ([[1, 2]], "numpy"),
])
def test_unusable_frames_are_refused_clearly(seg, frame, words):
    with pytest.raises(FrameError, match=words):
        seg.segment(frame)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_output_folder_that_does_not_exist_fails_before_work_and_keeps_the_input(short_clip, tmp_path, capsys):
    before = sha(short_clip)
    assert main(["process", str(short_clip), "-o", str(tmp_path / "nope" / "out.mp4"), "-q"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert sha(short_clip) == before


def test_a_full_disk_is_reported_before_work(short_clip, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("edgeseg.outputs.shutil.disk_usage", lambda p: shutil._ntuple_diskusage(100, 100, 0))
    assert main(["process", str(short_clip), "-o", str(tmp_path / "o.mp4"), "-q"]) == 2
    assert "full" in capsys.readouterr().err and not (tmp_path / "o.mp4").exists()


def test_the_output_may_not_be_the_input(tmp_path, short_clip, capsys):
    copy = tmp_path / "in.mp4"
    shutil.copy(short_clip, copy)
    before = sha(copy)
    assert main(["process", str(copy), "-o", str(copy), "-q"]) == 2
    assert "is the input" in capsys.readouterr().err and sha(copy) == before


def test_an_existing_output_is_replaced_only_by_a_finished_file(short_clip, tmp_path):
    out = tmp_path / "o.mp4"
    out.write_bytes(b"old")
    assert main(["process", str(short_clip), "-o", str(out), "-q"]) == 0
    assert out.read_bytes()[:3] != b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["o.mp4"]


def test_a_corrupt_video_source_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    assert main(["process", str(bad), "-o", str(tmp_path / "o.mp4")]) == 2
    assert "cannot open video" in capsys.readouterr().err


def test_a_missing_source_lists_what_a_source_can_be(capsys):
    assert main(["live", "--source", "no_such_file.mp4", "--headless"]) == 2
    assert "camera index, URL, 'demo'" in capsys.readouterr().err


def test_an_onnx_without_metadata_runs_from_the_cli_when_described(tmp_path, capsys):
    from tests.conftest import make_redness_model, red_square_frame
    model = make_redness_model(tmp_path / "plain.onnx", None)
    img = tmp_path / "in.png"
    cv2.imwrite(str(img), red_square_frame(90, 160, (40, 20, 100, 80)))
    assert main(["process", str(img), "-o", str(tmp_path / "o.png"), "--model", str(model), "--effect", "mask"]) == 2
    assert "--input-size" in capsys.readouterr().err
    assert main(["process", str(img), "-o", str(tmp_path / "o.png"), "--model", str(model), "--effect", "mask",
                 "--input-size", "144x256", "--no-refine", "--feather", "0"]) == 0
    out = cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_GRAYSCALE)
    assert out[50, 70] > 200 and out[5, 5] < 50


def test_a_debug_flag_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="not found"):
        main(["--debug", "info", str(tmp_path / "x.onnx")])


def test_option_errors_list_the_valid_choices():
    with pytest.raises(ConfigError, match="blur, replace, mask, none"):
        Pipeline(PipelineOptions(effect="sepia"))
    with pytest.raises(ConfigError, match="fp32, fp16, int8"):
        Segmenter(SegmenterOptions(precision="int4"))


def test_a_training_config_with_an_unknown_key_lists_the_valid_keys(tmp_path):
    from edgeseg.train.config import load_config
    cfg = tmp_path / "c.yaml"
    cfg.write_text("epochs: 3\nlearning_rate: 0.1\n")
    with pytest.raises(ConfigError, match="learning_rate.*valid keys.*lr"):
        load_config(cfg)


def test_a_missing_precision_variant_lists_the_ones_that_exist(redness_model):
    from edgeseg import ModelError
    with pytest.raises(ModelError, match="available: fp32"):
        Segmenter(SegmenterOptions(model_path=redness_model, precision="int8"))


def test_ctrl_c_during_live_releases_everything_and_keeps_a_playable_file(tmp_path):
    from edgeseg.sources import DemoSource
    from edgeseg.video import run_live
    from tests.conftest import video_info

    class CtrlCAfter(DemoSource):
        released = False

        def read(self):
            if self._i >= 9:
                raise KeyboardInterrupt
            return super().read()

        def close(self):
            CtrlCAfter.released = True

    out = tmp_path / "live.mp4"
    with Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu"))) as pipe:
        res = run_live(pipe, CtrlCAfter(), headless=True, output=out)
    assert res.stopped_by == "interrupt" and CtrlCAfter.released
    assert video_info(out)[0] == 9
