"""The audit trail from the event loop: each request waits for its own entry to be on
disk before it answers.

Each entry is recorded by :meth:`AuditLog.record` in a thread of a pool of the trail's
own, so entries recorded at the same moment are written together by the log's group
commit (two fsyncs for the group), as when every answer was worked out in a thread.
Only the entry makes the trip to a thread; the engine's reads are awaited on the loop.

Gathering a loop's entries and handing each group to one writer thread was measured
too, and answered slower under load: that thread waits for the busy loop's hold on the
interpreter after each of its dozen file calls, and the group waits with it.
An entry is written even if its request is abandoned meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from graph.access.audit import AuditLog

# as many entries in writing at once as the thread hand-off of FastAPI's own pool allowed
WRITERS = 40


class AwaitedAudit:
    """``await record(...)``: :meth:`AuditLog.record` for code on an event loop."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self._pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="audit")

    async def record(self, **fields: Any) -> dict[str, Any]:
        """Append one entry (as :meth:`AuditLog.record` takes it); return it with its
        hash once it is durable."""
        loop = asyncio.get_running_loop()
        write = functools.partial(self.audit.record, **fields)
        return await asyncio.shield(loop.run_in_executor(self._pool, write))
