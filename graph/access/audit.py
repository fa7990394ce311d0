"""An append-only, hash-chained audit trail of every look at a child's data.

Each entry is one JSON line holding who, role, when, what, which children, the
parameters and, for break-glass, why - plus the hash of the entry before it and its
own hash. Editing or removing any entry breaks the chain from that point, which
:func:`verify` reports. Entries are written with an exclusive lock and fsync'd
before the action returns, so a crash cannot lose an entry for something a user saw.
Kept outside the graph on purpose: a graph administrator cannot quietly edit it.
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class Broken:
    line: int
    why: str


def _digest(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class AuditLog:
    """The trail in one file; many processes may append to it at once."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def record(
        self,
        *,
        user: str,
        role: str,
        action: str,
        children: Iterable[str] = (),
        detail: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Append one entry; returns it with its hash."""
        with self.path.open("a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                previous = self._last_hash(fh)
                entry: dict[str, Any] = {
                    "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                    "user": user, "role": role, "action": action,
                    "children": sorted(set(children)), "detail": detail or {},
                    "reason": reason, "prev": previous,
                }  # fmt: skip
                entry["hash"] = _digest(entry)
                fh.seek(0, os.SEEK_END)
                fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return entry

    def _last_hash(self, fh: io.TextIOBase) -> str:
        """The hash of the last entry. Reads back from the end in bytes, doubling the
        window until it holds the whole last line: an entry naming thousands of children
        (a county-wide list) can be longer than any fixed window."""
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return GENESIS
        with self.path.open("rb") as raw:
            block = 65_536
            while True:
                start = max(0, size - block)
                raw.seek(start)
                tail = raw.read(size - start).rstrip(b"\n")
                cut = tail.rfind(b"\n")
                if cut >= 0 or start == 0:
                    last = tail[cut + 1 :]
                    return json.loads(last.decode("utf-8"))["hash"] if last.strip() else GENESIS
                block *= 2

    def entries(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def verify(self) -> Broken | None:
        """The first entry where the chain breaks, or None when it is whole."""
        previous = GENESIS
        if not self.path.exists():
            return None
        with self.path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    return Broken(number, "not a valid entry")
                if entry.get("prev") != previous:
                    return Broken(
                        number,
                        "does not follow the entry before it (an entry was removed or reordered)",
                    )
                if entry.get("hash") != _digest(entry):
                    return Broken(number, "its content was changed after it was written")
                previous = entry["hash"]
        return None

    def about_child(self, uid: str) -> list[dict[str, Any]]:
        """Who has looked at this child's record, and when."""
        return [e for e in self.entries() if uid in e.get("children", [])]

    def export_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["at", "user", "role", "action", "children", "reason", "detail", "hash"])
        for e in self.entries():
            writer.writerow(
                [
                    e["at"],
                    e["user"],
                    e["role"],
                    e["action"],
                    " ".join(e["children"]),
                    e.get("reason") or "",
                    json.dumps(e["detail"], default=str),
                    e["hash"],
                ]
            )
        return out.getvalue()
