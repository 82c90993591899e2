"""`edgeseg tune`: measure this device and save the fastest setting that meets a target FPS.

The profile is JSON at $EDGESEG_PROFILE or ~/.config/edgeseg/profile.json; `edgeseg live` and
`process` use it for every option the user does not give.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import ConfigError


def profile_path() -> Path:
    env = os.environ.get("EDGESEG_PROFILE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or "~/.config"
    return Path(base).expanduser() / "edgeseg" / "profile.json"


def choose(rows: list[dict], target_fps: float) -> dict | None:
    """The fastest measured setting whose pipeline median meets target_fps (None if none does)."""
    ok = [r for r in rows if r["status"] == "ok" and r["pipeline_ms"]["fps"] >= target_fps]
    return min(ok, key=lambda r: r["pipeline_ms"]["median"]) if ok else None


def save_profile(row: dict, target_fps: float, fingerprint: dict, path: Path | None = None) -> Path:
    path = path or profile_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"provider": row["provider"], "precision": row["precision"], "threads": row["threads"],
               "size": row["size"], "target_fps": target_fps, "measured_fps": row["pipeline_ms"]["fps"],
               "pipeline_ms_median": row["pipeline_ms"]["median"], "device": fingerprint}
    path.write_text(json.dumps(profile, indent=1))
    return path


def load_profile(path: Path | None = None) -> dict | None:
    """The saved profile, or None if there is none.

    Raises:
        ConfigError: the file exists but is not a valid profile (says to re-run tune).
    """
    path = path or profile_path()
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        return {k: data[k] for k in ("provider", "precision", "threads")}
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"tuning profile {path} is damaged; run `edgeseg tune` again or delete it") from None
