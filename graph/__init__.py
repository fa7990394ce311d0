"""The one door to Jigsaw's data: a graph store over Neo4j or embedded FalkorDB.

``open_store()`` reads the settings and returns the engine they choose. Everything
above this package sees only :class:`graph.store.GraphStore` and plain Python values.
"""

from __future__ import annotations

from graph.settings import Settings, SettingsError, load_settings
from graph.store import (
    CypherError,
    EngineUnavailable,
    GraphError,
    GraphStore,
    ParameterError,
    ProfileStep,
    QueryTimeout,
    QueryTooBig,
    ReadOnlyViolation,
    ReadResult,
    WriteSummary,
)

__all__ = [
    "CypherError",
    "EngineUnavailable",
    "GraphError",
    "GraphStore",
    "ParameterError",
    "ProfileStep",
    "QueryTimeout",
    "QueryTooBig",
    "ReadOnlyViolation",
    "ReadResult",
    "Settings",
    "SettingsError",
    "WriteSummary",
    "load_settings",
    "open_store",
]


def open_store(settings: Settings | None = None) -> GraphStore:
    """Open the store the settings choose. Engines are imported only when used."""
    from urllib.parse import urlparse

    settings = settings or load_settings()
    common = {
        "timeout_ms": settings.query_timeout_ms,
        "max_rows": settings.max_rows,
        "pseudonym_dir": settings.pseudonym_home,
    }
    if settings.engine == "neo4j":
        from graph.engines.neo4j import Neo4jStore

        password = settings.neo4j_password
        return Neo4jStore(
            url=settings.graph_url,
            user=settings.neo4j_user,
            password=password.get_secret_value() if password else None,
            database=settings.neo4j_database,
            location=settings.redacted_url(),
            pseudonymised_url=settings.pseudonymised_url,
            pseudonymised_database=settings.pseudonymised_database,
            **common,
        )
    from graph.engines.falkordb import FalkorDBStore

    if settings.engine == "falkordb":
        parsed = urlparse(settings.graph_url)
        return FalkorDBStore(
            graph_name=settings.graph_name,
            host=parsed.hostname,
            port=parsed.port,
            password=parsed.password,
            copy_duplicate=settings.copy_duplicate,
            **common,
        )
    return FalkorDBStore(
        graph_name=settings.graph_name,
        directory=settings.embedded_dir,
        fsync=settings.embedded_fsync,
        query_memory_mb=settings.query_memory_mb,
        max_reply_mb=settings.max_reply_mb,
        copy_duplicate=settings.copy_duplicate,
        **common,
    )
