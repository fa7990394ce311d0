"""Settings: one place that decides which engine Jigsaw talks to and how.

Read from the environment (``JIGSAW_*``), then an optional ``jigsaw.toml`` in the
working directory (or the file named by ``JIGSAW_CONFIG``), then defaults. Secrets
are only ever read from there, never written in code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
FALKORDB_SERVER_SCHEMES = ("falkordb", "redis", "rediss")
EMBEDDED_SCHEMES = ("embedded", "file")

EngineKind = Literal["embedded", "falkordb", "neo4j"]


class SettingsError(ValueError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def config_file() -> Path:
    """The settings file: ``JIGSAW_CONFIG``, else ``jigsaw.toml`` in the working directory."""
    return Path(os.environ.get("JIGSAW_CONFIG", "jigsaw.toml"))


class Settings(BaseSettings):
    """Jigsaw's settings. Every field can be set as ``JIGSAW_<FIELD>``. Frozen: the app
    shares one instance between its sessions (``ui.app.context.settings``)."""

    model_config = SettingsConfigDict(
        env_prefix="JIGSAW_", extra="ignore", validate_default=True, frozen=True
    )

    graph_url: str = Field(
        default="",
        description=(
            "Which graph engine to use. Empty: the embedded engine in data_dir. "
            "A path or embedded:///path: the embedded engine there. "
            "neo4j://host:7687 or bolt://host:7687: a Neo4j server. "
            "falkordb://host:6379: a FalkorDB server."
        ),
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="Where the embedded graph, load reports and quarantine live.",
    )
    graph_name: str = Field(default="jigsaw", description="FalkorDB graph key.")
    pseudonym_dir: Path | None = Field(
        default=None,
        description=(
            "Where the secret key of the analysts' pseudonyms (made on first use) and the "
            "pseudonym-to-id map are kept, readable by their owner only: outside the graph. "
            "Empty: data_dir/pseudonym."
        ),
    )
    pseudonymised_url: str = Field(
        default="",
        description=(
            "Neo4j only: a second Neo4j server for the pseudonymised copy analysts query "
            "(Community edition holds one database). Empty: the database named by "
            "pseudonymised_database on the main server (Enterprise edition)."
        ),
    )
    pseudonymised_database: str = Field(
        default="pseudonymised",
        description="Neo4j only: the database holding the pseudonymised copy.",
    )
    neo4j_user: str = Field(default="neo4j")
    neo4j_password: SecretStr | None = Field(default=None)
    neo4j_database: str = Field(default="neo4j")
    embedded_fsync: Literal["always", "everysec"] = Field(
        default="always",
        description=(
            "Append-only-file fsync policy of the embedded engine: 'always' loses no "
            "acknowledged write; 'everysec' may lose up to a second on power loss."
        ),
    )
    load_fsync: Literal["always", "everysec"] = Field(
        default="everysec",
        description=(
            "The embedded engine's fsync policy while `jigsaw load` runs: 'everysec' (the "
            "default) flushes once a second, for every client of the engine meanwhile, "
            "and is restored when the load ends, however it ends; 'always' keeps "
            "embedded_fsync throughout."
        ),
    )
    map_tiles: str = Field(
        default="",
        description=(
            "A raster tile server URL template for the caseload map's base map, such as "
            "https://tiles.example.gov.uk/{z}/{x}/{y}.png. Empty (the default): no base map, "
            "the area boundaries alone, nothing fetched from the internet."
        ),
    )
    map_boundaries: str = Field(
        default="",
        description=(
            "A GeoJSON file of the areas the caseload map shades (ONS LSOA or ward "
            "boundaries, in longitude and latitude). Empty: boundaries.geojson in the data "
            "directory if there is one (the synthetic county writes its own)."
        ),
    )
    map_area_name: str = Field(
        default="",
        description=(
            "The property of each boundary that holds its name (e.g. WD24NM for wards). "
            "Empty: the first of LSOA21NM, LSOA11NM, WD24NM, WD23NM, WD22NM, name."
        ),
    )
    caseload_capacity: float = Field(
        default=20.0,
        gt=0,
        le=200,
        description=(
            "The weighted caseload a full-time worker can hold: the caseload map compares "
            "each worker's weighted cases with it."
        ),
    )
    query_timeout_ms: int = Field(default=10_000, ge=100, le=600_000)
    max_rows: int = Field(default=5_000, ge=1, le=1_000_000)
    query_memory_mb: int = Field(
        default=2048,
        ge=64,
        le=1_000_000,
        description=(
            "The memory one query may take on the embedded engine (FalkorDB's "
            "QUERY_MEM_CAPACITY), in MB: a query needing more is stopped with a clear "
            "error, never the engine."
        ),
    )
    max_reply_mb: int = Field(
        default=1024,
        ge=16,
        le=1_000_000,
        description=(
            "The largest reply the embedded engine sends one query, in MB: a result "
            "larger than this (rows of whole paths, say) is stopped with a clear error."
        ),
    )
    copy_duplicate: bool = Field(
        default=False,
        description=(
            "After a copy read from the whole graph (a full load's), have a FalkorDB "
            "engine duplicate the analysts' copy into the spare, so the next night's copy "
            "reads only what it touched (at county about 90 s of CPU saved that night) "
            "at the cost of the engine's memory while it copies (at county its peak "
            "5.9 -> 10.1 GB), and the embedded engine has been seen to crash in "
            "GRAPH.COPY (docs/access.md): off unless the server has the memory."
        ),
    )
    linkage_memory: str | None = Field(
        default=None,
        pattern=r"^\d+(\.\d+)?\s*[KMGT]i?B$",
        description=(
            "Memory DuckDB may use for record linkage during a load (e.g. '4GB'); the "
            "rest spills to a temporary directory. Empty: the loader's default, 2GB. With "
            "the Spark backend in local mode: the memory of Spark's driver."
        ),
    )
    linkage_backend: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description=(
            "Where record linkage runs: duckdb (in the loading process) or spark (for "
            "more records than one machine links: a region's or a nation's; needs the "
            "spark extra and Java 17 or later). The same models either way."
        ),
    )
    spark_master: str = Field(
        default="local[2]",
        description=(
            "With the Spark backend: where Spark runs. local[N] (N cores of this "
            "machine, in its own JVM), or a cluster's master URL (spark://host:7077, "
            "yarn, k8s://...), the load being Spark's driver."
        ),
    )
    bulk_write: bool = Field(
        default=True,
        description=(
            "Let a load write what can only be new (all of a first load) through the "
            "engine's bulk insertion, where it has one (embedded FalkorDB and FalkorDB "
            "servers); false: every row through the usual batched statements. The graph "
            "is the same either way."
        ),
    )
    max_cell_chars: int = Field(
        default=1_000_000,
        ge=1_000,
        le=100_000_000,
        description=(
            "The longest cell a load reads, in characters (about bytes): a row holding a "
            "longer one is quarantined with the reason instead of loaded."
        ),
    )
    load_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description=(
            "How far `jigsaw load` lowers its own CPU priority (Unix nice) once the "
            "engine is open, so people using the app while a load runs are served "
            "first; its reading processes inherit it, the engine does not. 0: none."
        ),
    )
    load_workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description=(
            "Processes that read and validate extracts in parallel during a load. "
            "Empty: one per core; 1: read in the loading process. Loads under 16 MB "
            "of extracts always read in the loading process."
        ),
    )

    session_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description=(
            "Minutes without a request after which an app session ends: the user signs in again."
        ),
    )
    sign_in_free_failures: int = Field(
        default=3,
        ge=1,
        le=100,
        description=(
            "Failed sign-ins allowed per account and per client address before each "
            "further attempt must wait: 1 s after the next failure, doubling each time."
        ),
    )
    sign_in_max_wait_s: int = Field(
        default=900,
        ge=1,
        le=86_400,
        description="The longest wait between sign-in attempts after repeated failures.",
    )
    audit_syslog: str = Field(
        default="",
        description=(
            "An external witness for the audit trail: every committed head (entry count "
            "and last hash) is sent as a syslog line (facility auth) to this address: a "
            "unix socket such as /dev/log, or udp://host:514 or tcp://host:514. Empty: "
            "no witness; the head is still kept beside the log."
        ),
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)

    @field_validator("graph_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        value = value.strip()
        if not value or "://" not in value:
            return value
        scheme = urlparse(value).scheme.lower()
        known = NEO4J_SCHEMES + FALKORDB_SERVER_SCHEMES + EMBEDDED_SCHEMES
        if scheme not in known:
            raise ValueError(
                f"unknown engine scheme {scheme!r} in JIGSAW_GRAPH_URL={value!r}; "
                f"use one of {', '.join(s + '://' for s in known)} or a directory path"
            )
        return value

    @property
    def engine(self) -> EngineKind:
        """Which adapter the URL selects."""
        if not self.graph_url or "://" not in self.graph_url:
            return "embedded"
        scheme = urlparse(self.graph_url).scheme.lower()
        if scheme in NEO4J_SCHEMES:
            return "neo4j"
        if scheme in FALKORDB_SERVER_SCHEMES:
            return "falkordb"
        return "embedded"

    @property
    def embedded_dir(self) -> Path:
        """Directory of the embedded store (the URL's path, else ``data_dir/graph``)."""
        if not self.graph_url:
            return (self.data_dir / "graph").resolve()
        if "://" in self.graph_url:
            return Path(urlparse(self.graph_url).path).resolve()
        return Path(self.graph_url).expanduser().resolve()

    @property
    def pseudonym_home(self) -> Path:
        """Where the pseudonym key and map are kept: outside the graph, beside the data."""
        return (self.pseudonym_dir or self.data_dir / "pseudonym").expanduser().resolve()

    def redacted_url(self) -> str:
        """The engine location, safe to print (no password)."""
        if self.engine == "embedded":
            return str(self.embedded_dir)
        parsed = urlparse(self.graph_url)
        netloc = parsed.hostname or ""
        if parsed.port:
            netloc += f":{parsed.port}"
        return f"{parsed.scheme}://{netloc}{parsed.path}"


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's validation error into one clear message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"JIGSAW_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"bad Jigsaw settings: {problems}") from None
