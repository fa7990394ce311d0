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
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TypeGuard

from loaders.fields import FIELDS, IDENTIFIER_TYPES, CellError, Field, parse_value
from loaders.mapping import ENTITY_NEEDS, SourceMapping, Split
from loaders.readers import RawRow

_PERSON_IDS = ("person.upn", "person.nhs_number", "person.uln", "person.la_child_id")
DROPPED = " dropped: "  # a kept row's note: "<column> dropped: <why>"
TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "master", "rev"}
TITLE_SEX = {"mr": "M", "master": "M", "mrs": "F", "ms": "F", "miss": "F"}


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
    """A row refused, with why; ``raw``: its cells as shown to people (each cut to 500
    characters); ``uid``: its whole cells' content (:func:`record_uid`), so that a change
    past a cell's 500th character is a change to the next load."""

    source: str
    file: str
    row: int
    reason: str
    raw: dict[str, str]
    uid: str = ""  # none for a file, or rows, refused whole (never recorded row by row)


ESCAPE, BETWEEN, AFTER_KEY = "\x1d", "\x1f", "\x1e"  # in a row's hashed text


def _separating(text: str) -> bool:
    """Whether a text holds one of a row's hashed text's separators (or the escape)."""
    return ESCAPE in text or BETWEEN in text or AFTER_KEY in text


def _escaped(text: str) -> str:
    """A column name or cell as a row's hashed text holds it: as it is, unless it holds
    one of the text's separators (or the escape), each then put after the escape, so
    that two rows' texts are the same only when their cells are."""
    if _separating(text):
        for c in (ESCAPE, BETWEEN, AFTER_KEY):
            text = text.replace(c, ESCAPE + c)
    return text


def record_uid(source: str, raw: dict[str, object]) -> str:
    """Same row content in the same source, same uid: duplicates and reloads converge."""
    body = BETWEEN.join(
        f"{_escaped(k)}{AFTER_KEY}{_escaped(v if type(v) is str else _plain(v))}"
        for k, v in sorted(raw.items())
    )
    return f"{source}:{hashlib.sha1(body.encode()).hexdigest()[:16]}"


class RowUids:
    """:func:`record_uid` for the rows of one file, the same uids made faster: a file's
    rows share their columns, so the columns' order and the text between the values are
    worked out once for each number of columns (a short row's, an XML record's with an
    element left out); a row with other columns or a cell that is not text (a
    spreadsheet's number or date) or a separator of the hashed text (escaped there) is
    hashed by :func:`record_uid` itself."""

    def __init__(self, source: str) -> None:
        self.source = source
        # by number of columns: "k\x1e", value, "\x1fk\x1e", value, ... and the cells' getter
        self.layouts: dict[int, tuple[list[str | None], Callable[..., tuple[object, ...]]]] = {}

    def __call__(self, raw: dict[str, object]) -> str:
        size = len(raw)
        layout = self.layouts.get(size)
        if layout is None:
            keys = sorted(raw)
            if size < 2 or any(map(_separating, keys)):
                return record_uid(self.source, raw)
            template: list[str | None] = []
            for i, key in enumerate(keys):
                template += [(BETWEEN if i else "") + key + AFTER_KEY, None]
            layout = self.layouts[size] = (template, itemgetter(*keys))
        parts = layout[0][:]
        try:
            cells = layout[1](raw)
            text = "".join(cells)  # TypeError: not text
        except (KeyError, TypeError):  # other columns of this many, or not text
            return record_uid(self.source, raw)
        if _separating(text):
            return record_uid(self.source, raw)
        parts[1::2] = cells
        body = "".join(parts)  # type: ignore[arg-type]
        return f"{self.source}:{hashlib.sha1(body.encode()).hexdigest()[:16]}"


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


@dataclass(frozen=True, slots=True)
class _Cell:
    """Where a field comes from and how to read it: the same for every row of a file."""

    column: str  # as reasons name it
    name: str
    spec: Field
    formats: list[str]
    codes: dict[str, str] | None
    needed: bool
    split: Split | None


# A cell read: (field, value, note, error), the last two saying why it was dropped or
# refused. A tuple, not a class: there are about ten a row.
_Outcome = tuple[str, object, str | None, str | None]
# Distinct texts remembered per column of a file, with what they read as: a file repeats
# most of its cells (a pupil's name, birth date and UPN on every term's row, a handful
# of codes), and looking one up costs a tenth of reading it. A column of unique values
# (a row id) stops being remembered at this many.
MEMO_SIZE = 20_000


class Validator:
    """Validates the rows of one file.

    What depends only on the mapping and the file (each cell's field, formats and code
    list, the required fields, the values that come from the file name or the
    mapping's constants) is worked out once here, not once per row: a county load
    validates 2.76 million rows of about nine cells each (8.6 at 100,000 children)."""

    def __init__(
        self, mapping: SourceMapping, from_filename: dict[str, str], today: dt.date
    ) -> None:
        self.mapping = mapping
        self.today = today
        self.needed = set(mapping.required) | set(ENTITY_NEEDS[mapping.entity])
        self.columns = [self._cell(c, name) for c, name in mapping.mapped.items()]
        self.memos: list[dict[object, _Outcome]] = [{} for _ in self.columns]
        fixed = [(f"(file name) {k}", k, v) for k, v in from_filename.items()]
        fixed += [(f"(constant) {k}", k, v) for k, v in mapping.constants.items()]
        self.fixed: list[_Outcome] = []  # the same for every row, so read once
        self.fixed_parts: list[tuple[_Cell, str]] = []
        for column, name, raw in fixed:
            cell = self._cell(column, name)
            if self._splits(raw, cell):
                self.fixed_parts.append((cell, raw))
            else:
                self.fixed.append(self._read(cell, raw))
        self.required = [(name, _column_for(mapping, name)) for name in sorted(self.needed)]
        # where each split cell's second value goes
        self.rests = {
            (c.column, c.split.rest): self._cell(c.column, c.split.rest)
            for c in [*self.columns, *(cell for cell, _ in self.fixed_parts)]
            if c.split is not None
        }
        self.uid = RowUids(mapping.source)
        named = {c.name for c in [*self.columns, *self.rests.values()]} | {o[0] for o in self.fixed}
        self.whole_names = [who for who in ("person", "parent") if f"{who}.full_name" in named]

    def _cell(self, column: str, name: str) -> _Cell:
        m = self.mapping
        return _Cell(
            column,
            name,
            FIELDS[name],
            m.date_formats(name),
            m.codes_of(name),
            name in self.needed,
            m.split.get(name),
        )

    @staticmethod
    def _splits(raw: object, cell: _Cell) -> TypeGuard[str]:
        """Whether the cell holds several values (``raw`` is then text)."""
        return cell.split is not None and isinstance(raw, str) and cell.split.separator in raw

    def _read(self, cell: _Cell, raw: object) -> _Outcome:
        try:
            value = parse_value(
                cell.spec, raw, formats=cell.formats, codes=cell.codes, today=self.today
            )
        except CellError as exc:
            if cell.needed and cell.spec.type not in IDENTIFIER_TYPES:
                return (cell.name, None, None, f"{cell.column}: {exc}")
            return (cell.name, None, f"{cell.column}{DROPPED}{exc}", None)
        return (cell.name, value, None, None)

    def _parts(self, cell: _Cell, raw: str) -> list[_Outcome]:
        """The first value keeps the field, the second goes to the split's ``rest``
        field; a part that itself holds its own field's separator is dropped."""
        assert cell.split is not None
        first, *rest = [part.strip() for part in raw.split(cell.split.separator)]
        out = [(cell, first)]
        if rest:
            out.append((self.rests[(cell.column, cell.split.rest)], rest[0]))
        return [self._read(c, part) for c, part in out if not self._splits(part, c)]

    def many(self, rows: list[RawRow]) -> list[Record | Quarantined]:
        """What calling this on each row gives, worked out a column at a time: each
        distinct text of a column is read once, and a row is put together from its
        columns' values. Only a row with something to say (the reader's problem, a
        dropped or refused cell, a cell to split, a blank required field, a person with
        no name or identifier) goes through :meth:`__call__`, which words it."""
        flawed_fixed = any(o[2] is not None or o[3] is not None for o in self.fixed)
        if not self.columns or self.fixed_parts or flawed_fixed:
            return [self(row) for row in rows]
        tables = [row.values for row in rows]
        odd = {i for i, t in enumerate(tables) if "__extra__" in t or rows[i].problem is not None}
        columns: list[list[object]] = []
        for cell, memo in zip(self.columns, self.memos, strict=True):
            outcomes = self._column(cell, memo, [t.get(cell.column) for t in tables], odd)
            columns.append(list(map(_VALUE, outcomes)))
        mapping = self.mapping
        names = [cell.name for cell in self.columns]
        fixed = [(name, value) for name, value, _, _ in self.fixed if value is not None]
        required = {name for name, _ in self.required}
        person = mapping.entity == "person"
        out: list[Record | Quarantined] = []
        for i, (row, cells) in enumerate(zip(rows, zip(*columns, strict=True), strict=True)):
            if i in odd:
                out.append(self(row))
                continue
            values = {n: v for n, v in zip(names, cells, strict=True) if v is not None}
            if fixed:
                values.update(fixed)
            if required and not values.keys() >= required:
                out.append(self(row))
                continue
            for who in self.whole_names:
                _split_names(values, who)
            if person and not _identified(values, mapping.person_key):
                out.append(self(row))
                continue
            uid = self.uid(row.values)
            out.append(
                Record(
                    uid,
                    mapping.source,
                    row.file,
                    row.row,
                    mapping.entity,
                    values,
                    [],
                    mapping.trust_ids,
                    mapping.adults,
                )
            )
        return out

    def _column(
        self, cell: _Cell, memo: dict[object, _Outcome], raws: list[object], odd: set[int]
    ) -> list[_Outcome]:
        """What each of a column's cells reads as; the rows of a cell with a note, an
        error or a value to split are added to ``odd``."""
        try:
            distinct = set(raws)
        except TypeError:  # an unhashable cell: every row through __call__
            odd.update(range(len(raws)))
            return [(cell.name, None, None, None)] * len(raws)
        # only text (and blanks) is remembered: a spreadsheet's typed cells (1, 1.0 and
        # True are equal keys that read differently) are each read
        texts = {raw for raw in distinct if raw is None or type(raw) is str}
        if len(memo) + len(texts) > MEMO_SIZE:
            memo.clear()
        for raw in texts.difference(memo):
            memo[raw] = self._read(cell, raw)
        if len(texts) == len(distinct):
            outcomes = list(map(memo.__getitem__, raws))
            flawed = {raw for raw in distinct if _flawed(memo[raw])}
            if flawed:
                odd.update(i for i, raw in enumerate(raws) if raw in flawed)
        else:
            outcomes = [
                memo[raw] if raw is None or type(raw) is str else self._read(cell, raw)
                for raw in raws
            ]
            odd.update(i for i, outcome in enumerate(outcomes) if _flawed(outcome))
        if cell.split is not None:
            odd.update(i for i, raw in enumerate(raws) if self._splits(raw, cell))
        return outcomes

    def __call__(self, row: RawRow) -> Record | Quarantined:
        mapping = self.mapping
        if row.problem is not None:  # the reader's own (see loaders.readers)
            return self._refused(row, row.problem)
        extra = row.values.get("__extra__")
        if extra:
            return self._refused(row, f"row has {len(extra)} more cells than the header")
        get = row.values.get
        outcomes: list[_Outcome] = []
        split_cells: list[tuple[_Cell, str]] = []
        for cell, memo in zip(self.columns, self.memos, strict=True):
            raw = get(cell.column)
            if cell.split is not None and self._splits(raw, cell):
                split_cells.append((cell, raw))
                continue
            # only text (and blanks) is remembered: a spreadsheet's 1, 1.0 and True are
            # equal keys that read differently
            text = raw is None or type(raw) is str
            known = memo.get(raw) if text else None
            if known is None:
                known = self._read(cell, raw)
                if text and len(memo) < MEMO_SIZE:
                    memo[raw] = known
            outcomes.append(known)
        outcomes += self.fixed
        for cell, raw in split_cells + self.fixed_parts:
            outcomes += self._parts(cell, raw)
        values: dict[str, object] = {}
        notes: list[str] = []
        errors: list[str] = []
        for name, value, note, error in outcomes:
            if error is not None:
                errors.append(error)
            elif note is not None:
                notes.append(note)
            elif value is not None:
                values[name] = value
        for name, column in self.required:
            if name not in values and not any(e.startswith(column + ":") for e in errors):
                errors.append(f"{column}: required value is blank")
        _split_names(values, "person")
        _split_names(values, "parent")
        if (
            mapping.entity == "person"
            and not errors
            and not _identified(values, mapping.person_key)
        ):
            name_columns = [
                c
                for c, f in mapping.mapped.items()
                if f in ("person.given_name", "person.family_name", "person.full_name")
            ]
            errors.append(
                f"{', '.join(name_columns)}: no usable given and family name and no "
                "valid identifier, so no way to tell who this is"
                if name_columns
                else "the file gives no names, and this row has no valid identifier "
                "(UPN, NHS number, ULN or local id), so no way to tell who this is"
            )
            errors += notes  # an identifier dropped for failing its check: why
        if errors:
            return self._refused(row, "; ".join(errors))
        return Record(
            uid=self.uid(row.values),
            source=mapping.source,
            file=row.file,
            row=row.row,
            entity=mapping.entity,
            values=values,
            notes=notes,
            trust_ids=mapping.trust_ids,
            adults=mapping.adults,
        )

    def _refused(self, row: RawRow, reason: str) -> Quarantined:
        """The row quarantined for ``reason``, its uid made as a record's is (the file's
        :class:`RowUids`: the same uid :func:`record_uid` gives)."""
        source = self.mapping.source
        return Quarantined(
            source, row.file, row.row, reason, raw_text(row.values), self.uid(row.values)
        )


_VALUE = itemgetter(1)  # an outcome's value


def _flawed(outcome: _Outcome) -> bool:
    """A cell dropped with a note, or refused."""
    return outcome[2] is not None or outcome[3] is not None


def _identified(values: dict[str, object], person_key: str | None) -> bool:
    """Whether a person row says who it is: a given and a family name, or an identifier."""
    has_name = values.get("person.given_name") and values.get("person.family_name")
    return (
        bool(has_name)
        or any(values.get(k) for k in _PERSON_IDS)
        or (person_key is not None and bool(values.get(person_key)))
    )


def _column_for(mapping: SourceMapping, name: str) -> str:
    for column, target in mapping.mapped.items():
        if target == name:
            return column
    return f"({name})"


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
        sex = TITLE_SEX.get(parts[0].lower().rstrip("."))
        if sex:  # "Mrs Margit Kovacs": the title says what no column did
            values.setdefault(f"{who}.sex", sex)
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
