"""The one door for people-facing reads: permission, redaction and audit together.

Pages and commands call these, never ``graph.views`` directly, so a page cannot
forget a check: each function asks the policy, redacts what the role may not see
(restricted values never leave ``graph/``), and writes the audit entry before the
data is returned.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from graph import alerts, exchange, views
from graph import review_queue as review
from graph.access.audit import AuditLog, Verdict
from graph.access.policy import (
    NOT_HELD,
    SOCIAL_CARE_KINDS,
    BreakGlass,
    Principal,
    Restricted,
    allowed,
    child_access,
    redact_cases,
    redact_notes,
    redact_person,
)
from graph.access.pseudonyms import PseudonymError, Pseudonyms
from graph.access.results import QueryDenied, held_access, pseudonymised_children, read_store
from graph.store import GraphStore


class AccessDenied(PermissionError):
    """The policy does not allow this; the message says what and why."""


def _source(store: GraphStore, p: Principal) -> GraphStore:
    """The graph a page's view reads for this principal (results.read_store), its
    refusal (no pseudonymised copy yet) as the pages' own."""
    try:
        return read_store(store, p)
    except QueryDenied as exc:
        raise AccessDenied(str(exc)) from None


def _children(store: GraphStore, p: Principal, rows: list[dict[str, Any]]) -> list[str]:
    """The children rows name: by uid, or, from the pseudonymised copy, the children
    behind the pseudonyms (for the audit trail only)."""
    if p.rules.pseudonymise:
        return pseudonymised_children(store, rows)
    return [r["child_uid"] for r in rows if r.get("child_uid")]


def children_named(
    store: GraphStore, principal: Principal | None, rows: list[dict[str, Any]]
) -> list[str]:
    """The children a table shown to this principal names, for the audit trail (a
    download's entry): the uids in its child id columns (``child``, ``*child_uid``), or,
    for a pseudonymised role, the people behind every pseudonym in it."""
    if principal is not None and principal.rules.pseudonymise:
        return pseudonymised_children(store, rows)
    return sorted(
        {
            str(value)
            for row in rows
            for column, value in row.items()
            if (column == "child" or str(column).endswith("child_uid")) and value not in (None, "")
        }
    )


def _require(principal: Principal | None, action: str) -> Principal:
    if principal is None:
        raise AccessDenied("sign in first")
    if not allowed(principal, action):  # type: ignore[arg-type]
        raise AccessDenied(f"a {principal.rules.title or principal.role} may not {action}")
    return principal


def search(
    store: GraphStore, principal: Principal | None, audit: AuditLog, text: str
) -> list[dict[str, Any]]:
    p = _require(principal, "search")
    results = views.find_children(store, text)
    # whose caseload each child is on, so the results can say "yours" or "your team's"
    held = views.caseworkers_of(store, [r["uid"] for r in results])
    for r in results:
        workers, teams = held.get(r["uid"], ([], []))
        r["held"] = (
            "yours"
            if p.professional and p.professional in workers
            else "team"
            if set(p.teams) & set(teams)
            else None
        )
    audit.record(
        user=p.username,
        role=p.role,
        action="search",
        children=[r["uid"] for r in results],
        detail={"text": text[:100]},
    )
    return results


def child_record(
    store: GraphStore,
    principal: Principal | None,
    audit: AuditLog,
    uid: str,
    *,
    break_glass: BreakGlass | None = None,
) -> dict[str, Any] | None:
    p = _require(principal, "view_child")
    record = views.child_record(store, uid)
    if record is None:
        return None
    workers, teams = views.caseworkers(store, uid)
    access = child_access(p, workers=workers, teams=teams, break_glass=break_glass)
    safe = {
        "access": {"full": access.full, "reason": access.reason, "break_glass": access.break_glass},
        "person": redact_person(record["person"], p, access),
        "addresses": record["addresses"]
        if access.full
        else [
            {**a, "line1": "restricted", "lat": None, "lon": None}
            for a in record["addresses"]
            if a["to"] is None
        ][:1],
        "family": record["family"] if access.full else [],
        "schools": record["schools"],
        "cases": redact_cases(record["cases"], access),
        "professionals": [
            pro for pro in record["professionals"] if pro["for_case"] in access.visible_kinds
        ]
        if access.full
        else [],
        "attendance": record["attendance"] if access.full else [],
        "needs": record["needs"] if access.full else [],
        "notes": redact_notes(record["notes"], p, access),
        "exclusions": record["exclusions"] if access.full else [],
        # the returns' detail, by the case kind each fact belongs to, like the cases
        "social_care": [
            f
            for f in record["social_care"]
            if access.full and f["case_kind"] in access.visible_kinds
        ],
        "disabilities": record["disabilities"] if access.full else [],
        "warnings": record["warnings"] if access.full else [],
        # what changed about the child, for those who see the record; a sibling's
        # social care only for roles that see social care in full
        "alerts": [
            a
            for a in record["alerts"]
            if access.full
            and (a["kind"] != "sibling_social_care" or SOCIAL_CARE_KINDS & access.visible_kinds)
        ],
    }
    audit.record(
        user=p.username,
        role=p.role,
        action="view_child",
        children=[uid],
        detail={"view": "full" if access.full else "limited"}
        | ({"purpose": break_glass.purpose} if access.break_glass and break_glass else {}),
        reason=str(break_glass) if access.break_glass else None,
    )
    return safe


RECENT_AUDIT_ENTRIES = 500  # what the audit page lists when no child is asked about


def audit_trail(
    principal: Principal | None, audit: AuditLog, child: str = ""
) -> tuple[Verdict, list[dict[str, Any]]]:
    """The audit page: whether the trail is intact (walked on from where the last sound
    check stopped, so a view reads only what was written since), and the entries naming
    ``child`` (through the trail's index) or else the latest ones (read from its end)."""
    p = _require(principal, "read_audit")
    verdict = audit.check(resume=True)
    entries = audit.about_child(child) if child else audit.recent(RECENT_AUDIT_ENTRIES)
    audit.record(user=p.username, role=p.role, action="read_audit", detail={"child": child})
    return verdict, entries


class NotFound(LookupError):
    """No person has that id."""


def add_note(
    store: GraphStore,
    principal: Principal | None,
    audit: AuditLog,
    uid: str,
    text: str,
    *,
    break_glass: BreakGlass | None = None,
) -> str:
    """Add an update to a child's record: only for someone who may see the whole record
    (their caseload, their team's, or after break glass). A refusal is audited; an id
    that names no one is an error, and nothing is written or audited."""
    p = _require(principal, "add_note")
    if not views.person_exists(store, uid):
        raise NotFound(f"no one has the id {uid}")
    workers, teams = views.caseworkers(store, uid)
    access = child_access(p, workers=workers, teams=teams, break_glass=break_glass)
    if not access.full:
        audit.record(
            user=p.username,
            role=p.role,
            action="add_note_refused",
            children=[uid],
            detail={"why": access.reason},
        )
        raise AccessDenied(f"you may not add to this record: {access.reason}")
    note = views.add_note(store, uid, p.username, text, worker=p.professional)
    audit.record(
        user=p.username,
        role=p.role,
        action="add_note",
        children=[uid],
        detail={"note": note},
        reason=str(break_glass) if access.break_glass else None,
    )
    return note


def family_network(
    store: GraphStore,
    principal: Principal | None,
    audit: AuditLog,
    uid: str,
    *,
    depth: int,
    as_of: dt.date,
    types: tuple[str, ...],
    labels: tuple[str, ...],
) -> dict[str, list[dict[str, Any]]]:
    p = _require(principal, "view_network")
    access = held_access(store, p, uid)
    if access is None:
        raise AccessDenied(
            f"this child is {NOT_HELD}: open their record with a reason first, "
            "then the family network"
        )
    network = views.family_network(store, uid, depth=depth, as_of=as_of, types=types, labels=labels)
    allowed_kinds = access.visible_kinds
    for node in network["nodes"]:
        node["open_cases"] = [k for k in node["open_cases"] if k in allowed_kinds]
        if node["label"] == "Case" and node["kind"] not in allowed_kinds:
            node.update(name="restricted", kind=None, workers=[], service=None)
    audit.record(
        user=p.username,
        role=p.role,
        action="view_network",
        children=[n["uid"] for n in network["nodes"] if n.get("child")],
        detail={"focus": uid, "depth": depth, "as_of": as_of.isoformat()},
    )
    return network


def meeting_pack(
    store: GraphStore,
    principal: Principal | None,
    audit: AuditLog,
    uid: str,
    *,
    as_of: dt.date,
    break_glass: BreakGlass | None = None,
) -> dict[str, Any] | None:
    """What a meeting pack about a child holds, each part read through its own door:
    the record as the viewer may see it (only a full view makes a pack) and, for a
    child on their or their team's caseload, the family network two steps out. Says
    which ``children`` the pack names, for the export's audit entry."""
    p = _require(principal, "view_child")
    record = child_record(store, p, audit, uid, break_glass=break_glass)
    if record is None:
        return None
    if not record["access"]["full"]:
        raise AccessDenied("a meeting pack is made from a full view of the record only")
    network = None
    if allowed(p, "view_network") and held_access(store, p, uid) is not None:
        network = family_network(
            store,
            p,
            audit,
            uid,
            depth=2,
            as_of=as_of,
            types=views.DEFAULT_TYPES,
            labels=views.NETWORK_LABELS,
        )
    named = {uid} | {n["uid"] for n in (network or {}).get("nodes", []) if n.get("child")}
    return {"record": record, "network": network, "children": sorted(named)}


def caseload(
    store: GraphStore, principal: Principal | None, audit: AuditLog, **filters: Any
) -> views.Caseload:
    """The caseload map's reads (:func:`graph.views.caseload`), from the pseudonymised
    copy for a pseudonymised role; the children of the cases it names one by one
    audited, their names and ids withheld from roles that do not see people."""
    p = _require(principal, "view_caseload")
    found = views.caseload(_source(store, p), **filters)
    named = found.cases + found.waiting
    audit.record(
        user=p.username,
        role=p.role,
        action="view_caseload",
        detail={k: v for k, v in filters.items() if isinstance(v, str)},
        children=_children(store, p, named),
    )
    if p.rules.pseudonymise or not sees_people(p):
        for r in named:
            r["child_uid"] = r["child_name"] = None
    return found


# -- planning and alerts -----------------------------------------------------------------


def my_alerts(
    store: GraphStore,
    principal: Principal | None,
    audit: AuditLog,
    *,
    include_seen: bool = False,
) -> list[dict[str, Any]]:
    """Alerts for the signed-in professional (only about children on their own open
    cases, since that is who alerts are raised for), or for a manager's teams."""
    p = _require(principal, "view_alerts")
    if p.professional:
        rows = alerts.for_professional(store, p.professional, include_seen=include_seen)
    elif p.teams:  # a manager sees their teams' alerts (and does not mark them seen)
        rows = alerts.for_teams(store, list(p.teams), include_seen=include_seen)
    else:
        return []
    if rows:
        audit.record(
            user=p.username,
            role=p.role,
            action="view_alerts",
            children=sorted({r["child_uid"] for r in rows}),
        )
    return rows


def mark_alert_seen(
    store: GraphStore, principal: Principal | None, audit: AuditLog, uid: str
) -> None:
    p = _require(principal, "view_alerts")
    if not p.professional:
        raise AccessDenied("your account is not linked to a professional")
    child = alerts.mark_seen(store, p.professional, uid)
    if child is None:
        raise AccessDenied("that alert is not yours")
    audit.record(
        user=p.username, role=p.role, action="update", children=[child], detail={"alert": uid}
    )


def transitions(
    store: GraphStore,
    principal: Principal | None,
    audit: AuditLog,
    entry_point: str,
    today: dt.date,
    *,
    plan: Callable[[GraphStore, str, dt.date], Iterable[Any]],
) -> list[dict[str, Any]]:
    """Children moving school next September, one row each, as the role may see them
    (from the pseudonymised copy for a pseudonymised role); ``plan(store, entry_point,
    today)`` works them out (``planning.transitions``: the planning logic sits above
    this package, which only guards what it returns)."""
    p = _require(principal, "plan_ahead")
    source = _source(store, p)
    redact = _transition_redaction(p)
    rows = [redact(t.as_row()) for t in plan(source, entry_point, today)]
    audit.record(
        user=p.username,
        role=p.role,
        action="plan_ahead",
        children=_children(store, p, rows),
        detail={"view": "transitions", "entry_point": entry_point},
    )
    return rows


def needs_forecast(
    store: GraphStore,
    principal: Principal | None,
    audit: AuditLog,
    today: dt.date,
    years: int,
    *,
    forecast: Callable[[GraphStore, dt.date, int], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Counts only: no child is named, so every planning role sees it whole;
    ``forecast(store, today, years)`` works them out (``planning.forecast``)."""
    p = _require(principal, "plan_ahead")
    rows = forecast(_source(store, p), today, years)
    audit.record(
        user=p.username,
        role=p.role,
        action="plan_ahead",
        detail={"view": "forecast", "years": years},
    )
    return rows


TRANSITION_KINDS = {"ehc_plan": "EHCP", "sen_support": "SEN support", "transport_now": "Transport"}


def _transition_redaction(p: Principal) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What a transitions row shows this principal: case columns in full, as a yes/no
    flag, or restricted, as the policy says; the named needs only for roles that see EHC
    plans in full. Decided once a page (about 17,000 rows at county), applied to each."""
    full, flag = set(p.rules.case_kinds.full), set(p.rules.case_kinds.flag)
    who = p.rules.title or p.role
    hidden = {
        column: Restricted(f"{kind} is not shown to a {who}")
        for column, kind in TRANSITION_KINDS.items()
        if kind not in full and kind not in flag
    }
    needs = None if "EHCP" in full else Restricted(f"needs are not shown to a {who}")

    def redact(row: dict[str, Any]) -> dict[str, Any]:
        if hidden:
            row.update(hidden)
        if needs is not None and row["needs"]:
            row["needs"] = needs
        return row

    return redact


def partner_enquiries(
    principal: Principal | None, audit: AuditLog, uid: str
) -> list[dict[str, Any]]:
    """Who asked about this child through the exchange API: when, which partner, why,
    and what they were told. For roles that may open a child's record."""
    _require(principal, "view_child")
    return [
        {
            "at": e["at"],
            "organisation": e["role"].removeprefix("partner: "),
            "reason": e.get("reason"),
            "outcome": e["detail"].get("outcome"),
            "returned": ", ".join(e["detail"].get("returned") or []),
        }
        for e in audit.about_child(uid)
        if e["action"] == exchange.ENQUIRY
    ]


# -- the pseudonymised copy's way back, and data about the data ------------------------

REIDENTIFY_MIN_WORDS = 4


def reidentify(
    store: GraphStore,
    principal: Principal | None,
    audit: AuditLog,
    pseudonyms: list[str],
    reason: str,
) -> dict[str, str]:
    """Pseudonym -> child uid, for a lawful purpose the caller states: for a role the
    policy allows it, every time audited with the children and the reason."""
    p = _require(principal, "reidentify")
    if len(reason.split()) < REIDENTIFY_MIN_WORDS:
        raise AccessDenied(
            f"say why these children must be identified (at least {REIDENTIFY_MIN_WORDS} "
            "words: the lawful purpose and what will be done)"
        )
    try:
        keys = Pseudonyms.open(store.pseudonym_dir, store.name, create=False)
    except PseudonymError as exc:
        raise AccessDenied(str(exc)) from None
    found = keys.people(pseudonyms)
    audit.record(
        user=p.username,
        role=p.role,
        action="reidentify",
        children=sorted(set(found.values())),
        detail={"pseudonyms": len(set(pseudonyms)), "found": len(found)},
        reason=reason.strip(),
    )
    return found


QUOTED_OR_DIGITS = re.compile(r"'[^']*'|\"[^\"]*\"|\S*\d\S*")


def quarantine(
    principal: Principal | None, audit: AuditLog, rows: list[dict[str, str]]
) -> list[dict[str, str]]:
    """The latest load's quarantine (or the values it dropped from kept rows): as read
    for roles that may see people's data; for others (analysts, administrators) where
    each row came from and why, with the values (names, identifiers, dates) withheld."""
    p = _require(principal, "view_data")
    shown = rows if sees_people(p) else [_masked(r) for r in rows]
    audit.record(
        user=p.username,
        role=p.role,
        action="view_quarantine",
        detail={"rows": len(rows), "values": sees_people(p)},
    )
    return shown


def sees_people(p: Principal) -> bool:
    """Whether a role may see people's data at all (names, identifiers, dates of birth)."""
    return not p.rules.pseudonymise and p.rules.scope != "none"


def _masked(row: dict[str, str]) -> dict[str, str]:
    """Where a held-back row or dropped value came from and why, without the values."""
    out = {}
    for key, value in row.items():
        if key == "reason":
            out[key] = QUOTED_OR_DIGITS.sub("…", value or "")
        elif key == "raw":
            fields = json.loads(value) if (value or "").startswith("{") else {}
            out[key] = "fields: " + ", ".join(fields) + " (values withheld)"
        else:
            out[key] = value if key in ("source", "file", "row", "column", "field") else "withheld"
    return out


# -- the linkage review queue ----------------------------------------------------------
# A reviewer sees both people of a pair in full but for the fields their role may not
# see, which are masked; whether the two hold the same value there is still said. The
# linkage evidence, a rule's reason, the addresses and the relatives quote names, dates
# of birth and places: a role that does not see names and dates of birth (an
# administrator) has them withheld too, and reads only which fields agree, whether a
# rule kept the two apart, the likelihood and the sources. Every pair shown and every
# decision is audited with the people it touched, and the evidence and reason shown
# with the people they name (housemates, children, movers, a parent too young).

WITHHELD_REASON = "the reason quotes addresses and dates of birth"
# A pair's fields, in the order a reviewer compares them (ui.present.review shows them
# under these two headings)
REVIEW_IDENTITY = (
    "full_name",
    "given_name",
    "middle_names",
    "family_name",
    "other_names",
    "dob",
    "sex",
    "ethnicity",
    "language",
)
REVIEW_IDENTIFIERS = ("upn", "nhs_number", "uln", "la_child_id")
REVIEW_FIELDS = (*REVIEW_IDENTITY, *REVIEW_IDENTIFIERS, "sources")


def review_queue(
    store: GraphStore, principal: Principal | None, audit: AuditLog, *, limit: int = 25
) -> dict[str, Any]:
    """Pairs awaiting a decision (those changing most children's networks first), the
    latest decisions (for undo) and what the decisions say about the thresholds."""
    p = _require(principal, "review_linkage")
    pending = review.pending(store, limit)
    recent = review.recent(store)
    quoted: list[str] = []  # the records of the people the evidence shown names
    for pair in pending:
        for person in pair["people"]:
            _mask_fields(person, p)
        if not _sees_people(p):
            pair["evidence"] = Restricted("the evidence quotes names and dates of birth")
            if pair.get("reason"):
                pair["reason"] = Restricted(WITHHELD_REASON)
        elif pair["evidence"] or pair.get("reason"):
            quoted += pair["named_records"] or ()
        del pair["named_records"]
    named = set(review.named(store, quoted))
    if not _sees_people(p):
        for row in recent:
            row["names"] = [Restricted("names are not shown to this role") for _ in row["names"]]
    audit.record(
        user=p.username,
        role=p.role,
        action="view_review_queue",
        children=sorted(
            {x["uid"] for pair in pending for x in pair["people"]}
            | {uid for r in recent for uid in r["people"]}
            | named
        ),
    )
    return {
        "pending": pending,
        "waiting": review.pending_count(store),
        "recent": recent,
        "feedback": str(review.threshold_feedback(store)),
    }


def review_pair(
    store: GraphStore, principal: Principal | None, audit: AuditLog, uid: str
) -> dict[str, Any]:
    """One pair side by side: every field (masked to the reviewer's role, with whether
    the two agree), addresses over time, family, source records, and why it is here."""
    p = _require(principal, "review_linkage")
    found = review.pair(store, uid)
    sides = found["sides"]
    quoted = found.pop("named_records")  # the people the evidence names: audited when shown
    found["fields"] = [
        {
            "field": name,
            "same": _same(*(side["person"].get(name) for side in sides)) if len(sides) == 2 else "",
            "values": [side["person"].get(name) for side in sides],
        }
        for name in REVIEW_FIELDS
    ]
    for row in found["fields"]:
        if row["field"] not in p.rules.person_fields:
            row["values"] = [
                v if v is None else Restricted(f"{row['field']} is not shown to this role")
                for v in row["values"]
            ]
    for side in sides:
        _mask_fields(side["person"], p)
    shared = [
        {m["uid"] for m in side["family"]} for side in sides
    ]  # relatives on both sides support the link
    both = set.intersection(*shared) if len(shared) == 2 else set()
    for side in sides:
        for m in side["family"]:
            m["shared"] = m["uid"] in both
    if not _sees_people(p):
        found["evidence"] = Restricted("the evidence quotes names and dates of birth")
        if found.get("reason"):
            found["reason"] = Restricted(WITHHELD_REASON)
        for side in sides:
            side["addresses_withheld"] = len(side["addresses"])
            side["addresses"] = []
            for m in side["family"]:
                m["name"] = Restricted("names are not shown to this role")
                m["dob"] = Restricted("dates of birth are not shown to this role")
    audit.record(
        user=p.username,
        role=p.role,
        action="view_review_pair",
        children=sorted(
            {side["person"]["uid"] for side in sides}
            | {m["uid"] for s in sides for m in s["family"]}
            | set(
                review.named(store, quoted)
                if _sees_people(p) and (found["evidence"] or found.get("reason"))
                else ()
            )
        ),
        detail={"pair": uid},
    )
    return found


def decide_review(
    store: GraphStore, principal: Principal | None, audit: AuditLog, uid: str, *, accept: bool
) -> str:
    """Accept (merge now, and on every later load) or reject (never propose again)."""
    p = _require(principal, "review_linkage")
    people = review.pair(store, uid)["sides"]
    kept = review.decide(store, uid, accept, p.username)
    audit.record(
        user=p.username,
        role=p.role,
        action="review_accept" if accept else "review_reject",
        children=[side["person"]["uid"] for side in people],
        detail={"pair": uid, "kept": kept or None},
    )
    return kept


def undo_review(store: GraphStore, principal: Principal | None, audit: AuditLog, uid: str) -> None:
    """Return a decided pair to the queue, undoing an accept's merge."""
    p = _require(principal, "review_linkage")
    found = review.pair(store, uid)
    people = sorted(
        {side["person"]["uid"] for side in found["sides"]}
        | {x for x in (found.get("keep"), found.get("drop")) if x}
    )
    review.undo(store, uid, p.username)
    audit.record(
        user=p.username, role=p.role, action="review_undo", children=people, detail={"pair": uid}
    )


def _sees_people(p: Principal) -> bool:
    """Whether a reviewer's role sees who people are (their names and dates of birth)."""
    return {"full_name", "dob"} <= set(p.rules.person_fields)


def _mask_fields(person: dict[str, Any], p: Principal) -> None:
    """Replace, in place, the fields this role may not see (a queue's ``name`` is the
    full name, shown only to a role that sees names)."""
    visible = set(p.rules.person_fields) | {"uid", "sources"}
    if "full_name" in visible:
        visible.add("name")
    for key, value in list(person.items()):
        if value is not None and key not in visible:
            person[key] = Restricted(f"{key} is not shown to a {p.rules.title or p.role}")


def _same(a: object, b: object) -> str:
    if a is None or b is None or a == "" or b == "":
        return ""
    return "same" if str(a).strip().lower() == str(b).strip().lower() else "different"
