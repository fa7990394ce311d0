"""Which person a return's row is about, when the row names only a key (``person_key``).

A return's files other than its person file carry only the child's id (episodes,
reviews, missing episodes), or the id of another file's row (a placement names its
episode). Such a row attaches to the person its own pack's person file describes with
that id: it is not an identity of its own, and linkage never sees it. Only where the
load holds no such person file (one file of a return loaded alone) is a row keyed by a
person identifier an identity after all: a person known by that id alone, linked on
it like any identifier. A row keyed by another row's reference attaches through that
row, or nowhere (the quarantine says which reference named nobody).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from loaders.mapping import PERSON_KEYS, SourceMapping
from loaders.validate import Record


@dataclass(frozen=True)
class Packs:
    """What the load's mappings say about packs: the pack of each source, and the key
    of each keyed source."""

    pack_of: dict[str, str] = field(default_factory=dict)
    key_of: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, mappings: Iterable[SourceMapping]) -> Packs:
        pack_of, key_of = {}, {}
        for m in mappings:
            if m.pack:
                pack_of[m.source] = m.pack
                if m.person_key:
                    key_of[m.source] = m.person_key
        return cls(pack_of, key_of)

    def described(self, records: Iterable[Record]) -> set[tuple[str, str, str]]:
        """(pack, field, value) for each person identifier a pack's person file gives."""
        found = set()
        for r in records:
            pack = self.pack_of.get(r.source)
            if pack is None or r.source in self.key_of or r.entity != "person":
                continue
            for name in PERSON_KEYS:
                value = r.values.get(name)
                if value:
                    found.add((pack, name, str(value)))
        return found

    def attached(self, records: list[Record]) -> set[str]:
        """The uids of keyed records that attach to a person rather than being one."""
        if not self.key_of:
            return set()
        described = self.described(records)
        out = set()
        for r in records:
            key = self.key_of.get(r.source)
            if key is None:
                continue
            if (
                key not in PERSON_KEYS
                or (self.pack_of[r.source], key, str(r.values.get(key))) in described
            ):
                out.add(r.uid)
        return out


class Attachments:
    """Keyed records to their people, once linkage has named the people."""

    def __init__(self, packs: Packs, person_of: dict[str, str]) -> None:
        self.packs = packs
        self.person_of = person_of
        self.puid: dict[str, str] = {}  # attached record uid -> person uid
        self.unresolved: dict[str, str] = {}  # record uid -> why it names nobody

    def resolve(self, records: list[Record], attached: set[str]) -> None:
        packs = self.packs
        index: dict[tuple[str, str, str], str] = {}
        for r in records:  # the people a pack's person files (and lone keyed rows) name
            pack = packs.pack_of.get(r.source)
            puid = self.person_of.get(r.uid)
            if pack is None or puid is None:
                continue
            for name in PERSON_KEYS:
                value = r.values.get(name)
                if value:
                    index.setdefault((pack, name, str(value)), puid)
        refs: list[Record] = []
        for r in records:
            if r.uid not in attached:
                continue
            if packs.key_of[r.source] not in PERSON_KEYS:
                refs.append(r)
            else:
                self._look_up(r, index, "is in no person file of the return")
        # references: a row of another file of the pack that names its person
        by_ref: dict[tuple[str, str, str], str] = {}
        for r in records:
            pack = packs.pack_of.get(r.source)
            puid = self.puid.get(r.uid) or self.person_of.get(r.uid)
            if pack is None or puid is None:
                continue
            for name, value in r.values.items():
                if name.endswith(".ref") and value:
                    by_ref.setdefault((pack, name, str(value)), puid)
        for r in refs:
            self._look_up(r, by_ref, "names no row of the return's other files")

    def _look_up(self, r: Record, index: dict[tuple[str, str, str], str], missing: str) -> None:
        """The person of a row that names its person by the pack's key, or why not."""
        key = self.packs.key_of[r.source]
        value = str(r.values.get(key))
        puid = index.get((self.packs.pack_of[r.source], key, value))
        if puid is None:
            self.unresolved[r.uid] = f"{key} {value} {missing}"
        else:
            self.puid[r.uid] = puid

    def person(self, record: Record) -> str | None:
        return self.puid.get(record.uid) or self.person_of.get(record.uid)
