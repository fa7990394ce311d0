"""A page read while a load runs answers as it does after the load (issues 29 and 33).

A load's new rows go in by the engine's bulk insertion, which has no date type. Every
read that compares a property the schema declares a date (the family network as of a
day, the planning pages' links and birth-date ranges, the saved queries) is run at the
points of a real load where bulk-inserted rows wait for their dates (as the people are
written, and as the write stage ends) and compared with the same read once the load has
finished: the expected answers are the finished graph's, not those of the half-loaded
one. What the derive stage works out after the write (open case kinds, kept tallies)
is not there yet at the pause, so the columns holding it are left out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graph import GraphStore, planning, views
from graph.engines.falkordb_bulk import FalkorBulkWriter
from graph.schema import DATE, NODE_TYPES, REL_TYPES
from loaders.bulk_steps import BulkWrites
from queries.library import load_library
from queries.runner import run_saved
from tests.conftest import AS_OF, embedded_store

# every property the schema declares a date
DATE_PROPS = sorted({p.name for t in (*NODE_TYPES, *REL_TYPES) for p in t.props if p.type == DATE})
_NAMES_A_DATE = re.compile(r"\.(" + "|".join(DATE_PROPS) + r")\b")
# derived after the write stage (loaders.derive), so absent at a pause in it
_DERIVED = frozenset({"kinds", "open_cases", "open_services", "open_case_kinds", "workers"})
DAYS = (AS_OF, dt.date(2024, 9, 1), dt.date(2021, 1, 1))


def _plain(value: Any) -> Any:
    """A read's value, comparable: dicts without derived keys, lists as sorted reprs."""
    if isinstance(value, dict):
        return tuple(sorted((k, _plain(v)) for k, v in value.items() if k not in _DERIVED))
    if isinstance(value, list | tuple):
        return tuple(sorted((_plain(v) for v in value), key=repr))
    return value


def _saved_with_dates() -> list[str]:
    """The saved queries whose Cypher names a declared date property."""
    return sorted(q.id for q in load_library().queries if _NAMES_A_DATE.search(q.cypher))


def _children(store: GraphStore) -> list[str]:
    """Children with a parent who moved (uids only: no date is compared)."""
    rows = store.read(
        "MATCH (c:Child)<-[:PARENT_OF]-()-[h:LIVES_AT]->() WHERE h.to IS NOT NULL "
        "RETURN DISTINCT c.uid AS uid ORDER BY uid LIMIT 12"
    ).rows
    return [r["uid"] for r in rows]


def people_reads(store: GraphStore) -> dict[str, Any]:
    """Reads that compare the people's birth dates alone."""
    return {
        f"children born after {day}": planning.children_born_after(store, day)
        for day in (dt.date(2010, 9, 1), dt.date(2020, 9, 1))
    }


def all_reads(store: GraphStore, children: list[str]) -> dict[str, Any]:
    """Every page and saved query that compares a declared date, on a few days."""
    out: dict[str, Any] = dict(people_reads(store))
    for uid in children:
        for day in DAYS:
            network = views.family_network(store, uid, as_of=day)
            out[f"network {uid} {day}"] = _plain({k: network[k] for k in ("nodes", "edges")})
    children_now = store.read("MATCH (c:Child) RETURN c.uid AS uid", max_rows=10**6).rows
    every = [r["uid"] for r in children_now]
    for entry, born_from in (("Reception", dt.date(2022, 9, 1)), ("Year 7", dt.date(2015, 9, 1))):
        born_before = born_from.replace(year=born_from.year + 1)
        out[f"cohort {entry}"] = _plain(
            planning.cohort(
                store, born_from=born_from, born_before=born_before, today=AS_OF, entry_point=entry
            )
        )
        out[f"cohort spells of {entry}"] = _plain(
            planning.cohort_spells_of(
                store, every, born_from=born_from, born_before=born_before, entry_point=entry
            )
        )
    library = {q.id: q for q in load_library().queries}
    for query_id in _saved_with_dates():
        names = {p.name for p in library[query_id].params}
        for day in DAYS:
            params: dict[str, Any] = {"as_of": day} if "as_of" in names else {}
            for child in children[:4] if "child" in names else [None]:
                if child is not None:
                    params["child"] = child
                result = run_saved(store, query_id, params, max_rows=100_000)
                out[f"{query_id} {day} {child}"] = _plain(result.rows)
    return out


@pytest.fixture
def graph(engine_dir: Path):
    store = embedded_store(engine_dir)
    store.drop_all()
    store.ensure_schema()
    yield store
    store.drop_all()
    store.close()


def _paused(
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    name: str,
    reads: Callable[[], dict[str, Any]],
    into: dict,
) -> None:
    """Run ``reads`` as the load reaches ``owner``'s ``name`` (the points where, on the
    release before, its rows' dates were text), then go on."""
    real = getattr(owner, name)

    def pause(self: Any, *args: Any, **kwargs: Any) -> Any:
        into.setdefault(name, reads())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, pause)


def test_pages_read_while_a_load_writes_give_the_finished_loads_answers(
    small_county: Path, graph: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loaders.load import run_load

    assert {"child_history_as_at", "siblings_also_excluded", "missing_from_care"} <= set(
        _saved_with_dates()
    )
    paused: dict[str, dict[str, Any]] = {}
    chosen: list[str] = []

    def every_read() -> dict[str, Any]:
        chosen[:] = chosen or _children(graph)
        return all_reads(graph, chosen)

    # the people written, before the facts (the release before converted their dates
    # here), and the bulk insertion's end
    _paused(monkeypatch, BulkWrites, "facts", lambda: people_reads(graph), paused)
    _paused(monkeypatch, FalkorBulkWriter, "finish", every_read, paused)
    run_load(graph, small_county, as_of=AS_OF)
    assert set(paused) == {"facts", "finish"}  # it paused where it is meant to
    assert len(chosen) >= 5

    after = all_reads(graph, chosen)
    assert after["children born after 2010-09-01"] > 100
    assert sum(1 for k, v in after.items() if k.startswith("network") and len(v[1][1]) > 2) > 10
    differ = {
        point: sorted(k for k, v in answers.items() if v != after[k])
        for point, answers in paused.items()
    }
    assert differ == {"facts": [], "finish": []}
