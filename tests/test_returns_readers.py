"""The readers national returns need, declared in the mapping language: XML records by
path with fields inherited from their parents, workbooks with a mapping per sheet, and
the packs that recognise a return's files by what they hold. Files are written here.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from loaders.extracts import Extract, read_extract
from loaders.mapping import MappingError, SourceMapping, load_mapping
from loaders.packs import load_packs, recognise
from loaders.readers import ReadError, read_rows
from tests import truth as t

TODAY = dt.date(2026, 11, 2)

CIN_LIKE = """\
<?xml version="1.0"?>
<Message>
  <Header><Collection>CIN</Collection></Header>
  <Children>
    <Child>
      <ChildIdentifiers>
        <LAchildID>A1</LAchildID>
        <PersonBirthDate>2015-03-27</PersonBirthDate>
      </ChildIdentifiers>
      <CINdetails>
        <CINreferralDate>2025-10-06</CINreferralDate>
        <Assessments>
          <AssessmentActualStartDate>2025-10-07</AssessmentActualStartDate>
          <FactorsIdentifiedAtAssessment>
            <AssessmentFactors>1C</AssessmentFactors>
            <AssessmentFactors>6B</AssessmentFactors>
          </FactorsIdentifiedAtAssessment>
        </Assessments>
        <Assessments><AssessmentActualStartDate>2025-12-07</AssessmentActualStartDate></Assessments>
        <ReferralNFA>0</ReferralNFA>
      </CINdetails>
      <CINdetails code="late"><CINreferralDate>2026-01-06</CINreferralDate></CINdetails>
    </Child>
    <Child><ChildIdentifiers><LAchildID>A2</LAchildID></ChildIdentifiers></Child>
  </Children>
</Message>
"""


def _xml_mapping(record: str, columns: dict[str, str | None], **more: object) -> SourceMapping:
    return SourceMapping(
        source="t", files="x", format="xml", record=record, columns=columns, **more
    )


def test_nested_records_become_rows_that_inherit_their_parents_fields(tmp_path):
    path = tmp_path / "cin.xml"
    path.write_text(CIN_LIKE)
    assessments = _xml_mapping(
        "Message/Children/Child/CINdetails/Assessments",
        {
            "../../ChildIdentifiers/LAchildID": "person.la_child_id",
            "../CINreferralDate": "referral.date",
            "../ReferralNFA": "referral.nfa",  # after the record in the file: still read
            "AssessmentActualStartDate": "assessment.start",
            "FactorsIdentifiedAtAssessment/AssessmentFactors": "assessment.factors",
        },
    )
    rows = list(read_rows(assessments, path, "cin.xml"))
    assert [r.row for r in rows] == [12, 19]  # the lines the elements start on
    first, second = (r.values for r in rows)
    assert first == {
        "../../ChildIdentifiers/LAchildID": "A1",
        "../CINreferralDate": "2025-10-06",
        "../ReferralNFA": "0",
        "AssessmentActualStartDate": "2025-10-07",
        "FactorsIdentifiedAtAssessment/AssessmentFactors": "1C, 6B",
    }
    assert second["AssessmentActualStartDate"] == "2025-12-07"
    assert second["FactorsIdentifiedAtAssessment/AssessmentFactors"] is None
    episodes = _xml_mapping(
        "Message/Children/Child/CINdetails",
        {
            "../ChildIdentifiers/LAchildID": "person.la_child_id",
            "CINreferralDate": "referral.date",
            "@code": "referral.ref",
        },
    )
    got = [
        (r.values["../ChildIdentifiers/LAchildID"], r.values["@code"])
        for r in read_rows(episodes, path, "cin.xml")
    ]
    assert got == [("A1", None), ("A1", "late")]


def test_an_xml_row_is_validated_like_any_other(tmp_path):
    path = tmp_path / "cin.xml"
    path.write_text(CIN_LIKE.replace("<LAchildID>A2</LAchildID>", ""))
    children = _xml_mapping(
        "Message/Children/Child",
        {
            "ChildIdentifiers/LAchildID": "person.la_child_id",
            "ChildIdentifiers/PersonBirthDate": "person.dob",
        },
        required=["person.la_child_id"],
    )
    outcome = read_extract(Extract(children, path, "cin.xml"), TODAY)
    assert outcome.read == 2 and len(outcome.records) == 1
    (bad,) = outcome.quarantined
    assert bad.row == 24
    assert "ChildIdentifiers/LAchildID: required value is blank" in bad.reason


def test_a_file_with_another_root_is_refused_with_where_and_what(tmp_path):
    path = tmp_path / "cin.xml"
    path.write_text(CIN_LIKE.replace("Message>", "Messages>"))
    children = _xml_mapping(
        "Message/Children/Child", {"x": "person.la_child_id"}, spec="CIN census 2024-25"
    )
    with pytest.raises(
        ReadError,
        match=r"cin.xml line 2: the root element is <Messages>, not "
        r"<Message> \(CIN census 2024-25 files hold",
    ):
        list(read_rows(children, path, "cin.xml"))


@pytest.mark.parametrize(
    "body",
    [
        # a billion laughs: entities expanding entities
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<Message><Children><Child><ChildIdentifiers><LAchildID>&lol2;</LAchildID>"
        "</ChildIdentifiers></Child></Children></Message>",
        # an external entity reading a local file
        '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<Message><Children><Child><ChildIdentifiers><LAchildID>&x;</LAchildID>"
        "</ChildIdentifiers></Child></Children></Message>",
    ],
)
def test_xml_declaring_entities_is_refused_not_expanded(tmp_path, body):
    path = tmp_path / "evil.xml"
    path.write_text(body)
    children = _xml_mapping(
        "Message/Children/Child", {"ChildIdentifiers/LAchildID": "person.la_child_id"}
    )
    outcome = read_extract(Extract(children, path, "evil.xml"), TODAY)
    assert outcome.read == 0 and not outcome.records
    (refused,) = outcome.quarantined
    assert "declares a document type" in refused.reason and "refused" in refused.reason


def test_broken_xml_names_the_line(tmp_path):
    path = tmp_path / "cut.xml"
    path.write_text(CIN_LIKE[:700])
    children = _xml_mapping(
        "Message/Children/Child", {"ChildIdentifiers/LAchildID": "person.la_child_id"}
    )
    outcome = read_extract(Extract(children, path, "cut.xml"), TODAY)
    (broken,) = outcome.quarantined
    assert broken.reason.startswith("cut.xml line ") and "not well-formed XML" in broken.reason


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"../../../../x": "person.la_child_id"}, "climbs above the root"),
        ({"a/@b/c": "person.la_child_id"}, "an @attribute last"),
        ({"a b": "person.la_child_id"}, "not a path of element names"),
    ],
)
def test_xml_paths_that_cannot_work_fail_when_the_mapping_loads(tmp_path, columns, message):
    lines = "\n".join(f"  {k!r}: {v}" for k, v in columns.items())
    (tmp_path / "m.yaml").write_text(
        f"source: t\nfiles: x.xml\nformat: xml\nrecord: Message/Child\ncolumns:\n{lines}\n"
    )
    with pytest.raises(MappingError, match=message):
        load_mapping(tmp_path / "m.yaml")


def test_person_key_is_a_person_identifier_within_a_pack(tmp_path):
    (tmp_path / "m.yaml").write_text(
        textwrap.dedent("""\
        source: t
        files: x.csv
        person_key: person.la_child_id
        columns: {CHILD: person.la_child_id}
    """)
    )
    with pytest.raises(MappingError, match="needs a pack"):
        load_mapping(tmp_path / "m.yaml")


# -- recognising a return's files ------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_return_files_are_recognised_by_their_header_whatever_their_name(tmp_path):
    files = [
        _write(
            tmp_path / "903 extract" / "Northmere CLA 2026 (1).csv",
            "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,"
            "HOME_POST,PL_POST,URN\n1,01/05/2026,S,C2,N1,U6,PR1,,,,NM1 1AA,NM2 2BB,SC1\n",
        ),
        # lower case, spaces and underscores: a header still matches its format
        _write(
            tmp_path / "misc" / "kids.csv",
            "child, sex ,dob,Ethnic,upn,mother,mc_dob\n1,1,01/02/2015,WBRI,UN1,,\n",
        ),
        _write(tmp_path / "notes.csv", "who,what\nme,this\n"),
    ]
    found = recognise(tmp_path, files, load_packs())
    sources = {
        str(p.relative_to(tmp_path)): [m.source for c in cs for m in c.mappings]
        for p, cs in found.claims.items()
    }
    assert sources == {
        "903 extract/Northmere CLA 2026 (1).csv": ["ssda903_episodes"],
        "misc/kids.csv": ["ssda903_header"],
    }
    (header,) = found.claims[files[1]]
    # the mapping is spelt as this file spells its header
    assert header.mappings[0].columns["sex"] == "person.sex"
    assert [n.split(":")[0] for n in header.not_kept] == ["mother", "mc_dob"]
    assert not found.refusals


def test_a_header_from_another_years_specification_is_refused_with_what_was_expected(tmp_path):
    old = _write(
        tmp_path / "episodes.csv",
        "CHILD,DECOM,RNE,LS,CIN,PLACE,DEC,REC,HOME_POST,PL_POST\n1,01/05/2014,S,C2,"
        "N1,U6,,,NM1 1AA,NM2 2BB\n",
    )
    found = recognise(tmp_path, [old], load_packs())
    assert not found.claims
    (refusal,) = found.refusals
    assert refusal.relname == "episodes.csv" and refusal.line == 1
    assert "episodes.csv line 1: named like a SSDA903" in refusal.reason
    assert "missing PLACE_PROVIDER, REASON_PLACE_CHANGE, URN" in refusal.reason
    assert "SSDA903 2024-25" in refusal.reason and "found CHILD, DECOM" in refusal.reason


def test_xml_named_as_a_return_but_holding_something_else_is_refused(tmp_path):
    wrong_root = _write(tmp_path / "CIN_Census_2026.xml", "<Census><Child/></Census>")
    no_children = _write(tmp_path / "cin census 2025.xml", "<Message><Header/></Message>")
    found = recognise(tmp_path, [wrong_root, no_children], load_packs())
    reasons = {r.relname: r.reason for r in found.refusals}
    assert "its root element is <Census>, not <Message>" in reasons["CIN_Census_2026.xml"]
    assert "holds none of Message/Children/Child (CIN census)" in reasons["cin census 2025.xml"]


def test_a_workbook_sheet_is_found_by_its_header_below_a_title(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "EHCP list (1)"
    sheet.append(["Area SEND inspection - list of children with an EHC plan"])
    sheet.append([])
    sheet.append(
        [
            "Unique ID",
            "UPN",
            "Date of birth",
            "Gender",
            "Ethnicity",
            "Date initial EHC plan issued",
            "SEN primary need",
            "Main education establishment – URN",
            "Main education establishment – phase",
            "Known to children's social care?",
            "Does the child or young person have a disability?",
        ]
    )
    sheet.append(
        [
            "S1",
            "",
            dt.date(2015, 1, 2),
            "Male",
            "WBRI",
            dt.date(2024, 3, 1),
            "ASD",
            "100001",
            "Primary",
            "No",
            "No",
        ]
    )
    book.create_sheet("Notes").append(["nothing to see"])
    book.save(tmp_path / "annex.xlsx")
    found = recognise(tmp_path, [tmp_path / "annex.xlsx"], load_packs())
    (claim,) = found.claims[tmp_path / "annex.xlsx"]
    (mapping,) = claim.mappings
    assert (mapping.source, mapping.sheet, mapping.header_row) == (
        "annex_a_send_list_1",
        "EHCP list (1)",
        3,
    )
    rows = list(read_rows(mapping, tmp_path / "annex.xlsx", "annex.xlsx#EHCP list (1)"))
    assert [r.row for r in rows] == [4]
    # the sheet no pack reads is said, with what it holds
    assert "nothing to see" in found.unread_sheets["annex.xlsx#Notes"]


def test_a_column_spelt_another_way_is_found_by_the_packs_header_patterns(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Guidance"
    book.active.append(["How to fill in this workbook"])
    sheet = book.create_sheet("CLA (list 8)")
    # a council's copy of List 8: its own words for some columns, one column of its own
    (pack,) = [p for p in load_packs() if p.name == "annex_a_csc"]
    (list_8,) = [m for m in pack.mappings if m.source == "annex_a_csc_list_8"]
    words = {
        "Child Unique ID": "Child ID",
        "Gender": "Sex",
        "Ethnicity": "Ethnic origin",
        "Date of Birth": "DOB",
        "Date Started to be Looked After": "Date started looked after",
        "Start Date of Most Recent Placement": "Start date of latest placement",
    }
    sheet.append([words.get(c, c) for c in list_8.columns if c not in list_8.optional])
    sheet.cell(1, sheet.max_column + 1, "Team notes")
    book.save(tmp_path / "annex a.xlsx")
    found = recognise(tmp_path, [tmp_path / "annex a.xlsx"], load_packs())
    (claim,) = found.claims[tmp_path / "annex a.xlsx"]
    (mapping,) = claim.mappings
    assert mapping.source == "annex_a_csc_list_8"
    assert {c: mapping.columns[c] for c in ("Child ID", "Sex", "DOB")} == {
        "Child ID": "person.la_child_id",
        "Sex": "person.sex",
        "DOB": "person.dob",
    }
    assert mapping.columns["Date started looked after"] == "care.start"
    assert mapping.columns["Start date of latest placement"] == "episode.start"
    assert "Team notes: the graph model has no field for it" in claim.not_kept
    assert "How to fill in" in found.unread_sheets["annex a.xlsx#Guidance"]
    # a school information system's export, in its own words for the CBDS items
    pupils = _write(
        tmp_path / "autumn census pupils.csv",
        "URN,UPN,Former UPN,Legal Surname,Legal Forename,Date of Birth,Gender,Ethnicity,"
        "Admission Date,NC Year,SEN Provision,Free School Meals,Post Code\n"
        "100001,A123,B456,Smith,Ann,2015-01-02,F,WBRI,2024-09-01,5,N,Y,NM1 1AA\n",
    )
    (claim,) = recognise(tmp_path, [pupils], load_packs()).claims[pupils]
    columns = claim.mappings[0].columns
    assert claim.mappings[0].source == "school_census_pupils"
    assert {h: columns[h] for h in ("UPN", "Legal Surname", "Date of Birth", "Gender")} == {
        "UPN": "person.upn",
        "Legal Surname": "person.family_name",
        "Date of Birth": "person.dob",
        "Gender": "person.sex",
    }
    assert columns["Former UPN"] is None and columns["Post Code"] == "address.postcode"


def test_a_file_no_pack_reads_says_why_and_what_it_is_most_like(tmp_path):
    from openpyxl import Workbook

    files = [
        _write(tmp_path / "notes.csv", "who,what\nme,this\n"),
        # an SSDA903 episodes file without its URN column, under a name of its own
        _write(
            tmp_path / "placements.csv",
            "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,"
            "HOME_POST,PL_POST\n1,01/05/2026,S,C2,N1,U6,PR1,,,,NM1 1AA,NM2 2BB\n",
        ),
        _write(tmp_path / "census.xml", "<Return><Pupil/></Return>"),
        _write(tmp_path / "annex.pdf", "%PDF-1.4"),
    ]
    book = Workbook()
    book.active.append(["Budget line", "Amount"])
    book.save(tmp_path / "budget.xlsx")
    found = recognise(tmp_path, [*files, tmp_path / "budget.xlsx"], load_packs())
    assert not found.claims and not found.refusals
    why = found.unrecognised
    assert set(why) == {"notes.csv", "placements.csv", "census.xml", "annex.pdf", "budget.xlsx"}
    assert "line 1: its columns (who, what) are no return's file" in why["notes.csv"]
    assert "nearest is SSDA903" in why["placements.csv"] and why["placements.csv"].endswith(
        "which also has URN"
    )
    assert "root element is <Return>" in why["census.xml"] and "<Message>" in why["census.xml"]
    assert "not .pdf" in why["annex.pdf"]
    assert "sheet 'Sheet': its columns (Budget line, Amount)" in why["budget.xlsx"]


def test_every_shipped_pack_loads_and_states_its_specification():
    packs = load_packs()
    assert {p.name for p in packs} >= {
        "ssda903",
        "cin_census",
        "annex_a_send",
        "sen2",
        "school_census",
    }
    for pack in packs:
        assert pack.spec and any(ch.isdigit() for ch in pack.spec), pack.name
        for m in pack.mappings:
            assert m.pack == pack.name and m.spec == pack.spec
        xml = [m for m in pack.mappings if m.format == "xml"]
        if xml:  # an XML return is claimed through its collection element
            assert any(m.match and m.match.collection for m in xml), pack.name


def test_the_county_writes_its_returns_byte_for_byte_and_only_when_asked(tmp_path):
    from synthetic.generate import generate

    plain = generate(300, 3, tmp_path / "plain", as_of=TODAY)
    first = generate(300, 3, tmp_path / "a", as_of=TODAY, returns=True)
    again = generate(300, 3, tmp_path / "b", as_of=TODAY, returns=True)
    assert not (tmp_path / "plain" / "returns").exists()
    # the county's own extracts are the same with or without its returns
    assert {k: v for k, v in first["extracts"].items() if not k.startswith("returns/")} == (
        plain["extracts"]
    )
    assert first["extracts"] == again["extracts"]
    returns = {k for k in first["extracts"] if k.startswith("returns/")}
    assert {k.split("/")[1] for k in returns} == set(t.RETURN_DIRECTORIES)


def test_every_dropped_value_is_traceable_masked_with_its_reason(tmp_path):
    from dataclasses import asdict

    from loaders.fields import FIELDS, masked
    from loaders.mapping import load_mappings
    from loaders.progress import Silent
    from loaders.reading import read_all
    from loaders.report import LoadReport, latest_dropped, save
    from synthetic.identifiers import upn

    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "p.yaml").write_text(
        textwrap.dedent("""\
        source: pupils
        files: pupils.csv
        columns: {UPN: person.upn, Surname: person.family_name, Forename: person.given_name,
                  DOB: person.dob, Sex: person.sex}
        codes: {person.sex: [F, M]}
    """)
    )
    data = tmp_path / "data"
    _write(
        data / "pupils.csv",
        "UPN,Surname,Forename,DOB,Sex\n"
        "Q940201424007,Smith,Ann,2015-01-02,F\n"  # a digit mistyped: the check letter fails
        f"{upn('940', '2004', '24', '01')},Jones,Bob,2014-02-03,X\n",
    )  # a code not in the list
    report = LoadReport(directory=str(data), started_at="", as_of=TODAY.isoformat())
    dropped: list = []
    read_all(
        data, load_mappings(tmp_path / "maps"), TODAY, report, [], [], Silent(), dropped=dropped
    )
    report.dropped_examples = [asdict(d) for d in dropped]
    save(report, [], tmp_path / "loads" / "one", dropped)
    rows = latest_dropped(tmp_path / "loads")
    assert [(r["file"], r["row"], r["column"], r["field"], r["value"]) for r in rows] == [
        ("pupils.csv", "2", "UPN", "person.upn", "Q9*********07"),
        ("pupils.csv", "3", "Sex", "person.sex", "X"),
    ]
    assert (
        "check letter" in rows[0]["reason"]
        and "not in the mapping's code list" in rows[1]["reason"]
    )
    assert report.sources["pupils"].values_dropped == 2
    markdown = report.to_markdown()
    assert f"| pupils.csv | 2 | UPN | {rows[0]['value']} |" in markdown
    # the masked value shows its ends and its length, never the middle
    assert masked(FIELDS["person.nhs_number"], "9434765919") == "94******19"
    assert masked(FIELDS["person.dob"], "2015-01-02") == "20******02"
    assert masked(FIELDS["episode.placement_type"], "U9") == "U9"


def test_a_returns_dates_are_read_in_the_forms_councils_tools_write_them(tmp_path):
    days = [
        "01/05/2025",
        "2025-05-02",
        "03-05-2025",
        "04.05.2025",
        "5 May 2025",
        "06-May-2025",
        "2025-05-07 00:00:00.000",
        "2025-05-08T00:00:00",
        "09/05/2025 00:00",
    ]
    path = _write(
        tmp_path / "missing.csv",
        "CHILD,DOB,MISSING,MIS_START,MIS_END\n"
        + "".join(f"{n},01/02/2015,M,{day},\n" for n, day in enumerate(days, start=1)),
    )
    (claim,) = recognise(tmp_path, [path], load_packs()).claims[path]
    outcome = read_extract(Extract(claim.mappings[0], path, "missing.csv"), TODAY)
    assert not outcome.quarantined and not outcome.dropped
    starts = [r.values["missing.start"] for r in outcome.records]
    assert starts == [dt.date(2025, 5, day) for day in range(1, 10)]
