"""Linkage's inputs from validated records: each identity, and what surrounds it.

A record names one or two people (a child, and a parent on the same row). Besides
their identity fields, linkage may know who they are named against (the child on the
row, the children of the same family group, a case system's relationship rows), where
they lived and when (an address, a council tax liability), and the role they were
recorded in (mother, carer, liable party). That :class:`Context` is the relational
evidence the second pass (:mod:`loaders.linkage.relational`) and the family rules
(:mod:`loaders.linkage.clusters`) use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from graph.family_rules import PARENT_MIN_AGE
from loaders.build import ROLE_KEYS, identity_uid
from loaders.linkage.identity import Identity
from loaders.validate import Record

ADULT_AGE = 16  # a council tax liable party is at least this old at the start
# Family-group roles that make a member a parent or carer of the group's children;
# "child" marks the children. Other roles (partner, adult) are household members.
CARER_ROLES = {
    "mother",
    "father",
    "stepmother",
    "stepfather",
    "carer",
    "parent",
    "guardian",
    "foster carer",
}
ROLE_SEX = {"mother": "F", "stepmother": "F", "father": "M", "stepfather": "M"}
# The kinds of :class:`Edge` that state a child's own parent (a birth or adoptive parent,
# a family group's mother or father). "parent" is a kind unstated (a column such as
# health visiting's "Parent/Carer Name", a children's centre's parent): it may be a carer,
# so it is not one; every other kind (step, foster, guardian, carer) names a carer.
# In the order the words choose one where records differ (evidence.PARENT_KIND_WORDS).
PARENTAL_KINDS = ("mother", "father", "birth", "adoptive")
UNSTATED_KIND = "parent"


@dataclass(frozen=True, slots=True)
class Tenure:
    """A record's sighting of its person at an address: key, and dates where known."""

    address: str  # the UPRN, else the first line and postcode (see address_key)
    start: str = ""  # ISO dates or ''
    end: str = ""


OPEN_START, OPEN_END = "0000-00-00", "9999-99-99"  # an unknown start or end of a stay


@dataclass(frozen=True, slots=True)
class Edge:
    """``parent`` (a record uid) is named as parent or carer of ``child``."""

    parent: str
    child: str
    kind: str  # birth, step, adoptive, foster, guardian, parent, or a family role
    graph: bool  # becomes a PARENT_OF in the graph (a family role stays a membership)


@dataclass
class Context:
    """What linkage may know about records beyond their identity fields."""

    as_of: str = ""  # ISO date: who is a child is worked out at this day
    edges: list[Edge] = field(default_factory=list)
    # record uid -> tenures (records with the same tenures share one tuple)
    homes: dict[str, Sequence[Tenure]] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # record uid -> recorded role
    adults: set[str] = field(default_factory=set)  # from sources that hold only adults
    places: dict[str, str] = field(default_factory=dict)  # address key -> its words


def linkage_inputs(
    records: list[Record], as_of: dt.date | None = None
) -> tuple[list[Identity], list[tuple[Record, str]], Context]:
    """Identity records (each person row, and each parent named on a row), the record
    and role each came from, and their context."""
    today = as_of or dt.date.today()
    context = Context(as_of=today.isoformat())
    gazetteer = {
        (_line(r.values.get("address.line1")), str(r.values.get("address.postcode") or "")): str(
            r.values["address.uprn"]
        )
        for r in records
        if r.entity == "address" and r.values.get("address.uprn")
    }
    for r in records:
        if r.entity == "address" and r.values.get("address.uprn"):
            context.places[str(r.values["address.uprn"])] = _words(r.values)
    identities: list[Identity] = []
    roles: list[tuple[Record, str]] = []
    families: dict[tuple[str, str], list[tuple[str, str]]] = {}  # (source, ref) -> members
    by_la_id: dict[str, str] = {}
    # one tuple a distinct tenure: a pupil's address repeats on every attendance row
    shared: dict[Tenure, tuple[Tenure]] = {}
    relationships: list[Record] = []
    for r in records:
        if r.entity == "relationship":
            relationships.append(r)
        if r.entity != "person":
            continue
        v = r.values
        tenure = _tenure(v, gazetteer)
        if tenure is not None and tenure.address not in context.places:
            context.places[tenure.address] = _words(v)
        for who in ("person", "parent"):
            if who == "parent" and not (v.get("parent.family_name") or v.get("parent.nhs_number")):
                continue
            k = ROLE_KEYS[who].key
            dob = v.get(k["dob"])
            born_before = _born_before(r, who, today)
            rid = identity_uid(r, who)
            role = str(v.get("person.role") or "") if who == "person" else "parent"
            identities.append(
                Identity(
                    rid=rid,
                    given=str(v.get(k["given_name"]) or ""),
                    family=str(v.get(k["family_name"]) or ""),
                    dob=dob.isoformat() if isinstance(dob, dt.date) else "",
                    sex=str(v.get(k["sex"]) or ROLE_SEX.get(role, "")),
                    postcode=str(v.get("address.postcode") or ""),
                    upn=str(v.get(k["upn"]) or ""),
                    nhs=str(v.get(k["nhs_number"]) or ""),
                    uln=str(v.get(k["uln"]) or ""),
                    la_id=str(v.get(k["la_child_id"]) or ""),
                    trusted=r.trust_ids,
                    born_before=born_before.isoformat() if born_before else "",
                )
            )
            roles.append((r, who))
            if tenure is not None:
                # a parent named on a child's row is taken to live with the child
                seen = tenure if who == "person" else Tenure(tenure.address)
                context.homes[rid] = shared.setdefault(seen, (seen,))
            if role:
                context.roles[rid] = role
            if r.adults:
                context.adults.add(rid)
                context.roles.setdefault(rid, "liable party")
            if who == "parent":
                kind = str(v.get("parent.kind") or "parent")
                context.edges.append(Edge(rid, r.uid, kind, graph=True))
            la_id = v.get(k["la_child_id"])
            if la_id and r.trust_ids:
                by_la_id.setdefault(str(la_id), rid)
        ref = v.get("family.ref")
        if ref:
            families.setdefault((r.source, str(ref)), []).append(
                (r.uid, str(v.get("person.role") or ""))
            )
    for members in families.values():
        children = [rid for rid, role in members if role == "child"]
        for rid, role in members:
            if role in CARER_ROLES:
                context.edges += [Edge(rid, c, role, graph=False) for c in children]
    for r in relationships:
        child = by_la_id.get(str(r.values.get("person.la_child_id")))
        parent = by_la_id.get(str(r.values.get("related.la_child_id")))
        if child and parent and child != parent:
            context.edges.append(Edge(parent, child, str(r.values["related.kind"]), graph=True))
    return identities, roles, context


def address_key(uprn: object, line1: object, postcode: object, gazetteer: dict) -> str | None:
    """The UPRN where known (or found in the gazetteer by first line and postcode), else
    the first line and postcode; ``None`` without both (a postcode alone is compared as a
    postcode, not an address)."""
    if uprn:
        return str(uprn)
    if not (line1 and postcode):
        return None
    key = (_line(line1), str(postcode))
    return gazetteer.get(key) or f"{key[0]}|{key[1]}"


def _tenure(v: dict, gazetteer: dict) -> Tenure | None:
    key = address_key(
        v.get("address.uprn"), v.get("address.line1"), v.get("address.postcode"), gazetteer
    )
    if key is None:
        return None
    start, end = v.get("address.from"), v.get("address.to")
    return Tenure(
        key,
        start.isoformat() if isinstance(start, dt.date) else "",
        end.isoformat() if isinstance(end, dt.date) else "",
    )


def _words(v: dict) -> str:
    return ", ".join(str(v[k]) for k in ("address.line1", "address.postcode") if v.get(k))


def _line(text: object) -> str:
    return " ".join(str(text or "").lower().replace(",", " ").split())


def _born_before(r: Record, who: str, today: dt.date) -> dt.date | None:
    """What the row implies about an undated person's birth: parents and liable
    adults cannot be younger than this (keeps a mother and her namesake child apart)."""
    v = r.values
    if who == "parent" and isinstance(v.get("person.dob"), dt.date):
        return _years_before(v["person.dob"], PARENT_MIN_AGE)
    if who == "person" and r.adults:
        start = v.get("address.from")
        return _years_before(start if isinstance(start, dt.date) else today, ADULT_AGE)
    return None


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
