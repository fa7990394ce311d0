"""What linkage looks at for one record, and what it hands back."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

CHECKED_IDS = ("upn", "nhs", "uln")  # identifiers with a check digit: two differ, two people
ID_FIELDS = (*CHECKED_IDS, "la_id")
ID_NAMES = {"upn": "UPN", "nhs": "NHS number", "uln": "ULN", "la_id": "case-system id"}


@dataclass(slots=True)
class Identity:
    """What linkage may look at for one record."""

    rid: str
    given: str = ""
    family: str = ""
    dob: str = ""  # ISO date or ''
    sex: str = ""
    postcode: str = ""
    upn: str = ""
    nhs: str = ""
    uln: str = ""
    la_id: str = ""
    trusted: bool = True
    born_before: str = ""  # ISO date: a parent or a liable adult cannot be born after it


@dataclass(slots=True)
class ReviewCandidate:
    """Two records (standing for their two people) a person should decide on."""

    left: str  # record uids
    right: str
    probability: float
    agreed: str  # the fields that agreed exactly
    evidence: str = ""  # for and against, in words
    named: tuple[str, ...] = ()  # the clusters (root records) the words name
    reason: str = ""  # a rule the link would break, when that is why it was not made
    impact: int = 0  # children whose networks the decision changes


@dataclass(slots=True)
class LinkResult:
    cluster_of: dict[str, str]  # record uid -> cluster key (smallest record uid in it)
    # record uid -> probability it belongs to its cluster, for records linked by
    # probability; any other record's is 1.0 (on its own, or by a checked identifier)
    probability: dict[str, float]
    review: list[ReviewCandidate] = field(default_factory=list)
    deterministic_links: int = 0
    probabilistic_links: int = 0
    relational_links: int = 0  # made by the second pass, on family and address evidence
    compared_pairs: int = 0
    # the first (people) pass's scored pairs: left, right, probability, fields agreed
    pairs: list[tuple[str, str, float, str]] = field(default_factory=list)
    # record uid -> why it joined its cluster, in words (records linked by probability)
    evidence: dict[str, str] = field(default_factory=dict)
    # how linkage ran: which models trained, which fell back to fixed priors, and why
    notes: list[str] = field(default_factory=list)
    # links not made because they would break a rule (rule -> count)
    prevented: Counter[str] = field(default_factory=Counter)
    # each model as it scored (Splink's settings, trained), by name: a delta load's
    # linkage scores its new records with them (``link(models=...)``)
    models: dict[str, dict | None] = field(default_factory=dict)
    # each scoring's blocking keys (the people pass's, then each adults' round's), kept
    # where asked (``link(keys=...)``) for the next delta's to meet (linkage.kept_keys)
    keys: list = field(default_factory=list)


@lru_cache(maxsize=1 << 20)
def plain(text: str) -> str:
    """Lower case, no accents, letters, hyphens and spaces only.

    Cached: names repeat (a pupil's name once per attendance return), and this ran
    1.6 million times for 30,000 children."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return "".join(ch for ch in text if ch.isalpha() or ch in "- ").strip()


def swapped(a: str, b: str) -> bool:
    """Two ISO dates that differ only by day and month swapped."""
    return len(a) == len(b) == 10 and a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]


def years_before(day: str, years: int) -> str:
    """An ISO date ``years`` earlier, as text (29 February stays comparable as text)."""
    return f"{int(day[:4]) - years:04d}{day[4:]}"


def signature(r: Identity) -> tuple:
    """Records with the same signature are one (an attendance file repeats each pupil)."""
    return (
        plain(r.given),
        plain(r.family),
        r.dob,
        r.sex,
        r.postcode,
        r.upn,
        r.nhs,
        r.uln,
        r.la_id,
        r.trusted,
        r.born_before,
    )


def compressed(
    records: list[Identity], made: dict[int, tuple] | None = None
) -> tuple[list[Identity], list[int]]:
    """Identical identities as one (compression): the representatives (each
    signature's first record, in order) and each record's representative's place;
    ``made``: each record's signature by the record (its ``id``: two records may give
    one uid), kept between calls (a scoped link's records grow,
    :mod:`loaders.linkage.kept_keys`)."""
    signature_rep: dict[tuple, int] = {}
    reps: list[Identity] = []
    rep_at: list[int] = []
    for r in records:
        if made is None:
            sig = signature(r)
        else:
            sig = made.get(id(r))
            if sig is None:
                sig = made[id(r)] = signature(r)
        at = signature_rep.get(sig)
        if at is None:
            signature_rep[sig] = at = len(reps)
            reps.append(r)
        rep_at.append(at)
    return reps, rep_at
