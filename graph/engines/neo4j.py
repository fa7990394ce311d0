"""Neo4j adapter, through the official ``neo4j`` driver.

One driver per store (one store per process). Reads are routed READ, so the same
code works against a cluster or Aura. A READ transaction is routing, not a
security boundary (a single server will run a write in one), and Community
edition has no read-only roles; so every read is first planned with ``EXPLAIN``
and refused unless the plan's query type is ``r``. Plans are cached per text.
Writes go through ``execute_query`` with WRITE routing, which retries transient
failures; loader writes are MERGEs, so a retried batch changes nothing twice.
"""

from __future__ import annotations

import copy
import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from graph import schema
from graph.store import (
    NARROW,
    CypherError,
    EngineUnavailable,
    GraphStore,
    Health,
    IndexState,
    ProfileStep,
    QueryTimeout,
    QueryTooBig,
    ReadOnlyViolation,
    ReadResult,
    Row,
    WriteSummary,
    fuzzy_terms,
)


def _plain(value: Any) -> Any:
    import neo4j.graph
    import neo4j.spatial
    import neo4j.time

    if isinstance(value, neo4j.graph.Node):
        return {"_labels": sorted(value.labels), **_plain(dict(value))}
    if isinstance(value, neo4j.graph.Relationship):
        return {"_type": value.type, **_plain(dict(value))}
    if isinstance(value, neo4j.graph.Path):
        return {
            "nodes": [_plain(n) for n in value.nodes],
            "relationships": [_plain(r) for r in value.relationships],
        }
    if isinstance(value, neo4j.time.DateTime):
        return value.to_native().replace(tzinfo=None)
    if isinstance(value, neo4j.time.Date | neo4j.time.Time):
        return value.to_native()
    if isinstance(value, neo4j.time.Duration):
        return {
            k: v
            for k, v in (("months", value.months), ("days", value.days), ("seconds", value.seconds))
            if v
        }
    if isinstance(value, neo4j.spatial.Point):
        return {"latitude": value[1], "longitude": value[0]}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def _walk_profile(plan: dict[str, Any], depth: int, steps: list[ProfileStep]) -> None:
    """The driver's profile (a tree of dicts, as the server sent it) in plan order.
    ``time`` (nanoseconds) is there only where the runtime measures each operator."""
    args = plan.get("args") or {}
    operator = str(plan.get("operatorType", "?")).split("@")[0]
    details = args.get("Details")
    nanos = plan.get("time", args.get("Time"))
    steps.append(
        ProfileStep(
            depth,
            f"{operator} | {details}" if details else operator,
            int(plan.get("rows", args.get("Rows", 0)) or 0),
            nanos / 1e6 if isinstance(nanos, int | float) and nanos else None,
            plan.get("dbHits", args.get("DbHits")),
        )
    )
    for child in plan.get("children") or []:
        _walk_profile(child, depth + 1, steps)


def fulltext_query(text: str, *, fuzzy: bool) -> str:
    """Lucene syntax: every word required, as itself, a prefix, or within two edits."""
    parts = []
    for term in fuzzy_terms(text):
        options = [term, f"{term}*"]
        if fuzzy and len(term) >= 4:
            options.append(f"{term}~")
        parts.append("+(" + " ".join(options) + ")")
    return " ".join(parts)


def _constraint_name(label: str, prop: str) -> str:
    return f"{label.lower()}_{prop}_unique"


def _index_name(label: str, prop: str) -> str:
    return f"{label.lower()}_{prop}"


class Neo4jStore(GraphStore):
    """A Neo4j 5 server or cluster (``neo4j://`` routes, ``bolt://`` goes direct)."""

    engine = "neo4j"
    engine_label = "neo4j"

    def __init__(
        self,
        *,
        url: str,
        user: str,
        password: str | None,
        database: str,
        timeout_ms: int,
        max_rows: int,
        location: str,
        pseudonym_dir: Path | None = None,
        pseudonymised_url: str = "",
        pseudonymised_database: str = "pseudonymised",
    ) -> None:
        super().__init__(
            location=location,
            timeout_ms=timeout_ms,
            max_rows=max_rows,
            pseudonym_dir=pseudonym_dir,
        )
        import neo4j

        if password is None:
            raise EngineUnavailable(
                "Neo4j needs a password: set JIGSAW_NEO4J_PASSWORD (and JIGSAW_NEO4J_USER "
                "if it is not 'neo4j')"
            )
        self.database = database
        try:
            self._driver = neo4j.GraphDatabase.driver(url, auth=(user, password))
            self._driver.verify_connectivity()
        except neo4j.exceptions.AuthError as exc:
            raise EngineUnavailable(
                f"Neo4j at {location} refused the credentials for user {user!r}: {exc.message}"
            ) from None
        except (neo4j.exceptions.ServiceUnavailable, OSError, ValueError) as exc:
            raise EngineUnavailable(f"cannot reach Neo4j at {location}: {exc}") from None
        self._query_type = lru_cache(maxsize=2048)(self._plan_query_type)
        self._auth = (user, password)
        self._pseudonymised_at = (pseudonymised_url, pseudonymised_database)
        self._companion: Neo4jStore | None = None
        self._is_copy = False  # the pseudonymised copy's own store
        self._owns_driver = True

    # -- the pseudonymised copy: another database, or another server ------------------

    @property
    def name(self) -> str:
        return self.database

    def pseudonymised(self) -> Neo4jStore:
        """A second server when ``JIGSAW_PSEUDONYMISED_URL`` names one (Community edition
        holds one database a server), else another database of this server, made here
        if missing (Enterprise edition)."""
        if self._is_copy:
            raise CypherError("the pseudonymised copy has no pseudonymised copy of its own")
        if self._companion is None:
            url, database = self._pseudonymised_at
            if url:
                user, password = self._auth
                parsed = urlparse(url)
                other = Neo4jStore(
                    url=url,
                    user=user,
                    password=password,
                    database=database,
                    timeout_ms=self.timeout_ms,
                    max_rows=self.max_rows,
                    location=f"{parsed.scheme}://{parsed.hostname}:{parsed.port or 7687}",
                )
            else:
                self._create_database(database)
                other = copy.copy(self)
                other.database = database
                other._query_type = lru_cache(maxsize=2048)(other._plan_query_type)
                other._owns_driver = False
            other._is_copy = True
            self._companion = other
        return self._companion

    def _create_database(self, database: str) -> None:
        import neo4j

        try:
            self._driver.execute_query(
                f"CREATE DATABASE `{database}` IF NOT EXISTS WAIT",
                routing_=neo4j.RoutingControl.WRITE,
                database_="system",
            )
        except neo4j.exceptions.Neo4jError as exc:
            raise EngineUnavailable(
                f"Neo4j at {self.location} could not make the database {database!r} for the "
                f"analysts' pseudonymised copy ({exc.message}); Community edition holds one "
                "database a server: set JIGSAW_PSEUDONYMISED_URL to a second Neo4j server"
            ) from None

    # -- hooks ---------------------------------------------------------------------

    def _plan_query_type(self, cypher: str, param_names: frozenset[str]) -> tuple[str, str]:
        """The plan's query type, and the database it would read (a ``USE`` clause can
        name another one)."""
        import neo4j

        # EXPLAIN only plans; parameter values do not matter, names must exist.
        result = self._run(
            "EXPLAIN " + cypher, dict.fromkeys(param_names), neo4j.RoutingControl.READ
        )
        database = getattr(result.summary.database, "name", result.summary.database)
        return result.summary.query_type or "", str(database or self.database)

    def _read(
        self, cypher: str, params: dict[str, Any], *, timeout_ms: int, max_rows: int
    ) -> ReadResult:
        import neo4j

        self._refuse_writes(cypher, params)

        def first_rows(result: neo4j.Result) -> tuple[list[str], list[Row], bool]:
            keys = list(result.keys())
            rows: list[Row] = []
            for record in result:
                if len(rows) == max_rows:
                    result.consume()
                    return keys, rows, True
                rows.append({k: _plain(record[k]) for k in keys})
            return keys, rows, False

        query = neo4j.Query(cypher, timeout=timeout_ms / 1000)
        keys, rows, truncated = self._run(
            query, params, neo4j.RoutingControl.READ, transformer=first_rows
        )
        return ReadResult(columns=keys, rows=rows, truncated=truncated, max_rows=max_rows)

    def _refuse_writes(self, cypher: str, params: dict[str, Any]) -> None:
        kind, database = self._query_type(cypher, frozenset(params))
        if kind != "r":
            raise ReadOnlyViolation(
                f"refused: the query plan is of type {kind!r}, and only read queries "
                "(type 'r') may run here",
                query=cypher,
            )
        if database != self.database:  # the pseudonymised copy's reader reaching past it
            raise ReadOnlyViolation(
                f"refused: the query reads the database {database!r}, and only "
                f"{self.database!r} may be read here",
                query=cypher,
            )

    def _profile(
        self, cypher: str, params: dict[str, Any], *, timeout_ms: int
    ) -> list[ProfileStep]:
        import neo4j

        self._refuse_writes(cypher, params)
        query = neo4j.Query("PROFILE " + cypher, timeout=timeout_ms / 1000)
        eager = self._run(query, params, neo4j.RoutingControl.READ)
        steps: list[ProfileStep] = []
        _walk_profile(eager.summary.profile or {}, 0, steps)
        return steps

    def _write(self, cypher: str, params: dict[str, Any]) -> WriteSummary:
        import neo4j

        eager = self._run(cypher, params, neo4j.RoutingControl.WRITE)
        c = eager.summary.counters
        return WriteSummary(
            nodes_created=c.nodes_created,
            nodes_deleted=c.nodes_deleted,
            relationships_created=c.relationships_created,
            relationships_deleted=c.relationships_deleted,
            properties_set=c.properties_set,
            labels_added=c.labels_added,
            labels_removed=c.labels_removed,
            returned=[{k: _plain(r[k]) for k in eager.keys} for r in eager.records],
        )

    def _run(
        self, query: Any, params: dict[str, Any], routing: Any, transformer: Any = None
    ) -> Any:
        import neo4j

        text = query.text if isinstance(query, neo4j.Query) else query
        kwargs: dict[str, Any] = {"routing_": routing, "database_": self.database}
        if transformer is not None:
            kwargs["result_transformer_"] = transformer
        try:
            return self._driver.execute_query(query, params, **kwargs)
        except neo4j.exceptions.Neo4jError as exc:
            code = exc.code or ""
            if "TransactionTimedOut" in code:
                raise QueryTimeout(
                    f"stopped at the time limit (JIGSAW_QUERY_TIMEOUT_MS): {NARROW}", query=text
                ) from None
            if "MemoryPoolOutOfMemory" in code or "MemoryLimit" in code:
                raise QueryTooBig(
                    "stopped: it needed more memory than the server allows one transaction "
                    f"(db.memory.transaction.max): {NARROW}",
                    query=text,
                ) from None
            if "WriteOnReadOnlyAccess" in code or "ForbiddenOnReadOnlyDatabase" in code:
                raise ReadOnlyViolation("refused: read-only access", query=text) from None
            raise CypherError(
                f"Neo4j rejected the query: {exc.message} ({code})", query=text
            ) from None
        except neo4j.exceptions.DriverError as exc:
            raise EngineUnavailable(f"Neo4j at {self.location}: {exc}", query=text) from None

    # -- schema ----------------------------------------------------------------

    def _show(self, kind: str) -> list[Row]:
        import neo4j

        return [
            dict(r)
            for r in self._run(
                f"SHOW {kind} YIELD name, type, labelsOrTypes, properties",
                {},
                neo4j.RoutingControl.READ,
            ).records
        ]

    def schema_state(self) -> list[IndexState]:
        constraints = {
            (tuple(c["labelsOrTypes"] or ()), tuple(c["properties"] or ()))
            for c in self._show("CONSTRAINTS")
            if c["type"] in ("UNIQUENESS", "NODE_PROPERTY_UNIQUENESS", "NODE_KEY")
        }
        indexes = {
            (i["type"], tuple(i["labelsOrTypes"] or ()), tuple(i["properties"] or ()))
            for i in self._show("INDEXES")
        }
        state = []
        for node in schema.NODE_TYPES:
            state.append(
                IndexState(
                    "unique", node.label, (node.key,), ((node.label,), (node.key,)) in constraints
                )
            )
            for prop in node.indexed:
                state.append(
                    IndexState(
                        "range",
                        node.label,
                        (prop,),
                        ("RANGE", (node.label,), (prop,)) in indexes,
                    )
                )
            if node.fulltext:
                state.append(
                    IndexState(
                        "fulltext",
                        node.label,
                        node.fulltext,
                        ("FULLTEXT", (node.label,), node.fulltext) in indexes,
                    )
                )
        return state

    def ensure_schema(self, *, constraints: bool = True) -> list[str]:
        # a key's index is its uniqueness constraint's here: always made
        created = []
        for item in self.schema_state():
            if item.present:
                continue
            label, props = item.label, item.properties
            if item.kind == "unique":
                text = (
                    f"CREATE CONSTRAINT {_constraint_name(label, props[0])} IF NOT EXISTS "
                    f"FOR (n:{label}) REQUIRE n.{props[0]} IS UNIQUE"
                )
            elif item.kind == "range":
                text = (
                    f"CREATE INDEX {_index_name(label, props[0])} IF NOT EXISTS "
                    f"FOR (n:{label}) ON (n.{props[0]})"
                )
            else:
                fields = ", ".join(f"n.{p}" for p in props)
                text = (
                    f"CREATE FULLTEXT INDEX {schema.FULLTEXT_INDEX} IF NOT EXISTS "
                    f"FOR (n:{label}) ON EACH [{fields}]"
                )
            self._write(text, {})
            created.append(f"{item.kind} :{label}({', '.join(props)})")
        if created:
            self._write("CALL db.awaitIndexes(300)", {})
        return created

    # -- search, health, housekeeping ------------------------------------------

    def search_people(self, text: str, *, limit: int = 20, fuzzy: bool = True) -> list[Row]:
        query = fulltext_query(text, fuzzy=fuzzy)
        if not query:
            return []
        return self.read(
            f"CALL db.index.fulltext.queryNodes('{schema.FULLTEXT_INDEX}', $q) "
            "YIELD node, score RETURN node.uid AS uid, score ORDER BY score DESC, uid "
            "LIMIT $limit",
            {"q": query, "limit": limit},
        ).rows

    def health(self) -> Health:
        try:
            info = self._driver.get_server_info()
        except Exception as exc:
            return Health(False, self.engine_label, self.location, "", str(exc))
        return Health(
            True,
            self.engine_label,
            self.location,
            info.agent,
            f"protocol {'.'.join(map(str, info.protocol_version))}, database {self.database}",
        )

    def drop_all(self) -> None:
        import neo4j

        if self._companion is not None:  # a copy of nothing is stale
            self._companion.drop_all()

        while True:
            summary = self._write(
                "MATCH (n) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS n", {}
            )
            if not summary.nodes_deleted:
                break
        for c in self._show("CONSTRAINTS"):
            self._run(f"DROP CONSTRAINT `{c['name']}` IF EXISTS", {}, neo4j.RoutingControl.WRITE)
        for i in self._show("INDEXES"):
            if i["type"] != "LOOKUP":
                self._run(f"DROP INDEX `{i['name']}` IF EXISTS", {}, neo4j.RoutingControl.WRITE)

    def close(self) -> None:
        if self._companion is not None:
            self._companion.close()
        if self._owns_driver:
            self._driver.close()
