"""Replace a generated block of README.md between two HTML-comment markers."""
from __future__ import annotations

from pathlib import Path


def update_readme(readme: Path, table: str, begin: str, end: str, heading: str) -> None:
    """Put `table` between `begin` and `end` in the README; append it under `heading` if the markers are absent."""
    text = readme.read_text()
    block = f"{begin}\n{table}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text += f"\n## {heading}\n\n{block}\n"
    readme.write_text(text)
