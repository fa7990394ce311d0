"""Read an extract into raw rows, each with the row number a person would look up.

Row numbers are what a data officer sees when they open the file: the CSV line
number (header = 1) or the spreadsheet row. Readers never guess types: every cell
stays as the text (or, for xlsx, the value) the file holds, and parsing happens in
validation where a bad cell becomes a reason, not a crash.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loaders.mapping import MappingError, SourceMapping

csv.field_size_limit(10_000_000)


@dataclass(frozen=True, slots=True)
class RawRow:
    file: str  # relative to the load directory
    row: int
    values: dict[str, object]


class ReadError(ValueError):
    """The file cannot be read at all (not a row problem)."""


def read_rows(mapping: SourceMapping, path: Path, relname: str) -> Iterator[RawRow]:
    """Rows of one file; raises MappingError when the header lacks mapped columns."""
    if mapping.format == "xml":
        from loaders.readers_xml import read_xml  # it imports this module

        yield from read_xml(mapping, path, relname)
    elif mapping.format == "xlsx":
        yield from _read_xlsx(mapping, path, relname)
    else:
        yield from _read_csv(mapping, path, relname)


def _read_csv(mapping: SourceMapping, path: Path, relname: str) -> Iterator[RawRow]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"{relname}: cannot read: {exc}") from None
    try:
        text = raw.decode(mapping.encoding)
    except (UnicodeDecodeError, LookupError):
        text = raw.decode("cp1252", errors="replace")  # the usual Windows export
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    header: list[str] | None = None
    line = 0
    for cells in reader:
        before, line = line, reader.line_num
        if header is None:
            if line < mapping.header_row:
                continue
            header = [c.strip() for c in cells]
            mapping.check_header(header, path)
            continue
        if not any(c.strip() for c in cells):
            continue
        values: dict[str, object] = dict(zip(header, cells, strict=False))
        if len(cells) > len(header):
            values["__extra__"] = cells[len(header) :]
        # the reader hands over every line (a blank one as an empty row), so a record
        # starts on the line after the last one: cells running over lines, ended by
        # LF, CR or CR LF, are all counted
        yield RawRow(relname, before + 1, values)
    if header is None:
        mapping.check_header([], path)


def _read_xlsx(mapping: SourceMapping, path: Path, relname: str) -> Iterator[RawRow]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ReadError(f"{relname}: not a readable xlsx workbook ({exc})") from None
    try:
        if mapping.sheet:
            if mapping.sheet not in book.sheetnames:
                raise MappingError(
                    f"{mapping.path}: sheet {mapping.sheet!r} not in {path.name} "
                    f"(it has: {', '.join(book.sheetnames)})"
                )
            sheet = book[mapping.sheet]
        else:
            sheet = book.worksheets[0]
        header: list[str] | None = None
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if header is None:
                if number < mapping.header_row:
                    continue
                header = ["" if c is None else str(c).strip() for c in cells]
                mapping.check_header(header, path)
                continue
            if all(c is None or str(c).strip() == "" for c in cells):
                continue
            yield RawRow(relname, number, dict(zip(header, cells, strict=False)))
        if header is None:
            mapping.check_header([], path)
    finally:
        book.close()
