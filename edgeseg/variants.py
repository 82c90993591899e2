"""The one table of model variants. Export, the loader and benchmarks all read it by name."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import choices_error


@dataclass(frozen=True)
class Variant:
    name: str
    suffix: str                  # inserted before ".onnx": default.onnx -> default.fp16.onnx
    providers: tuple[str, ...]   # the providers it suits (fastest first)
    note: str
    default_for: tuple[str, ...] = ()   # providers that load it when nothing else is known (default_precision)
    # how export writes the decoder's bilinear ×2 (same function either way, edgeseg.train.model.upsample2):
    # "conv" (nearest + edge pad + fixed depthwise 3×3: 0.9× the CPU time in fp32) or "resize" (one
    # Resize: QDQ int8 runs the conv form 1.3× slower, and GPUs gain nothing from it)
    bilinear_graph: str = "resize"

    def suits(self, provider: str) -> bool:
        """Whether this variant is worth running on `provider` (`edgeseg bench` skips the others)."""
        return provider in self.providers


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("fp32", "", ("cpu", "cuda", "tensorrt"), "reference precision; fastest on CPUs without VNNI",
            ("cpu",), bilinear_graph="conv"),
    Variant("fp16", ".fp16", ("cuda", "tensorrt"), "half the size; fast on GPUs, slow on most CPUs; fp32 inputs/outputs",
            ("cuda", "tensorrt")),
    Variant("int8", ".int8", ("tensorrt", "cpu"), "static QDQ; a quarter the size; fast on CPUs with VNNI/AMX and on TensorRT"),
)}


def get_variant(name: str) -> Variant:
    """Raises ConfigError listing the valid names."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise choices_error("precision", name, list(VARIANTS)) from None


def variant_path(base: str | Path, name: str) -> Path:
    """The file of variant `name` beside the fp32 file `base` (e.g. default.onnx -> default.int8.onnx)."""
    base = Path(base)
    stem = base.name[: -len(".onnx")] if base.name.endswith(".onnx") else base.stem
    for v in VARIANTS.values():          # a variant file given as base: strip its suffix first
        if v.suffix and stem.endswith(v.suffix):
            stem = stem[: -len(v.suffix)]
    return base.with_name(f"{stem}{get_variant(name).suffix}.onnx")


def variants_table(base: str | Path) -> list[dict]:
    """Every variant of the model `base`: its file beside `base`, whether it exists, the providers it suits
    and its note (what `edgeseg info` prints)."""
    rows = []
    for v in VARIANTS.values():
        path = variant_path(base, v.name)
        rows.append({"name": v.name, "file": path.name, "present": path.exists(), "providers": list(v.providers),
                     "note": v.note})
    return rows


def default_precision(provider: str) -> str:
    """The fastest variant for a provider when nothing else is known (see README's variants table).

    On CPU this is fp32: static INT8 QDQ measured slower on the reference CPU, see README.
    `edgeseg tune` measures the device and records the fastest in a profile.
    """
    reference = next(iter(VARIANTS))     # the first row: fp32
    return next((v.name for v in VARIANTS.values() if provider in v.default_for), reference)
