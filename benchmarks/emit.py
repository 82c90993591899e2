"""Print a benchmark's result as JSON and keep it in a file."""
from __future__ import annotations

import json
from pathlib import Path

from edgeseg.outputs import write_text_atomic


def emit_json(result: dict, path: str | Path | None) -> None:
    """Print `result` as indented JSON and, given a path, write it there too (atomically)."""
    text = json.dumps(result, indent=1)
    print(text)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text + "\n")
