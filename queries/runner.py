"""Run saved and ad-hoc queries safely: typed parameters, read-only, limited, audited.

Every query goes through ``GraphStore.read``: read-only at the engine, with a time
limit and a row cap that say when they cut. Parameters are checked against their
declared type, range and choices (and, for a child, school, team, family or
professional, that it exists), then sent only ever as query parameters. When a
principal is given, the access policy decides whether the query may run, the graph it
reads (the pseudonymised copy for analysts) and what each row shows
(:mod:`graph.access.results`), and the run is written to the audit trail with every
child it disclosed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graph import risk_facts
from graph.access.audit import AuditLog
from graph.access.policy import Principal, allowed
from graph.access.results import Disclosed, QueryDenied, disclose, read_store
from graph.cypher import cypher
from graph.store import GraphStore, ReadResult
from queries.library import ENTITY_KINDS, KEPT, ParamSpec, SavedQuery, get_query


class ParamValidationError(ValueError):
    """One or more parameters are wrong; ``problems`` maps each name to its reason."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool
    elapsed_ms: float
    query_id: str | None
    params: dict[str, Any] = field(default_factory=dict)
    max_rows: int | None = None
    pseudonymised: bool = False
    children: list[str] = field(default_factory=list)  # disclosed, by live uid (audit only)

    @property
    def message(self) -> str:
        text = f"{len(self.rows):,} row(s) in {self.elapsed_ms:.0f} ms"
        if self.truncated:
            text += f"; cut at the row cap of {self.max_rows:,}: narrow the query"
        if self.pseudonymised:
            text += "; from the pseudonymised copy (no names, identifiers or free text)"
        return text


EXISTS = {
    kind: cypher(
        f"runner.exists_{kind}",
        f"MATCH (n:{label} {{uid: $uid}}) RETURN count(n) AS n",
        example={"uid": "x"},
    )
    for kind, label in ENTITY_KINDS.items()
}


def validate_params(
    store: GraphStore | None, query: SavedQuery, raw: Mapping[str, Any]
) -> dict[str, Any]:
    """Typed, checked parameter values (dates as ISO strings), or every problem at once."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    unknown = sorted(set(raw) - {p.name for p in query.params})
    for name in unknown:
        problems[name] = f"{query.id} has no parameter {name!r}"
    for spec in query.params:
        given = raw.get(spec.name)
        if given is None or given == "":
            given = date_default(store, query, spec) if spec.kind == "date" else spec.default
        if given is None:
            problems[spec.name] = "a value is required"
            continue
        try:
            values[spec.name] = _convert(spec, given)
        except ValueError as exc:
            problems[spec.name] = str(exc)
            continue
        if spec.kind in ENTITY_KINDS and store is not None:
            found = store.read(EXISTS[spec.kind], {"uid": values[spec.name]}).rows[0]["n"]
            if not found:
                problems[spec.name] = f"no {spec.kind} with id {values[spec.name]!r}"
    if problems:
        raise ParamValidationError(problems)
    return values


def date_default(store: GraphStore | None, query: SavedQuery, spec: ParamSpec) -> Any:
    """A date parameter's default as the form shows it and the runner uses it: ``kept``
    is the day the latest load kept the query's answers as at (today if none was)."""
    if spec.default == KEPT:
        kept = risk_facts.kept_day(store) if store is not None and query.config else None
        return kept or dt.date.today()
    return dt.date.today() if spec.default == "today" else spec.default


def form_date(store: GraphStore | None, query: SavedQuery, spec: ParamSpec) -> dt.date:
    """The day a form's date field opens on: the default (checked when the library
    loads), else today."""
    default = date_default(store, query, spec)
    if isinstance(default, dt.date):
        return default
    return dt.date.fromisoformat(str(default)) if default is not None else dt.date.today()


def _convert(spec: ParamSpec, value: Any) -> Any:
    kind = spec.kind
    if kind == "date":
        if value == "today":
            return dt.date.today().isoformat()
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError(f"{value!r} is not a date like 2026-09-01") from None
    if kind == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a number") from None
        if number != number:
            raise ValueError("not a number")
        if spec.min is not None and number < spec.min:
            raise ValueError(f"{number:g} is below the minimum {spec.min:g}")
        if spec.max is not None and number > spec.max:
            raise ValueError(f"{number:g} is above the maximum {spec.max:g}")
        return int(number) if number == int(number) else number
    if kind == "choice":
        if str(value) not in (spec.choices or []):
            raise ValueError(f"{value!r} is not one of {', '.join(spec.choices or [])}")
        return str(value)
    text = str(value).strip()
    if len(text) > 200:
        raise ValueError("too long (200 characters at most)")
    return text


def run_saved(
    store: GraphStore,
    query_id: str,
    params: Mapping[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    audit: AuditLog | None = None,
    timeout_ms: int | None = None,
    max_rows: int | None = None,
) -> QueryResult:
    """A saved query as ``principal`` may see it (graph.access.results), audited."""
    query = get_query(query_id)
    if principal is not None and (
        not allowed(principal, "run_query") or principal.role not in query.roles
    ):
        raise QueryDenied(f"a {principal.role} may not run {query.title!r}")
    source = read_store(store, principal)
    values = validate_params(source, query, params or {})
    limit = timeout_ms or query.timeout_ms
    result = _timed(source, query.cypher, query.with_config(values), limit, max_rows)
    about = values.get(query.about_child) if query.about_child else None
    shown = disclose(
        store, principal, result.columns, result.rows, declared=query.columns, about_child=about
    )
    return _audited(
        result, shown, query.id, values, principal, audit, "run_query", {"query": query.id}
    )


ADHOC_MAX = 20_000  # characters
ADHOC_EXAMPLE = cypher(
    "runner.adhoc_example", "MATCH (c:Child) RETURN count(c) AS children"
)  # what the ad-hoc box starts with


def run_adhoc(
    store: GraphStore,
    text: str,
    params: Mapping[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    audit: AuditLog | None = None,
    timeout_ms: int | None = None,
    max_rows: int | None = None,
) -> QueryResult:
    """Analysts' own Cypher: read-only at the engine, limited, for permitted roles only,
    on the pseudonymised copy for pseudonymised roles."""
    if principal is not None and not allowed(principal, "run_adhoc"):
        raise QueryDenied(f"a {principal.role} may not run ad-hoc Cypher")
    if not text.strip():
        raise ParamValidationError({"cypher": "the query is empty"})
    if len(text) > ADHOC_MAX:
        raise ParamValidationError({"cypher": f"longer than {ADHOC_MAX:,} characters"})
    if principal is not None and not principal.rules.pseudonymise:
        disclose(store, principal, [], [], declared=None)  # refuses before anything runs
    values = dict(params or {})
    result = _timed(read_store(store, principal), text, values, timeout_ms, max_rows)
    shown = disclose(store, principal, result.columns, result.rows, declared=None)
    return _audited(
        result, shown, None, values, principal, audit, "run_adhoc", {"cypher": text[:2000]}
    )


@dataclass
class _Timed:
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool
    elapsed_ms: float
    max_rows: int | None


def _timed(
    store: GraphStore,
    text: str,
    params: dict[str, Any],
    timeout_ms: int | None,
    max_rows: int | None,
) -> _Timed:
    start = time.perf_counter()
    result: ReadResult = store.read(text, params, timeout_ms=timeout_ms, max_rows=max_rows)
    elapsed = (time.perf_counter() - start) * 1000
    return _Timed(
        result.columns,
        result.rows,
        result.truncated,
        elapsed,
        result.max_rows or max_rows or store.max_rows,
    )


def _audited(
    result: _Timed,
    shown: Disclosed,
    query_id: str | None,
    values: dict[str, Any],
    principal: Principal | None,
    audit: AuditLog | None,
    action: str,
    detail: dict[str, Any],
) -> QueryResult:
    """The result as shown, after its audit entry naming every child it disclosed."""
    if principal is not None and audit is not None:
        audit.record(
            user=principal.username,
            role=principal.role,
            action=action,
            children=shown.children,
            detail={
                **detail,
                **values,
                "rows": len(shown.rows),
                "withheld": shown.withheld,
                "pseudonymised": shown.pseudonymised,
            },
        )
    return QueryResult(
        result.columns,
        shown.rows,
        result.truncated,
        result.elapsed_ms,
        query_id,
        values,
        result.max_rows,
        shown.pseudonymised,
        shown.children,
    )
