"""Who an enquiry is about, by the loader's own identity resolution.

In the loader's order of trust: a checked NHS number first (with the loader's guard: a
number whose holder's birth date *and* given name both disagree is a keying error, not
a match); then the rule by which a load joins a new record to a person already known
(the same given or preferred name, family name and birth date, as the loader compares
them); then the loader's trained probabilistic comparisons and thresholds
(:class:`loaders.scoring.Scorer`). Anything between the review and the match threshold,
or more than one person above it, is a *possible* match: the answer is "no automatic
match, refer to the contact", and nothing about those people leaves this module but
their uids, for the audit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from api.fhir import Enquiry
from graph import exchange
from graph.engines.async_reads import AsyncReads
from loaders.linkage import Identity, conflicting, plain, swapped_day_month
from loaders.scoring import Scorer

Grade = Literal["certain", "probable", "possible", "certainly-not"]


@dataclass(frozen=True)
class Outcome:
    grade: Grade
    uid: str | None = None  # the person matched, when matched
    possible: tuple[str, ...] = ()  # people it might be (audit only)
    how: str = ""  # which rule decided, for the audit
    agreed: str = ""
    # the matched person's involvements, when read with the match (None: not read)
    cases: tuple[dict[str, Any], ...] | None = field(default=None, repr=False)

    @property
    def matched(self) -> bool:
        return self.uid is not None


@dataclass
class Matcher:
    reads: AsyncReads
    scorer: Scorer | None
    limit: int = 200
    # people read a name and birth date enquiry: born that day, and scored (benchmarks)
    read: Counter[str] = field(default_factory=Counter)

    async def match(self, enquiry: Enquiry, *, involvements: bool = False) -> Outcome:
        """Who the enquiry is about. ``involvements``: the caller may have them, so an
        NHS number's holder's are read with the match."""
        if enquiry.nhs:
            found = await exchange.by_nhs_number(self.reads, enquiry.nhs, involvements=involvements)
            if len(found) == 1:
                person = found[0]
                if conflicting(_query(enquiry, enquiry.given), _identity(person)):
                    return Outcome("possible", possible=(person["uid"],), how="nhs_conflict")
                return Outcome("certain", person["uid"], how="nhs_number", cases=_cases(person))
            if len(found) > 1:
                return Outcome(
                    "possible", possible=tuple(r["uid"] for r in found), how="nhs_shared"
                )
        if not (enquiry.family and enquiry.given and enquiry.dob):
            return Outcome("certainly-not", how="nhs_number_unknown")
        return await self._by_demographics(enquiry)

    async def _by_demographics(self, enquiry: Enquiry) -> Outcome:
        givens = [enquiry.given, *enquiry.preferred]
        dobs = [enquiry.dob]
        swapped = swapped_day_month(enquiry.dob)
        if swapped:
            dobs.append(swapped)
        names = [f"{g} {enquiry.family}" for g in givens]
        born = await exchange.born_on(self.reads, dobs, names, limit=self.limit)
        self.read.update(enquiries=1, born_that_day=len(born))
        # the loader's rule for joining a record to someone known: exact name and birth
        # date (only those born that day can meet it, so the name search below, which
        # finds people whatever their birth date, is not needed to decide it; nor is
        # anything but their names and birth date)
        wanted = {(plain(g), plain(enquiry.family), enquiry.dob) for g in givens}
        exact = sorted(
            {
                p["uid"]
                for p in born
                for v in _variants(p)
                if (plain(v.given), plain(v.family), v.dob) in wanted
            }
        )
        if len(exact) == 1:
            return Outcome("certain", exact[0], how="name_and_birth_date")
        if len(exact) > 1:
            return Outcome("possible", possible=tuple(exact), how="name_and_birth_date_shared")
        people = await exchange.identities(self.reads, [p["uid"] for p in born])
        people += await exchange.named(self.reads, names, limit=self.limit, besides=people)
        self.read.update(scored_enquiries=1, scored=len(people))
        if not people:
            return Outcome("certainly-not", how="no_candidates")
        if self.scorer is None:
            family = plain(enquiry.family)
            close = sorted(
                p["uid"]
                for p in people
                if _iso(p.get("dob")) == enquiry.dob and plain(p.get("family") or "") == family
            )
            if close:
                return Outcome("possible", possible=tuple(close), how="no_model")
            return Outcome("certainly-not", how="no_model")
        # in a thread: a candidate too near a level's threshold to decide in Python is
        # scored by DuckDB, tens of milliseconds the event loop would otherwise stand still
        return await asyncio.to_thread(self._scored, enquiry, givens, people)

    def _scored(self, enquiry: Enquiry, givens: list[str], people: list[dict[str, Any]]) -> Outcome:
        assert self.scorer is not None
        variants: list[Identity] = []
        owner: dict[str, str] = {}
        for person in people:
            for v in _variants(person):
                variants.append(v)
                owner[v.rid] = person["uid"]
        best: dict[str, tuple[float, str]] = {}
        for given in givens:
            for s in self.scorer.score(_query(enquiry, given), variants):
                uid = owner[s.rid]
                if s.probability > best.get(uid, (-1.0, ""))[0]:
                    best[uid] = (s.probability, s.agreed)
        above = sorted(u for u, (p, _) in best.items() if p >= self.scorer.match_threshold)
        if len(above) == 1:
            return Outcome("probable", above[0], how="probabilistic", agreed=best[above[0]][1])
        review = sorted(u for u, (p, _) in best.items() if p >= self.scorer.review_threshold)
        if review:
            return Outcome("possible", possible=tuple(review), how="probabilistic")
        return Outcome("certainly-not", how="probabilistic")


def _cases(person: dict[str, Any]) -> tuple[dict[str, Any], ...] | None:
    """The person's involvements, if the read that found them read those too."""
    return tuple(person["cases"]) if person.get("cases_read") else None


def _query(enquiry: Enquiry, given: str) -> Identity:
    return Identity(
        rid="?enquiry",
        given=given,
        family=enquiry.family,
        dob=enquiry.dob,
        sex=enquiry.sex,
        postcode=enquiry.postcode,
        nhs=enquiry.nhs,
    )


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value or "")


def _identity(
    row: dict[str, Any], rid: str | None = None, given: str | None = None, family: str | None = None
) -> Identity:
    return Identity(
        rid=rid or row["uid"],
        given=given if given is not None else row.get("given") or "",
        family=family if family is not None else row.get("family") or "",
        dob=_iso(row.get("dob")),
        sex=row.get("sex") or "",
        postcode=row.get("postcode") or "",
        upn=row.get("upn") or "",
        nhs=row.get("nhs") or "",
        uln=row.get("uln") or "",
        la_id=row.get("la_id") or "",
    )


def _variants(row: dict[str, Any]) -> list[Identity]:
    """The person as recorded, and once for each other spelling of their name the
    sources gave (kept in ``other_names`` as whole names)."""
    out = [_identity(row)]
    for i, name in enumerate((row.get("other_names") or "").split(" | ")):
        words = name.split()
        if len(words) >= 2:
            out.append(_identity(row, f"{row['uid']}#{i}", words[0], words[-1]))
    return out
