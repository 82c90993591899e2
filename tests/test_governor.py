"""Latency governor: steps settings down under load and back up after, without oscillating."""
import json

import numpy as np
import pytest

from edgeseg import Pipeline, PipelineOptions, SegmenterOptions
from edgeseg.cli import main
from edgeseg.errors import ConfigError
from edgeseg.governor import Governor, Settings, ladder

START = Settings((176, 320), True, 1)


def test_the_ladder_gives_up_canvas_then_refinement_then_mask_every_in_a_fixed_order():
    levels = ladder(START)
    assert [name for name, _ in levels] == ["as configured", "canvas 0.8", "no refine", "canvas 0.64",
                                            "canvas 0.5", "mask every 2", "mask every 3"]
    assert [s.canvas for _, s in levels[1:5]] == [(144, 256), (144, 256), (112, 208), (96, 160)]
    assert levels[-1][1] == Settings((96, 160), False, 3)


def test_video_zoom_is_the_first_thing_given_up():
    levels = ladder(Settings((176, 320), True, 1, zoom=True))
    assert [name for name, _ in levels[:3]] == ["as configured", "no zoom", "canvas 0.8"]
    assert levels[1][1] == Settings((176, 320), True, 1, zoom=False)


def test_a_pipeline_at_the_no_zoom_level_stops_zooming_video(redness_model):
    opts = PipelineOptions(segmenter=SegmenterOptions(model_path=redness_model, provider="cpu"), zoom_video=True,
                           budget_ms=5.0)
    with Pipeline(opts) as pipe:
        name, settings = pipe.governor_levels()[1]
        assert name == "no zoom"
        pipe._apply(settings)
        assert pipe.options.zoom_video is False


def test_steps_that_change_nothing_are_left_out():
    fixed = ladder(Settings(None, False, 2))           # a fixed-input model, refinement already off
    assert [name for name, _ in fixed] == ["as configured", "mask every 3"]


def test_a_budget_it_can_hold_changes_nothing():
    gov = Governor(8.0, ladder(START))
    rng = np.random.default_rng(0)
    for ms in rng.uniform(4.0, 6.5, 2000):
        assert gov.observe(ms) is None
    assert gov.level == 0 and gov.changes == []


def simulate(gov: Governor, frames: int, cost) -> list[int]:
    """Feed `frames` frame times cost(level, i) and return the level after each."""
    out = []
    for i in range(frames):
        gov.observe(cost(gov.level, i))
        out.append(gov.level)
    return out


def test_under_load_it_steps_down_within_a_few_frames_and_back_up_after_the_load_goes():
    gov = Governor(8.0, ladder(START))
    factor = [1.0, 0.8, 0.7, 0.55, 0.45, 0.45, 0.45]          # cost of each level, relative
    loaded = lambda level, i: 14.0 * factor[level]             # noqa: E731  (fits from level 3 on)
    levels = simulate(gov, 200, loaded)
    assert levels.index(1) <= 12                               # first step after a dozen frames
    assert levels[-1] == 3 and set(levels[100:]) == {3}        # holds the first level that fits
    idle = lambda level, i: 5.0 * factor[level]                # noqa: E731
    levels = simulate(gov, 600, idle)
    assert levels[-1] == 0
    assert all(c["direction"] == "up" for c in gov.changes[3:])


def test_a_level_just_over_budget_is_probed_ever_less_often_so_it_does_not_oscillate():
    gov = Governor(8.0, ladder(START))
    cost = lambda level, i: 10.0 if level == 0 else 5.0        # noqa: E731  level 0 never fits
    simulate(gov, 6000, cost)
    ups = [c["frame"] for c in gov.changes if c["direction"] == "up"]
    gaps = np.diff(ups)
    assert 2 <= len(ups) <= 8                                  # without the backoff: one try every ~100 frames
    assert np.all(gaps[1:] >= gaps[:-1]) and gaps[-1] > 4 * gaps[0]   # waits grow after each failed probe


def test_a_budget_that_is_not_positive_is_refused():
    with pytest.raises(ConfigError, match="positive"):
        Governor(0, ladder(START))
    with pytest.raises(ConfigError, match="positive"):
        PipelineOptions(budget_ms=-3).validate()


class SlowRun:
    """Wraps a session's run on a virtual clock: each call advances it `ms_per_kpx` ms per thousand input
    pixels (a slow device), and nothing else advances it, so the frame times are exact on any machine."""

    def __init__(self, run, clock: list):
        self.run, self.clock, self.ms_per_kpx = run, clock, 0.0

    def __call__(self, x):
        self.clock[0] += self.ms_per_kpx * x.shape[2] * x.shape[3] / 1000 / 1000
        return self.run(x)


def test_a_session_made_slow_then_fast_again_makes_the_pipeline_step_down_and_back_up(redness_model, monkeypatch):
    import edgeseg.pipeline
    clock = [0.0]
    monkeypatch.setattr(edgeseg.pipeline.time, "perf_counter", lambda: clock[0])
    seg = SegmenterOptions(model_path=redness_model, provider="cpu")
    frame = np.full((180, 320, 3), 128, np.uint8)
    budget = 20.0
    opts = PipelineOptions(segmenter=seg, effect="mask", budget_ms=budget)
    with Pipeline(opts) as pipe:
        slow = pipe.segmenter.session.run = SlowRun(pipe.segmenter.session.run, clock)
        slow.ms_per_kpx = 2 * budget / (144 * 256 / 1000)        # the 144x256 canvas takes twice the budget
        for _ in range(40):
            pipe.process(frame)
        gov = pipe.governor
        assert gov.changes and gov.changes[0]["direction"] == "down" and gov.changes[0]["frame"] <= 15
        assert pipe.segmenter.meta.input_hw[0] * pipe.segmenter.meta.input_hw[1] < 144 * 256
        assert opts.segmenter.refine                   # the caller's options are not changed
        slow.ms_per_kpx = 0.0
        for _ in range(3000):                          # one step up per up_after (90) frames
            pipe.process(frame)
            if gov.level == 0:
                break
        assert gov.level == 0 and gov.changes[-1]["direction"] == "up", gov.changes
        assert tuple(pipe.segmenter.meta.input_hw) == (144, 256) and pipe.segmenter.options.refine


def test_live_budget_records_its_steps_in_stats_json(redness_model, tmp_path):
    stats = tmp_path / "stats.json"
    assert main(["live", "--source", "demo", "--headless", "--max-frames", "40", "--model", str(redness_model),
                 "--budget-ms", "0.001", "--stats-json", str(stats)]) == 0
    gov = json.loads(stats.read_text())["governor"]
    assert gov["budget_ms"] == 0.001 and gov["level"] >= 1
    assert gov["changes"][0]["direction"] == "down" and gov["changes"][0]["step"] == "canvas 0.8"
