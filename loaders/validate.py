"""Turn a raw row into a canonical record, or a quarantine entry with its reason.

Two kinds of failure, treated differently on purpose:

* a field the row cannot mean anything without (the mapping's ``required`` fields
  and what its entity needs) sends the whole row to quarantine, with the reason;
* an identifier that fails its check (UPN check letter, NHS modulus 11, ULN) is
  dropped from matching - a wrong identifier would link two children - but the row
  is kept when the rest is usable, and the dropped value is noted on the record.
  Other unparseable optional cells are dropped the same way, with a note.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from loaders.fields import FIELDS, IDENTIFIER_TYPES, CellError, parse_value
from loaders.mapping import ENTITY_NEEDS, SourceMapping
from loaders.readers import RawRow

TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "master", "rev"}


@dataclass(slots=True)
class Record:
    """One usable source row in canonical fields."""

    uid: str  # stable: the same row content in the same source is the same record
    source: str
    file: str
    row: int
    entity: str
    values: dict[str, object]
    notes: list[str] = field(default_factory=list)  # dropped cells and why
    trust_ids: bool = True
    adults: bool = False

    def get(self, name: str, default: object = None) -> object:
        return self.values.get(name, default)


@dataclass(frozen=True, slots=True)
class Quarantined:
    source: str
    file: str
    row: int
    reason: str
    raw: dict[str, str]


def record_uid(source: str, raw: dict[str, object]) -> str:
    """Same row content in the same source, same uid: duplicates and reloads converge."""
    body = "\x1f".join(f"{k}\x1e{_plain(v)}" for k, v in sorted(raw.items()))
    return f"{source}:{hashlib.sha1(body.encode()).hexdigest()[:16]}"


def _plain(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # False for inf and nan
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def raw_text(raw: dict[str, object]) -> dict[str, str]:
    return {k: _plain(v)[:500] for k, v in raw.items()}


def validate(
    mapping: SourceMapping, row: RawRow, from_filename: dict[str, str], today: dt.date
) -> Record | Quarantined:
    values: dict[str, object] = {}
    notes: list[str] = []
    errors: list[str] = []
    needed = set(mapping.required) | set(ENTITY_NEEDS[mapping.entity])
    extra = row.values.get("__extra__")
    if extra:
        return _quarantine(mapping, row, f"row has {len(extra)} more cells than the header")
    cells: list[tuple[str, str, object]] = [
        (column, name, row.values.get(column)) for column, name in mapping.columns.items()
    ]
    cells += [(f"(file name) {k}", k, v) for k, v in from_filename.items()]
    cells += [(f"(constant) {k}", k, v) for k, v in mapping.constants.items()]
    for column, name, raw in list(cells):
        split = mapping.split.get(name)
        if split and isinstance(raw, str) and split.separator in raw:
            first, *rest = [part.strip() for part in raw.split(split.separator)]
            cells.append((column, name, first))
            cells += [(column, split.rest, part) for part in rest[:1]]
    cells = [
        c
        for c in cells
        if not (
            mapping.split.get(c[1])
            and isinstance(c[2], str)
            and mapping.split[c[1]].separator in c[2]
        )
    ]
    for column, name, raw in cells:
        spec = FIELDS[name]
        try:
            value = parse_value(
                spec,
                raw,
                formats=mapping.date_formats(name),
                codes=mapping.codes.get(name),
                today=today,
            )
        except CellError as exc:
            if name in needed and spec.type not in IDENTIFIER_TYPES:
                errors.append(f"{column}: {exc}")
            else:
                notes.append(f"{column} dropped: {exc}")
            continue
        if value is not None:
            values[name] = value
    for name in sorted(needed):
        column = _column_for(mapping, name)
        if name not in values and not any(e.startswith(column + ":") for e in errors):
            errors.append(f"{column}: required value is blank")
    _split_names(values, "person")
    _split_names(values, "parent")
    if mapping.entity == "person" and not errors:
        has_name = values.get("person.given_name") and values.get("person.family_name")
        has_id = any(values.get(f"person.{k}") for k in ("upn", "nhs_number", "uln", "la_child_id"))
        if not has_name and not has_id:
            name_columns = [
                c
                for c, f in mapping.columns.items()
                if f in ("person.given_name", "person.family_name", "person.full_name")
            ]
            errors.append(
                f"{', '.join(name_columns) or 'name'}: no usable given and family "
                "name and no valid identifier, so no way to tell who this is"
            )
    if errors:
        return _quarantine(mapping, row, "; ".join(errors))
    return Record(
        uid=record_uid(mapping.source, row.values),
        source=mapping.source,
        file=row.file,
        row=row.row,
        entity=mapping.entity,
        values=values,
        notes=notes,
        trust_ids=mapping.trust_ids,
        adults=mapping.adults,
    )


def _column_for(mapping: SourceMapping, name: str) -> str:
    for column, target in mapping.columns.items():
        if target == name:
            return column
    return f"({name})"


def _quarantine(mapping: SourceMapping, row: RawRow, reason: str) -> Quarantined:
    return Quarantined(mapping.source, row.file, row.row, reason, raw_text(row.values))


def _split_names(values: dict[str, object], who: str) -> None:
    """ "Mrs Margit Kovacs" -> given Margit, family Kovacs; keep explicit columns."""
    full = values.pop(f"{who}.full_name", None)
    if not isinstance(full, str):
        return
    if "," in full:  # "SMITH, John Paul": the register convention, family name first
        family, _, rest = full.partition(",")
        full = f"{rest.strip()} {family.strip()}".strip()
        if " " not in family.strip():
            values.setdefault(f"{who}.family_name", family.strip())
    parts = [p for p in full.split() if p]
    while parts and parts[0].lower().rstrip(".") in TITLES:
        parts = parts[1:]
    if not parts:
        return
    if len(parts) == 1:
        values.setdefault(f"{who}.family_name", parts[0])
        return
    values.setdefault(f"{who}.given_name", parts[0])
    values.setdefault(f"{who}.family_name", parts[-1])
    if len(parts) > 2 and who == "person":
        values.setdefault("person.middle_names", " ".join(parts[1:-1]))
