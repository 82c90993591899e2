"""One epoch of augmented training batches, and how a global batch is shared between processes.

Two seedings:
- stream (single process, at most one loader worker; what single-process runs have always drawn):
  one generator per epoch, seeded by (seed, epoch), draws each batch's canvas and then its samples.
- per sample (forced whenever the work is split: several processes or several loader workers):
  the canvas of step t is the t-th draw of a (seed, epoch) generator, and sample j of the epoch
  (j = t * batch_size + i) is drawn by its own generator seeded by (seed, epoch, j, 1) (the 1 keeps
  j = 0 apart from the (seed, epoch) stream: NumPy's SeedSequence ignores trailing zeros). Each process
  makes only its contiguous slice of every global batch (`rank_share`) and each loader worker only
  every k-th batch, so the epoch's samples are the same whatever the number of processes or workers.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ..preprocess import to_tensor
from .augment import Augmenter
from .config import TrainConfig


def rank_share(batch_size: int, world: int, rank: int) -> range:
    """The sample indices (within a global batch) that process `rank` of `world` makes.

    Contiguous slices whose sizes differ by at most one (the first batch_size % world ranks take one
    more), covering the batch exactly once.
    """
    base, extra = divmod(batch_size, world)
    lo = rank * base + min(rank, extra)
    return range(lo, lo + base + (rank < extra))


class EpochBatches(IterableDataset):
    """This process's batches of one epoch: one per step, each of one canvas size.

    Stream seeding (per_sample=False) must run in one loader worker at most: it cannot be split.
    """

    def __init__(self, augmenter: Augmenter, cfg: TrainConfig, epoch: int, rank: int = 0, world: int = 1,
                 per_sample: bool = False):
        if world > 1 and not per_sample:
            raise ValueError("several processes need per-sample seeding")
        self.augmenter, self.cfg, self.epoch = augmenter, cfg, epoch
        self.share, self.per_sample = rank_share(cfg.batch_size, world, rank), per_sample
        self.meta = cfg.model_meta()

    def __len__(self) -> int:
        return self.cfg.samples_per_epoch // self.cfg.batch_size

    def _canvas(self, rng: np.random.Generator) -> tuple[int, int]:
        weights = np.asarray(self.cfg.canvas_weights, np.float64)
        return tuple(self.cfg.canvases[rng.choice(len(self.cfg.canvases), p=weights / weights.sum())])

    def _batch(self, hw: tuple[int, int], rngs: list[np.random.Generator]):
        n, meta = len(rngs), self.meta
        imgs = np.empty((n, 3) + hw, np.float32)
        masks = np.empty((n, 1) + hw, np.float32)
        valid = np.empty((n, 1) + hw, np.float32)
        for i, rng in enumerate(rngs):
            img, masks[i, 0], valid[i, 0] = self.augmenter.sample(hw, rng)
            imgs[i] = to_tensor(img, meta.colour, "NCHW", meta.mean, meta.std)[0]   # the batch is NCHW
        return torch.from_numpy(imgs), torch.from_numpy(masks), torch.from_numpy(valid)

    def __iter__(self):
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, self.epoch])
        info = get_worker_info()
        if not self.per_sample:
            if info is not None and info.num_workers > 1:
                raise ValueError("several loader workers need per-sample seeding")
            for _ in range(len(self)):
                hw = self._canvas(rng)
                yield self._batch(hw, [rng] * cfg.batch_size)
            return
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        for step in range(len(self)):
            hw = self._canvas(rng)        # every worker draws every canvas, so the sequence stays aligned
            if step % workers == worker:  # the DataLoader takes batches from its workers in turn
                first = step * cfg.batch_size
                yield self._batch(hw, [np.random.default_rng([cfg.seed, self.epoch, first + i, 1])
                                       for i in self.share])
