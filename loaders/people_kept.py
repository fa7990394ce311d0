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

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from graph.files import private_dir, write_private

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
