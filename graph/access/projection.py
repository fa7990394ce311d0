"""The pseudonymised copy analysts query, written from the live graph after every load.

Like a trusted research environment's extract: what each label's and type's properties
become there is declared once, in :mod:`graph.access.copy_rules`.

It is written from a read of the live graph, a label or type at a time (the next read
while this one is turned into the copy's rows), into a graph of its own
(:meth:`GraphStore.pseudonymised_staging`): through the batched statements below, or,
where the engine has it, its bulk insertion (everything in the copy is new), and, where
the graph it is written into holds a copy whose hashes are known, only as the
difference from it. Either way it is then put in place of the last one at once where
the engine can (FalkorDB renames the key).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from itertools import compress
from operator import itemgetter, methodcaller
from typing import Any, Protocol

import orjson

from graph import caseload_tally
from graph.access.copy_rules import (
    ALL_ROWS,
    DATES,
    DISTRICT,
    ENDS,
    EXTRA_LABELS,
    KEPT_NODES,
    KEPT_RELS,
    SHARED,
    TEXT_OF,
    Rule,
    copied,
    district_centres,
    hashable,
    shared_values,
)
from graph.access.copy_state import CopyState, Hashes, Kind, Known
from graph.access.pseudonyms import KEY_FILE, Pseudonyms
from graph.bulk import BulkWriter, EdgeShape, NodeShape
from graph.cypher import cypher
from graph.store import ColumnResult, Counts, GraphError, GraphStore

_blake2b = hashlib.blake2b


def _set(var: str, rules: dict[str, Rule], skip: tuple[str, ...] = ()) -> str:
    parts = [
        f"{var}.{p} = date(r.{p})" if rules[p] in DATES else f"{var}.{p} = r.{p}"
        for p in copied(rules)
        if p not in skip
    ]
    return ("SET " + ", ".join(parts)) if parts else ""


def _returning(columns: dict[str, str]) -> str:
    """``RETURN expression AS name, ...`` in name order: the order the engine's capped
    reads return them in (``RETURN *``), so the adapter has nothing to put back in the
    query's order."""
    return "RETURN " + ", ".join(f"{columns[name]} AS {name}" for name in sorted(columns))


def _node_statements(label: str, rules: dict[str, Rule]) -> dict[str, str]:
    name = label.lower()
    # a text key is made from the copy's own value of what it keys (_Coarsen.nodes)
    returned = {p: f"n.{p}" for p in copied(rules) if rules[p] != "text"}
    if EXTRA_LABELS[label]:  # a label's own nodes hold it: labels read where they vary
        returned["labels"] = "labels(n)"
    labels = "".join(
        f" FOREACH (_ IN CASE WHEN '{x}' IN r.labels THEN [1] ELSE [] END | SET n:{x})"
        for x in EXTRA_LABELS[label]
    )
    relabel = "".join(
        f" FOREACH (_ IN CASE WHEN '{x}' IN r.labels THEN [] ELSE [1] END | REMOVE n:{x})"
        for x in EXTRA_LABELS[label]
    )
    key = {"rows": [{"uid": f"projection-{name}", "labels": [label]}]}
    return {
        # every node of the label in one walk: about a third faster than looking them
        # up a batch of uids at a time (20,000 children)
        "read": cypher(
            f"projection.read_{name}",
            f"MATCH (n:{label}) {_returning(returned)}",
        ),
        "create": cypher(
            f"projection.create_{name}",
            f"UNWIND $rows AS r CREATE (n:{label} {{uid: r.uid}}) "
            f"{_set('n', rules, ('uid',))}{labels}",
            # a key of its own: the portability guard runs every example in one graph
            example=key,
            writes=True,
        ),
        # a node whose content changed since the copy it is written over: every
        # property again (null removes one) and its labels
        "update": cypher(
            f"projection.update_{name}",
            f"UNWIND $rows AS r MATCH (n:{label} {{uid: r.uid}}) "
            f"{_set('n', rules, ('uid',))}{labels}{relabel}",
            example=key,
            writes=True,
        ),
        "delete": cypher(
            f"projection.delete_{name}",
            f"UNWIND $rows AS r MATCH (n:{label} {{uid: r.uid}}) DETACH DELETE n",
            example={"rows": [{"uid": f"projection-gone-{name}"}]},
            writes=True,
        ),
    }


def _rel_statements(rel: str, rules: dict[str, Rule]) -> dict[str, str]:
    start, end = ENDS[rel]
    example = {"rows": [{"left": "x", "right": "y"}]}
    return {
        "create": cypher(
            f"projection.create_{rel.lower()}",
            f"UNWIND $rows AS r MATCH (a:{start} {{uid: r.left}}) "
            f"MATCH (b:{end} {{uid: r.right}}) CREATE (a)-[x:{rel}]->(b) {_set('x', rules)}",
            example=example,
            writes=True,
        ),
        # every relationship of the type between two nodes, when any of them changed
        "delete": cypher(
            f"projection.delete_{rel.lower()}",
            f"UNWIND $rows AS r MATCH (a:{start} {{uid: r.left}})-[x:{rel}]->"
            f"(b:{end} {{uid: r.right}}) DELETE x",
            example=example,
            writes=True,
        ),
    }


NODE_STATEMENTS = {label: _node_statements(label, rules) for label, rules in KEPT_NODES.items()}
REL_STATEMENTS = {rel: _rel_statements(rel, rules) for rel, rules in KEPT_RELS.items()}
# each relationship type is read in one go: walking its own edges is about three times
# faster than looking its start nodes up a batch at a time (measured at 20,000 children),
# and the largest (attendance, 1.1 million at county scale) fits in memory
REL_READS = {
    rel: cypher(
        f"projection.read_{rel.lower()}",
        f"MATCH (a:{ENDS[rel][0]})-[x:{rel}]->(b:{ENDS[rel][1]}) "
        + _returning({"left": "a.uid", "right": "b.uid", **{p: f"x.{p}" for p in copied(rules)}}),
    )
    for rel, rules in KEPT_RELS.items()
}

# a delta's reads (_ScopedReads): only the nodes of a label it names, and the
# relationships of a type with an end it names (by its start, READS_FROM or BARE_FROM,
# then by its end alone, READS_TO)
NODE_READS_OF = {
    label: cypher(
        f"projection.read_{label.lower()}_of",
        NODE_STATEMENTS[label]["read"].replace(" RETURN ", " WHERE n.uid IN $uids RETURN ", 1),
        example={"uids": ["x"]},
    )
    for label in KEPT_NODES
}
# a type with properties in the copy by its start (its own read: one of every type
# at once would carry every type's properties, nulls in most, as the reply's columns)
READS_FROM = {
    rel: cypher(
        f"projection.read_{rel.lower()}_from",
        REL_READS[rel].replace(" RETURN ", " WHERE a.uid IN $left RETURN ", 1),
        example={"left": ["x"]},
    )
    for rel, rules in KEPT_RELS.items()
    if copied(rules)
}
# those ending at the nodes of $right, from the end's index (a pattern's filter on b
# alone scans a's label); those starting in $left (read by start already) are left out
# by the caller, as the engine looks a value up in a list by going through it: every
# row through every start read, which grew with the square of the change
READS_TO = {
    rel: cypher(
        f"projection.read_{rel.lower()}_to",
        f"MATCH (b:{ENDS[rel][1]}) WHERE b.uid IN $right WITH b "
        f"MATCH (a:{ENDS[rel][0]})-[x:{rel}]->(b) "
        + REL_READS[rel][REL_READS[rel].index("RETURN ") :],
        example={"right": ["y"]},
    )
    for rel in KEPT_RELS
}


def _bare_types() -> dict[str, list[str]]:
    """The kept types with no properties in the copy, by their start label."""
    bare: dict[str, list[str]] = defaultdict(list)
    for rel, rules in KEPT_RELS.items():
        if not copied(rules):
            bare[ENDS[rel][0]].append(rel)
    return dict(bare)


BARE = _bare_types()


def _bare_from(start: str) -> str:
    """Every relationship starting at ``$left`` (nodes of ``start``) of the types
    :data:`BARE` names, in one read: a type each looked every node of ``$left`` up
    again, and the engine's cost of a type's read goes by the nodes looked up, as much
    with no relationship found as with many. Each row names its type (``rel``); an end
    of another label than its type's is left out, as the type's own read leaves it."""
    ends: dict[str, list[str]] = defaultdict(list)
    for rel in BARE[start]:
        ends[ENDS[rel][1]].append(rel)
    kept = " OR ".join(
        f"(b:{end} AND type(x) IN [{', '.join(repr(rel) for rel in types)}])"
        for end, types in ends.items()
    )
    return cypher(
        f"projection.read_bare_from_{start.lower()}",
        f"MATCH (a:{start}) WHERE a.uid IN $left WITH a "
        f"MATCH (a)-[x:{'|'.join(BARE[start])}]->(b) WHERE {kept} "
        + _returning({"rel": "type(x)", "left": "a.uid", "right": "b.uid"}),
        example={"left": ["x"]},
    )


BARE_FROM = {start: _bare_from(start) for start in BARE}


# the nodes (of a relationship, its start) holding one of a shared property's values
HOLDERS = {
    (owner, prop): cypher(
        f"projection.holders_{owner.lower()}_{prop}",
        f"MATCH (n:{ENDS[owner][0]})-[x:{owner}]->(:{ENDS[owner][1]}) WHERE x.{prop} IN "
        "$values RETURN DISTINCT n.uid AS uid"
        if owner in KEPT_RELS
        else f"MATCH (n:{owner}) WHERE n.{prop} IN $values RETURN n.uid AS uid",
        example={"values": ["x"]},
    )
    for owner, prop in SHARED
}
HOMES_IN = cypher(
    "projection.homes_in",
    f"MATCH (a:Address) WHERE a.{DISTRICT} IN $districts RETURN a.uid AS uid",
    example={"districts": ["AB1"]},
)

# what each label's and type's rows carry into the copy, besides a node's uid
NODE_PROPS = {
    label: [(p, rules[p]) for p in copied(rules) if p != "uid"]
    for label, rules in KEPT_NODES.items()
}
REL_PROPS = {rel: [(p, rules[p]) for p in copied(rules)] for rel, rules in KEPT_RELS.items()}


@dataclass
class Written:
    """What one copy holds, and how long it took (the load report shows it)."""

    nodes: int = 0
    relationships: int = 0
    seconds: float = 0.0
    fresh: bool = False  # written afresh, not as the difference from an earlier copy
    changed: int = 0  # of a difference: nodes and relationships written or removed
    # of a delta's difference: read from what the load touched only; else why the whole
    # graph was read ("" when nothing said what the load touched)
    touched: bool = False
    whole: str = ""


# why a delta's copy was read whole and written afresh: on an engine keeping two copies,
# the one written over holds no recorded hashes (none yet after a first load), or its
# hashes are not trusted (its counts differ, a swap was stopped part way)
NO_COPY_KNOWN = "no copy whose contents are known to write the difference over, so written afresh"


class Touched(Protocol):
    """What a load changed, as :class:`loaders.unchanged.Touched` holds it: the nodes
    whose own rows changed (label -> uids), those a changed relationship names
    ((type, label) -> uids), and those the stages after writing set properties on
    (``derived``, label -> uids: open services, risk of NEET factors). Declared here as
    its shape only, as ``graph/`` does not import ``loaders/``."""

    nodes: dict[str, set[Any]]
    named: dict[tuple[str, str], set[Any]]
    derived: dict[str, set[Any]]


# labels a delta's copy reads whole all the same: the list, its day and the tallies
# are worked out again whole (one node each, or a few)
WHOLE = ("RiskList", "RiskDay", "NeedsTally")


@dataclass
class Scope:
    """What a delta's copy reads (label -> live uids): ``nodes``, the nodes a load
    touched (their own rows changed, or a changed relationship of any type names them),
    and the relationships starting at them (a changed relationship's start is always
    named, or is the node whose rows changed); ``ends``, the nodes whose own rows
    changed, whose relationships ending at them are read too. Not every relationship
    ending at a node named: a changed attendance row names the school, whose every
    pupil's attendance that would read. ``own``: nodes whose properties alone were set
    (derived facts), read without any of their relationships."""

    nodes: dict[str, set[str]] = field(default_factory=dict)
    ends: dict[str, set[str]] = field(default_factory=dict)
    own: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, touched: Touched) -> Scope:
        """A derived property is a node's own, in no relationship: its node is read,
        none of its relationships."""
        scope = cls()
        for label, uids in touched.nodes.items():
            scope.nodes.setdefault(label, set()).update(map(str, uids))
            scope.ends.setdefault(label, set()).update(map(str, uids))
        for (_, label), uids in touched.named.items():
            scope.nodes.setdefault(label, set()).update(map(str, uids))
        for label, uids in touched.derived.items():
            scope.own.setdefault(label, set()).update(map(str, uids))
        return scope

    def with_(self, other: Mapping[str, Any]) -> Scope:
        """This scope and another (as :meth:`kept`) together."""
        both = Scope(*({k: set(v) for k, v in part.items()} for part in self.parts()))
        for mine, name in zip(both.parts(), ("nodes", "ends", "own"), strict=True):
            for label, uids in other.get(name, {}).items():  # no "own" in an older file
                mine.setdefault(label, set()).update(uids)
        return both

    def parts(self) -> tuple[dict[str, set[str]], ...]:
        return self.nodes, self.ends, self.own

    def read(self, label: str) -> set[str]:
        """The label's nodes read: those in ``nodes`` and in ``own``."""
        return self.nodes.get(label, set()) | self.own.get(label, set())

    def kept(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "ends": self.ends, "own": self.own}


_AT = {"lat": 0, "lon": 1}  # a coordinate's place in a district's centre


class _Coarsen:
    """Turns live values into the copy's, by the declared rules, a column at a time
    (one rule looked up per column, not per value)."""

    def __init__(self, store: GraphStore, keys: Pseudonyms) -> None:
        self.keys = keys
        self.pseudonyms: dict[str, dict[Any, str]] = defaultdict(dict)  # label -> uid ->
        self.shared = shared_values(store)
        self.centres = district_centres(store)

    @property
    def context(self) -> dict[str, Any]:
        """What coarsening depends on beyond a node's own values, as JSON holds it: the
        shared values kept (owner and property -> each value's JSON text) and the
        districts' centres. Where they differ from those a copy was written with,
        values the load did not touch may differ in the copy (:func:`_moved`)."""
        return {
            "shared": {
                f"{owner}{PAIR}{prop}": sorted(orjson.dumps(v).decode() for v in values)
                for (owner, prop), values in self.shared.items()
            },
            "centres": {district: list(at) for district, at in self.centres.items()},
        }

    def uids(self, label: str, uids: list[Any]) -> list[Any]:
        """Nodes' uids in the copy (each worked out once: a person's is asked for by
        every relationship they have)."""
        if KEPT_NODES[label]["uid"] != "pseudonym":
            return uids
        known = self.pseudonyms[label]
        # nothing named yet: a label's nodes, read first (or, on a delta whose scoped
        # read found none of them, its relationships' ends, a repeat named again)
        if not known:
            named = self.keys.each(label, uids)
            known.update(zip(uids, named, strict=True))
            return named
        try:  # a relationship's ends: every one known from its label's nodes, read first
            return list(map(known.__getitem__, uids))
        except KeyError:
            pass
        new = list(set(uids).difference(known))  # each new one once, the rest in C
        known.update(zip(new, self.keys.each(label, new), strict=True))
        return list(map(known.__getitem__, uids))

    def column(self, owner: str, prop: str, rule: Rule, live: ColumnResult) -> list[Any]:
        """``prop``'s values in the copy, for each row of ``live`` (the live graph's)."""
        values = _values(live, prop)
        if rule in ("drop", "text"):  # a text key: from the copy's value (columns())
            return [None] * len(values)
        if rule == "keep":
            return values
        # dates as ISO text, as the statements and bulk insertion both take them (and
        # as the hashes' JSON has them anyway)
        if rule == "month":
            return _date_texts(values, lambda v: f"{v.year:04d}-{v.month:02d}-01")
        if rule == "date":
            return _date_texts(values, _iso)
        if rule == "shared":
            kept = self.shared[(owner, prop)]
            return [v if v is not None and hashable(v) in kept else None for v in values]
        if rule == "centre":
            there = (v is not None for v in values)
            return _centre_column(prop, there, _values(live, DISTRICT), self.centres)
        if rule == "pseudonym":
            given = [v for v in values if v is not None]
            named = iter(self.keys.each(owner, given))
            return [None if v is None else next(named) for v in values]
        return values

    def nodes(self, label: str, live: ColumnResult) -> tuple[list[str], list[list[Any]]]:
        """The copy's property names for ``label`` and a column of each, ``uid`` and
        ``labels`` last."""
        names = [p for p, _ in NODE_PROPS[label]]
        columns = [self.column(label, p, rule, live) for p, rule in NODE_PROPS[label]]
        for p, source in TEXT_OF[label].items():
            of = columns[names.index(source)]
            columns[names.index(p)] = list(of)  # the copy's date, as ISO text
        extras = EXTRA_LABELS[label]
        # where none vary, one list for every node: never changed, only read
        labels = list(map(sorted, live.columns["labels"])) if extras else [[label]] * live.rows
        uids = self.uids(label, live.columns["uid"])
        return [*names, "uid", "labels"], [*columns, uids, labels]

    def relationships(self, rel: str, live: ColumnResult) -> tuple[list[str], list[list[Any]]]:
        """The copy's property names for ``rel`` and a column of each, the two ends'
        uids (``left``, ``right``) last."""
        names = [p for p, _ in REL_PROPS[rel]]
        columns = [self.column(rel, p, rule, live) for p, rule in REL_PROPS[rel]]
        start, end = ENDS[rel]
        left = self.uids(start, live.columns["left"])
        right = self.uids(end, live.columns["right"])
        return [*names, "left", "right"], [*columns, left, right]


def _values(live: ColumnResult, name: str) -> list[Any]:
    """A column of the live graph's read (nulls where the read has no such column)."""
    values = live.columns.get(name)
    return [None] * live.rows if values is None else values


def _date_texts(values: list[Any], text: Callable[[dt.date], str]) -> list[str | None]:
    """A column's dates as the copy's text (None for anything else), each distinct
    date worked out once (a column of dates holds few)."""
    try:
        distinct = {v: text(v) for v in set(values) if isinstance(v, dt.date)}
    except TypeError:  # a value no dict can hold: not a date
        return [text(v) if isinstance(v, dt.date) else None for v in values]
    return list(map(distinct.get, values))


def _iso(value: dt.date) -> str:
    """A date's ISO text (a date and time's date part, as ``date()`` takes it)."""
    return value.isoformat()[:10]


def _extra_labels(label: str) -> Callable[[Mapping[str, Any]], tuple[str, ...]] | None:
    extras = EXTRA_LABELS[label]
    if not extras:
        return None
    return lambda row: tuple(x for x in extras if x in row["labels"])


def _dates(rules: dict[str, Rule]) -> tuple[str, ...]:
    return tuple(p for p in copied(rules) if rules[p] in DATES)


# the same, for the engine's bulk insertion (graph.bulk), where it has one
NODE_SHAPES = {
    label: NodeShape(label, tuple(copied(rules)), _dates(rules), _extra_labels(label))
    for label, rules in KEPT_NODES.items()
}
EDGE_SHAPES = {
    rel: EdgeShape(
        rel, (ENDS[rel][0], "left"), (ENDS[rel][1], "right"), tuple(copied(rules)), _dates(rules)
    )
    for rel, rules in KEPT_RELS.items()
}


def write_copy(
    store: GraphStore,
    *,
    bulk: bool = True,
    progress: Callable[[int], None] | None = None,
    incremental: bool = True,
    touched: Touched | None = None,
    tally: Callable[[], Iterable[caseload_tally.Part] | None] | None = None,
) -> Written:
    """Write the live graph's pseudonymised copy, and the person map beside the key.

    Every node and relationship the copy keeps is read from the live graph and
    turned into the copy's, and hashed. Where the graph the copy is written into holds a
    copy whose hashes are known (:mod:`graph.access.copy_state`), only what differs is
    written (``incremental``): nodes created, updated or deleted, and the relationships
    between two nodes replaced where any of them changed. Otherwise the copy is written
    afresh: by the statements above, or, with ``bulk`` and an engine that has it, by its
    bulk insertion (FalkorDB's ``GRAPH.BULK``; see :mod:`graph.bulk`). Either way it is
    then put in place of the one analysts read at once, where the engine can.

    ``touched``: what the load that just ran changed (a delta's). Then only those nodes
    and the relationships with an end among them are read (and :data:`WHOLE`), when
    the copy written over is known to lag the live graph by nothing else (the loads
    since it was written each said what they touched), what coarsening depends on
    (the shared values, the districts' centres) is as it was, and the copy's counts
    then agree with the live graph's; otherwise the whole graph is read.

    ``tally``: the live graph's caseload parts as the graph stands (a load's, once
    counted; None: not known), from which the copy's tally is counted as its records
    would count (:func:`_copied_parts`) rather than from a read of every case in it."""
    started = time.perf_counter()
    keys = Pseudonyms.open(store.pseudonym_dir, store.name)
    state = CopyState.beside(keys.home, store.name)
    target = store.pseudonymised_staging()
    swaps = target.name != store.pseudonymised().name
    buffer = "spare" if swaps else "published"
    lags = state.lags()
    changed = Scope.of(touched) if touched is not None else None
    people = _People()

    def scope(context: dict[str, Any]) -> Scope | str:
        lag = lags.get(buffer)
        if changed is None:
            return ""
        if lag is None:
            return "the copy written over lags the live graph by a load not saying what it changed"
        return _moved(store, lag["context"], context, changed.with_(lag["lag"]))

    with store.batch_job(), target.batch_job():
        before = _counts(target)
        known = state.trusted(buffer, before) if incremental and before is not None else None
        # what the buffer holds is about to change: its hashes are not trusted until
        # recorded again once it is written (a copy failing part way leaves none)
        state.distrust(buffer)
        written, changes, context = _from_rows(
            store, target, keys, known, people, bulk, progress, scope
        )
        if touched is not None and written.fresh:  # a delta's: why written afresh
            written.whole = NO_COPY_KNOWN
        after = _counts(target) or Counts({}, {})
        live = store.counts()
        said_all = True  # whether the load said all it changed, as far as counts tell
        if written.touched and not _agrees(live, after):
            said_all = False
            # the load changed something it did not say: the whole graph's difference
            # from what the copy holds now (its hashes, known changed in place)
            known = state.updated(buffer, changes.hashes, changes.removed, fresh=False, base=known)
            people = _People()
            written, changes, context = _from_rows(
                store, target, keys, known, people, bulk, progress
            )
            written.whole = "the copy's counts disagreed with the live graph's"
        # the recorded hashes and the person map made (this process's work) while the
        # engine counts the caseload map's tally
        with ThreadPoolExecutor(1, thread_name_prefix="jigsaw-copy-state") as beside:
            # the hashes known changed in place: not read again beside them
            hashes = beside.submit(
                state.updated,
                buffer,
                changes.hashes,
                changes.removed,
                fresh=written.fresh,
                base=known,
            )
            # made again from every person read, else changed in place once published
            mapped = beside.submit(keys.stage_map, people.read) if people.asked is None else None
            # RECOUNTED: the map's counts, as the copy's records give them
            live_parts = tally() if tally is not None and parts_follow_rules() else None
            caseload_tally.keep(
                target, None if live_parts is None else _copied_parts(live_parts, context, keys)
            )
            after = _counts(target) or Counts({}, {})
            written.nodes, written.relationships = after.nodes, after.relationships
            state.write(buffer, after, hashes.result())
            if mapped is not None:
                mapped.result()
    # what each copy lags the live graph by now: the one just written nothing, the other
    # (written before this load) what this load changed, where it said it all
    other = lags.get("published") if swaps and said_all else None
    state.keep_lags({})  # not trusted while the copies change places
    if swaps:
        state.begin_swap()
        store.publish_pseudonymised()
        state.end_swap()
    else:
        store.publish_pseudonymised()
    now = {"context": context, "lag": Scope().kept()}
    kept: dict[str, dict | None] = {"published": now}
    if swaps and other is not None and changed is not None:
        kept["spare"] = {"context": other["context"], "lag": changed.with_(other["lag"]).kept()}
    elif swaps:  # else nothing would say what it lags by
        kept["spare"] = now if _duplicated(store, state) else None
    state.keep_lags(kept)
    if people.asked is None:
        keys.publish_map()
    else:
        _update_map(store, keys, people, live.labels.get("Person", 0))
    written.seconds = round(time.perf_counter() - started, 2)
    return written


# each column of a caseload part's rows (caseload_tally.Part), by the row's kind: the
# property it holds, turned into the copy's by that property's copy rule
# (copy_rules.KEPT_NODES); None: the row's kind; _CASES: its count of cases
_CASES = "cases"
_CELL = (("Case", "status"), ("Case", "kind"), ("Service", "uid"))
_PART_FIELDS: dict[str, tuple[tuple[str, str] | str | None, ...]] = {
    "home": (None, *_CELL, ("Address", "lat"), ("Address", "lon"), _CASES, ("Address", DISTRICT)),
    "waiting": (None, *_CELL, _CASES),
    "worker": (
        None,
        *_CELL,
        ("Professional", "uid"),
        ("Professional", "name"),
        ("Team", "uid"),
        ("Team", "name"),
        _CASES,
    ),
}
_HOME_DISTRICT = _PART_FIELDS["home"].index(("Address", DISTRICT))
# the rules whose copied value _copied_parts gives as the copy's records hold it (a
# date's would be ISO text, a shared value's needs the shared values)
_PART_RULES = ("keep", "drop", "pseudonym", "centre")
# what the tally's reads (caseload_tally.HOMES, WAITING, WORKERS) walk beside the fields
# they return: the copy's records count as the live graph's parts only where the copy
# holds each of these labels (with its uid, by which the copy writes its nodes) and
# relationship types, and the properties the reads filter on as the reads take them
_TALLY_LABELS = ("Person", "Case", "Service", "Address", "Professional", "Team")
_TALLY_RELS = ("HAS_CASE", "WITH_SERVICE", "LIVES_AT", "WORKS_ON", "IN_TEAM")
_UID_RULES = ("keep", "pseudonym")
_PRESENT = ("keep", "date", "month")  # rules that keep whether a value is there
_TALLY_FILTERS: dict[tuple[str, str], tuple[Rule, ...]] = {
    ("Case", "workers"): ("keep",),  # c.workers = 0
    ("LIVES_AT", "to"): _PRESENT,  # l.to IS NULL
    ("WORKS_ON", "to"): _PRESENT,  # w.to IS NULL
}


def _part_rule(field: tuple[str, str]) -> Rule:
    owner, prop = field
    return (KEPT_NODES.get(owner) or KEPT_RELS.get(owner) or {}).get(prop, "drop")


def parts_follow_rules() -> bool:
    """Whether the copy's records count the caseload map's tally as :func:`_copied_parts`
    counts it from the live graph's parts: every label and relationship type the tally
    reads copied, each label's uid kept or pseudonymised, each property its reads filter
    on kept as they read it, and every field a part holds by a rule it can apply. Else
    (a team's name kept only where shared, say) the live value would reach the copy's
    tally, so the copy counts its tally from its own records."""
    if any(label not in KEPT_NODES for label in _TALLY_LABELS):
        return False
    if any(rel not in KEPT_RELS for rel in _TALLY_RELS):
        return False
    if any(_part_rule((label, "uid")) not in _UID_RULES for label in _TALLY_LABELS):
        return False
    if any(_part_rule(f) not in rules for f, rules in _TALLY_FILTERS.items()):
        return False
    rule_of = {
        f: _part_rule(f) for fields in _PART_FIELDS.values() for f in fields if isinstance(f, tuple)
    }
    return all(r in _PART_RULES and (r != "centre" or f[1] in _AT) for f, r in rule_of.items())


def _copied_parts(
    parts: Iterable[caseload_tally.Part], context: dict[str, Any], keys: Pseudonyms
) -> list[caseload_tally.Part]:
    """The live graph's caseload parts as the copy holds what they count: the rows the
    copy would hold alike folded into one, their cases summed (the tally sums them
    alike), then each field by its declared copy rule, as the copy's records have it
    (a home's point at its district's centre, ``context``'s, :attr:`_Coarsen.context`).
    A county's homes fold into their districts and its workers' rows into one a worker
    and cell, so the rules are applied to some thousand rows, not to every case's."""
    of_kind: dict[Any, list[list[Any]]] = defaultdict(list)
    for part in parts:
        for row in part:
            of_kind[row[0]].append(row)
    unknown = sorted(map(str, of_kind.keys() - _PART_FIELDS.keys()))
    if unknown:  # not turned by any rule: it would reach the copy as None, or live
        raise ValueError(f"a caseload part's row of a kind the copy cannot turn: {unknown}")
    copied: list[list[Any]] = []
    for what, rows in of_kind.items():
        fields = _PART_FIELDS[what]
        plain, centred = _fold_plan(fields)
        folded = _folded(fields, rows, plain, centred)
        held = dict(zip(plain, zip(*(key[0] for key in folded), strict=True), strict=True))
        there = {at: [not key[1 + i] for key in folded] for i, at in enumerate(centred)}
        districts = held.get(_HOME_DISTRICT, ()) if what == "home" else ()
        columns: list[list[Any]] = []
        for at, f in enumerate(fields):
            if not isinstance(f, tuple):  # the row's kind, its cases
                columns.append([what] * len(folded) if f is None else list(folded.values()))
            elif at in there:
                columns.append(_centre_column(f[1], there[at], districts, context["centres"]))
            elif at in held:
                columns.append(_copied_column(f, held[at], keys))
            else:  # dropped
                columns.append([None] * len(folded))
        copied += map(list, zip(*columns, strict=True))
    return [copied]


def _fold_plan(fields: tuple[tuple[str, str] | str | None, ...]) -> tuple[list[int], list[int]]:
    """The fields a folded row keeps the live value of (kept or pseudonymised, as the
    copy turns each value alike, and the home's district, which centres a point), and
    those it keeps only whether a value is there of (centred)."""
    plain, centred = [], []
    for at, f in enumerate(fields):
        if isinstance(f, tuple):
            rule = _part_rule(f)
            if rule == "centre":
                centred.append(at)
            elif rule != "drop" or f == ("Address", DISTRICT):
                plain.append(at)
    return plain, centred


def _folded(
    fields: tuple[tuple[str, str] | str | None, ...],
    rows: list[list[Any]],
    plain: list[int],
    centred: list[int],
) -> dict[tuple[Any, ...], int]:
    """The rows of one kind by what the copy holds of them (``plain``, ``centred``:
    :func:`_fold_plan`'s; the plain fields' values, then whether each centred field is
    missing), each key's cases summed, in the order each key first came. Each step a C
    call over the rows."""
    values = map(_getter(plain), rows)
    missing = [[row[at] is None for row in rows] for at in centred]
    keyed = zip(values, *missing, strict=True)
    cases = list(map(itemgetter(fields.index(_CASES)), rows))
    if set(cases) <= {1}:  # one case a row (a part's rows are): counted in C
        return dict(Counter(keyed))
    folded: dict[tuple[Any, ...], int] = defaultdict(int)
    for key, n in zip(keyed, cases, strict=True):
        folded[key] += n
    return dict(folded)


def _getter(at: list[int]) -> Callable[[list[Any]], tuple[Any, ...]]:
    """A row's values at ``at``, always as a tuple (``itemgetter`` of one gives the value:
    a kind folded by one field, as waiting rows are under rules dropping a case's status
    and kind, which :func:`parts_follow_rules` accepts)."""
    if len(at) > 1:
        return itemgetter(*at)
    return lambda row: tuple(row[i] for i in at)


def _centre_column(
    prop: str,
    there: Iterable[bool],
    districts: Iterable[Any],
    centres: Mapping[Any, Sequence[float]],
) -> list[Any]:
    """A home's coordinate ``prop`` in the copy, for each row: its district's centre's
    (``centres``: district -> lat, lon), where it has a value (``there``) and its
    district a centre; else None."""
    at = _AT[prop]
    points = map(centres.get, districts)  # none for no district (district_centres)
    return [
        c[at] if here and c is not None else None for here, c in zip(there, points, strict=True)
    ]


def _copied_column(field: tuple[str, str], values: tuple[Any, ...], keys: Pseudonyms) -> list[Any]:
    """A folded column of ``field`` in the copy, by its rule (keep, drop or pseudonym)."""
    rule = _part_rule(field)
    if rule == "keep":
        return list(values)
    if rule == "drop":
        return [None] * len(values)
    given = sorted({v for v in values if v is not None})  # pseudonym: each once
    named = dict(zip(given, keys.each(field[0], given), strict=True))
    return [None if v is None else named[v] for v in values]


def _duplicated(store: GraphStore, state: CopyState) -> bool:
    """Whether the spare (the copy written before this one) now holds this one, copied
    by the engine, with its hashes: done where nothing else would say what the spare
    lags the live graph by (a full load's copy), so that the next copy reads only what
    the next load touches rather than the whole graph."""
    # its hashes set aside just before what it held goes (a crash then leaves none)
    if not store.duplicate_pseudonymised(partial(state.distrust, "spare")):
        return False
    return state.duplicate()


PERSON_UIDS = cypher("projection.person_uids", "MATCH (n:Person) RETURN n.uid AS uid")


def _update_map(store: GraphStore, keys: Pseudonyms, people: _People, everyone: int) -> None:
    """The person map in use changed for the people a delta's copy read only; made
    again from every person's uid where it then does not hold as many people as the
    live graph (no map yet, or one a load did not leave)."""
    gone = people.gone()
    if keys.update_map(people.read, keys.each("Person", gone)) == everyone:
        return
    uids = store.read_columns(PERSON_UIDS, max_rows=ALL_ROWS).columns.get("uid", [])
    keys.stage_map(zip(keys.each("Person", uids), uids, strict=True))
    keys.publish_map()


def _moved(store: GraphStore, was: dict[str, Any], now: dict[str, Any], scope: Scope) -> Scope:
    """``scope`` with the nodes whose copy changed with what coarsening depends on since
    the copy written over (``was``; ``now``, :attr:`_Coarsen.context`): those holding a
    shared value that came to be kept or ceased to be (a threshold crossed), and the
    homes of a district whose centre moved."""
    for where in was["shared"].keys() | now["shared"].keys():
        before, after = set(was["shared"].get(where, ())), set(now["shared"].get(where, ()))
        owner, prop = where.split(PAIR)
        if before == after or owner in WHOLE:
            continue
        values = [orjson.loads(text) for text in before ^ after]
        start = ENDS[owner][0] if owner in KEPT_RELS else owner
        found = store.read(HOLDERS[owner, prop], {"values": values}, max_rows=ALL_ROWS)
        scope.nodes.setdefault(start, set()).update(r["uid"] for r in found.rows)
    before, after = was["centres"], now["centres"]
    moved = [d for d in before.keys() | after.keys() if before.get(d) != after.get(d)]
    if moved:
        found = store.read(HOMES_IN, {"districts": sorted(moved)}, max_rows=ALL_ROWS)
        scope.nodes.setdefault("Address", set()).update(r["uid"] for r in found.rows)
    return scope


def _agrees(live: Counts, copy: Counts) -> bool:
    """Whether the copy holds as many nodes of each label and relationships of each type
    it keeps as the live graph does."""
    labels = {x for label in KEPT_NODES for x in (label, *EXTRA_LABELS[label])}
    return all(live.labels.get(label, 0) == copy.labels.get(label, 0) for label in labels) and all(
        live.relationship_types.get(rel, 0) == copy.relationship_types.get(rel, 0)
        for rel in KEPT_RELS
    )


def _from_rows(
    store: GraphStore,
    target: GraphStore,
    keys: Pseudonyms,
    known: Known | None,
    people: _People,
    bulk: bool,
    progress: Progress,
    scope: Callable[[dict[str, Any]], Scope | str] | None = None,
) -> tuple[Written, _Changes, dict[str, Any]]:
    """The copy written from a read of the live graph: afresh, or, where the hashes of
    what ``target`` holds are ``known``, as the difference from it; read from what
    ``scope`` names (given the coarsening's context: a reason to read everything
    instead) where it can, as a delta's is. Also the coarsening's context."""
    # the whole graph's first read started at once, while the copy is made ready
    reads: _ReadAhead | _ScopedReads | None = None
    if scope is None or known is None:
        reads = _ReadAhead(store)
    try:
        coarsen = _Coarsen(store, keys)
    except BaseException:
        if reads is not None:
            reads.close()
        raise
    context = coarsen.context
    within = scope(context) if reads is None and scope is not None else ""
    if reads is None:
        reads = _ScopedReads(store, within) if isinstance(within, Scope) else _ReadAhead(store)
    try:
        reader = _Reader(coarsen, reads, people)
        changes = _Changes()
        if known is None:
            return _afresh(target, reader, changes, bulk, progress), changes, context
        if isinstance(within, Scope):
            written = _difference(target, reader, known, changes, progress, within)
            written.touched = True
        else:
            written = _difference(target, reader, known, changes, progress)
            written.whole = within
        return written, changes, context
    finally:
        reads.close()


ANY_NODE = cypher("projection.any_node", "MATCH (n) RETURN 1 AS one LIMIT 1")


def copy_exists(copy: GraphStore) -> bool:
    """Whether this pseudonymised copy has been written (and holds anything)."""
    try:
        return bool(copy.read(ANY_NODE).rows)
    except GraphError:  # FalkorDB: no such graph key yet
        return False


def _counts(target: GraphStore) -> Counts | None:
    """The copy's counts, or None where there is no copy (FalkorDB: no such key)."""
    try:
        return target.counts()
    except GraphError:
        return None


_digest8 = partial(_blake2b, digest_size=8)
_digest = methodcaller("digest")
_signed = partial(int.from_bytes, byteorder="big", signed=True)


def _hashes(items: Iterable[Any]) -> list[int]:
    """A stable 64-bit hash of each item's plain values (Python's own hash changes every
    process): of their JSON, which tells a number from its text and a date from neither.
    Every step is a C call mapped over the items, none a Python call an item."""
    return list(map(_signed, map(_digest, map(_digest8, map(orjson.dumps, items)))))


PAIR = "\x1f"  # between the two ends' uids in a relationship group's key


@dataclass
class _Changes:
    """The hashes a copy's writing changed (kind -> key -> hash; afresh, every item's)
    and the items it removed."""

    hashes: Hashes = field(default_factory=dict)
    removed: list[tuple[str, str]] = field(default_factory=list)


# every read the copy makes of the live graph, in the order it makes them
READS = (
    *(statements["read"] for statements in NODE_STATEMENTS.values()),
    *REL_READS.values(),
)


class _ReadAhead:
    """The live graph's reads in :data:`READS` order, each started as the one before is
    handed over: the engine answers the next while this process turns the last into
    the copy's rows (the two take about as long)."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="jigsaw-copy-read")
        self._pending = {READS[0]: self._start(READS[0])}  # while the copy is made ready

    def columns(self, statement: str) -> ColumnResult:
        future = self._pending.pop(statement, None) or self._start(statement)
        at = READS.index(statement)
        if at + 1 < len(READS) and READS[at + 1] not in self._pending:
            self._pending[READS[at + 1]] = self._start(READS[at + 1])
        return future.result()

    def nodes(self, label: str) -> ColumnResult:
        return self.columns(NODE_STATEMENTS[label]["read"])

    def asked(self, label: str) -> set[str] | None:
        """Every node of the label is read."""
        return None

    def relationships(self, rel: str) -> ColumnResult:
        return self.columns(REL_READS[rel])

    def _start(self, statement: str) -> Future[ColumnResult]:
        # a column at a time: the copy works on columns, so no dict is made a row
        return self._pool.submit(self._store.read_columns, statement, max_rows=ALL_ROWS)

    def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pool.shutdown(wait=True)


@dataclass
class _ScopedReads:
    """A delta's reads of the live graph: the labels of :data:`WHOLE` whole, of the
    rest only the nodes in ``scope``, and of each relationship type those starting at
    its nodes or ending at its ends (:class:`Scope`; every relationship between two
    nodes either way: the copy's unit of change is their group)."""

    store: GraphStore
    scope: Scope
    # a start label's types without properties (BARE_FROM), each until it is taken
    _started: dict[str, ColumnResult] = field(default_factory=dict)

    def nodes(self, label: str) -> ColumnResult:
        if label in WHOLE:
            return self._read(NODE_STATEMENTS[label]["read"], {})
        return self._read(NODE_READS_OF[label], {"uids": sorted(self.scope.read(label))})

    def asked(self, label: str) -> set[str] | None:
        """The live uids of the label's nodes read (those of them not found are gone);
        None: every one."""
        return None if label in WHOLE else self.scope.read(label)

    def relationships(self, rel: str) -> ColumnResult:
        start, end = ENDS[rel]
        left = sorted(self.scope.nodes.get(start, ()))
        right = sorted(self.scope.ends.get(end, ()))
        if rel in READS_FROM:
            one = self._read(READS_FROM[rel], {"left": left})
        else:  # its start label's types without properties: read together, once
            if rel not in self._started:
                whole = self._read(BARE_FROM[start], {"left": left})
                self._started.update(_by_type(whole, start))
            one = self._started.pop(rel)
        if not right:
            return one
        other = _starting_elsewhere(self._read(READS_TO[rel], {"right": right}), set(left))
        names = one.columns.keys() | other.columns.keys()
        columns = {name: _values(one, name) + _values(other, name) for name in sorted(names)}
        return ColumnResult(columns, one.rows + other.rows)

    def _read(self, statement: str, params: dict[str, Any]) -> ColumnResult:
        return self.store.read_columns(statement, params, max_rows=ALL_ROWS)

    def close(self) -> None:
        pass


def _by_type(read: ColumnResult, start: str) -> dict[str, ColumnResult]:
    """A read of ``start``'s :data:`BARE_FROM` as each of its types' own read returns
    it: the type's rows, in the read's order, with its ends' uids (``left``, ``right``)."""
    rows: dict[str, list[int]] = defaultdict(list)
    for at, rel in enumerate(_values(read, "rel")):
        rows[rel].append(at)
    return {
        rel: ColumnResult(
            {
                name: list(map(_values(read, name).__getitem__, rows[rel]))
                for name in ("left", "right")
            },
            len(rows[rel]),
            read.truncated,
        )
        for rel in BARE[start]
    }


def _starting_elsewhere(read: ColumnResult, left: set[str]) -> ColumnResult:
    """The relationships of ``read`` whose start is not in ``left``."""
    keep = [uid not in left for uid in _values(read, "left")]
    if all(keep):
        return read
    columns = {name: list(compress(values, keep)) for name, values in read.columns.items()}
    return ColumnResult(columns, sum(keep), read.truncated)


@dataclass
class _People:
    """The people a copy read, for the person map beside the key: (pseudonym, live uid)
    of each, and the live uids asked for (None: every person was read, so the map is
    made again from them; else the map in use is changed for these only, those not
    found taken out of it)."""

    read: list[tuple[str, str]] = field(default_factory=list)
    asked: set[str] | None = None

    def gone(self) -> list[str]:
        """The live uids asked for and not found."""
        return sorted((self.asked or set()).difference(uid for _, uid in self.read))


@dataclass
class _Reader:
    """The live graph's nodes and relationships as the copy holds them, with hashes."""

    coarsen: _Coarsen
    reads: _ReadAhead | _ScopedReads
    people: _People

    def nodes(self, label: str) -> tuple[list[str], list[list[Any]], list[int]]:
        """The copy's property names for the label (``uid`` second last), a column of
        each, and each node's hash (of its values in that order)."""
        live = self.reads.nodes(label)
        names, columns = self.coarsen.nodes(label, live)
        if label == "Person":
            self.people.read.extend(zip(columns[-2], live.columns["uid"], strict=True))
            self.people.asked = self.reads.asked(label)
        del live
        return names, columns, _hashes(zip(*columns, strict=True))

    def relationships(
        self, rel: str
    ) -> tuple[list[str], list[list[Any]], list[str], dict[str, int]]:
        """The copy's property names for the type (the ends' uids last), a column of
        each, each relationship's group key, and a hash of each group of them between
        the same two nodes (the copy's unit of change: relationships have no keys)."""
        live = self.reads.relationships(rel)
        names, columns = self.coarsen.relationships(rel, live)
        del live
        keys = _pairs(columns[-2], columns[-1])
        each = _hashes(zip(*columns, strict=True))
        alone = dict(zip(keys, each, strict=True))
        if len(alone) == len(keys):  # no two between the same nodes (most types): each
            # its own group, of one hash (its 1-tuple's JSON is the one-item list's)
            ones = _hashes(zip(alone.values()))
            return names, columns, keys, dict(zip(alone, ones, strict=True))
        groups: dict[str, list[int]] = defaultdict(list)
        for key, h in zip(keys, each, strict=True):
            groups[key].append(h)
        hashes = dict(zip(groups, _hashes(map(sorted, groups.values())), strict=True))
        return names, columns, keys, hashes


def _pairs(left: list[Any], right: list[Any]) -> list[str]:
    """Each relationship's group key: the two ends' uids in the copy."""
    if set(map(type, left)) | set(map(type, right)) <= {str}:
        return list(map(PAIR.join, zip(left, right, strict=True)))
    return [f"{a}{PAIR}{b}" for a, b in zip(left, right, strict=True)]


def _row(names: list[str], values: tuple) -> dict:
    return dict(zip(names, values, strict=True))


def _afresh(
    target: GraphStore, reader: _Reader, changes: _Changes, bulk: bool, progress: Progress
) -> Written:
    target.drop_all()
    target.ensure_schema(constraints=False)
    written = Written(fresh=True)

    def nodes(label: str) -> tuple[list[str], list[list[Any]]]:
        names, columns, hashes = reader.nodes(label)
        changes.hashes[label] = dict(zip(columns[names.index("uid")], hashes, strict=True))
        return names, columns

    def relationships(rel: str) -> tuple[list[str], list[list[Any]]]:
        names, columns, _, groups = reader.relationships(rel)
        changes.hashes[rel] = groups  # the copy's hashes themselves, not a copy of them
        return names, columns

    writer = target.bulk_writer() if bulk else None
    if writer is None:
        _write_by_statements(target, nodes, relationships, progress)
    else:
        _write_in_bulk(writer, nodes, relationships, progress)
    return written


def _difference(
    target: GraphStore,
    reader: _Reader,
    known: Known,
    changes: _Changes,
    progress: Progress,
    scope: Scope | None = None,
) -> Written:
    """Write over a copy whose hashes are ``known`` only what differs from it: of the
    whole graph, or of what ``scope`` names (:class:`Scope`; :data:`WHOLE` labels
    whole)."""
    written = Written()
    coarsen = reader.coarsen

    def named(label: str, within: set[str]) -> set[str]:  # in the copy
        return set(coarsen.uids(label, sorted(within)))

    for label, statements in NODE_STATEMENTS.items():
        names, columns, hashes = reader.nodes(label)
        uids = columns[names.index("uid")]
        now = dict(zip(uids, hashes, strict=True))
        if scope is not None and label not in WHOLE:  # only these could have gone
            was = known.get(label, _NONE).picked(named(label, scope.read(label)))
        else:
            was = known.get(label, _NONE).as_dict()
        different = set(compress(uids, map(_differs(was), uids, hashes)))
        new: list[dict] = []
        changed: list[dict] = []
        if different:
            for values in zip(*columns, strict=True):
                uid = values[-2]
                if uid in different:
                    (changed if uid in was else new).append(_row(names, values))
        changes.hashes[label] = {uid: now[uid] for uid in different}
        gone = [{"uid": uid} for uid in was.keys() - now.keys()]
        changes.removed += [(label, r["uid"]) for r in gone]
        for statement, rows in (("delete", gone), ("update", changed), ("create", new)):
            if rows:
                target.write_rows(statements[statement], rows, progress=progress)
                written.changed += len(rows)
    for rel, statements in REL_STATEMENTS.items():
        names, columns, keys, groups = reader.relationships(rel)
        if scope is not None:  # only the groups with an end in scope could have changed
            left = named(ENDS[rel][0], scope.nodes.get(ENDS[rel][0], set()))
            right = named(ENDS[rel][1], scope.ends.get(ENDS[rel][1], set()))
            was = {
                key: h
                for key, h in known.get(rel, _NONE).items()
                if (ends := key.split(PAIR))[0] in left or ends[1] in right
            }
        else:
            was = known.get(rel, _NONE).as_dict()
        different = set(compress(groups, map(_differs(was), groups, groups.values())))
        gone = was.keys() - groups.keys()
        changes.hashes[rel] = {key: groups[key] for key in different}
        changes.removed += [(rel, key) for key in gone]
        stale = [
            dict(zip(("left", "right"), key.split(PAIR), strict=True))
            for key in different | gone
            if key in was
        ]
        fresh = (
            [
                _row(names, values)
                for key, values in zip(keys, zip(*columns, strict=True), strict=True)
                if key in different
            ]
            if different
            else []
        )
        for statement, batch in (("delete", stale), ("create", fresh)):
            if batch:
                target.write_rows(statements[statement], batch, progress=progress)
                written.changed += len(batch)
    return written


_NONE = Kind.of({})  # a label or type no recorded hashes hold


def _differs(was: dict[str, int]) -> Callable[[str, int], bool]:
    """Whether an item's hash differs from (or is missing in) ``was``."""
    get = was.get
    return lambda key, h: get(key) != h


Rows = Callable[[str], Iterator[dict]]  # a label's or type's rows for the copy
Columns = Callable[[str], tuple[list[str], list[list[Any]]]]  # its names and columns
Progress = Callable[[int], None] | None


def _write_by_statements(
    target: GraphStore, nodes: Columns, relationships: Columns, progress: Progress
) -> None:
    for label, statements in NODE_STATEMENTS.items():
        names, columns = nodes(label)
        rows = (_row(names, values) for values in zip(*columns, strict=True))
        target.write_rows(statements["create"], rows, progress=progress)
    for rel, statements in REL_STATEMENTS.items():
        names, columns = relationships(rel)
        rows = (_row(names, values) for values in zip(*columns, strict=True))
        target.write_rows(statements["create"], rows, progress=progress)


def _write_in_bulk(
    writer: BulkWriter, nodes: Columns, relationships: Columns, progress: Progress
) -> None:
    """Each label's and type's columns inserted, and their dates made dates, on a
    thread of its own while this one makes the next label's or type's columns: the
    engine inserts one while this process reads, coarsens and hashes the next, where
    the two took turns. One at a time, in order (a relationship's ends are looked up
    among the nodes written before it), and at most one waiting to be written."""
    writer.begin([*NODE_SHAPES.values(), *EDGE_SHAPES.values()])

    def insert(shape: NodeShape | EdgeShape, names: list[str], columns: list[list[Any]]) -> None:
        named = dict(zip(names, columns, strict=True))
        if isinstance(shape, NodeShape):
            writer.create_nodes(shape, named, remember=True)
        else:
            writer.create_edges(shape, named)
        _done(progress, len(columns[0]) if columns else 0)

    made = (
        *((shape, partial(nodes, label)) for label, shape in NODE_SHAPES.items()),
        *((edge, partial(relationships, rel)) for rel, edge in EDGE_SHAPES.items()),
    )
    with ThreadPoolExecutor(1, thread_name_prefix="jigsaw-copy-write") as behind:
        writing: Future[None] | None = None
        for shape, make in made:
            names, columns = make()
            if writing is not None:
                writing.result()  # the one before written (or its error raised here)
            writing = behind.submit(insert, shape, names, columns)
            del names, columns
        if writing is not None:
            writing.result()
    writer.finish()


def _done(progress: Progress, rows: int) -> None:
    if progress is not None:
        progress(rows)


@dataclass(frozen=True)
class Mirror:
    """The copy, for making a change made to the live graph (a review merge) there too,
    with the same statements and the nodes' pseudonyms."""

    store: GraphStore
    keys: Pseudonyms

    def uid(self, label: str, uid: str) -> str:
        return self.keys.of(label, uid) if KEPT_NODES[label]["uid"] == "pseudonym" else uid

    def forget_person(self, uid: str) -> None:
        """A person merged into another: their pseudonym no longer names anyone."""
        self.keys.forget(uid)

    def restore_person(self, uid: str) -> None:
        """A merge undone: the person's pseudonym names them again."""
        self.keys.remember(self.uid("Person", uid), uid)


def mirror(store: GraphStore) -> Mirror | None:
    """The copy of this graph, for a change to be made there too, or None while no copy
    has been written (no key yet). The copy's hashes are no longer trusted: the next copy
    written over this one is written afresh."""
    if store.pseudonym_dir is None or not (store.pseudonym_dir / KEY_FILE).exists():
        return None
    keys = Pseudonyms.open(store.pseudonym_dir, store.name, create=False)
    CopyState.beside(keys.home, store.name).distrust("published")
    return Mirror(store.pseudonymised(), keys)
