"""Each file's row hashes are kept beside its reading and read only when the file is
read again: a night compares a file's rows with its own last ones, whichever other
files it reads or skips, and a record kept in the earlier form is no record."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from loaders import intake
from loaders.extracts import Extract
from loaders.intake import ROWS, Intake, Reading, RowChanges, extract_key, tally
from loaders.mapping import load_mappings
from loaders.report import LoadReport

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


def test_rows_kept_cut_short_or_another_readings_are_not_known(tmp_path: Path) -> None:
    """Row hashes cut anywhere (inside the last hash too, where the count still holds),
    changed, or kept for another reading are not known, rather than rows compared."""
    rows = {2: "s:00aa", 3: "s:0a0a", 10: "s:ffff"}
    path = tmp_path / "x.rows"
    packed = intake.pack_rows(rows, "x")
    path.write_bytes(packed)
    assert intake.unpack_rows(path, "x") == rows
    for cut in (20, len(packed) - 2):
        path.write_bytes(packed[:cut])
        assert intake.unpack_rows(path, "x") is None, cut
    path.write_bytes(packed.replace(b"s:ffff", b"s:fffe"))
    assert intake.unpack_rows(path, "x") is None
    path.write_bytes(packed)
    assert intake.unpack_rows(path, "y") is None
    assert intake.unpack_rows(tmp_path / "none", "x") is None


def _spoil(loads: Path, extract: Extract, how: str, other: Extract) -> None:
    """The row hashes kept beside ``extract``'s reading: removed, cut inside the last
    hash (the count still holds) or replaced by ``other``'s."""
    kept = Intake.read(loads)
    folder = loads / intake.READINGS
    path = folder / (kept.files[extract_key(extract)].reading + ROWS)
    if how == "missing":
        path.unlink()
    elif how == "cut":
        path.write_bytes(path.read_bytes()[:-3])
    else:
        path.write_bytes((folder / (kept.files[extract_key(other)].reading + ROWS)).read_bytes())


@pytest.mark.parametrize("how", ["missing", "cut", "another"])
def test_rows_not_known_read_in_full_and_not_counted(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file read again whose kept row hashes are missing, cut or another reading's
    (a) is read in full (no earlier reading's records taken), its rows not counted and
    the report saying so; so is a file of unchanged bytes whose row hashes are missing
    (b: one present is read only once the file changes); the night keeps both files'
    rows again. On 9a53854 each of their rows counted as added (missing), or a's
    compared with what was left (cut) or with c's rows (another)."""
    mapping = next(m for m in load_mappings(None) if m.source == "social_care_episodes")
    names = ["a.csv", "b.csv", "c.csv"]
    extracts = [Extract(mapping, tmp_path / n, f"social_care/{n}") for n in names]
    same = [_row(n) for n in range(1, 6)]
    for n in names:
        _write(tmp_path / n, same)
    _write(tmp_path / "c.csv", [*same, _row(6), _row(7)])
    loads = tmp_path / "loads"
    _night(loads, extracts)
    _write(tmp_path / "a.csv", [*same[:2], _row(3, "N2"), *same[3:]])  # a: line 4 changed
    _spoil(loads, extracts[0], how, extracts[2])
    _spoil(loads, extracts[1], "missing", extracts[2])  # b: bytes as they were
    earlier: list[object] = []
    read = intake.read_packed

    def reading(*args: object, **options: object) -> object:
        earlier.extend(options["earlier"])  # type: ignore[arg-type]
        return read(*args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "read_packed", reading)
    night, changes = _night(loads, extracts)
    assert [e.relname for e in night.plan.read] == ["social_care/a.csv", "social_care/b.csv"]
    assert earlier == [None, None]  # read in full
    for e in extracts[:2]:
        assert changes[extract_key(e)] == RowChanges(known=False), e.relname
    counts = tally(night.plan, changes)["social_care_episodes"]
    assert (counts.added, counts.changed, counts.removed, counts.unknown) == (0, 0, 0, 2)
    report = LoadReport(loads, "", AS_OF.isoformat())
    report.delta, report.since_last = True, {"social_care_episodes": asdict(counts)}
    assert "2 files read in full, their rows not counted" in report.to_markdown()
    # kept again, whole: the next night compares a's rows with its own
    _write(tmp_path / "a.csv", same)
    _, again = _night(loads, extracts)
    assert again[extract_key(extracts[0])] == RowChanges(changed=[4], unchanged=4)


def test_rows_not_known_are_looked_for_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file read again whose kept row hashes are cut has them read and digested once
    (to offer its earlier reading, then to compare its rows, a second read would find
    the same), and its rows are still not counted."""
    mapping = next(m for m in load_mappings(None) if m.source == "social_care_episodes")
    extracts = [Extract(mapping, tmp_path / n, f"social_care/{n}") for n in ("a.csv", "b.csv")]
    same = [_row(n) for n in range(1, 6)]
    for extract in extracts:
        _write(extract.path, same)
    loads = tmp_path / "loads"
    _night(loads, extracts)
    _write(extracts[0].path, [*same[:2], _row(3, "N2"), *same[3:]])
    _spoil(loads, extracts[0], "cut", extracts[1])
    looked: list[str] = []
    unpack = intake.unpack_rows

    def counted(path: Path, reading: str) -> dict[int, str] | None:
        looked.append(reading)
        return unpack(path, reading)

    monkeypatch.setattr(intake, "unpack_rows", counted)
    _, changes = _night(loads, extracts)
    assert changes[extract_key(extracts[0])] == RowChanges(known=False)
    assert len(looked) == len(set(looked)) == 1


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
