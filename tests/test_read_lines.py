"""A CSV file read again line by line: a line that is, byte for byte, one its last
reading made a record of alone is that record, unparsed; whatever the file's lines
hold, the outcome is what a fresh reading of the whole file gives (the ground truth
here: a full load's reading, which parses and validates every row)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loaders.extracts import Extract, FileOutcome, earlier_records
from loaders.intake import Reading
from loaders.mapping import load_mappings
from loaders.readers import Lines, RawRow, SameLine, read_rows

AS_OF = dt.date(2026, 11, 2)
HEADER = (
    b"EPISODE_ID,PERSON_ID,EPISODE_TYPE,START_DATE,END_DATE,REASON,WORKER_ID,TEAM,"
    b"PLACEMENT_TYPE,PLACEMENT_LA"
)
ROWS = [  # lines 2 to 6 of the file
    b"0001,100001,CIN,01-Jan-2020,,N1,W1,East,,",
    b'0002,100002,CIN,01-Jan-2020,,N1,W1,"East, North",,',
    b"0003,100003,CPP,03-Mar-2021,04-Apr-2022,N2,W2,West,,",
    b"0004,100004,CIN,soon,,N1,W1,East,,",  # no start: quarantined
    b"0005,100005,LAC,05-May-2019,,,W3,East,Foster placement,Northmere",
]


def _episodes() -> Extract:
    mapping = next(m for m in load_mappings(None) if m.source == "social_care_episodes")
    return Extract(mapping, Path(), "social_care/episodes.csv")


def _read(loads: Path, path: Path, body: bytes, *, full: bool = False) -> FileOutcome:
    path.write_bytes(body)
    extract = _episodes()
    extract = Extract(extract.mapping, path, extract.relname)
    reading = Reading(loads, AS_OF, full=full)
    (outcome,) = reading.outcomes([extract], workers=1)
    reading.save()
    return outcome


def _file(rows: list[bytes], end: bytes = b"\n", header: bytes = HEADER) -> bytes:
    return end.join([header, *rows]) + end


def test_lines_found_again_are_not_parsed(tmp_path: Path) -> None:
    """Line 4 changed: the reader parses it alone and gives lines 2, 3, 5 and 6 (each a
    record's line then: line 5 was refused, so it is parsed) as the records they were."""
    path = tmp_path / "episodes.csv"
    kept = _read(tmp_path / "loads", path, _file(ROWS))
    rows = [*ROWS]
    rows[2] = rows[2].replace(b"N2", b"N3")
    path.write_bytes(_file(rows))
    known = earlier_records(Reading(tmp_path / "loads", AS_OF)._earlier(_episodes()))
    assert known is not None
    lines = Lines(known.head, known.by_line)
    mapping = _episodes().mapping
    got = list(read_rows(mapping, path, "social_care/episodes.csv", lines=lines))
    assert [(type(r).__name__, r.row) for r in got] == [
        ("SameLine", 2),
        ("SameLine", 3),
        ("RawRow", 4),
        ("RawRow", 5),
        ("SameLine", 6),
    ]
    same = [r for r in got if isinstance(r, SameLine)]
    assert [kept.records[r.index].row for r in same] == [2, 3, 6]
    assert isinstance(got[2], RawRow) and got[2].values["REASON"] == "N3"


CHANGES = {
    # a changed line with a quoted cell over two lines: not a row of its own
    "a cell over lines": lambda rows: [
        rows[0],
        b'0002,100002,CIN,01-Jan-2020,,N1,W1,"East\nNorth",,',
        *rows[2:],
    ],
    # two quotes, yet a cell left open at the line's end (the first is inside a cell)
    "a quote inside a cell, then a cell opened": lambda rows: [
        rows[0],
        b'0002,100002,CIN,01-Jan-2020,,N1,W1,Ea"st,"North',
        b'more",',
        *rows[2:],
    ],
    # the last line parsed opens a cell never closed: the lines after it are in it
    "a cell opened, never closed": lambda rows: [
        *rows[:4],
        b'0006,100006,CIN,01-Jan-2020,,N1,W1,"East',
        rows[4],
    ],
    "lines moved and one twice": lambda rows: [rows[4], rows[0], rows[2], rows[0], rows[1]],
    "blank lines between": lambda rows: [rows[0], b"", b",,,", rows[1], *rows[2:]],
    "the last line changed": lambda rows: [*rows[:4], rows[4] + b" "],
    "the header row again": lambda rows: [*rows[:2], HEADER, *rows[2:]],
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_file_read_again_reads_as_a_fresh_reading(tmp_path: Path, change: str) -> None:
    path = tmp_path / "episodes.csv"
    _read(tmp_path / "loads", path, _file(ROWS))
    body = _file(CHANGES[change](ROWS))
    again = _read(tmp_path / "loads", path, body)
    assert again == _read(tmp_path / "fresh", path, body, full=True)


@pytest.mark.parametrize(
    ("first", "then"),
    [
        # the same lines under a header whose columns are in another order
        (_file(ROWS), _file(ROWS, header=HEADER.replace(b"REASON,WORKER_ID", b"WORKER_ID,REASON"))),
        # line ends from LF to CR LF, and a last line with none that gains one
        (_file(ROWS)[:-1], _file(ROWS, end=b"\r\n")),
        # a cell over lines in the last reading, the file otherwise the same
        (_file([*ROWS, b'0006,100006,CIN,01-Jan-2020,,N1,W1,"East\nNorth",,']), None),
        # a line not in the mapping's encoding (cp1252 has no 0x81): read otherwise
        (_file(ROWS), _file([*ROWS[:4], ROWS[4].replace(b"Northmere", b"North\x81mere")])),
        # a byte-order mark inside the file
        (_file(ROWS), _file([*ROWS[:2], b"\xef\xbb\xbf" + ROWS[2], *ROWS[3:]])),
    ],
)
def test_lines_are_taken_only_where_they_read_the_same(
    tmp_path: Path, first: bytes, then: bytes | None
) -> None:
    path = tmp_path / "episodes.csv"
    _read(tmp_path / "loads", path, first)
    body = then if then is not None else first.replace(b"W3", b"W4")
    again = _read(tmp_path / "loads", path, body)
    assert again == _read(tmp_path / "fresh", path, body, full=True)
    later = _read(tmp_path / "loads", path, body.replace(b"W1", b"W5"))
    assert later == _read(tmp_path / "fresh2", path, body.replace(b"W1", b"W5"), full=True)
