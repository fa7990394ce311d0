"""The child's record as one chronology across agencies, from birth to today.

Built from the record as the viewer may see it (``graph.access.guard.child_record``),
so an entry exists only if its fact was shown: what the role may not see never reaches
here. Each entry says when, which agency, what happened in words, and where the fact
came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from graph.dates import read_day
from planning.codes import SERVICES
from ui.present.sources import source_of_key
from ui.present.words import case_kind, code, day, plural, whole, year_group

# A case's agency when the graph gave it no service: the service its kind belongs to.
AGENCY = {kind: name for name, kinds in SERVICES.values() for kind in kinds}
RETURNS = "Statutory returns"
NOTE_AGENCY = {"update": "Updates in Jigsaw", "safety": "Safety notes"}


def _entry(when: object, agency: str, what: str, source: str) -> dict[str, Any] | None:
    when = read_day(when)
    if when is None:
        return None
    return {"date": when, "when": day(when), "agency": agency, "what": what, "source": source}


def chronology(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Every dated fact of the record, oldest first. Empty for a limited view."""
    if not record.get("access", {}).get("full", True):
        return []
    found: list[dict[str, Any] | None] = []
    person = record.get("person", {})
    found.append(_entry(person.get("dob"), "Birth", "Born", ""))
    for a in record.get("addresses", []):
        where = ", ".join(x for x in (a.get("line1"), a.get("postcode")) if x)
        what = f"Moved to {where}" if a.get("line1") else f"Moved to an address in {where}"
        found.append(_entry(a.get("from"), "Home", what, "Address records"))
    for s in record.get("schools", []):
        year = f" ({year_group(s['year_group'])})" if s.get("year_group") else ""
        found.append(_entry(s.get("from"), "Schools", f"Joined {s.get('name')}{year}", "Schools"))
        found.append(_entry(s.get("to"), "Schools", f"Left {s.get('name')}", "Schools"))
    for c in record.get("cases", []):
        if not isinstance(c.get("kind"), str):
            continue  # shown only as a flag: no dates
        found += _case(c)
    for e in record.get("exclusions", []):
        why = f" ({code('exclusion_reason', e['reason'])})" if e.get("reason") else ""
        sessions = f": {plural(int(e['sessions']), 'session')}" if e.get("sessions") else ""
        what = f"{code('exclusion_kind', e.get('kind'))}{sessions}{why} at {e.get('school')}"
        found.append(_entry(e.get("date"), "Schools", what, "Exclusions"))
    for t in record.get("attendance", []):
        found.append(_entry(t.get("term_start"), "Schools", _attendance(t), "School attendance"))
    for n in record.get("needs", []):
        found.append(
            _entry(n.get("from"), "SEND", f"Need identified: {code('sen_need', n.get('code'))}", "")
        )
    for f in record.get("social_care", []):
        found += _fact(f)
    for n in record.get("notes", []):
        kind = code("note_kind", n.get("kind"))
        who = f" by {n['author']}" if n.get("author") else ""
        agency = NOTE_AGENCY.get(str(n.get("kind")), "Case notes")
        found.append(
            _entry(
                n.get("at"),
                agency,
                f"{kind}{who}: {n.get('text') or ''}",
                source_of_key(n.get("uid")),
            )
        )
    for a in record.get("alerts", []):
        found.append(_entry(a.get("created_at"), "Alerts", f"Alert: {a.get('text')}", "Jigsaw"))
    entries = [e for e in found if e is not None]
    return sorted(entries, key=lambda e: e["date"])


def agencies(entries: Iterable[dict[str, Any]]) -> list[str]:
    """The agencies the entries come from, in the order they first appear."""
    return list(dict.fromkeys(e["agency"] for e in entries))


def only(
    entries: Iterable[dict[str, Any]],
    *,
    agencies: Iterable[str] | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The entries from these agencies within the period (each bound optional)."""
    chosen = set(agencies) if agencies is not None else None
    return [
        e
        for e in entries
        if (chosen is None or e["agency"] in chosen)
        and (since is None or e["date"] >= since)
        and (until is None or e["date"] <= until)
    ]


def _case(c: dict[str, Any]) -> list[dict[str, Any] | None]:
    agency = c.get("service") or AGENCY.get(c["kind"], "")
    source = source_of_key(c.get("uid")) or RETURNS
    kind = case_kind(c["kind"])
    reason = _reason(c["kind"], c.get("reason"))
    workers = ", ".join(w for w in c.get("workers") or [] if w)
    opened = f"{kind}: opened" + (f" ({reason})" if reason else "")
    opened += f", worker {workers}" if workers else ""
    return [
        _entry(c.get("start"), agency, opened, source),
        _entry(c.get("end"), agency, f"{kind}: closed", source),
    ]


# the code list a case's reason is written in, by case kind
REASON_LIST = {
    "CIN": "need",
    "CP": "cp_category",
    "CLA": "placement_type",
    "EHCP": "sen_need",
    "SEN support": "sen_need",
}


def _reason(kind: str, reason: object) -> str:
    if reason in (None, ""):
        return ""
    return code(REASON_LIST.get(kind, ""), reason)


def _attendance(t: dict[str, Any]) -> str:
    possible, absent = t.get("possible") or 0, t.get("absent") or 0
    if not possible:
        return f"Attendance {t.get('term')}: no sessions recorded at {t.get('school')}"
    share = 100 * (1 - absent / possible)
    unauthorised = t.get("unauthorised")
    extra = f", {whole(unauthorised)} unauthorised" if unauthorised else ""
    return (
        f"Attendance {t.get('term')}: {share:.0f}% at {t.get('school')} "
        f"({whole(absent)} of {whole(possible)} sessions missed{extra})"
    )


def _fact(f: dict[str, Any]) -> list[dict[str, Any] | None]:
    """A statutory return's fact (graph.views.social_care) as entries."""
    agency = AGENCY.get(f.get("case_kind") or "", "Children's social care")
    label = f.get("label")
    out: list[dict[str, Any] | None] = []

    def add(when: object, what: str) -> None:
        out.append(_entry(when, agency, what, RETURNS))

    if label == "Referral":
        source = code("referral_source", f.get("source")) if f.get("source") else ""
        need = code("need", f.get("need")) if f.get("need") else ""
        detail = "; ".join(x for x in (f"from {source}" if source else "", need) if x)
        add(
            f.get("date"),
            "Referral"
            + (f" ({detail})" if detail else "")
            + (", no further action" if f.get("nfa") else ""),
        )
        closed = code("closure_reason", f.get("closure_reason"))
        add(f.get("closed"), "Episode of need closed" + (f": {closed}" if closed else ""))
    elif label == "Assessment":
        kind = f"{f['kind']} assessment" if f.get("kind") else "Assessment"
        add(f.get("start"), f"{kind} started")
        factors = [x for x in str(f.get("factors") or "").split(",") if x.strip()]
        add(
            f.get("end"),
            f"{kind} completed"
            + (f" ({plural(len(factors), 'factor')} identified)" if factors else ""),
        )
    elif label == "Section47":
        add(f.get("start"), "Section 47 enquiry started")
        add(f.get("icpc_date"), "Initial child protection conference")
    elif label == "CINPlan":
        add(f.get("start"), "Child in need plan started")
        add(f.get("end"), "Child in need plan ended")
    elif label == "CPPlan":
        category = code("cp_category", f.get("latest_category") or f.get("initial_category"))
        add(
            f.get("start"), "Child protection plan started" + (f" ({category})" if category else "")
        )
        add(f.get("end"), "Child protection plan ended")
    elif label == "PeriodOfCare":
        for e in f.get("episodes", []):
            add(e.get("start"), _episode(e))
        ended = code("reason_end", f.get("reason_end"))
        add(f.get("end"), "Ceased to be looked after" + (f": {ended}" if ended else ""))
    elif label == "MissingEpisode":
        until = f" until {day(f['end'])}" if f.get("end") else ""
        add(f.get("start"), code("missing", f.get("kind") or "MISSING") + until)
    elif label == "Review":
        said = code("participation", f.get("participation")) if f.get("participation") else ""
        add(
            f.get("date"),
            code("review_kind", f.get("kind") or "CLA")
            + (f": {said[:1].lower()}{said[1:]}" if said else ""),
        )
    elif label == "Adoption":
        add(f.get("decided"), "Decision to place for adoption")
        add(f.get("matched"), "Matched with adopters")
    elif label == "Status":
        status = f.get("status")
        if "permanence" in str(f.get("kind")):
            status = code("permanence", status)
        add(f.get("from"), f"{f.get('kind')}: {status}".capitalize())
        add(f.get("to"), f"{f.get('kind')} ended".capitalize())
    elif label == "Outcome":
        add(f.get("date"), code("outcome_kind", f.get("kind")) + " recorded")
    return out


def _episode(e: dict[str, Any]) -> str:
    """An episode of care: why it began, the placement and the legal status."""
    placement = code("placement_type", e.get("placement_type"))
    legal = code("legal_status", e.get("legal_status"))
    detail = "; ".join(x for x in (placement, legal) if x)
    if e.get("reason_new") == "S":
        head = "Became looked after"
    elif e.get("placement_change"):
        head = "Placement moved"
    else:
        head = code("reason_new", e.get("reason_new")) or "New episode of care"
    return f"{head}: {detail}" if detail else head
