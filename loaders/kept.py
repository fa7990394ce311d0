"""What a load keeps for the next, as files beside its reports: each taken only while the
graph carries the counts and version stamp it was kept with (:func:`graph.version.kept_as`),
and removed as it is taken, so a load that stops part way leaves nothing to mislead the
next."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
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


def set_aside(path: Path | None) -> Path | None:
    """The file at ``path`` renamed aside, for a later stage of the same load to take
    (:func:`take`) where it is used, rather than held from the load's start; None when
    there is none (one an earlier load left aside, stopping part way, is removed)."""
    if path is None:
        return None
    aside = path.with_name(path.name + ".taken")
    try:
        path.replace(aside)
    except FileNotFoundError:
        aside.unlink(missing_ok=True)
        return None
    return aside


def packed(body: dict[str, Any]) -> bytes:
    """``body`` as :func:`keep` writes it, made ahead: text held until the graph's counts
    are known, not the objects it was made from."""
    return orjson.dumps(body)


def keep(
    path: Path | None, version: int, counts: Mapping[str, Any], body: dict[str, Any] | bytes
) -> None:
    """Keep ``body`` (or what :func:`packed` made of it) at ``path`` with its ``version``
    and the graph's ``counts`` (whole, then renamed; readable by this user only, as the
    graph's other kept state is)."""
    if path is None:
        return
    text = body if isinstance(body, bytes) else packed(body)
    head = orjson.dumps({"version": version, "counts": dict(counts)})
    whole = head[:-1] + (b"," + text[1:] if text != b"{}" else b"}")
    write_private(private_dir(path.parent) / path.name, whole)


def fingerprint(*modules: ModuleType) -> str:
    """A hash of the code in ``modules`` (what works a kept thing out, and the module
    keeping it): what another release worked out is not taken as this one's."""
    digest = hashlib.blake2b(digest_size=8)
    for module in modules:
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()


# what a delta touched says what changed only while nothing else wrote the graph
BESIDE = "the graph was changed beside this load (a review decision)"


@dataclass
class Delta[K]:
    """A delta load's part in working out something it keeps for the next (``K``, as a
    file: the last load's, None when nothing is trusted) for the nodes it touched (None:
    not known, or, ``beside``, not all that changed). Once worked out, ``why`` says why
    everything was worked out again ("" when only the touched), ``worked_out`` how many
    were, and ``after`` holds this load's, for the next."""

    kept: K | None
    touched: set[str] | None = None
    why: str = ""
    worked_out: int = 0
    after: K | None = None
    beside: bool = False  # touched is None: the graph was changed beside the load

    def not_kept(self, what: str) -> str:
        """Why everything is worked out again before the kept ``what`` is looked at ("":
        the changes are known and the last load's are kept)."""
        if self.touched is None:
            return BESIDE if self.beside else "what the load changed is not known"
        if self.kept is None:
            return f"the last load's {what} are not kept, or the graph changed since"
        return ""


def other_code(code: str, fingerprint: str, what: str) -> str:
    """Why the kept ``what`` worked out by ``code`` are not taken ("": by this code)."""
    return (
        "" if code == fingerprint else f"the code that works {what} out changed (another release)"
    )
