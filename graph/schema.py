"""The graph model, in one place.

Every node type, relationship type and property key that Jigsaw's Cypher may use is
declared here. The engine adapters turn this into their own DDL (uniqueness on each
key, range indexes on external identifiers, a full-text index over names); the
portability guard hands the same lists to Neo4j's linter, so a misspelt label or
property in any query is caught before it reaches an engine; docs/schema.md is
generated from it (``jigsaw db schema``) and a test keeps the two equal.

Design choices worth knowing:

* Every node has our own stable ``uid`` (never an engine's internal id), unique per
  label. External identifiers (UPN, NHS number, ...) are indexed properties, not
  keys: they are often missing or wrong in source data.
* Time lives on relationships (``from``/``to`` dates), so the network can be shown as
  it was on a date. An open relationship has no ``to``.
* Siblings are derived (shared parent or family), not stored.
* A few facts are derived at the end of every load, for county-wide questions to
  start from an index: ``Person.open_services`` (service uids with an open case),
  ``open_case_kinds``, ``open_service_count`` (indexed) and ``Case.workers`` (current
  allocations). The loader is the only writer of cases, and a review merge works
  them out again for the person it keeps, so they cannot drift.
* Each pupil's risk of NEET factors as at the load's day are kept too (``risk_*``,
  ``risk_as_of`` indexed; see graph.risk_facts): cleared before a load writes, kept
  after it, forgotten for a person a review merge changes. A ``RiskList`` node says
  the whole cohort's are kept, and goes as soon as anyone's are forgotten.
* The needs forecast's input is kept after every load as one ``NeedsTally`` node
  (children counted by birth cohort, area and categories; see graph.planning).
* Dates are stored as Cypher ``date`` values and passed in as ISO strings wrapped in
  ``date($param)``: FalkorDB cannot take a date as a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeType:
    """One node label: its key, its indexed properties and what it means."""

    label: str
    description: str
    properties: tuple[str, ...]
    key: str = "uid"
    indexed: tuple[str, ...] = ()
    fulltext: tuple[str, ...] = ()
    extra_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelType:
    """One relationship type: which labels it joins and what it carries."""

    type: str
    start: str
    end: str
    description: str
    properties: tuple[str, ...] = field(default=())


NODE_TYPES: tuple[NodeType, ...] = (
    NodeType(
        "Person",
        "A child or adult. Also labelled Child (under 18 or in children's services) "
        "or Adult. One node per real person after identity resolution.",
        (
            "uid",
            "given_name",
            "middle_names",
            "family_name",
            "full_name",
            "other_names",
            "dob",
            "sex",
            "ethnicity",
            "language",
            "dod",
            "upn",
            "nhs_number",
            "uln",
            "la_child_id",
            "fsm",
            "eal",
            "young_carer",
            "sources",
            "conflicts",
            "updated_at",
            "open_services",
            "open_case_kinds",
            "open_service_count",
            "risk_as_of",
            "risk_rules",
            "risk_factors",
            "risk_year_group",
            "risk_school",
            "risk_school_urn",
            "risk_area",
            "risk_attendance_pct",
        ),
        indexed=(
            "upn",
            "nhs_number",
            "uln",
            "la_child_id",
            "dob",
            "family_name",
            "open_service_count",
            "risk_as_of",
        ),
        fulltext=("full_name", "other_names"),
        extra_labels=("Child", "Adult"),
    ),
    NodeType(
        "Family",
        "A household or family group as a service records it (uid: source and its ref).",
        ("uid", "name", "source"),
    ),
    NodeType(
        "Address",
        "A property (uid is the UPRN where known) with its area and deprivation; one known "
        "only to postcode level (postcode_only, uid PC-<postcode>) takes its postcode's area.",
        (
            "uid",
            "uprn",
            "line1",
            "town",
            "postcode",
            "postcode_district",
            "lsoa",
            "imd_decile",
            "lat",
            "lon",
            "local_authority",
            "in_county",
            "postcode_only",
        ),
        indexed=("postcode", "lsoa", "uprn"),
    ),
    NodeType(
        "School",
        "A school, early-years setting or children's centre (uid is the URN); phase is "
        "Primary, Secondary, Special, Alternative provision, 16 plus, Nursery or "
        "Children's centre.",
        ("uid", "urn", "name", "phase", "kind", "postcode", "lat", "lon", "low_age", "high_age"),
        indexed=("urn",),
    ),
    NodeType(
        "Service",
        "An agency service (uid: social-care, send, early-help, youth-justice, "
        "health-visiting, education-welfare, transport).",
        ("uid", "name"),
    ),
    NodeType(
        "Case",
        "An episode of work with a child. kind: CIN, CP, CLA, CL (care leaver), EHCP, "
        "SEN support, EH (early help), YJ, HV (health visiting), EWO, Transport; "
        "status: open or closed; uid: source and the system's own reference.",
        (
            "uid",
            "kind",
            "status",
            "start",
            "end",
            "reason",
            "placement_la",
            "placement_type",
            "placement_out_of_area",
            "workers",
        ),
        indexed=("kind", "status"),
    ),
    NodeType(
        "Professional",
        "A named worker who holds cases.",
        ("uid", "name", "role", "agency", "email", "phone", "team"),
    ),
    NodeType("Team", "A team of professionals within a service.", ("uid", "name")),
    NodeType(
        "Need",
        "A special educational need type (uid is the SEN2 code: HI, VI, ASD, ...).",
        ("uid", "name"),
    ),
    NodeType(
        "Note",
        "A dated note by a named author; kind: case, safety (visit safety note on an "
        "address) or update (added in the app).",
        ("uid", "text", "author", "at", "kind", "case"),
    ),
    NodeType(
        "SourceRecord",
        "One row of one source extract, kept for provenance.",
        ("uid", "source", "source_key", "row", "file", "loaded_at", "probability"),
        indexed=("source",),
    ),
    NodeType(
        "ReviewPair",
        "Two people that linkage thinks may be one, left apart for a person to decide "
        "(status: pending, accepted or rejected; agreed: which fields agreed; evidence: "
        "for and against, in words; reason: the rule a link would break, when that is why "
        "it was not made; impact: children whose family networks the decision changes; "
        "merged_keep, merged_drop: the people an accept merged, for undo).",
        (
            "uid",
            "probability",
            "status",
            "agreed",
            "evidence",
            "reason",
            "impact",
            "decided_by",
            "decided_at",
            "created_at",
            "left_record",
            "right_record",
            "merged_keep",
            "merged_drop",
            "undone_by",
            "undone_at",
        ),
        indexed=("status",),
    ),
    NodeType(
        "MergedPerson",
        "A person a reviewer merged into another (merged_into), kept aside with the "
        "labels they had so the merge can be undone; the relationships the merge moved "
        "carry merged_by, the review pair's uid.",
        ("uid", "full_name", "merged_into", "merged_by", "merged_labels"),
    ),
    NodeType(
        "Alert",
        "A change a load brought that matters to an open case (a child with SEND moved "
        "address or school, attendance fell below the threshold, a sibling became known "
        "to social care), for the allocated professional (status: new or seen).",
        ("uid", "kind", "key", "text", "child", "created_at", "status", "seen_at"),
        indexed=("status",),
    ),
    NodeType(
        "RiskList",
        "Present (one, uid risk_of_neet) while every pupil in the cohort has risk of NEET "
        "factors kept as at as_of under the detection rules named by rules: the list at "
        "that day then reads them and works nobody out from the records.",
        ("uid", "as_of", "rules"),
    ),
    NodeType(
        "NeedsTally",
        "Present (one, uid needs_forecast) after a load: everyone born after born_after "
        "counted by birth cohort (the academic year of birth), area and categories, as "
        "parallel lists (cohorts, areas, categories as one text, children): the needs "
        "forecast's input, kept so the forecast reads it instead of every child. Forgotten "
        "before a load writes and when a review merge changes anyone.",
        ("uid", "born_after", "cohorts", "areas", "categories", "children"),
    ),
)

REL_TYPES: tuple[RelType, ...] = (
    RelType(
        "PARENT_OF",
        "Person",
        "Person",
        "Parent or carer of a child; kind is birth, step, adoptive, foster or guardian.",
        ("kind", "from", "to"),
    ),
    RelType("MEMBER_OF", "Person", "Family", "Member of a family group.", ("role", "from", "to")),
    RelType("LIVES_AT", "Person", "Address", "Lived at an address over a period.", ("from", "to")),
    RelType(
        "ATTENDS",
        "Person",
        "School",
        "On a school's roll over a period.",
        ("from", "to", "year_group"),
    ),
    RelType(
        "ATTENDANCE",
        "Person",
        "School",
        "Sessions in one term (term: '2025-26 Autumn'; term_start orders them).",
        ("term", "term_start", "possible", "absent", "unauthorised"),
    ),
    RelType(
        "EXCLUDED",
        "Person",
        "School",
        "A suspension or permanent exclusion.",
        ("date", "kind", "sessions", "reason"),
    ),
    RelType("HAS_CASE", "Person", "Case", "A child's case."),
    RelType("WITH_SERVICE", "Case", "Service", "The service a case belongs to."),
    RelType(
        "WORKS_ON",
        "Professional",
        "Case",
        "Allocated to a case (the caseload).",
        ("role", "from", "to"),
    ),
    RelType("IN_TEAM", "Professional", "Team", "Member of a team."),
    RelType("PART_OF", "Team", "Service", "A team belongs to a service."),
    RelType(
        "HAS_NEED", "Person", "Need", "A SEN need; rank 1 is the primary need.", ("rank", "from")
    ),
    RelType(
        "HAS_NOTE",
        "Person|Address",
        "Note",
        "A note about a person (case notes, updates) or an address (visit safety notes).",
    ),
    RelType(
        "OFFERED",
        "Person",
        "School",
        "A school place offered for a coming entry point (Reception, Year 7, Year 12).",
        ("entry_point", "start", "date"),
    ),
    RelType(
        "CANDIDATE",
        "ReviewPair",
        "Person",
        "One of the two people a review pair proposes to merge.",
    ),
    RelType(
        "ALERTED",
        "Professional",
        "Alert",
        "An alert for the professional allocated to the child's open case.",
    ),
    RelType("ABOUT", "Alert", "Person", "The child an alert is about."),
    RelType(
        "DESCRIBES",
        "SourceRecord",
        "Person",
        "Provenance: this source row describes this person.",
        ("probability",),
    ),
)

# What the statutory returns say about a child (loaders.build_returns): each a node of
# its own, hanging from the child by one relationship type. uid: the child's uid and
# the fact's natural key, so the same fact from two files is one node. Codes are the
# returns' own (docs/returns.md); referral, plan: the uid of the referral or child
# protection plan the fact belongs to.
RETURN_FACTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("Referral", "REFERRED",
     "An episode of need, from referral to closure: date, source (1A ... 10), need "
     "(N0 ... N9), nfa (closed with no further action), closed, closure_reason (RC1 ... RC9).",
     ("ref", "date", "source", "need", "nfa", "closed", "closure_reason")),
    ("Assessment", "ASSESSED",
     "An assessment (kind: social care or EHC needs), with the factors identified.",
     ("ref", "kind", "start", "end", "factors", "outcome", "referral")),
    ("Section47", "SUBJECT_OF",
     "A section 47 enquiry and its initial child protection conference.",
     ("ref", "start", "icpc_target", "icpc_date", "icpc_not_required", "outcome",
      "referral")),
    ("CINPlan", "HAS_CIN_PLAN", "A child in need plan.", ("ref", "start", "end", "referral")),
    ("CPPlan", "HAS_CP_PLAN",
     "A child protection plan with its initial and latest category of abuse (NEG, PHY, "
     "SAB, EMO, MUL) and the number of previous plans.",
     ("ref", "start", "end", "initial_category", "latest_category", "previous", "referral")),
    ("PeriodOfCare", "LOOKED_AFTER",
     "A period of being looked after, made of episodes (HAS_EPISODE): its end and why, "
     "how many placement moves, the latest placement type, legal status and placement LA.",
     ("start", "end", "reason_end", "moves", "placement_type", "legal_status",
      "placement_la")),
    ("Episode", "",
     "An episode of care: a placement (type A3 ... Z1, provider PR0 ... PR5, postcode, "
     "Ofsted URN) under a legal status; reason_new (S, L, P, T, B, U), placement_change "
     "(P, B, T or U: the child moved), reason_end, reason_change, home_postcode.",
     ("ref", "start", "end", "reason_new", "legal_status", "need", "placement_type",
      "provider",
      "reason_end", "reason_change", "home_postcode", "placement_postcode", "urn",
      "placement_la", "placement_change")),
    ("MissingEpisode", "WENT_MISSING",
     "Missing (kind MISSING) or away from placement without authorisation (AWAY).",
     ("kind", "start", "end")),
    ("Review", "REVIEWED",
     "A review: kind CLA (looked-after review), CP (child protection conference review) "
     "or EHCP; participation PN0 ... PN7.",
     ("kind", "date", "participation", "plan")),
    ("Outcome", "HAS_OUTCOME",
     "What a return records about how a child or care leaver is doing: kind OC2 (looked "
     "after a year: SDQ score, convictions, health checks, substance misuse), OC3 or care "
     "leaver (in touch, activity, accommodation).",
     ("kind", "date", "in_touch", "activity", "accommodation", "sdq_score", "sdq_reason",
      "convicted", "health_check", "immunisations", "teeth_check", "health_assessment",
      "substance_misuse", "intervention_received", "intervention_offered")),
    ("Adoption", "HAS_ADOPTION",
     "A decision that a child should be placed for adoption, the match and the adopters, "
     "or why the child stopped being placed.",
     ("decided", "matched", "foster_carers", "adopters", "adopter_sex", "adopter_status",
      "ceased", "ceased_reason")),
    ("Status", "HAS_STATUS",
     "A standing over a period: kind UASC (unaccompanied asylum-seeking child, status as "
     "recorded) or previous permanence (status P1 ... Z1, la that made the order).",
     ("kind", "status", "from", "to", "la")),
)  # fmt: skip
NODE_TYPES += (
    *(NodeType(label, text, ("uid", *props)) for label, _, text, props in RETURN_FACTS),
    NodeType(
        "Disability",
        "A disability (uid: the CIN census code MOB, HAND, PC, INC, COMM, LD, HEAR, VIS, BEH, "
        "CON, AUT, DDA; NONE for none).",
        ("uid", "name"),
    ),
)
RETURN_FACT_LABELS: tuple[str, ...] = (*(label for label, *_ in RETURN_FACTS), "Disability")
REL_TYPES += (
    *(RelType(rel, "Person", label, f"A {label} a return records for the child.")
      for label, rel, _, _ in RETURN_FACTS if rel),
    RelType("HAS_EPISODE", "PeriodOfCare", "Episode", "An episode of a period of care."),
    RelType("HAS_DISABILITY", "Person", "Disability", "A disability a return records."),
)  # fmt: skip

LABELS: tuple[str, ...] = tuple(
    dict.fromkeys([n.label for n in NODE_TYPES] + [x for n in NODE_TYPES for x in n.extra_labels])
)
RELATIONSHIP_TYPES: tuple[str, ...] = tuple(r.type for r in REL_TYPES)
PROPERTY_KEYS: tuple[str, ...] = tuple(
    sorted(
        {p for n in NODE_TYPES for p in n.properties} | {p for r in REL_TYPES for p in r.properties}
    )
)
# Field names of the row maps that loaders UNWIND ($rows); Neo4j's linter checks
# property access on them like any other property key.
ROW_FIELDS: tuple[str, ...] = (
    "person", "address", "school", "parent", "child", "family", "worker", "case", "need",
    "team_uid", "service", "left", "right", "keep", "drop", "period_of_care", "disability",
)  # fmt: skip
FULLTEXT_LABEL = "Person"
FULLTEXT_INDEX = "person_names"


def node_type(label: str) -> NodeType:
    """The declared node type for a label (KeyError names the known labels)."""
    for node in NODE_TYPES:
        if node.label == label:
            return node
    raise KeyError(f"unknown label {label!r}; known: {', '.join(LABELS)}")


def fulltext_fields() -> tuple[str, ...]:
    return node_type(FULLTEXT_LABEL).fulltext


def markdown() -> str:
    """The schema as Markdown, for docs/schema.md (kept equal to this module by a test)."""
    lines = [
        "| Node label | Key | Indexed | Properties | Meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for n in NODE_TYPES:
        label = n.label + "".join(f", :{x}" for x in n.extra_labels)
        indexed = ", ".join(n.indexed)
        if n.fulltext:
            indexed += ("; " if indexed else "") + "full-text: " + ", ".join(n.fulltext)
        props = ", ".join(p for p in n.properties if p != n.key)
        lines.append(f"| {label} | {n.key} (unique) | {indexed} | {props} | {n.description} |")
    lines += [
        "",
        "| Relationship | From → to | Properties | Meaning |",
        "| --- | --- | --- | --- |",
    ]
    for r in REL_TYPES:
        props = ", ".join(r.properties)
        lines.append(f"| {r.type} | {r.start} → {r.end} | {props} | {r.description} |")
    return "\n".join(lines) + "\n"
