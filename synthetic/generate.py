"""``jigsaw generate``: a synthetic county, deterministic for a seed.

Order matters, because later steps read earlier ones: people and homes, then risk,
schools, SEND, school rolls, identifiers, care services, attendance and the rest,
then the workforce that holds the cases, then the extracts and the truth.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from loaders.progress import Progress, Silent
from synthetic import calendar as cal
from synthetic import identifiers as ids
from synthetic import rates
from synthetic.boundaries import write_boundaries
from synthetic.care import Care
from synthetic.education import Education
from synthetic.extracts import SOURCE_MESS, Writers
from synthetic.geography import Geography
from synthetic.model import County, Enrolment
from synthetic.names import NameMaker
from synthetic.population import PopulationBuilder, days
from synthetic.send import Send
from synthetic.truth import write_truth

GENERATOR_VERSION = "1"
HOME_LA = "940"
# LAs whose UPNs in-movers bring (real codes, including the 2019-2023 new ones).
OTHER_LAS = (
    "881",
    "882",
    "883",
    "935",
    "919",
    "873",
    "874",
    "838",
    "839",
    "940",
    "941",
    "942",
    "943",
    "928",
    "909",
    "826",
    "825",
    "926",
    "315",
    "311",
)


def _risk(county: County, rng: random.Random) -> dict[str, float]:
    """A latent adversity score: household-level, deprivation-linked, plus noise."""
    first_home: dict[str, str] = {}
    for m in county.memberships:
        first_home.setdefault(m.person, m.family)
    splits: dict[str, int] = defaultdict(int)
    for p in county.partnerships:
        if p.end is not None:
            splits[p.a] += 1
    household_risk: dict[str, float] = {}
    mothers = {m.family: m.person for m in county.memberships if m.role == "mother"}
    risk = {}
    for person in county.people:
        hid = first_home.get(person.pid, "")
        if hid not in household_risk:
            uprn = next((r.uprn for r in person.residences), None)
            decile = county.imd_of(uprn) if uprn else 5
            household_risk[hid] = (
                rng.gauss(0, 0.8)
                + (5.5 - (decile or 5)) / 3
                + 0.35 * splits.get(mothers.get(hid, ""), 0)
            )
        risk[person.pid] = household_risk[hid] + rng.gauss(0, 0.6)
    return risk


def _identifiers(county: County, edu: Education, rng: random.Random) -> None:
    """UPNs at first school entry; ULNs from Year 10; all distinct."""
    upns: set[str] = set()
    serial: dict[tuple[str, str, str], int] = defaultdict(int)
    first_roll: dict[str, Enrolment] = {}
    for e in county.enrolments:
        school = county.by_urn[e.urn]
        if school.phase == "Children's centre":
            continue
        if e.child not in first_roll or e.start < first_roll[e.child].start:
            first_roll[e.child] = e
    ulns: set[str] = set()
    now_year = cal.academic_year(county.as_of)
    for pid in sorted(first_roll):
        person = county.by_person[pid]
        entry = first_roll[pid]
        la = HOME_LA if rng.random() > 0.12 else rng.choice(OTHER_LAS)
        estab = (
            county.by_urn[entry.urn].la_estab[3:]
            if la == HOME_LA
            else (f"{rng.randint(2000, 5999):04d}")
        )
        year = f"{entry.start.year % 100:02d}"
        while True:
            serial[(la, estab, year)] += 1
            n = serial[(la, estab, year)]
            if n > 99:
                estab = f"{(int(estab) + 1) % 10000:04d}"
                continue
            upn = ids.upn(la, estab, year, f"{n:02d}")
            if upn not in upns:
                upns.add(upn)
                person.upn = upn
                break
        if cal.year_group(person.dob, now_year) >= 10 and rng.random() < 0.85:
            while True:
                uln = ids.uln(f"{rng.randint(100_000_000, 999_999_999)}")
                if uln and uln not in ulns:
                    ulns.add(uln)
                    person.uln = uln
                    break


def _childrens_centres(county: County, edu: Education, rng: random.Random) -> None:
    centres = [s for s in county.schools if s.phase == "Children's centre"]
    if not centres:
        return
    for child in county.children():
        if child.age_on(county.as_of) >= 5 or rng.random() >= (
            rates.CHILDRENS_CENTRE_REGISTRATION.value
        ):
            continue
        registered = child.dob + days(rng.uniform(0.1, 1.5))
        if registered >= county.as_of:
            continue
        home = child.address_on(registered)
        urn = edu._choose(home, "Children's centre") if home else None
        if urn:
            edu._add(Enrolment(start=registered, end=None, child=child.pid, urn=urn))


def generate(
    n_children: int,
    seed: int,
    out: Path,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
    returns: bool = False,
) -> dict[str, object]:
    """Write the extracts and the truth for a county of ``n_children`` under-18s;
    ``returns``: its statutory returns too (:mod:`synthetic.returns.write`)."""
    started = time.perf_counter()
    as_of = as_of or dt.date.today()
    bar = progress or Silent()
    rng = random.Random(seed)
    county = County(as_of=as_of, seed=seed, la_code=HOME_LA)
    geo = Geography(county, rng, n_children)
    names = NameMaker(seed, rng)
    builder = PopulationBuilder(county, geo, names, rng)
    bar.stage("families and homes", n_children)
    builder.build(n_children, bar)
    bar.stage("schools and SEND", 4)
    risk = _risk(county, rng)
    edu = Education(county, rng, risk)
    edu.build_schools()
    bar.advance()
    send = Send(county, rng, risk)
    now_year = cal.academic_year(as_of)
    children = county.children()
    pupils = [c for c in children if 0 <= cal.year_group(c.dob, now_year) <= 11]
    send.assign(pupils, [c for c in children if c.age_on(as_of) < 5])
    edu.special_from = send.special_from
    bar.advance()
    edu.enrol_everyone()
    bar.advance()
    _childrens_centres(county, edu, rng)
    _identifiers(county, edu, rng)
    bar.advance()
    bar.stage("services and cases", 3)
    care = Care(county, rng, risk, builder, geo, seed)
    care.social_care()
    care.early_help()
    care.youth_justice()
    care.health_visiting()
    bar.advance()
    open_care = {
        c.child: 0.8 for c in county.cases if c.end is None and c.kind in ("CIN", "CP", "CLA", "YJ")
    }
    edu.attendance(open_care)
    edu.exclusions()
    edu.free_school_meals()
    lone = _lone_parent_children(county)
    edu.young_carers(lone)
    edu.transport(send.ehcp_since)
    edu.offers()
    care.education_welfare(edu.absence_propensity)
    bar.advance()
    care.workforce()
    care.notes()
    bar.advance()

    def school_of(pid: str, day: dt.date) -> str | None:
        enrolment = edu.enrolment_on(pid, day)
        return enrolment.urn if enrolment else None

    out.mkdir(parents=True, exist_ok=True)
    writers = Writers(county, rng, out, school_of)
    steps = (
        writers.reference,
        lambda: writers.school_census(edu),
        writers.attendance,
        writers.exclusions,
        writers.ehcp_register,
        writers.social_care,
        writers.early_help,
        writers.health_visiting,
        writers.childrens_centres,
        writers.youth_justice,
        writers.council_tax,
        writers.transport,
        writers.young_carers,
        writers.admissions,
        lambda: write_boundaries(county, out),
    )
    bar.stage("writing extracts", len(steps))
    for write in steps:
        write()
        bar.advance()
    if returns:
        from synthetic.returns.write import write_returns

        bar.stage("writing statutory returns", 1)
        write_returns(county, writers, out, seed)
        bar.advance()
    bar.stage("writing ground truth", 1)
    truth_counts = write_truth(county, writers.sink, out)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "children_requested": n_children,
        "children": len(children),
        "people": len(county.people),
        "la_code": HOME_LA,
        "extracts": {
            path: {"rows": rows, "sha256": _sha256(out / path.split("#")[0])}
            for path, rows in sorted(writers.sink.files.items())
        },
        "truth": truth_counts,
        "rates": {
            name: {"value": r.value, "source": r.source}
            for name, r in sorted(vars(rates).items())
            if isinstance(r, rates.Rate)
        },
        "mess": {
            name: {k: v for k, v in asdict(m).items() if v}
            for name, m in sorted(SOURCE_MESS.items())
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    bar.advance()
    manifest["seconds"] = round(time.perf_counter() - started, 2)
    return manifest


def _lone_parent_children(county: County) -> set[str]:
    adults_in: dict[str, int] = defaultdict(int)
    child_home: dict[str, str] = {}
    for m in county.memberships:
        if m.end is None:
            if m.role in ("mother", "father", "partner", "carer", "adult"):
                adults_in[m.family] += 1
            elif m.role == "child":
                child_home[m.person] = m.family
    return {pid for pid, hid in child_home.items() if adults_in[hid] == 1}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
