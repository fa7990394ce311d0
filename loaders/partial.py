"""Which people's rows a delta builds again; the rest are carried over (a partial build).

A person's row (``Builder._person_row``) is worked out from their identity records
alone, but for three things: their ``child`` flag (their birth date against the load's
day), their open services (from their cases, which case records that are not identity
records make too) and the code and mappings that turned the records into values. So a
delta carries a person's row over from the last load (``Unchanged.carry``: its hash
in the record of rows written, the row not built, hashed or written) when

- their identity records are the same ones (a record's uid is its source and raw row),
  in the same roles, order and files (each person's :func:`signatures`, kept beside the
  record), and none holds a date of their row between the two loads' days (a value a
  raw row reads otherwise on another day: :func:`dated`);
- they own no case, in this load or the last (:func:`case_owners`);
- they did not turn 18 between the two loads' days (:func:`turned`);
- the builder's code and the mappings are the last load's (:func:`code_fingerprint`).

Anything else (no record of the last load's signatures, its day or its code) builds
every person's row. The other steps' rows are built whole, every night.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from graph.schema import DATE, node_type
from loaders.build import PERSON_FIELDS, ROLE_KEYS
from loaders.unchanged import PERSON, Owners, Signed, _among, _hashes, _node_hashes, step_code
from loaders.validate import Record

ROOT = Path(__file__).resolve().parent.parent
# what turns records into rows, besides the mappings: a change to any of them builds
# every row once
BUILDER_CODE = (
    "loaders/build.py",
    "loaders/build_returns.py",
    "loaders/attach.py",
    "loaders/validate.py",
    "loaders/fields.py",
    "loaders/mapping.py",
    "loaders/identifiers.py",
    "loaders/partial.py",
    "graph/schema.py",
    "graph/family_rules.py",
)
_SIGNED = b"person records"  # the signatures' hash's person (unchanged._hashes)
_PART = 10_000  # people signed at a time
# the dates a person's row reads from their records
_DATES = tuple(
    p.name for p in node_type(PERSON).props if p.type == DATE and p.name in PERSON_FIELDS
)


def code_fingerprint(mappings: Iterable[Any]) -> str:
    """A hash of :data:`BUILDER_CODE`'s text and of each mapping's file (``path``: by
    its folder and name, and its text)."""
    h = hashlib.blake2b(digest_size=16)
    for name in BUILDER_CODE:
        h.update((ROOT / name).read_bytes())
    for path in sorted({Path(m.path) for m in mappings if m.path}):
        h.update("/".join(path.parts[-2:]).encode())  # where it is installed aside
        h.update(path.read_bytes() if path.is_file() else b"")
    return h.hexdigest()


def signatures(
    records_of: Mapping[str, list[tuple[Record, str]]], day: dt.date, code: str
) -> Signed:
    """Each person's hash of their identity records in order: role, uid (its source and
    raw row) and file (``records_of``: person uid -> those records, as the builder
    gathered them). Their values follow from those but for the load's day: see
    :func:`dated`."""
    people, groups = list(records_of), list(records_of.values())
    hashes = _node_hashes(PERSON, people)
    parts = [  # a part at a time: not a list of every record's at once beside the build's
        _hashes(_SIGNED, [[(who, r.uid, r.file) for r, who in g] for g in part])
        for part in (groups[i : i + _PART] for i in range(0, len(groups), _PART))
    ]
    signed = np.concatenate(parts) if parts else np.empty(0, np.uint64)
    order = np.argsort(hashes)
    return Signed(day.isoformat(), code, hashes[order], signed[order])


def dated(
    records_of: Mapping[str, list[tuple[Record, str]]], since: dt.date, until: dt.date
) -> set[str]:
    """The people with a date of their row's (a birth or death date, in any role) in
    ``(since, until]``: the only values a raw row reads otherwise on another day
    (loaders.fields: a two-digit year is this century's only up to the day, a date
    after the day is not read), so the only ones that can have changed under a record's
    unchanged uid between two loads' days (``since`` the earlier)."""
    keys = {who: [k.key[name] for name in _DATES] for who, k in ROLE_KEYS.items()}
    found = set()
    for puid, mine in records_of.items():
        for record, who in mine:
            values = record.values
            for key in keys[who]:
                value = values.get(key)
                if isinstance(value, dt.date) and since < value <= until:
                    found.add(puid)
    return found


def case_owners(owners: Owners | None, steps: Iterable[Any]) -> np.ndarray:
    """The node hashes of the people owning an element of ``steps`` (the steps writing
    cases) in the last load's record, sorted."""
    if owners is None:
        return np.empty(0, np.uint64)
    codes = np.array([step_code(s) for s in steps], np.uint32)
    return np.unique(owners.element_owners[np.isin(owners.element_steps, codes)])


def turned(dob: str | None, before: dt.date, now: dt.date) -> bool:
    """Whether someone born on ``dob`` (ISO text, or none) was a child on one of the
    two days and not on the other (the ``child`` flag: under 18)."""
    if not dob:
        return False
    born = dt.date.fromisoformat(dob)

    def child(on: dt.date) -> bool:
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day)) < 18

    return child(before) != child(now)


def unchanged_people(
    now: Signed,
    before: Signed | None,
    records_of: Mapping[str, list[tuple[Record, str]]],
    owning: set[str],
    owned_before: np.ndarray,
    dob_of: Mapping[str, tuple[str, ...]],
    dob_at: int,
) -> dict[str, str | None]:
    """The people of ``records_of`` (``now`` signed) whose rows are the last load's
    (``before``), by the rules above, each with their birth date as the last load
    wrote it (``dob_of``: person uid -> fields, the birth date at ``dob_at``, '' for
    none); ``owning``: the people owning a case in this load, ``owned_before`` in the
    last (node hashes, sorted). None carried without ``before``, on other code or on
    an earlier day than the last load's."""
    if before is None or before.code != now.code or now.day < before.day:
        return {}
    people = list(records_of)
    hashes = _node_hashes(PERSON, people)
    at = np.searchsorted(before.people, hashes)
    at[at == len(before.people)] = 0
    same = before.people[at] == hashes
    same &= before.signatures[at] == now.signatures[np.searchsorted(now.people, hashes)]
    same &= ~_among(hashes, owned_before)
    then, today = dt.date.fromisoformat(before.day), dt.date.fromisoformat(now.day)
    owning = owning | dated(records_of, then, today)  # read otherwise today: built
    out: dict[str, str | None] = {}
    for uid in (p for p, keep in zip(people, same.tolist(), strict=True) if keep):
        fields = dob_of.get(uid)
        if uid in owning or fields is None:  # a case's open services; not known: built
            continue
        dob = fields[dob_at] or None
        if not turned(dob, then, today):
            out[uid] = dob
    return out
