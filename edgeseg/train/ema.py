"""Exponential moving average of a model's weights, for a smoother final model.

The averaged copy is what validation scores and what best.pt holds; the raw weights keep
training. Integer buffers (BatchNorm's step counter) are copied, not averaged.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """EMA of all float parameters and buffers, with a warm-up so early steps are not over-weighted.

    The decay at update n is min(decay, (1 + n) / (10 + n)).
    """

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        live = model.state_dict()
        for name, avg in self.model.state_dict().items():
            if avg.dtype.is_floating_point:
                avg.mul_(d).add_(live[name], alpha=1.0 - d)
            else:
                avg.copy_(live[name])
