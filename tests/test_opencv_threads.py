"""OpenCV's thread pool: a Pipeline runs OpenCV on one thread by default (less CPU per frame), or leaves it be."""
import cv2
import pytest

from edgeseg.errors import ConfigError
from edgeseg.pipeline import Pipeline, PipelineOptions
from edgeseg.segmenter import SegmenterOptions


@pytest.fixture
def restore_opencv_threads():
    before = cv2.getNumThreads()
    yield
    cv2.setNumThreads(before)


def test_a_pipeline_runs_opencv_on_one_thread_by_default(restore_opencv_threads):
    cv2.setNumThreads(2)
    with Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu"))):
        assert cv2.getNumThreads() == 1


def test_opencv_threads_none_leaves_the_apps_setting_alone(restore_opencv_threads):
    cv2.setNumThreads(2)
    with Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu"), opencv_threads=None)):
        assert cv2.getNumThreads() == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_a_thread_count_that_is_not_a_whole_number_from_1_is_refused(bad):
    with pytest.raises(ConfigError, match="opencv_threads"):
        PipelineOptions(opencv_threads=bad).validate()


def test_process_keeps_opencv_s_pool_for_throughput(restore_opencv_threads, short_clip, tmp_path):
    from edgeseg.cli import main
    cv2.setNumThreads(2)
    assert main(["process", str(short_clip), "-o", str(tmp_path / "out.mp4"), "-q"]) == 0
    assert cv2.getNumThreads() == 2
