"""The command line: --version, info's default, options checked like the config file, quiet native logs."""
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from edgeseg import __version__
from edgeseg.cli import main


def test_version_prints_edgeseg_and_onnxruntime_versions(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and out.startswith(f"edgeseg {__version__} (onnxruntime")


def test_info_without_a_path_describes_the_bundled_default(capsys):
    from edgeseg.models import DEFAULT_MODEL
    from edgeseg.session import Session
    assert main(["info"]) == 0
    info = json.loads(capsys.readouterr().out)
    sess = Session(DEFAULT_MODEL, "cpu")
    assert info["file"] == str(DEFAULT_MODEL) and info["meta"]["input_hw"] == list(sess.meta.input_hw)
    assert info["input"] == {"name": sess.input.name, "shape": list(sess.input.shape), "type": sess.input.type}
    assert info["output"]["name"] == sess.output.name


def test_info_on_a_missing_file_does_not_suggest_a_flag_info_lacks(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.onnx")]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "--model" not in err and "edgeseg info" in err


@pytest.mark.parametrize("flag,value", [("--blur", "-5"), ("--feather", "-1"), ("--mask-every", "0")])
def test_effect_flags_out_of_range_name_the_flag(flag, value, capsys):
    assert main(["live", "--source", "demo", "--headless", "--max-frames", "1", flag, value]) == 2
    err = capsys.readouterr().err
    assert f"{flag} {value}" in err and "blur_strength" not in err and "mask_every" not in err


@pytest.mark.parametrize("args,words", [
    (["--epochs", "-1"], "--epochs -1: epochs and batch_size must be ≥ 1"),
    (["--epochs", "0"], "--epochs 0:"),
    (["--batch-size", "0"], "--batch-size 0:"),
    (["--batch-size", "64", "--samples-per-epoch", "32"], "samples_per_epoch ≥ batch_size"),
    (["--fake-quant"], "--fake-quant: fake_quant folds BatchNorm's running statistics"),
])
def test_train_options_pass_the_config_file_checks(tmp_path, capsys, args, words):
    pytest.importorskip("torch")
    assert main(["train", "--out", str(tmp_path / "run")] + args) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("profile,words", [
    ('{"provider": "cpu", "precision": "fp32", "threads": "2"}', "threads '2'"),
    ('{"provider": "cpu", "precision": "fp32", "threads": -1}', "threads -1"),
    ('{"provider": "cpu", "precision": "fp32", "threads": 1000000000}', "threads 1000000000"),
    ('{"provider": "cpu", "precision": "fp32", "threads": true}', "threads True"),
    ('{"provider": "gpu", "precision": "fp32", "threads": 1}', "provider 'gpu'"),
    ('[1, 2]', "not a JSON object"),
])
def test_a_bad_tuning_profile_is_refused_naming_the_file_and_the_fix(tmp_path, monkeypatch, capsys, profile, words):
    path = tmp_path / "profile.json"
    path.write_text(profile)
    monkeypatch.setenv("EDGESEG_PROFILE", str(path))
    assert main(["live", "--source", "demo", "--headless", "--max-frames", "1"]) == 2
    err = capsys.readouterr().err
    assert words in err and str(path) in err and "edgeseg tune" in err and "--no-profile" in err
    assert main(["live", "--source", "demo", "--headless", "--max-frames", "1", "--no-profile"]) == 0


def test_bench_lists_only_providers_that_run_with_one_model_line(capsys):
    from edgeseg.session import available_providers
    assert main(["bench", "--precision", "fp32", "--sizes", "320x180", "--threads", "1", "--seconds", "0.05"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("model: ") for line in out) == 1 and sum(line.startswith("device: ") for line in out) == 1
    rows = [line for line in out if "pipeline" in line]
    missing = [p for p, name in (("cuda", "CUDAExecutionProvider"), ("tensorrt", "TensorrtExecutionProvider"))
               if name not in available_providers()]
    assert len(rows) == 3 - len(missing)                  # one row per provider that runs, none for the rest
    said = [line for line in out if line.startswith("not measured: ")]
    assert len(said) == (1 if missing else 0) and all(p in "".join(said) for p in missing)
    assert "unavailable" not in "\n".join(out) and not any(" on cpu" in line for line in out)


def test_bench_refuses_bad_threads_and_providers_that_cannot_run(monkeypatch, capsys):
    assert main(["bench", "--threads", "one"]) == 2
    assert "--threads 'one'" in capsys.readouterr().err
    monkeypatch.setattr("edgeseg.session.available_providers", lambda: ["CPUExecutionProvider"])
    assert main(["bench", "--provider", "cuda"]) == 2
    assert "none of --provider cuda can run here" in capsys.readouterr().err


def test_tune_says_when_its_top_choices_tie_and_saves_the_simpler(tmp_path, monkeypatch, capsys):
    def row(precision, threads, fps):
        return {"status": "ok", "provider": "cpu", "precision": precision, "threads": threads, "size": "1280x720",
                "pipeline_ms": {"fps": fps, "median": 1000 / fps}}
    rows = [row("int8", 2, 100.0), row("fp32", 1, 98.0), row("fp32", 2, 60.0)]
    monkeypatch.setattr("edgeseg.cli._bench_rows", lambda args: ({"cpu": "test"}, rows))
    out = tmp_path / "p.json"
    assert main(["tune", "--profile", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 settings meeting 30 fps tie within 5%" in text and "chosen setting" in text
    assert json.loads(out.read_text())["precision"] == "fp32" and json.loads(out.read_text())["threads"] == 1


def _quiet_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeseg", *args], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])


def test_no_camera_gives_one_error_line_without_opencv_log_lines():
    if Path("/dev/video7").exists():
        pytest.skip("this machine has a /dev/video7")
    res = _quiet_run("live", "--source", "7", "--headless", "--max-frames", "1", "--retries", "0")
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert "obsensor" not in res.stderr and "WARN" not in res.stderr


def test_an_unreachable_stream_gives_one_error_line_without_ffmpeg_log_lines():
    with socket.socket() as s:             # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = _quiet_run("live", "--source", f"http://127.0.0.1:{port}/video.mjpg", "--headless", "--max-frames", "1",
                     "--retries", "0")
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert "[tcp @" not in res.stderr
