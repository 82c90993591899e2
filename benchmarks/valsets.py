"""Write the training run's validation split as images/ + masks/ folders, for side-by-side scoring.

    python -m benchmarks.valsets --data ../shared/data/people/ccp --out runs/valsets

full/     the held-back photos as they are (full-body street photos)
portrait/ a deterministic head-and-shoulders crop (3:4) of each, like webcam and portrait framing
small/    each held-back person cut out and pasted small (25-55 % of the frame height) into a
          people-free scene, 16:9 or 4:3: street-scene scale. The scenes are the training
          backgrounds (the people are unseen, the scenes are not).
group/    the same, with 2 or 3 held-back people side by side (30-80 % of the frame height, nearer
          ones larger and in front): street scenes with several people, all labelled person.
The split is the one `edgeseg train` uses (hash of the file name, val_fraction 0.1 by default).
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import cv2
import numpy as np

from edgeseg.train.augment import is_whole_person, paste_person
from edgeseg.train.data import Pair, load_images, load_pairs, portrait_crop, split_pairs


def _seeded_rng(name: str, salt: str = "") -> np.random.Generator:
    return np.random.default_rng(int(hashlib.sha1((salt + name).encode()).hexdigest()[:8], 16))


def _scene(rng: np.random.Generator, backgrounds: list[np.ndarray]) -> np.ndarray:
    """A 640×360 or 480×360 centre crop of one of the scenes, scaled to cover it."""
    ow, oh = (640, 360) if rng.random() < 0.5 else (480, 360)
    bg = backgrounds[rng.integers(len(backgrounds))]
    s = max(oh / bg.shape[0], ow / bg.shape[1])
    bg = cv2.resize(bg, (max(ow, round(bg.shape[1] * s)), max(oh, round(bg.shape[0] * s))), interpolation=cv2.INTER_AREA)
    y, x = (bg.shape[0] - oh) // 2, (bg.shape[1] - ow) // 2
    return bg[y:y + oh, x:x + ow]


def small_person_scene(pair: Pair, backgrounds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The pair's person pasted small into a scene; the same pair always gives the same scene."""
    rng = _seeded_rng(pair.name)
    img, mask = paste_person(pair, _scene(rng, backgrounds), rng.uniform(0.25, 0.55), rng.uniform(0.15, 0.85),
                             rng.uniform(0.6, 0.98))
    return img, np.where(mask >= 0.5, 255, 0).astype(np.uint8)


def group_scene(pair: Pair, others: list[Pair], backgrounds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The pair's person and one or two of `others` side by side in a scene, 30-80 % of its height,
    nearer ones lower and larger and pasted over farther ones; every person is labelled person.
    The same arguments always give the same scene."""
    rng = _seeded_rng(pair.name, "group:")
    img = _scene(rng, backgrounds)
    n = 1 + min(len(others), int(rng.integers(1, 3)))
    people = [pair] + [others[j] for j in rng.choice(len(others), n - 1, replace=False)]
    mask = np.zeros(img.shape[:2], np.float32)
    for k, (person, h) in enumerate(zip(people, np.sort(rng.uniform(0.3, 0.8, n)))):
        img, m = paste_person(person, img, h, (k + 0.5) / n + rng.uniform(-0.12, 0.12), 0.55 + 0.45 * h)
        np.maximum(mask, m, out=mask)
    return img, np.where(mask >= 0.5, 255, 0).astype(np.uint8)


def save_pair(folder: Path, stem: str, image: np.ndarray, mask: np.ndarray) -> None:
    """One image/mask pair in the images/ + masks/ layout that `edgeseg eval` and training read."""
    for kind, data in (("images", image), ("masks", mask)):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / kind / f"{stem}.png"), data)


def write_valsets(data: list[str], out: Path, val_fraction: float = 0.1,
                  backgrounds: str | Path | None = "../shared/data/backgrounds") -> dict[str, int]:
    _, val = split_pairs(load_pairs(data).pairs, val_fraction)
    scenes = load_images(backgrounds)
    whole = [p for p in val if is_whole_person(p)]
    counts = {"full": len(val), "portrait": len(val), "small": 0, "group": 0}
    for sub in counts:
        for kind in ("images", "masks"):
            (out / sub / kind).mkdir(parents=True, exist_ok=True)
    for pair in val:
        stem = pair.name.replace("/", "_")
        save_pair(out / "full", stem, pair.image, pair.mask)
        save_pair(out / "portrait", stem, *portrait_crop(pair))
        if scenes and is_whole_person(pair):
            save_pair(out / "small", stem, *small_person_scene(pair, scenes))
            counts["small"] += 1
            others = [p for p in whole if p is not pair]
            if others:
                save_pair(out / "group", stem, *group_scene(pair, others, scenes))
                counts["group"] += 1
    return counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", default=["../shared/data/people/ccp"])
    p.add_argument("--out", default="runs/valsets")
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--backgrounds", default="../shared/data/backgrounds",
                   help="people-free scenes for small/ and group/ ('' leaves them empty)")
    args = p.parse_args(argv)
    print(write_valsets(args.data, Path(args.out), args.val_fraction, args.backgrounds or None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
