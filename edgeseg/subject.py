"""Subject lock: keep one person of the mask; everyone else becomes background.

Works on the model's probability map at model resolution (about 176×320, so a few tenths of a
millisecond), before refinement: connected components of the mask at 0.5, grown by a few pixels
so that a hand or a strand of hair split off by a thin gap stays with its person and the soft
edge is kept as the model gave it. The kept region's pixels keep their probabilities; every
other pixel goes to 0.

Modes (SUBJECT_MODES):
  all      every person (no change; the default)
  largest  the largest person region in each frame (stateless)
  primary  the main person (large and near the centre), then tracked from frame to frame by
           overlap with the last kept region (and by centroid when it moves fast), so someone
           who comes closer for a moment does not take over; after `lost_frames` frames
           without it, the main person is chosen again (it re-acquires a person who returns).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from .errors import ConfigError, choices_error


@dataclass(frozen=True)
class Regions:
    """Person regions of a mask: component labels and per-label statistics (index 0 = background)."""
    labels: np.ndarray       # uint16 H×W, 0 = background, 1..n-1 = a person region
    pixels: np.ndarray       # int64 (n,): pixels per region (grown by join_px)
    centroids: np.ndarray    # float64 (n, 2): x, y in pixels

    @property
    def count(self) -> int:
        return len(self.pixels) - 1


def join_radius(hw: tuple[int, int]) -> int:
    """Pixels a region is grown by before labelling: 1 % of the long side, at least 1."""
    return max(1, round(0.01 * max(hw)))


def person_regions(prob: np.ndarray, threshold: float = 0.5, join_px: int | None = None) -> Regions:
    """Label the person regions of a float32 probability map.

    Pixels at or above `threshold` are person; the binary mask is grown by `join_px`
    (default: join_radius) before labelling, so fragments closer than about 2·join_px are one region
    and each region covers its soft edge.
    """
    h, w = prob.shape
    join_px = join_radius((h, w)) if join_px is None else join_px
    binary = (prob >= threshold).view(np.uint8)
    if join_px > 0:
        binary = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * join_px + 1, 2 * join_px + 1)))
    # 16-bit labels: OpenCV's statistics pass is 2-4x faster with them than with 32-bit ones (measured)
    _, labels, stats, centroids = cv2.connectedComponentsWithStats(binary, connectivity=8, ltype=cv2.CV_16U)
    return Regions(labels, stats[:, cv2.CC_STAT_AREA].astype(np.int64), centroids)


def keep_regions(prob: np.ndarray, regions: Regions, keep: list[int], out: np.ndarray | None = None) -> np.ndarray:
    """`prob` where the labels are in `keep`, 0 elsewhere (written into `out` if it fits)."""
    if out is None or out.shape != prob.shape or out.dtype != prob.dtype:
        out = np.empty_like(prob)
    out.fill(0)
    for k in keep:
        sel = cv2.compare(regions.labels, k, cv2.CMP_EQ)
        cv2.copyTo(prob, sel, out)
    return out


def largest_region(regions: Regions) -> list[int]:
    """The label of the largest region ([] when there is none)."""
    if regions.count == 0:
        return []
    return [int(np.argmax(regions.pixels[1:])) + 1]


def primary_scores(regions: Regions, hw: tuple[int, int]) -> np.ndarray:
    """How much each region looks like the main person: its share of the frame, weighted by
    closeness of its centroid to the centre (1 at the centre, 0.25 at a corner). Index 0 is 0."""
    h, w = hw
    d = np.hypot((regions.centroids[:, 0] - w / 2) / (w / 2), (regions.centroids[:, 1] - h / 2) / (h / 2)) / np.sqrt(2)
    scores = regions.pixels / (h * w) * (1.0 - 0.75 * np.clip(d, 0.0, 1.0))
    scores[0] = 0.0
    return scores


class PrimaryTracker:
    """Chooses the main person once, then follows that person from frame to frame.

    Matching: the region with the highest IoU with the reference region (the last cleanly seen
    mask of the person), if at least `match_iou` or if it holds half the reference; else the
    nearest region whose centroid is within `max_shift` (a fraction of the diagonal) and whose
    size is within a factor 2. When the matched
    region grows by more than `merge_growth` at once, someone has joined it (crossing in front):
    it is kept, but the reference stays as it was until the region shrinks back or `max_frozen`
    frames have passed, so the person is recognised when the two part again. After `lost_frames`
    frames without a match the reference is dropped and the main person is chosen again; regions
    smaller than `min_share` of the frame are never chosen.
    """

    def __init__(self, match_iou: float = 0.2, max_shift: float = 0.15, merge_growth: float = 1.4,
                 max_frozen: int = 90, lost_frames: int = 15, min_share: float = 0.01):
        self.match_iou, self.max_shift, self.merge_growth = match_iou, max_shift, merge_growth
        self.max_frozen, self.lost_frames, self.min_share = max_frozen, lost_frames, min_share
        self.acquisitions = 0      # how often a person was chosen (1 for a clip held throughout)
        self.reset()

    def reset(self) -> None:
        self._ref: np.ndarray | None = None     # bool H×W: the person's last clean region
        self._ref_pixels = 0
        self._ref_centroid = np.zeros(2)
        self._prev_pixels = 0
        self._frozen = 0
        self._missing = 0

    @property
    def locked(self) -> bool:
        return self._ref is not None

    def _set_ref(self, regions: Regions, k: int) -> None:
        self._ref = regions.labels == k
        self._ref_pixels = int(regions.pixels[k])
        self._ref_centroid = regions.centroids[k].copy()
        self._frozen = 0

    def _match(self, regions: Regions) -> int | None:
        n = len(regions.pixels)
        if n <= 1:
            return None
        inter = np.bincount(regions.labels[self._ref], minlength=n).astype(np.float64)
        inter[0] = 0.0                                          # label 0 is the background
        iou = inter / (regions.pixels + self._ref_pixels - inter)
        k = int(np.argmax(iou))
        if iou[k] >= self.match_iou or inter[k] >= 0.5 * self._ref_pixels:   # or it holds most of the person
            return k
        h, w = regions.labels.shape
        dist = np.hypot(*(regions.centroids - self._ref_centroid).T) / np.hypot(h, w)
        ratio = regions.pixels / max(1, self._ref_pixels)
        dist[(ratio < 0.5) | (ratio > 2.0)] = np.inf
        dist[0] = np.inf
        k = int(np.argmin(dist))
        return k if dist[k] <= self.max_shift else None

    def select(self, regions: Regions) -> list[int]:
        """The label(s) to keep in this frame: the tracked person's region, or [] while it is lost."""
        h, w = regions.labels.shape
        if self._ref is not None and self._ref.shape != (h, w):
            self.reset()
        if self._ref is None:
            scores = primary_scores(regions, (h, w))
            scores[regions.pixels < self.min_share * h * w] = 0.0
            k = int(np.argmax(scores))
            if scores[k] <= 0.0:
                return []
            self._set_ref(regions, k)
            self._prev_pixels = self._ref_pixels
            self._missing = 0
            self.acquisitions += 1
            return [k]
        k = self._match(regions)
        if k is None:
            self._missing += 1
            if self._missing > self.lost_frames:
                self.reset()
                return self.select(regions)
            return []
        self._missing = 0
        pixels = int(regions.pixels[k])
        jumped = pixels > self.merge_growth * max(self._prev_pixels, 1)
        if jumped or self._frozen:
            # someone joined the region: hold the reference until it shrinks back (or too long)
            self._frozen += 1
            if pixels <= self.merge_growth * self._ref_pixels or self._frozen > self.max_frozen:
                self._set_ref(regions, k)
        else:
            self._set_ref(regions, k)
        self._prev_pixels = pixels
        return [k]


class SubjectSelector:
    """The subject lock as a callable on probability maps at model resolution.

    Raises (constructor):
        ConfigError: unknown mode (lists the valid ones).
    """

    def __init__(self, mode: str = "all", threshold: float = 0.5):
        if mode not in SUBJECT_MODES:
            raise choices_error("subject", mode, tuple(SUBJECT_MODES))
        if not 0.0 < threshold < 1.0:
            raise ConfigError(f"subject threshold must be in (0, 1), got {threshold}")
        self.mode, self.threshold = mode, threshold
        self.tracker = PrimaryTracker()
        self._choose: Callable[[Regions], list[int]] = SUBJECT_MODES[mode](self)
        self._out: np.ndarray | None = None

    @property
    def active(self) -> bool:
        return self.mode != "all"

    def reset(self) -> None:
        self.tracker.reset()

    def __call__(self, prob: np.ndarray) -> np.ndarray:
        """`prob` with only the chosen person (a buffer reused on the next call; `prob` is not changed)."""
        if not self.active:
            return prob
        regions = person_regions(prob, self.threshold)
        self._out = keep_regions(prob, regions, self._choose(regions), self._out)
        return self._out

    def report(self) -> dict:
        return {"mode": self.mode, "acquisitions": self.tracker.acquisitions} if self.mode == "primary" \
            else {"mode": self.mode}


# mode -> a function of the selector giving its per-frame choice
SUBJECT_MODES: dict[str, Callable[[SubjectSelector], Callable[[Regions], list[int]]]] = {
    "all": lambda sel: lambda regions: list(range(1, len(regions.pixels))),
    "largest": lambda sel: largest_region,
    "primary": lambda sel: sel.tracker.select,
}
