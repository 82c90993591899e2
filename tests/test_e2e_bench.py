"""benchmarks.e2e's own logic: the interleaving, and one tiny run end to end (skipped without LiteRT or the models)."""
import json

import pytest

from benchmarks import e2e
from conftest import shared_or_skip


def test_every_contender_sees_every_frame_once_in_order_and_the_first_turn_rotates():
    plan = e2e.schedule(3, 25, 10)
    assert [(a, b) for a, b, _ in plan] == [(0, 10), (10, 20), (20, 25)]
    assert [order[0] for _, _, order in plan] == [0, 1, 2]
    assert all(sorted(order) == [0, 1, 2] for _, _, order in plan)


def test_a_schedule_needs_contenders_frames_and_a_block():
    with pytest.raises(ValueError):
        e2e.schedule(0, 10, 5)


def test_a_tiny_side_by_side_run_writes_json_markdown_plot_and_the_readme_table(tmp_path):
    pytest.importorskip("ai_edge_litert")
    if e2e.mediapipe_model_path(0.0) is None:
        pytest.skip("no MediaPipe models in benchmarks/.mpref/models (python -m benchmarks.mediapipe_ref.setup_env)")
    video = shared_or_skip("videos", "desk.mp4")
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{e2e.BEGIN}\nold table\n{e2e.END}\n\nafter\n")
    assert e2e.main(["--sizes", "160x90,320x180", "--frames", "4", "--block", "2", "--warmup", "1",
                     "--precisions", "fp32,int8", "--video", str(video), "--out", str(tmp_path),
                     "--readme", str(readme)]) == 0
    result = json.loads(next(tmp_path.glob("*_e2e.json")).read_text())
    roles = [c["role"] for c in result["contenders"].values()]
    assert roles == ["ours", "ours", "reference", "straightforward"]
    for size in ("160x90", "320x180"):
        for name, r in result["sizes"][size].items():
            assert r["frames"] == 4 and r["cpu_ms"]["median"] > 0 and r["wall_ms"]["p90"] >= r["wall_ms"]["median"]
            assert {"inference", "composite"} <= set(r["stages"]), name
            assert r["core_pct_30fps"] == pytest.approx(r["cpu_ms"]["median"] * 3)
    text = readme.read_text()
    assert "old table" not in text and "160×90" in text and text.endswith("after\n")
    assert next(tmp_path.glob("*_e2e.png")).stat().st_size > 1000


def test_a_before_model_is_one_more_contender_named_after_its_file(tmp_path):
    model = tmp_path / "previous.onnx"
    cons = e2e.contenders(["fp32"], None, 1, before_model=model)
    assert [c.role for c in cons] == ["ours", "before", "straightforward"]
    assert "previous.onnx" in cons[1].name


@pytest.mark.parametrize("args, words", [(["--before", "--before-model", "x.onnx"], "pass one"),
                                         (["--before-model", "missing.onnx"], "no such file")])
def test_before_options_that_cannot_both_hold_are_refused(args, words, capsys):
    with pytest.raises(SystemExit):
        e2e.main(args)
    assert words in capsys.readouterr().err
