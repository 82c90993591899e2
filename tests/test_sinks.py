"""Outputs share the Sink protocols, and the loops feed every output, the mask included, through them."""
import cv2
import numpy as np
import pytest

from edgeseg import Pipeline, PipelineOptions, SegmenterOptions
from edgeseg.sinks import FileSink, FrameFolderSink, ImageSink, Sink, VideoFileSink, VirtualCamSink, WindowSink
from edgeseg.sources import DemoSource, open_source
from edgeseg.video import run_process


def test_every_output_is_a_sink_and_every_file_output_an_all_or_nothing_file_sink(tmp_path):
    files = [VideoFileSink(tmp_path / "v.mp4", 30, (64, 48)), FrameFolderSink(tmp_path / "seq"),
             ImageSink(tmp_path / "i.png")]
    try:
        for sink in files:
            assert isinstance(sink, Sink) and isinstance(sink, FileSink), type(sink).__name__
    finally:
        for sink in files:
            sink.abort()
    cam = VirtualCamSink.__new__(VirtualCamSink)          # without a virtual camera device
    assert isinstance(cam, Sink) and not isinstance(cam, FileSink)
    assert not isinstance(WindowSink.__new__(WindowSink), Sink)   # it returns keys: the loop's input, not an output


def pipeline(effect: str) -> Pipeline:
    return Pipeline(PipelineOptions(effect=effect, segmenter=SegmenterOptions(provider="cpu")))


@pytest.mark.parametrize("output, sink_class, ndim", [("masks", FrameFolderSink, 2), ("mask.mp4", VideoFileSink, 3)])
def test_the_process_loop_writes_the_mask_through_the_sinks_write(tmp_path, monkeypatch, output, sink_class, ndim):
    written = []
    real = sink_class.write

    def spy(self, frame, pts=None):
        written.append(frame.ndim)
        return real(self, frame, pts)
    monkeypatch.setattr(sink_class, "write", spy)
    with pipeline("mask") as pipe:
        res = run_process(pipe, DemoSource((96, 64), frames=4), tmp_path / output, progress=False)
    assert res.frames == 4 and written == [ndim] * 4      # a 1-channel mask for PNGs, the BGR view for a video
    assert res.note == ("PNG sequence" if sink_class is FrameFolderSink else "h264, no audio")


def test_a_mask_of_an_image_goes_through_the_image_sink(tmp_path, monkeypatch):
    image = tmp_path / "in.jpg"
    cv2.imwrite(str(image), np.full((48, 64, 3), 128, np.uint8))
    shapes = []
    real = ImageSink.write
    monkeypatch.setattr(ImageSink, "write", lambda self, frame, pts=None: (shapes.append(frame.shape),
                                                                          real(self, frame, pts)))
    with pipeline("mask") as pipe:
        run_process(pipe, open_source(str(image)), tmp_path / "mask.png", progress=False)
    assert shapes == [(48, 64)] and cv2.imread(str(tmp_path / "mask.png"), cv2.IMREAD_UNCHANGED).ndim == 2
