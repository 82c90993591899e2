"""Subject lock (`--subject`): does the kept person stay the same one, and what does it cost?

    python -m benchmarks.subject --json benchmarks/results/subject.json

Composited clips: the training run's held-back ccp people (never trained on) pasted into the
people-free scenes, 640×360, 90 frames each. A main person stands near the centre (swaying a
little); a second, nearer and larger person walks across the whole frame in front of them,
through the centre; in every other clip a third, farther person stands to one side. Each
person's visible mask is known, so for every frame we know which people the kept mask covers.

Per mode (all, largest, primary), over all clip frames where the main person is visible:
  main_kept    frames where the mask covers at least half of the main person's visible pixels
  others_kept  frames where it covers at least half of some other person's visible pixels
  wrong_person frames where the mask holds one person alone and it is not the main person
  switches     changes of the one person the mask holds alone, per clip (0 is ideal; frames
               where it holds several people or nobody do not count as a change); also counted
               over only the frames where the main person is visible (switches_..._main_visible:
               a crosser that hides the main person completely is all that is left to keep)
  clips_ending_on_main  clips whose last 10 frames hold the main person alone
(a person is visible in a frame with at least a quarter of the most of them the clip shows)
and the cost: the subject stage's ms per frame and the pipeline's median ms per frame.

dev/scenes (COCO photos, several people, all labelled person): each photo with two or more
people (GT components over 2 % of the photo) becomes a 20-frame clip with a little camera
jitter; switches of the covered GT component, and how many person regions the output has.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from edgeseg import Pipeline, PipelineOptions, SegmenterOptions
from edgeseg.train.augment import is_whole_person, paste_person
from edgeseg.train.data import Pair, load_images, load_pairs, person_bbox, split_pairs
from benchmarks.emit import emit_json

MODES = ("all", "largest", "primary")


def read_pair(image: str | Path, mask: str | Path) -> Pair:
    """One image/mask pair from two files (without reading a whole folder)."""
    img = cv2.imread(str(image), cv2.IMREAD_COLOR)
    m = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE)
    return Pair(Path(image).stem, img, m, person_bbox(m))


def scene(background: np.ndarray, hw: tuple[int, int] = (360, 640)) -> np.ndarray:
    """A centre crop of `background` scaled to cover hw."""
    oh, ow = hw
    s = max(oh / background.shape[0], ow / background.shape[1])
    bg = cv2.resize(background, (max(ow, round(background.shape[1] * s)), max(oh, round(background.shape[0] * s))),
                    interpolation=cv2.INTER_AREA)
    y, x = (bg.shape[0] - oh) // 2, (bg.shape[1] - ow) // 2
    return np.ascontiguousarray(bg[y:y + oh, x:x + ow])


def crossing_clip(main: Pair, crosser: Pair, background: np.ndarray, frames: int = 90,
                  side: Pair | None = None, main_height: float = 0.6, crosser_height: float = 0.9,
                  hw: tuple[int, int] = (360, 640)) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """A clip where `crosser` walks in front of `main` (centre) from left to right.

    Returns (frame, visible masks) per frame; visible masks are float32 [0, 1], one per person,
    main first, then the crosser, then `side` (a smaller person standing at the left) if given.
    """
    bg = scene(background, hw)
    out = []
    for t in range(frames):
        u = t / max(1, frames - 1)
        layers = []                       # (index, pair, height, centre_x, bottom), far to near
        if side is not None:
            layers.append((2, side, 0.4, 0.14, 0.8))
        layers.append((0, main, main_height, 0.5 + 0.03 * np.sin(2 * np.pi * u * 2), 0.95))
        layers.append((1, crosser, crosser_height, -0.3 + 1.6 * u, 1.02))
        img = bg
        masks: list[np.ndarray | None] = [None] * len(layers)
        for i, pair, h, cx, bottom in layers:
            img, m = paste_person(pair, img, h, cx, bottom)
            for j in range(len(masks)):           # nearer people hide the farther ones
                if masks[j] is not None:
                    masks[j] = masks[j] * (1.0 - m)
            masks[i] = m
        out.append((img, masks))
    return out


def coverage(kept: np.ndarray, visible: list[np.ndarray], min_px: list[int]) -> list[float | None]:
    """Per person: the share of their visible pixels the kept mask covers (None: fewer than
    min_px[i] pixels of them are visible, e.g. hidden behind someone or out of the frame)."""
    res = []
    for v, least in zip(visible, min_px):
        vis = v >= 0.5
        n = int(vis.sum())
        res.append(float((kept & vis).sum()) / n if n >= max(least, 1) else None)
    return res


def identity(cov: list[float | None]) -> int | None:
    """The one person the kept mask holds (half of their visible pixels or more) when it holds
    exactly one; None when it holds none, or several (touching people are one region)."""
    held = [i for i, c in enumerate(cov) if c is not None and c >= 0.5]
    return held[0] if len(held) == 1 else None


class TimedSelector:
    """Wraps a Pipeline's SubjectSelector to time it."""

    def __init__(self, inner):
        self.inner, self.ms = inner, []

    active = property(lambda self: self.inner.active)

    def reset(self):
        self.inner.reset()

    def report(self):
        return self.inner.report()

    def __call__(self, prob):
        t = time.perf_counter()
        out = self.inner(prob)
        self.ms.append((time.perf_counter() - t) * 1e3)
        return out


def run_clip(clip, mode: str, seg_opts: SegmenterOptions | None = None) -> dict:
    """One clip through a Pipeline with --subject mode (effect mask); identity per frame, and cost."""
    pipe = Pipeline(PipelineOptions(segmenter=seg_opts or SegmenterOptions(provider="cpu"), effect="mask",
                                    subject=mode))
    timed = pipe.subject = TimedSelector(pipe.subject)
    main_vis = main_kept = others = wrong = 0
    ids: list[int | None] = []
    ids_main: list[int | None] = []           # only frames where the main person is visible
    # a person counts as visible with at least a quarter of the most of them seen in the clip
    least = [int(0.25 * max(int((v >= 0.5).sum()) for v in col)) for col in zip(*(vis for _, vis in clip))]
    for frame, visible in clip:
        pipe.process(frame)
        kept = pipe.mask >= 128
        cov = coverage(kept, visible, least)
        ids.append(identity(cov))
        if cov[0] is not None:
            ids_main.append(ids[-1])
            main_vis += 1
            main_kept += cov[0] >= 0.5
            others += any(c is not None and c >= 0.5 for c in cov[1:])
            wrong += ids[-1] not in (None, 0)
    switches, switches_main = (sum(a != b for a, b in zip(seen, seen[1:]))
                               for seen in ([i for i in seq if i is not None] for seq in (ids, ids_main)))
    summary = pipe.timings.summary()
    pipe.close()
    return {"frames": len(clip), "main_visible": main_vis, "main_kept": main_kept, "others_kept": others,
            "switches": switches, "switches_main_visible": switches_main, "wrong_person": wrong,
            "ends_on_main": all(i == 0 for i in ids[-10:]), "subject_ms": timed.ms,
            "pipeline_ms_median": summary["ms_per_frame_median"],
            "acquisitions": timed.report().get("acquisitions")}


def composited(data: str, backgrounds: str, clips: int, frames: int) -> dict:
    _, val = split_pairs(load_pairs([data]).pairs, 0.1)
    people = [p for p in val if is_whole_person(p)]
    scenes = load_images(backgrounds)
    rng = np.random.default_rng(0)
    rows = {m: [] for m in MODES}
    for c in range(clips):
        i, j, k = rng.choice(len(people), 3, replace=False)
        clip = crossing_clip(people[i], people[j], scenes[rng.integers(len(scenes))], frames,
                             side=people[k] if c % 2 else None)
        for mode in MODES:
            rows[mode].append(run_clip(clip, mode))
    return {m: aggregate(r) for m, r in rows.items()}


def aggregate(rows: list[dict]) -> dict:
    vis = sum(r["main_visible"] for r in rows)
    ms = np.concatenate([r["subject_ms"] for r in rows]) if any(r["subject_ms"] for r in rows) else np.zeros(1)
    return {"clips": len(rows), "frames": sum(r["frames"] for r in rows),
            "main_kept": round(sum(r["main_kept"] for r in rows) / max(1, vis), 4),
            "others_kept": round(sum(r["others_kept"] for r in rows) / max(1, vis), 4),
            "wrong_person": round(sum(r["wrong_person"] for r in rows) / max(1, vis), 4),
            "switches_per_clip": round(sum(r["switches"] for r in rows) / len(rows), 3),
            "switches_per_clip_main_visible": round(sum(r["switches_main_visible"] for r in rows) / len(rows), 3),
            "clips_with_a_switch": sum(r["switches"] > 0 for r in rows),
            "clips_ending_on_main": sum(r["ends_on_main"] for r in rows),
            "subject_ms_p50": round(float(np.percentile(ms, 50)), 3),
            "subject_ms_p90": round(float(np.percentile(ms, 90)), 3),
            "pipeline_ms_median": round(float(np.median([r["pipeline_ms_median"] for r in rows])), 3)}


def jitter_clip(image: np.ndarray, gt: np.ndarray, frames: int, rng: np.random.Generator):
    """`frames` copies of a photo with a little camera shake (±2 % shift, up to 4 % zoom), and the
    GT person components (frame resolution) moved along."""
    h, w = gt.shape
    n, labels = cv2.connectedComponents((gt > 127).astype(np.uint8))
    out = []
    for _ in range(frames):
        s = 1.0 + rng.uniform(0, 0.04)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, s)
        m[:, 2] += rng.uniform(-0.02, 0.02, 2) * (w, h)
        img = cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        lab = cv2.warpAffine(labels.astype(np.float32), m, (w, h), flags=cv2.INTER_NEAREST)
        out.append((img, [(lab == k).astype(np.float32) for k in range(1, n)]))
    return out


def regions_over(mask: np.ndarray, share: float = 0.002) -> int:
    """Connected regions of mask >= 128 larger than `share` of the frame."""
    n, _, stats, _ = cv2.connectedComponentsWithStats((mask >= 128).astype(np.uint8))
    return int((stats[1:, cv2.CC_STAT_AREA] > share * mask.size).sum())


def dev_scenes(folder: str, frames: int) -> dict:
    images = sorted((Path(folder) / "images").glob("*.jpg"))
    rng = np.random.default_rng(0)
    rows = {m: [] for m in MODES}
    one_region = {m: 0 for m in MODES}
    used = 0
    for path in images:
        gt = cv2.imread(str(Path(folder) / "masks" / (path.stem + ".png")), cv2.IMREAD_GRAYSCALE)
        _, _, stats, _ = cv2.connectedComponentsWithStats((gt > 127).astype(np.uint8))
        if (stats[1:, cv2.CC_STAT_AREA] > 0.02 * gt.size).sum() < 2:
            continue
        used += 1
        image = cv2.imread(str(path))
        clip = jitter_clip(image, gt, frames, rng)
        for mode in MODES:
            with Pipeline(PipelineOptions(segmenter=SegmenterOptions(provider="cpu"), effect="mask",
                                          subject=mode)) as still:
                still.process(image)
                one_region[mode] += regions_over(still.mask) == 1
            rows[mode].append(run_clip(clip, mode))
    out = {}
    for m in MODES:
        agg = aggregate(rows[m])
        out[m] = {"photos": used, "one_region_photos": one_region[m],
                  "switches_per_clip": agg["switches_per_clip"], "clips_with_a_switch": agg["clips_with_a_switch"],
                  "subject_ms_p50": agg["subject_ms_p50"], "subject_ms_p90": agg["subject_ms_p90"],
                  "pipeline_ms_median": agg["pipeline_ms_median"]}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/people/ccp")
    p.add_argument("--backgrounds", default="../shared/data/backgrounds")
    p.add_argument("--scenes", default="../shared/data/dev/scenes")
    p.add_argument("--clips", type=int, default=16)
    p.add_argument("--frames", type=int, default=90)
    p.add_argument("--scene-frames", type=int, default=20)
    p.add_argument("--json", default="benchmarks/results/subject.json")
    args = p.parse_args(argv)
    res = {"note": "CPU, 1 ORT thread, 2-core VM shared with a training run: read costs as rough",
           "composited": composited(args.data, args.backgrounds, args.clips, args.frames),
           "dev_scenes": dev_scenes(args.scenes, args.scene_frames)}
    emit_json(res, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
