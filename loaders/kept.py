"""What a load keeps for the next, as files beside its reports: each taken only while the
graph carries the counts and version stamp it was kept with (:func:`graph.version.kept_as`),
and removed as it is taken, so a load that stops part way leaves nothing to mislead the
next."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from graph.files import private_dir, write_private


def take(path: Path | None, version: int, counts: Mapping[str, Any]) -> dict[str, Any] | None:
    """The body kept at ``path`` if it is of ``version`` and was kept with the graph's
    ``counts``, else None; the file is removed either way."""
    if path is None:
        return None
    try:
        body = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    path.unlink(missing_ok=True)
    if not isinstance(body, dict) or body.get("version") != version:
        return None
    if body.get("counts") != counts:
        return None
    return body


def keep(path: Path | None, version: int, counts: Mapping[str, Any], body: dict[str, Any]) -> None:
    """Keep ``body`` at ``path`` with its ``version`` and the graph's ``counts`` (whole,
    then renamed; readable by this user only, as the graph's other kept state is)."""
    if path is None:
        return
    whole = {"version": version, "counts": dict(counts), **body}
    write_private(private_dir(path.parent) / path.name, orjson.dumps(whole))


@dataclass
class Delta[K]:
    """A delta load's part in working out something it keeps for the next (``K``, as a
    file: the last load's, None when nothing is trusted) for the nodes it touched (None:
    not known). Once worked out, ``why`` says why everything was worked out again (""
    when only the touched), ``worked_out`` how many were, and ``after`` holds this
    load's, for the next."""

    kept: K | None
    touched: set[str] | None = None
    why: str = ""
    worked_out: int = 0
    after: K | None = None
