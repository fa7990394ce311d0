"""The saved-query library: ``queries/saved/<id>.cypher`` plus ``<id>.yaml`` metadata.

Like Datasette's canned queries: the query is data, its parameters are typed and
declared, and it is read-only by construction (it only ever runs through the store's
read path). Bad metadata fails when the library loads, naming the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from graph.access.results import check_columns
from graph.yaml_model import read_yaml
from planning.risk import load_risk_config

SAVED = Path(__file__).with_name("saved")
ParamKind = Literal[
    "child", "family", "school", "team", "professional", "date", "number", "text", "choice"
]
ENTITY_KINDS = {
    "child": "Person",
    "family": "Family",
    "school": "School",
    "team": "Team",
    "professional": "Professional",
}


# A date parameter's default: the day the latest load kept this query's answers as at
# (the risk of NEET factors), so the form opens on the list that reads in under a second
# rather than on today, which is worked out from the records when no load ran today.
# Today where nothing was kept. Only for a query with a config that keeps answers.
KEPT = "kept"


class LibraryError(ValueError):
    """A saved query's files are unusable; the message names the file."""


class ParamSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: ParamKind
    label: str = ""
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = None
    required: bool = True
    example: Any = None

    @model_validator(mode="after")
    def _coherent(self) -> ParamSpec:
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"parameter {self.name}: a choice needs choices")
        if (
            self.kind == "choice"
            and self.default is not None
            and self.default not in (self.choices or [])
        ):
            raise ValueError(f"parameter {self.name}: default is not one of the choices")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"parameter {self.name}: min is above max")
        if self.default == KEPT and self.kind != "date":
            raise ValueError(f"parameter {self.name}: only a date may default to {KEPT!r}")
        if self.kind == "date" and self.default not in (None, "today", KEPT):
            try:
                dt.date.fromisoformat(str(self.default))
            except ValueError:
                raise ValueError(
                    f"parameter {self.name}: a date's default is a day like 2026-09-01, "
                    f"'today' or {KEPT!r}, not {self.default!r}"
                ) from None
        return self

    @property
    def fixed_date(self) -> str | None:
        """A date parameter's default when it names a day (ISO), not today or the kept
        day, which are only known when the query runs."""
        if self.kind != "date" or self.default in (None, "today", KEPT):
            return None
        return str(self.default)

    def example_value(self) -> Any:
        if self.example is not None:
            return self.example
        if self.kind == "date":
            return self.fixed_date or dt.date.today().isoformat()
        if self.default is not None:
            return self.default
        return {"number": 1, "choice": (self.choices or [""])[0]}.get(self.kind, "none")


class SavedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    description: str
    roles: list[str]
    display: Literal["table", "graph", "map", "chart"] = "table"
    chart: dict[str, str] | None = None
    map: dict[str, str] | None = None
    params: list[ParamSpec] = Field(default_factory=list)
    # a configuration the runner passes as $config (e.g. the risk of NEET weights), so
    # the weights live in one file and never in the query or the user's parameters
    config: Literal["risk_of_neet"] | None = None
    # A query known to work through a whole county may declare a longer time limit
    # than the interactive one (JIGSAW_QUERY_TIMEOUT_MS, 10 s): the risk of NEET list
    # as at a day before the years a load kept takes 8-9 s at county on two cores, and a slower
    # machine would stop it. Saved queries are reviewed files; ad-hoc Cypher keeps the
    # interactive limit.
    timeout_ms: int | None = Field(default=None, ge=1_000, le=600_000)
    # What each returned column holds (graph.access.results.COLUMN_KINDS): how the
    # runner scopes and redacts every row for the caller. Required of every shipped
    # query (a test checks); a query without it is refused for every role but the
    # pseudonymised ones, who read the pseudonymised copy.
    columns: dict[str, str] | None = None
    cypher: str

    @property
    def about_child(self) -> str | None:
        """The parameter naming the child the query is about, if it has one."""
        return next((p.name for p in self.params if p.kind == "child"), None)

    @model_validator(mode="after")
    def _columns_scopable(self) -> SavedQuery:
        if self.columns is not None:
            problems = check_columns(self.columns, about_child=self.about_child is not None)
            if problems:
                raise ValueError("columns: " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _kept_needs_config(self) -> SavedQuery:
        for p in self.params:
            if p.default == KEPT and self.config is None:
                raise ValueError(
                    f"parameter {p.name}: {KEPT!r} is the day a load kept this query's "
                    "answers, and only a query with a config has any kept"
                )
        return self

    def example_params(self) -> dict[str, Any]:
        return self.with_config({p.name: p.example_value() for p in self.params})

    def with_config(self, values: dict[str, Any]) -> dict[str, Any]:
        """The parameters as the engine gets them: the user's plus ``$config``."""
        if self.config is None:
            return values
        config = load_risk_config()
        return {**values, "config": config.as_parameter(config.detection_rules(self.cypher))}

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class Library:
    queries: tuple[SavedQuery, ...]

    def __iter__(self) -> Iterator[SavedQuery]:
        return iter(self.queries)

    def __len__(self) -> int:
        return len(self.queries)

    def get(self, query_id: str) -> SavedQuery:
        for q in self.queries:
            if q.id == query_id:
                return q
        raise LibraryError(
            f"no saved query {query_id!r}; known: {', '.join(q.id for q in self.queries)}"
        )

    def for_role(self, role: str) -> list[SavedQuery]:
        return [q for q in self.queries if role in q.roles]


def _load_one(meta_path: Path) -> SavedQuery:
    cypher_path = meta_path.with_suffix(".cypher")
    if not cypher_path.exists():
        raise LibraryError(f"{meta_path}: no {cypher_path.name} beside it")
    meta = read_yaml(meta_path, "query's metadata", LibraryError) or {}
    if not isinstance(meta, dict):
        raise LibraryError(f"{meta_path}: metadata must be a YAML mapping")
    text = cypher_path.read_text(encoding="utf-8").strip()
    try:
        query = SavedQuery.model_validate({**meta, "id": meta_path.stem, "cypher": text})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise LibraryError(f"{meta_path}: {problems}") from None
    declared = {p.name for p in query.params} | ({"config"} if query.config else set())
    import re

    used = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", text))
    if used - declared:
        raise LibraryError(
            f"{cypher_path}: uses undeclared parameter(s) {', '.join(sorted(used - declared))}"
        )
    if declared - used:
        raise LibraryError(
            f"{meta_path}: declares unused parameter(s) {', '.join(sorted(declared - used))}"
        )
    return query


@cache
def load_library(directory: Path | None = None) -> Library:
    directory = directory or SAVED
    metas = sorted(directory.glob("*.yaml"))
    orphans = sorted(
        p.name for p in directory.glob("*.cypher") if not p.with_suffix(".yaml").exists()
    )
    if orphans:
        raise LibraryError(f"{directory}: query file(s) without metadata: {', '.join(orphans)}")
    return Library(tuple(_load_one(p) for p in metas))


def get_query(query_id: str) -> SavedQuery:
    return load_library().get(query_id)
