"""The presentation layer on its own (no Streamlit): words for values and codes, the
chronology, who is who in a family, the family-tree layout, the caseload's sums, the
boundaries and the meeting pack's PDF. Expected answers are written out by hand or come
from the synthetic county's own geography, not from the code under test."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from planning.code_labels import PACK_FIELDS, is_code
from planning.codes import SERVICES
from ui import geo, meeting_pack
from ui.network_layout import family_tree, web
from ui.present import caseload, chronology, review
from ui.present import record as words
from ui.present.data import audit_rows
from ui.present.network import relations
from ui.present.words import age, blank, day, formats_in_words, moment, whole

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 2)


def test_values_read_as_words():
    assert day(dt.date(2014, 3, 3)) == "3 Mar 2014"
    assert day("2014-03-03") == "3 Mar 2014" and day(None) == "" and day("nan") == ""
    assert moment("2026-11-24T16:55") == "24 Nov 2026, 16:55"
    assert age(dt.date(2019, 6, 15), TODAY) == "7"
    assert age(dt.date(2026, 4, 23), TODAY) == "6 months"
    assert age(dt.date(2026, 10, 20), TODAY) == "1 week"
    assert [blank(v) for v in (None, float("nan"), "None", True, 3.0, [1, None])] == [
        "",
        "",
        "",
        "Yes",
        "3",
        "1",
    ]
    assert whole(139.2) == "139" and whole(1234.6) == "1,235"
    assert formats_in_words("not a date in the format %Y-%m-%d or %d/%m/%Y") == (
        "not a date in the format yyyy-mm-dd or dd/mm/yyyy"
    )


def test_every_code_a_return_accepts_has_words():
    """Each code list a national return's pack accepts for a field the app shows has
    words for every code the pack reads into the graph."""
    missing = []
    for path in sorted((ROOT / "loaders" / "packs").glob("*/pack.yaml")):
        codes = (yaml.safe_load(path.read_text()).get("defaults") or {}).get("codes") or {}
        for field, listed in codes.items():
            if field not in PACK_FIELDS:
                continue
            values = listed.values() if isinstance(listed, dict) else listed
            missing += [
                (path.parent.name, field, v)
                for v in values
                if str(v) and not is_code(PACK_FIELDS[field], v)
            ]
    assert missing == []


def _record(**parts: object) -> dict:
    base = {
        "access": {"full": True, "reason": "own caseload", "break_glass": False},
        "person": {
            "uid": "P-1",
            "full_name": "Ada Example",
            "dob": dt.date(2015, 3, 4),
            "sex": "F",
            "ethnicity": "WBRI",
        },
        "addresses": [],
        "family": [],
        "schools": [],
        "cases": [],
        "professionals": [],
        "attendance": [],
        "needs": [],
        "notes": [],
        "exclusions": [],
        "social_care": [],
        "disabilities": [],
        "alerts": [],
    }
    return base | parts


def test_the_chronology_is_every_dated_fact_in_words_oldest_first():
    record = _record(
        addresses=[{"line1": "1 High St", "postcode": "NM1 1AA", "from": dt.date(2016, 1, 2)}],
        schools=[{"name": "Oak Primary", "year_group": "R", "from": dt.date(2019, 9, 4)}],
        cases=[
            {
                "uid": "social_care_episodes:0000042",
                "kind": "CP",
                "status": "open",
                "start": dt.date(2025, 5, 1),
                "reason": "NEG",
                "service": "Children's social care",
                "workers": ["Sam Smith"],
            }
        ],
        social_care=[
            {
                "label": "PeriodOfCare",
                "case_kind": "CLA",
                "start": dt.date(2025, 6, 1),
                "episodes": [
                    {
                        "start": dt.date(2025, 6, 1),
                        "reason_new": "S",
                        "placement_type": "U4",
                        "legal_status": "C2",
                    }
                ],
            },
            {
                "label": "Review",
                "case_kind": "CLA",
                "kind": "CLA",
                "date": dt.date(2025, 9, 1),
                "participation": "PN1",
            },
        ],
        notes=[
            {
                "uid": "N-0123456789abcdef",
                "kind": "update",
                "text": "Met *mum*",
                "author": "Sam Smith",
                "at": "2025-10-01T09:30",
            }
        ],
        attendance=[
            {
                "term": "2025-26 Autumn",
                "term_start": dt.date(2025, 9, 1),
                "school": "Oak Primary",
                "possible": 100,
                "absent": 10,
                "unauthorised": 4,
            }
        ],
    )
    entries = chronology.chronology(record)
    assert [(e["when"], e["what"]) for e in entries] == [
        ("4 Mar 2015", "Born"),
        ("2 Jan 2016", "Moved to 1 High St, NM1 1AA"),
        ("4 Sep 2019", "Joined Oak Primary (Reception)"),
        ("1 May 2025", "Child protection plan: opened (Neglect), worker Sam Smith"),
        (
            "1 Jun 2025",
            "Became looked after: Foster care with other foster carers, long term; Full care order",
        ),
        (
            "1 Sep 2025",
            "Attendance 2025-26 Autumn: 90% at Oak Primary (10 of 100 sessions "
            "missed, 4 unauthorised)",
        ),
        ("1 Sep 2025", "Looked-after review: attended and spoke for themselves"),
        ("1 Oct 2025", "Update by Sam Smith: Met *mum*"),
    ]
    sources = {e["what"][:10]: e["source"] for e in entries}
    assert sources["Child prot"] == "Social care episodes"
    assert (
        sources["Update by "] == "Added in Jigsaw" and sources["Became loo"] == "Statutory returns"
    )
    care = chronology.only(entries, agencies=["Children's social care"], since=dt.date(2025, 6, 1))
    assert [e["when"] for e in care] == ["1 Jun 2025", "1 Sep 2025"]
    assert chronology.chronology(_record(access={"full": False}) | {"person": {}}) == []


def test_a_cases_agency_is_its_service_with_or_without_the_service_named():
    """A case the graph gave no service reads under the service its kind belongs to, as
    one the builder gave a service (planning/codes.py's SERVICES) does."""
    for name, kinds in SERVICES.values():
        for kind in kinds:
            case = {"uid": "c:1", "kind": kind, "start": dt.date(2025, 5, 1)}
            named = chronology.chronology(_record(cases=[case | {"service": name}]))
            unnamed = chronology.chronology(_record(cases=[case]))
            agencies = [[e["agency"] for e in c if e["what"] != "Born"] for c in (unnamed, named)]
            assert agencies == [[name], [name]], kind


def test_the_record_reads_in_words_and_says_what_view_it_is():
    record = _record(cases=[{"kind": "CIN", "status": "open", "reason": "N1 Abuse or neglect"}])
    assert words.cases(record)[0]["Involvement"] == "Child in need"
    assert words.cases(record)[0]["Reason"] == "Abuse or neglect"
    assert ("Ethnicity", "White British") in words.identity(record, TODAY)
    assert words.flags(record) == ["Child in need"]
    limited = _record(
        access={"full": False, "reason": "limited view: not on your caseload", "break_glass": False}
    )
    kind, text = words.access_line(limited)
    assert kind == "info" and text.startswith("Limited view: not on your caseload.")
    glass = _record(
        access={
            "full": True,
            "break_glass": True,
            "reason": "Child reported missing: police called at midnight",
        }
    )
    assert words.access_line(glass)[1].startswith("Opened with break glass for Child reported")


def _network(edges: list[tuple[str, str, str]], people: dict[str, tuple[str, bool]]) -> dict:
    return {
        "focus": "kid",
        "nodes": [
            {
                "uid": u,
                "label": "Person",
                "name": u.title(),
                "sex": sex,
                "child": child,
                "dob": None,
                "open_cases": [],
            }
            for u, (sex, child) in people.items()
        ],
        "edges": [{"source": a, "target": b, "type": "PARENT_OF", "kind": k} for a, b, k in edges],
    }


FAMILY = _network(
    [
        ("mum", "kid", "birth"),
        ("dad", "kid", "birth"),
        ("mum", "sis", "birth"),
        ("dad", "sis", "birth"),
        ("mum", "half", "birth"),
        ("other", "half", "birth"),
        ("step", "kid", "step"),
        ("foster", "kid", "foster"),
        ("gran", "mum", "birth"),
    ],
    {
        "kid": ("M", True),
        "mum": ("F", False),
        "dad": ("M", False),
        "sis": ("F", True),
        "half": ("M", True),
        "other": ("M", False),
        "step": ("M", False),
        "foster": ("F", False),
        "gran": ("F", False),
    },
)


def test_who_is_who_to_the_child():
    assert relations(FAMILY) == {
        "kid": "This child",
        "mum": "Mother",
        "dad": "Father",
        "sis": "Sister",
        "half": "Half-brother",
        "other": "Father of half-brother",
        "step": "Step-father",
        "foster": "Foster carer",
        "gran": "Grandmother",
    }


def test_the_family_tree_puts_generations_in_rows_and_partners_side_by_side():
    drawing = family_tree(FAMILY, TODAY)
    at = {b.uid: b for b in drawing.boxes}
    assert at["gran"].y < at["mum"].y < at["kid"].y
    assert at["mum"].y == at["dad"].y == at["step"].y == at["foster"].y
    assert at["kid"].y == at["sis"].y == at["half"].y
    parents = sorted((at[u].x, u) for u in ("mum", "dad", "other", "step", "foster"))
    order = [u for _x, u in parents]
    assert abs(order.index("mum") - order.index("dad")) == 1  # partners side by side
    row = sorted((b for b in drawing.boxes if b.y == at["mum"].y), key=lambda b: b.x)
    assert all(a.x + a.w / 2 <= b.x - b.w / 2 for a, b in itertools.pairwise(row))
    styles = {line.style for line in drawing.lines}
    assert {"solid", "dashed", "dotted"} <= styles  # birth, step and foster drawn apart
    assert all(b.w > 0 for b in web(FAMILY, TODAY).boxes)


def test_caseload_weighs_each_workers_cases_by_kind():
    keys = ("professional_uid", "professional", "team", "kind", "cases")
    counts = [
        dict(zip(keys, row, strict=True))
        for row in (
            ("W1", "Sam", "North", "CP", 1),
            ("W1", "Sam", "North", "CIN", 2),
            ("W2", "Sam", "South", "SEN support", 4),
            ("ps-1", None, "South", "CP", 9),
        )
    ]
    assert caseload.per_worker(counts, 10.0) == [
        {"Worker": "Sam", "Team": "North", "Cases": 3, "Weighted": 3.5, "Of capacity": 35},
        {"Worker": "Sam", "Team": "South", "Cases": 4, "Weighted": 0.0, "Of capacity": 0},
    ]
    assert [t["Cases"] for t in caseload.per_team(counts, 10.0)] == ["3", "4"]
    assert not caseload.needs_worker("SEN support") and caseload.needs_worker("CP")
    assert len(set(caseload.colours(f"team {i}" for i in range(24)).values())) == 24


def test_boundaries_place_each_area_centre_in_its_own_area(small_county):
    areas = geo.read_areas(small_county / "maps" / "boundaries.geojson")
    import csv

    with open(small_county / "reference" / "lsoa_imd.csv", newline="") as f:
        truth = list(csv.DictReader(f))
    found = areas.locate([float(r["LON"]) for r in truth], [float(r["LAT"]) for r in truth])
    assert [areas.codes[i] for i in found] == [r["LSOA21CD"] for r in truth]
    assert areas.places() and all(not name[-1].isdigit() for name, _x, _y in areas.places())


def test_a_boundary_file_in_the_wrong_coordinates_says_so(tmp_path):
    path = tmp_path / "bng.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        '"properties": {"WD24NM": "Castle"}, "geometry": {"type": "Polygon", '
        '"coordinates": [[[600000, 200000], [601000, 200000], [600000, 201000], '
        "[600000, 200000]]]}}]}"
    )
    with pytest.raises(geo.BoundaryError, match="longitude and latitude"):
        geo.read_areas(path)


def test_the_meeting_pack_is_a_marked_pdf_with_the_record_and_network():
    record = _record(
        cases=[{"kind": "CP", "status": "open", "start": dt.date(2025, 5, 1), "reason": "NEG"}],
        addresses=[
            {
                "line1": "1 High St",
                "postcode": "NM1 1AA",
                "from": dt.date(2016, 1, 2),
                "to": None,
                "safety_notes": ["Dog at the address"],
            }
        ],
    )
    record["person"]["uid"] = "kid"
    pdf = meeting_pack.build(
        {"record": record, "network": FAMILY, "children": ["kid"]}, viewer="Sam Smith", today=TODAY
    )
    pages = PdfReader(io.BytesIO(pdf)).pages
    texts = [p.extract_text() for p in pages]
    assert len(pages) >= 2 and all("OFFICIAL-SENSITIVE" in t for t in texts)
    assert "Ada Example" in texts[0] and "Sam Smith" in texts[0] and "2 Nov 2026" in texts[0]
    assert "Visit safety: Dog at the address" in texts[0] and "Neglect" in texts[0]
    assert any("Half-brother" in t for t in texts[1:])  # the family network's drawing
    assert pages[-1].mediabox.width > pages[-1].mediabox.height  # drawn on a landscape page


def test_the_audit_list_is_newest_first_in_words():
    keys = ("at", "user", "role", "action", "children", "reason")
    rows = audit_rows(
        [
            dict(zip(keys, row, strict=True))
            for row in (
                ("2026-11-01T09:00:00", "a", "social_worker", "view_child", ["P-1"], None),
                ("2026-11-02T09:00:00", "b", "team_manager", "export_pack", [], None),
            )
        ]
    )
    assert [r["When"] for r in rows] == ["2 Nov 2026, 09:00", "1 Nov 2026, 09:00"]
    assert rows[0]["What"] == "Export pack" and rows[1]["What"] == "Viewed a record"
    assert rows[1]["Role"] == "Social worker" and rows[0]["Reason"] == ""


def test_a_possible_duplicate_reads_in_words():
    from graph.access.policy import Restricted

    assert review.likelihood(0.9682) == "almost certainly the same person (97%)"
    assert review.likelihood(0.57) == "possibly the same person (57%)"
    assert review.likelihood(None) == ""
    assert review.impact(1) == "changes 1 child's family network"
    assert review.impact(4) == "changes 4 children's family networks"
    assert review.status("rejected") == "kept apart as two people"
    pair = {
        "evidence": "same given name Antony; against: dates of birth a year or less "
        "apart 2021-08-21/2021-12-25 (different dates of birth)"
    }
    assert review.evidence(pair) == (
        ["same given name Antony"],
        ["dates of birth a year or less apart 21 Aug 2021/25 Dec 2021 (different dates of birth)"],
    )
    assert review.evidence({"evidence": Restricted("withheld")}) is None
    mother, other = (
        {"uid": "m", "relation": "parent (birth)"},
        {"uid": "o", "relation": "parent (birth)"},
    )
    kid = {"uid": "k", "relation": "child", "shared": True}
    sides = {"sides": [{"family": [mother, kid]}, {"family": [other, kid]}]}
    said = [[r["For the link"] for r in side] for side in review.relatives(sides)]
    assert said[0][0].startswith("Contradicts") and said[1][0].startswith("Contradicts")
    assert said[0][1].startswith("Supports")
    side = {
        "addresses": [
            {"line1": "10 Field Way", "postcode": "NM3 9WP", "from": dt.date(2025, 3, 30)}
        ]
    }
    assert review.addresses(side) == ["10 Field Way, NM3 9WP: 30 Mar 2025 to now"]
