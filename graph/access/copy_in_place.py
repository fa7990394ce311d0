"""The analysts' copy made from the engine's own copy of the live graph, in place.

Where the engine copies a graph itself (:meth:`GraphStore.copy_graph`: FalkorDB's
``GRAPH.COPY``, at the engine's own speed), the copy starts as the live graph, and
:func:`pseudonymise` makes it what :mod:`graph.access.copy_rules` declares, changing
only what differs from the live graph, so that what is as it was never passes through
this process (attendance, most relationships):

1. every node whose labels name no kept label, or name one the copy does not keep
   (notes, source records, alerts, the tallies counted again), is deleted with its
   relationships, as are relationships of a type not kept or between other labels
   than the type's own; a label the copy does not declare on a node is removed;
2. each pseudonymised property (every ``uid`` but a school's, a service's, ...) is
   read, its keyed HMAC worked out here, and written back by ``UNWIND $rows`` batches;
3. each label's and type's properties are then set to what the rules make of them, by
   one statement each, in the engine: a dropped property goes, a date of birth becomes
   its month, a rare text its absence (the shared values passed as parameters), a home's
   point its district's centre. A label or type whose properties are all kept as they
   are, and that holds no other, is left untouched.

A property is rewritten by setting the whole map, so one the rules do not declare (an
older graph's, say) is gone too: nothing reaches the copy that is not declared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graph.access.copy_rules import (
    ALL_ROWS,
    DISTRICT,
    ENDS,
    EXTRA_LABELS,
    KEPT_NODES,
    KEPT_RELS,
    NODES,
    TEXT_OF,
    Rule,
    copied,
    district_centres,
    shared_values,
)
from graph.access.pseudonyms import Pseudonyms
from graph.cypher import cypher
from graph.store import GraphStore

AS_IS = ("keep", "date")  # rules that leave a value as the live graph holds it
DELETE_BATCH = 200_000  # nodes a deleting statement takes at once (bounds its memory)

LABEL_SETS = cypher(
    "copy_in_place.label_sets", "MATCH (n) RETURN labels(n) AS labels, count(*) AS n"
)
TYPES = cypher("copy_in_place.types", "MATCH ()-[x]->() RETURN DISTINCT type(x) AS type")
# a node is copied as the one kept label it has: with none, or two, it is not copied
NOT_ONE_KEPT = cypher(
    "copy_in_place.not_one_kept",
    "MATCH (n) WHERE size([l IN labels(n) WHERE l IN $kept]) <> 1 "
    "WITH n LIMIT $limit DETACH DELETE n",
    example={"kept": ["Person"], "limit": 1},
    writes=True,
)
OTHER_TYPES = cypher(
    "copy_in_place.other_types",
    "MATCH ()-[x]->() WHERE NOT type(x) IN $kept DELETE x",
    example={"kept": ["LIVES_AT"]},
    writes=True,
)


def _drop_label(label: str) -> str:
    return cypher(
        f"copy_in_place.drop_{label.lower()}",
        f"MATCH (n:{label}) WITH n LIMIT $limit DETACH DELETE n",
        example={"limit": 1},
        writes=True,
    )


def _other_labels(label: str) -> str:
    return cypher(
        f"copy_in_place.other_labels_{label.lower()}",
        f"MATCH (n:{label}) WHERE any(l IN labels(n) WHERE NOT l IN $allowed) DETACH DELETE n",
        example={"allowed": [label]},
        writes=True,
    )


def _stray_ends(rel: str) -> dict[str, str]:
    start, end = ENDS[rel]
    return {
        "count": cypher(
            f"copy_in_place.own_ends_{rel.lower()}",
            f"MATCH (:{start})-[x:{rel}]->(:{end}) RETURN count(x) AS n",
        ),
        "delete": cypher(
            f"copy_in_place.stray_{rel.lower()}",
            f"MATCH (a)-[x:{rel}]->(b) WHERE NOT (a:{start} AND b:{end}) DELETE x",
            writes=True,
        ),
    }


def _keys(pattern: str, name: str) -> str:
    return cypher(
        f"copy_in_place.keys_{name.lower()}",
        f"MATCH {pattern} UNWIND keys(x) AS key RETURN DISTINCT key",
    )


def _node_pattern(label: str) -> str:
    return f"(x:{label})"


def _rel_pattern(rel: str) -> str:
    return f"(:{ENDS[rel][0]})-[x:{rel}]->(:{ENDS[rel][1]})"


def _month(expr: str) -> str:
    # a comprehension, not CASE: FalkorDB works out both of CASE's branches
    month = "date({year: d.year, month: d.month, day: 1})"
    return f"[d IN [{expr}] WHERE d IS NOT NULL | {month}][0]"


def _value(owner: str, prop: str, rule: Rule, text_of: dict[str, str]) -> str:
    """The Cypher making the copy's value of ``x.prop`` from the live one."""
    here = f"x.{prop}"
    if rule == "month":
        return _month(here)
    if rule == "text":
        return f"toString({_month('x.' + text_of[prop])})"
    if rule == "shared":
        return f"CASE WHEN {here} IN $shared_{owner.lower()}_{prop} THEN {here} END"
    if rule == "centre":
        return f"CASE WHEN {here} IS NULL OR centre IS NULL THEN NULL ELSE centre.{prop} END"
    return here  # keep, date, and a pseudonym (already written by then)


def _rewrite(owner: str, rules: dict[str, Rule], pattern: str) -> str:
    """``SET x = {...}``: every property of ``owner`` as the copy holds it, and no other."""
    text_of = TEXT_OF.get(owner, {})
    values = ", ".join(f"{p}: {_value(owner, p, rules[p], text_of)}" for p in copied(rules))
    if "centre" in rules.values():  # each home's district's centre, found once a district
        return cypher(
            f"copy_in_place.rewrite_{owner.lower()}",
            f"MATCH {pattern} WITH x.{DISTRICT} AS district, collect(x) AS xs "
            "WITH xs, [c IN $centres WHERE c.district = district][0] AS centre "
            f"UNWIND xs AS x SET x = {{{values}}}",
            example=_example(owner, rules) | {"centres": [{"district": "d", "lat": 0, "lon": 0}]},
            writes=True,
        )
    return cypher(
        f"copy_in_place.rewrite_{owner.lower()}",
        f"MATCH {pattern} SET x = {{{values}}}",
        example=_example(owner, rules),
        writes=True,
    )


def _example(owner: str, rules: dict[str, Rule]) -> dict[str, Any]:
    return {f"shared_{owner.lower()}_{p}": ["x"] for p, rule in rules.items() if rule == "shared"}


def _pseudonymise(label: str, props: list[str]) -> dict[str, str]:
    returned = ", ".join(f"x.{p} AS {p}" for p in props if p != "uid")
    return {
        "read": cypher(
            f"copy_in_place.read_{label.lower()}",
            f"MATCH (x:{label}) RETURN x.uid AS was" + (f", {returned}" if returned else ""),
        ),
        "write": cypher(
            f"copy_in_place.pseudonymise_{label.lower()}",
            f"UNWIND $rows AS r MATCH (x:{label} {{uid: r.was}}) SET "
            + ", ".join(f"x.{p} = r.{p}" for p in props),
            example={"rows": [{"was": f"copy-in-place-{label.lower()}", "uid": "x"}]},
            writes=True,
        ),
    }


DROPPED_LABELS = {label: _drop_label(label) for label in NODES if label not in KEPT_NODES}
OTHER_LABELS = {label: _other_labels(label) for label in KEPT_NODES}
STRAY_ENDS = {rel: _stray_ends(rel) for rel in KEPT_RELS}
PSEUDONYMISED = {
    label: _pseudonymise(label, [p for p, rule in rules.items() if rule == "pseudonym"])
    for label, rules in KEPT_NODES.items()
    if "pseudonym" in rules.values()
}
NODE_KEYS = {label: _keys(_node_pattern(label), label) for label in KEPT_NODES}
REL_KEYS = {rel: _keys(_rel_pattern(rel), rel) for rel in KEPT_RELS}
NODE_REWRITES = {
    label: _rewrite(label, rules, _node_pattern(label)) for label, rules in KEPT_NODES.items()
}
REL_REWRITES = {rel: _rewrite(rel, rules, _rel_pattern(rel)) for rel, rules in KEPT_RELS.items()}


def pseudonymise(copy: GraphStore, keys: Pseudonyms, people: list[tuple[str, str]]) -> None:
    """Make ``copy``, the engine's copy of the live graph, the analysts' copy of it;
    each person's (pseudonym, uid) into ``people``."""
    _leave_out(copy)
    params = _parameters(copy)
    for label, statements in PSEUDONYMISED.items():
        rows = list(_pseudonyms(copy, keys, label, statements["read"]))
        if label == "Person":
            people.extend((r["uid"], r["was"]) for r in rows)
        copy.write_rows(statements["write"], rows, batch_size=20_000)
    for rules, keys_read, rewrite in (
        *((r, NODE_KEYS[n], NODE_REWRITES[n]) for n, r in KEPT_NODES.items()),
        *((r, REL_KEYS[t], REL_REWRITES[t]) for t, r in KEPT_RELS.items()),
    ):
        held = {r["key"] for r in copy.read(keys_read, max_rows=ALL_ROWS).rows}
        as_is = {p for p, rule in rules.items() if rule in AS_IS or rule == "pseudonym"}
        if held and not held <= as_is:
            copy.write(rewrite, {k: v for k, v in params.items() if "$" + k in rewrite})


def _leave_out(copy: GraphStore) -> None:
    """Step 1: what the copy does not hold at all, gone."""
    for statement in DROPPED_LABELS.values():
        _delete_all(copy, statement, {})
    sets = [row["labels"] for row in copy.read(LABEL_SETS, max_rows=ALL_ROWS).rows]
    if any(len([x for x in labels if x in KEPT_NODES]) != 1 for labels in sets):
        _delete_all(copy, NOT_ONE_KEPT, {"kept": list(KEPT_NODES)})  # none to copy it as, or two
    for labels in sets:
        kept = [x for x in labels if x in KEPT_NODES]
        if len(kept) == 1 and set(labels) - {kept[0], *EXTRA_LABELS[kept[0]]}:
            allowed = [kept[0], *EXTRA_LABELS[kept[0]]]
            copy.write(OTHER_LABELS[kept[0]], {"allowed": allowed})
    types = copy.counts().relationship_types  # the engine's statistics: no walk
    if set(types) - set(KEPT_RELS):
        copy.write(OTHER_TYPES, {"kept": list(KEPT_RELS)})
    for rel in set(types) & set(KEPT_RELS):  # a count read, not a write, where none is
        if copy.read(STRAY_ENDS[rel]["count"]).scalar() != types[rel]:
            copy.write(STRAY_ENDS[rel]["delete"])


def _delete_all(copy: GraphStore, statement: str, params: dict[str, Any]) -> None:
    """Run a ``... LIMIT $limit DETACH DELETE`` statement until it deletes nothing."""
    while copy.write(statement, {**params, "limit": DELETE_BATCH}).nodes_deleted:
        pass


def _parameters(copy: GraphStore) -> dict[str, Any]:
    """The shared values and district centres, as the rewriting statements take them."""
    params: dict[str, Any] = {
        f"shared_{owner.lower()}_{prop}": [
            list(v) if isinstance(v, tuple) else v for v in sorted(values, key=repr)
        ]
        for (owner, prop), values in shared_values(copy).items()
    }
    params["centres"] = [
        {"district": district, "lat": lat, "lon": lon}
        for district, (lat, lon) in district_centres(copy).items()
    ]
    return params


def _pseudonyms(
    copy: GraphStore, keys: Pseudonyms, label: str, read: str
) -> Iterator[dict[str, Any]]:
    rules = KEPT_NODES[label]
    for row in copy.read(read, max_rows=ALL_ROWS).rows:
        out = {"was": row["was"], "uid": keys.of(label, row["was"])}
        for p, rule in rules.items():
            if rule == "pseudonym" and p != "uid":
                out[p] = None if row[p] is None else keys.of(label, row[p])
        yield out
