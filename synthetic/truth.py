"""Writing the ground truth beside the extracts.

Tests read these files with pandas and compute expected answers from them alone,
never through the code under test.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from synthetic.model import County
from synthetic.writer import TruthSink


def _d(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    return value.isoformat()


def _write(path: Path, header: list[str], rows: Iterable[Iterable[object]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
            count += 1
    return count


def write_truth(county: County, sink: TruthSink, root: Path) -> dict[str, int]:
    t = root / "truth"
    a = county.as_of
    counts = {}
    counts["people.csv"] = _write(
        t / "people.csv",
        [
            "person_id",
            "given_name",
            "middle_names",
            "birth_surname",
            "surname",
            "sex",
            "dob",
            "ethnicity",
            "language",
            "upn",
            "nhs_number",
            "uln",
            "la_child_id",
            "fsm",
            "eal",
            "young_carer",
            "age",
            "is_child",
            "household",
        ],
        (
            [
                p.pid,
                p.given,
                p.middle,
                p.family,
                p.surname_on(a),
                p.sex,
                _d(p.dob),
                p.ethnicity,
                p.language,
                p.upn,
                p.nhs,
                p.uln,
                p.la_child_id,
                int(p.fsm),
                int(p.language != "ENG"),
                int(p.young_carer),
                p.age_on(a),
                int(p.age_on(a) < 18),
                p.household,
            ]
            for p in county.people
        ),
    )
    counts["parents.csv"] = _write(
        t / "parents.csv",
        ["parent_id", "child_id", "kind", "start", "end"],
        ([x.parent, x.child, x.kind, _d(x.start), _d(x.end)] for x in county.parents),
    )
    counts["partnerships.csv"] = _write(
        t / "partnerships.csv",
        ["person_a", "person_b", "start", "end"],
        ([x.a, x.b, _d(x.start), _d(x.end)] for x in county.partnerships),
    )
    counts["memberships.csv"] = _write(
        t / "memberships.csv",
        ["person_id", "family_id", "role", "start", "end"],
        ([m.person, m.family, m.role, _d(m.start), _d(m.end)] for m in county.memberships),
    )
    counts["residences.csv"] = _write(
        t / "residences.csv",
        ["person_id", "uprn", "start", "end"],
        ([p.pid, r.uprn, _d(r.start), _d(r.end)] for p in county.people for r in p.residences),
    )
    counts["addresses.csv"] = _write(
        t / "addresses.csv",
        [
            "uprn",
            "line1",
            "town",
            "postcode",
            "lsoa",
            "imd_decile",
            "lat",
            "lon",
            "local_authority",
            "in_county",
        ],
        (
            [
                x.uprn,
                x.line1,
                x.town,
                x.postcode,
                x.lsoa,
                county.by_lsoa[x.lsoa].imd_decile if x.in_county else "",
                x.lat,
                x.lon,
                x.local_authority,
                int(x.in_county),
            ]
            for x in county.addresses
        ),
    )
    counts["schools.csv"] = _write(
        t / "schools.csv",
        ["urn", "name", "phase", "kind", "postcode", "lat", "lon"],
        ([s.urn, s.name, s.phase, s.kind, s.postcode, s.lat, s.lon] for s in county.schools),
    )
    counts["enrolments.csv"] = _write(
        t / "enrolments.csv",
        ["person_id", "urn", "start", "end"],
        ([e.child, e.urn, _d(e.start), _d(e.end)] for e in county.enrolments),
    )
    counts["attendance.csv"] = _write(
        t / "attendance.csv",
        ["person_id", "urn", "term", "term_start", "possible", "authorised", "unauthorised"],
        (
            [x.child, x.urn, x.term, _d(x.start), x.possible, x.authorised, x.unauthorised]
            for x in county.attendance
        ),
    )
    counts["exclusions.csv"] = _write(
        t / "exclusions.csv",
        ["person_id", "urn", "date", "kind", "sessions", "reason"],
        ([x.child, x.urn, _d(x.date), x.kind, x.sessions, x.reason] for x in county.exclusions),
    )
    counts["cases.csv"] = _write(
        t / "cases.csv",
        [
            "case_id",
            "person_id",
            "kind",
            "service",
            "status",
            "start",
            "end",
            "worker_id",
            "reason",
            "placement_la",
            "family_id",
        ],
        (
            [
                c.case_id,
                c.child,
                c.kind,
                c.service,
                c.status,
                _d(c.start),
                _d(c.end),
                c.worker,
                c.reason,
                c.placement_la,
                c.family,
            ]
            for c in county.cases
        ),
    )
    counts["needs.csv"] = _write(
        t / "needs.csv",
        ["person_id", "code", "rank", "since"],
        ([n.child, n.code, n.rank, _d(n.since)] for n in county.needs),
    )
    counts["teams.csv"] = _write(
        t / "teams.csv",
        ["team_id", "name", "service"],
        ([x.tid, x.name, x.service] for x in county.teams),
    )
    counts["professionals.csv"] = _write(
        t / "professionals.csv",
        ["professional_id", "name", "role", "team_id", "service", "email", "phone"],
        (
            [w.pid, w.name, w.role, w.team, w.service, w.email, w.phone]
            for w in county.professionals
        ),
    )
    counts["notes.csv"] = _write(
        t / "notes.csv",
        ["note_id", "about", "case_id", "author", "at", "kind", "text"],
        ([n.note_id, n.about, n.case_id, n.author, _d(n.at), n.kind, n.text] for n in county.notes),
    )
    counts["transport.csv"] = _write(
        t / "transport.csv",
        ["person_id", "urn", "reason", "start", "end"],
        ([x.child, x.urn, x.reason, _d(x.start), _d(x.end)] for x in county.transport),
    )
    counts["offers.csv"] = _write(
        t / "offers.csv",
        ["person_id", "entry_point", "start", "urn", "current_urn"],
        ([o.child, o.entry_year, _d(o.start), o.urn, o.current_urn] for o in county.offers),
    )
    counts["source_rows.csv"] = _write(
        t / "source_rows.csv",
        ["source", "file", "row", "person_id", "entity", "source_key", "related", "defects"],
        sink.source_rows,
    )
    counts["defects.csv"] = _write(
        t / "defects.csv",
        ["source", "file", "row", "field", "defect", "true_value", "written_value"],
        sink.defects,
    )
    return counts
