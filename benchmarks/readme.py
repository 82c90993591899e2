"""Replace a generated block of README.md between two HTML-comment markers."""
from __future__ import annotations

from pathlib import Path


def update_readme(readme: Path, table: str, begin: str, end: str, heading: str | None = None) -> None:
    """Put `table` between `begin` and `end` in the README, written atomically.

    Where the markers are absent, the block is appended under `## heading`, or, with no heading,
    SystemExit says where to add them.
    """
    text = readme.read_text()
    block = f"{begin}\n{table.rstrip()}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    elif heading:
        text += f"\n## {heading}\n\n{block}\n"
    else:
        raise SystemExit(f"{readme} has no {begin} ... {end} markers; add them where the table belongs")
    tmp = readme.with_name(readme.name + ".partial")
    tmp.write_text(text)
    tmp.replace(readme)
