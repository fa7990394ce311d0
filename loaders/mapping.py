"""Declarative source mappings: how one council system's extract becomes canonical rows.

One YAML file per source. A council adds a new spreadsheet by writing a mapping, not
code; a mapping that names an unknown field, or a column its file does not have,
fails before any row is read, with a message that names the file and the fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from graph.yaml_model import read_yaml
from loaders.fields import FIELDS

Entity = Literal["person", "case", "relationship", "note", "address_note", "school",
                 "address", "area", "staff"]  # fmt: skip

# What each entity needs before a row of it means anything.
ENTITY_NEEDS: dict[str, tuple[str, ...]] = {
    "person": (),
    "case": ("person.la_child_id", "case.kind"),
    "relationship": ("person.la_child_id", "related.la_child_id", "related.kind"),
    "note": ("person.la_child_id", "note.text"),
    "address_note": ("note.text",),
    "school": ("school.urn", "school.name"),
    "address": ("address.uprn", "address.postcode"),
    "area": ("area.lsoa", "area.imd_decile"),
    "staff": ("staff.id", "staff.name"),
}

DEFAULT_DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"]
SHIPPED = Path(__file__).parent / "mappings"


class MappingError(ValueError):
    """A mapping cannot be used; the message says which file and what to change."""


class Split(BaseModel):
    """A cell holding several values: the first keeps the field, the rest go to ``rest``."""

    model_config = ConfigDict(extra="forbid")
    separator: str
    rest: str


class SourceMapping(BaseModel):
    """One source system's extract, described as data."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    files: str  # a glob relative to the load directory
    format: Literal["csv", "xlsx"] = "csv"
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    sheet: str | None = None
    header_row: int = Field(default=1, ge=1)
    entity: Entity = "person"
    trust_ids: bool = True  # identifiers from this source may link records outright
    adults: bool = False  # every person in it is an adult (council tax liable parties)
    columns: dict[str, str]
    dates: dict[str, list[str]] = Field(default_factory=dict)
    codes: dict[str, dict[str, str]] = Field(default_factory=dict)
    constants: dict[str, str] = Field(default_factory=dict)
    split: dict[str, Split] = Field(default_factory=dict)
    filename: str | None = None  # a regex whose named groups give field values
    required: list[str] = Field(default_factory=list)
    path: str = ""  # where the mapping was read from, for messages

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, columns: dict[str, str]) -> dict[str, str]:
        unknown = sorted({f for f in columns.values() if f not in FIELDS})
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; see loaders/fields.py")
        return columns

    @model_validator(mode="after")
    def _consistent(self) -> SourceMapping:
        named = set(self.columns.values()) | set(self.constants) | self._filename_fields()
        rests = {s.rest: s for s in self.split.values()}
        for where, keys in (
            ("dates", self.dates),
            ("codes", self.codes),
            ("constants", self.constants),
            ("split", self.split),
            ("split rest", rests),
        ):
            bad = sorted(k for k in keys if k not in FIELDS and k != "default")
            if bad:
                raise ValueError(f"{where}: unknown field(s) {', '.join(bad)}")
        missing = [f for f in self.required if f not in named]
        if missing:
            raise ValueError(f"required field(s) {', '.join(missing)} are not mapped")
        needs = [f for f in ENTITY_NEEDS[self.entity] if f not in named]
        if needs:
            raise ValueError(f"a {self.entity} source must map {', '.join(needs)}")
        if self.entity == "person" and not named & {
            "person.given_name",
            "person.full_name",
            "person.upn",
            "person.nhs_number",
        }:
            raise ValueError("a person source must map a name or an identifier")
        return self

    def _filename_fields(self) -> set[str]:
        if not self.filename:
            return set()
        try:
            groups = re.compile(self.filename).groupindex
        except re.error as exc:
            raise ValueError(f"filename regex: {exc}") from None
        fields = {g.replace("__", ".") for g in groups}
        unknown = sorted(f for f in fields if f not in FIELDS)
        if unknown:
            raise ValueError(f"filename regex names unknown field(s) {', '.join(unknown)}")
        return fields

    def date_formats(self, field: str) -> list[str]:
        return self.dates.get(field) or self.dates.get("default") or DEFAULT_DATE_FORMATS

    def fields_from_filename(self, path: Path) -> dict[str, str]:
        """Values that live in the file's name (a school's URN, an academic year)."""
        if not self.filename:
            return {}
        match = re.search(self.filename, path.name)
        if not match:
            raise MappingError(
                f"{self.path}: file name {path.name!r} does not match filename regex "
                f"{self.filename!r}"
            )
        return {k.replace("__", "."): v for k, v in match.groupdict().items() if v is not None}

    def check_header(self, header: list[str], path: Path) -> None:
        """Every mapped column must be in the file: say which are not, and what is."""
        present = {h.strip() for h in header}
        missing = [c for c in self.columns if c not in present]
        if missing:
            raise MappingError(
                f"{self.path}: column(s) {', '.join(repr(c) for c in missing)} not found in "
                f"{path.name} (it has: {', '.join(h for h in header if h)})"
            )


def load_mapping(path: Path) -> SourceMapping:
    data = read_yaml(path, "mapping", MappingError)
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping must be a YAML mapping of keys to values")
    data = {**data, "path": str(path)}
    try:
        return SourceMapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'mapping'}: {e['msg']}" for e in exc.errors()
        )
        raise MappingError(f"{path}: {problems}") from None


def load_mappings(directory: Path | None = None) -> list[SourceMapping]:
    """All mappings in a directory (the shipped ones by default), by file name."""
    directory = directory or SHIPPED
    paths = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not paths:
        raise MappingError(f"no mappings (*.yaml) in {directory}")
    mappings = [load_mapping(p) for p in paths]
    seen: dict[str, str] = {}
    for m in mappings:
        if m.source in seen:
            raise MappingError(f"{m.path}: source {m.source!r} is also defined in {seen[m.source]}")
        seen[m.source] = m.path
    return mappings
