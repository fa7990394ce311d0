"""Where a node or relationship type's properties are read from in a record.

The builders (:mod:`loaders.build`, :mod:`loaders.build_returns`) take the properties
a load's rows carry from :mod:`graph.schema`, so a property the records hold under its
own name (``prefix.name``) is one line in the schema, not a line here too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from graph.schema import DATE, Prop, node_type, rel_type
from loaders.fields import FIELDS


def carried(name: str) -> tuple[Prop, ...]:
    """The properties a load's rows carry (graph.schema) of a node label or, in capitals,
    a relationship type: derived ones are worked out later."""
    owner = rel_type(name) if name.isupper() else node_type(name)
    return tuple(p for p in owner.props if p.from_row and not p.derived)


@dataclass(frozen=True)
class Reads:
    """Where each property of a type that a load's rows carry is read from in a record:
    ``prefix.name``, or the field ``renamed`` gives; those in ``own`` the builder works
    out itself. Dates (as the schema declares them) as ISO text."""

    fields: tuple[tuple[str, str, bool], ...]  # (property, record field, is a date)

    @classmethod
    def of(cls, owner: str, prefix: str, /, own: str = "", **renamed: str) -> Reads:
        skip = set(own.split())
        reads = cls(
            tuple(
                (p.name, renamed.get(p.name, f"{prefix}.{p.name}"), p.type == DATE)
                for p in carried(owner)
                if p.name not in skip
            )
        )
        unknown = sorted(reads.keys - FIELDS.keys())
        if unknown:  # no mapping could fill it: every row would read None, silently
            raise ValueError(f"{owner}'s properties read from fields no record has: {unknown}")
        return reads

    def __call__(self, v: dict) -> dict:
        return {name: iso(v.get(k)) if date else v.get(k) for name, k, date in self.fields}

    @property
    def keys(self) -> set[str]:
        return {k for _, k, _ in self.fields}


def iso(value: object) -> str | None:
    """A date as ISO text (text as it is; None for nothing)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value if isinstance(value, str) and value else None
