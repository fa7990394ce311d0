"""A validator remembers what a column's texts read as (``loaders.validate``); a text read
one way by one mapping must never be given to another mapping, or another day, that reads
it otherwise (were the memos shared across files): each test reads the same cells through
two validators in turn and checks each reading against values written out by hand."""

from __future__ import annotations

import datetime as dt

from loaders.mapping import load_mapping
from loaders.raw import RawRow
from loaders.validate import Quarantined, Record, Validator

AS_OF = dt.date(2026, 11, 2)

BASE = """\
source: {source}
files: {source}/*.csv
entity: person
columns:
  Forename: person.given_name
  Surname: person.family_name
  DOB: person.dob
  Sex: person.sex
"""


def _validator(tmp_path, source: str, extra: str = "", today: dt.date = AS_OF) -> Validator:
    path = tmp_path / f"{source}.yaml"
    path.write_text(BASE.format(source=source) + extra)
    mapping = load_mapping(path)
    return Validator(mapping, {}, today)


def _read(validator: Validator, cells: dict[str, str], many: bool) -> Record | Quarantined:
    row = RawRow("f.csv", 2, {"Forename": "Ann", "Surname": "Lee", **cells})
    return validator.many([row])[0] if many else validator(row)


def _both(
    first: Validator, second: Validator, cells: dict[str, str]
) -> list[tuple[Record | Quarantined, Record | Quarantined]]:
    """Each validator's reading of the same cells, the first's read first, by rows in
    batches and one by one."""
    out = []
    for many in (True, False):
        out.append((_read(first, cells, many), _read(second, cells, many)))
    return out


def test_a_date_read_by_two_formats_gives_each_its_own(tmp_path) -> None:
    uk = _validator(tmp_path, "uk", "dates:\n  person.dob: ['%d/%m/%Y']\n")
    us = _validator(tmp_path, "us", "dates:\n  person.dob: ['%m/%d/%Y']\n")
    for a, b in _both(uk, us, {"DOB": "03/04/2015"}):
        assert isinstance(a, Record) and isinstance(b, Record)
        assert a.values["person.dob"] == dt.date(2015, 4, 3)
        assert b.values["person.dob"] == dt.date(2015, 3, 4)


def test_a_code_read_by_two_code_lists_gives_each_its_own(tmp_path) -> None:
    one = _validator(tmp_path, "one", "codes:\n  person.sex: {'1': M, '2': F}\n")
    other = _validator(tmp_path, "other", "codes:\n  person.sex: {'1': F, '2': M}\n")
    for a, b in _both(one, other, {"Sex": "1"}):
        assert isinstance(a, Record) and isinstance(b, Record)
        assert (a.values["person.sex"], b.values["person.sex"]) == ("M", "F")


def test_a_label_pattern_is_part_of_a_code_list(tmp_path) -> None:
    codes = "codes:\n  person.sex: {F: F, M: M}\n"
    colon = _validator(tmp_path, "colon", codes + "code_pattern: '(?P<code>\\w+):'\n")
    dash = _validator(tmp_path, "dash", codes + "code_pattern: '(?P<code>\\w+) -'\n")
    for a, b in _both(colon, dash, {"Sex": "F: Female"}):
        assert isinstance(a, Record) and isinstance(b, Record)
        assert a.values["person.sex"] == "F"
        assert "person.sex" not in b.values
        assert b.notes == ["Sex dropped: code 'F: Female' is not in the mapping's code list"]


def test_a_needed_field_refuses_what_an_optional_one_drops(tmp_path) -> None:
    needed = _validator(tmp_path, "needed", "required: [person.dob]\n")
    optional = _validator(tmp_path, "optional")
    for a, b in _both(needed, optional, {"DOB": "not a date"}):
        assert isinstance(a, Quarantined) and isinstance(b, Record)
        assert a.reason.startswith("DOB: ")
        assert "person.dob" not in b.values and b.notes[0].startswith("DOB dropped: ")


def test_a_date_is_read_on_its_own_day(tmp_path) -> None:
    before = _validator(tmp_path, "same", today=dt.date(2026, 11, 2))
    after = _validator(tmp_path, "same", today=dt.date(2026, 12, 7))
    for a, b in _both(before, after, {"DOB": "2026-12-01"}):
        assert isinstance(a, Record) and isinstance(b, Record)
        assert "person.dob" not in a.values and a.notes[0].startswith("DOB dropped: ")
        assert b.values["person.dob"] == dt.date(2026, 12, 1) and b.notes == []
