"""Writing a return's XML one element a line, knowing each element's line number.

The loaders number an XML row by the line its element starts on; the truth must use
the same numbers, so the writer counts lines as it goes rather than serialising a
tree it cannot number.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.sax.saxutils import escape


class XmlOut:
    def __init__(self) -> None:
        self.lines: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>']
        self.depth = 0

    @property
    def line(self) -> int:
        """The number the next line written will have."""
        return len(self.lines) + 1

    def open(self, tag: str) -> int:
        number = self.line
        self.lines.append("  " * self.depth + f"<{tag}>")
        self.depth += 1
        return number

    def close(self, tag: str) -> None:
        self.depth -= 1
        self.lines.append("  " * self.depth + f"</{tag}>")

    def leaf(self, tag: str, value: object) -> int:
        """An element holding text; nothing at all for a blank value."""
        number = self.line
        if value is None or value == "":
            return number
        text = value.strftime("%Y-%m-%d") if isinstance(value, dt.date) else str(value)
        self.lines.append("  " * self.depth + f"<{tag}>{escape(text)}</{tag}>")
        return number

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
