import os

import pytest

from edgeseg import Segmenter
from edgeseg.bench import BenchCase, bench_case, device_slug, fingerprint, markdown_table, summarise, time_it
from edgeseg.errors import ConfigError
from edgeseg.meta import ModelMeta
from edgeseg.models import DEFAULT_MODEL
from edgeseg.trt import engine_cache_dir, trt_profile_shapes
from edgeseg.tune import choose, load_profile, save_profile


def test_the_fingerprint_names_cpu_flags_versions_and_providers():
    fp = fingerprint()
    assert fp["cores"] >= 1 and "avx2" in fp["cpu_flags"] and "cpu" in fp["providers"]
    assert fp["onnxruntime"] and fp["edgeseg"]
    assert device_slug(fp) and "/" not in device_slug(fp)


def test_summary_statistics_are_percentiles_of_the_samples():
    s = summarise([1.0] * 90 + [11.0] * 10)
    assert s["median"] == 1.0 and s["p99"] > 10 and s["runs"] == 100 and s["fps"] == 1000.0


def test_time_it_runs_for_at_least_the_minimum_count():
    assert time_it(lambda: None, seconds=0.01, warmup_seconds=0.0, min_runs=40)["runs"] >= 40


def test_a_missing_provider_gives_a_row_with_a_status_instead_of_crashing():
    row = bench_case(BenchCase("fp32", "tensorrt", 1, (320, 180)), None, 0.05)
    if row["status"] == "unavailable":
        assert "tensorrt" in row["note"]
    assert "| tensorrt |" in markdown_table([row])


def test_a_cpu_row_has_model_and_pipeline_timings_with_stages():
    row = bench_case(BenchCase("fp32", "cpu", 1, (320, 180)), None, 0.05)
    assert row["status"] == "ok" and row["model_ms"]["median"] > 0
    with Segmenter.from_path(DEFAULT_MODEL, provider="cpu") as seg:
        h, w = seg.canvas_for((180, 320))                 # the bundled model's canvas for a 16:9 frame
    assert {"inference", "composite"} <= set(row["stages"]) and row["canvas"] == f"{w}x{h}"


def rows(*fps):
    return [{"status": "ok", "provider": "cpu", "precision": "fp32", "threads": i + 1, "size": "1280x720",
             "pipeline_ms": {"fps": f, "median": 1000 / f}} for i, f in enumerate(fps)]


def test_tune_picks_the_fastest_setting_that_meets_the_target():
    assert choose(rows(20, 90, 60), 30)["threads"] == 2
    assert choose(rows(20, 25), 30) is None


def test_a_saved_profile_is_loaded_back(tmp_path):
    path = save_profile(rows(90)[0], 30, {"cpu": "x"}, tmp_path / "p.json")
    assert load_profile(path) == {"provider": "cpu", "precision": "fp32", "threads": 1}


def test_a_damaged_profile_says_to_re_run_tune(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="edgeseg tune"):
        load_profile(bad)


def test_the_trt_cache_key_changes_with_model_shape_and_version(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGESEG_TEST_ROOT", str(tmp_path))
    a = engine_cache_dir("$EDGESEG_TEST_ROOT/trt", "a" * 64, (144, 256), "trt-10.1")
    assert str(a).startswith(str(tmp_path)) and a.is_dir()
    assert a != engine_cache_dir(tmp_path, "b" * 64, (144, 256), "trt-10.1")
    assert a != engine_cache_dir(tmp_path, "a" * 64, (256, 256), "trt-10.1")
    assert a != engine_cache_dir(tmp_path, "a" * 64, (144, 256), "trt-10.2")
    home = engine_cache_dir("~/x", "a" * 64, None, "t")
    assert "~" not in str(home) and str(home).startswith(os.path.expanduser("~"))


def test_the_trt_profile_covers_every_adaptive_canvas():
    shapes = trt_profile_shapes(ModelMeta(), "frames")
    assert shapes["trt_profile_opt_shapes"] == "frames:1x3x144x256"     # the session's input name, not a literal
    mx = int(shapes["trt_profile_max_shapes"].split("x")[-1])
    assert mx >= 384


@pytest.mark.gpu
def test_cuda_provider_segments_when_present():
    from edgeseg.session import available_providers
    if "CUDAExecutionProvider" not in available_providers():
        pytest.skip("no CUDA execution provider in this onnxruntime")
    import numpy as np
    from edgeseg import Segmenter, SegmenterOptions
    with Segmenter(SegmenterOptions(provider="cuda")) as seg:
        assert seg.provider == "cuda"
        assert seg.segment(np.zeros((360, 640, 3), np.uint8)).mask.shape == (360, 640)


def ranked(*specs):
    """Rows from (precision, threads, fps) triples."""
    return [{"status": "ok", "provider": "cpu", "precision": p, "threads": n, "size": "1280x720",
             "pipeline_ms": {"fps": f, "median": 1000 / f}} for p, n, f in specs]


def test_settings_that_tie_within_noise_give_the_simpler_one():
    from edgeseg.tune import tied
    rows = ranked(("int8", 2, 100.0), ("fp16", 1, 99.0), ("fp32", 2, 97.0), ("fp32", 1, 96.5), ("fp32", 1, 60.0))
    assert len(tied(rows, 30)) == 4
    assert (choose(rows, 30)["precision"], choose(rows, 30)["threads"]) == ("fp32", 1)


def test_a_clear_winner_is_chosen_however_complex():
    rows = ranked(("int8", 2, 150.0), ("fp32", 1, 100.0))
    assert choose(rows, 30)["precision"] == "int8"


def test_a_busy_machine_is_warned_about(monkeypatch):
    from edgeseg.bench import load_warning
    monkeypatch.setattr("os.getloadavg", lambda: (9.0, 9.0, 9.0))
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert "load average is 9.0 on 2 cores" in load_warning()
    monkeypatch.setattr("os.getloadavg", lambda: (0.5, 0.5, 0.5))
    assert load_warning() is None


def test_rows_with_a_wide_spread_are_flagged_and_named():
    from edgeseg.bench import format_row, spread_warning
    row = bench_case(BenchCase("fp32", "cpu", 1, (320, 180)), None, 0.05)
    assert row["noisy"] == any(t["p90"] > 1.5 * t["median"] for t in (row["model_ms"], row["pipeline_ms"]))
    noisy = {**row, "noisy": True}
    assert "(noisy)" in format_row(noisy) and "cpu fp32 1t 320x180" in spread_warning([noisy])
    assert spread_warning([{**row, "noisy": False}]) is None


def test_only_providers_that_run_get_rows_and_the_rest_one_line(monkeypatch):
    from edgeseg.bench import run_matrix
    monkeypatch.setattr("edgeseg.bench.available_providers", lambda: ["CPUExecutionProvider"])
    lines = []
    rows = run_matrix(None, ["fp32"], ["cpu", "cuda", "tensorrt"], [(320, 180)], [1], 0.05, log=lines.append,
                      only_available=True)
    assert [r["provider"] for r in rows] == ["cpu"]
    assert lines[0].startswith("not measured: cuda, tensorrt") and "onnxruntime-gpu" in lines[0]
    assert len(lines) == 2


def test_a_row_is_typed_and_its_json_keeps_the_keys_results_files_hold():
    import json
    from edgeseg.results import BenchRow, Status
    row = bench_case(BenchCase("fp32", "cpu", 1, (320, 180)), None, 0.02)
    assert isinstance(row, BenchRow) and row.status is Status.OK and row.measured
    assert list(row.to_json()) == ["precision", "provider", "threads", "size", "spinning", "session_start_ms",
                                   "canvas", "model_ms", "pipeline_ms", "stages", "file", "actual_provider",
                                   "status", "noisy"]
    assert list(row.model_ms) == ["median", "p90", "p99", "mean", "std", "fps", "runs"]
    loaded = json.loads(json.dumps(row.to_json()))
    assert loaded["status"] == "ok" and BenchRow.of(loaded).to_json() == loaded
    missing = BenchRow("fp16", "tensorrt", 1, "320x180", status="unavailable", note="no tensorrt")
    assert missing.to_json() == {"precision": "fp16", "provider": "tensorrt", "threads": 1, "size": "320x180",
                                 "spinning": False, "status": "unavailable", "note": "no tensorrt"}


def test_bench_skips_a_variant_on_a_provider_it_does_not_suit_and_says_why():
    from edgeseg.bench import run_matrix
    from edgeseg.variants import VARIANTS
    lines = []
    rows = run_matrix(None, ["fp32", "fp16"], ["cpu"], [(320, 180)], [1], 0.02, log=lines.append, unsuited=False)
    assert [r.precision for r in rows] == ["fp32"]
    assert lines[0].startswith("not measured, not suited: fp16 on cpu") and VARIANTS["fp16"].note in lines[0]
    assert "--unsuited" in lines[0]
