"""TensorRT engine cache location: keyed by model hash, input shape and TensorRT version."""
from __future__ import annotations

import os
from pathlib import Path


def default_cache_root() -> Path:
    base = os.environ.get("EDGESEG_CACHE") or os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(os.path.expandvars(base)).expanduser() / "edgeseg" / "trt"


def engine_cache_dir(root: str | Path | None = None, model_sha: str = "", input_hw: tuple[int, int] | None = None,
                     trt_version: str | None = None) -> Path:
    """A cache folder that changes whenever the model, its input shape or TensorRT changes.

    `~` and `$VARS` in root are expanded; the folder is created.
    """
    root = Path(os.path.expandvars(str(root))).expanduser() if root else default_cache_root()
    parts = [trt_version or tensorrt_version() or "trt-unknown"]
    if model_sha:
        parts.append(model_sha[:16])
    if input_hw:
        parts.append(f"{input_hw[0]}x{input_hw[1]}")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def tensorrt_version() -> str | None:
    try:
        import tensorrt  # type: ignore
        return f"trt-{tensorrt.__version__}"
    except Exception:
        return None


def trt_profile_shapes(meta, input_name: str) -> dict:
    """One optimisation profile covering every canvas the runtime can choose for a dynamic model
    (`input_name`: the model's input, as its session names it)."""
    from .preprocess import choose_canvas
    canvases = [choose_canvas((1000, int(1000 * a)), meta.input_hw, True, meta.multiple) for a in (0.25, 1.0, 4.0)]
    side = max(max(c) for c in canvases)
    lo = min(min(c) for c in canvases)
    h, w = meta.input_hw

    def shape(a, b):
        return f"{input_name}:1x3x{a}x{b}" if meta.layout == "NCHW" else f"{input_name}:1x{a}x{b}x3"
    return {"trt_profile_min_shapes": shape(lo, lo), "trt_profile_opt_shapes": shape(h, w),
            "trt_profile_max_shapes": shape(side, side)}
