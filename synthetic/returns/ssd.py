"""The Standard Safeguarding Dataset: one CSV per ``ssd_`` table, as a council's SSD
extract writes it (item names from data-to-insight's ssd-data-model object definitions).

The SSD keeps no names: a person is the case system's id with sex, ethnicity and date
of birth. Postcodes are written without their space, as the SSD's guidance asks.
Placements and looked-after reviews name their episode, not the child; child
protection reviews name their plan.
"""

from __future__ import annotations

from synthetic.mess import Defect
from synthetic.returns.base import ReturnWriter
from synthetic.writer import Extract, RowTruth

SOURCE = "ssd"
TABLES = {
    "ssd_person": [
        "pers_person_id",
        "pers_sex",
        "pers_gender",
        "pers_ethnicity",
        "pers_dob",
        "pers_common_child_id",
        "pers_upn_unknown",
        "pers_send_flag",
        "pers_death_date",
        "pers_is_mother",
    ],
    "ssd_family": ["fami_family_id", "fami_person_id"],
    "ssd_address": [
        "addr_table_id",
        "addr_address_json",
        "addr_person_id",
        "addr_address_type",
        "addr_address_start_date",
        "addr_address_end_date",
        "addr_address_postcode",
    ],
    "ssd_disability": ["disa_person_id", "disa_table_id", "disa_disability_code"],
    "ssd_immigration_status": [
        "immi_person_id",
        "immi_immigration_status_id",
        "immi_immigration_status",
        "immi_immigration_status_start_date",
        "immi_immigration_status_end_date",
    ],
    "ssd_cin_episodes": [
        "cine_referral_id",
        "cine_person_id",
        "cine_referral_date",
        "cine_cin_primary_need_code",
        "cine_referral_source_code",
        "cine_referral_nfa",
        "cine_close_reason",
        "cine_close_date",
    ],
    "ssd_cin_assessments": [
        "cina_assessment_id",
        "cina_person_id",
        "cina_referral_id",
        "cina_assessment_start_date",
        "cina_assessment_auth_date",
    ],
    "ssd_s47_enquiry": [
        "s47e_s47_enquiry_id",
        "s47e_referral_id",
        "s47e_person_id",
        "s47e_s47_start_date",
    ],
    "ssd_cin_plans": [
        "cinp_cin_plan_id",
        "cinp_referral_id",
        "cinp_person_id",
        "cinp_cin_plan_start",
        "cinp_cin_plan_end",
    ],
    "ssd_cp_plans": [
        "cppl_cp_plan_id",
        "cppl_referral_id",
        "cppl_person_id",
        "cppl_cp_plan_start_date",
        "cppl_cp_plan_end_date",
        "cppl_cp_plan_initial_category",
        "cppl_cp_plan_latest_category",
    ],
    "ssd_cp_reviews": ["cppr_cp_review_id", "cppr_cp_plan_id", "cppr_cp_review_date"],
    "ssd_cla_episodes": [
        "clae_cla_episode_id",
        "clae_person_id",
        "clae_cla_episode_start_date",
        "clae_cla_episode_start_reason",
        "clae_cla_primary_need_code",
        "clae_cla_episode_ceased",
        "clae_cla_episode_ceased_reason",
    ],
    "ssd_cla_placement": [
        "clap_cla_placement_id",
        "clap_cla_episode_id",
        "clap_cla_placement_start_date",
        "clap_cla_placement_type",
        "clap_cla_placement_urn",
        "clap_cla_placement_provider",
        "clap_cla_placement_postcode",
        "clap_cla_placement_end_date",
        "clap_cla_placement_change_reason",
    ],
    "ssd_cla_reviews": [
        "clar_cla_review_id",
        "clar_cla_episode_id",
        "clar_cla_review_date",
        "clar_cla_review_participation",
    ],
    "ssd_missing": [
        "miss_table_id",
        "miss_la_person_id",
        "miss_mis_epi_start",
        "miss_mis_epi_type",
        "miss_mis_epi_end",
    ],
    "ssd_care_leavers": [
        "clea_table_id",
        "clea_person_id",
        "clea_care_leaver_in_touch",
        "clea_care_leaver_accommodation",
        "clea_care_leaver_activity",
    ],
    "ssd_involvements": [
        "invo_involvements_id",
        "invo_professional_id",
        "invo_involvement_start_date",
        "invo_involvement_end_date",
        "invo_person_id",
    ],
}
CATEGORY_TEXT = {
    "NEG": "Neglect",
    "PHY": "Physical abuse",
    "SAB": "Sexual abuse",
    "EMO": "Emotional abuse",
    "MUL": "Multiple",
}


def _d(day: object) -> str:
    return day.isoformat() if day else ""  # type: ignore[attr-defined]


class Ssd(ReturnWriter):
    def write(self) -> None:
        self.tables = {
            name: Extract(SOURCE, f"returns/ssd/{name}.csv", columns, self.rng)
            for name, columns in TABLES.items()
        }
        self._people()
        self._children_in_need()
        self._looked_after()
        for extract in self.tables.values():
            extract.write(self.root, self.sink)

    def add(self, table: str, pid: str, entity: str, values: dict, log: list | None = None) -> None:
        self.tables[table].add(
            values, RowTruth(pid, entity=entity, key=self.la_id(pid), defects=log or [])
        )

    def _households(self) -> dict[str, str]:
        """Each person's household now (their family group in the case system)."""
        now = self.county.as_of
        return {m.person: m.family for m in self.county.memberships if m.covers(now)}

    def _people(self) -> None:
        h = self.history
        subjects = {*h.children_in_need(), *h.looked_after(), *(c.child for c in h.leavers)}
        household = self._households()
        # the case system knows a child's family group: the other children at home too
        members: dict[str, set[str]] = {}
        for pid, family in household.items():
            members.setdefault(family, set()).add(pid)
        relatives = {
            other
            for pid in subjects
            for other in members.get(household.get(pid, ""), ())
            if other not in subjects and self.person(other).age_on(self.county.as_of) < 18
        }
        people = sorted(subjects | relatives, key=self.la_id)
        ehcp = {c.child for c in self.county.cases if c.kind == "EHCP" and c.end is None}
        for n, pid in enumerate(people, start=1):
            person = self.person(pid)
            log: list[Defect] = []
            nhs = self.mess.identifier(
                person.nhs, "pers_common_child_id", self.mess_rates, log, missing=0.2
            )
            self.add(
                "ssd_person",
                pid,
                "person",
                {
                    "pers_person_id": self.la_id(pid),
                    "pers_sex": person.sex,
                    "pers_gender": "02" if person.sex == "F" else "01",
                    "pers_ethnicity": person.ethnicity,
                    "pers_dob": _d(person.dob),
                    "pers_common_child_id": nhs,
                    "pers_upn_unknown": "" if person.upn else "UN2",
                    "pers_send_flag": "Y" if pid in ehcp else "N",
                    "pers_death_date": "",
                    "pers_is_mother": "N",
                },
                log,
            )
            if pid in household:
                self.add(
                    "ssd_family",
                    pid,
                    "family",
                    {
                        "fami_family_id": f"FAM{household[pid]}",
                        "fami_person_id": self.la_id(pid),
                    },
                )
            if pid in relatives:
                continue  # a family member: the case system holds no more about them
            for i, residence in enumerate(person.residences[-2:], start=1):
                address = self.county.by_uprn[residence.uprn]
                self.add(
                    "ssd_address",
                    pid,
                    f"address:{residence.start.isoformat()}",
                    {
                        "addr_table_id": f"A{n}.{i}",
                        "addr_address_json": f'{{"UPRN": "{address.uprn}"}}',
                        "addr_person_id": self.la_id(pid),
                        "addr_address_type": "Home",
                        "addr_address_start_date": _d(residence.start),
                        "addr_address_end_date": _d(residence.end),
                        "addr_address_postcode": address.postcode.replace(" ", ""),
                    },
                )
            for code in h.disabilities.get(pid, []):
                self.add(
                    "ssd_disability",
                    pid,
                    f"disability:{code}",
                    {
                        "disa_person_id": self.la_id(pid),
                        "disa_table_id": f"D{n}",
                        "disa_disability_code": code,
                    },
                )
        for c in h.leavers:
            self.add(
                "ssd_care_leavers",
                c.child,
                "care_leaver",
                {
                    "clea_table_id": f"L{self.la_id(c.child)}",
                    "clea_person_id": self.la_id(c.child),
                    "clea_care_leaver_in_touch": c.in_touch,
                    "clea_care_leaver_accommodation": c.accommodation,
                    "clea_care_leaver_activity": c.activity,
                },
            )

    def _children_in_need(self) -> None:
        counts = {"a": 0, "s": 0, "p": 0, "c": 0, "r": 0}

        def next_id(kind: str) -> str:
            counts[kind] += 1
            return f"{kind.upper()}{counts[kind]:06d}"

        for r in self.history.referrals:
            child = self.la_id(r.child)
            self.add(
                "ssd_cin_episodes",
                r.child,
                f"referral:{r.date.isoformat()}",
                {
                    "cine_referral_id": r.ref,
                    "cine_person_id": child,
                    "cine_referral_date": _d(r.date),
                    "cine_cin_primary_need_code": r.need,
                    "cine_referral_source_code": r.source,
                    "cine_referral_nfa": "Y" if r.nfa else "N",
                    "cine_close_reason": r.closure_reason or "",
                    "cine_close_date": _d(r.closed),
                },
            )
            for a in r.assessments:
                self.add(
                    "ssd_cin_assessments",
                    r.child,
                    f"assessment:{a.start.isoformat()}",
                    {
                        "cina_assessment_id": next_id("a"),
                        "cina_person_id": child,
                        "cina_referral_id": r.ref,
                        "cina_assessment_start_date": _d(a.start),
                        "cina_assessment_auth_date": _d(a.end),
                    },
                )
            for s in r.s47:
                self.add(
                    "ssd_s47_enquiry",
                    r.child,
                    f"s47:{s.start.isoformat()}",
                    {
                        "s47e_s47_enquiry_id": next_id("s"),
                        "s47e_referral_id": r.ref,
                        "s47e_person_id": child,
                        "s47e_s47_start_date": _d(s.start),
                    },
                )
            for start, end in r.cin_plans:
                self.add(
                    "ssd_cin_plans",
                    r.child,
                    f"cin_plan:{start.isoformat()}",
                    {
                        "cinp_cin_plan_id": next_id("c"),
                        "cinp_referral_id": r.ref,
                        "cinp_person_id": child,
                        "cinp_cin_plan_start": _d(start),
                        "cinp_cin_plan_end": _d(end),
                    },
                )
            for p in r.cp_plans:
                plan = next_id("p")
                self.add(
                    "ssd_cp_plans",
                    r.child,
                    f"cp_plan:{p.start.isoformat()}",
                    {
                        "cppl_cp_plan_id": plan,
                        "cppl_referral_id": r.ref,
                        "cppl_person_id": child,
                        "cppl_cp_plan_start_date": _d(p.start),
                        "cppl_cp_plan_end_date": _d(p.end),
                        "cppl_cp_plan_initial_category": CATEGORY_TEXT[p.initial],
                        "cppl_cp_plan_latest_category": CATEGORY_TEXT[p.latest],
                    },
                )
                for day in p.reviews:
                    self.add(
                        "ssd_cp_reviews",
                        r.child,
                        f"cp_review:{day.isoformat()}",
                        {
                            "cppr_cp_review_id": next_id("r"),
                            "cppr_cp_plan_id": plan,
                            "cppr_cp_review_date": _d(day),
                        },
                    )

    def _looked_after(self) -> None:
        n = 0
        for period in self.history.periods:
            child = self.la_id(period.child)
            ids = []
            for e in period.episodes:
                n += 1
                episode = f"E{n:06d}"
                ids.append((e, episode))
                self.add(
                    "ssd_cla_episodes",
                    period.child,
                    f"episode:{e.start.isoformat()}",
                    {
                        "clae_cla_episode_id": episode,
                        "clae_person_id": child,
                        "clae_cla_episode_start_date": _d(e.start),
                        "clae_cla_episode_start_reason": e.reason_new,
                        "clae_cla_primary_need_code": e.need,
                        "clae_cla_episode_ceased": _d(e.end),
                        "clae_cla_episode_ceased_reason": e.reason_end or "",
                    },
                )
                self.add(
                    "ssd_cla_placement",
                    period.child,
                    f"episode:{e.start.isoformat()}",
                    {
                        "clap_cla_placement_id": f"PL{n:06d}",
                        "clap_cla_episode_id": episode,
                        "clap_cla_placement_start_date": _d(e.start),
                        "clap_cla_placement_type": e.placement,
                        "clap_cla_placement_urn": e.urn or "",
                        "clap_cla_placement_provider": e.provider,
                        "clap_cla_placement_postcode": e.placement_postcode.replace(" ", ""),
                        "clap_cla_placement_end_date": _d(e.end),
                        "clap_cla_placement_change_reason": e.reason_change or "",
                    },
                )
            for i, (day, code) in enumerate(period.reviews, start=1):
                episode = next((eid for e, eid in reversed(ids) if e.start <= day), ids[0][1])
                self.add(
                    "ssd_cla_reviews",
                    period.child,
                    f"review:{day.isoformat()}",
                    {
                        "clar_cla_review_id": f"{episode}.{i}",
                        "clar_cla_episode_id": episode,
                        "clar_cla_review_date": _d(day),
                        "clar_cla_review_participation": code,
                    },
                )
            for i, m in enumerate(period.missing, start=1):
                self.add(
                    "ssd_missing",
                    period.child,
                    f"missing:{m.start.isoformat()}",
                    {
                        "miss_table_id": f"M{child}.{i}",
                        "miss_la_person_id": child,
                        "miss_mis_epi_start": _d(m.start),
                        "miss_mis_epi_type": m.kind,
                        "miss_mis_epi_end": _d(m.end),
                    },
                )
            if period.uasc:
                self.add(
                    "ssd_immigration_status",
                    period.child,
                    "uasc",
                    {
                        "immi_person_id": child,
                        "immi_immigration_status_id": f"I{child}",
                        "immi_immigration_status": "UASC",
                        "immi_immigration_status_start_date": _d(period.start),
                        "immi_immigration_status_end_date": _d(period.uasc_ceased),
                    },
                )
            if period.worker:
                self.add(
                    "ssd_involvements",
                    period.child,
                    "involvement",
                    {
                        "invo_involvements_id": f"V{child}",
                        "invo_professional_id": period.worker,
                        "invo_involvement_start_date": _d(period.start),
                        "invo_involvement_end_date": _d(period.end),
                        "invo_person_id": child,
                    },
                )
