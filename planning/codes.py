"""Code lists shared by the loader and planning: each list once."""

from __future__ import annotations

# SEN2's primary need codes and their names.
NEED_NAMES = {
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
    "NSA": "SEN support, no specialist assessment",
}
# The statutory returns' codes (CIN census, SSDA903): categories of abuse, the
# child in need census's need codes, disabilities.
CATEGORY_NAMES = {
    "NEG": "Neglect",
    "PHY": "Physical abuse",
    "SAB": "Sexual abuse",
    "EMO": "Emotional abuse",
    "MUL": "Multiple",
}
CIN_NEED_NAMES = {
    "N0": "Not stated",
    "N1": "Abuse or neglect",
    "N2": "Child's disability",
    "N3": "Parental illness or disability",
    "N4": "Family in acute stress",
    "N5": "Family dysfunction",
    "N6": "Socially unacceptable behaviour",
    "N7": "Low income",
    "N8": "Absent parenting",
    "N9": "Cases other than children in need",
}
DISABILITY_NAMES = {
    "NONE": "No disability",
    "MOB": "Mobility",
    "HAND": "Hand function",
    "PC": "Personal care",
    "INC": "Incontinence",
    "COMM": "Communication",
    "LD": "Learning",
    "HEAR": "Hearing",
    "VIS": "Vision",
    "BEH": "Behaviour",
    "CON": "Consciousness",
    "AUT": "Autism",
    "DDA": "Other (DDA)",
}
# The agencies' services: uid -> (name, the case kinds it holds); a case of any other
# kind is the "other" service's.
SERVICES = {
    "social-care": ("Children's social care", ("CIN", "CP", "CLA", "CL")),
    "send": ("SEND", ("EHCP", "SEN support")),
    "early-help": ("Early help", ("EH",)),
    "youth-justice": ("Youth justice", ("YJ",)),
    "health-visiting": ("Health visiting", ("HV",)),
    "education-welfare": ("Education welfare", ("EWO",)),
    "transport": ("Transport", ("Transport",)),
    "other": ("Other services", ()),
}
SERVICE_NAMES = {uid: name for uid, (name, _) in SERVICES.items()}
SERVICE_OF_KIND = {kind: uid for uid, (_, kinds) in SERVICES.items() for kind in kinds}
# Kinds of parent, the lower the more telling: of two rows naming one parent of one
# child, the builder keeps the more telling kind (an unlisted one ranks 5).
PARENT_KIND_RANK = {"birth": 0, "adoptive": 1, "step": 2, "guardian": 3, "foster": 4, "parent": 9}
# DfE first-language codes that say nothing about English being additional.
ENGLISH = {"ENG", "ENB"}  # English; believed to be English
UNKNOWN_LANGUAGE = {"NOT", "REF", "UNK", ""}  # not obtained; refused
