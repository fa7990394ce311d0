"""What a load writes, derived from the schema: one :class:`Step` per kind of row.

A step names the node type its rows write (or none) and the relationships each row
writes with it. From that and :mod:`graph.schema` come its MERGE statement, the
fields its rows must have, and its bulk-insertion shapes (:mod:`graph.bulk`). So a
new node or relationship type is one declaration in the schema and one step here.

What a step's statement does, for every row: when every node the row names exists
(as MATCH finds them), MERGE the step's node on its key and set its properties, then
MERGE each relationship (on its ends and its key properties) and set its properties.
A row whose relationship key is null is a sighting of one of unknown key: it is
MERGEd on its ends alone and changes nothing there (``keyless``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter
from typing import Any

from graph.bulk import EdgeShape, NodeShape
from graph.cypher import cypher
from graph.schema import (
    BOOLEAN,
    DATE,
    DATETIME,
    FLOAT,
    INTEGER,
    LIST,
    REL_TYPES,
    NodeType,
    Prop,
    RelType,
    node_type,
    rel_type,
)

Row = dict[str, Any]
_EXAMPLE = {
    DATE: "2020-01-02",
    DATETIME: "2026-11-02T10:00",
    INTEGER: 1,
    FLOAT: 0.5,
    BOOLEAN: True,
    LIST: ["x"],
}


@dataclass(frozen=True)
class Link:
    """A relationship each row of a step writes. ``field``: the row field naming the
    other end, where not the type's own; ``other``: its label, where the type joins a
    choice of labels (``HAS_NOTE`` from a Person or an Address)."""

    type: str
    field: str | None = None
    other: str | None = None


@dataclass(frozen=True)
class End:
    """One end of a relationship a step writes: its label, the row field holding its
    key, and its variable in the step's statement."""

    label: str
    field: str
    var: str


@dataclass(frozen=True)
class Rel:
    """A relationship as a step writes it."""

    type: RelType
    start: End
    end: End
    var: str

    @property
    def props(self) -> tuple[Prop, ...]:
        return tuple(p for p in self.type.props if p.from_row)

    def shape(self, *, keyless: bool = False) -> EdgeShape:
        props = () if keyless else self.props
        return EdgeShape(
            self.type.type,
            (self.start.label, self.start.field),
            (self.end.label, self.end.field),
            tuple(p.name for p in props),
            tuple(p.name for p in props if p.type == DATE),
        )


@dataclass(frozen=True)
class Step:
    """One kind of row a load writes: ``rows`` names the list of rows it takes
    (an attribute of ``loaders.build.GraphRows``, dotted for one further in), ``node``
    the node type each row writes, ``links`` the relationships each row writes,
    ``carries`` fields its rows hold for other stages and this step does not write."""

    name: str
    rows: str
    node: str | None = None
    links: tuple[Link | str, ...] = field(default=())
    carries: tuple[str, ...] = ()

    def of(self, rows: object) -> list[Row]:
        """This step's rows among a load's."""
        return attrgetter(self.rows)(rows)

    # -- what it writes --------------------------------------------------------------

    @cached_property
    def node_type(self) -> NodeType | None:
        return node_type(self.node) if self.node else None

    @cached_property
    def rels(self) -> tuple[Rel, ...]:
        out = []
        for i, spec in enumerate(self.links):
            link = spec if isinstance(spec, Link) else Link(spec)
            rel = rel_type(link.type)
            starts, ends = rel.start.split("|"), rel.end.split("|")
            node = self.node_type
            if node is None:
                assert len(starts) == len(ends) == 1, f"{self.name}: name the labels"
                start = End(starts[0], rel.field(starts[0], 0), f"a{i}")
                end = End(ends[0], rel.field(ends[0], 1), f"b{i}")
            elif node.label in starts:
                other = link.other or ends[0]
                start = End(node.label, node.key, "n")
                end = End(other, link.field or rel.field(other, 1), f"e{i}")
            else:
                other = link.other or starts[0]
                start = End(other, link.field or rel.field(other, 0), f"e{i}")
                end = End(node.label, node.key, "n")
            # the end's other relationships of the type go when the step writes the end
            assert not rel.one_in or end.var == "n", f"{self.name}: write {rel.type} from its end"
            out.append(Rel(rel, start, end, f"r{i}"))
        return tuple(out)

    @cached_property
    def others(self) -> tuple[End, ...]:
        """The nodes a row names, other than its own: all must exist."""
        found = {e.var: e for r in self.rels for e in (r.start, r.end) if e.var != "n"}
        return tuple(found.values())

    @cached_property
    def node_props(self) -> tuple[Prop, ...]:
        node = self.node_type
        return tuple(p for p in node.props if p.writer == "load") if node else ()

    @cached_property
    def folded(self) -> tuple[str, ...]:
        """The fields whose rows are one node's as successive MERGEs leave it: its key
        and the other ends it names, but the start of one it has one of (``one_in``) and
        the end of one it starts and has all of (``rewritten``): the last row's wins."""
        sole = {r.start.var for r in self.rels if r.type.one_in}
        sole |= {r.end.var for r in self.rels if r.type.rewritten and r.start.var == "n"}
        node = self.node_type
        assert node is not None, self.name
        return (node.key, *(e.field for e in self.others if e.var not in sole))

    @cached_property
    def keep(self) -> tuple[str, ...]:
        """Fields whose null keeps the value already there."""
        props = (*self.node_props, *(p for r in self.rels for p in r.props))
        return tuple(p.name for p in props if p.keep)

    @cached_property
    def key(self) -> tuple[str, ...]:
        """Relationship key properties (a step with a keyed relationship writes only it)."""
        keys = [k for r in self.rels for k in r.type.key]
        assert not keys or (self.node is None and len(self.rels) == 1), self.name
        return tuple(keys)

    # -- the rows it takes -----------------------------------------------------------

    @cached_property
    def fields(self) -> frozenset[str]:
        """Fields each row must have."""
        node = self.node_type
        names = {e.field for e in self.others}
        if node is not None:
            names |= {node.key, *(p.name for p in self.node_props if p.from_row and not p.derived)}
            names |= {node.kind_field} if node.kind_field else set()
        props = [p.name for r in self.rels for p in r.props]
        assert names.isdisjoint(props) and len(set(props)) == len(props), (
            f"{self.name}: a field twice"
        )
        return frozenset(names | set(props))

    @cached_property
    def optional(self) -> frozenset[str]:
        """Fields a row may leave out: derived facts, worked out later if absent."""
        return frozenset(p.name for p in self.node_props if p.derived)

    def check(self, row: Row) -> None:
        """Raise if a row lacks a field the step writes or has one it does not know."""
        missing = self.fields - row.keys()
        unknown = row.keys() - self.fields - self.optional - set(self.carries)
        if missing or unknown:
            raise ValueError(
                f"a {self.name} row lacks {sorted(missing)} and has unknown {sorted(unknown)}"
            )

    def constants(self, params: dict[str, Any]) -> dict[str, Any]:
        """Properties each new node takes from the load's parameters (``loaded_at``)."""
        return {p.name: params[p.param] for p in self.node_props if p.param}

    def params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The load's parameters the statements use."""
        return {p.param: params[p.param] for p in self.node_props if p.param}

    # -- its statements and shapes -----------------------------------------------------

    @cached_property
    def statement(self) -> str:
        return cypher(
            f"load.{self.rows}", self._text(keyless=False), example=self._example(), writes=True
        )

    @cached_property
    def keyless(self) -> str | None:
        """For rows whose relationship key is null."""
        if not self.key:
            return None
        return cypher(
            f"load.{self.rows}_keyless",
            self._text(keyless=True),
            example=self._example(keyless=True),
            writes=True,
        )

    @cached_property
    def node_shape(self) -> NodeShape | None:
        node = self.node_type
        if node is None:
            return None
        props = (node.key, *(p.name for p in self.node_props if p.from_row))
        kinds, field_ = node.kinds, node.kind_field
        return NodeShape(
            node.label,
            props,
            tuple(p.name for p in self.node_props if p.type == DATE),
            (lambda row: (kinds[0],) if row[field_] else (kinds[1],)) if kinds else None,
            tuple((p.name, p.text_of) for p in self.node_props if p.text_of),
        )

    def _text(self, *, keyless: bool) -> str:
        lines = ["UNWIND $rows AS row"]
        lines += [f"MATCH ({e.var}:{e.label} {{uid: row.{e.field}}})" for e in self.others]
        node = self.node_type
        if node is not None:
            lines += _node_clauses(node, self.node_props)
            carried = ", ".join(["n", *(e.var for e in self.others), "row"])
            for t in REL_TYPES:  # each row writes all the node's of this type: others go
                if t.rewritten and t.start == node.label:  # (all, where a later step does)
                    mine = [r.end for r in self.rels if r.type is t]
                    other = f"o:{mine[0].label}" if mine else ""
                    kept = [f"WHERE NOT o.uid IN [{', '.join(f'{e.var}.uid' for e in mine)}]"]
                    lines += [f"WITH {carried}", f"OPTIONAL MATCH (n)-[old:{t.type}]->({other})"]
                    lines += [*(kept if mine else []), "DELETE old"]
            for rel in self.rels:  # the node has one of this type: the row's
                if rel.type.one_in:
                    start = rel.start
                    lines += [f"WITH {carried}", f"OPTIONAL MATCH (o)-[old:{rel.type.type}]->(n)"]
                    lines += [f"WHERE NOT (o:{start.label} AND o.uid = {start.var}.uid)"]
                    lines += ["DELETE old"]
        for rel in self.rels:
            t = rel.type
            keys = ", ".join(f"{k}: {_value(_prop(t, k), 'row')}" for k in t.key)
            keys = f" {{{keys}}}" if keys and not keyless else ""
            lines.append(f"MERGE ({rel.start.var})-[{rel.var}:{t.type}{keys}]->({rel.end.var})")
            sets = [p for p in rel.props if p.name not in t.key]
            if sets and not keyless:
                lines.append("SET " + ",\n    ".join(_assign(rel.var, p) for p in sets))
        return "\n".join(lines)

    def _example(self, *, keyless: bool = False) -> dict[str, Any]:
        row: dict[str, Any] = {name: "x" for name in self.fields}
        for p in (*self.node_props, *(p for r in self.rels for p in r.props)):
            if p.from_row:
                row[p.name] = _EXAMPLE.get(p.type, "x")
        node = self.node_type
        if node is not None:  # a key of its own: the guard runs every example in one graph
            row[node.key] = f"example-{self.rows}"
        if node is not None and node.kind_field:
            row[node.kind_field] = True
        for k in self.key if keyless else ():
            row[k] = None
        return {"rows": [row], **{p.param: "2026-11-02T10:00" for p in self.node_props if p.param}}


def fold(rows: list[Row], key: Callable[[Row], Any], keep: tuple[str, ...] = ()) -> list[Row]:
    """One row per key, as successive MERGE ... SET statements would leave it (in the
    order keys first appear: bulk insertion numbers new nodes in that order)."""
    if not keep:  # the later row wins outright
        return list({key(row): row for row in rows}.values())
    out: dict[Any, Row] = {}
    for row in rows:
        k = key(row)
        before = out.get(k)
        if before is not None:
            row = dict(row)
            for name in keep:
                if row.get(name) is None:
                    row[name] = before.get(name)
        out[k] = row
    return list(out.values())


def _prop(t: RelType, name: str) -> Prop:
    return next(p for p in t.props if p.name == name)


def _value(p: Prop, row: str) -> str:
    source = f"${p.param}" if p.param else f"{row}.{p.text_of or p.name}"
    return f"date({source})" if p.type == DATE else source


def _assign(var: str, p: Prop) -> str:
    """``var.x = <the row's value>``, null-safe for dates and for kept values."""
    value = _value(p, "row")
    if p.param:
        return f"{var}.{p.name} = {value}"
    source = f"row.{p.text_of or p.name}"
    if p.keep:
        return f"{var}.{p.name} = CASE WHEN {source} IS NULL THEN {var}.{p.name} ELSE {value} END"
    if p.type == DATE:
        return f"{var}.{p.name} = CASE WHEN {source} IS NULL THEN NULL ELSE {value} END"
    return f"{var}.{p.name} = {value}"


def _node_clauses(node: NodeType, props: tuple[Prop, ...]) -> list[str]:
    lines = [f"MERGE (n:{node.label} {{{node.key}: row.{node.key}}})"]
    once = [p for p in props if p.on_create or p.derived]
    always = [p for p in props if not (p.on_create or p.derived)]
    if once:
        lines.append("ON CREATE SET " + ",\n    ".join(_assign("n", p) for p in once))
    if always:
        lines.append("SET " + ",\n    ".join(_assign("n", p) for p in always))
    if node.kinds:
        yes, no = node.kinds
        test = f"CASE WHEN row.{node.kind_field} THEN"
        lines += [
            f"FOREACH (_ IN {test} [1] ELSE [] END | SET n:{yes} REMOVE n:{no})",
            f"FOREACH (_ IN {test} [] ELSE [1] END | SET n:{no} REMOVE n:{yes})",
        ]
    return lines
