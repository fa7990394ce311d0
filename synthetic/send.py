"""Special educational needs: EHC plans, SEN support, and needs seen before school.

Targets are shares of pupils in Reception to Year 11 on the reference date. Some
children had SEN support or a plan that has since ended: those closed cases are kept,
because a query that counts open SEND cases must not count them.
"""

from __future__ import annotations

import datetime as dt
import random

from synthetic import rates
from synthetic.model import Case, County, Need, Person
from synthetic.population import days
from synthetic.sampling import risk_weight, weighted_sample

EARLY_NEEDS = {
    "SLCN": 0.5,
    "PD": 0.15,
    "ASD": 0.12,
    "SEMH": 0.1,
    "VI": 0.05,
    "MSI": 0.03,
    "OTH": 0.05,
}
SPECIAL_SCHOOL_NEEDS = {
    "SLD": 0.9,
    "PMLD": 1.0,
    "MSI": 0.7,
    "ASD": 0.45,
    "SEMH": 0.35,
    "HI": 0.25,
    "VI": 0.2,
    "PD": 0.3,
    "SLCN": 0.15,
    "MLD": 0.3,
}
# Age (years) at which each need is typically first identified.
IDENTIFIED_AGE = {
    "HI": (0.05, 3),
    "VI": (0.2, 4),
    "PMLD": (0.2, 2),
    "SLD": (1, 4),
    "PD": (0.3, 4),
    "MSI": (0.2, 3),
    "ASD": (2.5, 9),
    "SLCN": (2, 6),
    "SEMH": (5, 13),
    "MLD": (5, 9),
    "SpLD": (6, 11),
    "OTH": (3, 12),
    "NSA": (5, 12),
}


def _pick(table: dict[str, float], rng: random.Random) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


class Send:
    def __init__(self, county: County, rng: random.Random, risk: dict[str, float]) -> None:
        self.county = county
        self.rng = rng
        self.risk = risk
        self.as_of = county.as_of
        self._cases = 0
        self.ehcp_since: dict[str, dt.date] = {}
        self.special_from: dict[str, dt.date] = {}

    def _case_id(self) -> str:
        self._cases += 1
        return f"SEND{self._cases:07d}"

    def _since(self, child: Person, need: str) -> dt.date:
        low, high = IDENTIFIED_AGE[need]
        age_now = (self.as_of - child.dob).days / 365.25
        age = self.rng.uniform(low, min(high, max(low, age_now)))
        return min(self.as_of - dt.timedelta(days=7), child.dob + days(age))

    def _needs(self, child: Person, table: dict[str, float], since: dt.date) -> None:
        primary = _pick(table, self.rng)
        self.county.needs.append(Need(child.pid, primary, 1, since))
        if self.rng.random() < 0.35:
            secondary = _pick(table, self.rng)
            if secondary != primary:
                self.county.needs.append(Need(child.pid, secondary, 2, since))

    def assign(self, pupils: list[Person], under_fives: list[Person]) -> None:
        rng = self.rng
        weights = [
            risk_weight(self.risk.get(p.pid, 0), 0.5) * (2.0 if p.sex == "M" else 1.0)
            for p in pupils
        ]
        ehcp = weighted_sample(pupils, weights, round(rates.EHC_PLAN.value * len(pupils)), rng)
        for child in ehcp:
            need = _pick(rates.EHCP_PRIMARY_NEED, rng)
            since = self._since(child, need)
            issued = min(self.as_of - dt.timedelta(days=3), since + days(rng.uniform(0.3, 2)))
            self.county.needs.append(Need(child.pid, need, 1, since))
            if rng.random() < 0.4:
                second = _pick(rates.EHCP_PRIMARY_NEED, rng)
                if second != need:
                    self.county.needs.append(Need(child.pid, second, 2, since))
            self.county.cases.append(
                Case(
                    start=issued,
                    end=None,
                    case_id=self._case_id(),
                    child=child.pid,
                    kind="EHCP",
                    service="SEND",
                    reason=need,
                )
            )
            self.ehcp_since[child.pid] = issued
            if rng.random() < SPECIAL_SCHOOL_NEEDS.get(need, 0.05):
                self.special_from[child.pid] = issued
        taken = {c.pid for c in ehcp}
        rest = [p for p in pupils if p.pid not in taken]
        weights = [
            risk_weight(self.risk.get(p.pid, 0), 0.5) * (1.6 if p.sex == "M" else 1.0) for p in rest
        ]
        support = weighted_sample(rest, weights, round(rates.SEN_SUPPORT.value * len(pupils)), rng)
        for child in support:
            need = _pick(rates.SEN_SUPPORT_PRIMARY_NEED, rng)
            since = self._since(child, need)
            self.county.needs.append(Need(child.pid, need, 1, since))
            self.county.cases.append(
                Case(
                    start=since,
                    end=None,
                    case_id=self._case_id(),
                    child=child.pid,
                    kind="SEN support",
                    service="SEND",
                    reason=need,
                )
            )
        # Support that has ended: needs met, or moved on to a plan elsewhere.
        taken |= {c.pid for c in support}
        former = weighted_sample(
            [p for p in pupils if p.pid not in taken],
            [1.0] * (len(pupils) - len(taken)),
            round(0.04 * len(pupils)),
            rng,
        )
        for child in former:
            need = _pick(rates.SEN_SUPPORT_PRIMARY_NEED, rng)
            since = self._since(child, need)
            ended = since + days(rng.uniform(0.3, 3))
            if ended >= self.as_of:
                ended = self.as_of - dt.timedelta(days=rng.randint(10, 200))
            if ended <= since:
                continue
            self.county.cases.append(
                Case(
                    start=since,
                    end=ended,
                    case_id=self._case_id(),
                    child=child.pid,
                    kind="SEN support",
                    service="SEND",
                    reason=need,
                )
            )
        ceased = weighted_sample(
            [p for p in pupils if p.pid not in self.ehcp_since],
            [1.0] * (len(pupils) - len(self.ehcp_since)),
            round(0.004 * len(pupils)),
            rng,
        )
        for child in ceased:
            need = _pick(rates.EHCP_PRIMARY_NEED, rng)
            start = self._since(child, need)
            end = self.as_of - dt.timedelta(days=rng.randint(20, 700))
            if end > start:
                self.county.cases.append(
                    Case(
                        start=start,
                        end=end,
                        case_id=self._case_id(),
                        child=child.pid,
                        kind="EHCP",
                        service="SEND",
                        reason=need,
                    )
                )
        self._early_years(under_fives)

    def _early_years(self, under_fives: list[Person]) -> None:
        """Needs known before school: hearing loss from newborn screening, and others."""
        rng = self.rng
        hearing = weighted_sample(
            under_fives,
            [1.0] * len(under_fives),
            round(rates.PERMANENT_HEARING_LOSS_AT_BIRTH.value * len(under_fives) * 2),
            rng,
        )
        # x2: the rate is per birth and the screening finds bilateral and unilateral.
        chosen = {c.pid: "HI" for c in hearing}
        for child in hearing:
            self.county.needs.append(Need(child.pid, "HI", 1, child.dob + dt.timedelta(days=21)))
        others = weighted_sample(
            [c for c in under_fives if c.pid not in chosen and c.age_on(self.as_of) >= 1],
            [1.0]
            * sum(1 for c in under_fives if c.pid not in chosen and c.age_on(self.as_of) >= 1),
            round(rates.EARLY_YEARS_IDENTIFIED_NEED.value * len(under_fives)),
            rng,
        )
        for child in others:
            need = _pick(EARLY_NEEDS, rng)
            since = self._since(child, need)
            self.county.needs.append(Need(child.pid, need, 1, since))
            chosen[child.pid] = need
        for child in hearing + others:
            if rng.random() < 0.15:
                issued = min(self.as_of - dt.timedelta(days=3), child.dob + days(rng.uniform(1, 4)))
                if issued > child.dob:
                    self.county.cases.append(
                        Case(
                            start=issued,
                            end=None,
                            case_id=self._case_id(),
                            child=child.pid,
                            kind="EHCP",
                            service="SEND",
                            reason=chosen[child.pid],
                        )
                    )
                    self.ehcp_since[child.pid] = issued
