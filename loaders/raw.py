"""What every reader gives: raw rows, and the error for a file that cannot be read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RawRow:
    file: str  # relative to the load directory
    row: int
    values: dict[str, object]
    problem: str | None = None  # the reader's own reason to quarantine the row


class ReadError(ValueError):
    """The file cannot be read at all (not a row problem)."""
