"""The reads behind the data exchange API: finding the person an enquiry is about, and
what may be said of them.

Only identity fields reach the API for people who are not matched (it scores them and
says nothing of them). Involvements are read only for a caller whose agreement allows
them: by NHS number in the same read as the match (the number's holder's), otherwise
once the match is decided; the API hands on only the matched person's. Read awaited
(:mod:`graph.engines.async_reads`): the API answers on an event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph.cypher import cypher
from graph.engines.async_reads import AsyncReads
from graph.store import fuzzy_terms

# The audit trail's names for exchanges (the API writes them, the record page reads them)
ENQUIRY = "partner_enquiry"  # a partner asked about a child, and was answered
REFUSED = "partner_enquiry_refused"  # a request that was not answered, and why
NOTIFIED = "partner_notification"  # a partner told us of a change
ASKED = "ask_partner"  # one of ours asked a partner


# Two ways of finding people, each returning the same identity fields (written out
# whole: the portability guard checks each statement as one text).
BY_NHS_NUMBER = cypher(
    "exchange.by_nhs_number",
    """
    MATCH (p:Person) WHERE p.nhs_number = $nhs
    OPTIONAL MATCH (p)-[r:LIVES_AT]->(a:Address)
    WHERE r.to IS NULL
    WITH p, collect(a.postcode) AS postcodes
    LIMIT 20
    WITH p, postcodes, CASE WHEN $involvements THEN p END AS asked
    OPTIONAL MATCH (asked)-[:HAS_CASE]->(c:Case)-[:WITH_SERVICE]->(s:Service)
    OPTIONAL MATCH (c)<-[w:WORKS_ON]-(pro:Professional)
    WHERE w.to IS NULL OR c.status = 'closed'
    OPTIONAL MATCH (pro)-[:IN_TEAM]->(t:Team)
    WITH p, postcodes, c, s, pro, t
    ORDER BY pro.uid
    WITH p, postcodes, c, s,
         collect({role: pro.role, agency: pro.agency, team: coalesce(t.name, pro.team),
                  email: pro.email, phone: pro.phone})[0] AS lead
    ORDER BY c.status DESC, c.start DESC, c.uid
    WITH p, postcodes,
         collect(CASE WHEN c IS NULL THEN NULL ELSE
                 {uid: c.uid, kind: c.kind, status: c.status, start: c.start, end: c.end,
                  service: s.uid, service_name: s.name, lead: lead} END) AS cases
    RETURN p.uid AS uid, p.given_name AS given, p.family_name AS family,
           p.other_names AS other_names, p.dob AS dob, p.sex AS sex, p.upn AS upn,
           p.nhs_number AS nhs, p.uln AS uln, p.la_child_id AS la_id,
           postcodes[0] AS postcode, $involvements AS cases_read, cases
    """,
    example={"nhs": "9434765919", "involvements": True},
)
BY_UIDS = cypher(
    "exchange.by_uids",
    """
    UNWIND $uids AS id
    MATCH (p:Person {uid: id})
    OPTIONAL MATCH (p)-[r:LIVES_AT]->(a:Address)
    WHERE r.to IS NULL
    WITH p, collect(a.postcode) AS postcodes
    RETURN p.uid AS uid, p.given_name AS given, p.family_name AS family,
           p.other_names AS other_names, p.dob AS dob, p.sex AS sex, p.upn AS upn,
           p.nhs_number AS nhs, p.uln AS uln, p.la_child_id AS la_id,
           postcodes[0] AS postcode
    """,
    example={"uids": ["P-x"]},
)
# People born on one of some days, by the birth date's key (FalkorDB's range index
# serves no dates, so ``p.dob IN ...`` would read every person): their names and birth
# date only, enough to find an exact match without reading anyone's address. (Reading
# the involvements of those named exactly in the same statement saved the API a read
# but cost the engine more than it saved, measured at 100,000 children.)
BORN_ON = cypher(
    "exchange.born_on",
    """
    MATCH (p:Person) WHERE p.dob_key IN $born
    RETURN p.uid AS uid, p.full_name AS name, p.given_name AS given, p.family_name AS family,
           p.other_names AS other_names, p.dob AS dob
    ORDER BY uid
    LIMIT $most
    """,
    example={"born": ["2015-03-04"], "most": 10},
)
INVOLVEMENTS = cypher(
    "exchange.involvements",
    """
    MATCH (p:Person {uid: $uid})-[:HAS_CASE]->(c:Case)-[:WITH_SERVICE]->(s:Service)
    OPTIONAL MATCH (c)<-[w:WORKS_ON]-(pro:Professional)
    WHERE w.to IS NULL OR c.status = 'closed'
    OPTIONAL MATCH (pro)-[:IN_TEAM]->(t:Team)
    WITH c, s, pro, t
    ORDER BY pro.uid
    WITH c, s, collect({role: pro.role, agency: pro.agency, team: coalesce(t.name, pro.team),
                        email: pro.email, phone: pro.phone})[0] AS lead
    RETURN c.uid AS uid, c.kind AS kind, c.status AS status, c.start AS start,
           c.end AS end, s.uid AS service, s.name AS service_name, lead
    ORDER BY status DESC, start DESC, uid
    """,
    example={"uid": "P-x"},
)


async def by_nhs_number(
    reads: AsyncReads, nhs: str, *, involvements: bool = False
) -> list[dict[str, Any]]:
    """People holding this (checked) NHS number: one, unless the data disagree. With
    ``involvements``, each comes with their ``cases`` (as :func:`involvements` gives
    them) in the same read."""
    return (await reads.read(BY_NHS_NUMBER, {"nhs": nhs, "involvements": involvements})).rows


async def born_on(
    reads: AsyncReads, dobs: list[str], names: list[str], *, limit: int
) -> list[dict[str, Any]]:
    """People who might be the one asked about, born on one of ``dobs`` (the date and its
    day-month swap): those with a word of their names starting with the letter a word
    of one of ``names`` starts with (the load's own blocking compares records born the
    same day whose given or family names share an initial; here in any order, so
    swapped names and other names count too); at most ``limit``. Only their names and
    birth dates: :func:`identities` reads the rest, for those it is needed for."""
    initials = {w[0] for text in names for w in fuzzy_terms(text)}
    if not (dobs and initials):
        return []
    rows = (await reads.read(BORN_ON, {"born": dobs, "most": limit * 10})).rows
    return [
        r
        for r in rows
        if initials & {w[0] for w in fuzzy_terms(f"{r['name'] or ''} {r['other_names'] or ''}")}
    ][:limit]


async def identities(reads: AsyncReads, uids: Sequence[str]) -> list[dict[str, Any]]:
    """The identity fields of these people (names, birth date, sex, identifiers, the
    postcode of where they live now), for scoring."""
    return (await reads.read(BY_UIDS, {"uids": list(uids)})).rows if uids else []


async def named(
    reads: AsyncReads, names: list[str], *, limit: int, besides: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """People the typo-tolerant search for one of ``names`` (whole) finds whatever their
    birth date, other than those ``besides`` (already found), so that together they are
    at most ``limit``."""
    known = {r["uid"] for r in besides}
    uids: dict[str, None] = {}
    for text in names:
        for r in await reads.search_people(text, limit=20):
            if r["uid"] not in known:
                uids.setdefault(r["uid"])
    room = limit - len(known)
    return await identities(reads, list(uids)[:room]) if room > 0 else []


async def involvements(reads: AsyncReads, uid: str) -> list[dict[str, Any]]:
    """A person's cases with their service and the lead professional's team and contact
    (role, team, email, phone: never the professional's name)."""
    return (await reads.read(INVOLVEMENTS, {"uid": uid})).rows
