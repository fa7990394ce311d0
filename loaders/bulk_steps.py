"""Which rows of a load's write steps can be bulk-inserted, and as what.

Bulk insertion (see :mod:`graph.bulk`) creates; it does not merge. A row may take it
only when what its MERGE statement would write cannot be in the graph yet:

- a step that writes a node keyed by ``uid`` (people, addresses, cases...): the row's
  uid is on no node of that label yet; the relationships the statement writes with
  the node are then new too;
- a step that writes only a relationship: one of its ends was created in this load.

and when every node the row refers to exists (a MATCH that finds nothing, or a MERGE
that would create a missing end, is left to the statement, which knows what to do).
Rows that would MERGE into the same thing are first folded into one, the later row
winning, as the statement's ``SET`` would have it. Every other row goes through the
statement as before, so a load's result does not depend on which path a row took
(``tests/test_bulk_write.py`` compares the two graphs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from graph.bulk import BulkWriter, EdgeShape, NodeShape

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Edge:
    """A relationship a step writes, and the row fields beyond its two ends that its
    MERGE matches on (``LIVES_AT {from: ...}``)."""

    shape: EdgeShape
    merge_on: tuple[str, ...] = ()

    def key(self) -> Callable[[Row], Any]:
        """What the statement's MERGE tells rows apart by."""
        return itemgetter(self.shape.start[1], self.shape.end[1], *self.merge_on)


@dataclass(frozen=True)
class BulkStep:
    """How one write step's rows map to new nodes and relationships.

    ``keep``: fields whose null leaves the earlier value (``CASE WHEN row.x IS NULL
    THEN r.x ...`` in the statement). The statement's other parameters become
    properties of the step's node (see :func:`write_new`)."""

    node: NodeShape | None = None
    edges: tuple[Edge, ...] = ()
    keep: tuple[str, ...] = ()

    def ends(self) -> list[tuple[str, str]]:
        """(label, field) of every node a row refers to, other than its own node."""
        out: list[tuple[str, str]] = []
        for edge in self.edges:
            for end in (edge.shape.start, edge.shape.end):
                if self.node is None or end != (self.node.label, "uid"):
                    out.append(end)
        return out


@dataclass
class NewNodes:
    """Node uids by label: those in the graph (read once per label, when first needed)
    and those this load created."""

    writer: BulkWriter
    track: frozenset[str] = frozenset()  # labels whose created uids later steps ask for
    present: dict[str, set[str]] = field(default_factory=dict)
    created: dict[str, set[str]] = field(default_factory=dict)

    def existing(self, label: str) -> set[str]:
        if label not in self.present:
            self.present[label] = self.writer.uids(label)
        return self.present[label]

    def earlier(self, label: str) -> set[str]:
        """Uids of the label already in the graph when this load began (all of them for a
        label whose created uids are not tracked: a superset is the safe answer)."""
        return self.existing(label) - self.created.get(label, set())

    def add(self, label: str, uids: Iterable[str]) -> None:
        if label not in self.present and label not in self.track:
            return  # nobody asks: the graph answers for them if asked later
        made = set(uids)
        if label in self.present:
            self.present[label].update(made)
        if label in self.track:
            self.created.setdefault(label, set()).update(made)


def split(
    step: BulkStep, rows: list[Row], nodes: NewNodes, *, all_new: bool = False
) -> tuple[list[Row], list[Row]]:
    """(rows for bulk insertion, rows for the statement), in the rows' order.

    ``all_new``: the caller knows no row's node is in the graph (source records no
    earlier load wrote), which saves reading every uid of the label."""
    ends = step.ends()
    known = [(field, nodes.existing(label)) for label, field in ends]
    # each test a row must pass, and the same test over every row at once: set
    # operations over the rows' values, with no Python call per row, which settle the
    # usual case (a first load: every row passes) in a fraction of the time
    tests: list[Callable[[Row], bool]] = []
    at_once: list[Callable[[], bool]] = []
    if step.node is not None and not all_new:
        taken = nodes.existing(step.node.label)
        tests.append(lambda row: row["uid"] not in taken)
        at_once.append(lambda: taken.isdisjoint(map(itemgetter("uid"), rows)))
    elif step.node is None:
        made = [(itemgetter(f), nodes.created.get(label, set())) for label, f in ends]
        tests.append(lambda row: any(get(row) in uids for get, uids in made))
        # one end created for every row (enough, not necessary: else row by row)
        at_once.append(lambda: any(uids.issuperset(map(get, rows)) for get, uids in made))
    for name, uids in known:  # every end the row names must be there
        get = itemgetter(name)
        tests.append(lambda row, get=get, uids=uids: get(row) in uids)
        at_once.append(lambda get=get, uids=uids: uids.issuperset(map(get, rows)))
    if all(test() for test in at_once):
        return list(rows), []
    # one pass, two lists: the rows are a county's (2 million source records), so no
    # third structure to tell them apart
    bulk: list[Row] = []
    rest: list[Row] = []
    for row in rows:
        (bulk if all(test(row) for test in tests) else rest).append(row)
    return bulk, rest


def fold(rows: list[Row], key: Callable[[Row], Any], keep: tuple[str, ...]) -> list[Row]:
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


def write_new(
    step: BulkStep,
    rows: list[Row],
    nodes: NewNodes,
    *,
    constants: Mapping[str, Any],
    progress: Callable[[int], None] | None,
    all_new: bool = False,
) -> None:
    """Bulk-insert rows :func:`split` chose (the nodes, then each relationship).
    ``all_new``: as for :func:`split`; the caller also knows each uid comes once."""
    writer = nodes.writer
    one_per_uid = False
    if step.node is not None:
        label = step.node.label
        unique = rows if all_new else fold(rows, itemgetter("uid"), step.keep)
        one_per_uid = len(unique) == len(rows)
        writer.create_nodes(step.node, unique, constants=constants, remember=label in nodes.track)
        nodes.add(label, (r["uid"] for r in unique))
    for edge in step.edges:
        # a relationship from each row's own node, one row per node: nothing to fold
        own = "uid" in (edge.shape.start[1], edge.shape.end[1])
        folded = rows if own and one_per_uid else fold(rows, edge.key(), step.keep)
        writer.create_edges(edge.shape, folded)
    if progress:
        progress(len(rows))


def _fields(names: str) -> tuple[str, ...]:
    return tuple(names.split())


def shapes(bulk_steps: Iterable[BulkStep]) -> list[NodeShape | EdgeShape]:
    """Every node and relationship shape the steps write."""
    out: list[NodeShape | EdgeShape] = []
    for step in bulk_steps:
        if step.node is not None:
            out.append(step.node)
        out += [edge.shape for edge in step.edges]
    return out


def _person_edge(
    type_: str, end: tuple[str, str], props: tuple[str, ...], dates: tuple[str, ...] = ()
) -> EdgeShape:
    return EdgeShape(type_, ("Person", "person"), end, props, dates)


SCHOOL = ("School", "school")

PEOPLE = BulkStep(
    node=NodeShape(
        "Person",
        _fields(
            "uid given_name middle_names family_name full_name other_names dob dod sex "
            "ethnicity language upn nhs_number uln la_child_id fsm eal young_carer sources "
            "conflicts "
            # derived from this load's cases (Builder.cases): a new person's are all here
            "open_services open_case_kinds open_service_count"
        ),
        dates=("dob", "dod"),
        extra_labels=lambda row: ("Child",) if row["child"] else ("Adult",),
    )
)
SOURCE_RECORDS = BulkStep(
    node=NodeShape("SourceRecord", ("uid", "source", "source_key", "row", "file")),
    edges=(
        Edge(
            EdgeShape("DESCRIBES", ("SourceRecord", "uid"), ("Person", "person"), ("probability",))
        ),
    ),
)
ADDRESSES = BulkStep(
    node=NodeShape(
        "Address",
        _fields(
            "uid uprn line1 town postcode postcode_district lsoa imd_decile lat lon "
            "local_authority in_county postcode_only"
        ),
    )
)
RESIDENCES = BulkStep(
    edges=(
        Edge(
            _person_edge("LIVES_AT", ("Address", "address"), ("from", "to"), ("from", "to")),
            merge_on=("from",),
        ),
    )
)
# MERGE (p)-[:LIVES_AT]->(a) with no date finds a dated residence at the same address
# too: rows for a pair that also has a dated row stay with the statement (write.py).
UNDATED_RESIDENCES = BulkStep(
    edges=(Edge(_person_edge("LIVES_AT", ("Address", "address"), ())),),
)
PARENTS = BulkStep(
    edges=(
        Edge(
            EdgeShape(
                "PARENT_OF",
                ("Person", "parent"),
                ("Person", "child"),
                ("kind", "from", "to"),
                ("from", "to"),
            )
        ),
    ),
    keep=("from",),
)
FAMILIES = BulkStep(node=NodeShape("Family", ("uid", "name", "source")))
MEMBERS = BulkStep(
    edges=(
        Edge(
            _person_edge("MEMBER_OF", ("Family", "family"), ("role", "from", "to"), ("from", "to"))
        ),
    )
)
SCHOOL_ROLLS = BulkStep(
    edges=(Edge(_person_edge("ATTENDS", SCHOOL, ("from", "to", "year_group"), ("from", "to"))),)
)
ATTENDANCE = BulkStep(
    edges=(
        Edge(
            _person_edge(
                "ATTENDANCE",
                SCHOOL,
                ("term", "term_start", "possible", "absent", "unauthorised"),
                ("term_start",),
            ),
            merge_on=("term",),
        ),
    )
)
EXCLUSIONS = BulkStep(
    edges=(
        Edge(
            _person_edge("EXCLUDED", SCHOOL, ("date", "kind", "sessions", "reason"), ("date",)),
            merge_on=("date",),
        ),
    )
)
OFFERS = BulkStep(
    edges=(
        Edge(
            _person_edge("OFFERED", SCHOOL, ("entry_point", "start", "date"), ("start", "date")),
            merge_on=("entry_point",),
        ),
    )
)
CASES = BulkStep(
    node=NodeShape(
        "Case",
        _fields(
            "uid kind status start end reason placement_la placement_type "
            "placement_out_of_area workers"
        ),
        dates=("start", "end"),
    ),
    edges=(
        Edge(_person_edge("HAS_CASE", ("Case", "uid"), ())),
        Edge(EdgeShape("WITH_SERVICE", ("Case", "uid"), ("Service", "service"))),
    ),
)
CASE_NOTES = BulkStep(
    node=NodeShape("Note", ("uid", "text", "author", "at", "kind", "case")),
    edges=(Edge(_person_edge("HAS_NOTE", ("Note", "uid"), ())),),
)
REVIEW_PAIRS = BulkStep(
    node=NodeShape(
        "ReviewPair",
        _fields("uid probability agreed evidence reason impact left_record right_record"),
    )
)
CANDIDATES = BulkStep(
    edges=(
        Edge(EdgeShape("CANDIDATE", ("ReviewPair", "uid"), ("Person", "left"))),
        Edge(EdgeShape("CANDIDATE", ("ReviewPair", "uid"), ("Person", "right"))),
    )
)

# Every step above, found rather than listed (a step missing here would keep its dates
# as text after a stopped load): a load's writer is told their shapes before it writes.
ALL = tuple(step for step in list(globals().values()) if isinstance(step, BulkStep))

# Labels that edge-only steps find new ends among.
ENDS = frozenset(
    label
    for step in (
        RESIDENCES,
        UNDATED_RESIDENCES,
        PARENTS,
        MEMBERS,
        SCHOOL_ROLLS,
        ATTENDANCE,
        EXCLUSIONS,
        OFFERS,
        CANDIDATES,
    )
    for label, _field in step.ends()
)
