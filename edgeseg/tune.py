"""`edgeseg tune`: measure this device and save the fastest setting that meets a target FPS.

The profile is JSON at $EDGESEG_PROFILE or ~/.config/edgeseg/profile.json; `edgeseg live` and
`process` use it for every option the user does not give.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import ConfigError
from .results import Status


def profile_path() -> Path:
    env = os.environ.get("EDGESEG_PROFILE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or "~/.config"
    return Path(base).expanduser() / "edgeseg" / "profile.json"


TIE = 0.05      # pipeline medians closer than 5 % tie: run-to-run noise on a busy machine is about that
SIMPLER_PRECISION = ("fp32", "fp16", "int8")   # among ties: fp32 first, then fewer threads


def candidates(rows: list[dict], target_fps: float) -> list[dict]:
    """The measured settings (BenchRow, or their JSON) whose pipeline median meets target_fps, fastest first."""
    ok = [r for r in rows if r["status"] == Status.OK and r["pipeline_ms"]["fps"] >= target_fps]
    return sorted(ok, key=lambda r: r["pipeline_ms"]["median"])


def tied(rows: list[dict], target_fps: float) -> list[dict]:
    """The settings that tie with the fastest one within TIE (the fastest included), fastest first."""
    ok = candidates(rows, target_fps)
    if not ok:
        return []
    limit = ok[0]["pipeline_ms"]["median"] * (1 + TIE)
    return [r for r in ok if r["pipeline_ms"]["median"] <= limit]


def _simplicity(row: dict) -> tuple:
    p = row["precision"]
    rank = SIMPLER_PRECISION.index(p) if p in SIMPLER_PRECISION else len(SIMPLER_PRECISION)
    return rank, row["threads"], row["pipeline_ms"]["median"]


def choose(rows: list[dict], target_fps: float) -> dict | None:
    """The setting to save: among those meeting target_fps that tie with the fastest within TIE, the
    simplest (fp32 before fp16 before int8, then fewer threads). None if no setting meets the target."""
    tie = tied(rows, target_fps)
    return min(tie, key=_simplicity) if tie else None


def save_profile(row: dict, target_fps: float, fingerprint: dict, path: Path | None = None) -> Path:
    path = path or profile_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"provider": row["provider"], "precision": row["precision"], "threads": row["threads"],
               "size": row["size"], "target_fps": target_fps, "measured_fps": row["pipeline_ms"]["fps"],
               "pipeline_ms_median": row["pipeline_ms"]["median"], "device": fingerprint}
    path.write_text(json.dumps(profile, indent=1))
    return path


def load_profile(path: Path | None = None) -> dict | None:
    """The saved profile's provider, precision and threads, or None if there is no profile.

    Raises:
        ConfigError: the file exists but is not a valid profile: names the file, the bad field, and
            says to re-run `edgeseg tune`, delete the file or pass --no-profile.
    """
    from .session import MAX_THREADS, PROVIDER_NAMES
    from .variants import VARIANTS
    path = path or profile_path()
    if not path.exists():
        return None

    def bad(what: str) -> ConfigError:
        return ConfigError(f"tuning profile {path} {what}; run `edgeseg tune` again to rewrite it, or delete it "
                           f"(rm {path}), or pass --no-profile")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise bad(f"cannot be read as JSON ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(data, dict):
        raise bad("is not a JSON object")
    rules = {"provider": tuple(PROVIDER_NAMES), "precision": tuple(VARIANTS)}
    for key, valid in rules.items():
        if key not in data:
            raise bad(f"has no {key!r}")
        if not isinstance(data[key], str) or data[key] not in valid:
            raise bad(f"has {key} {data[key]!r}; valid: {', '.join(valid)}")
    threads = data.get("threads")
    if isinstance(threads, bool) or not isinstance(threads, int) or not 0 <= threads <= MAX_THREADS:
        raise bad(f"has threads {threads!r}; it must be an integer from 0 to {MAX_THREADS}")
    return {k: data[k] for k in ("provider", "precision", "threads")}
