"""Start a wider EdgeUNet from a trained narrower one without changing what it computes.

Each weight of the trained model is copied into the leading slice of the wider one. Weights that
read a *new* input channel are set to zero, so the new channels are computed (from random weights)
but nothing old reads them yet: the grown model's output equals the old model's. Training then
learns to use the new channels, which starts far ahead of training the wider model from scratch.
"""
from __future__ import annotations

import torch

from ..errors import ConfigError


def _check_growable(old_cfg: dict, new_cfg: dict) -> None:
    fixed = ("arch", "blocks", "expand")
    changed = [k for k in fixed if old_cfg.get(k) != new_cfg.get(k)]
    if changed:
        raise ConfigError(f"init: cannot grow {old_cfg} into {new_cfg}: {', '.join(changed)} differ; "
                          "only widths may grow. Start from scratch (drop init:) or keep the same blocks/expand")
    old_w, new_w = old_cfg["widths"], new_cfg["widths"]
    if len(old_w) != len(new_w) or any(n < o for o, n in zip(old_w, new_w)):
        raise ConfigError(f"init: widths {new_cfg['widths']} are narrower than the checkpoint's "
                          f"{old_cfg['widths']} (or a different length); widths can only grow")


def grow_state_dict(old_state: dict[str, torch.Tensor], old_cfg: dict,
                    new_model: torch.nn.Module, new_cfg: dict) -> dict[str, torch.Tensor]:
    """A state dict for `new_model` (wider) that computes what `old_state` computes.

    Raises:
        ConfigError: the configs differ in anything but widths, or a width shrinks.
    """
    _check_growable(old_cfg, new_cfg)
    grown = {}
    for key, fresh in new_model.state_dict().items():
        old = old_state.get(key)
        if old is None:
            raise ConfigError(f"init: the checkpoint has no weight {key!r}; it is not an EdgeUNet checkpoint")
        t = fresh.clone()
        if t.ndim == 0:
            grown[key] = old.clone()
            continue
        if old.ndim != t.ndim or any(o > n for o, n in zip(old.shape, t.shape)):
            raise ConfigError(f"init: weight {key!r} is {tuple(old.shape)} in the checkpoint and "
                              f"{tuple(t.shape)} in the model; it cannot grow")
        t[tuple(slice(0, s) for s in old.shape)] = old
        if t.ndim == 4 and t.shape[1] > old.shape[1]:      # a dense conv reading new input channels
            t[:, old.shape[1]:] = 0
        grown[key] = t
    return grown
