"""Each file's row hashes are kept beside its reading and read only when the file is
read again: a night compares a file's rows with its own last ones, whichever other
files it reads or skips, and a record kept in the earlier form is no record."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

from loaders import intake
from loaders.extracts import Extract
from loaders.intake import ROWS, Intake, Reading, RowChanges, extract_key
from loaders.mapping import load_mappings

AS_OF = dt.date(2026, 11, 2)
HEADER = (
    "EPISODE_ID,PERSON_ID,EPISODE_TYPE,START_DATE,END_DATE,REASON,WORKER_ID,TEAM,"
    "PLACEMENT_TYPE,PLACEMENT_LA"
)


def _row(n: int, reason: str = "N1") -> str:
    return f"{n:04d},{100000 + n},CIN,01-Jan-2020,,{reason},W1,East,,"


def _write(path: Path, rows: list[str]) -> None:
    path.write_text("\n".join([HEADER, *rows]) + "\n")


def _night(loads: Path, extracts: list[Extract]) -> tuple[Reading, dict[str, RowChanges]]:
    """A load's reading, then its record saved as a load saves it; with its changes."""
    reading = Reading(loads, AS_OF)
    list(reading.outcomes(extracts, workers=1))
    changes = reading.changes
    reading.pack()
    reading.save()
    return reading, changes


def test_each_file_read_again_is_compared_with_its_own_rows(tmp_path: Path) -> None:
    """Three files of the same rows: the next night one has a row changed, one a row
    added and one a row removed, and each is compared with its own rows (rows taken
    from another file, or none, would count other rows or every row)."""
    mapping = next(m for m in load_mappings(None) if m.source == "social_care_episodes")
    names = ["a.csv", "b.csv", "c.csv", "d.csv"]
    extracts = [Extract(mapping, tmp_path / n, f"social_care/{n}") for n in names]
    same = [_row(n) for n in range(1, 6)]  # lines 2 to 6
    for n in names:
        _write(tmp_path / n, same)
    loads = tmp_path / "loads"
    _night(loads, extracts)
    record = json.loads(gzip.decompress((loads / intake.INTAKE_FILE).read_bytes()))
    assert "rows" not in record["files"][extract_key(extracts[0])]  # kept beside
    _write(tmp_path / "a.csv", [*same[:2], _row(3, "N2"), *same[3:]])  # line 4 changed
    _write(tmp_path / "b.csv", [*same, _row(6)])  # line 7 added
    _write(tmp_path / "c.csv", same[:4])  # line 6 removed
    night, changes = _night(loads, extracts)
    assert [e.relname for e in night.plan.skipped] == ["social_care/d.csv"]
    found = {
        e.relname: (c.added, c.changed, c.removed, c.unchanged)
        for e in extracts
        if (c := changes.get(extract_key(e))) is not None
    }
    assert found == {
        "social_care/a.csv": ([], [4], [], 4),
        "social_care/b.csv": ([7], [], [], 5),
        "social_care/c.csv": ([], [], [6], 4),
    }
    # each file's rows as now kept: read back, the rows a fresh reading records
    kept = Intake.read(loads)
    for extract in extracts:
        fresh = Reading(None, AS_OF)
        (outcome,) = fresh.outcomes([extract], workers=1)
        rows = intake.file_rows(mapping.source, outcome.records, outcome.quarantined)
        assert kept.rows(extract_key(extract)) == rows, extract.relname
    # the files kept are those the record names, each reading with its rows
    wanted = {f.reading for f in kept.files.values()}
    assert {p.name for p in (loads / intake.READINGS).iterdir()} == wanted | {
        w + ROWS for w in wanted
    }


def test_rows_kept_cut_short_are_no_rows(tmp_path: Path) -> None:
    rows = {2: "s:00", 3: "s:0a", 10: "s:ff"}
    path = tmp_path / "x.rows"
    path.write_bytes(intake.pack_rows(rows))
    assert intake.unpack_rows(path) == rows
    path.write_bytes(intake.pack_rows(rows)[:20])
    assert intake.unpack_rows(path) == {}
    assert intake.unpack_rows(tmp_path / "none") == {}


def test_a_record_of_the_earlier_form_is_no_record(tmp_path: Path) -> None:
    """A record kept with every row's hash in it (version 1) is not read: the next load
    reads every file in full, as after an upgrade of the reading code."""
    body = {
        "version": 1,
        "files": {
            "x|s": {
                "sha256": "0",
                "mapping": "0",
                "as_of": "",
                "dated": False,
                "rows": {"2": "s:1"},
                "reading": "",
            }
        },
    }
    (tmp_path / intake.INTAKE_FILE).write_bytes(gzip.compress(json.dumps(body).encode()))
    assert Intake.read(tmp_path).files == {}
    assert Reading(tmp_path, AS_OF).full
