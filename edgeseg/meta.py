"""ModelMeta: the JSON a model carries in its ONNX metadata_props, read at load time.

The runtime reads it through ONNX Runtime (no `onnx` import); export writes it with `onnx`.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from .errors import MetadataError

META_KEY = "edgeseg"
SCHEMA_VERSION = 1
LAYOUTS = ("NCHW", "NHWC")
COLOURS = ("RGB", "BGR")
OUTPUTS = ("probability", "logits")


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
        def bad(msg: str) -> MetadataError:
            return MetadataError(f"invalid model metadata: {msg}")
        if self.layout not in LAYOUTS:
            raise bad(f"layout {self.layout!r}; valid: {', '.join(LAYOUTS)}")
        if self.colour not in COLOURS:
            raise bad(f"colour {self.colour!r}; valid: {', '.join(COLOURS)}")
        if self.output not in OUTPUTS:
            raise bad(f"output {self.output!r}; valid: {', '.join(OUTPUTS)}")
        if len(self.input_hw) != 2 or min(self.input_hw) < 1:
            raise bad(f"input_hw {self.input_hw!r} must be two positive integers (H, W)")
        if len(self.mean) != 3 or len(self.std) != 3 or any(s == 0 for s in self.std):
            raise bad("mean and std need three values each, std non-zero")
        if not 0.0 < self.threshold < 1.0:
            raise bad(f"threshold {self.threshold} must lie in (0, 1)")
        object.__setattr__(self, "input_hw", tuple(int(v) for v in self.input_hw))
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))

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
