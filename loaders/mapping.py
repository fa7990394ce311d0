"""Declarative source mappings: how one council system's extract becomes canonical rows.

One YAML file per source. A council adds a new spreadsheet by writing a mapping, not
code; a mapping that names an unknown field, or a column its file does not have,
fails before any row is read, with a message that names the file and the fix.

The same language reads the national returns (:mod:`loaders.packs`): an XML file is
read from a ``record`` path with fields by relative path (``../`` reaches the
record's ancestors, so nested records inherit their parents' fields); a workbook has
one mapping per sheet; and a file of a return that carries only the child's id names
that id as its ``person_key``, so its rows attach to the person another file of the
same return describes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from graph.yaml_model import read_yaml
from loaders.fields import FIELDS

Entity = Literal[
    "person", "case", "relationship", "note", "address_note", "school", "address", "area", "staff"
]

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


# The person fields a file of a return may name as its only link to a person.
PERSON_KEYS = ("person.la_child_id", "person.upn", "person.nhs_number", "person.uln")
PERSON_IDENTIFIERS = {"person.given_name", "person.full_name", *PERSON_KEYS}
_XML_STEP = re.compile(r"^(\.\.|\.|@?[A-Za-z_][\w.-]*)$")


class Match(BaseModel):
    """How a file of a return is recognised without a glob naming it (packs only)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None  # a regex searched, ignoring case, in the file's name
    sheet: str | None = None  # xlsx: a regex searched, ignoring case, in the sheet's name
    collection: str | None = None  # xml: a path every file of the return holds

    @field_validator("name", "sheet")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"regex {value!r}: {exc}") from None
        return value


class CodeLabels(dict[str, str]):
    """A code list that also reads a code from a cell's label, as templates with drop-down
    lists write them ("a) 1A: Individual", "N1 - Abuse or neglect", "C1: ICO"): the cell
    as it is first, then the code the pattern finds in it; both ignoring case."""

    def __init__(self, codes: dict[str, str], pattern: re.Pattern[str]) -> None:
        super().__init__(codes)
        self.pattern = pattern
        self.lowered = {k.lower(): v for k, v in codes.items()}

    def _find(self, text: object) -> str | None:
        if not isinstance(text, str):
            return None
        found = self.lowered.get(text.lower())
        if found is None and (m := self.pattern.match(text.strip())):
            found = self.lowered.get(m.group("code").strip().lower())
        return found

    def __contains__(self, text: object) -> bool:
        return self._find(text) is not None

    def __getitem__(self, text: str) -> str:
        found = self._find(text)
        if found is None:
            raise KeyError(text)
        return found


class SourceMapping(BaseModel):
    """One source system's extract, described as data."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    files: str  # a glob relative to the load directory
    format: Literal["csv", "xlsx", "xml"] = "csv"
    record: str | None = None  # xml: the path of the element each row is read from
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    sheet: str | None = None
    header_row: int = Field(default=1, ge=1)
    entity: Entity = "person"
    trust_ids: bool = True  # identifiers from this source may link records outright
    adults: bool = False  # every person in it is an adult (council tax liable parties)
    # column -> field; a column mapped to nothing (null) is one the file's format has
    # and the graph does not keep (it counts for recognising a return's file)
    columns: dict[str, str | None]
    dates: dict[str, list[str]] = Field(default_factory=dict)
    codes: dict[str, dict[str, str]] = Field(default_factory=dict)
    # a regex whose group "code" finds a code inside a cell's label ("a) 1A: Individual")
    code_pattern: str | None = None
    constants: dict[str, str] = Field(default_factory=dict)
    split: dict[str, Split] = Field(default_factory=dict)
    filename: str | None = None  # a regex whose named groups give field values
    required: list[str] = Field(default_factory=list)
    # a return's files (loaders.packs): the pack, the specification it follows, how
    # a file is recognised, which columns it has but the graph cannot hold, and why
    pack: str | None = None
    spec: str = ""
    match: Match | None = None
    optional: list[str] = Field(default_factory=list)  # columns a file may lack
    # other spellings of a column: a regex a header cell may match, whole and ignoring
    # case, when no cell is the column's own name ("Child Unique ID": "child.*id")
    headers: dict[str, str] = Field(default_factory=dict)
    not_kept: dict[str, str] = Field(default_factory=dict)
    # the rows are about the person another file of the pack describes by this field
    person_key: str | None = None
    children: bool = False  # every person in it is a child, dated or not
    path: str = ""  # where the mapping was read from, for messages

    @field_validator("codes", mode="before")
    @classmethod
    def _code_lists(cls, codes: object) -> object:
        """A list of codes is a code map to themselves: the codes a field may take."""
        if isinstance(codes, dict):
            return {
                name: {str(c): str(c) for c in value} if isinstance(value, list) else value
                for name, value in codes.items()
            }
        return codes

    @field_validator("headers")
    @classmethod
    def _header_patterns(cls, headers: dict[str, str]) -> dict[str, str]:
        for column, pattern in headers.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"headers: {column!r}: {pattern!r} is no regex ({exc})") from None
        return headers

    @field_validator("code_pattern")
    @classmethod
    def _a_code_group(cls, pattern: str | None) -> str | None:
        if pattern is not None and "code" not in re.compile(pattern).groupindex:
            raise ValueError(f"code_pattern {pattern!r} needs a group named code: (?P<code>...)")
        return pattern

    def codes_of(self, name: str) -> dict[str, str] | None:
        """The code list a field is read with (one that also finds a code inside a cell's
        label, with a ``code_pattern``)."""
        codes = self.codes.get(name)
        if codes is None or self.code_pattern is None:
            return codes
        return CodeLabels(codes, re.compile(self.code_pattern))

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, columns: dict[str, str | None]) -> dict[str, str | None]:
        unknown = sorted({f for f in columns.values() if f is not None and f not in FIELDS})
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; see loaders/fields.py")
        return columns

    @model_validator(mode="after")
    def _consistent(self) -> SourceMapping:
        named = set(self.mapped.values()) | set(self.constants) | self._filename_fields()
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
        if self.entity == "person" and not named & PERSON_IDENTIFIERS and not self.person_key:
            raise ValueError("a person source must map a name or an identifier")
        if self.person_key is not None:
            if self.person_key not in PERSON_KEYS and not self.person_key.endswith(".ref"):
                raise ValueError(
                    f"person_key must be one of {', '.join(PERSON_KEYS)}, or a reference "
                    "(such as episode.ref) another file of the pack maps with the person's id"
                )
            if self.person_key not in named or self.entity != "person":
                raise ValueError(f"person_key {self.person_key} must be mapped, in a person source")
            if self.person_key not in PERSON_KEYS and named & PERSON_IDENTIFIERS:
                raise ValueError("a file keyed by a reference names no person itself")
            if self.pack is None:
                raise ValueError("person_key attaches rows within a pack: it needs a pack")
        if self.format == "xml":
            self._check_xml()
        elif self.record is not None:
            raise ValueError("record is for xml files")
        return self

    def _check_xml(self) -> None:
        """A record path from the root, and fields by paths that stay inside the file."""
        if not self.record:
            raise ValueError("an xml source needs record: the path of each row's element")
        depth = len(self.record.split("/"))
        for path in [self.record, *self.columns]:
            steps = path.split("/")
            bad = not all(_XML_STEP.match(step) for step in steps)
            if bad or any(step.startswith("@") for step in steps[:-1]):
                raise ValueError(f"{path!r} is not a path of element names (an @attribute last)")
            if path is not self.record and steps.count("..") >= depth:
                raise ValueError(f"{path!r} climbs above the root of {self.record!r}")

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

    @property
    def mapped(self) -> dict[str, str]:
        """The columns read into a field."""
        return {c: f for c, f in self.columns.items() if f is not None}

    @property
    def fields(self) -> set[str]:
        """Every field a row of this source may hold: mapped, constant or from the name."""
        return set(self.mapped.values()) | set(self.constants) | self._filename_fields()

    @property
    def ups(self) -> int:
        """xml: how many levels above the record its fields reach."""
        return max((c.split("/").count("..") for c in self.mapped), default=0)

    def check_header(self, header: list[str], path: Path) -> None:
        """Every mapped column must be in the file: say which are not, and what is."""
        present = {h.strip() for h in header}
        missing = [c for c in self.columns if c not in present and c not in self.optional]
        if missing:
            raise MappingError(
                f"{self.path}: column(s) {', '.join(repr(c) for c in missing)} not found in "
                f"{path.name} (it has: {', '.join(h for h in header if h)})"
            )


def load_mapping(path: Path) -> SourceMapping:
    data = read_yaml(path, "mapping", MappingError)
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping must be a YAML mapping of keys to values")
    return load_mapping_data(data, path)


def load_mapping_data(data: dict, path: Path) -> SourceMapping:
    """A mapping from its YAML's data; errors name ``path``."""
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
