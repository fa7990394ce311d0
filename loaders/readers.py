"""Read an extract into raw rows, each with the row number a person would look up.

Row numbers are what a data officer sees when they open the file: the CSV line
number (header = 1) or the spreadsheet row. Readers never guess types: every cell
stays as the text (or, for xlsx, the value) the file holds, and parsing happens in
validation where a bad cell becomes a reason, not a crash.

Nothing is lost without a word. A file that cannot be read at all raises
:class:`ReadError` (the load quarantines that file and goes on); a row the reader
itself cannot stand behind carries a ``problem`` (validation quarantines it with that
reason); and what the reader repaired or decided on its own - rows decoded in another
encoding, a workbook's stale size, byte-order marks inside the file - is written in
the file's :class:`ReadNotes`, which the load report shows.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError, iterparse

from loaders.mapping import MappingError, SourceMapping
from loaders.raw import RawRow, ReadError, SameLine
from loaders.readers_xml import read_xml

csv.field_size_limit(2**31 - 1)  # cells are measured against ReadLimits instead

# Windows' usual export, then bytes as themselves: what a row that is not in the file's
# own encoding is read as (and listed in the report).
FALLBACK_ENCODINGS = ("cp1252", "latin-1")
# Files that are plainly not CSV text, by their first bytes.
MAGIC = {
    b"PK\x03\x04": "a zip archive (an xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an old Excel or Word file (.xls/.doc)",
    b"%PDF": "a PDF",
    b"\x1f\x8b": "a gzip archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}
SHOWN_LINES = 20  # line numbers a note lists before "and N more"


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """What one file may hold before the reader refuses it (or a cell of it)."""

    max_cell_chars: int = 1_000_000  # a longer cell quarantines its row
    max_workbook_bytes: int = 2_000_000_000  # an xlsx that expands to more is refused
    max_zip_ratio: int = 200  # a workbook part expanding more than this many times ...
    zip_ratio_from_bytes: int = 16_000_000  # ... to more than this is refused


@dataclass(slots=True)
class ReadNotes:
    """What the reader decided or repaired in one file, for the load report, and rows
    it knows of but could not read (counted as read and quarantined)."""

    notes: list[str] = field(default_factory=list)
    unread_rows: int = 0
    unread_reason: str = ""


def read_rows(
    mapping: SourceMapping,
    path: Path,
    relname: str,
    *,
    limits: ReadLimits | None = None,
    notes: ReadNotes | None = None,
    lines: Lines | None = None,
) -> Iterator[RawRow | SameLine]:
    """Rows of one file; raises ReadError when the file cannot be read at all (empty,
    binary, no header with the mapped columns, a broken or oversized workbook).
    ``lines``: a CSV file's lines as digests, what its last reading found and what this
    one finds (:class:`Lines`); a line that is one of the last reading's records is
    given as a :class:`SameLine`, unparsed."""
    limits = limits or ReadLimits()
    notes = notes if notes is not None else ReadNotes()
    if mapping.format == "xml":
        yield from read_xml(mapping, path, relname)
    elif mapping.format == "xlsx":
        yield from _read_xlsx(mapping, path, relname, limits, notes)
    else:
        yield from _read_csv(mapping, path, relname, limits, notes, lines)


def _check_header(mapping: SourceMapping, header: list[str], path: Path, relname: str) -> None:
    try:
        mapping.check_header(header, path)
    except MappingError as exc:
        text = str(exc)
        raise ReadError(f"{relname}: wrong header: {text[:400]}") from None


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:SHOWN_LINES])
    more = len(numbers) - SHOWN_LINES
    return shown + (f" and {more:,} more" if more > 0 else "")


# -- CSV ----------------------------------------------------------------------------


def _read_csv(
    mapping: SourceMapping,
    path: Path,
    relname: str,
    limits: ReadLimits,
    notes: ReadNotes,
    lines: Lines | None = None,
) -> Iterator[RawRow | SameLine]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"{relname}: cannot read: {exc.strerror or exc}") from None
    if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ReadError(f"{relname}: the file is empty")
    for magic, kind in MAGIC.items():
        if raw.startswith(magic):
            raise ReadError(f"{relname}: not a CSV text file: it is {kind}")
    if _looks_binary(raw[:4096]) and not _utf16(raw, mapping.encoding):
        raise ReadError(f"{relname}: not a CSV text file: it holds binary data")
    text = _decode(raw, mapping.encoding, relname, notes)
    text = _without_inner_marks(text, notes)
    # a line's bytes stand for its text only when the whole file was read as it is
    if lines is not None and (notes.notes or not _by_line(mapping.encoding)):
        lines = None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    big = len(text) > limits.max_cell_chars  # else no cell can be over the limit
    header: list[str] | None = None
    shape = _Shape(relname, [], [], 0, big, limits)
    raw_lines: list[bytes] = []
    line = 0
    while True:
        before = line
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if reader.line_num == before:  # no progress: the rest cannot be read
                raise ReadError(f"{relname}: unreadable after line {before}: {exc}") from None
            line = reader.line_num
            yield RawRow(relname, before + 1, {}, f"unreadable CSV row: {exc}")
            continue
        line = reader.line_num
        if header is None:
            if line < mapping.header_row:
                continue
            header = [c.strip() for c in cells]
            _check_header(mapping, header, path, relname)
            mapped = [header.index(c) for c in mapping.mapped if c in header]
            shape = _Shape(relname, header, mapped, mapped[0] if mapped else 0, big, limits)
            if lines is not None:
                raw_lines = raw.splitlines(keepends=True)  # as the CSV reader counts lines
                lines.head = line_key(b"".join(raw_lines[:line]))
                if lines.before and lines.head == lines.head_before:
                    again = _again(mapping, raw_lines, line, shape, lines)
                    if again is not None:
                        yield from again
                        return
            continue
        # the reader hands over every line (a blank one as an empty row), so a record
        # starts on the line after the last one: cells running over lines, ended by
        # LF, CR or CR LF, are all counted
        number = before + 1
        row = shape.row(number, cells)
        if row is not None:
            if lines is not None and line == number:  # a row of one line
                lines.rows[number] = line_key(raw_lines[number - 1])
            yield row
    if header is None:
        raise _no_header(mapping, relname)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a CSV file's rows are read against: its header, the mapped columns' places
    in it (the first one's alone, to tell most rows from the header quickly), and
    whether a cell may be over the limit."""

    relname: str
    header: list[str]
    mapped: list[int]
    first: int
    big: bool
    limits: ReadLimits

    def row(self, number: int, cells: list[str]) -> RawRow | None:
        """The row of the record on line ``number``; None for a blank one."""
        if not "".join(cells).strip():  # no cell holds anything but spaces
            return None
        header, limits = self.header, self.limits
        if self.big and max(map(len, cells)) > limits.max_cell_chars:
            return RawRow(self.relname, number, {}, _too_big(header, cells, limits))
        values: dict[str, object] = dict(zip(header, cells, strict=False))
        if len(cells) > len(header):
            values["__extra__"] = cells[len(header) :]
        problem = None
        first, mapped = self.first, self.mapped
        if (  # the first mapped cell tells most rows from the header
            mapped
            and first < len(cells)
            and cells[first].strip() == header[first]
            and all(i < len(cells) and cells[i].strip() == header[i] for i in mapped)
        ):
            problem = "the header row again, inside the file (were two files joined?)"
        return RawRow(self.relname, number, values, problem)


LINE_KEY = 16  # bytes of a line's digest (BLAKE2b)
NO_LINE = bytes(LINE_KEY)  # a record's line digest when it has none to be found by
_BY_LINE = {"utf-8", "utf-8-sig", "ascii", "cp1252", "iso8859-1"}  # a line's bytes its own


def line_key(line: bytes) -> bytes:
    """A line's digest (its bytes, line end included), by which a reading knows it again."""
    return hashlib.blake2b(line, digest_size=LINE_KEY).digest()


def _by_line(encoding: str) -> bool:
    """Whether each line of a file in ``encoding`` decodes on its own to its part of the
    whole text (line ends are single bytes nothing else contains)."""
    try:
        return codecs.lookup(encoding).name in _BY_LINE
    except LookupError:
        return False


@dataclass(slots=True)
class Lines:
    """A CSV file's lines as digests (:func:`line_key`, of each line's bytes with its
    end), to read it again: what its last reading kept (``head_before``: the lines up to
    the header's end; ``before``: a line's -> the place of the record made of that line
    alone) and what this reading finds (``head``; ``rows``: row number -> its line's,
    for a row on one line). Kept only for a file read whole in an encoding whose lines
    are their own (no line read otherwise, no byte-order mark inside)."""

    head_before: bytes = b""
    before: dict[bytes, int] = field(default_factory=dict)
    head: bytes = b""
    rows: dict[int, bytes] = field(default_factory=dict)


def _again(
    mapping: SourceMapping, raw_lines: list[bytes], header_end: int, shape: _Shape, lines: Lines
) -> list[RawRow | SameLine] | None:
    """The rows after the header of a file whose header is its last reading's: a line
    that was a record alone is that record (:class:`SameLine`), the rest parsed. Each
    row starts where the line before ended (a line given as a record was one whole
    then, and each line parsed must be one whole, checked): so every row starts on the
    line it would in a reading of the whole file, and reads the same. None when a line
    parsed is not a row of its own (a cell running over lines, or a fault: the file is
    then read whole)."""
    keys = list(map(line_key, raw_lines[header_end:]))
    before = lines.before
    found = [before.get(k) for k in keys]
    unparsed = [raw_lines[header_end + i] for i, f in enumerate(found) if f is None]
    texts = [chunk.decode(mapping.encoding) for chunk in unparsed]
    # strict: a line ending inside a quoted cell is an error, never a row cut short
    reader = csv.reader(texts, delimiter=mapping.delimiter, strict=True)
    parsed: list[list[str]] = []
    try:
        for cells in reader:
            parsed.append(cells)
            if reader.line_num != len(parsed):  # a row over several lines
                return None
    except csv.Error:
        return None
    if len(parsed) != len(texts):
        return None
    out: list[RawRow | SameLine] = []
    rest = iter(parsed)
    relname = shape.relname
    for i, (key, index) in enumerate(zip(keys, found, strict=True)):
        number = header_end + i + 1
        if index is not None:
            out.append(SameLine(relname, number, index))
            lines.rows[number] = key
            continue
        row = shape.row(number, next(rest))
        if row is not None:
            lines.rows[number] = key
            out.append(row)
    return out


def _no_header(mapping: SourceMapping, relname: str) -> ReadError:
    return ReadError(
        f"{relname}: no header row: the mapping expects it at row {mapping.header_row}, "
        "and the file ends before"
    )


def _utf16(raw: bytes, encoding: str) -> bool:
    return raw.startswith((b"\xff\xfe", b"\xfe\xff")) or "16" in encoding


def _too_big(header: list[str], cells: list[str], limits: ReadLimits) -> str:
    where = next(i for i, c in enumerate(cells) if len(c) > limits.max_cell_chars)
    name = header[where] if where < len(header) else f"cell {where + 1}"
    return (
        f"{name}: the cell holds {len(cells[where]):,} characters, over the limit of "
        f"{limits.max_cell_chars:,} (setting JIGSAW_MAX_CELL_CHARS)"
    )


def _decode(raw: bytes, encoding: str, relname: str, notes: ReadNotes) -> str:
    """The file's text in the mapping's encoding. Lines that are not in it are read in
    the fallback encoding and listed in ``notes``; a file most of whose non-ASCII lines
    are not in it is read whole in the fallback encoding, with a note saying so."""
    if _utf16(raw, "") and "16" not in encoding:
        notes.notes.append(f"read as UTF-16 (the file starts with its mark), not {encoding}")
        encoding = "utf-16"
    try:
        return raw.decode(encoding)
    except LookupError:
        raise ReadError(f"{relname}: the mapping's encoding {encoding!r} is unknown") from None
    except UnicodeDecodeError:
        pass
    if not "a\n".encode(encoding).endswith(b"a\n"):  # lines cannot be split as bytes
        raise ReadError(f"{relname}: not text in the mapping's encoding {encoding}")
    texts: list[str] = []
    failed: list[int] = []
    foreign = 0  # lines with bytes outside ASCII
    lines = raw.splitlines(keepends=True)  # CR, LF and CR LF: as the CSV reader counts
    for number, chunk in enumerate(lines, start=1):
        if chunk.isascii():
            texts.append(chunk.decode("ascii"))
            continue
        foreign += 1
        try:
            texts.append(chunk.decode(encoding))
        except UnicodeDecodeError:
            failed.append(number)
            texts.append(_fallback(chunk)[0])
    if len(failed) * 2 > foreign:
        text, used = _fallback(raw)
        notes.notes.append(
            f"read as {used}: {len(failed):,} of its {foreign:,} lines with accented or "
            f"other non-ASCII letters are not {encoding} (set encoding: {used} in the "
            "mapping if this file always comes so)"
        )
        return text
    used = _fallback(b"".join(lines[n - 1] for n in failed))[1]
    notes.notes.append(
        f"{len(failed):,} line(s) not in {encoding}, read as {used}: lines {_lines(failed)}"
    )
    return "".join(texts)


def _fallback(raw: bytes) -> tuple[str, str]:
    for name in FALLBACK_ENCODINGS:
        try:
            return raw.decode(name), name
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


_CONTROL = bytes(b for b in range(32) if b not in b"\t\r\n")


def _looks_binary(head: bytes) -> bool:
    """Control bytes other than tab and line ends in a tenth of the file's start."""
    return bool(head) and (len(head) - len(head.translate(None, _CONTROL))) * 10 > len(head)


_MARK_IN_TEXT = re.compile("\ufeff")


def _without_inner_marks(text: str, notes: ReadNotes) -> str:
    """Byte-order marks inside the text (files joined end to end) are removed: one
    before a header or a name would make it another word."""
    if "\ufeff" not in text:
        return text
    lines = [text.count("\n", 0, m.start()) + 1 for m in _MARK_IN_TEXT.finditer(text)]
    notes.notes.append(
        f"{len(lines):,} byte-order mark(s) inside the file removed (were files joined "
        f"together?): lines {_lines(lines)}"
    )
    return text.replace("\ufeff", "")


# -- xlsx ---------------------------------------------------------------------------


def _read_xlsx(
    mapping: SourceMapping, path: Path, relname: str, limits: ReadLimits, notes: ReadNotes
) -> Iterator[RawRow]:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    _check_archive(path, relname, limits)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ReadError(f"{relname}: not a readable xlsx workbook ({exc})") from None
    try:
        if mapping.sheet:
            if mapping.sheet not in book.sheetnames:
                raise ReadError(
                    f"{relname}: no sheet {mapping.sheet!r} (it has: "
                    f"{', '.join(book.sheetnames)}); the mapping {mapping.path} names it"
                )
            sheet = book[mapping.sheet]
        elif book.worksheets:
            sheet = book.worksheets[0]
        else:
            raise ReadError(f"{relname}: the workbook has no worksheet")
        scan = _scan_sheet(book, sheet, relname)
        # The size a workbook declares (<dimension ref>) is what openpyxl's read-only
        # mode reads up to; a stale one would cut rows off. Read to the real end.
        declared = sheet.max_row
        sheet.reset_dimensions()
        header: list[str] | None = None
        letters: dict[str, str] = {}
        last = 0
        rows = sheet.iter_rows(min_row=1, min_col=1, values_only=True)
        for number, cells in enumerate(rows, start=1):
            last = number
            if header is None:
                if number < mapping.header_row:
                    continue
                header = ["" if c is None else str(c).strip() for c in cells]
                _check_header(mapping, header, path, relname)
                letters = {
                    c: get_column_letter(header.index(c) + 1) for c in mapping.mapped if c in header
                }
                continue
            if number not in scan.formula_rows and all(
                c is None or str(c).strip() == "" for c in cells
            ):
                continue
            values = dict(zip(header, cells, strict=False))
            yield RawRow(
                relname, number, values, _xlsx_problem(values, number, letters, scan, limits)
            )
        if header is None:
            raise _no_header(mapping, relname)
        if declared is not None and declared < scan.last_row:
            notes.notes.append(
                f"the workbook says its sheet ends at row {declared}, but it holds rows to "
                f"{scan.last_row}: all were read"
            )
        unread = sum(1 for r in scan.rows_with_values if r > last)
        if unread:  # the independent count found rows the reader did not give
            notes.unread_rows += unread
            notes.unread_reason = (
                f"{unread:,} row(s) after row {last} are in the sheet but could not be "
                "read: open the file in Excel and save it again"
            )
    finally:
        book.close()


def _xlsx_problem(
    values: dict[str, object],
    number: int,
    letters: dict[str, str],
    scan: _SheetScan,
    limits: ReadLimits,
) -> str | None:
    problems = []
    for column, letter in letters.items():
        if f"{letter}{number}" in scan.formulas_without_value:
            problems.append(
                f"{column}: cell {letter}{number} holds a formula with no saved value "
                "(open the file in Excel and save it, or export values)"
            )
    for name, value in values.items():
        if isinstance(value, str) and len(value) > limits.max_cell_chars:
            problems.append(
                f"{name}: the cell holds {len(value):,} characters, over the limit of "
                f"{limits.max_cell_chars:,} (setting JIGSAW_MAX_CELL_CHARS)"
            )
    return "; ".join(problems) or None


def _check_archive(path: Path, relname: str, limits: ReadLimits) -> None:
    """Refuse a workbook that would expand past the limits (a zip bomb) before any
    part of it is read. Python's zipfile never inflates a part past the size its
    directory declares, so the declared sizes bound what reading can cost."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReadError(f"{relname}: not a readable xlsx workbook ({exc})") from None
    total = sum(p.file_size for p in parts)
    if total > limits.max_workbook_bytes:
        raise ReadError(
            f"{relname}: refused: the workbook expands to {total:,} bytes, over the limit of "
            f"{limits.max_workbook_bytes:,} (a zip bomb, or export it as CSV)"
        )
    for part in parts:
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > limits.zip_ratio_from_bytes and ratio > limits.max_zip_ratio:
            raise ReadError(
                f"{relname}: refused: its part {part.filename} expands {ratio:,.0f} times "
                f"to {part.file_size:,} bytes (a zip bomb?); real sheets expand under "
                f"{limits.max_zip_ratio} times"
            )


@dataclass(slots=True)
class _SheetScan:
    """The sheet's XML read on its own: which rows hold values (to check the reader's
    count against) and which cells hold a formula with no saved value (which
    ``data_only`` reading cannot tell from a blank)."""

    last_row: int = 0
    rows_with_values: list[int] = field(default_factory=list)
    formulas_without_value: set[str] = field(default_factory=set)
    formula_rows: set[int] = field(default_factory=set)  # rows holding any of those


def _scan_sheet(book: object, sheet: object, relname: str) -> _SheetScan:
    from openpyxl.utils import get_column_letter

    scan = _SheetScan()
    archive: zipfile.ZipFile = book._archive  # type: ignore[attr-defined]
    member: str = sheet._worksheet_path  # type: ignore[attr-defined]
    row = column = 0
    has_value = False
    try:
        with archive.open(member) as source:
            for event, elem in iterparse(source, events=("start", "end")):
                tag = elem.tag.rpartition("}")[2]
                if event == "start":
                    if tag == "row":
                        row = int(elem.get("r") or row + 1)
                        column = 0
                    continue
                if tag == "c":
                    ref = elem.get("r")
                    column = _column_of(ref) if ref else column + 1
                    kids = {k.tag.rpartition("}")[2] for k in elem}
                    if "f" in kids and "v" not in kids:
                        scan.formulas_without_value.add(ref or f"{get_column_letter(column)}{row}")
                        scan.formula_rows.add(row)
                        has_value = True
                    elif kids & {"v", "is"}:
                        has_value = True
                elif tag == "row":
                    scan.last_row = row
                    if has_value:
                        scan.rows_with_values.append(row)
                    has_value = False
                    elem.clear()
                elif tag == "sheetData":
                    break
    except (ParseError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ReadError(f"{relname}: the sheet cannot be read ({exc})") from None
    return scan


_LETTERS = re.compile(r"[A-Z]+")


def _column_of(ref: str) -> int:
    from openpyxl.utils import column_index_from_string

    found = _LETTERS.match(ref)
    return column_index_from_string(found.group()) if found else 0
