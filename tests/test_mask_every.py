"""mask_every: the model runs every N frames, and the frames between still show themselves."""
import numpy as np
import pytest

from edgeseg.pipeline import Pipeline, PipelineOptions
from edgeseg.segmenter import SegmenterOptions


@pytest.fixture
def pipe_every_2():
    with Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu"), mask_every=2)) as p:
        calls = []
        run = p.segmenter.session.run
        p.segmenter.session.run = lambda x: calls.append(1) or run(x)
        p.calls = calls
        yield p


def test_mask_every_2_calls_the_model_on_every_other_frame(pipe_every_2):
    frame = np.full((360, 640, 3), 90, np.uint8)
    for _ in range(6):
        pipe_every_2.process(frame)
    assert len(pipe_every_2.calls) == 3


def test_a_frame_that_reuses_the_mask_blurs_its_own_background_not_the_previous_frame(pipe_every_2):
    dark, bright = np.full((720, 1280, 3), 50, np.uint8), np.full((720, 1280, 3), 200, np.uint8)
    pipe_every_2.process(dark)                          # the model runs: a blank frame, nobody in it
    out = pipe_every_2.process(bright)                  # the mask is reused
    assert len(pipe_every_2.calls) == 1
    assert abs(float(out.mean()) - 200.0) < 1.0
