"""Latency governor: steps the pipeline's settings down and up to hold the p90 frame time under a budget.

What it gives up, first to last (STEPS; a step that would change nothing for the configured
settings, such as a smaller canvas for a model with a fixed input, is left out):
  0. no zoom       video zoom off (PipelineOptions.zoom_video): one model call per frame
  1. canvas 0.8    the model input at 0.8 of its sides (176×320 -> 144×256 for the bundled model)
  2. no refine     the guided-filter edge refinement off
  3. canvas 0.64   the model input at 0.64 of its sides (-> 112×208)
  4. canvas 0.5    the model input at half its sides (-> 96×160)
  5. mask every 2  run the model every 2nd frame, reuse the mask in between
  6. mask every 3  every 3rd frame

Down: once at least `min_frames` frames have been timed at the current level, a p90 over the
last `window` frames above the budget takes one step down. Up: after `up_after` frames at a level,
a p90 under `up_ratio` × budget takes one step back up. A step up that has to be taken back
within `window` frames doubles the wait before the next try (up to `max_backoff`×), so a budget
the next level cannot hold does not make it oscillate. The frames right after a change (`settle`)
are not counted. A budget that level 0 holds changes nothing.
"""
from __future__ import annotations

import dataclasses
import logging
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import ConfigError

log = logging.getLogger("edgeseg")


@dataclass(frozen=True)
class Settings:
    """What the governor controls."""
    canvas: tuple[int, int] | None   # model input (H, W); None: fixed by the model, not changed
    refine: bool
    mask_every: int
    zoom: bool = False               # video zoom (PipelineOptions.zoom_video)


def scaled_canvas(hw: tuple[int, int], scale: float, multiple: int = 16) -> tuple[int, int]:
    """`hw` with both sides scaled, rounded to multiples of `multiple` (at least one multiple)."""
    return tuple(max(multiple, int(round(v * scale / multiple)) * multiple) for v in hw)  # type: ignore[return-value]


def _canvas(scale: float) -> Callable[[Settings, Settings, int], Settings]:
    def step(s: Settings, start: Settings, multiple: int) -> Settings:
        if s.canvas is None:
            return s
        hw = scaled_canvas(start.canvas, scale, multiple)
        return dataclasses.replace(s, canvas=hw) if hw[0] * hw[1] < s.canvas[0] * s.canvas[1] else s
    return step


def _mask_every(n: int) -> Callable[[Settings, Settings, int], Settings]:
    return lambda s, start, multiple: dataclasses.replace(s, mask_every=max(s.mask_every, n))


# (name, step): each step takes the previous level's settings, the configured ones and the model's
# size multiple, and gives the next level's settings. First listed: first given up.
STEPS: tuple[tuple[str, Callable[[Settings, Settings, int], Settings]], ...] = (
    ("no zoom", lambda s, start, multiple: dataclasses.replace(s, zoom=False)),
    ("canvas 0.8", _canvas(0.8)),
    ("no refine", lambda s, start, multiple: dataclasses.replace(s, refine=False)),
    ("canvas 0.64", _canvas(0.64)),
    ("canvas 0.5", _canvas(0.5)),
    ("mask every 2", _mask_every(2)),
    ("mask every 3", _mask_every(3)),
)


def ladder(start: Settings, multiple: int = 16) -> list[tuple[str, Settings]]:
    """The levels, from the configured settings (level 0) down, skipping steps that change nothing."""
    levels = [("as configured", start)]
    for name, step in STEPS:
        nxt = step(levels[-1][1], start, multiple)
        if nxt != levels[-1][1]:
            levels.append((name, nxt))
    return levels


def describe(s: Settings) -> dict:
    return {"canvas": f"{s.canvas[0]}x{s.canvas[1]}" if s.canvas else "fixed", "refine": s.refine,
            "mask_every": s.mask_every}


class Governor:
    """Decides the level from frame times. Pure of I/O: `observe` returns a change, the caller applies it.

    Raises (constructor):
        ConfigError: a budget that is not a positive number of milliseconds.
    """

    def __init__(self, budget_ms: float, levels: list[tuple[str, Settings]], window: int = 30,
                 min_frames: int = 10, settle: int = 2, up_after: int = 90, up_ratio: float = 0.7,
                 max_backoff: int = 16):
        if not budget_ms or budget_ms <= 0:
            raise ConfigError(f"budget_ms must be a positive number of milliseconds, got {budget_ms}")
        self.budget, self.levels = float(budget_ms), levels
        self.window, self.min_frames, self.settle = window, min_frames, settle
        self.up_after, self.up_ratio, self.max_backoff = up_after, up_ratio, max_backoff
        self.level = 0
        self.frames = 0
        self.changes: list[dict] = []
        self._times: deque = deque(maxlen=window)
        self._skip = settle
        self._here = 0              # frames timed at this level
        self._backoff = 1
        self._probe = False         # the last change was a step up not yet confirmed

    @property
    def settings(self) -> Settings:
        return self.levels[self.level][1]

    def observe(self, frame_ms: float) -> dict | None:
        """Count one frame's time; returns the change record if the level changes."""
        self.frames += 1
        if self._skip:
            self._skip -= 1
            return None
        self._times.append(frame_ms)
        self._here += 1
        if self._probe and self._here > self.window:
            self._probe, self._backoff = False, max(1, self._backoff // 2)
        if len(self._times) < self.min_frames:
            return None
        p90 = float(np.percentile(np.fromiter(self._times, float), 90))
        if p90 > self.budget and self.level < len(self.levels) - 1:
            if self._probe:         # the level above could not hold the budget: wait longer next time
                self._backoff = min(self.max_backoff, self._backoff * 2)
            return self._change(self.level + 1, p90)
        if (self.level > 0 and self._here >= self.up_after * self._backoff
                and p90 < self.up_ratio * self.budget):
            change = self._change(self.level - 1, p90)
            self._probe = True
            return change
        return None

    def _change(self, level: int, p90: float) -> dict:
        old = self.level
        self.level, self._here, self._skip, self._probe = level, 0, self.settle, False
        self._times.clear()
        name = self.levels[level][0] if level > old else self.levels[old][0]
        change = {"frame": self.frames, "direction": "down" if level > old else "up", "step": name,
                  "level": level, "p90_ms": round(p90, 2), "budget_ms": self.budget,
                  "settings": describe(self.levels[level][1])}
        self.changes.append(change)
        log.info("governor: p90 %.1f ms %s budget %.1f ms -> %s %s (level %d: %s)", p90,
                 ">" if level > old else "<", self.budget, "gave up" if level > old else "took back", name,
                 level, ", ".join(f"{k} {v}" for k, v in change["settings"].items()))
        return change

    def report(self) -> dict:
        return {"budget_ms": self.budget, "level": self.level, "levels": [n for n, _ in self.levels],
                "changes": self.changes}
