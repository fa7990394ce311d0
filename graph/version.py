"""The graph's version stamp: a new one with every change, so kept state can tell.

What a load keeps for the next (the rows it wrote, who its records and people are, the
alerts' watched state) describes the graph as that load left it. Node and relationship
counts tell a graph that changed size, not one changed in place, such as a review
decision setting a pair's status. So the paths that change what loads keep stamp the
graph (:func:`stamp`) before they write: a load, a review decision or its undoing
(partners' notifications are written by a load); kept state is trusted only while the
graph carries the stamp it was kept with, and the counts it had then (:func:`kept_as`),
and a load that finds the stamp changed beside it keeps nothing. An administrator's own
Cypher does not stamp: after a change by hand, ``jigsaw load --full`` (docs/loading.md).

What people do in the app between loads changes nothing a load keeps: marking an alert
seen does not stamp, and the counts compared leave out the labels and types people add
in the app (an update note: ``in_app`` in graph.schema), so a day's notes do not make
the night's load read and write the whole graph again.

The stamp is one node, ``(:GraphVersion {uid: 'graph', stamped_at})``: in the graph,
so it goes wherever the graph goes (a copied engine directory, a backup), and read in
one lookup. The property ends in ``_at`` (a moment, plus a random part so two stamps in
one second differ), which comparisons of two graphs' contents leave out as they leave
out every load's own moment. The analysts' copy does not hold it (graph.access.copy_rules).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from graph.cypher import cypher
from graph.schema import IN_APP_LABELS, IN_APP_TYPES
from graph.store import Counts, GraphStore

STAMP = cypher(
    "version.stamp",
    "MERGE (v:GraphVersion {uid: 'graph'}) SET v.stamped_at = $stamp",
    example={"stamp": "2026-12-04T00:00:00 0"},
    writes=True,
)
CURRENT = cypher(
    "version.current",
    "MATCH (v:GraphVersion {uid: 'graph'}) RETURN v.stamped_at AS stamp",
)
# a load's own stamp, from before it reads what the last load kept until its end, and
# the stamp it replaced (what that kept state is checked against), in one statement: no
# review decision falls between the look and the mark
LOADING = cypher(
    "version.loading",
    """
    MERGE (v:GraphVersion {uid: 'graph'})
    WITH v, v.stamped_at AS before
    SET v.stamped_at = $stamp, v.loading_at = $stamp
    RETURN before
    """,
    example={"stamp": "2026-12-04T00:00:00 0"},
    writes=True,
)
# a load's end, in one statement: the graph no longer being loaded, and a new stamp
# only where the stamp is still the load's own (a review decision taken meanwhile moved
# it, and stays). The first SET takes the node's write lock (Neo4j) before the stamp is
# read; FalkorDB runs one write at a time.
LOADED = cypher(
    "version.loaded",
    """
    MATCH (v:GraphVersion {uid: 'graph'})
    SET v.loading_at = null
    WITH v, v.stamped_at = $loading AS alone
    SET v.stamped_at = CASE WHEN alone THEN $stamp ELSE v.stamped_at END
    RETURN alone
    """,
    example={"loading": "2026-12-04T00:00:00 0", "stamp": "2026-12-04T00:00:01 1"},
    writes=True,
)
LOADING_SINCE = cypher(
    "version.loading_since",
    "MATCH (v:GraphVersion {uid: 'graph'}) RETURN v.loading_at AS since",
)


def _new() -> str:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return f"{now} {uuid.uuid4().hex}"


def stamp(store: GraphStore) -> str:
    """Give the graph a new stamp (before a change is written) and return it."""
    new = _new()
    store.write(STAMP, {"stamp": new})
    return new


def begin_loading(store: GraphStore) -> tuple[str, str | None]:
    """Mark the graph as being loaded until :func:`loaded`, with a new stamp: returns it
    and the stamp it replaced, which the last load's kept state is checked against
    (:func:`kept_as`). Marked before the load reads what was kept, so a review merge
    or its undoing waits from then on rather than changing the graph unseen between
    the look and the mark."""
    new = _new()
    rows = store.write(LOADING, {"stamp": new}).returned
    return new, rows[0]["before"] if rows else None


def loaded(store: GraphStore, loading: str) -> str | None:
    """A load that began with the stamp ``loading`` has finished: the graph is no longer
    being loaded. Returns the graph's new stamp, which what the load keeps for the next
    describes, or None when the stamp was no longer the load's own (a review decision
    was taken while it ran: what it saw is not the graph it leaves, and the decision's
    stamp stays). One statement, so no decision falls between the look and the write."""
    new = _new()
    rows = store.write(LOADED, {"loading": loading, "stamp": new}).returned
    return new if rows and rows[0]["alone"] else None


def loading_since(store: GraphStore) -> str | None:
    """The stamp of the load writing the graph now (or stopped part way: a graph the
    next load must finish), or None. A review merge or its undoing waits for it: what
    the load works out from what it read would otherwise miss the change
    (graph.review_queue)."""
    rows = store.read(LOADING_SINCE).rows
    return rows[0]["since"] if rows else None


def current(store: GraphStore) -> str | None:
    """The graph's stamp, or None for a graph never stamped (written before stamps)."""
    rows = store.read(CURRENT).rows
    return rows[0]["stamp"] if rows else None


def kept_as(counts: Counts, stamp: str | None) -> dict[str, Any]:
    """What state a load keeps is checked against before the next trusts it (JSON's own
    types, compared as read back): the graph's counts, but of what people add in the
    app, and its ``stamp`` (a change that keeps the counts, such as a review decision,
    changes the stamp)."""
    return {
        "labels": {k: v for k, v in counts.labels.items() if k not in IN_APP_LABELS},
        "types": {k: v for k, v in counts.relationship_types.items() if k not in IN_APP_TYPES},
        "stamp": stamp,
    }
