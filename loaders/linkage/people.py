"""The first probabilistic pass: every record, on who it says the person is.

Given name (with nicknames), family name (with hyphenated and changed surnames), date
of birth (with day and month swapped), sex, postcode and the address history the
person's checked identifiers already gathered. m is learnt from records that share a
checked identifier (known matches), u from random pairs.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from loaders.linkage.blocking import people_keys
from loaders.linkage.clusters import Clusters
from loaders.linkage.identity import Identity, plain
from loaders.linkage.model import Comparison, Level, Model, agreed_fields
from loaders.nicknames import canonical_given


def _exact(column: str, *, frequencies: bool = True) -> Callable[[bool], object]:
    """An exact-match level, adjusted for how common the value is where the input is
    large enough to say (``tf``) and the column is one whose values differ in how
    common they are (names; not dates of birth)."""
    import splink.comparison_level_library as cll

    return lambda tf: cll.ExactMatchLevel(column, term_frequency_adjustments=tf and frequencies)


def _jaro(column: str, threshold: float) -> Callable[[bool], object]:
    import splink.comparison_level_library as cll

    return lambda tf: cll.JaroWinklerLevel(column, threshold)


SWAPPED_NAMES = "given_l = family_r AND family_l = given_r"
GIVEN = Comparison(
    "given",
    ("given",),
    "given_l IS NULL OR given_r IS NULL",
    (
        Level("same given name", 0.82, 0.008, make=_exact("given")),
        Level("given and family names swapped", 0.005, 0.0002, sql=SWAPPED_NAMES),
        Level("same name or nickname", 0.04, 0.002, sql="given_canon_l = given_canon_r"),
        Level("given names alike", 0.05, 0.003, make=_jaro("given", 0.92)),
        Level(
            "one given name starts the other",
            0.02,
            0.004,
            sql="starts_with(given_l, given_r) OR starts_with(given_r, given_l)",
        ),
        Level("given names a little alike", 0.025, 0.02, make=_jaro("given", 0.80)),
        Level("different given names", 0.04, 0.9628),
    ),
    exact=0,
)
FAMILY = Comparison(
    "family",
    ("family",),
    "family_l IS NULL OR family_r IS NULL",
    (
        Level("same family name", 0.845, 0.005, make=_exact("family")),
        Level("given and family names swapped", 0.005, 0.0002, sql=SWAPPED_NAMES),
        Level("family names alike", 0.05, 0.002, make=_jaro("family", 0.92)),
        Level(
            "shares a surname part (hyphenated or changed)",
            0.04,
            0.002,
            sql="array_length(array_intersect(family_parts_l, family_parts_r)) > 0",
        ),
        Level("family names a little alike", 0.03, 0.02, make=_jaro("family", 0.80)),
        Level("different family names", 0.03, 0.9708),
    ),
    exact=0,
)
TOO_YOUNG = (
    "(born_before_l IS NOT NULL AND dob_r IS NOT NULL AND dob_r > born_before_l) "
    "OR (born_before_r IS NOT NULL AND dob_l IS NOT NULL AND dob_l > born_before_r)"
)
DOB = Comparison(
    "dob",
    ("dob",),
    f"NOT ({TOO_YOUNG}) AND (dob_l IS NULL OR dob_r IS NULL)",
    (
        Level(
            "too young to be the parent or liable adult named",
            1e-6,
            0.02,
            sql=TOO_YOUNG,
            fix_m=True,
        ),
        Level("same date of birth", 0.90, 0.0003, make=_exact("dob", frequencies=False)),
        Level(
            "date of birth with day and month swapped",
            0.01,
            0.00001,
            sql="substr(dob_l, 1, 4) = substr(dob_r, 1, 4) "
            "AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
            "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
        ),
        Level("born the same month", 0.03, 0.01, sql="substr(dob_l, 1, 7) = substr(dob_r, 1, 7)"),
        Level(
            "dates of birth differ in one part",
            0.04,
            0.03,
            sql="(substr(dob_l, 6, 5) = substr(dob_r, 6, 5)) "
            "OR (substr(dob_l, 1, 4) = substr(dob_r, 1, 4) "
            "AND substr(dob_l, 9, 2) = substr(dob_r, 9, 2))",
        ),
        Level(
            "different dates of birth a year or less apart",
            0.019899,  # with the rule's 1e-6 above, the levels' m sum to one
            0.05,
            sql="abs(CAST(substr(dob_l, 1, 4) AS INTEGER) - CAST(substr(dob_r, 1, 4) AS INTEGER)) "
            "<= 1",
        ),
        # Wholly different dates years apart: a parent's and a child's (namesakes at one
        # address), almost never one person's typed twice. A rule, not learnt.
        Level("dates of birth years apart", 0.0001, 0.88969, fix_m=True),
    ),
    exact=1,
)
SEX = Comparison(
    "sex",
    ("sex",),
    "sex_l IS NULL OR sex_r IS NULL",
    (
        Level("same sex", 0.97, 0.5, sql="sex_l = sex_r"),
        Level("different sex", 0.03, 0.5),
    ),
    exact=0,
)
POSTCODE = Comparison(
    "postcode",
    ("postcode",),
    "postcode_l IS NULL OR postcode_r IS NULL",
    (
        Level("same postcode", 0.6, 0.001, sql="postcode_l = postcode_r"),
        Level(
            "address histories share a postcode",
            0.1,
            0.0005,
            sql="array_length(array_intersect(postcodes_l, postcodes_r)) > 0",
        ),
        Level("same postcode district", 0.15, 0.05, sql="district_l = district_r"),
        Level("different postcodes", 0.15, 0.9485),
    ),
    exact=0,
)
DIFFERENT_IDS = (
    "(upn_l IS NOT NULL AND upn_r IS NOT NULL AND upn_l <> upn_r) "
    "OR (nhs_l IS NOT NULL AND nhs_r IS NOT NULL AND nhs_l <> nhs_r) "
    "OR (uln_l IS NOT NULL AND uln_r IS NOT NULL AND uln_l <> uln_r)"
)
IDENTIFIERS = Comparison(
    "identifiers",
    ("upn", "nhs", "uln"),
    "FALSE",
    (
        Level("different checked identifiers", 0.001, 0.5, sql=DIFFERENT_IDS, fix_m=True),
        Level("no checked identifiers differ", 0.999, 0.5, fix_m=True),
    ),
)


# The equalities the blocking rules join on, each once: the rules are made from them,
# and a delta scores new records against the rows sharing one (.scope.mates). Each key
# column is capped so that its pairs grow with the records rather than their square
# (loaders.linkage.blocking).
KEYS: tuple[tuple[str, str], ...] = (
    # Same date of birth, and the same initial of the given name (as its formal form: Bob
    # and Robert block together) or of the family name (a changed surname): pairs sharing
    # only a birthday grow with the square of the population, and were 42 of 56 million
    # scored comparisons at county scale.
    ("key_dob_given", "key_dob_given"),
    ("key_dob_family", "key_dob_family"),
    ("key_name", "key_name"),
    ("key_postcode", "key_postcode"),
    ("given", "family"),  # given and family names swapped (both ways round)
    # Same family name and birth year catches a date of birth and a given name both
    # mistyped; the given name's initial keeps its blocks small (common surnames made
    # this rule 41 of 95 million comparisons at county scale).
    ("key_year", "key_year"),
)


def _blocking() -> list:
    """A rule a key; a key of two columns joins them both ways round (names swapped)."""
    return [
        f"l.{left} = r.{right}" + ("" if left == right else f" AND l.{right} = r.{left}")
        for left, right in KEYS
    ]


def _deterministic() -> list:
    from splink import block_on

    return [block_on("dob", "given_canon", "family")]


def _em_rules() -> list:
    from splink import block_on

    return [block_on("dob"), block_on("family", "given_canon")]


PEOPLE = Model(
    name="people",
    comparisons=(GIVEN, FAMILY, DOB, SEX, POSTCODE, IDENTIFIERS),
    blocking=_blocking,
    deterministic=_deterministic,
    em_rules=_em_rules,
    needs=("given", "family", "dob"),
    keys=KEYS,
)


MODEL_COLUMNS = ("given", "family")  # the comparisons adjusted for name frequencies


def agreed_text(gammas: dict[str, int]) -> str:
    """The fields that agreed exactly in one pair the people model scored."""
    return agreed_fields(PEOPLE.comparisons, gammas)


def comparison_frame(identities: list[Identity], *, keys: bool = False) -> pa.Table:
    """The columns the people model reads, for records taken one by one (no address
    history shared through links): what :mod:`loaders.scoring` scores an enquiry on.
    ``keys``: with the blocking keys (Splink's own scoring reads them; an enquiry's
    pairs are given, and making the keys is forty times the rest for a few records)."""
    return people_frame(identities, Clusters(identities), keys=keys)


def people_frame(reps: list[Identity], clusters: Clusters, *, keys: bool = True) -> pa.Table:
    """Splink's input, built a column at a time as an Arrow table, which DuckDB reads as
    it is. Names and postcodes repeat: each distinct one's list is made once and shared
    by the rows that have it. Each record carries its person's postcodes so far (from
    the checked identifiers), so a record at an old address still meets its owner's
    others; ``label`` is the person for records with an identifier (known matches);
    ``keys``: with the blocking rules' key columns."""
    roots = [clusters.find(r.rid) for r in reps]
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
    columns = name_columns(reps)
    columns.update(
        {
            "unique_id": [r.rid for r in reps],
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
    )
    if keys:
        columns.update(people_keys(columns, roots))
    return table(columns)


def name_columns(reps: list[Identity]) -> dict[str, list]:
    """given, given_canon, family, family_parts: the name columns both passes compare."""
    given = [plain(r.given) for r in reps]
    family = [plain(r.family) for r in reps]
    parts: dict[str, list[str] | None] = {}  # family name -> its parts, shared
    for f in set(family):
        parts[f] = [p for p in f.replace(" ", "-").split("-") if p] or None
    return {
        "given": [g or None for g in given],
        "given_canon": [canonical_given(g.split(" ")[0]) if g else None for g in given],
        "family": [f or None for f in family],
        "family_parts": [parts[f] for f in family],
    }


LIST_COLUMNS = (
    "family_parts",
    "postcodes",
    "homes",
    "kids",
    "household",
    "housemates",
    "mate_names",
    "kin",
    "moved_in",
    "moved_out",
    "key_moves",
    "givens",
    "families",
    "left_with",
    "arrived_with",
    "key_mates",
    "mate_families",
)
FLAG_COLUMNS = ("fresh",)


STAYS = pa.list_(pa.struct([("a", pa.string()), ("s", pa.string()), ("e", pa.string())]))


def table(columns: dict[str, list | pa.Array]) -> pa.Table:
    """The columns as an Arrow table of the frame's types (a column already in Arrow
    is taken as it is)."""

    def made(name: str, values: list | pa.Array) -> pa.Array:
        return values if isinstance(values, pa.Array) else pa.array(values, type=kind(name))

    def kind(name: str) -> pa.DataType:
        if name in ("stays", "dated"):
            return STAYS
        if name in FLAG_COLUMNS:
            return pa.bool_()
        return pa.list_(pa.string()) if name in LIST_COLUMNS else pa.string()

    return pa.table({name: made(name, values) for name, values in columns.items()})
