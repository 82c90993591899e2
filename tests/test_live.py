"""The live loop and `process`: sources, effects, vanishing streams, interrupts."""
import json

import cv2
import numpy as np
import pytest

from edgeseg import Pipeline, PipelineOptions, SegmenterOptions
from edgeseg.cli import main
from edgeseg.sources import FileSource, open_source
from edgeseg.video import run_process
from tests.conftest import video_info
from tests.mjpeg_server import MJPEGServer


def test_headless_live_reads_an_http_mjpeg_stream(tmp_path):
    stats = tmp_path / "stats.json"
    with MJPEGServer(frames=200) as url:
        code = main(["live", "--source", url, "--headless", "--max-frames", "15", "--stats-json", str(stats)])
    assert code == 0
    assert json.loads(stats.read_text())["frames"] == 15


def test_a_stream_that_stops_mid_run_exits_cleanly_with_a_playable_file(tmp_path):
    out = tmp_path / "out.mp4"
    with MJPEGServer(frames=20, fps=10, max_clients=1) as url:
        code = main(["live", "--source", url, "--headless", "--output", str(out), "--retries", "1"])
    assert code == 1                                     # the source was lost, reported as such
    frames, _, size = video_info(out)
    assert frames >= 5 and size == (320, 240)            # live drops stale frames: a loaded CI machine gets fewer
    assert not (tmp_path / "out.partial.mp4").exists()


@pytest.mark.parametrize("effect", ["blur", "replace", "mask", "none"])
def test_each_effect_processes_a_short_clip(short_clip, tmp_path, effect):
    out = tmp_path / f"{effect}.mp4"
    args = ["process", str(short_clip), "-o", str(out), "-q", "--effect", effect]
    if effect == "replace":
        bg = tmp_path / "bg.png"
        cv2.imwrite(str(bg), np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (48, 1, 3)))
        args += ["--background", str(bg)]
    assert main(args) == 0
    n, _, size = video_info(out)
    assert (n, size) == video_info(short_clip)[::2]


def test_effect_none_passes_frames_through_unchanged():
    frame = np.random.default_rng(1).integers(0, 256, (72, 128, 3), np.uint8)
    with Pipeline(PipelineOptions(effect="none", segmenter=SegmenterOptions(provider="cpu"))) as pipe:
        assert np.array_equal(pipe.process(frame), frame)


def test_mask_effect_into_a_folder_writes_one_png_per_frame(short_clip, tmp_path):
    folder = tmp_path / "masks"
    assert main(["process", str(short_clip), "-o", str(folder), "-q", "--effect", "mask"]) == 0
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == video_info(short_clip)[0]
    m = cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED)
    assert m.ndim == 2 and m.dtype == np.uint8


class InterruptAfter(FileSource):
    """A file source whose user presses Ctrl-C after n frames."""

    def __init__(self, path, n):
        super().__init__(path)
        self.n = n

    def read(self):
        self.n -= 1
        if self.n < 0:
            raise KeyboardInterrupt
        return super().read()


def test_ctrl_c_during_process_keeps_the_output_and_the_frames_done_under_a_partial_name(short_clip, tmp_path):
    from edgeseg.outputs import Interrupted
    out = tmp_path / "o.mp4"
    out.write_bytes(b"previous result")
    with Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu"))) as pipe:
        with pytest.raises(Interrupted, match=r"after 7 of 24 frames.*keeps what it held.*o\.partial\.mp4"):
            run_process(pipe, InterruptAfter(short_clip, 7), out, progress=False)
    assert out.read_bytes() == b"previous result"
    assert video_info(tmp_path / "o.partial.mp4")[0] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.mp4", "o.partial.mp4"]     # no temporary file left


def test_a_stream_that_stalls_with_its_socket_open_is_retried_like_one_that_closed(caplog):
    from edgeseg.sources import LiveSource
    with MJPEGServer(frames=40, stall_after=5, stalls=1) as url:
        live = LiveSource(url, retries=2, read_timeout=0.5)    # a read waiting 0.5 s counts as a stall
        frames = 0
        try:
            while frames < 20:
                live.read()
                frames += 1
        finally:
            live.close()
    assert frames == 20                                # 5 before the stall, the rest after a reconnect
    assert "retry 1/2" in caplog.text


def test_replace_needs_a_background_and_says_so():
    from edgeseg.errors import ConfigError
    with pytest.raises(ConfigError, match="--background"):
        Pipeline(PipelineOptions(effect="replace"))


def test_an_image_source_repeats_for_live_and_mirror_flips_it(tmp_path):
    img = np.zeros((20, 30, 3), np.uint8)
    img[:, :5] = 255
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), img)
    src = open_source(str(path), mirror=True, repeat_images=True)
    a, b = src.read(), src.read()
    assert np.array_equal(a, b) and a[:, -5:].min() == 255 and a[:, :5].max() == 0


def test_the_demo_source_moves_like_a_camera():
    src = open_source("demo", demo_frames=3)
    frames = [src.read() for _ in range(4)]
    assert frames[3] is None and frames[0].shape == (360, 640, 3)
    assert np.abs(frames[0].astype(int) - frames[2].astype(int)).mean() > 1.0
