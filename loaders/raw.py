"""What every reader gives: raw rows, and the error for a file that cannot be read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to make, a row
class RawRow:  # at a time (nothing changes a row once read)
    file: str  # relative to the load directory
    row: int
    values: dict[str, object]
    problem: str | None = None  # the reader's own reason to quarantine the row


@dataclass(slots=True)
class SameLine:
    """A row whose line is, byte for byte, one the file's last reading made a record
    of, unparsed (:class:`loaders.readers.Lines`): that record again, at this row."""

    file: str
    row: int
    index: int  # the record's place in the last reading


class ReadError(ValueError):
    """The file cannot be read at all (not a row problem)."""
