"""Validating a file's rows a column at a time gives what validating each row alone
gives: the same records, uids, notes and quarantine reasons (``Validator.many`` against
``Validator.__call__``, and ``RowUids`` against ``record_uid``)."""

from __future__ import annotations

import datetime as dt
import hashlib

from hypothesis import example, given, settings
from hypothesis import strategies as st

from loaders.mapping import load_mapping
from loaders.raw import RawRow
from loaders.validate import RowUids, Validator, record_uid

AS_OF = dt.date(2026, 11, 2)

MAPPING = """\
source: pupils
files: pupils/*.csv
entity: person
filename: '^(?P<school__urn>\\d+)\\.csv$'
columns:
  Name: person.full_name
  Forename: person.given_name
  DOB: person.dob
  UPN: person.upn
  NHS: person.nhs_number
  Sex: person.sex
  FSM: person.fsm
  Need: sen.primary_need
  Sessions: attendance.possible
required: [person.dob]
codes:
  person.sex: {Female: F, Male: M, F: F, M: M}
  sen.primary_need: {SEMH: SEMH, ASD: ASD, MLD: MLD}
split:
  sen.primary_need: {separator: ";", rest: sen.secondary_need}
constants:
  case.kind: SEN support
"""

# what each column's cells may hold: good, bad, blank, and a spreadsheet's typed values
CELLS = {
    "Name": ["Mrs Ann Smith", "SMITH, John Paul", "Rowe", "", None, "  Ann   Lee ", "123"],
    "Forename": ["Ann", "", None, "Jo"],
    "DOB": ["2012-08-18", "18/08/2012", "2030-01-01", "not a date", "", dt.date(2011, 1, 2)],
    "UPN": ["A874389924001", "A874389924002", "", "X12", None],
    "NHS": ["9434765919", "943 476 5919", "9434765871", "0000000000", "", 9434765919.0],
    "Sex": ["F", "male", "Q", "", None],
    "FSM": ["true", "no", "maybe", "", 1.0, True, 0],
    "Need": ["SEMH", "ASD;MLD", "SEMH;XX;ASD", "XX", ""],
    "Sessions": ["10", "3.0", "2.5", "", 1.0, True],
}


def _validator(tmp_path) -> Validator:
    path = tmp_path / "pupils.yaml"
    path.write_text(MAPPING)
    mapping = load_mapping(path)
    return Validator(mapping, mapping.fields_from_filename(tmp_path / "100162.csv"), AS_OF)


row_values = st.fixed_dictionaries(
    {column: st.sampled_from(cells) for column, cells in CELLS.items()}
)
rows = st.lists(
    st.tuples(
        row_values,
        st.sampled_from([None, None, None, "unreadable CSV row: x"]),
        st.sampled_from([None, None, None, ["more"]]),
        st.sampled_from([(), (), ("DOB",), ("Name", "Forename", "UPN", "NHS")]),
    ),
    min_size=1,
    max_size=40,
)


GOOD = {
    "Name": "Ann Smith",
    "Forename": "",
    "DOB": "2012-08-18",
    "UPN": "",
    "NHS": "",
    "Sex": "F",
    "FSM": "no",
    "Need": "SEMH",
    "Sessions": "10",
}
NOBODY = GOOD | {"Name": ""}  # no name, no identifier: who is this?


@settings(max_examples=150, deadline=None)
@given(rows)
@example([(GOOD, None, None, ()), (NOBODY, None, None, ()), (GOOD, None, None, ("DOB",))])
def test_a_batch_reads_as_each_row_alone(tmp_path_factory, drawn):
    tmp_path = tmp_path_factory.mktemp("pupils")
    raws = []
    for number, (values, problem, extra, missing) in enumerate(drawn, start=2):
        values = {k: v for k, v in values.items() if k not in missing}  # a short row
        if extra:
            values["__extra__"] = extra
        raws.append(RawRow("100162.csv", number, values, problem))
    alone = [_validator(tmp_path)(raw) for raw in raws]
    batch = _validator(tmp_path)
    assert batch.many(raws) == alone
    assert batch.many(raws) == alone  # again, with what the first batch remembered


def test_row_uids_are_record_uids():
    """The fast uid's layout comes from the first row; rows with other columns, typed
    cells or no columns are hashed as record_uid hashes them."""
    uids = RowUids("pupils")
    rows = [
        {"b": "2", "a": "1", "c": ""},
        {"a": "x", "b": "y", "c": "z"},
        {"a": "1", "b": "2"},  # a short row
        {"a": "1", "b": "2", "d": "3"},  # as many columns, another one among them
        {"a": 1.0, "b": None, "c": dt.date(2020, 1, 2)},  # a spreadsheet's cells
        {"a": "1", "b": "2", "c": "3", "d": "4"},
        {},
        {"only": "one"},
    ]
    for raw in rows:
        assert uids(raw) == record_uid("pupils", raw), raw
    one = RowUids("pupils")
    for raw in [{"only": "one"}, {"only": "two"}, {"other": "one"}]:
        assert one(raw) == record_uid("pupils", raw), raw


def test_the_reading_benchmark_counts_and_digests_what_a_load_reads(small_county):
    """benchmarks.reading runs over a county and gives a digest of each part read."""
    from benchmarks.reading import measure

    measured = measure(small_county, workers=1)
    assert measured["records"] > 10_000
    assert {"digest_records", "digest_quarantine", "digest_dropped", "digest_report"} <= set(
        measured
    )


def test_the_reading_benchmarks_digest_tells_one_reading_from_another():
    """Two versions are compared by digest: a changed value or order changes it."""
    from benchmarks.reading import _digest

    rows = [("u1", "pupils", {"given": "Amy"}), ("u2", "pupils", {"given": "Ben"})]
    assert _digest(rows) == _digest([tuple(r) for r in rows])
    assert _digest(rows) != _digest([rows[0], ("u2", "pupils", {"given": "Bea"})])
    assert _digest(rows) != _digest(rows[::-1])


def test_row_uids_keep_a_layout_for_each_number_of_columns():
    """A short first row (a CSV row missing its trailing cells) does not send every
    later row to record_uid: each number of columns gets its own layout."""
    uids = RowUids("pupils")
    rows = [
        {"a": "1", "b": "2"},
        {"a": "1", "b": "2", "c": "3"},
        {"a": "4", "b": "5", "c": "6"},
        {"a": "7", "x": "8"},  # other columns of the same number
        {"a": 1.0, "b": "2", "c": "3"},  # a spreadsheet's number
    ]
    assert [uids(raw) for raw in rows] == [record_uid("pupils", raw) for raw in rows]
    assert sorted(uids.layouts) == [2, 3]


def test_no_two_rows_share_a_uid_through_a_cell_holding_the_uids_separators():
    """A row's uid hashes its columns and cells joined by two separator characters; a
    cell holding them (a control character an export left in) must not make the text of
    another row with other cells. Rows without them keep the uid they always had (the
    expected uids here are worked out from the documented text, not by the code)."""
    cases = [
        ({"a": "1\x1fb\x1e2", "c": "3"}, {"a": "1", "b": "2", "c": "3"}),
        ({"a": "1\x1fb\x1e2"}, {"a": "1", "b": "2"}),
        ({"a": "1\x1d\x1fb\x1e2", "c": "3"}, {"a": "1\x1d", "b": "2", "c": "3"}),
        ({"a\x1e1\x1fb": "2", "c": "3"}, {"a": "1", "b": "2", "c": "3"}),
    ]
    for one, other in cases:
        for uid in (record_uid, lambda s, raw: RowUids(s)(raw)):
            assert uid("pupils", one) != uid("pupils", other), (one, other)
        fast = RowUids("pupils")
        assert [fast(one), fast(other)] == [record_uid("pupils", r) for r in (one, other)]
    plain = {"b": "2", "a": "1", "c": "3"}
    known = hashlib.sha1(b"a\x1e1\x1fb\x1e2\x1fc\x1e3").hexdigest()[:16]
    assert record_uid("pupils", plain) == RowUids("pupils")(plain) == f"pupils:{known}"


def test_refused_rows_uids_are_made_as_records_are(tmp_path, monkeypatch):
    """A refused row's uid is the file's RowUids' (record_uid only for a row it cannot
    lay out: cells more than the header's, a spreadsheet's typed cell), and the uid
    record_uid gives: worked out here from the documented text for rows of text, by
    record_uid for the others. On 9a53854 every refused row went through record_uid."""
    import loaders.validate as validate

    typed = GOOD | {"DOB": "not a date", "Sessions": 1.0}
    rows = [
        RawRow("100162.csv", 2, GOOD),
        RawRow("100162.csv", 3, GOOD | {"DOB": "not a date"}),
        RawRow("100162.csv", 4, NOBODY),
        RawRow("100162.csv", 5, GOOD | {"Sex": "Q", "DOB": ""}),
        RawRow("100162.csv", 6, GOOD, "unreadable CSV row: x"),
        RawRow("100162.csv", 7, GOOD | {"__extra__": ["more"]}),
        RawRow("100162.csv", 8, typed),
    ]
    whole = validate.record_uid
    hashed: list[dict] = []

    def counted(source: str, raw: dict) -> str:
        hashed.append(raw)
        return whole(source, raw)

    monkeypatch.setattr(validate, "record_uid", counted)
    for read in (lambda v: v.many(rows), lambda v: [v(row) for row in rows]):
        hashed.clear()
        out = read(_validator(tmp_path))
        refused = [r for r in out if not isinstance(r, validate.Record)]
        assert [r.row for r in refused] == [3, 4, 5, 6, 7, 8]
        for r, row in zip(refused, rows[1:], strict=True):
            if row.row < 7:
                text = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(row.values.items()))
                assert r.uid == "pupils:" + hashlib.sha1(text.encode()).hexdigest()[:16]
            assert r.uid == whole("pupils", row.values), row.row
        assert hashed == [rows[5].values, typed]
