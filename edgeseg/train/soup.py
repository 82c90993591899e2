"""Average the weights of checkpoints of one architecture (a "model soup", Wortsman et al., ICML 2022).

Fine-tunes that start from the same weights and keep BatchNorm's statistics frozen stay in one basin, so
the mean of their weights is a model too, and it is usually at least as good as the best of them: the
bundled default is the mean of epochs 3-6 of two runs of configs/default.yaml that differ only in their seed.

    python -m edgeseg.train.soup --out runs/default/soup.pt runs/default-s8/epoch{3,4,5,6}.pt \\
        runs/default-s9/epoch{3,4,5,6}.pt

The result holds the first checkpoint's model config and metadata, and `soup`: the paths averaged. It
exports and initialises training like any checkpoint. Needs the train extra (torch).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch

from ..errors import ConfigError, EdgeSegError
from .checkpoint import load_checkpoint, save_checkpoint

log = logging.getLogger(__name__)


def average_checkpoints(paths: list[str | Path]) -> dict:
    """A checkpoint whose floating-point tensors are the mean over `paths` (integer buffers such as
    BatchNorm's batch counters are the first one's).

    Raises:
        ConfigError: no paths, or checkpoints of different architectures or parameter sets.
        ModelError: a path that is not a readable edgeseg checkpoint.
    """
    if not paths:
        raise ConfigError("no checkpoints to average; pass two or more RUN/epoch{N}.pt or best.pt files")
    states = [load_checkpoint(p) for p in paths]
    first = states[0]
    for p, s in zip(paths[1:], states[1:]):
        if s.get("model_config") != first.get("model_config") or s["model"].keys() != first["model"].keys():
            raise ConfigError(f"{p} is another architecture than {paths[0]} ({s.get('model_config')} against "
                              f"{first.get('model_config')}); average only checkpoints of one model config")
    model = {}
    for k, v in first["model"].items():
        if v.is_floating_point():
            model[k] = (sum(s["model"][k].double() for s in states) / len(states)).to(v.dtype)
        else:
            model[k] = v.clone()
    out = {k: first[k] for k in ("model_config", "meta", "train_config", "input") if k in first}
    return {**out, "model": model, "epoch": 0, "best": -1.0, "history": [], "soup": [str(p) for p in paths]}


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(prog="python -m edgeseg.train.soup", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+", help="checkpoints of one model config (.pt)")
    p.add_argument("--out", required=True, help="the averaged checkpoint to write (.pt)")
    args = p.parse_args(argv)
    try:
        save_checkpoint(average_checkpoints(args.checkpoints), args.out)
    except EdgeSegError as exc:
        log.error("error: %s", exc)
        return 2
    log.info("wrote %s, the mean of %d checkpoints\nnext: edgeseg export %s --out DIR/default.onnx "
             "--precision fp32,fp16,int8 --calib ../shared/data/people/viton", args.out, len(args.checkpoints), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
