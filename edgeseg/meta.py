"""ModelMeta: the JSON a model carries in its ONNX metadata_props, read at load time.

The runtime reads it through ONNX Runtime (no `onnx` import); export writes it with `onnx`.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field

from .errors import MetadataError

META_KEY = "edgeseg"
SCHEMA_VERSION = 1
LAYOUTS = ("NCHW", "NHWC")
COLOURS = ("RGB", "BGR")
OUTPUTS = ("probability", "logits")
PRECISIONS = ("fp32", "fp16", "int8")   # the names of variants.VARIANTS


@dataclass(frozen=True)
class ModelMeta:
    """What a model needs from the runtime, and where it came from."""
    input_hw: tuple[int, int] = (144, 256)   # base canvas (H, W); landscape
    adaptive: bool = True        # canvas follows the frame's aspect ratio at the same area
    multiple: int = 16           # canvas sides must be multiples of this
    layout: str = "NCHW"
    colour: str = "RGB"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)   # applied after /255
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    output: str = "probability"
    threshold: float = 0.5
    precision: str = "fp32"
    name: str = "edgeseg"
    edgeseg_version: str = ""
    source_sha256: str = ""
    val_person_iou: float | None = None
    extra: dict = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self):
        """Check every field's type and range (see FIELD_RULES).

        Raises:
            MetadataError: names the first bad field, what it holds and what it must be.
        """
        for name, check in FIELD_RULES.items():
            value = getattr(self, name)
            try:
                value = check(value)
            except (TypeError, ValueError) as exc:
                raise MetadataError(f"invalid model metadata: field {name!r} is {value!r}; {exc}. "
                                    "Re-export the model, or fix the metadata you passed") from None
            object.__setattr__(self, name, value)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelMeta":
        """Parse ModelMeta JSON.

        Raises:
            MetadataError: not JSON, a newer schema, or unknown/invalid fields.
        """
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise MetadataError(f"model metadata is not valid JSON ({exc}); re-export the model") from None
        if not isinstance(data, dict):
            raise MetadataError("model metadata must be a JSON object; re-export the model")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise MetadataError(f"model metadata schema {version!r} is not supported by this edgeseg "
                                f"(supports {SCHEMA_VERSION}); upgrade edgeseg or re-export the model")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise MetadataError(f"unknown model metadata field(s) {unknown}; re-export the model")
        return cls(**data)

    def replace(self, **changes) -> "ModelMeta":
        return dataclasses.replace(self, **changes)


MAX_SIDE = 4096   # a model input side beyond this is a broken file, not a model (4096² × 3 × 4 B = 192 MiB)
SHA256_HEX = set("0123456789abcdef")


def _int(lo: int, hi: int):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"must be an integer in [{lo}, {hi}]")
        if not lo <= v <= hi:
            raise ValueError(f"must lie in [{lo}, {hi}]")
        return v
    return check


def _number(v, what: str = "a number") -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"must be {what}")
    if not math.isfinite(v):
        raise ValueError("must be finite (not NaN or infinity)")
    return float(v)


def _choice(valid: tuple[str, ...]):
    def check(v):
        if v not in valid or not isinstance(v, str):
            raise ValueError(f"valid: {', '.join(valid)}")
        return v
    return check


def _text(v):
    if not isinstance(v, str):
        raise TypeError("must be a string")
    return v


def _bool(v):
    if not isinstance(v, bool):
        raise TypeError("must be true or false")
    return v


def _hw(v):
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise TypeError("must be two integers (H, W)")
    side = _int(1, MAX_SIDE)
    try:
        return tuple(side(x) for x in v)
    except (TypeError, ValueError):
        raise ValueError(f"must be two integers (H, W) in [1, {MAX_SIDE}]") from None


def _triple(positive: bool):
    def check(v):
        if not isinstance(v, (list, tuple)) or len(v) != 3:
            raise TypeError("must be three numbers, one per channel")
        values = tuple(_number(x, "three numbers") for x in v)
        if positive and min(values) < 1e-6:
            raise ValueError("must be three numbers ≥ 1e-6 (it divides the input)")
        return values
    return check


def _threshold(v):
    v = _number(v)
    if not 0.0 < v < 1.0:
        raise ValueError("must lie in (0, 1)")
    return v


def _sha256(v):
    if not isinstance(v, str) or (v and (len(v) != 64 or not set(v) <= SHA256_HEX)):
        raise ValueError("must be empty or 64 lower-case hex digits")
    return v


def _iou(v):
    if v is None:
        return v
    v = _number(v)
    if not 0.0 <= v <= 1.0:
        raise ValueError("must be null or lie in [0, 1]")
    return v


def _dict(v):
    if not isinstance(v, dict):
        raise TypeError("must be a JSON object")
    return v


FIELD_RULES = {
    "input_hw": _hw, "adaptive": _bool, "multiple": _int(1, 256), "layout": _choice(LAYOUTS),
    "colour": _choice(COLOURS), "mean": _triple(False), "std": _triple(True), "output": _choice(OUTPUTS),
    "threshold": _threshold, "precision": _choice(PRECISIONS), "name": _text, "edgeseg_version": _text,
    "source_sha256": _sha256, "val_person_iou": _iou, "extra": _dict, "schema_version": _int(1, 1 << 16),
}
