"""The bundled models and how a model file is chosen from (path, precision, provider)."""
from __future__ import annotations

from pathlib import Path

from .errors import ModelError
from .install import EXPORT_COMMAND
from .variants import VARIANTS, default_precision, get_variant, variant_path

MODELS_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL = MODELS_DIR / "default.onnx"


def list_models() -> list[Path]:
    """The bundled model files, every variant."""
    return sorted(MODELS_DIR.glob("*.onnx"))


def pick_model_file(path: str | Path | None, precision: str | None, provider: str) -> Path:
    """The model file to load.

    No path: the bundled default, in `precision` or else the fastest variant for `provider`.
    A path and a precision: that variant beside the path (default.onnx -> default.int8.onnx).

    Raises:
        ConfigError: unknown precision (lists the valid ones).
        ModelError: the chosen variant file does not exist (lists those that do).
    """
    if precision is not None:
        get_variant(precision)
    base = Path(path).expanduser() if path else DEFAULT_MODEL
    if precision is None:
        if path:
            return base
        precision = default_precision(provider)
    chosen = variant_path(base, precision)
    if not chosen.exists():
        present = [n for n in VARIANTS if variant_path(base, n).exists()]
        if not present:
            raise ModelError(f"model file {base} not found; pass --model PATH to an .onnx file")
        raise ModelError(f"no {precision} variant of {base.name} ({chosen.name} is missing); "
                         f"available: {', '.join(present)}. Export it with `{EXPORT_COMMAND} CKPT --precision {precision}`")
    return chosen
