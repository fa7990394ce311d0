"""What the analysts' copy holds: each label's and relationship type's properties, and
what each becomes there (:mod:`graph.access.projection` writes it).

The copy has the same labels, relationship types and property names as the live graph,
so saved queries run on it unchanged, but nothing in it names anyone, whatever Cypher is
run on it. Each property's rule:

- ``keep``: as it is (a code, a count, a flag, a school's public details);
- ``date``: a date, as it is (when a case opened, a term began);
- ``pseudonym``: our own id, as its keyed HMAC (:mod:`graph.access.pseudonyms`);
- ``month``: a date of birth or death, as the first day of its month (year groups, and
  ages in whole months, come out as from the real date);
- ``shared``: text kept only where at least ``MIN_SHARED`` records hold the same value
  (a category, such as a case's reason, is; free text or a rare value is not);
- ``centre``: a home's latitude or longitude, as its postcode district's centre;
- ``text``: a key holding another property's ISO text (:attr:`graph.schema.Prop.text_of`),
  as the text of the copy's own value of it (a birth date's key, its month's first day);
- ``drop``: not copied (names, identifiers, address lines, postcodes, contacts).

A label or relationship type declared ``None`` is not copied at all (notes, source
records, alerts); one in ``RECOUNTED`` is not copied either, but counted again from the
copy's own records once the copy is written (the caseload map's tally). A property the
schema has and this does not declare fails a test, so nothing new is ever copied by
default.
"""

from __future__ import annotations

from typing import Any, Literal

from graph import schema
from graph.cypher import cypher
from graph.store import GraphStore

Rule = Literal["keep", "date", "pseudonym", "month", "shared", "centre", "text", "drop"]
MIN_SHARED = 10  # records that must share a text value for it to be kept
DISTRICT = "postcode_district"  # what a home's point is coarsened to

ALL_ROWS = 100_000_000


def _declare(**groups: str) -> dict[str, Rule]:
    """``_declare(keep="a b", drop="c")``: each property's rule, from spaced lists."""
    return {prop: rule for rule, props in groups.items() for prop in props.split()}  # type: ignore[misc]


NODES: dict[str, dict[str, Rule] | None] = {
    "Person": _declare(
        pseudonym="uid",
        month="dob dod",
        text="dob_key",
        keep="sex ethnicity language fsm eal young_carer open_services open_case_kinds "
        "open_service_count risk_factors risk_year_group risk_school risk_school_urn "
        "risk_area risk_attendance_pct",
        shared="sources",
        drop="given_name middle_names family_name full_name other_names upn nhs_number uln "
        "la_child_id conflicts",
    ),
    "Family": _declare(pseudonym="uid", keep="source", drop="name"),
    "Address": _declare(
        pseudonym="uid",
        keep=f"{DISTRICT} lsoa imd_decile local_authority in_county postcode_only",
        shared="town",
        centre="lat lon",
        drop="uprn line1 postcode",
    ),
    "School": _declare(keep="uid urn name phase kind postcode lat lon low_age high_age"),
    "Service": _declare(keep="uid name"),
    "Case": _declare(
        pseudonym="uid",
        keep="kind status placement_out_of_area placement_type workers",
        date="start end",
        shared="reason placement_la",
    ),
    "Professional": _declare(pseudonym="uid", keep="role agency team", drop="name email phone"),
    "Team": _declare(keep="uid name"),
    "Need": _declare(keep="uid name"),
    "Note": None,
    "SourceRecord": None,
    "ReviewPair": _declare(
        pseudonym="uid",
        keep="probability status agreed impact created_at decided_at undone_at",
        drop="decided_by left_record right_record evidence named_records reason merged_keep "
        "merged_drop undone_by",
    ),
    "MergedPerson": None,
    "Alert": None,
    "GraphVersion": None,
    # the copy holds no RiskYear (each is one pupil's days), so its list works them out
    "RiskList": _declare(keep="uid rules", date="as_of", drop="years loading"),
    "RiskYear": None,
    # the day and rules the factors kept on each pupil are as at
    "RiskDay": _declare(keep="uid rules", date="as_of"),
    # counts of children by birth cohort and postcode district, none under the copy's
    # own coarsening (a month of birth gives the same cohort): the analysts' forecast
    "NeedsTally": _declare(keep="uid cohorts areas categories children", date="born_after"),
    # each child by name (rows): the copy's transitions are worked out from its records
    "TransitionCohort": None,
    # counted from the copy's own records once it is written (RECOUNTED), never read
    # from the live graph: district centres and no worker's name, as the copy holds them
    "CaseloadCell": _declare(keep="uid whole status kind service homes waiting workers"),
    # what the statutory returns say (graph.schema.RETURN_FACTS): codes kept, the
    # systems' own references and placement postcodes dropped; the referral or plan a
    # fact belongs to is dropped too (a pseudonym is per label, so it could not join)
    "Referral": _declare(
        pseudonym="uid", keep="source need nfa closure_reason", date="date closed", drop="ref"
    ),
    "Assessment": _declare(
        pseudonym="uid", keep="kind factors outcome", date="start end", drop="ref referral"
    ),
    "Section47": _declare(
        pseudonym="uid",
        keep="icpc_not_required outcome",
        date="start icpc_target icpc_date",
        drop="ref referral",
    ),
    "CINPlan": _declare(pseudonym="uid", date="start end", drop="ref referral"),
    "CPPlan": _declare(
        pseudonym="uid",
        keep="initial_category latest_category previous",
        date="start end",
        drop="ref referral",
    ),
    "PeriodOfCare": _declare(
        pseudonym="uid",
        keep="reason_end moves placement_type legal_status",
        date="start end",
        shared="placement_la",
    ),
    "Episode": _declare(
        pseudonym="uid",
        keep="reason_new legal_status need placement_type provider reason_end reason_change "
        "placement_change",
        date="start end",
        shared="placement_la",
        drop="ref home_postcode placement_postcode urn",
    ),
    "MissingEpisode": _declare(pseudonym="uid", keep="kind", date="start end"),
    "Review": _declare(pseudonym="uid", keep="kind participation", date="date", drop="plan"),
    "Outcome": _declare(
        pseudonym="uid",
        keep="kind in_touch activity accommodation sdq_score sdq_reason convicted health_check "
        "immunisations teeth_check health_assessment substance_misuse intervention_received "
        "intervention_offered",
        date="date",
    ),
    "Adoption": _declare(
        pseudonym="uid",
        keep="foster_carers adopters adopter_sex adopter_status ceased_reason",
        date="decided matched ceased",
    ),
    "Status": _declare(pseudonym="uid", keep="kind status", date="from to", shared="la"),
    "Disability": _declare(keep="uid name"),
}
RELATIONSHIPS: dict[str, dict[str, Rule] | None] = {
    "PARENT_OF": _declare(keep="kind", date="from to"),
    "MEMBER_OF": _declare(shared="role", date="from to"),
    "LIVES_AT": _declare(date="from to"),
    "ATTENDS": _declare(keep="year_group", date="from to"),
    "ATTENDANCE": _declare(keep="term possible absent unauthorised", date="term_start"),
    "EXCLUDED": _declare(keep="kind sessions", date="date", shared="reason"),
    "HAS_CASE": {},
    "WITH_SERVICE": {},
    "WORKS_ON": _declare(keep="role", date="from to"),
    "IN_TEAM": {},
    "PART_OF": {},
    "HAS_NEED": _declare(keep="rank", date="from"),
    "HAS_NOTE": None,
    "OFFERED": _declare(keep="entry_point", date="start date"),
    "CANDIDATE": {},
    "ALERTED": None,
    "ABOUT": None,
    "DESCRIBES": None,
    **{rel.type: {} for rel in schema.REL_TYPES if rel.end in schema.RETURN_FACT_LABELS},
}
EXTRA_LABELS = {n.label: n.extra_labels for n in schema.NODE_TYPES}
DATES = ("date", "month")


def copied(rules: dict[str, Rule]) -> list[str]:
    """The properties that reach the copy, in declaration order."""
    return [p for p, rule in rules.items() if rule != "drop"]


ENDS = {r.type: (r.start, r.end) for r in schema.REL_TYPES}


def _shared_statement(owner: str, prop: str, relationship: bool) -> str:
    # a relationship with both end labels: the engine otherwise walks every node for it
    pattern = (
        f"(:{ENDS[owner][0]})-[x:{owner}]->(:{ENDS[owner][1]})" if relationship else f"(x:{owner})"
    )
    return cypher(
        f"projection.shared_{owner.lower()}_{prop}",
        f"MATCH {pattern} WHERE x.{prop} IS NOT NULL RETURN x.{prop} AS value, count(*) AS n",
    )


RECOUNTED = ("CaseloadCell",)  # written into the copy by write_copy, from the copy
KEPT_NODES = {
    label: rules for label, rules in NODES.items() if rules is not None and label not in RECOUNTED
}
KEPT_RELS = {rel: rules for rel, rules in RELATIONSHIPS.items() if rules is not None}

SHARED = {
    (owner, prop): _shared_statement(owner, prop, owner in KEPT_RELS)
    for owner, rules in {**KEPT_NODES, **KEPT_RELS}.items()
    for prop, rule in rules.items()
    if rule == "shared"
}
CENTRES = cypher(
    "projection.district_centres",
    f"MATCH (a:Address) WHERE a.lat IS NOT NULL AND a.lon IS NOT NULL "
    f"RETURN a.{DISTRICT} AS district, avg(a.lat) AS lat, avg(a.lon) AS lon",
)


# the keys written as the text of another property of the copy's own (``text``)
TEXT_OF = {
    label: {
        p.name: p.text_of
        for p in schema.node_type(label).props
        if p.text_of and rules.get(p.name) == "text"
    }
    for label, rules in KEPT_NODES.items()
}


def shared_values(store: GraphStore) -> dict[tuple[str, str], set[Any]]:
    """Each ``shared`` property's values that at least ``MIN_SHARED`` records hold (a
    list as a tuple), read from ``store``."""
    return {
        where: {
            hashable(r["value"])
            for r in store.read(text, max_rows=ALL_ROWS).rows
            if r["n"] >= MIN_SHARED
        }
        for where, text in SHARED.items()
    }


def district_centres(store: GraphStore) -> dict[Any, tuple[float, float]]:
    """Each postcode district's centre (the mean of its homes' points, to 4 places)."""
    return {
        r["district"]: (round(r["lat"], 4), round(r["lon"], 4))
        for r in store.read(CENTRES, max_rows=ALL_ROWS).rows
        if r["district"] is not None
    }


def hashable(value: Any) -> Any:
    """A value as a set holds it (a list as a tuple)."""
    return tuple(value) if isinstance(value, list) else value
