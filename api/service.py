"""Answering an enquiry for a client: the agreement's reasons and level, matching, the
answer, and the audit entry - the operation's rules in one place, apart from HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from api import fhir
from api.awaited_audit import AwaitedAudit
from api.clients import Client
from api.fhir import Enquiry, Invalid, Resource
from api.matching import Matcher, Outcome
from api.settings import ApiSettings
from api.standard import REASON_BY_URI, level_at_least
from graph import exchange
from graph.access.audit import AuditLog
from graph.engines.async_reads import AsyncReads
from graph.exchange import ENQUIRY, REFUSED

NOTE_POSSIBLE = (
    "No automatic match: someone here may know this person, but not with the certainty "
    "an automatic answer needs. Refer to the contact."
)


def partner_role(client: Client | None) -> str:
    return f"partner: {client.organisation}" if client is not None else "partner: unknown"


@dataclass
class Exchange:
    """Answers enquiries on the server's event loop: the engine's reads and the audit
    entry are awaited, nothing else waits."""

    reads: AsyncReads
    matcher: Matcher
    settings: ApiSettings
    audit: AuditLog

    @cached_property
    def trail(self) -> AwaitedAudit:
        """The audit trail, awaited (each answer waits for its entry to be on disk)."""
        return AwaitedAudit(self.audit)

    @cached_property
    def contact(self) -> Resource:
        """The contact answers give (from the settings: validated once)."""
        return fhir.organisation(self.settings)

    async def refuse(
        self, client: Client | None, error: Invalid, *, client_id: str = "", extra: Any = None
    ) -> None:
        """Audit a request that was not answered, and why."""
        await self.trail.record(
            user=client.client_id if client is not None else client_id or "unknown",
            role=partner_role(client),
            action=REFUSED,
            detail={"status": error.status, "why": error.diagnostics, **(extra or {})},
        )

    async def answer(self, client: Client, body: bytes, request_id: str) -> bytes:
        """:meth:`enquire`, written as FHIR JSON."""
        return fhir.dump(await self.enquire(client, body, request_id))

    async def enquire(self, client: Client, body: bytes, request_id: str) -> Resource:
        """The answer to one ``$person-info-query``; :class:`Invalid` when refused (the
        caller audits refusals: :meth:`refuse`)."""
        enquiry = fhir.read_enquiry(body)
        if not await self.reads.indexes_ready():  # a search now could miss who is there
            raise Invalid(
                503,
                "transient",
                "the graph is rebuilding its indexes after a restart; ask again shortly",
            )
        if enquiry.reason not in client.reasons:
            raise Invalid(
                403,
                "forbidden",
                f"your data-sharing agreement does not cover the reason {enquiry.reason} "
                f"({REASON_BY_URI[enquiry.reason].title}); it covers: {', '.join(client.reasons)}",
            )
        wanted = level_at_least(client.level, "involvements")
        outcome = await self.matcher.match(enquiry, involvements=wanted)
        response, returned = await self._answer(client, enquiry, outcome)
        touched = [outcome.uid] if outcome.uid else list(outcome.possible)
        await self.trail.record(
            user=client.client_id,
            role=partner_role(client),
            action=ENQUIRY,
            children=touched,
            reason=enquiry.reason,
            detail={
                "request": request_id,
                "agreement": client.agreement,
                "level": client.level,
                "asked_with": enquiry.summary()["with"],
                "outcome": "match" if outcome.matched else outcome.grade,
                "rule": outcome.how,
                "returned": returned,
            },
        )
        return response

    async def _answer(
        self, client: Client, enquiry: Enquiry, outcome: Outcome
    ) -> tuple[Resource, list[str]]:
        contact = None
        returned = ["match"]
        if level_at_least(client.level, "contact") and outcome.grade != "certainly-not":
            contact = self.contact
            returned.append("contact")
        episodes = []
        if outcome.uid and level_at_least(client.level, "involvements"):
            rows = outcome.cases
            if rows is None:  # not read with the match (matched by name and birth date)
                rows = await exchange.involvements(self.reads, outcome.uid)
            episodes = [fhir.episode(r, self.settings, enquiry) for r in rows]
            returned.append(f"involvements: {len(episodes)}")
        note = NOTE_POSSIBLE if outcome.grade == "possible" else None
        response = fhir.answer(
            match=outcome.matched,
            grade=outcome.grade,
            contact=contact,
            involvements=episodes,
            note=note,
        )
        return response, returned
