"""Identity resolution: which source records are the same person.

Three steps, in order of trust:

1. **Deterministic** links on identifiers that passed their check (UPN, NHS number,
   ULN, the case system's own id) from sources that are trusted to hold them - with
   a guard: an identifier shared by records whose date of birth *and* given name
   both disagree is treated as a keying error and left to step 2.
2. **Probabilistic** matching with Splink (DuckDB backend) on given name (with
   nicknames), family name (with hyphenated and changed surnames), date of birth
   (with swapped day and month), sex and postcode. m-probabilities are learnt from
   the deterministic links (records that share a checked identifier are known
   matches), u-probabilities from random pairs. Every pair's match weight comes
   with the list of fields that agreed, so a reviewer can see why.
3. **Decisions**: pairs above the upper threshold are linked; pairs in the uncertain
   band go to the review queue and stay apart; a reviewer's accept or reject is
   applied on every later load.

Records with identical identity fields are compressed to one before matching (an
attendance file repeats each pupil once per term), which keeps Splink's work close
to the number of distinct identities rather than rows.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from splink.backends.duckdb import DuckDBAPI

from loaders.nicknames import canonical_given

ID_FIELDS = ("upn", "nhs", "uln", "la_id")
MATCH_THRESHOLD = 0.90
# DuckDB may take this much memory for Splink's work and spills the rest to a temporary
# directory; left alone it takes up to 80% of the machine, on top of the load's own.
# The linkage_memory setting (JIGSAW_LINKAGE_MEMORY) overrides it.
LINKAGE_MEMORY = "2GB"
REVIEW_THRESHOLD = 0.50


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
    left: str  # record uids
    right: str
    probability: float
    agreed: str


@dataclass(slots=True)
class LinkResult:
    cluster_of: dict[str, str]  # record uid -> cluster key (smallest record uid in it)
    # record uid -> probability it belongs to its cluster, for records linked by
    # probability; any other record's is 1.0 (on its own, or by a checked identifier)
    probability: dict[str, float]
    review: list[ReviewCandidate] = field(default_factory=list)
    deterministic_links: int = 0
    probabilistic_links: int = 0
    compared_pairs: int = 0
    pairs: list[tuple[str, str, float, str]] = field(default_factory=list)


@lru_cache(maxsize=1 << 20)
def plain(text: str) -> str:
    """Lower case, no accents, letters, hyphens and spaces only.

    Cached: names repeat (a pupil's name once per attendance return), and this ran
    1.6 million times for 30,000 children."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return "".join(ch for ch in text if ch.isalpha() or ch in "- ").strip()


class _Union:
    """Union-find over record uids; a cluster's root is its least uid (``union``)."""

    def __init__(self, items: Iterable[str] = ()) -> None:
        self.parent: dict[str, str] = {x: x for x in items}

    def find(self, x: str) -> str:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return True


def link(
    identities: Iterable[Identity],
    *,
    accepted: Iterable[tuple[str, str]] = (),
    rejected: Iterable[tuple[str, str]] = (),
    match_threshold: float = MATCH_THRESHOLD,
    review_threshold: float = REVIEW_THRESHOLD,
    memory_limit: str | None = None,
    model_path: Path | None = None,
) -> LinkResult:
    """Cluster the records; ``model_path``: where to keep the trained model (m and u
    probabilities, name frequencies) for :class:`Scorer` to score single enquiries with."""
    records = list(identities)
    uf = _Union(r.rid for r in records)
    # 0. identical identities are one (compression)
    signature_rep: dict[tuple, str] = {}
    reps: list[Identity] = []
    rep_of: list[str] = []  # each record's representative, in the records' order
    for r in records:
        sig = _signature(r)
        rep = signature_rep.get(sig)
        if rep is None:
            signature_rep[sig] = rep = r.rid
            reps.append(r)
        else:
            uf.union(rep, r.rid)
        rep_of.append(rep)
    del signature_rep
    probability: dict[str, float] = {}  # 1.0 unless listed (LinkResult)
    result = LinkResult(cluster_of={}, probability=probability)
    rejected_pairs = {frozenset(p) for p in rejected}
    # 1. deterministic on checked identifiers
    by_id: dict[tuple[str, str], list[Identity]] = defaultdict(list)
    for r in reps:
        if not r.trusted:
            continue
        for name in ID_FIELDS:
            value = getattr(r, name)
            if value:
                by_id[(name, value)].append(r)
    for group in by_id.values():
        first = group[0]
        for other in group[1:]:
            if _conflict(first, other) or frozenset((first.rid, other.rid)) in rejected_pairs:
                continue
            if uf.union(first.rid, other.rid):
                result.deterministic_links += 1
    for left, right in accepted:
        if left in uf.parent and right in uf.parent:
            uf.union(left, right)
    # 2. probabilistic, once. Each record carries its person's address history from
    # the deterministic links, so a record at an old address can still meet its owner's
    # others. A second pass with the history from this one used to run as well: it
    # doubled Splink's time for 75 more links among 235,000 records (recall 0.9226 ->
    # 0.9228 overall, 0.9999 for children either way, 30,000-child county).
    best: dict[str, float] = {}
    pairs = _splink_pairs(reps, uf, review_threshold, memory_limit or LINKAGE_MEMORY, model_path)
    for left, right, prob, _agreed in pairs:
        if prob >= match_threshold and frozenset((left, right)) not in rejected_pairs:
            if uf.union(left, right):
                result.probabilistic_links += 1
            best[left] = max(best.get(left, 0.0), prob)
            best[right] = max(best.get(right, 0.0), prob)
    result.compared_pairs = len(pairs)
    result.pairs = pairs
    for left, right, prob, agreed in pairs:
        if (
            prob < match_threshold
            and uf.find(left) != uf.find(right)
            and frozenset((left, right)) not in rejected_pairs
        ):
            result.review.append(ReviewCandidate(left, right, round(prob, 4), agreed))
    # a review pair whose records ended up linked anyway is settled
    result.review = [c for c in result.review if uf.find(c.left) != uf.find(c.right)]
    seen: set[frozenset[str]] = set()
    unique_review = []
    # the likeliest pair of records stands for its two clusters; among equally likely
    # ones the least uids, as DuckDB returns scored pairs in no fixed order (two runs on
    # the same 100,000 children's records differed in 1,256 of 11,444 review pairs)
    for c in sorted(result.review, key=lambda c: (-c.probability, c.left, c.right)):
        key = frozenset((uf.find(c.left), uf.find(c.right)))
        if key not in seen:
            seen.add(key)
            unique_review.append(c)
    result.review = unique_review
    for r, rep in zip(records, rep_of, strict=True):
        result.cluster_of[r.rid] = uf.find(r.rid)
        if rep in best:
            probability[r.rid] = round(best[rep], 4)
    return result


def _signature(r: Identity) -> tuple:
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


def _conflict(a: Identity, b: Identity) -> bool:
    """Same identifier, but neither birth date nor given name agree: a keying error."""
    if not (a.dob and b.dob and a.given and b.given):
        return False
    dob_ok = a.dob == b.dob or _swapped(a.dob, b.dob)
    name_ok = canonical_given(plain(a.given)) == canonical_given(plain(b.given)) or (
        plain(a.given)[:3] == plain(b.given)[:3]
    )
    return not dob_ok and not name_ok


def _swapped(a: str, b: str) -> bool:
    return len(a) == len(b) == 10 and a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]


def comparison_frame(identities: list[Identity]) -> pa.Table:
    """The columns the comparisons read, for records taken one by one (no address
    history shared through links): what :mod:`loaders.scoring` scores an enquiry on."""
    return _frame(identities, _Union())


def _frame(reps: list[Identity], uf: _Union) -> pa.Table:
    """Splink's input, built a column at a time (a row at a time took 19 s at county)
    as an Arrow table, which DuckDB reads as it is (a pandas frame took half as long
    again to build). Names and postcodes repeat: each distinct one's list is made once
    and shared by the rows that have it. At 100,000 children this took 4.3-5.0 -> 2.0-2.4 s."""
    roots = [uf.find(r.rid) for r in reps]
    # each person's postcodes so far (from the deterministic links), sorted; most have one
    one: dict[str, list[str]] = {}  # postcode -> [postcode], shared
    first: dict[str, str] = {}  # root -> its first postcode
    more: dict[str, set[str]] = {}  # root -> its postcodes, for roots with two or more
    for r, root in zip(reps, roots, strict=True):
        code = r.postcode
        if code:
            seen = first.get(root)
            if seen is None:
                first[root] = code
            elif seen != code:
                more.setdefault(root, {seen}).add(code)
    postcodes = {root: one.setdefault(code, [code]) for root, code in first.items()}
    for root, codes in more.items():
        postcodes[root] = sorted(codes)
    given = [plain(r.given) for r in reps]
    family = [plain(r.family) for r in reps]
    parts: dict[str, list[str] | None] = {}  # family name -> its parts, shared
    for f in set(family):
        parts[f] = [p for p in f.replace(" ", "-").split("-") if p] or None
    columns = {
        "unique_id": [r.rid for r in reps],
        "given": [g or None for g in given],
        "given_canon": [canonical_given(g.split(" ")[0]) if g else None for g in given],
        "family": [f or None for f in family],
        "family_parts": [parts[f] for f in family],
        "dob": [r.dob or None for r in reps],
        "born_before": [r.born_before or None for r in reps],
        "sex": [r.sex if r.sex in ("F", "M") else None for r in reps],
        "postcode": [r.postcode or None for r in reps],
        "district": [r.postcode.split(" ")[0] if r.postcode else None for r in reps],
        "postcodes": [postcodes.get(root) for root in roots],
        "upn": [r.upn or None for r in reps],
        "nhs": [r.nhs or None for r in reps],
        "uln": [r.uln or None for r in reps],
        "label": [
            root if (r.upn or r.nhs or r.uln or r.la_id) else r.rid
            for r, root in zip(reps, roots, strict=True)
        ],
    }
    types = {"family_parts": pa.list_(pa.string()), "postcodes": pa.list_(pa.string())}
    return pa.table(
        {
            name: pa.array(values, type=types.get(name, pa.string()))
            for name, values in columns.items()
        }
    )


def _settings():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    given = cl.CustomComparison(
        output_column_name="given",
        comparison_levels=[
            cll.NullLevel("given"),
            cll.ExactMatchLevel("given", term_frequency_adjustments=True),
            cll.CustomLevel(
                "given_l = family_r AND family_l = given_r",
                label_for_charts="given and family names swapped",
            ),
            cll.CustomLevel(
                "given_canon_l = given_canon_r", label_for_charts="same name or nickname"
            ),
            cll.JaroWinklerLevel("given", 0.92),
            cll.CustomLevel(
                "starts_with(given_l, given_r) OR starts_with(given_r, given_l)",
                label_for_charts="one name starts the other",
            ),
            cll.JaroWinklerLevel("given", 0.80),
            cll.ElseLevel(),
        ],
    )
    family = cl.CustomComparison(
        output_column_name="family",
        comparison_levels=[
            cll.NullLevel("family"),
            cll.ExactMatchLevel("family", term_frequency_adjustments=True),
            cll.CustomLevel(
                "given_l = family_r AND family_l = given_r",
                label_for_charts="given and family names swapped",
            ),
            cll.JaroWinklerLevel("family", 0.92),
            cll.CustomLevel(
                "len(list_intersect(family_parts_l, family_parts_r)) > 0",
                label_for_charts="shares a surname part (hyphenated or changed)",
            ),
            cll.JaroWinklerLevel("family", 0.80),
            cll.ElseLevel(),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.CustomLevel(
                "(born_before_l IS NOT NULL AND dob_r IS NOT NULL AND dob_r > born_before_l) "
                "OR (born_before_r IS NOT NULL AND dob_l IS NOT NULL AND dob_l > born_before_r)",
                label_for_charts="too young to be the parent or liable adult named",
            ).configure(m_probability=1e-6, fix_m_probability=True),
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel(
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) "
                "AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
                "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                label_for_charts="day and month swapped",
            ),
            cll.CustomLevel(
                "substr(dob_l, 1, 7) = substr(dob_r, 1, 7)", label_for_charts="same month"
            ),
            cll.CustomLevel(
                "(substr(dob_l, 6, 5) = substr(dob_r, 6, 5)) "
                "OR (substr(dob_l, 1, 4) = substr(dob_r, 1, 4) "
                "AND substr(dob_l, 9, 2) = substr(dob_r, 9, 2))",
                label_for_charts="one part differs",
            ),
            cll.ElseLevel(),
        ],
    )
    postcode = cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode"),
            cll.CustomLevel(
                "len(list_intersect(postcodes_l, postcodes_r)) > 0",
                label_for_charts="address histories share a postcode",
            ),
            cll.ExactMatchLevel("district"),
            cll.ElseLevel(),
        ],
    )
    identifiers = cl.CustomComparison(
        output_column_name="identifiers",
        comparison_levels=[
            cll.CustomLevel(
                "(upn_l IS NOT NULL AND upn_r IS NOT NULL AND upn_l <> upn_r) "
                "OR (nhs_l IS NOT NULL AND nhs_r IS NOT NULL AND nhs_l <> nhs_r) "
                "OR (uln_l IS NOT NULL AND uln_r IS NOT NULL AND uln_l <> uln_r)",
                label_for_charts="different checked identifiers",
            ).configure(m_probability=0.001, fix_m_probability=True, u_probability=0.5),
            cll.ElseLevel().configure(
                m_probability=0.999, fix_m_probability=True, u_probability=0.5
            ),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[given, family, dob, cl.ExactMatch("sex"), postcode, identifiers],
        blocking_rules_to_generate_predictions=[
            # Same date of birth, and the same initial of the given name (as its formal
            # form: Bob and Robert block together) or of the family name (a changed
            # surname): pairs sharing only a birthday grow with the square of the
            # population, and were 42 of 56 million scored comparisons at county scale.
            # With the initials: the same people at 30,000 and 300,000 children, and
            # 16 of 908,030 scored pairs (3 review candidates) fewer at county.
            block_on("dob", "substr(given_canon, 1, 1)"),
            block_on("dob", "substr(family, 1, 1)"),
            block_on("family", "given_canon"),
            block_on("postcode", "given_canon"),
            "l.given = r.family AND l.family = r.given",
            # Same family name and birth year catches a date of birth and a given name
            # both mistyped; the given name's initial keeps its blocks small (common
            # surnames made this rule 41 of 95 million comparisons at county scale, and
            # without the initial it found no pair more at 30,000 children).
            block_on("family", "substr(dob, 1, 4)", "substr(given, 1, 1)"),
        ],
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
    )


LEVEL_COLUMNS = ("given", "family", "dob", "sex", "postcode")


def _splink_pairs(
    reps: list[Identity],
    uf: _Union,
    review_threshold: float,
    memory_limit: str,
    model_path: Path | None = None,
) -> list[tuple[str, str, float, str]]:
    """Scored pairs at or above the review threshold, with the fields that agreed."""
    if len(reps) < 2:
        return []
    logging.getLogger("splink").setLevel(logging.ERROR)
    frame = _frame(reps, uf)
    with tempfile.TemporaryDirectory(prefix="jigsaw-linkage-") as spill:
        connection = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill})
        try:
            return _predict(DuckDBAPI(connection=connection), frame, review_threshold, model_path)
        finally:
            connection.close()


def _predict(
    db_api: DuckDBAPI, frame: pa.Table, review_threshold: float, model_path: Path | None = None
) -> list[tuple[str, str, float, str]]:
    from splink import Linker, block_on

    table = db_api.register(frame)
    linker = Linker(table, _settings(), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("dob", "given_canon", "family")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    labelled = pc.value_counts(frame["label"]).field("counts")
    if pc.sum(pc.greater(labelled, 1)).as_py() >= 20:
        linker.training.estimate_m_from_label_column("label")
    else:  # too few known matches: learn m by expectation maximisation instead
        for rule in (block_on("dob"), block_on("family", "given_canon")):
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
    if model_path is not None:
        save_model(linker, model_path)
    predictions = linker.inference.predict(threshold_match_probability=review_threshold)
    # Only the columns used, straight from DuckDB: the whole frame carries both sides of
    # every compared field (37 columns, about 0.9 GB at county scale).
    relation = predictions.as_duckdbpyrelation()
    # "identifiers" is left out: its top level means the identifiers *differ*.
    gamma = [c for c in relation.columns if c in _TOP_LEVEL]
    wanted = ["unique_id_l", "unique_id_r", "match_probability", *gamma]
    df = relation.select(*wanted).fetchnumpy()
    # Which fields agreed exactly, as one small bit mask per pair: a few dozen distinct
    # masks, each turned into its text once (to_dict per pair was 10 s at 30k children).
    mask = np.zeros(len(df["match_probability"]), dtype=np.int64)
    for bit, column in enumerate(gamma):
        mask |= (np.asarray(df[column]) == _TOP_LEVEL[column]).astype(np.int64) << bit
    texts = {
        m: agreed_text({c: _TOP_LEVEL[c] for b, c in enumerate(gamma) if m >> b & 1})
        for m in np.unique(mask).tolist()
    }
    return [
        (left, right, float(prob), texts[m])
        for left, right, prob, m in zip(
            df["unique_id_l"].tolist(),
            df["unique_id_r"].tolist(),
            df["match_probability"].tolist(),
            mask.tolist(),
            strict=True,
        )
    ]


MODEL_COLUMNS = ("given", "family")  # the comparisons adjusted for name frequencies


def save_model(linker: Any, path: Path) -> None:
    """Keep the trained model beside the load's reports: Splink's settings with their m
    and u probabilities, and the frequency of each given and family name (the exact
    name levels are adjusted by it). Written whole, then renamed, and readable only by
    this user: it lists the names in the data, though no one's record."""
    frequencies = {}
    for column in MODEL_COLUMNS:
        table = linker.table_management.compute_tf_table(column).as_duckdbpyrelation()
        frequencies[column] = dict(table.fetchall())
    body = {
        "splink": linker.misc.save_model_to_json(),
        "frequencies": frequencies,
        "match_threshold": MATCH_THRESHOLD,
        "review_threshold": REVIEW_THRESHOLD,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        json.dump(body, fh)
    os.replace(partial, path)


# The gamma value of each comparison's exact-agreement level. Splink numbers levels
# from the bottom (else = 0), nulls -1: for dob the "too young" level sits above exact.
_TOP_LEVEL = {"gamma_given": 6, "gamma_family": 5, "gamma_dob": 4, "gamma_sex": 1,
              "gamma_postcode": 3}  # fmt: skip


def agreed_text(gammas: dict[str, int]) -> str:
    """The fields that agreed exactly in one scored pair, as review pairs name them."""
    agreed = [c.removeprefix("gamma_") for c, top in _TOP_LEVEL.items() if gammas.get(c) == top]
    return ", ".join(agreed) or "no field agreed exactly"


def conflicting(a: Identity, b: Identity) -> bool:
    """The deterministic step's guard, for one pair: the same identifier, but neither the
    birth date nor the given name agrees (a keying error, not the same person)."""
    return _conflict(a, b)


def swapped_day_month(day: str) -> str:
    """The ISO date with day and month swapped, where that is another real date; else ''
    (the comparisons' "day and month swapped" level, as a date to look people up by)."""
    if len(day) != 10 or day[5:7] == day[8:10]:
        return ""
    swapped = f"{day[:4]}-{day[8:10]}-{day[5:7]}"
    try:
        dt.date.fromisoformat(swapped)
    except ValueError:
        return ""
    return swapped
