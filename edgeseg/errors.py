"""The edgeseg error hierarchy. Every message says what went wrong and how to fix it."""
from __future__ import annotations


class EdgeSegError(Exception):
    """Base class for every error edgeseg raises on purpose."""


class ModelError(EdgeSegError):
    """A model file is missing, corrupt, or not a model edgeseg can run."""


class MetadataError(ModelError):
    """A model's ModelMeta is missing or invalid."""


class ProviderError(EdgeSegError):
    """An execution provider the user asked for is not available."""


class FrameError(EdgeSegError):
    """A frame has a type, shape or dtype that cannot be segmented."""


class SourceError(EdgeSegError):
    """A video source cannot be opened, or vanished and did not come back."""


class OutputError(EdgeSegError):
    """An output location cannot be written."""


class DataError(EdgeSegError):
    """Training or evaluation data is missing or unusable."""


class ConfigError(EdgeSegError):
    """An option or config value is invalid or conflicts with another."""


class VerificationError(EdgeSegError):
    """An exported variant failed a parity or accuracy check."""


def choices_error(kind: str, value: object, valid: "list[str] | tuple[str, ...]") -> ConfigError:
    """A ConfigError for an unknown name that lists the valid ones."""
    return ConfigError(f"unknown {kind} {value!r}; valid choices: {', '.join(map(str, valid))}")
