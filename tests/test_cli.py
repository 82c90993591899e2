import json

import cv2
import numpy as np
import pytest

from edgeseg.cli import main
from tests.conftest import video_info


def test_process_keeps_frame_count_and_fps(short_clip, tmp_path):
    out = tmp_path / "out.mp4"
    assert main(["process", str(short_clip), "-o", str(out), "-q", "--provider", "cpu"]) == 0
    n_in, fps_in, size_in = video_info(short_clip)
    n_out, fps_out, size_out = video_info(out)
    assert (n_out, size_out) == (n_in, size_in) and abs(fps_out - fps_in) < 0.01
    assert not (tmp_path / "out.partial.mp4").exists()


def test_process_an_image(tmp_path, ccp):
    out = tmp_path / "blurred.png"
    assert main(["process", str(ccp / "images" / "0001.jpg"), "-o", str(out)]) == 0
    src, res = cv2.imread(str(ccp / "images" / "0001.jpg")), cv2.imread(str(out))
    assert res.shape == src.shape and not np.array_equal(res, src)


def test_eval_prints_the_metrics_json(small_pairs, tmp_path, capsys):
    out = tmp_path / "e.json"
    csv_path = tmp_path / "per.csv"
    assert main(["eval", "--images", str(small_pairs / "images"), "--masks", str(small_pairs / "masks"),
                 "--json", str(out), "--per-image", str(csv_path)]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(printed) == {"images", "person_iou", "miou", "boundary_f"} and printed["images"] == 12
    assert json.loads(out.read_text()) == printed
    assert len(csv_path.read_text().strip().splitlines()) == 13


def test_info_prints_the_model_metadata(capsys):
    assert main(["info", "edgeseg/models/default.onnx"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["meta"]["input_hw"] == [176, 320] and info["meta"]["schema_version"] == 1


def test_live_on_the_demo_source_runs_headless_for_n_frames(tmp_path, capsys):
    stats = tmp_path / "s.json"
    assert main(["live", "--source", "demo", "--headless", "--max-frames", "12", "--stats-json", str(stats)]) == 0
    s = json.loads(stats.read_text())
    assert s["frames"] == 12 and {"preprocess", "inference", "composite"} <= set(s["stages"])


def test_live_without_a_camera_suggests_another_source(capsys):
    assert main(["live", "--source", "7", "--headless", "--max-frames", "1"]) == 2
    assert "--source demo" in capsys.readouterr().err


def test_errors_exit_non_zero_without_a_traceback(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err


def test_eval_at_a_larger_canvas_runs_and_a_bad_or_conflicting_one_is_refused(small_pairs, capsys):
    base = ["eval", "--images", str(small_pairs / "images"), "--masks", str(small_pairs / "masks"), "--limit", "3"]
    assert main(base + ["--canvas", "160x288"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["images"] == 3
    assert main(base + ["--canvas", "160x290"]) == 2
    assert "multiples of 16" in capsys.readouterr().err
    assert main(base + ["--canvas", "160x288", "--input-size", "144x256"]) == 2
    assert "conflict" in capsys.readouterr().err


def test_eval_zooms_on_small_people_unless_told_not_to():
    from edgeseg.cli import build_parser, segmenter_options
    base = ["eval", "--images", "i", "--masks", "m", "--no-profile"]
    assert segmenter_options(build_parser().parse_args(base)).zoom is True
    assert segmenter_options(build_parser().parse_args(base + ["--no-zoom"])).zoom is False


@pytest.mark.parametrize("command", [["eval", "--images", "i", "--masks", "m"], ["process", "a.jpg", "-o", "b.png"],
                                     ["live"]])
def test_flip_averaging_is_off_unless_asked_for(command):
    from edgeseg.cli import build_parser, segmenter_options
    base = command + ["--no-profile"]
    assert segmenter_options(build_parser().parse_args(base)).flip_average is False
    assert segmenter_options(build_parser().parse_args(base + ["--flip-average"])).flip_average is True


def test_process_zooms_video_frames_and_live_only_when_asked():
    from edgeseg.cli import build_parser, build_pipeline
    parse = build_parser().parse_args
    for argv, zooms in ((["process", "a.mp4", "-o", "b.mp4"], True), (["process", "a.mp4", "-o", "b.mp4", "--no-zoom"], False),
                        (["live"], False), (["live", "--zoom-video"], True)):
        args = parse(argv + ["--no-profile", "--provider", "cpu"])
        with build_pipeline(args, offline=argv[0] == "process") as pipe:
            assert pipe.options.zoom_video is zooms, argv
