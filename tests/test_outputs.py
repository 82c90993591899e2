"""Output files are all-or-nothing: faults leave the final name as it was; a finished run replaces it."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from edgeseg.cli import main
from edgeseg.outputs import CheckedFile, write_text_atomic
from edgeseg.errors import OutputError
from tests.conftest import REPO, shared_or_skip, video_info

OLD = b"a good result from an earlier run"


def leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.fixture
def old_output(tmp_path):
    out = tmp_path / "o.mp4"
    out.write_bytes(OLD)
    return out


def test_a_disk_that_fills_mid_run_keeps_the_old_output_and_says_so(short_clip, old_output, monkeypatch, capsys):
    real = CheckedFile.write

    def fill_up(self, data):
        if self.bytes + len(data) > 20_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)
    monkeypatch.setattr(CheckedFile, "write", fill_up)
    assert main(["process", str(short_clip), "-o", str(old_output), "-q"]) == 2
    err = capsys.readouterr().err
    assert "the disk is full" in err and "keeps what it held" in err and "Traceback" not in err
    assert old_output.read_bytes() == OLD and leftovers(old_output.parent, {"o.mp4"}) == []


def test_an_encoder_error_mid_run_keeps_the_old_output(short_clip, old_output, monkeypatch, capsys):
    from edgeseg.sinks import VideoFileSink
    real = VideoFileSink._frame

    def broken(self, frame):
        if self.frames == 5:
            raise ValueError("encoder rejected the frame")
        return real(self, frame)
    monkeypatch.setattr(VideoFileSink, "_frame", broken)
    assert main(["process", str(short_clip), "-o", str(old_output), "-q"]) == 2
    assert "after 5 frames" in capsys.readouterr().err
    assert old_output.read_bytes() == OLD and leftovers(old_output.parent, {"o.mp4"}) == []


def test_an_exception_in_the_pipeline_mid_run_keeps_the_old_output(short_clip, old_output, monkeypatch, capsys):
    from edgeseg.pipeline import Pipeline
    real, calls = Pipeline.process, []

    def flaky(self, frame, still=False):
        calls.append(1)
        if len(calls) == 9:
            raise RuntimeError("boom")
        return real(self, frame, still)
    monkeypatch.setattr(Pipeline, "process", flaky)
    assert main(["process", str(short_clip), "-o", str(old_output), "-q"]) == 2
    assert "stopped by an error after 8 frames (RuntimeError: boom)" in capsys.readouterr().err
    assert old_output.read_bytes() == OLD and leftovers(old_output.parent, {"o.mp4"}) == []


def test_an_image_write_that_fails_keeps_the_old_image(tmp_path, monkeypatch, capsys):
    img = tmp_path / "in.png"
    cv2.imwrite(str(img), np.full((40, 30, 3), 90, np.uint8))
    out = tmp_path / "o.png"
    out.write_bytes(OLD)
    monkeypatch.setattr(CheckedFile, "write", lambda self, d: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    assert main(["process", str(img), "-o", str(out), "-q"]) == 2
    assert "disk is full" in capsys.readouterr().err and out.read_bytes() == OLD
    assert leftovers(tmp_path, {"in.png", "o.png"}) == []


def test_sigterm_mid_run_keeps_the_old_output_and_the_frames_done_as_partial(tmp_path):
    src = shared_or_skip("videos", "desk.mp4")                  # 760 frames: still running when the signal comes
    out = tmp_path / "o.mp4"
    out.write_bytes(OLD)
    proc = subprocess.Popen([sys.executable, "-m", "edgeseg", "process", str(src), "-o", str(out), "-q"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(".edgeseg-" in p.name and p.stat().st_size > 20_000 for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "interrupted (SIGTERM)" in err and "o.partial.mp4" in err
    assert out.read_bytes() == OLD
    assert leftovers(tmp_path, {"o.mp4"}) == ["o.partial.mp4"] and video_info(tmp_path / "o.partial.mp4")[0] > 0


def test_temporary_files_of_a_killed_run_are_removed_by_the_next_run(short_clip, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".o.mp4.edgeseg-{dead.pid}-abc123.tmp"
    stale.write_bytes(b"half a video")
    alive = tmp_path / f".o.mp4.edgeseg-{os.getppid()}-def456.tmp"     # a run still going: left alone
    alive.write_bytes(b"in progress")
    assert main(["process", str(short_clip), "-o", str(tmp_path / "o.mp4"), "-q"]) == 0
    assert not stale.exists() and alive.exists()


def test_an_input_named_like_the_partial_output_is_never_overwritten(short_clip, tmp_path):
    from edgeseg import Pipeline, PipelineOptions, SegmenterOptions
    from edgeseg.outputs import Interrupted
    from edgeseg.video import run_process
    from tests.test_live import InterruptAfter
    src = tmp_path / "o.partial.mp4"
    src.write_bytes(short_clip.read_bytes())
    with Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu"))) as pipe:
        with pytest.raises(Interrupted, match="o.partial-2.mp4"):
            run_process(pipe, InterruptAfter(src, 4), tmp_path / "o.mp4", progress=False)
    assert src.read_bytes() == short_clip.read_bytes() and video_info(tmp_path / "o.partial-2.mp4")[0] == 4


def test_a_finished_run_keeps_the_mode_of_the_file_it_replaces(short_clip, old_output):
    os.chmod(old_output, 0o640)
    assert main(["process", str(short_clip), "-o", str(old_output), "-q", "--effect", "none"]) == 0
    assert old_output.stat().st_mode & 0o777 == 0o640 and old_output.read_bytes() != OLD


@pytest.mark.parametrize("where", ["stats", "output"])
def test_output_paths_in_a_missing_folder_fail_before_any_work(short_clip, tmp_path, capsys, where):
    missing = tmp_path / "nope"
    out, stats = (tmp_path / "o.mp4", missing / "s.json") if where == "stats" else (missing / "o.mp4", None)
    args = ["process", str(short_clip), "-o", str(out), "-q"] + (["--stats-json", str(stats)] if stats else [])
    t = time.perf_counter()
    assert main(args) == 2
    assert "does not exist" in capsys.readouterr().err and time.perf_counter() - t < 5
    assert leftovers(tmp_path, set()) == []


def test_eval_output_paths_are_checked_before_the_work(tmp_path, capsys):
    for flag in ("--json", "--per-image"):
        assert main(["eval", "--images", str(tmp_path), "--masks", str(tmp_path),
                     flag, str(tmp_path / "nope" / "x")]) == 2
        assert "does not exist" in capsys.readouterr().err


def test_a_text_write_that_fails_is_an_output_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "stats.json"
    path.write_text("old")
    monkeypatch.setattr(CheckedFile, "write", lambda self, d: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(OutputError, match="disk is full"):
        write_text_atomic(path, "{}")
    assert path.read_text() == "old" and leftovers(tmp_path, {"stats.json"}) == []


def test_a_png_sequence_replaces_an_old_sequence_but_never_a_folder_with_other_files(short_clip, tmp_path, capsys):
    seq = tmp_path / "masks"
    seq.mkdir()
    (seq / "999999.png").write_bytes(b"old frame")
    assert main(["process", str(short_clip), "-o", str(seq), "-q", "--effect", "mask"]) == 0
    assert len(list(seq.glob("*.png"))) == 24 and not (seq / "999999.png").exists()
    (seq / "notes.txt").write_text("mine")
    assert main(["process", str(short_clip), "-o", str(seq), "-q", "--effect", "mask"]) == 2
    assert "holds other files (notes.txt)" in capsys.readouterr().err and (seq / "notes.txt").exists()
