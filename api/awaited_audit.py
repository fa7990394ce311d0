"""The audit trail from the event loop: each request waits for its own entry to be on
disk before it answers, without a thread of its own.

Entries recorded while a group is being written wait on the loop and are written next,
together, by one worker thread (:meth:`AuditLog.record_many`: one group commit, two
fsyncs). Before, every request handed its whole answer to a worker thread, and back;
now a group of entries makes the one trip. An entry is written even if its request
is abandoned meanwhile (a partner that hangs up was still answered, or refused).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import Any

from graph.access.audit import AuditLog


@dataclass
class _Queue:
    """One event loop's entries waiting, and whether a group of them is being written."""

    waiting: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = field(
        default_factory=list
    )
    writer: asyncio.Task[None] | None = None


class AwaitedAudit:
    """``await record(...)``: :meth:`AuditLog.record` for code on an event loop."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        # a queue for each loop recording (a test client runs a loop a request)
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def record(self, **fields: Any) -> dict[str, Any]:
        """Append one entry (as :meth:`AuditLog.record` takes it); return it with its
        hash once it is durable."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        done: asyncio.Future[dict[str, Any]] = loop.create_future()
        queue.waiting.append((fields, done))
        if queue.writer is None or queue.writer.done():
            queue.writer = loop.create_task(self._write(queue))
        return await asyncio.shield(done)

    async def _write(self, queue: _Queue) -> None:
        loop = asyncio.get_running_loop()
        while queue.waiting:
            group, queue.waiting = queue.waiting, []
            try:
                entries = await loop.run_in_executor(
                    None, self.audit.record_many, [f for f, _ in group]
                )
            except Exception as exc:
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), entry in zip(group, entries, strict=True):
                if not done.done():
                    done.set_result(entry)
