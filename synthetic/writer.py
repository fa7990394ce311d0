"""Writing one extract file and its ground truth, byte-identically for a seed.

Rows are numbered as a person opening the file would see them (a CSV's header is
line 1, so the first data row is 2; in a spreadsheet, the Excel row number); the
loaders report the same numbers, so truth and quarantine can be compared directly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from synthetic.mess import Defect


@dataclass
class RowTruth:
    person: str | None
    entity: str = ""
    key: str = ""  # the source system's own record key
    related: str = ""  # other people named in the row: "role:pid;role:pid"
    defects: list[Defect] = field(default_factory=list)


@dataclass
class TruthSink:
    source_rows: list[list[str]] = field(default_factory=list)
    defects: list[list[str]] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)


class Extract:
    """Rows for one file; duplicates are added at write time and recorded."""

    def __init__(
        self,
        source: str,
        relpath: str,
        columns: list[str],
        rng: random.Random,
        *,
        duplicate_rate: float = 0.0,
        encoding: str = "utf-8",
        newline: str = "\r\n",
        title: str | None = None,
        sheet: str = "Sheet1",
    ) -> None:
        self.source = source
        self.relpath = relpath
        self.columns = columns
        self.rng = rng
        self.duplicate_rate = duplicate_rate
        self.encoding = encoding
        self.newline = newline
        self.title = title
        self.sheet = sheet
        self.rows: list[tuple[list[object], RowTruth]] = []

    def add(self, values: dict[str, object], truth: RowTruth) -> None:
        unknown = set(values) - set(self.columns)
        if unknown:
            raise KeyError(f"{self.relpath}: no columns {sorted(unknown)}")
        self.rows.append(([values.get(c, "") for c in self.columns], truth))

    def _with_duplicates(self) -> list[tuple[list[object], RowTruth, int | None]]:
        """Each row once, some twice: a copy lands a little later in the file."""
        out: list[tuple[list[object], RowTruth, int | None]] = []
        pending: list[tuple[int, list[object], RowTruth, int]] = []
        for index, (values, truth) in enumerate(self.rows):
            out.append((values, truth, None))
            if self.duplicate_rate and self.rng.random() < self.duplicate_rate:
                pending.append((index + self.rng.randint(0, 30), values, truth, len(out) - 1))
            while pending and pending[0][0] <= index:
                _, v, t, original = pending.pop(0)
                out.append((v, t, original))
        for _, v, t, original in pending:
            out.append((v, t, original))
        return out

    def write(self, root: Path, sink: TruthSink) -> None:
        rows = self._with_duplicates()
        path = root / self.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        first_row = self._first_data_row()
        if path.suffix == ".xlsx":
            _write_xlsx(path, self.columns, [r[0] for r in rows], self.title, self.sheet)
        else:
            buffer = io.StringIO(newline="")
            writer = csv.writer(buffer, lineterminator=self.newline)
            writer.writerow(self.columns)
            writer.writerows([_text(v) for v in r[0]] for r in rows)
            path.write_bytes(buffer.getvalue().encode(self.encoding, errors="replace"))
        self.record_truth(sink, self.relpath, rows, first_row)

    def record_truth(
        self,
        sink: TruthSink,
        relpath: str,
        rows: list[tuple[list[object], RowTruth, int | None]],
        first_row: int,
    ) -> None:
        """Each written row's truth and defects (``rows`` as ``_with_duplicates``)."""
        for offset, (_, truth, original) in enumerate(rows):
            number = first_row + offset
            kinds = [d.kind for d in truth.defects]
            if original is not None:
                kinds = [*kinds, "duplicate_row"]
                sink.defects.append(
                    [
                        self.source,
                        relpath,
                        str(number),
                        "*",
                        "duplicate_row",
                        str(first_row + original),
                        "",
                    ]
                )
            sink.source_rows.append(
                [
                    self.source,
                    relpath,
                    str(number),
                    truth.person or "",
                    truth.entity,
                    truth.key,
                    truth.related,
                    ";".join(dict.fromkeys(kinds)),
                ]
            )
            for d in truth.defects:
                sink.defects.append(
                    [
                        self.source,
                        relpath,
                        str(number),
                        d.field,
                        d.kind,
                        d.true_value,
                        d.written_value,
                    ]
                )
        sink.files[relpath] = len(rows)

    def _first_data_row(self) -> int:
        return 4 if self.title else 2


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)


def _write_xlsx(
    path: Path, columns: list[str], rows: list[list[object]], title: str | None, sheet: str
) -> None:
    """An xlsx whose bytes depend only on its content (fixed times inside the zip)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    ws = book.active
    ws.title = sheet
    if title:
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([])
    ws.append(columns)
    for values in rows:
        ws.append(values)
    for cell in ws[3 if title else 1]:
        cell.font = Font(bold=True)
    for column in ws.iter_cols(min_row=4 if title else 2):
        for cell in column:
            if isinstance(cell.value, dt.date):
                cell.number_format = "DD/MM/YYYY"
    save_workbook(book, path)


def save_workbook(book: object, path: Path) -> None:
    """Save an openpyxl workbook so its bytes depend only on its content."""
    book.properties.created = FIXED_TIME  # type: ignore[attr-defined]
    book.properties.modified = FIXED_TIME  # type: ignore[attr-defined]
    book.properties.creator = "Northmere SEND Service"  # type: ignore[attr-defined]
    raw = io.BytesIO()
    book.save(raw)  # type: ignore[attr-defined]
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fixed_core(data)
            clean = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            clean.compress_type = zipfile.ZIP_DEFLATED
            clean.external_attr = 0o600 << 16
            dst.writestr(clean, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fixed.getvalue())


def _fixed_core(data: bytes) -> bytes:
    """openpyxl stamps 'modified' with the current time when saving; pin it."""
    import re

    text = data.decode()
    text = re.sub(
        r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
        r"\g<1>2026-01-01T00:00:00Z\g<2>",
        text,
    )
    text = re.sub(
        r"(<dcterms:created[^>]*>)[^<]*(</dcterms:created>)",
        r"\g<1>2026-01-01T00:00:00Z\g<2>",
        text,
    )
    return text.encode()
