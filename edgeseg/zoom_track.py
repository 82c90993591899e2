"""Zoom on video: boxes that hold still while the people stay inside them, each crop smoothed over time.

On a photo the zoom box follows the first mask exactly (edgeseg.zoom). On video that box would move by
a pixel or two every frame, so the crop, its canvas and its mask would change with it, and the mask
inside the box would flicker (measured on outdoor.mp4: 3.3× the flicker of one call per frame). A
`ZoomTrack` therefore keeps each box while the new one stays inside it and is not much smaller, and gives
each kept box its own temporal smoother (at the crop's model resolution, as the whole frame has one).
A box that no longer fits is replaced by the new one grown by SLACK, and its smoother starts afresh.

Pure bookkeeping on boxes; the Segmenter runs the calls.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .zoom import Box, grown_box

SLACK = 0.1        # a new track's box grows by this fraction of its size on each side: room to move
SHRINK = 0.5       # a kept box is replaced once the people's box covers less than this of its area


def _area(b: Box) -> int:
    return max(0, b.x1 - b.x0) * max(0, b.y1 - b.y0)


def _contains(outer: Box, inner: Box) -> bool:
    return outer.x0 <= inner.x0 and outer.y0 <= inner.y0 and outer.x1 >= inner.x1 and outer.y1 >= inner.y1


def grown(box: Box, slack: float, hw: tuple[int, int]) -> Box:
    """`box` grown by `slack` of its size on each side, clipped to an image of size hw (H, W)."""
    h, w = hw
    return grown_box(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0, slack, w, h) or box


def holds(kept: Box, new: Box, shrink: float = SHRINK) -> bool:
    """Whether `kept` is still the box for `new`: it contains it, and `new` covers at least `shrink` of it."""
    return _contains(kept, new) and _area(new) >= shrink * _area(kept)


@dataclass
class _Track:
    box: Box
    smooth: Callable


class ZoomTrack:
    """The zoom boxes of one video stream and a temporal smoother for each (see the module doc).

    make_smoother: returns a fresh smoother (a callable on a probability map, e.g. a TemporalSmoother),
    or None for no smoothing of the crops.
    """

    def __init__(self, make_smoother: Callable[[], Callable | None]):
        self._make = make_smoother
        self._tracks: list[_Track] = []
        self._hw: tuple[int, int] | None = None

    @property
    def boxes(self) -> list[Box]:
        return [t.box for t in self._tracks]

    def reset(self) -> None:
        self._tracks, self._hw = [], None

    def update(self, new: list[Box], hw: tuple[int, int]) -> list[tuple[Box, Callable | None]]:
        """This frame's boxes (frame pixels, largest group first) -> the boxes to segment, each with its
        smoother. A track whose people left (no new box inside it) is dropped."""
        if hw != self._hw:
            self._tracks, self._hw = [], hw
        free, kept = list(self._tracks), []
        for b in new:
            match = next((t for t in free if holds(t.box, b)), None)
            if match is None:
                match = _Track(grown(b, SLACK, hw), self._make())
            else:
                free.remove(match)
            kept.append(match)
        self._tracks = kept
        return [(t.box, t.smooth) for t in kept]
