"""Size flags, one convention per kind: a model's input is HxW (rows first, like its tensor),
a frame or capture size is WxH (like a video's resolution). No heavy imports."""
from __future__ import annotations

from .errors import ConfigError


def parse_hw(text: str, flag: str = "--input-size") -> tuple[int, int]:
    """'HxW' -> (H, W), for a model input size (--input-size, --canvas).

    Raises:
        ConfigError: not two integers joined by x (the message names the flag).
    """
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"{flag} {text!r} must look like HxW, e.g. 144x256") from None
    return h, w


def parse_hw_multiple(text: str, multiple: int, flag: str = "--input-size") -> tuple[int, int]:
    """'HxW' -> (H, W), both positive multiples of `multiple` (a model's stride, ModelMeta.multiple).

    Raises:
        ConfigError: not HxW, or a side that is not a positive multiple (the message names the flag).
    """
    h, w = parse_hw(text, flag)
    if h <= 0 or w <= 0 or h % multiple or w % multiple:
        raise ConfigError(f"{flag} {text}: height and width must be positive multiples of {multiple}")
    return h, w


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'1280x720' -> (1280, 720) as (W, H), for a frame or capture size (--size, --sizes); None stays None.

    Raises:
        ConfigError: not WxH, or a side outside 16..8192.
    """
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"size {text!r} must look like WxH, e.g. 1280x720") from None
    if w < 16 or h < 16 or w > 8192 or h > 8192:
        raise ConfigError(f"size {text}: width and height must be between 16 and 8192")
    return w, h
