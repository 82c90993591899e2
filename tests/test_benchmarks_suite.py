"""The benchmark suite's side-by-side ratios and the README table it generates."""
from pathlib import Path

import pytest

from benchmarks.__main__ import BEGIN, END, readme_table, side_by_side, update_readme


def row(threads, model_ms, pipe_ms):
    return {"status": "ok", "provider": "cpu", "precision": "fp32", "threads": threads, "size": "1280x720",
            "model_ms": {"median": model_ms, "p90": model_ms * 1.2},
            "pipeline_ms": {"median": pipe_ms, "p90": pipe_ms * 1.2, "fps": 1000 / pipe_ms}}


REF = {  # the shapes benchmarks/mediapipe_ref/runner.py returns
    "latency": {"models": {"landscape": {"threads": {"1": {"median": 2.0}}},
                           "general": {"threads": {"1": {"median": 4.0}}}}},
    "end_to_end": {"models": {"landscape": {"stages": {"frame": {"median": 5.0}}},
                              "general": {"stages": {"frame": {"median": 6.0}}}}},
    "accuracy": {"full": {"models": {"general": {"person_iou": 0.9, "boundary_f": 0.8}}}},
}


def test_side_by_side_gives_ours_over_theirs_for_each_figure():
    lines = side_by_side([row(1, 1.0, 4.0)], {"median": 4.0}, {"full": {"person_iou": 0.81, "boundary_f": 0.8}}, REF)
    got = {(s["figure"], s["reference"]): round(s["ratio"], 3) for s in lines}
    assert got[("model-only ms, 1 thread(s)", "mediapipe-landscape")] == 0.5
    assert got[("model-only ms, 1 thread(s)", "mediapipe-general")] == 0.25
    assert got[("end-to-end ms/frame, 1280x720 blur", "mediapipe-landscape")] == 0.8
    assert got[("person_iou, validation full", "mediapipe-general")] == 0.9
    assert got[("boundary_f, validation full", "mediapipe-general")] == 1.0


def test_the_readme_table_is_replaced_between_its_markers_only(tmp_path):
    result = {"device": {"cpu": "Test CPU", "cores": 2, "cpu_flags": {"avx2": True}, "onnxruntime": "1.0"},
              "date": "2026-01-01", "rows": [row(1, 1.0, 4.0), {"status": "unavailable", "provider": "cuda",
                                                               "precision": "fp16", "threads": 1, "size": "1280x720"}],
              "side_by_side": []}
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nold table\n{END}\noutro\n")
    update_readme(readme, readme_table(result))
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old table" not in text
    assert "| cpu | fp32 | 1 | 1280x720 | 1.00 (1.20) | 4.00 (4.80) | 250 |" in text
    assert "Not measured here (no such provider in this onnxruntime): cuda." in text


def test_ab_latency_prints_one_line_per_model_and_setting(capsys):
    from benchmarks import ab_latency
    from edgeseg.models import pick_model_file
    model = str(pick_model_file(None, "fp32", "cpu"))
    assert ab_latency.main([model, model, "--rounds", "1", "--runs", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 * len(ab_latency.SETTINGS)
    assert all(" ms (" in line and "p90" in line for line in lines)


def test_ab_latency_times_a_model_at_another_size_and_refuses_a_bad_one(capsys):
    from benchmarks import ab_latency
    from edgeseg.models import pick_model_file
    model = str(pick_model_file(None, "fp32", "cpu"))
    assert ab_latency.parse_model(model + "@160x288") == (model, (160, 288))
    assert ab_latency.main([model, model + "@160x288", "--rounds", "1", "--runs", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert sum("@160x288" in line for line in lines) == len(ab_latency.SETTINGS)
    with pytest.raises(SystemExit):
        ab_latency.main([model + "@big"])
    assert "MODEL@HxW" in capsys.readouterr().err


def test_a_model_spec_is_label_equals_path_or_a_path_labelled_by_its_stem():
    from benchmarks.quality import label_path
    assert label_path("previous default (stage 7)=runs/s7/default.onnx") == ("previous default (stage 7)",
                                                                              Path("runs/s7/default.onnx"))
    assert label_path("runs/x/model.int8.onnx") == ("model.int8", Path("runs/x/model.int8.onnx"))
