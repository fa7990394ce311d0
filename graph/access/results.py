"""What a query's rows may show: the one enforcement point for query results.

Every saved and ad-hoc query a user runs goes through :func:`disclose` (the runner
calls it), so no page or command decides on its own what a result may show:

- a pseudonymised role (analysts) reads only the pseudonymised copy
  (:func:`read_store`), where nothing names anyone whatever the Cypher; the children its
  rows name by pseudonym are worked back, for the audit trail only;
- every other role gets each row scoped and redacted exactly as the child's record
  would be (:func:`graph.access.policy.child_access`): a saved query declares what each
  column it returns holds (``columns:`` in its YAML, kinds in :data:`COLUMN_KINDS`), and
  a row is shown only about a child the caller may see in full, with case kinds, staff
  contacts and note text as the role may see them. A query whose columns are not all
  declared, or whose rows name people without saying which child they are about, is
  refused: what cannot be scoped is not shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graph import views
from graph.access.policy import (
    FLAG_TEXT,
    NOT_HELD,
    ChildAccess,
    Principal,
    Restricted,
    child_access,
)
from graph.access.projection import copy_exists
from graph.access.pseudonyms import PseudonymError, Pseudonyms, found_in
from graph.store import GraphStore

# What a saved query's column may hold: declared once here, documented in docs/access.md.
COLUMN_KINDS: dict[str, str] = {
    "child": "the uid of the child the row is about: the row is shown only when the caller "
    "may see that child's full record (own or team caseload, or a role that sees all)",
    "person": "the uid(s) of someone else the row names (a parent, a sibling): shown with "
    "the row, and audited",
    "name": "a person's name, or a list of names: shown with the row to roles that see names",
    "dob": "a date of birth, or a list: shown with the row to roles that see dates of birth",
    "case_kind": "a case kind or a list of them: in full where the role sees the kind in "
    "full, as a flag ('known to social care') where it sees it as a flag, else left out; a "
    "row whose case kinds are all left out is not shown",
    "case_fact": "a value worked out from all of a child's cases (a count of services, a risk "
    "score and its factors): shown only to roles that see every case kind in full",
    "case_detail": "a detail of the row's cases (a worker's name or contact details, a date, "
    "a placement, a service): the row is shown only when one of its case kinds is one the "
    "role sees in full",
    "staff": "a worker, team or count that names no child (caseload counts): shown as is",
    "free_text": "note text, its author or date, of the kind named after a colon "
    "(free_text:safety): shown only to roles that see that kind of note",
    "fact": "anything else about the row's child or a place (dates, schools, districts, "
    "attendance, needs, counts): shown with the row",
}
NOTE_KINDS = ("case", "safety", "update")
PERSON_DATA = {
    "child",
    "person",
    "name",
    "dob",
    "case_kind",
    "case_fact",
    "case_detail",
    "free_text",
}
ALL_KINDS = frozenset(FLAG_TEXT)


class QueryDenied(PermissionError):
    """The access policy does not let this user see this query's results."""


@dataclass(frozen=True)
class Column:
    kind: str
    note: str | None = None  # free_text's note kind

    @classmethod
    def parse(cls, text: str) -> Column:
        kind, _, note = str(text).partition(":")
        if kind not in COLUMN_KINDS:
            raise ValueError(f"{text!r} is not a column kind ({', '.join(COLUMN_KINDS)})")
        if (kind == "free_text") != bool(note) or (note and note not in NOTE_KINDS):
            raise ValueError(f"{text!r}: free text names its note kind ({', '.join(NOTE_KINDS)})")
        return cls(kind, note or None)


def check_columns(columns: Mapping[str, str], *, about_child: bool) -> list[str]:
    """What makes a query's column declaration unusable (empty when it is usable):
    unknown kinds; people's data with no child to scope it by; names with no uid to
    audit; case details with no case kind to decide them."""
    problems: list[str] = []
    kinds: dict[str, Column] = {}
    for name, text in columns.items():
        try:
            kinds[name] = Column.parse(text)
        except ValueError as exc:
            problems.append(f"column {name}: {exc}")
    used = {c.kind for c in kinds.values()}
    if sum(c.kind == "child" for c in kinds.values()) > 1:
        problems.append("at most one column holds the child a row is about")
    if used & PERSON_DATA and "child" not in used and not about_child:
        problems.append(
            "its rows hold people's data, so a column must say which child each row is about "
            "(kind child), or the query must take a child parameter"
        )
    if used & {"name", "dob"} and not used & {"child", "person"}:
        problems.append("names or dates of birth need the uids of the people named (child, person)")
    if "case_detail" in used and "case_kind" not in used:
        problems.append("a case_detail column needs a case_kind column to decide it by")
    return problems


class NoCopyYet(QueryDenied):
    """A pseudonymised role asked before any copy was written: nothing is read instead."""


def read_store(store: GraphStore, principal: Principal | None) -> GraphStore:
    """The graph a principal's queries read: the pseudonymised copy for a pseudonymised
    role, whatever page or command asks (refused while there is none, never the live
    graph instead); the live graph for everyone else."""
    if principal is not None and principal.rules.pseudonymise:
        copy = store.pseudonymised()
        if not copy_exists(copy):
            raise NoCopyYet(
                "the pseudonymised copy analysts read has not been written yet: the end of "
                "every load writes it (jigsaw load); nothing is read from the live graph"
            )
        return copy
    return store


@dataclass
class Disclosed:
    """Rows as the principal may see them, and the children they disclose."""

    rows: list[dict[str, Any]]
    children: list[str] = field(default_factory=list)
    pseudonymised: bool = False
    withheld: int = 0  # rows left out as out of scope


def disclose(
    store: GraphStore,
    principal: Principal | None,
    columns: list[str],
    rows: list[dict[str, Any]],
    *,
    declared: Mapping[str, str] | None,
    about_child: str | None = None,
) -> Disclosed:
    """The one door for query results: ``store`` is the live graph; ``declared`` is the
    saved query's column declaration (None for ad-hoc Cypher); ``about_child`` the child
    a saved query was asked about, if any."""
    if principal is None:  # the code's own use, never a user's: nothing to scope or audit
        return Disclosed(rows)
    if principal.rules.pseudonymise:
        return Disclosed(rows, pseudonymised_children(store, rows), pseudonymised=True)
    if declared is None:
        if principal.rules.scope != "all":
            raise QueryDenied(
                f"a {principal.rules.title or principal.role} may run only saved queries "
                "that say what each column holds"
            )
        return Disclosed(rows, [about_child] if about_child else [])
    undeclared = [c for c in columns if c not in declared]
    if undeclared:
        raise QueryDenied(
            f"the query returned column(s) it does not declare ({', '.join(undeclared)}); "
            "results that cannot be scoped are not shown"
        )
    spec = {name: Column.parse(text) for name, text in declared.items() if name in columns}
    if about_child is not None:
        access = held_access(store, principal, about_child)
        if access is None:
            raise QueryDenied(
                f"this query is about a child {NOT_HELD}; "
                "open the child's record (with a reason, if you must) instead"
            )
        return _scoped(store, principal, spec, rows, fixed=access, about=about_child)
    return _scoped(store, principal, spec, rows, fixed=None, about=None)


def held_access(store: GraphStore, principal: Principal, uid: str) -> ChildAccess | None:
    """What the principal may see of a child on their or their team's caseload (or any
    child, for a role that sees all), or None for any other child."""
    workers, teams = views.caseworkers(store, uid)
    access = child_access(principal, workers=workers, teams=teams)
    return access if access.full else None


def _scoped(
    store: GraphStore,
    principal: Principal,
    spec: dict[str, Column],
    rows: list[dict[str, Any]],
    *,
    fixed: ChildAccess | None,
    about: str | None,
) -> Disclosed:
    subject = next((name for name, c in spec.items() if c.kind == "child"), None)
    access: dict[str, ChildAccess] = {}
    if subject is not None:
        uids = sorted({str(r[subject]) for r in rows if r.get(subject) is not None})
        held = views.caseworkers_of(store, uids)
        for uid in uids:
            workers, teams = held.get(uid, ([], []))
            access[uid] = child_access(principal, workers=workers, teams=teams)
    shown: list[dict[str, Any]] = []
    children: set[str] = {about} if about else set()
    for row in rows:
        if subject is not None:
            uid = row.get(subject)
            row_access = access.get(str(uid)) if uid is not None else None
            if row_access is None or not row_access.full:
                continue
        else:
            row_access = fixed
        redacted = _redact(row, spec, principal, row_access)
        if redacted is None:
            continue
        shown.append(redacted)
        for name, column in spec.items():
            if column.kind in ("child", "person"):
                children |= _uids(redacted.get(name))
    return Disclosed(shown, sorted(children), withheld=len(rows) - len(shown))


def _redact(
    row: dict[str, Any],
    spec: dict[str, Column],
    principal: Principal,
    access: ChildAccess | None,
) -> dict[str, Any] | None:
    """One row as the principal may see it, or None when the row may not be shown."""
    rules = principal.rules
    visible = access.visible_kinds if access is not None and access.full else set()
    flags = access.flag_kinds if access is not None else set()
    raw_kinds = {
        str(k) for name, c in spec.items() if c.kind == "case_kind" for k in _items(row.get(name))
    }
    if raw_kinds and not raw_kinds & (visible | flags):
        return None  # the row is there because of cases the role may not know of
    if any(c.kind == "case_detail" for c in spec.values()) and not raw_kinds & visible:
        return None  # details of cases the role sees only as a flag, or not at all
    out: dict[str, Any] = {}
    for name, value in row.items():
        column = spec[name]
        if value is None or column.kind in ("child", "person", "staff", "fact", "case_detail"):
            out[name] = value
        elif column.kind == "case_kind":
            out[name] = _kinds(value, visible, flags)
        elif column.kind == "case_fact":
            out[name] = (
                value
                if set(rules.case_kinds.full) >= ALL_KINDS
                else Restricted(f"{name} is worked out from cases a {rules.title} may not see")
            )
        else:
            field_name = {"name": "full_name", "dob": "dob"}.get(column.kind)
            allowed = (
                field_name in rules.person_fields
                if field_name
                else column.note in rules.notes  # free text
            )
            out[name] = value if allowed else Restricted(f"{name} is not shown to a {rules.title}")
    return out


def _kinds(value: Any, visible: set[str], flags: set[str]) -> Any:
    shown: list[str] = []
    for kind in _items(value):
        text = (
            kind
            if kind in visible
            else FLAG_TEXT.get(str(kind), "known to another service")
            if kind in flags
            else None
        )
        if text is not None and text not in shown:
            shown.append(text)
    if isinstance(value, list):
        return shown
    return shown[0] if shown else Restricted("a case kind this role does not see")


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set) else [value]


def _uids(value: Any) -> set[str]:
    return {str(v) for v in _items(value) if v is not None}


def pseudonymised_children(store: GraphStore, rows: list[dict[str, Any]]) -> list[str]:
    """The live uids of the people an analyst's rows name by pseudonym (for the audit
    trail only: the analyst sees pseudonyms)."""
    found: set[str] = set()
    for row in rows:
        found |= found_in(row)
    if not found:
        return []
    try:
        keys = Pseudonyms.open(store.pseudonym_dir, store.name, create=False)
    except PseudonymError:
        return []
    return sorted(set(keys.people(found).values()))
