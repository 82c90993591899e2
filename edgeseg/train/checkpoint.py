"""Checkpoints: written atomically, read without unpickling arbitrary objects."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from ..errors import ModelError

FORMAT = "edgeseg-checkpoint"


def save_checkpoint(state: dict, path: str | Path) -> Path:
    """Write to a temporary file in the same folder, fsync, then rename over `path`.

    A run killed at any moment leaves either the old checkpoint or the new one, never a torn file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint with `weights_only=True`: tensors and plain data only, never code.

    Raises:
        ModelError: missing, unreadable, not an edgeseg checkpoint, or holding non-weight objects.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint {path} not found; pass RUN_DIR/best.pt or RUN_DIR/last.pt from `edgeseg train`")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError...
        raise ModelError(f"checkpoint {path} cannot be loaded safely ({type(exc).__name__}: {str(exc)[:200]}); "
                         "it is corrupt, truncated, or holds objects other than weights. Re-run training "
                         "or use another checkpoint") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ModelError(f"{path} is not an edgeseg checkpoint; pass a .pt written by `edgeseg train`")
    return state
