"""What a load keeps for the next, as files beside its reports: each taken only while the
graph carries the counts and version stamp it was kept with (:func:`graph.version.kept_as`),
and removed as it is taken, so a load that stops part way leaves nothing to mislead the
next."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import orjson

from graph import alerts
from graph.files import private_dir, write_private

if TYPE_CHECKING:
    from graph.store import GraphStore
    from loaders.unchanged import Touched


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


def fingerprinter(*modules: ModuleType | str) -> Callable[[], str]:
    """:func:`fingerprint` of ``modules`` as a function, worked out once when first
    asked (a name: the module of that name then, so a module can name itself)."""

    @cache
    def code() -> str:
        return fingerprint(*(sys.modules[m] if isinstance(m, str) else m for m in modules))

    return code


@dataclass
class Kept:
    """What a load keeps for the next as one file: a dataclass whose fields are what the
    file holds, ``code`` among them (the :attr:`fingerprint` of the code that worked it
    out, this release's unless given); the file is of :attr:`VERSION`."""

    VERSION: ClassVar[int] = 1
    fingerprint: ClassVar[Callable[[], str]]
    code: str = field(default="", kw_only=True)

    def __post_init__(self) -> None:
        self.code = self.code or type(self).fingerprint()

    @classmethod
    def take(cls, path: Path | None, counts: Mapping[str, Any]) -> Self | None:
        """What the file at ``path`` keeps, if the graph's ``counts``
        (:func:`graph.version.kept_as`) are those it was kept with; removed either way."""
        body = take(path, cls.VERSION, counts)
        if body is None:
            return None
        found = {f.name: body[f.name] for f in fields(cls) if f.name != "code"}
        return cls(**found, code=str(body.get("code")))

    def save(self, path: Path | None, counts: Mapping[str, Any]) -> None:
        """Keep it at ``path`` with the graph's ``counts``."""
        keep(path, self.VERSION, counts, self.packed())

    def packed(self) -> bytes:
        """What :meth:`save` keeps, without the counts, made ahead (:func:`packed`)."""
        return packed({f.name: getattr(self, f.name) for f in fields(self)})


# what a delta touched says what changed only while nothing else wrote the graph
BESIDE = "the graph was changed beside this load (a review decision)"


@dataclass
class Delta[K]:
    """A delta load's part in working out something it keeps for the next (``K``, as a
    file: the last load's, None when nothing is trusted) for the nodes it touched (None:
    not known, or, ``beside``, not all that changed). Once worked out, ``why`` says why
    everything was worked out again ("" when only the touched), ``worked_out`` how many
    were, and ``after`` holds this load's, for the next. ``still``: known that every
    node the last load kept a part of is in the graph still (nodes leave it only by a
    review merge, which stamps the graph: a load that found its stamp unchanged since it
    took ``kept``, and keeps nothing if it changes later), so that is not read again."""

    kept: K | None
    touched: set[str] | None = None
    why: str = ""
    worked_out: int = 0
    after: K | None = None
    beside: bool = False  # touched is None: the graph was changed beside the load
    still: bool = False

    def still_there(
        self, uids: Iterable[str], read: Callable[[list[str]], Container[str]]
    ) -> list[str]:
        """The ``uids`` (of nodes the last load kept a part of, untouched) still in the
        graph: every one when :attr:`still` says so, else those ``read`` finds of them
        (it may answer all of them when a count shows none left)."""
        uids = list(uids)
        if self.still or not uids:
            return uids
        found = read(uids)
        return [uid for uid in uids if uid in found]

    def not_kept(self, what: str) -> str:
        """Why everything is worked out again before the kept ``what`` is looked at ("":
        the changes are known and the last load's are kept)."""
        if self.touched is None:
            return BESIDE if self.beside else "what the load changed is not known"
        if self.kept is None:
            return f"the last load's {what} are not kept, or the graph changed since"
        return ""


def why_everyone[K: Kept](delta: Delta[K], what: str, *changed: Callable[[K], str]) -> str:
    """Why a delta works every one of the kept ``what`` out again ("": it need not): what
    it changed not known, nothing kept, the first reason ``changed`` gives from the kept
    (each "" when it has none), or the kept worked out by other code."""
    why = delta.not_kept(what)
    if why or delta.kept is None:
        return why
    for reason in changed:
        why = reason(delta.kept)
        if why:
            return why
    return other_code(delta.kept.code, type(delta.kept).fingerprint(), what)


def residents(store: GraphStore, touched: Touched) -> set[str]:
    """The people living at an address whose own rows a delta changed (``touched``)."""
    homes = sorted(touched.own("Address"))
    if not homes:
        return set()
    rows = store.read(alerts.NEAR["Address"], {"uids": homes}, max_rows=100_000_000)
    return {r["uid"] for r in rows.rows}


def other_code(code: str, fingerprint: str, what: str) -> str:
    """Why the kept ``what`` worked out by ``code`` are not taken ("": by this code)."""
    return (
        "" if code == fingerprint else f"the code that works {what} out changed (another release)"
    )
