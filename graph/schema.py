"""The graph model, declared once: every node type, relationship type and property.

Each property says its type, whether a null in a load's row keeps the value already
there, whether it is derived from other facts, and who writes it. From these
declarations come the engines' DDL (uniqueness on each key, range indexes, the
full-text index), the load's MERGE statements and bulk-insertion shapes
(:mod:`graph.writes`), the lists the portability guard hands to Neo4j's linter, and
``docs/schema.md`` (``jigsaw db schema``; a test keeps the two equal).

* Every node has our own stable ``uid`` (never an engine's internal id), unique per
  label. External identifiers (UPN, NHS number, ...) are indexed properties, not keys:
  they are often missing or wrong in source data.
* Time lives on relationships (``from``/``to`` dates), so the network can be shown as
  it was on a date. An open relationship has no ``to``. Siblings are derived (shared
  parent or family), not stored.
* Dates are stored as Cypher ``date`` values and passed in as ISO strings wrapped in
  ``date($param)``: FalkorDB cannot take a date as a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

TEXT, INTEGER, FLOAT, BOOLEAN, DATE, DATETIME, LIST = (
    "text",
    "integer",
    "float",
    "boolean",
    "date",
    "datetime",
    "list",
)
LOAD = "load"  # the loader writes it from its rows (loaders.write)


@dataclass(frozen=True)
class Prop:
    """One property.

    ``keep``: a null in a load's row leaves the value already there. ``derived``:
    worked out from other facts; the loader creates a node with it and its derive
    stage keeps it right (``loaders.derive``). ``on_create``: set when the node is
    first written, never changed by a later load. ``param``: its value is the load's
    parameter of that name, not a row field. ``writer``: the module that writes it
    when the loader does not (its Cypher must set it: a test checks). ``text_of``: the
    ISO text of that (date) property of the same row, kept as a key a range index
    serves where the engine's range index does not serve dates (FalkorDB's)."""

    name: str
    type: str = TEXT
    indexed: bool = False
    fulltext: bool = False
    keep: bool = False
    derived: bool = False
    on_create: bool = False
    param: str | None = None
    writer: str = LOAD
    text_of: str | None = None

    @property
    def from_row(self) -> bool:
        """Whether the loader's rows carry it (a field of the same name)."""
        return self.writer == LOAD and self.param is None and self.text_of is None


def _props(spec: str, type_: str = TEXT, **flags: object) -> tuple[Prop, ...]:
    """Several properties of one type and the same flags: ``_props("a b", DATE)``."""
    return tuple(Prop(name, type_, **flags) for name in spec.split())  # type: ignore[arg-type]


@dataclass(frozen=True)
class NodeType:
    """One node label: its key, its properties and what it means.

    ``kinds``: two more labels, the first where the row field ``kind_field`` is true
    and the second where it is not (a person is a Child or an Adult). ``in_app``: people
    also add nodes of this label in the app between loads (an update note)."""

    label: str
    description: str
    props: tuple[Prop, ...]
    key: str = "uid"
    kinds: tuple[str, str] | None = None
    kind_field: str = ""
    in_app: bool = False

    @property
    def properties(self) -> tuple[str, ...]:
        return (self.key, *(p.name for p in self.props))

    @property
    def indexed(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.props if p.indexed)

    @property
    def fulltext(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.props if p.fulltext)

    @property
    def extra_labels(self) -> tuple[str, ...]:
        return self.kinds or ()


@dataclass(frozen=True)
class RelType:
    """One relationship type: which labels it joins, what it carries.

    ``ends``: the row fields that name its start and end nodes' keys in a load's rows
    (by default the labels in snake case). ``key``: properties that tell apart two
    relationships between the same nodes (a residence's ``from``); a row whose key is
    null is a sighting of one of unknown key. ``rewritten``: a load that writes the
    start node writes all of its relationships of this type, and the others go (a
    source record describes one person). ``one_in``: its end node has at most one of
    this type (a case has one child), so writing one removes the end's others, as a
    load into an empty graph would have it. ``in_app``: as :class:`NodeType`'s."""

    type: str
    start: str
    end: str
    description: str
    props: tuple[Prop, ...] = ()
    key: tuple[str, ...] = ()
    ends: tuple[str, str] | None = None
    rewritten: bool = False
    one_in: bool = False
    writer: str = LOAD
    in_app: bool = False

    @property
    def properties(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.props)

    def field(self, label: str, which: int) -> str:
        """The row field naming the node at end ``which`` (0 start, 1 end)."""
        return self.ends[which] if self.ends else snake(label)


def snake(label: str) -> str:
    """``ReviewPair`` -> ``review_pair``."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(label))


def _by(writer: str, *props: Prop) -> tuple[Prop, ...]:
    """Properties a module other than the loader writes (``Prop.writer``)."""
    return tuple(replace(p, writer=writer) for p in props)


FROM_TO = (Prop("from", DATE), Prop("to", DATE))
# the day kept risk of NEET answers are as at, and the detection rules they follow
RISK_DAY = _by("graph.risk_facts", Prop("as_of", DATE), Prop("rules"))

NODE_TYPES: tuple[NodeType, ...] = (
    NodeType(
        "Person",
        "A child or adult. Also labelled Child (under 18 or in children's services) "
        "or Adult. One node per real person after identity resolution.",
        (
            *_props("given_name middle_names"),
            Prop("family_name", indexed=True),
            *_props("full_name other_names", fulltext=True),
            Prop("dob", DATE, indexed=True),
            # the birth date as a key: finding people born on a day starts from it
            Prop("dob_key", indexed=True, text_of="dob"),
            Prop("dod", DATE),
            *_props("sex ethnicity language"),
            *_props("upn nhs_number uln la_child_id", indexed=True),
            *_props("fsm eal young_carer", BOOLEAN),
            Prop("sources"),
            Prop("conflicts"),  # the fields its sources disagree on, in words
            # open cases' services and kinds, for county-wide questions to start from an
            # index; loaders.derive works them out again after every load and review merge
            *_props("open_services open_case_kinds", LIST, derived=True),
            Prop("open_service_count", INTEGER, indexed=True, derived=True),
            # each pupil's risk of NEET factors as at the load's day, under its detection
            # rules (both on the RiskDay node; graph.risk_facts)
            *_props("risk_school risk_school_urn risk_area", writer="graph.risk_facts"),
            Prop("risk_factors", LIST, writer="graph.risk_facts"),
            Prop("risk_year_group", INTEGER, indexed=True, writer="graph.risk_facts"),
            Prop("risk_attendance_pct", FLOAT, writer="graph.risk_facts"),
        ),
        kinds=("Child", "Adult"),
        kind_field="child",
    ),
    NodeType(
        "Family",
        "A household or family group as a service records it (uid: source and its ref).",
        _props("name source"),
    ),
    NodeType(
        "Address",
        "A property (uid is the UPRN where known) with its area and deprivation; one known "
        "only to postcode level (postcode_only, uid PC-<postcode>) takes its postcode's area.",
        (
            Prop("uprn", indexed=True),
            *_props("line1 town"),
            Prop("postcode", indexed=True),
            Prop("postcode_district"),
            Prop("lsoa", indexed=True),
            Prop("imd_decile", INTEGER),
            *_props("lat lon", FLOAT),
            Prop("local_authority"),
            *_props("in_county postcode_only", BOOLEAN),
        ),
    ),
    NodeType(
        "School",
        "A school, early-years setting or children's centre (uid is the URN); phase is "
        "Primary, Secondary, Special, Alternative provision, 16 plus, Nursery or "
        "Children's centre.",
        (
            Prop("urn", indexed=True),
            *_props("name phase kind postcode"),
            *_props("lat lon", FLOAT),
            *_props("low_age high_age", INTEGER),
        ),
    ),
    NodeType(
        "Service",
        "An agency service (uid: social-care, send, early-help, youth-justice, "
        "health-visiting, education-welfare, transport, other).",
        (Prop("name"),),
    ),
    NodeType(
        "Case",
        "An episode of work with a child. kind: CIN, CP, CLA, CL (care leaver), EHCP, "
        "SEN support, EH (early help), YJ, HV (health visiting), EWO, Transport; "
        "status: open or closed; uid: source and the system's own reference.",
        (
            Prop("kind", indexed=True),
            Prop("status", indexed=True),
            *_props("start end", DATE),
            *_props("reason placement_la placement_type"),
            Prop("placement_out_of_area", BOOLEAN),
            # current allocations, for "open cases nobody holds" (loaders.derive)
            Prop("workers", INTEGER, derived=True),
        ),
    ),
    NodeType(
        "Professional",
        "A named worker who holds cases (team: the team's name).",
        _props("name role agency email phone team"),
    ),
    NodeType("Team", "A team of professionals within a service.", (Prop("name"),)),
    NodeType(
        "Need",
        "A special educational need type (uid is the SEN2 code: HI, VI, ASD, ...).",
        (Prop("name"),),
    ),
    NodeType(
        "Note",
        "A dated note by a named author; kind: case, safety (visit safety note on an "
        "address) or update (added in the app); case: the case's reference.",
        (*_props("text author"), Prop("at", DATETIME), *_props("kind case")),
        in_app=True,
    ),
    NodeType(
        "SourceRecord",
        "One row of one source extract, kept for provenance (loaded_at: when first loaded).",
        (
            Prop("source", indexed=True),
            Prop("source_key"),
            Prop("row", INTEGER),
            Prop("file"),
            Prop("loaded_at", DATETIME, on_create=True, param="loaded_at"),
        ),
    ),
    NodeType(
        "ReviewPair",
        "Two people that linkage thinks may be one, left apart for a person to decide "
        "(status: pending, accepted or rejected; agreed: which fields agreed; evidence: "
        "for and against, in words; named_records: a source record of each person the "
        "evidence names, so that showing it is audited with them; reason: the rule a link "
        "would break, when that is why it was not made; impact: children whose family "
        "networks the decision changes; "
        "merged_keep, merged_drop: the people an accept merged, for undo).",
        (
            Prop("probability", FLOAT),
            *_props("agreed evidence reason"),
            Prop("named_records", LIST),
            Prop("impact", INTEGER),
            *_props("left_record right_record"),
            Prop("status", indexed=True, on_create=True),
            Prop("created_at", DATETIME, on_create=True, param="loaded_at"),
            *_props("decided_by merged_keep merged_drop undone_by", writer="graph.review_queue"),
            *_props("decided_at undone_at", DATETIME, writer="graph.review_queue"),
        ),
    ),
    NodeType(
        "MergedPerson",
        "A person a reviewer merged into another (merged_into), kept aside with the "
        "labels they had and their person's properties (full_name ...) so the merge can be "
        "undone; the relationships the merge moved carry merged_by, the review pair's uid.",
        (
            *_props("merged_into merged_by", writer="graph.review_queue"),
            Prop("merged_labels", LIST, writer="graph.review_queue"),
        ),
    ),
    NodeType(
        "Alert",
        "A change a load brought that matters to an open case (a child with SEND moved "
        "address or school, attendance fell below the threshold, a sibling became known "
        "to social care), for the allocated professional (status: new or seen).",
        (
            *_props("kind key text child", writer="graph.alerts"),
            Prop("created_at", DATETIME, writer="graph.alerts"),
            Prop("status", indexed=True, writer="graph.alerts"),
            Prop("seen_at", DATETIME, writer="graph.alerts"),
        ),
    ),
    NodeType(
        "RiskList",
        "Present (one, uid risk_of_neet) while every pupil in the cohort has risk of NEET "
        "factors kept as at as_of, and every pupil of the academic years listed in years "
        "(the year starting each September) has them kept for every day (RiskYear), under "
        "the detection rules named by rules: the list at those days then reads them and "
        "works nobody out from the records. The years run from the first a child could be "
        "on the list in (none before it) to the load's. While a load runs it is present "
        "with loading true and nothing else: no RiskYear is trusted until the load has "
        "written them.",
        (*RISK_DAY, *_by("graph.risk_facts", Prop("years", LIST), Prop("loading", BOOLEAN))),
    ),
    NodeType(
        "RiskDay",
        "Present (one, uid risk_of_neet) once a load has kept risk of NEET factors on "
        "pupils (Person risk_*): the day they are as at (as_of) and the detection rules "
        "they were worked out under (rules), kept once rather than on every pupil, so a "
        "load writes only the pupils whose factors moved. Gone while a load runs: no "
        "pupil's kept factors are trusted until it has written them.",
        RISK_DAY,
    ),
    NodeType(
        "RiskYear",
        "One pupil's risk of NEET answer on every day of one academic year (ay, the year "
        "its September falls in), kept after a load under the detection rules named by "
        "rules, for pupils with a factor on some day of it (uid: the person's uid, '/', "
        "ay). The answer changes on the days in starts (yyyymmdd numbers, ascending); from "
        "each to the next the pupil's school, school_urn, attendance (percent, -1 when "
        "none) and factors (comma-separated, empty when none or off roll) are those at "
        "the same position; year_group and area hold all year. Forgotten with the "
        "person's kept factors (graph.risk_facts).",
        _by(
            "graph.risk_facts",
            Prop("person", indexed=True),
            Prop("ay", INTEGER, indexed=True),
            *_props("rules area"),
            Prop("year_group", INTEGER),
            *_props("starts schools school_urns attendance factors", LIST),
        ),
    ),
    NodeType(
        "NeedsTally",
        "Present (one, uid needs_forecast) after a load: everyone born after born_after "
        "counted by birth cohort (the academic year of birth), area and categories, as "
        "parallel lists (cohorts, areas, categories as one text, children): the needs "
        "forecast's input, kept so the forecast reads it instead of every child. Forgotten "
        "before a load writes and when a review merge changes anyone.",
        (
            Prop("born_after", DATE, writer="graph.planning"),
            *_props("cohorts areas categories children", LIST, writer="graph.planning"),
        ),
    ),
    NodeType(
        "TransitionCohort",
        "Present after a load, one per entry point (uid Reception, Year 7 or Year 12): the "
        "children born in [born_from, born_before), who enter it the next September after "
        "the load's day, as one JSON text of rows (rows: uid, name, birth date, sources, "
        "home's area and place, every school spell, offer, open case kinds, needs), so the "
        "transitions page reads them instead of every child of the cohort. Forgotten "
        "before a load writes and when a review merge changes anyone.",
        _by("graph.planning", *_props("born_from born_before", DATE), Prop("rows")),
    ),
    NodeType(
        "GraphVersion",
        "One node (uid graph): the graph's version stamp, a new one with every load, "
        "review decision and undoing, so that what a load keeps for the next (the rows "
        "it wrote, who its people are, the alerts' watched state) is trusted only while "
        "the graph is the one it was kept with, and the stamp of a load writing it now "
        "(loading_at), for which review merges wait (graph.version). Not in the "
        "analysts' copy.",
        (Prop("stamped_at", writer="graph.version"), Prop("loading_at", writer="graph.version")),
    ),
    NodeType(
        "CaseloadCell",
        "The caseload map's county-wide counts, kept after a load: one per case status, "
        "kind and service (whole false), and one per status of every kind and service "
        "together (whole true, kind and service absent); homes and workers each one JSON "
        "text of rows (lat, lon, cases; professional uid and name, team uid and name, "
        "cases), waiting the cases with no current worker. Kept in the analysts' copy "
        "from the copy's own records; forgotten before a load writes and when a review "
        "merge moves anyone's cases (graph.caseload_tally).",
        (
            Prop("whole", BOOLEAN, writer="graph.caseload_tally"),
            *_props("status kind service homes workers", writer="graph.caseload_tally"),
            Prop("waiting", INTEGER, writer="graph.caseload_tally"),
        ),
    ),
)

REL_TYPES: tuple[RelType, ...] = (
    RelType(
        "PARENT_OF",
        "Person",
        "Person",
        "Parent or carer of a child; kind is birth, step, adoptive, foster or guardian.",
        (Prop("kind"), Prop("from", DATE, keep=True), Prop("to", DATE)),
        ends=("parent", "child"),
    ),
    RelType("MEMBER_OF", "Person", "Family", "Member of a family group.", (Prop("role"), *FROM_TO)),
    RelType(
        "LIVES_AT", "Person", "Address", "Lived at an address over a period.", FROM_TO, ("from",)
    ),
    RelType(
        "ATTENDS",
        "Person",
        "School",
        "On a school's roll over a period.",
        (*FROM_TO, Prop("year_group")),
    ),
    RelType(
        "ATTENDANCE",
        "Person",
        "School",
        "Sessions in one term (term: '2025-26 Autumn'; term_start orders them).",
        (Prop("term"), Prop("term_start", DATE), *_props("possible absent unauthorised", INTEGER)),
        ("term",),
    ),
    RelType(
        "EXCLUDED",
        "Person",
        "School",
        "A suspension or permanent exclusion.",
        (Prop("date", DATE), Prop("kind"), Prop("sessions", INTEGER), Prop("reason")),
        ("date",),
    ),
    RelType("HAS_CASE", "Person", "Case", "A child's case.", one_in=True),
    RelType("WITH_SERVICE", "Case", "Service", "The service a case belongs to.", rewritten=True),
    RelType(
        "WORKS_ON",
        "Professional",
        "Case",
        "Allocated to a case (the caseload).",
        (Prop("role"), *FROM_TO),
    ),
    RelType("IN_TEAM", "Professional", "Team", "Member of a team."),
    RelType("PART_OF", "Team", "Service", "A team belongs to a service."),
    RelType(
        "HAS_NEED",
        "Person",
        "Need",
        "A SEN need; rank 1 is the primary need.",
        (Prop("rank", INTEGER), Prop("from", DATE)),
    ),
    RelType(
        "HAS_NOTE",
        "Person|Address",
        "Note",
        "A note about a person (case notes, updates) or an address (visit safety notes).",
        one_in=True,
        in_app=True,
    ),
    RelType(
        "OFFERED",
        "Person",
        "School",
        "A school place offered for a coming entry point (Reception, Year 7, Year 12).",
        (Prop("entry_point"), *_props("start date", DATE)),
        ("entry_point",),
    ),
    RelType(
        "CANDIDATE",
        "ReviewPair",
        "Person",
        "One of the two people a review pair proposes to merge.",
        rewritten=True,
    ),
    RelType(
        "ALERTED",
        "Professional",
        "Alert",
        "An alert for the professional allocated to the child's open case.",
        writer="graph.alerts",
    ),
    RelType("ABOUT", "Alert", "Person", "The child an alert is about.", writer="graph.alerts"),
    RelType(
        "DESCRIBES",
        "SourceRecord",
        "Person",
        "Provenance: this source row describes this person.",
        (Prop("probability", FLOAT),),
        rewritten=True,
    ),
)


def _kept(spec: str, type_: str = TEXT) -> tuple[Prop, ...]:
    """Properties a load's null leaves as they were (``keep``)."""
    return _props(spec, type_, keep=True)


# What the statutory returns say about a child (loaders.build_returns): each a node of
# its own, hanging from the child (an episode from its period of care). uid: the
# child's uid and the fact's natural key, so the same fact from two files is one node;
# every property keeps its value where a later row leaves it empty (two files may each
# give part of one fact, in either order). Codes are the returns' own (docs/returns.md);
# referral, plan: the uid of the referral or child protection plan a fact belongs to.
# Each fact is one child's (an episode one period's: one_in), but a disability, whose
# node is the code every child with it shares.
RETURN_FACTS: tuple[tuple[NodeType, RelType], ...] = tuple(
    (
        node,
        RelType(
            rel,
            start,
            node.label,
            f"A return's {node.label}, from its {start}.",
            one_in=node.label != "Disability",
        ),
    )
    for node, rel, start in (
        (
            NodeType(
                "Referral",
                "An episode of need, from referral to closure: source "
                "(1A ... 10), need (N0 ... N9), nfa (closed with no further action), "
                "closure_reason (RC1 ... RC9).",
                (
                    *_kept("ref source need closure_reason"),
                    *_kept("date closed", DATE),
                    *_kept("nfa", BOOLEAN),
                ),
            ),
            "REFERRED",
            "Person",
        ),
        (
            NodeType(
                "Assessment",
                "An assessment (kind: social care or EHC needs), with the factors identified.",
                (*_kept("ref kind factors outcome referral"), *_kept("start end", DATE)),
            ),
            "ASSESSED",
            "Person",
        ),
        (
            NodeType(
                "Section47",
                "A section 47 enquiry and its initial child protection conference.",
                (
                    *_kept("ref outcome referral"),
                    *_kept("start icpc_target icpc_date", DATE),
                    *_kept("icpc_not_required", BOOLEAN),
                ),
            ),
            "SUBJECT_OF",
            "Person",
        ),
        (
            NodeType(
                "CINPlan",
                "A child in need plan.",
                (*_kept("ref referral"), *_kept("start end", DATE)),
            ),
            "HAS_CIN_PLAN",
            "Person",
        ),
        (
            NodeType(
                "CPPlan",
                "A child protection plan with its initial and latest category "
                "of abuse (NEG, PHY, SAB, EMO, MUL) and the number of previous plans.",
                (
                    *_kept("ref initial_category latest_category referral"),
                    *_kept("start end", DATE),
                    *_kept("previous", INTEGER),
                ),
            ),
            "HAS_CP_PLAN",
            "Person",
        ),
        (
            NodeType(
                "PeriodOfCare",
                "A period of being looked after, made of episodes "
                "(HAS_EPISODE): its end and why, how many placement moves, the latest "
                "placement type, legal status and placement LA.",
                (
                    *_kept("start end", DATE),
                    *_kept("moves", INTEGER),
                    *_kept("reason_end placement_type legal_status placement_la"),
                ),
            ),
            "LOOKED_AFTER",
            "Person",
        ),
        (
            NodeType(
                "Episode",
                "An episode of care: a placement (type A3 ... Z1, provider "
                "PR0 ... PR5, postcode, Ofsted URN) under a legal status; reason_new (S, L, "
                "P, T, B, U), placement_change (P, B, T or U: the child moved).",
                (
                    *_kept("start end", DATE),
                    *_kept(
                        "ref reason_new legal_status need placement_type provider reason_end "
                        "reason_change home_postcode placement_postcode urn placement_la"
                    ),
                    *_kept("placement_change", BOOLEAN),
                ),
            ),
            "HAS_EPISODE",
            "PeriodOfCare",
        ),
        (
            NodeType(
                "MissingEpisode",
                "Missing (kind MISSING) or away from placement without authorisation (AWAY).",
                (*_kept("kind"), *_kept("start end", DATE)),
            ),
            "WENT_MISSING",
            "Person",
        ),
        (
            NodeType(
                "Review",
                "A review: kind CLA (looked-after review), CP (child protection "
                "conference review) or EHCP; participation PN0 ... PN7.",
                (*_kept("kind participation plan"), *_kept("date", DATE)),
            ),
            "REVIEWED",
            "Person",
        ),
        (
            NodeType(
                "Outcome",
                "What a return records about how a child or care leaver is "
                "doing: kind OC2 (looked after a year: SDQ score, convictions, health "
                "checks, substance misuse), OC3 or care leaver (in touch, activity, "
                "accommodation).",
                (
                    *_kept("kind in_touch activity accommodation sdq_reason"),
                    *_kept("date", DATE),
                    *_kept("sdq_score", INTEGER),
                    *_kept(
                        "convicted health_check immunisations teeth_check health_assessment "
                        "substance_misuse intervention_received intervention_offered",
                        BOOLEAN,
                    ),
                ),
            ),
            "HAS_OUTCOME",
            "Person",
        ),
        (
            NodeType(
                "Adoption",
                "A decision that a child should be placed for adoption, the "
                "match and the adopters, or why the child stopped being placed.",
                (
                    *_kept("decided matched ceased", DATE),
                    *_kept("foster_carers", BOOLEAN),
                    *_kept("adopters", INTEGER),
                    *_kept("adopter_sex adopter_status ceased_reason"),
                ),
            ),
            "HAS_ADOPTION",
            "Person",
        ),
        (
            NodeType(
                "Status",
                "A standing over a period: kind UASC (unaccompanied "
                "asylum-seeking child, status as recorded) or previous permanence (status "
                "P1 ... Z1, la that made the order).",
                (*_kept("kind status la"), *_kept("from to", DATE)),
            ),
            "HAS_STATUS",
            "Person",
        ),
        (
            NodeType(
                "Disability",
                "A disability (uid: the CIN census code MOB, HAND, PC, INC, "
                "COMM, LD, HEAR, VIS, BEH, CON, AUT, DDA; NONE for none).",
                (Prop("name"),),
            ),
            "HAS_DISABILITY",
            "Person",
        ),
    )
)
RETURN_FACT_LABELS: tuple[str, ...] = tuple(node.label for node, _ in RETURN_FACTS)
NODE_TYPES += tuple(node for node, _ in RETURN_FACTS)
REL_TYPES += tuple(rel for _, rel in RETURN_FACTS)

LABELS: tuple[str, ...] = tuple(
    dict.fromkeys([n.label for n in NODE_TYPES] + [x for n in NODE_TYPES for x in n.extra_labels])
)
RELATIONSHIP_TYPES: tuple[str, ...] = tuple(r.type for r in REL_TYPES)
# what people add in the app between loads, so a count that does not tell loads apart
IN_APP_LABELS = frozenset(n.label for n in NODE_TYPES if n.in_app)
IN_APP_TYPES = frozenset(r.type for r in REL_TYPES if r.in_app)
PROPERTY_KEYS: tuple[str, ...] = tuple(
    sorted(
        {p for n in NODE_TYPES for p in n.properties} | {p for r in REL_TYPES for p in r.properties}
    )
)
# Field names of the row maps that Cypher UNWINDs ($rows) beyond property keys: the
# ends of the load's relationships, and those other modules' statements read. Neo4j's
# linter checks property access on them like any other property key.
ROW_FIELDS: tuple[str, ...] = tuple(
    sorted(
        {
            r.field(label, i)
            for r in REL_TYPES
            for i, labels in enumerate((r.start, r.end))
            for label in labels.split("|")
        }
        | {
            "worker",
            "left",
            "right",
            "keep",
            "drop",
            "factors",
            "year_group",
            "school",
            "school_urn",
            "area",
            "attendance_pct",
        }
        - set(PROPERTY_KEYS)
    )
)
FULLTEXT_INDEX = "person_names"


def node_type(label: str) -> NodeType:
    """The declared node type for a label (KeyError names the known labels)."""
    for node in NODE_TYPES:
        if node.label == label:
            return node
    raise KeyError(f"unknown label {label!r}; known: {', '.join(LABELS)}")


def rel_type(name: str) -> RelType:
    """The declared relationship type (KeyError names the known types)."""
    for rel in REL_TYPES:
        if rel.type == name:
            return rel
    raise KeyError(f"unknown relationship type {name!r}; known: {', '.join(RELATIONSHIP_TYPES)}")


def _described(p: Prop, key: tuple[str, ...] = ()) -> str:
    notes = [p.type]
    if p.name in key:
        notes.append("key")
    notes += [flag for flag in ("indexed", "fulltext", "keep", "derived") if getattr(p, flag)]
    if p.on_create:
        notes.append("set once")
    if p.text_of:
        notes.append(f"the ISO text of {p.text_of}")
    if p.writer != LOAD:
        notes.append(f"by {p.writer}")
    return f"{p.name} ({', '.join(notes)})"


def markdown() -> str:
    """The schema as Markdown, for docs/schema.md (kept equal to this module by a test)."""
    lines = [
        "Each property gives its type and: *key* (tells two relationships between the same",
        "nodes apart), *indexed*, *fulltext*, *keep* (a load's null keeps the value there),",
        "*derived* (worked out from other facts after every load), *set once* (when the node",
        "is first written) and *by* the module that writes it when the loader does not.",
        "",
        "| Node label | Key | Properties | Meaning |",
        "| --- | --- | --- | --- |",
    ]
    for n in NODE_TYPES:
        label = n.label + "".join(f", :{x}" for x in n.extra_labels)
        props = ", ".join(_described(p) for p in n.props)
        lines.append(f"| {label} | {n.key} (unique) | {props} | {n.description} |")
    lines += [
        "",
        "| Relationship | From → to | Properties | Meaning |",
        "| --- | --- | --- | --- |",
    ]
    for r in REL_TYPES:
        props = ", ".join(_described(p, r.key) for p in r.props)
        by = f" (by {r.writer})" if r.writer != LOAD else ""
        one = f" (one per {r.end})" if r.one_in else ""
        lines.append(f"| {r.type} | {r.start} → {r.end}{one} | {props} | {r.description}{by} |")
    return "\n".join(lines) + "\n"
