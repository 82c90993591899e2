"""Threads: one Segmenter per thread is independent; a shared Segmenter is serialised; a shared
Pipeline (stateful) refuses concurrent use clearly."""
import threading

import numpy as np

from edgeseg import EdgeSegError, Pipeline, PipelineOptions, Segmenter, SegmenterOptions


def clip(seed, n=6):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (180, 320, 3), np.uint8) for _ in range(n)]


def run_all(seg, frames):
    return [seg.segment(f).mask.copy() for f in frames]


def test_two_segmenters_in_two_threads_match_sequential_results():
    a, b = clip(1), clip(2)
    opts = SegmenterOptions(provider="cpu", threads=1)
    with Segmenter(opts) as s1, Segmenter(opts) as s2:
        expect_a, expect_b = run_all(s1, a), run_all(s2, b)
        got = {}
        t1 = threading.Thread(target=lambda: got.__setitem__("a", run_all(s1, a)))
        t2 = threading.Thread(target=lambda: got.__setitem__("b", run_all(s2, b)))
        t1.start(), t2.start(), t1.join(), t2.join()
    for e, g in zip(expect_a + expect_b, got["a"] + got["b"]):
        np.testing.assert_array_equal(e, g)


def test_one_segmenter_shared_by_threads_gives_the_same_results():
    frames = clip(3, 8)
    with Segmenter(SegmenterOptions(provider="cpu", threads=1)) as seg:
        expect = run_all(seg, frames)
        results = [None] * len(frames)

        def work(i):
            results[i] = seg.segment(frames[i]).mask.copy()
        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(frames))]
        [t.start() for t in threads]
        [t.join() for t in threads]
    for e, g in zip(expect, results):
        np.testing.assert_array_equal(e, g)


def test_a_pipeline_used_from_two_threads_at_once_raises_a_clear_error():
    pipe = Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu", threads=1)))
    errors = []
    pipe._busy.acquire()                      # another thread is mid-frame
    try:
        t = threading.Thread(target=lambda: errors.append(_try(pipe)))
        t.start()
        t.join()
    finally:
        pipe._busy.release()
    assert isinstance(errors[0], EdgeSegError) and "one Pipeline per stream and thread" in str(errors[0]) and "share one Segmenter" in str(errors[0])


def _try(pipe):
    try:
        pipe.process(np.zeros((90, 160, 3), np.uint8))
    except EdgeSegError as exc:
        return exc
    return None
