"""Rates the synthetic county is generated at, each with its source.

Prevalences are "open on the reference date" shares of children aged 0-17 (or of
pupils, where the published figure is per pupil). Published England figures are
rounded; the generator calibrates to these targets and the tests check the
generated county lands within tolerance of them.

Defect ("mess") rates are not published anywhere; they are our assumptions, set to
the order of magnitude that local authority data-matching work reports (duplicate
and mistyped records in the low single-digit percent, identifiers missing far more
often in some systems than others). They are documented so that a reader can see
exactly how dirty the demo data is, and change it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    value: float
    source: str


# -- Prevalences (England) -------------------------------------------------------

SEN_SUPPORT = Rate(
    0.142,
    "DfE, Special educational needs in England, June 2025: 14.2% of pupils on SEN "
    "support (13.6% in 2024).",
)
EHC_PLAN = Rate(
    0.053,
    "DfE, Special educational needs in England, June 2025: 5.3% of pupils have an "
    "EHC plan (4.8% in 2024).",
)
CHILDREN_IN_NEED = Rate(
    0.033,
    "DfE, Children in need 2024: 399,500 children in need on 31 March 2024, a rate "
    "of 332.9 per 10,000 children (includes those on CP plans and looked after).",
)
CHILD_PROTECTION = Rate(
    0.0041,
    "DfE, Children in need 2024: 41.2 per 10,000 children on a child protection "
    "plan on 31 March 2024.",
)
LOOKED_AFTER = Rate(
    0.0070,
    "DfE, Children looked after in England 2024: 83,630 on 31 March 2024, 70 per 10,000 children.",
)
CLA_OUT_OF_AREA = Rate(
    0.41,
    "DfE, Children looked after in England 2024: 41% of looked-after children "
    "placed outside their local authority's boundary.",
)
EARLY_HELP = Rate(
    0.025,
    "No national collection. Assumption: 2.5% of children in an open early help "
    "episode, within the 2-4% that county early help annual reports describe.",
)
YOUTH_JUSTICE_10_17 = Rate(
    0.003,
    "YJB/MoJ, Youth Justice Statistics 2023/24: about 13,700 children cautioned or "
    "sentenced in a year among ~5.5m aged 10-17 (0.25%); we hold 0.3% of 10-17s "
    "in an open order or programme.",
)
PERSISTENT_ABSENCE = Rate(
    0.19,
    "DfE, Pupil absence in schools in England 2023/24: 20.0% of pupils persistently "
    "absent (missing 10%+ of sessions); autumn 2024/25: 18.5%.",
)
OVERALL_ABSENCE = Rate(
    0.070,
    "DfE, Pupil absence 2023/24: overall absence rate 7.1% of sessions.",
)
SUSPENDED_PUPILS = Rate(
    0.030,
    "DfE, Suspensions and permanent exclusions 2023/24: 3.0% of pupils received "
    "one or more suspensions.",
)
PERMANENT_EXCLUSION = Rate(
    0.0013,
    "DfE, Suspensions and permanent exclusions 2023/24: permanent exclusion rate "
    "0.13 per 100 pupils.",
)
FREE_SCHOOL_MEALS = Rate(
    0.257,
    "DfE, Schools, pupils and their characteristics, January 2025: 25.7% of pupils "
    "eligible for free school meals.",
)
EAL = Rate(
    0.15,
    "DfE, Schools, pupils and their characteristics 2025: 21.4% of pupils nationally "
    "have English as an additional language; counties outside London are lower, we "
    "use 15%.",
)
YOUNG_CARER = Rate(
    0.010,
    "DfE school census 2023 first recorded young carers (~0.5% of pupils, widely "
    "held to be an undercount); 2021 Census: 0.9% of 5-17s provide unpaid care. "
    "We use 1%.",
)
SEND_TRANSPORT_SHARE_OF_EHCP = Rate(
    0.30,
    "Assumption from county home-to-school transport reports: about a third of "
    "children with EHC plans receive SEND transport.",
)
DISTANCE_TRANSPORT = Rate(
    0.05,
    "Assumption for a mixed rural/urban county: ~5% of mainstream pupils eligible "
    "for distance-based transport (statutory walking distances 2 and 3 miles).",
)
PERMANENT_HEARING_LOSS_AT_BIRTH = Rate(
    0.0015,
    "NHS Newborn Hearing Screening Programme: about 1-2 babies per 1,000 born with "
    "permanent hearing loss in one or both ears.",
)
EARLY_YEARS_IDENTIFIED_NEED = Rate(
    0.03,
    "Assumption: 3% of under-5s with a need identified by health visiting or a "
    "children's centre (speech and language delay the largest group).",
)
CHILDRENS_CENTRE_REGISTRATION = Rate(
    0.60,
    "Assumption: 60% of under-5s registered with a children's centre / family hub.",
)
MOVE_PER_YEAR = Rate(
    0.11,
    "English Housing Survey: about 1 in 10 households with children move in a year "
    "(higher among private renters). We use 11% a year, 16% in IMD deciles 1-3.",
)

# Shares of primary need among pupils with an EHC plan and on SEN support.
# DfE, Special educational needs in England, June 2025 (rounded; sum to 1).
EHCP_PRIMARY_NEED: dict[str, float] = {
    "ASD": 0.33,
    "SLCN": 0.21,
    "SEMH": 0.15,
    "MLD": 0.07,
    "SLD": 0.07,
    "PD": 0.04,
    "SpLD": 0.035,
    "HI": 0.02,
    "PMLD": 0.02,
    "VI": 0.01,
    "MSI": 0.005,
    "OTH": 0.02,
}
SEN_SUPPORT_PRIMARY_NEED: dict[str, float] = {
    "SLCN": 0.25,
    "SEMH": 0.21,
    "MLD": 0.13,
    "SpLD": 0.13,
    "ASD": 0.10,
    "OTH": 0.06,
    "PD": 0.03,
    "NSA": 0.04,
    "HI": 0.017,
    "VI": 0.008,
    "SLD": 0.01,
    "MSI": 0.005,
}
NEED_NAMES: dict[str, str] = {
    "ASD": "Autistic Spectrum Disorder",
    "SLCN": "Speech, Language and Communication Needs",
    "SEMH": "Social, Emotional and Mental Health",
    "MLD": "Moderate Learning Difficulty",
    "SLD": "Severe Learning Difficulty",
    "PMLD": "Profound and Multiple Learning Difficulty",
    "SpLD": "Specific Learning Difficulty",
    "PD": "Physical Disability",
    "HI": "Hearing Impairment",
    "VI": "Visual Impairment",
    "MSI": "Multi-Sensory Impairment",
    "OTH": "Other Difficulty/Disability",
    "NSA": "SEN support but no specialist assessment of type of need",
}

# Ethnicity mix of the county's children (DfE codes). England's pupils are ~63%
# White British; a county outside London is nearer three quarters (2021 Census).
ETHNICITY_MIX: dict[str, float] = {
    "WBRI": 0.735,
    "WOTH": 0.07,
    "WIRI": 0.005,
    "WROM": 0.005,
    "MWBC": 0.02,
    "MWBA": 0.01,
    "MWAS": 0.012,
    "MOTH": 0.018,
    "AIND": 0.025,
    "APKN": 0.02,
    "ABAN": 0.01,
    "AOTH": 0.008,
    "BAFR": 0.035,
    "BCRB": 0.01,
    "CHNE": 0.005,
    "OOTH": 0.012,
}

# -- Mess: defect rates per affected row (assumptions; see module docstring) ------

MESS: dict[str, float] = {
    "duplicate_row": 0.01,  # the same row exported twice
    "nickname": 0.06,  # systems that record what a family calls a child
    "typo": 0.015,  # one edit in a name
    "diacritics_stripped": 0.5,  # of names with diacritics, in ASCII-only systems
    "swapped_day_month": 0.008,  # of dates with day <= 12
    "impossible_date": 0.001,  # 31/02, 00/13, ...
    "future_date": 0.001,  # a date of birth after the extract date
    "blank_required": 0.004,  # name or date of birth left blank
    "missing_id": 0.05,  # an identifier the system should hold is blank
    "invalid_check_digit": 0.004,  # an identifier mistyped so its check fails
    "stale_address": 0.05,  # an old address still on the record
    "surname_change": 0.5,  # of children with a step-parent, in later systems
    "hyphenated_surname": 0.3,  # of children with parents of different surnames
    "names_swapped": 0.003,  # forename and surname in each other's columns
}
