"""Pipeline setters: the blur strength changes beside the effect, checked the same way."""
import pytest

from edgeseg.errors import ConfigError
from edgeseg.pipeline import Pipeline, PipelineOptions
from edgeseg.segmenter import SegmenterOptions
from edgeseg.video import handle_key


@pytest.fixture
def pipe():
    with Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu"))) as p:
        yield p


def test_set_blur_changes_the_strength_from_the_next_frame(pipe):
    pipe.set_blur(20)
    assert pipe.options.blur_strength == 20.0


def test_a_negative_blur_is_refused_and_the_strength_kept(pipe):
    with pytest.raises(ConfigError, match="must be ≥ 0"):
        pipe.set_blur(-1)
    assert pipe.options.blur_strength == PipelineOptions.blur_strength


def test_the_live_keys_step_the_blur_through_set_blur(pipe):
    handle_key(pipe, ord("+"))
    assert pipe.options.blur_strength == pytest.approx(PipelineOptions.blur_strength * 1.25)
    handle_key(pipe, ord("-"))
    assert pipe.options.blur_strength == pytest.approx(PipelineOptions.blur_strength)
