"""Bad files loaded with a real county: none stops the load, none loses a row unsaid.

Each hostile file is made from one of the synthetic county's own files (a workbook's
XML edited, a CSV's bytes re-encoded, cut or joined), loaded together with the rest
of the county in one load; every case then has its own test of what the report and
the quarantine say, and the accounting must close for every file.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from loaders.load import LoadResult, run_load
from loaders.mapping import SHIPPED
from tests import truth as t
from tests.conftest import AS_OF, embedded_store

SHEET = "xl/worksheets/sheet1.xml"
BIG_CELL = 50_000_000  # characters: a 50 MB cell
BOMB_PADDING = 200_000_000  # bytes of blanks inside a sheet's XML


# -- making hostile files from real ones ---------------------------------------------


def _edit_workbook(source: Path, target: Path, edit, *, padding: int = 0) -> None:
    """Copy a workbook, passing its sheet's XML through ``edit``; ``padding`` blanks are
    streamed into the sheet after its data (valid XML, compressing about 1000 times)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename != SHEET:
                dst.writestr(info, data)
                continue
            xml = edit(data.decode())
            if not padding:
                dst.writestr(info, xml)
                continue
            head, tail = xml.split("</sheetData>")
            with dst.open(SHEET, "w", force_zip64=True) as out:
                out.write((head + "</sheetData>").encode())
                block = b" " * 1_000_000
                for _ in range(padding // len(block)):
                    out.write(block)
                out.write(tail.encode())


def _cell(xml: str, column: str, row: int) -> re.Match:
    found = re.search(rf'<c r="{column}{row}"[^>]*><is><t>([^<]*)</t></is></c>', xml)
    assert found, f"no text cell {column}{row} in the generated register"
    return found


def _formulas(xml: str) -> str:
    """Row 4's UPN becomes a formula with its saved value; row 5's UPN and row 6's
    child name become formulas nobody ever calculated (as a script writes them)."""
    upn = _cell(xml, "E", 4)
    xml = xml.replace(
        upn.group(0), f'<c r="E4" t="str"><f>TRIM("{upn.group(1)}")</f><v>{upn.group(1)}</v></c>'
    )
    xml = xml.replace(_cell(xml, "E", 5).group(0), '<c r="E5"><f>UPPER(Z5)</f></c>')
    return xml.replace(_cell(xml, "B", 6).group(0), '<c r="B6"><f>CONCAT(Y6," ",Z6)</f></c>')


def _stale_dimension(xml: str) -> str:
    found = re.search(r'<dimension ref="A1:([A-Z]+)(\d+)"', xml)
    assert found and int(found.group(2)) > 12
    return xml.replace(found.group(0), f'<dimension ref="A1:{found.group(1)}8"')


def _variant_mapping(maps: Path, source: str, files: str) -> None:
    text = (SHIPPED / "ehcp_register.yaml").read_text()
    text = text.replace("source: ehcp_register", f"source: {source}")
    (maps / f"{source}.yaml").write_text(
        text.replace("files: send/ehcp_register.xlsx", f"files: {files}")
    )


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


@dataclass
class Hostile:
    root: Path
    result: LoadResult
    latin_line: int  # the census line written in Latin-1
    joined_at: int  # the offers line where a second export (BOM, header) begins
    big_cell_line: int
    stale_rows: int  # data rows in the register whose dimension was made stale

    def file(self, relname: str):
        return self.result.report.files[relname]

    def quarantined(self, relname: str) -> list:
        return [q for q in self.result.quarantine if q.file == relname]


@pytest.fixture(scope="module")
def hostile(small_county: Path, tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    base = tmp_path_factory.mktemp("hostile")
    root = base / "county"
    shutil.copytree(small_county, root)
    maps = base / "maps"
    shutil.copytree(SHIPPED, maps)
    register = root / "send" / "ehcp_register.xlsx"

    # empty, binary and wrong-header files named like extracts
    (root / "school_census" / "census_spring_2027.csv").write_bytes(b"")
    shutil.copy(register, root / "attendance" / "999001_2026-27.csv")  # a workbook saved as .csv
    (root / "attendance" / "999002_2026-27.csv").write_bytes(random.Random(1).randbytes(20_000))
    census = root / "school_census" / "census_autumn_2026.csv"
    lines = _lines(census)
    wrong = [lines[0].replace(b"Forename", b"First name"), *lines[1:50]]
    (root / "school_census" / "census_summer_2027.csv").write_bytes(b"\r\n".join(wrong))

    # a UTF-8 census with one pupil's row in Latin-1 and another's name in UTF-8
    lines[1] = re.sub(rb"^([^,]*),[^,]*,[^,]*,", "\\1,Tóth,József,".encode(), lines[1])
    lines[2] = re.sub(rb"^([^,]*),[^,]*,[^,]*,", "\\1,Brontë,Zoë,".encode("latin-1"), lines[2])
    census.write_bytes(b"\r\n".join(lines) + b"\r\n")

    # a cell of 50 MB in a real attendance return (another year's copy of it)
    attendance = sorted((root / "attendance").glob("*_2025-26.csv"))[0]
    lines = _lines(attendance)
    lines[3] = re.sub(rb"^([^,]*),([^,]*),[^,]*,", b"\\1,\\2," + b"x" * BIG_CELL + b",", lines[3])
    big = attendance.with_name(attendance.name.replace("2025-26", "2023-24"))
    big.write_bytes(b"\n".join(lines) + b"\n")

    # two exports of the offers joined end to end: a BOM and the header again mid-file
    offers = root / "admissions" / "offers_2027.csv"
    lines = _lines(offers)
    half = len(lines) // 2
    joined = [*lines[:half], b"\xef\xbb\xbf" + lines[0], *lines[half:]]
    offers.write_bytes(b"\r\n".join(joined) + b"\r\n")

    # mixed line endings: LF, CR LF and lone CR in one file
    carers = root / "young_carers" / "young_carers_register.csv"
    endings = [b"\r\n", b"\n", b"\r"]
    lines = _lines(carers)
    carers.write_bytes(b"".join(line + endings[i % 3] for i, line in enumerate(lines)))

    # workbooks: a stale dimension (in place), formulas, a zip bomb, a truncated file
    with zipfile.ZipFile(register) as book:
        stale_rows = len(re.findall(r"<row ", book.read(SHEET).decode())) - 2  # title, header
    fresh = base / "ehcp_register.xlsx"
    shutil.copy(register, fresh)
    _edit_workbook(fresh, register, _stale_dimension)
    _edit_workbook(fresh, root / "send_formulas" / "ehcp_register.xlsx", _formulas)
    _edit_workbook(fresh, root / "send_bomb" / "ehcp_register.xlsx", str, padding=BOMB_PADDING)
    broken = fresh.read_bytes()
    (root / "send_broken").mkdir()
    (root / "send_broken" / "ehcp_register.xlsx").write_bytes(broken[: len(broken) // 2])
    for name in ("formulas", "bomb", "broken"):
        _variant_mapping(maps, f"ehcp_{name}", f"send_{name}/ehcp_register.xlsx")

    store = embedded_store(base / "engine")
    try:
        store.ensure_schema()
        result = run_load(store, root, mappings=maps, as_of=AS_OF)
        names = store.read(
            "MATCH (p:Person) WITH p.full_name + ' | ' + coalesce(p.other_names, '') AS names "
            "WHERE names CONTAINS 'Tóth' OR names CONTAINS 'Brontë' OR names CONTAINS 'Ã' "
            "RETURN names"
        ).rows
    finally:
        store.close()
    hostile = Hostile(root, result, 3, half + 1, 4, stale_rows)
    hostile.names = [n for r in names for n in r["names"].split(" | ")]  # type: ignore[attr-defined]
    return hostile


# -- the load as a whole ---------------------------------------------------------------


def test_no_bad_file_stops_the_load_and_every_file_closes(hostile):
    report = hostile.result.report
    assert report.finished
    assert report.closes
    assert all(f.closes for f in report.files.values()), report.files
    assert all(q.reason for q in hostile.result.quarantine)
    # the county's good files are all loaded as ever
    assert report.sources["social_care_persons"].read > 100 and report.people > 1_000


def test_each_bad_file_is_one_quarantine_entry_naming_the_cause(hostile):
    expected = {
        "school_census/census_spring_2027.csv": "the file is empty",
        "attendance/999001_2026-27.csv": "not a CSV text file: it is a zip archive",
        "attendance/999002_2026-27.csv": "not a CSV text file: it holds binary data",
        "school_census/census_summer_2027.csv": "wrong header: ",
        "send_bomb/ehcp_register.xlsx": "(a zip bomb?)",
        "send_broken/ehcp_register.xlsx": "not a readable xlsx workbook",
    }
    problems = {f.file: f.problem for f in hostile.result.report.file_problems}
    assert set(problems) == set(expected)
    for relname, cause in expected.items():
        assert cause in problems[relname]
        [entry] = [q for q in hostile.quarantined(relname) if q.row == 0]
        assert entry.reason == problems[relname]
    assert "'Forename' not found" in problems["school_census/census_summer_2027.csv"]
    markdown = hostile.result.report.to_markdown()
    assert markdown.index("6 FILE(S) NOT LOADED") < markdown.index("| Source |")


def test_a_stale_workbook_dimension_loses_no_row(hostile):
    """The register's <dimension> says the sheet ends at row 8; every row is read."""
    relname = "send/ehcp_register.xlsx"
    expected = t.table(hostile.root, "source_rows")
    assert (
        hostile.file(relname).read == hostile.stale_rows == int((expected["file"] == relname).sum())
    )
    assert any("ends at row 8" in n for n in hostile.file(relname).notes)


def test_formula_cells_read_as_saved_values_and_an_unsaved_one_is_quarantined(hostile):
    relname = "send_formulas/ehcp_register.xlsx"
    rows = {q.row: q.reason for q in hostile.quarantined(relname)}
    assert "UPN: cell E5 holds a formula with no saved value" in rows[5]
    assert "Child Name: cell B6 holds a formula with no saved value" in rows[6]
    assert 4 not in rows  # its formula's saved value is read
    report = hostile.file(relname)
    assert report.read == hostile.stale_rows and report.closes


def test_a_latin1_row_in_a_utf8_file_is_read_and_listed_and_the_rest_stay_utf8(hostile):
    assert any(re.fullmatch(r"József( \w+)* Tóth", n) for n in hostile.names), hostile.names
    assert any(re.fullmatch(r"Zoë( \w+)* Brontë", n) for n in hostile.names), hostile.names
    assert not any("Ã" in n for n in hostile.names)
    [note] = hostile.file("school_census/census_autumn_2026.csv").notes
    assert note == f"1 line(s) not in utf-8-sig, read as cp1252: lines {hostile.latin_line}"


def test_a_cell_over_the_size_limit_quarantines_its_row_not_the_load(hostile):
    [relname] = [f for f in hostile.result.report.files if f.endswith("_2023-24.csv")]
    [entry] = [q for q in hostile.quarantined(relname) if q.row == hostile.big_cell_line]
    assert f"Forename: the cell holds {BIG_CELL:,} characters, over the limit" in entry.reason
    assert not entry.raw  # the cell is not copied into the quarantine file
    original = relname.replace("2023-24", "2025-26")
    report, before = hostile.file(relname), hostile.file(original)
    assert report.read == before.read and report.quarantined == before.quarantined + 1


def test_files_joined_end_to_end_lose_the_mark_and_quarantine_the_second_header(hostile):
    relname = "admissions/offers_2027.csv"
    [entry] = [q for q in hostile.quarantined(relname) if "header row again" in q.reason]
    assert entry.row == hostile.joined_at
    assert any(
        "byte-order mark(s) inside the file removed" in n for n in hostile.file(relname).notes
    )
    expected = t.table(hostile.root, "source_rows")
    assert hostile.file(relname).read == int((expected["file"] == relname).sum()) + 1


def test_mixed_line_endings_read_every_row_at_its_line(hostile):
    relname = "young_carers/young_carers_register.csv"
    expected = t.table(hostile.root, "source_rows")
    truth_rows = set(expected.loc[expected["file"] == relname, "row"].astype(int))
    read = {row for f, row, _, _ in hostile.result.assignments if f == relname}
    read |= {q.row for q in hostile.quarantined(relname)}
    assert read == truth_rows


# -- the command line --------------------------------------------------------------


def test_the_load_command_reports_bad_files_loudly_and_fails_on_them_only_when_strict(tmp_path):
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "pupils.yaml").write_text(
        textwrap.dedent("""\
        source: pupils
        files: "*.csv"
        columns: {Surname: person.family_name, Forename: person.given_name, DOB: person.dob}
        """)
    )
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.csv").write_text("Surname,Forename,DOB\nSmith,Ann,2015-01-02\n")
    (data / "empty.csv").write_bytes(b"")
    env = {
        **os.environ,
        "JIGSAW_GRAPH_NAME": "cli",
        "JIGSAW_GRAPH_URL": str(tmp_path / "engine"),
        "JIGSAW_DATA_DIR": str(tmp_path),
    }
    command = [
        sys.executable,
        "-c",
        "from ui.cli import main; main()",
        "load",
        str(data),
        "--mapping",
        str(tmp_path / "maps"),
        "--as-of",
        AS_OF.isoformat(),
    ]
    lenient = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert lenient.returncode == 0, lenient.stderr
    assert "1 FILE(S) NOT LOADED" in lenient.stdout
    assert "  empty.csv: the file is empty" in lenient.stderr
    strict = subprocess.run(
        [*command, "--strict"], env=env, capture_output=True, text=True, timeout=300
    )
    assert strict.returncode == 3, strict.stderr
    assert "| pupils | 2 | 1 |" in strict.stdout  # the good file read again


# -- the readers on their own --------------------------------------------------------


def test_an_encoding_that_fails_on_most_lines_is_decided_for_the_whole_file(tmp_path):
    """A cp1252 export mapped as UTF-8 is read whole as cp1252, with a note; not line by
    line, where an accented line that happens to be valid UTF-8 would read wrong."""
    from loaders.mapping import load_mapping
    from loaders.readers import ReadNotes, read_rows

    (tmp_path / "m.yaml").write_text(
        "source: m\nfiles: '*.csv'\ncolumns: {Name: person.full_name}\n"
    )
    mapping = load_mapping(tmp_path / "m.yaml")
    names = ["Zoë Brontë", "José Núñez", "Ann Smith", "Chloé Dubois"]
    path = tmp_path / "f.csv"
    path.write_bytes("\r\n".join(["Name", *names]).encode("cp1252"))
    notes = ReadNotes()
    rows = list(read_rows(mapping, path, "f.csv", notes=notes))
    assert [r.values["Name"] for r in rows] == names
    assert notes.notes[0].startswith("read as cp1252: 3 of its 3 lines")


def test_a_workbook_part_expanding_past_the_limit_is_refused_before_reading(tmp_path):
    from loaders.readers import ReadError, ReadLimits, _check_archive

    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(SHEET, b" " * 5_000_000)
    _check_archive(path, "a.xlsx", ReadLimits())  # within the limits: no error
    with pytest.raises(ReadError, match=r"expands to 5,000,000 bytes, over the limit"):
        _check_archive(path, "a.xlsx", ReadLimits(max_workbook_bytes=1_000_000))
    with pytest.raises(ReadError, match=r"a zip bomb\?"):
        _check_archive(path, "a.xlsx", ReadLimits(zip_ratio_from_bytes=1_000_000))
