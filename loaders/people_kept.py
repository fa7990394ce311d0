"""The people kept between loads: a delta load links only its new or changed records.

Who each source record is lives in the graph (each ``SourceRecord`` DESCRIBES its
person); the linkage models that found them (Splink's settings as trained: m and u
probabilities, the probability two records match) are kept beside the load reports in
:data:`MODELS_FILE`. A delta load starts from those people, unchanged records keeping
their person, and scores with those models only the pairs the blocking makes with a
record the graph does not hold yet (a new row, or a changed row's new content):
against the people already there and against each other. Everything is linked again,
the models trained again on every record, when:

- the load asks for it (``jigsaw load --full``);
- no models are kept (the first load, or one kept by an older version), or the graph
  holds no people (a graph emptied or replaced since).

Links are only ever added on a delta: a record keeps its person even where a full
re-link would, with the new records in training, split it or join it to another
(``docs/loading.md`` says how the two can differ).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.files import private_dir, write_private
from loaders import kept
from loaders.linkage.identity import ID_FIELDS

MODELS_FILE = "linkage-models.json"
VERSION = 1  # of the file's format


@dataclass
class KeptPeople:
    """What a load links against: the earlier people and models, or nothing (``reason``)."""

    path: Path | None
    models: dict[str, dict] | None = None
    reason: str = ""  # why every record is linked again, when it is

    @classmethod
    def take(cls, path: Path | None, relink: bool, existing: Mapping[str, str]) -> KeptPeople:
        """The models kept at ``path``, if this load may link against ``existing``
        (record uid -> person, from the graph)."""
        kept = cls(path)
        if relink:
            kept.reason = "--full: every record linked again, the models trained again"
        elif path is None:
            kept.reason = "no folder to keep the linkage models in"
        elif not existing:
            kept.reason = "no people in the graph yet"
        else:
            try:
                body = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                body = None
            if not isinstance(body, dict) or body.get("version") != VERSION:
                kept.reason = "no linkage models kept by an earlier load"
            else:
                kept.models = {k: v for k, v in body["models"].items() if isinstance(v, dict)}
        return kept

    def people(self, existing: dict[str, str]) -> dict[str, str] | None:
        """The people to keep (``existing``), or None when everything is linked again."""
        return existing if self.models is not None else None

    def save(self, models: Mapping[str, dict | None]) -> None:
        """Keep the models this load scored with, for the next (whole, then renamed;
        readable by this user only, as the scoring model is)."""
        if self.path is None:
            return
        body = {"version": VERSION, "models": dict(models)}
        write_private(private_dir(self.path.parent) / self.path.name, json.dumps(body).encode())


PEOPLE_FILE = "people-kept.json"
PEOPLE_VERSION = 1  # of that file's format
# each identifier linkage checks (its ID_FIELDS, an Identity's attributes) as a Person property
ID_PROPERTIES = {"upn": "upn", "nhs": "nhs_number", "uln": "uln", "la_id": "la_child_id"}
# the identity fields of a person the graph holds (loaders.identities.anchors), in order:
# name, birth date, then the identifiers in ID_FIELDS' order
ANCHOR_FIELDS = ("given_name", "family_name", "dob", *(ID_PROPERTIES[n] for n in ID_FIELDS))


@dataclass
class Known:
    """Who the graph's records and people are, as the last finished load left them: each
    source record's person (record uid -> person uid) and each person's identity fields
    (:data:`ANCHOR_FIELDS`), kept in :data:`PEOPLE_FILE` beside the models so that a
    delta need not read them back from the graph (every record and every person: at
    county scale the link stage's longest reads). Trusted only while the graph is the one
    that load left (its counts and version stamp those recorded with it,
    :func:`graph.version.kept_as`, as :class:`loaders.unchanged.Unchanged` trusts its
    record): a review decision or another load since, and they are read from the graph
    again."""

    assignments: dict[str, str]
    anchors: dict[str, tuple[str, ...]]  # person uid -> ANCHOR_FIELDS' values ('' for none)
    # record uid -> the probability it belongs to its person, where under 1 (a record
    # linked by probability): a delta scores only its new records' pairs, and the rest
    # keep theirs (written as 1 otherwise, every probabilistic link's record rewritten);
    # None: not kept (a file kept by older code), read from the graph
    probability: dict[str, float] | None = field(default_factory=dict)

    @classmethod
    def take(cls, path: Path | None, counts: Mapping[str, Any]) -> Known | None:
        """What the file at ``path`` keeps, if the graph's ``counts``
        (:func:`graph.version.kept_as`) are those it was kept with; the file is removed
        either way (a load that stops part way, having written some of its people,
        leaves none to mislead the next)."""
        body = kept.take(path, PEOPLE_VERSION, counts)
        if body is None:
            return None
        people = body["people"]
        return cls(
            assignments=dict(
                zip(body["records"], (people[i] for i in body["person"]), strict=True)
            ),
            anchors={uid: tuple(fields) for uid, *fields in body["anchors"]},
            probability=dict(zip(body["linked"], body["probability"], strict=True))
            if "linked" in body
            else None,
        )

    @classmethod
    def after(
        cls,
        assignments: dict[str, str],
        anchors: dict[str, tuple[str, ...]],
        person_of: Mapping[str, str],
        probability: dict[str, float],
    ) -> Known:
        """What the graph holds once a load that found ``assignments`` and ``anchors``
        before it, and linked its records to ``person_of`` with ``probability`` (every
        record's under 1, :func:`linked_probability`), has written them (its people
        rows' fields follow: :meth:`after_writing`). Takes them over and updates them
        (copies of millions of records' persons at county scale would only cost memory)."""
        assignments.update(person_of)
        return cls(assignments, anchors, {r: p for r, p in probability.items() if p < 1})

    def after_writing(self, people: Iterable[Mapping[str, Any]]) -> None:
        """Each person as the load's ``people`` rows wrote them."""
        anchors = self.anchors
        for row in people:
            anchors[str(row["uid"])] = anchor_fields(row)

    def save(self, path: Path | None, counts: Mapping[str, Any]) -> None:
        """Keep it at ``path`` with the graph's ``counts`` (whole, then renamed; readable
        by this user only: it lists people's names)."""
        self.keep(path, counts, self.packed())

    def packed(self) -> bytes:
        """What :meth:`save` keeps, as the file's text without the counts: a load packs
        it once its people are written, and keeps that when it ends (a county's records
        and people held as text, not as millions of Python strings meanwhile)."""
        index: dict[str, int] = {}
        person = [index.setdefault(p, len(index)) for p in self.assignments.values()]
        body = {
            "records": list(self.assignments),
            "people": list(index),
            "person": person,
            "anchors": [[uid, *fields] for uid, fields in self.anchors.items()],
            "linked": list(self.probability or ()),
            "probability": list((self.probability or {}).values()),
        }
        return kept.packed(body)

    @staticmethod
    def keep(path: Path | None, counts: Mapping[str, Any], packed: bytes) -> None:
        """Keep what :meth:`packed` gave at ``path`` with the graph's ``counts``."""
        kept.keep(path, PEOPLE_VERSION, counts, packed)


def linked_probability(
    scored: Mapping[str, float], kept: dict[str, float], relinked: Iterable[str]
) -> dict[str, float]:
    """Each record's probability of belonging to its person: this load's linkage's
    (``scored``: the records whose links it weighed), else the one the graph holds
    (``kept``: under 1 only, as :class:`Known` keeps them; taken over and updated),
    except for the ``relinked`` records (every record of a load linking every record
    again: 1 unless scored). A record the graph holds that the load did not read keeps
    its own."""
    for rid in relinked:
        kept.pop(rid, None)
    kept.update(scored)
    return kept


def anchor_fields(row: Mapping[str, Any]) -> tuple[str, ...]:
    """A person's :data:`ANCHOR_FIELDS` from a Person row or node (dates as ISO text)."""
    out = []
    for name in ANCHOR_FIELDS:
        value = row.get(name)
        if isinstance(value, dt.date):
            value = value.isoformat()
        out.append(str(value) if value not in (None, "") else "")
    return tuple(out)


def people_file(loads_dir: Path | None) -> Path | None:
    """Where :class:`Known` is kept for the graph whose load reports are in ``loads_dir``."""
    return loads_dir / PEOPLE_FILE if loads_dir is not None else None
