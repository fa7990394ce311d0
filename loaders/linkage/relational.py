"""The second pass: adults, compared with their families and homes (collective).

Adults' records carry little a name does not: a parent named on a child's row or a
council tax liable party has no date of birth, and surnames change. What they do
carry is context. Once the first pass has resolved the children, each adult record
is compared with another on who they are (names, sex, date of birth where known) and
on what surrounds them, gathered over the person each record already belongs to:

* **kin**: the resolved children their records name them as parent or carer of (the
  child on the same row, the children of the same family group, a case system's
  relationships), and the children who live at the addresses they lived at. Two
  records naming the same child's mother, or a liable party at the address a named
  parent's child lives at, are almost certainly one person;
* **address**: the addresses their person has lived at (one council tax account
  after another), a move out of one the day of a move into the other, postcode;
* **a housemate**: each lived with one same adult (dated stays at one address over the
  same days), at different addresses or times: a partner at both addresses;
* **a co-parent**: the other parent of one's child (both named as its own parent, of a
  stated kind) lived with the other around the child's birth, or has the name of
  someone who did: a mother named under her partner's family name, and her account
  under her own at the address they shared when the child was born;
* **a household's move**: someone who lived with one of them moved, the day that one
  moved out, to the address the other moved into that day (a joint liable party, a
  partner, a child with a dated address): the household moved together;
* **timeline**: a person lives at one address at a time, so dated stays at different
  addresses over the same days count against (and, across whole people, stop a link:
  :meth:`~loaders.linkage.clusters.Clusters.two_homes`).

Blocking grows with the population, not its square: shared children, housemates and
addresses, names, a moving day or a housemate's name with the given name's first letters.

These are Splink comparisons on list columns, learnt like the first pass's. Each
round's links widen the people's histories, so the pass runs again while a round links
enough to change the next (at most :data:`ROUNDS` times; ``linkage.LAST_ROUND_SHARE``):
collective resolution.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from itertools import compress
from operator import attrgetter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph.family_rules import CHILD_AGE
from loaders.distinct import sorted_distinct
from loaders.linkage.backend import duckdb_connection
from loaders.linkage.blocking import codes, within
from loaders.linkage.clusters import Clusters
from loaders.linkage.identity import Identity, plain, years_before
from loaders.linkage.inputs import OPEN_END, OPEN_START, PARENTAL_KINDS, UNSTATED_KIND, Context
from loaders.linkage.model import Comparison, Level, Model, with_m
from loaders.linkage.people import (
    DOB,
    FAMILY,
    GIVEN,
    IDENTIFIERS,
    SEX,
    STAYS,
    SWAPPED_NAMES,
    name_columns,
    table,
)

ROUNDS = 3
ADULT_AGE = 16  # a person whose every birth date is this long ago is an adult here
# An address where more children (or adults) than this have lived says nothing about a
# household (a children's home, a hostel, a block given one key).
HOUSEHOLD_MAX = 12
HOME_MAX = 30  # adults at one address, beyond which it is not a blocking key
CUT_OFF = 20  # a day with this many times more moves than most days have is not a move

# Where they live and whom they care for counts only between records whose given names
# could be one person's and whose sexes do not differ: partners and co-parents share a
# household and children, and told apart only by who they are.
COULD_BE_ONE = (
    "given_l IS NOT NULL AND given_r IS NOT NULL "
    "AND (given_canon_l = given_canon_r OR jaro_winkler_similarity(given_l, given_r) >= 0.88 "
    "OR starts_with(given_l, given_r) OR starts_with(given_r, given_l)) "
    "AND (sex_l IS NULL OR sex_r IS NULL OR sex_l = sex_r)"
)


MOVED = (
    "array_length(array_intersect(moved_out_l, moved_in_r)) > 0 "
    "OR array_length(array_intersect(moved_in_l, moved_out_r)) > 0"
)

# one left an address the day someone moved from it to where the other arrived that day
MOVED_WITH = (
    "array_length(array_intersect(left_with_l, arrived_with_r)) > 0 "
    "OR array_length(array_intersect(arrived_with_l, left_with_r)) > 0"
)

JOURNEY = Level(
    # A household moves together: a joint liable party or partner who left the
    # same address that day for the other's new one. Strangers meet this only
    # when, on one day, one moved out of the home a third person left for the
    # address the other moved into: far rarer than a moving day alone (its u is
    # measured on random pairs; this prior stands when none meets it).
    "moved out the day the other moved in, as someone who lived with them did, "
    "from the one address to the other",
    0.05,
    0.00001,
    sql=MOVED_WITH,
    per_person=True,
    pairs_on=("left_with", "arrived_with"),
)

# Dated stays of the two at different addresses over the same days (the days a stay
# starts and ends may touch: a move); null when either has no dated stay.
AT_ONCE = (
    "array_length(list_filter(dated_l, lambda x: array_length(list_filter(dated_r, "
    "lambda y: x.a <> y.a AND x.s < y.e AND y.s < x.e)) > 0)) > 0"
)
# The housemate levels tell of one household moving: the person and their partner at
# one address, then at another. Two namesakes each living with a namesake partner at
# their own address over the same years (two couples, as names run in families and
# communities) meet the same test on names; their stays at once say they are two
# households. At 100,000 children (seed 1), of the first round's pairs that met
# MATES_ALIKE while at two addresses at once, 2,090 were two people (1,459 of them
# linked) and 17 one person; of the 53,165 pairs of one person meeting it, those 17
# were the only ones at once. So these levels hold only for stays one after the other.
ONE_AFTER_THE_OTHER = f"NOT coalesce({AT_ONCE}, FALSE)"


def one_after_the_other(test: str, then: str = "") -> str:
    """``test`` AND ``then`` AND :data:`ONE_AFTER_THE_OTHER`, the rest worked out only
    for the pairs meeting ``test`` (DuckDB works out a CASE's branch only for the rows
    that take it; an AND's both sides for every pair scored)."""
    rest = f"{then} AND {ONE_AFTER_THE_OTHER}" if then else ONE_AFTER_THE_OTHER
    return f"CASE WHEN {test} THEN {rest} ELSE FALSE END"


SAME_HOUSEMATE = Level(
    # A partner at both addresses (a joint account at each): the two stays were each
    # shared, over dated days, with one same adult, at different addresses or times.
    # Strangers meet it when one adult lived with both (a new partner, a lodger after
    # another): its u is measured on random pairs, and most such pairs are told apart
    # by name or sex (the condition), as for the levels above. One same person is also
    # one same name, so strangers meet it no more often than MATES_ALIKE (measured):
    # this prior, no larger, stands when no random pair meets it.
    "both lived with the same person, one stay after the other",
    0.03,
    0.000001,
    sql=one_after_the_other("array_length(array_intersect(housemates_l, housemates_r)) > 0"),
    u_share=0.1,
    per_person=True,
    pairs_on=("housemates", "housemates"),
)

MATES_ALIKE = Level(
    # The partner's own accounts not (yet) one person: each lived with someone of one
    # full name (one partner under each account), the pair and the partner's pair
    # supporting each other. Strangers meet it when their housemates are namesakes.
    "each lived with someone of the same name, one stay after the other",
    0.02,
    0.0001,
    sql=one_after_the_other("array_length(array_intersect(mate_names_l, mate_names_r)) > 0"),
    u_share=0.1,
    # not counted over every pair (no ``pairs_on``): a housemate's name is shared by
    # many, and the pairs sharing one grow as the square of the county's namesakes
    stands_in_for=SAME_HOUSEMATE,
)

# The other parent of one's child: at most this many people named as a child's own
# parent (a stated parental kind, PARENTAL_KINDS, and no carer's kind for that child)
# make them each other's co-parents; a child with more names none.
CO_PARENTS = 2
# A stay with the child's other parent counts only around the child's birth: it had not
# ended COPARENT_BEFORE years before it (the pregnancy, and a little more: a former
# partner of the co-parent is not the parent) and had begun by COPARENT_AFTER years after
# it. Why a year after: parents who lived apart at the birth may move in together in the
# child's first year, and a stay begun then is theirs more often than a new partner's
# (a co-parent's later partner moves in, mostly, years after a birth); beyond it, a
# stay with the co-parent is as likely a later partner's, of one given name with the
# parent, as the parent's (benchmarks/README.md, "Linkage", has the truth's counts). A
# stay recorded from an extract's first day (every account open then seems to begin on
# it) is taken to begin then: the records do not say it began around the birth, so it
# counts only for a child born within COPARENT_AFTER years before that day (a later
# partner's joint account open when the extract begins is not the parent's either).
COPARENT_BEFORE = 1
COPARENT_AFTER = 1
# The frame's list columns the co-parent levels relate to a child's birth: a person's
# co-parents (and their names) with the days a stay with them must meet, and their
# housemates (and names) with the days they lived together (:func:`surroundings`).
WINDOWED = ("coparent_births", "coparent_name_births", "mate_stays", "mate_name_stays")


def _around_birth(births: str, stays: str, key: str) -> str:
    """Some ``births`` entry (``lo`` to ``hi``) and some ``stays`` entry (``s`` to ``e``)
    of the same ``key`` meet: the stay did not end before ``lo`` and had begun by ``hi``;
    on the _l and _r sides both
    ways (the columns named outside the lambdas too: Splink keeps only the columns it
    finds there)."""
    one = (
        "({0}_{2} IS NOT NULL AND {1}_{3} IS NOT NULL AND "
        "array_length(list_filter({0}_{2}, lambda x: array_length(list_filter({1}_{3}, "
        "lambda y: x.{4} = y.{4} AND x.lo <= y.e AND y.s <= x.hi)) > 0)) > 0)"
    )
    both = (one.format(births, stays, x, y, key) for x, y in (("l", "r"), ("r", "l")))
    return f"({' OR '.join(both)})"


CO_PARENT = Level(
    # A mother named as such on her child's row under her partner's family name, and
    # her council tax account under her own, at the address the two shared when the
    # child was born: the child's other parent (both named as its own parent, of a
    # stated kind, a child with no more than CO_PARENTS) lived with the other around
    # the birth (COPARENT_BEFORE, COPARENT_AFTER: neither a former nor a later partner
    # of the co-parent meets it). It holds, as the housemate levels do, only for stays
    # one after the other (a co-parent's two partners at once are two people); its u is
    # measured on random pairs.
    "the other parent of one's child lived with the other around the child's birth, "
    "one stay after the other",
    # m: the share of the truth's pairs of one person meeting it first among those the
    # blocking reaches (benchmarks.linkage --m-from-truth): not a prior tuned to recall
    0.0005,
    0.000001,
    sql=one_after_the_other(
        "array_length(array_intersect(coparents_l, housemates_r)) > 0 "
        "OR array_length(array_intersect(housemates_l, coparents_r)) > 0",
        _around_birth("coparent_births", "mate_stays", "c"),
    ),
    u_share=0.1,
    per_person=True,
    pairs_on=("coparents", "housemates"),
)

CO_PARENT_ALIKE = Level(
    # As CO_PARENT, where the co-parent's records and the housemate's are not (yet) one
    # person: the two share a full name. Strangers meet it when names do.
    "the other parent of one's child has the name of someone the other lived with around "
    "the child's birth, one stay after the other",
    0.0051,  # measured as CO_PARENT's
    0.0001,
    sql=one_after_the_other(
        "array_length(array_intersect(coparent_names_l, mate_names_r)) > 0 "
        "OR array_length(array_intersect(mate_names_l, coparent_names_r)) > 0",
        _around_birth("coparent_name_births", "mate_name_stays", "n"),
    ),
    u_share=0.1,
    # not counted over every pair (no ``pairs_on``), as MATES_ALIKE: strangers who meet
    # it are mostly namesakes whose partners are namesakes too, so a count over every
    # pair, blind to the pair's own names, weighs it far above what it shows
    stands_in_for=CO_PARENT,
)

SAME_CHILD = Level(
    "both named as parent or carer of the same child",
    0.20,
    0.0001,
    sql="array_length(array_intersect(kids_l, kids_r)) > 0",
    u_share=0.1,
    per_person=True,
    pairs_on=("kids", "kids"),
)
PARENT_OF_THEIR_CHILD = Level(
    "named as parent of a child who lives with the other",
    0.20,
    0.0001,
    sql="array_length(array_intersect(kids_l, household_r)) > 0 "
    "OR array_length(array_intersect(household_l, kids_r)) > 0",
    u_share=0.1,
    per_person=True,
    pairs_on=("kids", "household"),
)
WITH_ONE_CHILD = Level(
    "both lived with the same child",
    0.05,
    0.0001,
    sql="array_length(array_intersect(household_l, household_r)) > 0",
    u_share=0.1,
    per_person=True,
    pairs_on=("household", "household"),
)

TAKEN_NAME = Level(
    # A name changed with a move (marriage, separation): the family name one took is
    # the family name of someone the other lived with (a partner's, taken on marrying
    # them; a parent's, taken back on leaving a partner). Strangers of one given name
    # who moved the same day meet it only where one lived with someone of the other's
    # family name. Its u is measured on random pairs; this prior (a moving day's, times
    # the rare chance of the family name) stands when none meets it.
    "one moved out the day the other moved in, under the family name of someone the "
    "other lived with",
    0.01,
    0.000002,
    sql=f"({MOVED}) AND (array_length(array_intersect(families_l, mate_families_r)) > 0 "
    "OR array_length(array_intersect(mate_families_l, families_r)) > 0)",
)

HOUSEHOLD = Comparison(
    "household",
    ("kin", "homes", "postcode"),
    "(kin_l IS NULL AND homes_l IS NULL AND postcode_l IS NULL) "
    "OR (kin_r IS NULL AND homes_r IS NULL AND postcode_r IS NULL)",
    # One comparison, not one for family and one for address: a household's members
    # share both, and counting both would count the same evidence twice.
    levels=(
        SAME_CHILD,
        PARENT_OF_THEIR_CHILD,
        Level(
            "lived at the same address at the same time",
            # the household's m sum to one: what the co-parents' measured m and this
            # level's (the level furthest above its share, --m-from-truth) leave
            0.1444,
            0.0002,
            sql="array_length(list_filter(stays_l, lambda x: array_length(list_filter(stays_r, "
            "lambda y: x.a = y.a AND x.s <= y.e AND y.s <= x.e)) > 0)) > 0",
            u_share=0.1,
            per_person=True,
        ),
        WITH_ONE_CHILD,
        JOURNEY,
        SAME_HOUSEMATE,
        CO_PARENT,
        MATES_ALIKE,
        CO_PARENT_ALIKE,
        Level(
            "one moved out the day the other moved in, under the same name",
            0.07,
            0.0002,
            sql=f"({MOVED}) AND (array_length(array_intersect(families_l, families_r)) > 0 "
            "OR jaro_winkler_similarity(family_l, family_r) >= 0.9)",
        ),
        TAKEN_NAME,
        Level(
            # a change of name and of home together (marriage, separation); how often
            # strangers with given names alike move so is measured, like every level's u
            "one moved out the day the other moved in",
            0.02,
            0.0002,
            sql=MOVED,
        ),
        Level("same postcode", 0.05, 0.002, sql="postcode_l = postcode_r"),
        Level("same postcode district", 0.05, 0.05, sql="district_l = district_r"),
        Level("nothing in common where they live or whom they care for", 0.10, 0.9474),
    ),
    condition=COULD_BE_ONE,
)
# A liable party, a tenant, a parent at a dated address lives at one address at a
# time: two people each at a different address over the same days are, mostly, two
# people. Only dated stays count (an undated sighting says nothing of when), and the
# days a stay starts and ends may touch (a move).
TIMELINE = Comparison(
    "timeline",
    ("dated",),
    "dated_l IS NULL OR dated_r IS NULL",
    levels=(
        Level(
            "at different addresses at the same time",
            0.05,
            0.6,
            sql=AT_ONCE,
        ),
        Level("never at two addresses at once", 0.95, 0.4),
    ),
)
# The household levels that outweigh two addresses at once: a child both are named
# parent of, a child one is named parent of living with the other, a household's move
# from the one address to the other. A pair whose own score counted the two at two
# addresses at once and whose household level (the first it meets, in HOUSEHOLD's
# order) is one of these is linked on it, in any round; any other pair
# whose people would be at two addresses at once the two-homes rule refuses
# (:meth:`~loaders.linkage.clusters.Clusters.apart`): two accounts of one name, each
# open at its own address, that meet only a postcode, a district, a moving day under
# that name or nothing, are mostly two people, while a child or a household's move is
# kin, not a name (benchmarks/README.md, "Linkage").
OUTWEIGH_AT_ONCE = (SAME_CHILD, PARENT_OF_THEIR_CHILD, JOURNEY)

# Adults' names, with priors that are not trained: a given name seldom changes, a
# family name often does (marriage, separation). Learning them from the pairs the
# context finds would learn partners' names as one person's.
# (each comparison's m sum to one: "same name or nickname" gives up the 0.02 the
# recorded-under level takes, the two the furthest above their shares, --m-from-truth)
GIVEN_ADULTS = with_m(
    GIVEN,
    (0.86, 0.005, 0.02, 0.04, 0.02, 0.02, 0.015),
    Level(
        "a given name they were recorded under matches",
        0.02,
        0.0005,
        sql="array_length(array_intersect(givens_l, givens_r)) > 0",
    ),
)
# Names swapped are one observation, which the given name's level weighs: the family
# name's level of the same test weighs nothing (m and u equal, neither learnt), or the
# swap would count twice. Counted twice, strangers named James Lewis and Lewis James
# (both given and family names in their own right) were linked on it alone: at 20,000
# children (seed 1) 39 of the 47 adult pairs scored on a swap were two people.
SWAPPED_ONCE = Level(
    "given and family names swapped (weighed by the given name)",
    0.005,
    0.005,
    sql=SWAPPED_NAMES,
    fix_u=True,
)
FAMILY_ADULTS = with_m(
    FAMILY,
    (0.65, SWAPPED_ONCE, 0.04, 0.05, 0.03, 0.195),
    Level(
        "a family name they were recorded under matches",
        0.03,
        0.0005,
        sql="array_length(array_intersect(families_l, families_r)) > 0",
    ),
)


# Blocking: each rule joins on a key column of the frame (:func:`_keys`). A rule on a
# name (with a district, a postcode or a moving day) grows with the square of the
# people who share it, and names and districts do not grow with the county: such a
# rule keeps only its smaller blocks, those whose pairs together stay within this many
# per person; the rest are not keys (:func:`bounded`). Children and addresses are
# bounded already (HOUSEHOLD_MAX, HOME_MAX).
PAIRS_PER_PERSON = 1.0
CAPPED = "not blocked on"  # in the load report's note of a name key's values left out
# The name rules' key columns, in words; ``swap_gf`` pairs with ``swap_fg``.
NAME_KEYS = {
    "key_name": "family and given names",
    "key_district": "family names and given names' first letters in one postcode district",
    "key_postcode": "postcodes and given names",
    "key_moves": "moving days and given names' first letters",
    "swap_fg": "given and family names (one's the other's swapped)",
    "key_mates": "housemates' names and given names' first letters",
    "key_coparents": "co-parents' names (and housemates' of those names) and given names' "
    "first letters",
}
# list columns: one key per value
LISTED_KEYS = ("kin", "homes", "key_moves", "key_mates", "key_coparents")


def _rule(key: str, other: str | None = None) -> object:
    """Records whose ``key`` (or ``key`` and ``other``) values meet, at least one of
    them fresh (:func:`freshen`)."""
    from splink.blocking_rule_library import CustomRule

    exploded = [key] if key in LISTED_KEYS else None
    join = f"l.{key} = r.{other or key}"
    return CustomRule(f"{join} AND (l.fresh OR r.fresh)", arrays_to_explode=exploded)


# The equalities the adults' blocking rules join on, each once: the rules are made from
# them, and a delta scores new records against the rows sharing one (.scope.mates).
KEYS: tuple[tuple[str, str], ...] = (
    ("kin", "kin"),  # a child in common
    ("homes", "homes"),  # an address in common
    ("key_name", "key_name"),  # family name and given name
    # a given name misspelt (its first two letters), within a postcode district
    ("key_district", "key_district"),
    ("key_postcode", "key_postcode"),  # postcode and given name
    # one moved out the day the other moved in, with the given name's first letters:
    # a move, whatever the family name now
    ("key_moves", "key_moves"),
    ("swap_fg", "swap_gf"),  # given and family names swapped
    # each lived with someone of one name, with the given name's first letters
    ("key_mates", "key_mates"),
    # one's child's other parent and someone the other lived with of one name, with the
    # given name's first letters (the co-parent levels)
    ("key_coparents", "key_coparents"),
)
CONTEXT_KEYS = KEYS[:2]  # children and addresses only


def _blocking(keys: tuple[tuple[str, str], ...] = KEYS) -> list:
    return [_rule(left, None if right == left else right) for left, right in keys]


def _context_blocking() -> list:
    """Only the rules on children and addresses (what the pass falls back to when the
    engine cannot hold every rule's pairs)."""
    return _blocking(CONTEXT_KEYS)


ADULTS = Model(
    name="adults",
    comparisons=(GIVEN_ADULTS, FAMILY_ADULTS, DOB, SEX, HOUSEHOLD, TIMELINE, IDENTIFIERS),
    blocking=_blocking,
    # m stays as the priors say: learning it from the pairs the context finds would
    # learn a household's partners as one person; how often two people match is
    # learnt from the blocked pairs instead of from deterministic rules
    deterministic=list,
    em_rules=list,
    needs=("given", "family", "dob"),
    lambda_from_pairs=True,
    train_m=False,
    keys=KEYS,
)
# fewer pairs: children and addresses only
ADULTS_CONTEXT = replace(
    ADULTS,
    name="adults (children and addresses only)",
    blocking=_context_blocking,
    keys=CONTEXT_KEYS,
)


@dataclass
class Surroundings:
    """Each cluster's context, gathered over its records (one round's view)."""

    kids: Mapping[str, set[str]]  # root -> children's roots their records name them against
    # root -> (address key, from, to), of the adult side (a child's from birth if undated)
    stays: Mapping[str, set[tuple[str, str, str]]]
    household: Mapping[str, set[str]]  # root -> children's roots living with them
    # root -> the adults' roots whose dated stays at an address overlapped theirs there
    housemates: Mapping[str, set[str]]
    mate_names: Mapping[str, set[str]]  # root -> its housemates' full names ("given family")
    names: Mapping[str, set[str]]  # root -> the full names its records give (housemates')
    moved_in: Mapping[str, set[str]]  # root -> days a stay began
    moved_out: Mapping[str, set[str]]  # root -> days a stay ended
    # a household's move, "<from>><to>@<day>": root -> the moves made by others from an
    # address it left that day, and to one it arrived at that day
    left_with: Mapping[str, set[str]]
    arrived_with: Mapping[str, set[str]]
    movers: Mapping[str, set[str]]  # a move -> the roots that made it
    adults: Set[str]  # roots on the adult side (no birth date under ADULT_AGE years ago)
    # the frame's other list columns: "dated" stays, "homes" to block on, "kin", and
    # "coparents" (the others named as own parent of a child one is named as own parent
    # of), "coparent_names" (their full names), "mate_families" (the family names of
    # those they lived with), and the WINDOWED columns
    columns: dict[str, Lookup] = field(default_factory=dict)
    # each representative's person (root's number) and whether on the adult side, in
    # the order of the records gathered
    reps_people: pa.Table | None = None
    uids: pa.Array | None = None  # each record number's uid (:class:`Gathering`)
    places: pa.Array | None = None  # each address number's key

    def homes(self, root: str) -> set[str]:
        """The address keys of a person's stays."""
        return {key for key, _, _ in self.stays.get(root, ())}


class Gathering:
    """What every round's surroundings are gathered from, flattened once a run: the
    records' relationships, stays, names and birth dates, as Arrow tables keyed by
    record number (a round maps the numbers to their people, :meth:`people`, and works
    out the rest in SQL on whole numbers). Records and addresses are numbered in their
    text's order (:attr:`uids`, :attr:`places`), so a number's order is its text's: a
    person's root (their least uid) is their least number, and lists sorted by number
    are sorted as their text."""

    def __init__(self, reps: list[Identity], clusters: Clusters, context: Context) -> None:
        self._made_from = (reps, context)
        self._clusters = clusters  # its numbers follow this one's joins (people())
        parent = clusters.parent
        known = pa.array(list(parent), pa.string())
        order = pc.sort_indices(known)
        self.uids = known.take(order)
        del known
        # each record's number in the clusters' order (their first round's parents')
        self._rank: np.ndarray | None = np.empty(len(order), dtype=np.int64)
        self._rank[order.to_numpy()] = np.arange(len(order))
        del order
        edges = context.edges
        rid: list[str] = []
        address: list[str] = []
        start: list[str] = []
        end: list[str] = []
        for who, tenures in context.homes.items():
            if who in parent:
                for t in tenures:
                    rid.append(who)
                    address.append(t.address)
                    start.append(t.start)
                    end.append(t.end)
        # every uid numbered in one pass (a pass hashes every record's uid)
        numbers = self._number(
            [*(e.parent for e in edges), *(e.child for e in edges), *rid, *(r.rid for r in reps)]
        )
        size, held = len(edges), len(rid)
        p, c = numbers.slice(0, size), numbers.slice(size, size)
        both = pc.and_(pc.is_valid(p), pc.is_valid(c))  # records of the run's only
        text = pa.string()
        keys = pa.array(address, text)
        del address
        places = pc.unique(keys)
        self.places = places.take(pc.sort_indices(places))
        # each edge's kind: 1 a stated parent, 0 unstated ("parent"), -1 a carer's
        kinds = {kind: 1 for kind in PARENTAL_KINDS} | {UNSTATED_KIND: 0}
        kind = pa.array([kinds.get(e.kind, -1) for e in edges], pa.int8())
        self.edges = pa.table({"p": p.filter(both), "c": c.filter(both), "k": kind.filter(both)})
        self.homes = pa.table(
            {
                "rid": numbers.slice(2 * size, held),
                "a": pc.index_in(keys, value_set=self.places).cast(pa.int32()),
                "start": pa.array(start, text),
                "stop": pa.array(end, text),
            }
        )
        # a person's birth dates are their records', and a record identical to another
        # is joined to it (the same birth date): the representatives' say them all
        self.reps = pa.table(
            {
                "rid": numbers.slice(2 * size + held),
                "dob": pa.array([r.dob or None for r in reps], text),
            }
        )
        has = [bool(r.given and r.family) for r in reps]
        self.names = pa.table(
            {
                "rid": self.reps["rid"].filter(pa.array(has, pa.bool_())),
                "name": pa.array(
                    [f"{plain(r.given)} {plain(r.family)}" for r in compress(reps, has)], text
                ),
                "family": pa.array([plain(r.family) for r in compress(reps, has)], text),
            }
        )
        self._up: np.ndarray | None = None  # each record's root's number, last round
        self._joined = 0  # how many joins of the clusters it has taken in

    def _number(self, uids: list[str] | pa.Array | pa.ChunkedArray) -> pa.Array:
        """Each uid's number (null for one not among the run's records)."""
        text = uids if isinstance(uids, pa.Array | pa.ChunkedArray) else pa.array(uids, pa.string())
        return pc.index_in(text, value_set=self.uids).cast(pa.int32())

    def roots(
        self, clusters: Clusters, uids: pa.Array | pa.ChunkedArray | None = None
    ) -> np.ndarray:
        """The number of each record's person's root (``uids``; by default the
        representatives', in their order), as the clusters now are: the parents
        followed in numpy (:meth:`people`), not a ``find`` a record."""
        self.people(clusters)
        at = self.reps["rid"] if uids is None else self._number(uids)
        return self._up[_whole(at).to_numpy()]

    def people(self, clusters: Clusters) -> pa.Table:
        """Each record's number with its person's root's, as the clusters now are: the
        union-find's parents followed in numpy, every record at once (a ``find`` a
        record cost a microsecond each, a round). After the first round only the
        records whose parent a join changed since are numbered again (the roots joined
        into another, :attr:`Clusters.joined`): every other record's root is as it was,
        or was joined since and is followed to its new root."""
        if clusters is not self._clusters:
            raise ValueError("a gathering follows the joins of the clusters it was made with")
        parent, joined = clusters.parent, clusters.joined
        if len(parent) != len(self.uids):  # records the run did not start with
            self.__init__(self._made_from[0], clusters, self._made_from[1])
        up = self._up
        if up is None or len(joined) < self._joined:
            at = self._rank if self._rank is not None else self._number(list(parent)).to_numpy()
            self._rank = None
            up = np.empty(len(parent), dtype=np.int32)
            up[at] = self._number(list(parent.values())).to_numpy()
        else:
            since = joined[self._joined :]
            if since:  # the joined roots and their new parents, numbered in one pass
                both = self._number([*since, *(parent[root] for root in since)]).to_numpy()
                up[both[: len(since)]] = both[len(since) :]
        while True:
            higher = up[up]
            if np.array_equal(higher, up):
                break
            up = higher
        self._up, self._joined = up, len(joined)
        size = len(up)
        return pa.table(
            {"rid": pa.array(np.arange(size, dtype=np.int32)), "root": up.astype(np.int32)}
        )


def surroundings(
    reps: list[Identity],
    clusters: Clusters,
    context: Context,
    gathering: Gathering | None = None,
    memory_limit: str | None = None,
) -> Surroundings:
    """Who each person is named against, where they stayed and when, and which children
    lived at the same address at the same time (a child's undated sighting counts from
    their birth; an adult's undated sighting at any time).

    Worked out over every record each round, set by set in DuckDB rather than a person
    at a time in Python; ``gathering``: the records flattened (:class:`Gathering`), kept by
    the rounds' driver so that a round flattens nothing again; ``memory_limit``: DuckDB's,
    as Splink's (the linkage memory setting; by default ``backend.LINKAGE_MEMORY``)."""
    flat = gathering if gathering is not None else Gathering(reps, clusters, context)
    as_of = context.as_of
    ages = {
        "child_after": years_before(as_of, CHILD_AGE) if as_of else "",
        "adult_by": years_before(as_of, ADULT_AGE) if as_of else "",
    }
    people = flat.people(clusters)
    uids, places = flat.uids, flat.places
    where = pa.table({"a": pa.array(np.arange(len(places), dtype=np.int32)), "name": places})
    with duckdb_connection(memory_limit) as db:
        for name, found in (
            ("m", people),
            ("r", flat.reps),
            ("e", flat.edges),
            ("h", flat.homes),
            ("n", flat.names),
            ("pl", where),
        ):
            db.register(name, found)
        run = db.execute

        def fetch(sql: str, parameters: dict | None = None) -> pa.Table:
            return db.sql(sql, params=parameters).to_arrow_table()

        # on the adult side: no birth date under ADULT_AGE years ago; a child: a birth
        # date under CHILD_AGE years ago (16 and 17 are both), their stays from birth
        run(
            "CREATE TEMP TABLE p AS SELECT root, latest IS NULL "
            "OR ($adult_by <> '' AND latest <= $adult_by) AS adult, "
            "coalesce(latest > $child_after AND $child_after <> '', FALSE) AS child, "
            "earliest AS born FROM (SELECT m.root, max(r.dob) AS latest, min(r.dob) AS earliest "
            "FROM r JOIN m USING (rid) GROUP BY m.root)",
            ages,
        )
        grown_up = _whole(fetch("SELECT root FROM p WHERE adult ORDER BY root").column(0))
        adults = Roots(grown_up, uids)
        rep_roots = people["root"].take(flat.reps["rid"])
        reps_people = pa.table(
            {"root": rep_roots, "adult": pc.is_in(rep_roots, value_set=grown_up)}
        )
        run(
            "CREATE TEMP TABLE stays AS SELECT DISTINCT r.root, r.a, "
            "CASE WHEN coalesce(p.child, FALSE) AND r.s = $open THEN p.born ELSE r.s END AS s, "
            "r.e FROM (SELECT DISTINCT m.root, h.a, "
            "CASE WHEN h.start = '' THEN $open ELSE h.start END AS s, "
            "CASE WHEN h.stop = '' THEN $end ELSE h.stop END AS e FROM h JOIN m USING (rid)) r "
            "LEFT JOIN p USING (root)",
            {"open": OPEN_START, "end": OPEN_END},
        )
        # moving days: a stay's first (in) and last (out) known days, less the days far
        # commoner than moves are (:func:`cut_offs`)
        run(
            "CREATE TEMP TABLE raw_days AS SELECT DISTINCT 'in' AS kind, m.root, h.start AS day "
            "FROM h JOIN m USING (rid) WHERE h.start <> '' UNION "
            "SELECT DISTINCT 'out', m.root, h.stop FROM h JOIN m USING (rid) WHERE h.stop <> ''"
        )
        found = fetch(
            "SELECT kind, day, count(*) AS n FROM raw_days GROUP BY kind, day"
        ).to_pydict()
        common: list[tuple[str, str]] = []
        for kind in ("in", "out"):
            cut = _cut(
                Counter({d: n for k, d, n in zip(*found.values(), strict=True) if k == kind})
            )
            common += [(kind, day) for day in sorted(cut)]
        db.register(
            "common",
            pa.table(
                {
                    "kind": pa.array([k for k, _ in common], pa.string()),
                    "day": pa.array([d for _, d in common], pa.string()),
                }
            ),
        )
        run(
            "CREATE TEMP TABLE moving AS SELECT * FROM raw_days "
            "WHERE (kind, day) NOT IN (SELECT (kind, day) FROM common)"
        )
        run("CREATE TEMP TABLE moved_in AS SELECT root, day FROM moving WHERE kind = 'in'")
        run("CREATE TEMP TABLE moved_out AS SELECT root, day FROM moving WHERE kind = 'out'")
        days = {
            "moved_in": _sets(fetch, "SELECT root, day FROM moved_in", keys=uids),
            "moved_out": _sets(fetch, "SELECT root, day FROM moved_out", keys=uids),
        }
        # households' moves: one whose stay at an address ended the day their stay at
        # another began moved from the one to the other; the move is named to the others
        # who left the first that day and to those who arrived at the second (not to who
        # made it); an address more than HOUSEHOLD_MAX left or reached that day (a block
        # under one key) names none
        run(
            "CREATE TEMP TABLE gone AS SELECT DISTINCT s.a AS a, s.e AS day, s.root "
            "FROM stays s JOIN moved_out o ON s.root = o.root AND s.e = o.day"
        )
        run(
            "CREATE TEMP TABLE came AS SELECT DISTINCT s.a AS a, s.s AS day, s.root "
            "FROM stays s JOIN moved_in i ON s.root = i.root AND s.s = i.day"
        )
        run(
            "CREATE TEMP TABLE moves AS "
            "WITH few_gone AS (SELECT a, day FROM gone GROUP BY a, day HAVING count(*) <= $max), "
            "few_came AS (SELECT a, day FROM came GROUP BY a, day HAVING count(*) <= $max) "
            "SELECT DISTINCT g.a AS origin, c.a AS dest, g.day, "
            "po.name || '>' || pd.name || '@' || g.day AS move FROM gone g "
            "JOIN came c ON g.root = c.root AND g.day = c.day AND g.a <> c.a "
            "JOIN few_gone x ON x.a = g.a AND x.day = g.day "
            "JOIN few_came y ON y.a = c.a AND y.day = c.day "
            "JOIN pl po ON po.a = g.a JOIN pl pd ON pd.a = c.a",
            {"max": HOUSEHOLD_MAX},
        )
        run(
            "CREATE TEMP TABLE made AS SELECT DISTINCT v.move, g.root FROM moves v "
            "JOIN gone g ON g.a = v.origin AND g.day = v.day "
            "JOIN came c ON c.a = v.dest AND c.day = v.day AND c.root = g.root"
        )
        movers = _sets(fetch, "SELECT move, root FROM made", values=uids)
        others = (
            "SELECT w.root, v.move FROM moves v JOIN {0} w ON w.a = v.{1} AND w.day = v.day "
            "WHERE NOT EXISTS (SELECT 1 FROM made x WHERE x.move = v.move AND x.root = w.root)"
        )
        left_with = _sets(fetch, others.format("gone", "origin"), keys=uids)
        arrived_with = _sets(fetch, others.format("came", "dest"), keys=uids)
        # who lived with whom: children with an adult over days that touch (a child's
        # sighting); adults' dated stays over days that overlap (more than a move's last
        # and first day); an address where more than HOUSEHOLD_MAX of them stayed (a
        # children's home, a hostel, a block under one key) says nothing of a household,
        # and is left out before the address is joined with itself (after, the join would
        # be quadratic in its stays unless the engine pushed the filter down)
        run("CREATE TEMP TABLE young AS SELECT s.* FROM stays s JOIN p USING (root) WHERE p.child")
        run(
            "CREATE TEMP TABLE grown AS SELECT s.* FROM stays s JOIN p USING (root) "
            "WHERE p.adult AND s.s <> $open",
            {"open": OPEN_START},
        )
        run(
            "CREATE TEMP TABLE homely AS SELECT * FROM young WHERE a NOT IN "
            "(SELECT a FROM young GROUP BY a HAVING count(DISTINCT root) > $max)",
            {"max": HOUSEHOLD_MAX},
        )
        run(
            "CREATE TEMP TABLE lived AS SELECT DISTINCT x.root, y.root AS v FROM stays x "
            "JOIN p ON x.root = p.root AND p.adult "
            "JOIN homely y ON x.a = y.a AND y.s <= x.e AND x.s <= y.e AND x.root <> y.root"
        )
        household = _sets(fetch, "SELECT root, v FROM lived", keys=uids, values=uids)
        run(
            "CREATE TEMP TABLE settled AS SELECT * FROM grown WHERE a NOT IN "
            "(SELECT a FROM grown GROUP BY a HAVING count(DISTINCT root) > $max)",
            {"max": HOUSEHOLD_MAX},
        )
        # and over which days (a co-parent's stay is related to their child's birth: a
        # stay recorded from an extract's first day begins then, as far as it counts)
        run(
            "CREATE TEMP TABLE mated AS SELECT DISTINCT x.root, y.root AS v, "
            "greatest(x.s, y.s) AS s, least(x.e, y.e) AS e FROM settled x "
            "JOIN settled y ON x.a = y.a AND y.s < x.e AND x.s < y.e AND x.root <> y.root"
        )
        run("CREATE TEMP TABLE mates AS SELECT DISTINCT root, v FROM mated")
        housemates = _sets(fetch, "SELECT root, v FROM mates", keys=uids, values=uids)
        run(
            "CREATE TEMP TABLE names AS SELECT DISTINCT m.root, n.name FROM n JOIN m USING (rid) "
            "JOIN p USING (root) WHERE p.adult"
        )
        names = _sets(fetch, "SELECT root, name FROM names", keys=uids)
        mate_names = _sets(
            fetch,
            "SELECT DISTINCT x.root, n.name FROM mates x JOIN names n ON x.v = n.root",
            keys=uids,
        )
        run(
            "CREATE TEMP TABLE kid_of AS SELECT DISTINCT mp.root, mc.root AS v FROM e "
            "JOIN m mp ON e.p = mp.rid JOIN m mc ON e.c = mc.rid"
        )
        kids = _sets(fetch, "SELECT root, v FROM kid_of", keys=uids, values=uids)
        # the other parent of one's child: both named as the child's own parent (a
        # stated kind, PARENTAL_KINDS, and no carer's kind for that child: not a step-
        # parent, foster carer, guardian or carer, nor a "Parent/Carer" alone), of a
        # child with a birth date and no more than CO_PARENTS such people (more: none of
        # them counts), with the days a stay with the co-parent must meet (from
        # COPARENT_BEFORE years before the birth to COPARENT_AFTER after, as
        # identity.years_before counts years)
        run(
            "CREATE TEMP TABLE bore AS SELECT mp.root, mc.root AS v FROM e "
            "JOIN m mp ON e.p = mp.rid JOIN m mc ON e.c = mc.rid GROUP BY mp.root, mc.root "
            "HAVING bool_or(e.k = 1) AND NOT bool_or(e.k < 0)"
        )
        run(
            "CREATE TEMP TABLE co AS SELECT DISTINCT x.root, y.root AS v, x.v AS kid, "
            "printf('%04d', CAST(left(b.born, 4) AS INTEGER) - $before) || substr(b.born, 5) "
            "AS lo, printf('%04d', CAST(left(b.born, 4) AS INTEGER) + $after) "
            "|| substr(b.born, 5) AS hi FROM bore x JOIN bore y ON x.v = y.v "
            "AND x.root <> y.root JOIN p b ON b.root = x.v WHERE b.born IS NOT NULL AND x.v IN "
            "(SELECT v FROM bore GROUP BY v HAVING count(*) <= $most)",
            {"most": CO_PARENTS, "before": COPARENT_BEFORE, "after": COPARENT_AFTER},
        )
        # the frame's: stays (and those with a known start), and the addresses held by
        # few enough adults to block on (HOME_MAX), of the adult side; kin
        run("CREATE TEMP TABLE own AS SELECT s.* FROM stays s JOIN p USING (root) WHERE p.adult")
        flat = fetch("SELECT root, a, s, e FROM own ORDER BY root, a, s, e")
        stays = _stays(flat, uids, places)
        columns = {
            "dated": _stays(flat.filter(pc.not_equal(flat["s"], OPEN_START)), uids, places),
            "homes": _sets(
                fetch,
                "SELECT root, a FROM own WHERE a IN "
                "(SELECT a FROM own GROUP BY a HAVING count(DISTINCT root) <= $max)",
                {"max": HOME_MAX},
                keys=uids,
                values=places,
            ),
            "kin": _sets(
                fetch,
                "SELECT root, v FROM kid_of UNION SELECT root, v FROM lived "
                "UNION SELECT root, v FROM mates",
                keys=uids,
                values=uids,
            ),
            # the family names of the adults one lived with (a name taken on a move)
            "mate_families": _sets(
                fetch,
                "SELECT DISTINCT x.root, n.family FROM mates x JOIN m ON x.v = m.root "
                "JOIN n USING (rid)",
                keys=uids,
            ),
            "coparents": _sets(fetch, "SELECT root, v FROM co", keys=uids, values=uids),
            "coparent_names": _sets(
                fetch,
                "SELECT DISTINCT c.root, n.name FROM co c JOIN names n ON c.v = n.root",
                keys=uids,
            ),
            # (co-parent, the first day a stay with them counts), and by name
            "coparent_births": _sets(
                fetch, "SELECT root, {'c': v, 'lo': lo, 'hi': hi} FROM co", keys=uids
            ),
            "coparent_name_births": _sets(
                fetch,
                "SELECT c.root, {'n': n.name, 'lo': c.lo, 'hi': c.hi} FROM co c "
                "JOIN names n ON c.v = n.root",
                keys=uids,
            ),
            # (housemate, the days lived with them), and by name
            "mate_stays": _sets(
                fetch, "SELECT root, {'c': v, 's': s, 'e': e} FROM mated", keys=uids
            ),
            "mate_name_stays": _sets(
                fetch,
                "SELECT x.root, {'n': n.name, 's': x.s, 'e': x.e} FROM mated x "
                "JOIN names n ON x.v = n.root",
                keys=uids,
            ),
        }
    return Surroundings(
        kids,
        stays,
        household,
        housemates,
        mate_names,
        names,
        days["moved_in"],
        days["moved_out"],
        left_with,
        arrived_with,
        movers,
        adults,
        columns,
        reps_people,
        uids,
        places,
    )


def _sets(
    fetch: Callable,
    sql: str,
    parameters: dict | None = None,
    keys: pa.Array | None = None,
    values: pa.Array | None = None,
) -> Lookup:
    """A query's rows (key, value) as each key's values, sorted (:class:`Lookup`);
    ``keys``, ``values``: the text of each number, where they are numbers."""
    found = fetch(f"SELECT DISTINCT * FROM ({sql}) AS t(k, v) ORDER BY k, v", parameters)  # noqa: S608 (ours)
    return Lookup.of(found.column(0), found.column(1), keys, values)


def _whole(found: pa.ChunkedArray | pa.Array) -> pa.Array:
    return found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found


class Lookup(Mapping):
    """A query's rows (key, sorted list of values) as a mapping of each key to its set
    of values, made when first read (the evidence reads a few people's; a set a person
    made for every person each round cost more than working them out), and as a list
    column for any order of keys (:meth:`column`: the frame's). Keys and values may be
    numbers (a record's, an address's: :class:`Gathering`): the mapping reads them as
    their text (``key_text``, ``value_text``: each number's; a struct's ``a`` field an
    address), the list column keeps the numbers."""

    def __init__(
        self,
        keys: pa.Array,
        lists: pa.Array,
        key_text: pa.Array | None = None,
        value_text: pa.Array | None = None,
    ) -> None:
        self._keys = keys
        self._where: dict[str, int] | None = None  # key -> its row, once read
        self._lists = lists
        self._key_text, self._value_text = key_text, value_text
        self._made: dict[str, set] = {}
        self._python: tuple[list[int], list] | None = None  # offsets and values, once read

    @classmethod
    def of(
        cls,
        keys: pa.ChunkedArray | pa.Array,
        values: pa.ChunkedArray | pa.Array,
        key_text: pa.Array | None = None,
        value_text: pa.Array | None = None,
    ) -> Lookup:
        """From rows sorted by key (and value): each key's run of values, one list."""
        keys, values = _whole(keys), _whole(values)
        size = len(keys)
        starts = _run_starts(keys)
        offsets = pa.array(np.concatenate([starts, [size]]).astype(np.int32))
        lists = pa.ListArray.from_arrays(offsets, values)
        return cls(keys.take(pa.array(starts)), lists, key_text, value_text)

    def __getitem__(self, key: str) -> set:
        got = self._made.get(key)
        if got is None:
            at = self._at()[key]
            if self._python is None:  # every value at once: a scalar at a time is slow
                values = self._lists.values
                text = self._value_text
                if pa.types.is_struct(values.type):
                    parts = {f.name: values.field(i) for i, f in enumerate(values.type)}
                    if text is not None:
                        parts["a"] = text.take(parts["a"])
                    flat = list(zip(*(p.to_pylist() for p in parts.values()), strict=True))
                else:
                    flat = (values if text is None else text.take(values)).to_pylist()
                self._python = (self._lists.offsets.to_pylist(), flat)
            offsets, flat = self._python
            got = self._made[key] = set(flat[offsets[at] : offsets[at + 1]])
        return got

    def _at(self) -> dict[str, int]:
        if self._where is None:
            keys = self._keys if self._key_text is None else self._key_text.take(self._keys)
            names = keys.to_pylist()
            self._where = dict(zip(names, range(len(names)), strict=True))
        return self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._at())

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._at()

    def column(self, keys: pa.Array) -> pa.Array:
        """Each key's values, sorted, as a list column in the order of ``keys`` (null
        for a key with none): numbers as they are."""
        return self._lists.take(_positions(keys, self._keys))


def _positions(keys: pa.Array, among: pa.Array) -> pa.Array:
    """Where each of ``keys`` is in ``among`` (null where it is not): by binary search
    when both are whole numbers and ``among`` sorted (a person's root), else by hash."""
    if not pa.types.is_integer(keys.type) or not pa.types.is_integer(among.type):
        return pc.index_in(keys, value_set=among)
    mine = keys.to_numpy(zero_copy_only=False)
    theirs = among.to_numpy(zero_copy_only=False)
    at = np.minimum(np.searchsorted(theirs, mine), max(len(theirs) - 1, 0))
    found = theirs[at] == mine if len(theirs) else np.zeros(len(mine), dtype=bool)
    return pa.array(at, type=pa.int64(), mask=~found)


class Roots(Set):
    """The roots of the adult side, numbers read as their records' uids only when asked
    (a load asks none: a set of text made every round would be memory for nothing)."""

    def __init__(self, numbers: pa.Array, uids: pa.Array) -> None:
        self.numbers, self._uids = numbers, uids
        self._text: set[str] | None = None

    def _all(self) -> set[str]:
        if self._text is None:
            self._text = set(self._uids.take(self.numbers).to_pylist())
        return self._text

    @classmethod
    def _from_iterable(cls, it: Iterable[str]) -> set[str]:
        """What ``&``, ``|``, ``-`` and ``^`` give: a plain set of uids."""
        return set(it)

    def __contains__(self, root: object) -> bool:
        return root in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self.numbers)


def left_to_find(trained: dict, people: Sequence | np.ndarray) -> float:
    """How many pairs of one round's people its model expected to be one person (its
    learnt probability of a match times their pairs), less the pairs its links made
    one: what the next round is still to find. ``people``: each of the round's people's
    person now (a root, or its number: :meth:`Gathering.roots`)."""
    rows = len(people)
    expected = trained["probability_two_random_records_match"] * rows * (rows - 1) / 2
    n = np.unique(np.asarray(people), return_counts=True)[1].astype(np.int64)
    return max(expected - float((n * (n - 1) // 2).sum()), 0.0)


def carried(trained: dict, left: float, rows: int) -> dict:
    """The model for the next round over ``rows`` people: the same parameters, with the
    probability that two of them match set to the pairs still to find among all their
    pairs. Learning it again from the next round's blocked pairs would learn it from the
    fixed m probabilities, which describe every match, when the matches left are the
    ones whose evidence was weak: it would fall with each round that links."""
    pairs = max(rows * (rows - 1) / 2, 1.0)
    share = min(max(left / pairs, 1e-12), 0.5)
    return {**trained, "probability_two_random_records_match": share}


def cut_offs(days: Iterable[set[str]]) -> set[str]:
    """Days far commoner than moving days are (more than :data:`CUT_OFF` times the
    median day's count): a file's first day or a default, when every account open then
    seems to begin; not moves."""
    return _cut(Counter(day for found in days for day in found))


def _cut(counts: Counter) -> set[str]:
    """:func:`cut_offs` from how many people have each day."""
    if not counts:
        return set()
    typical = statistics.median(counts.values())
    return {day for day, n in counts.items() if n > CUT_OFF * max(typical, 1)}


# The frame's columns from a person's own part, in the frame's order (``unique_id``
# goes after the name columns).
OWN_COLUMNS = (
    "given",
    "given_canon",
    "family",
    "family_parts",
    "givens",
    "families",
    "dob",
    "born_before",
    "sex",
    "postcode",
    "district",
    "upn",
    "nhs",
    "uln",
)


@dataclass
class OwnRows:
    """Each person's own part of the frame as the rounds built it, kept by the rounds'
    driver: the rows of :data:`OWN_COLUMNS` already in Arrow, so a later round takes the
    unchanged people's by position and builds only the new people's (a round's Python
    over every person's columns cost about as much as its queries)."""

    # the last round's people: root, record count and row in ``rows`` (a person's
    # records only grow, so the same root and count are the same records)
    index: pa.Table | None = None
    rows: pa.Table | None = None  # OWN_COLUMNS, a row each person built (never dropped)
    numbered: pa.Array | None = None  # the records' numbering ``index`` is in (its uids)


# The fields a person's row takes from their records' commonest value (first met on a
# tie, :func:`_representative`).
COMMONEST = ("given", "family", "dob", "sex", "postcode", "upn", "nhs", "uln")


def _own_rows(reps: list[Identity], at: np.ndarray, person: np.ndarray, people: int) -> pa.Table:
    """The :data:`OWN_COLUMNS` of ``people`` people, from their records (``reps[at]``,
    each person's in a run, ``person`` its number, in the order of ``reps``): each
    field the commonest value as :func:`_representative` picks it, and every name they
    were recorded under (plain, sorted), a column at a time in Arrow (a
    representative and lists built a person at a time were most of a round's frame,
    and a delta builds every adult's)."""
    records = list(map(reps.__getitem__, at.tolist()))
    raw = {name: pa.array(list(map(attrgetter(name), records)), pa.string()) for name in COMMONEST}
    owner = pa.array(person, pa.int64())
    null = pa.scalar(None, pa.string())

    def picked(name: str) -> pa.Array:  # each person's commonest value (null: none)
        return raw[name].take(_commonest_at(owner, raw[name], people))

    def present(values: pa.Array) -> pa.Array:
        return pc.if_else(pc.equal(values, ""), null, values)

    columns: dict[str, pa.Array] = {}
    for name, part, every in (
        ("given", ("given", "given_canon"), "givens"),
        ("family", ("family", "family_parts"), "families"),
    ):
        chosen = pc.dictionary_encode(picked(name))
        distinct = chosen.dictionary.to_pylist()
        made = name_columns([Identity("", **{name: value}) for value in distinct])
        for column in part:
            columns[column] = (
                table({column: made[column]})[column].combine_chunks().take(chosen.indices)
            )
        plain_all = pa.array(list(map(plain, raw[name].to_pylist())), pa.string())
        columns[every] = _distinct_lists(person, plain_all, people)
    for name in ("dob", "postcode", "upn", "nhs", "uln"):
        columns[name] = present(picked(name))
    sex = picked("sex")
    columns["sex"] = pc.if_else(pc.is_in(sex, pa.array(["F", "M"])), sex, null)
    postcode = columns["postcode"]
    columns["district"] = pc.list_element(pc.split_pattern(postcode, " ", max_splits=1), 0)
    before = pa.array(list(map(attrgetter("born_before"), records)), pa.string())
    columns["born_before"] = _earliest(owner, before, people)
    return pa.table({name: columns[name] for name in OWN_COLUMNS})


def _commonest_at(owner: pa.Array, values: pa.Array, people: int) -> pa.Array:
    """Each person's commonest non-empty value's place in ``values`` (the first met of
    the commonest; null where they have none)."""
    rows = pa.table({"p": owner, "v": values, "j": np.arange(len(values), dtype=np.int64)})
    rows = rows.filter(pc.not_equal(rows["v"], ""))
    counted = rows.group_by(["p", "v"], use_threads=False).aggregate([("j", "count"), ("j", "min")])
    counted = counted.sort_by(
        [("p", "ascending"), ("j_count", "descending"), ("j_min", "ascending")]
    )
    who = counted["p"].to_numpy()
    firsts = np.flatnonzero(np.concatenate([[True], who[1:] != who[:-1]])) if len(who) else who
    found = np.full(people, -1, dtype=np.int64)
    found[who[firsts]] = counted["j_min"].to_numpy()[firsts]
    return pa.array(found, mask=found < 0)


def _earliest(owner: pa.Array, values: pa.Array, people: int) -> pa.Array:
    """Each person's least non-empty value (null where they have none)."""
    rows = pa.table({"p": owner, "v": values}).filter(pc.not_equal(values, ""))
    least = rows.group_by("p", use_threads=False).aggregate([("v", "min")])
    where = np.full(people, -1, dtype=np.int64)
    where[least["p"].to_numpy()] = np.arange(least.num_rows)
    return least["v_min"].combine_chunks().take(pa.array(where, mask=where < 0))


def _distinct_lists(person: np.ndarray, values: pa.Array, people: int) -> pa.Array:
    """Each person's distinct non-empty values, sorted, as a list (null for none)."""
    rows = pa.table({"p": pa.array(person, pa.int64()), "v": values})
    rows = rows.filter(pc.not_equal(values, ""))
    rows = rows.group_by(["p", "v"], use_threads=False).aggregate([])
    rows = rows.sort_by([("p", "ascending"), ("v", "ascending")])
    return _lists(rows["p"].combine_chunks(), rows["v"].combine_chunks(), people)


class Representatives(Mapping):
    """Each person's representative identity (:func:`_representative`), keyed by root,
    made when first read: the words read a few people's, a round builds thousands."""

    def __init__(
        self, reps: list[Identity], roots: list[str], runs: np.ndarray, order: np.ndarray
    ) -> None:
        """``runs``: each root's first place in ``order`` and its records' count;
        ``order``: each person's records' places in ``reps``, a run a person."""
        self._reps, self._order = reps, order
        self._runs = dict(zip(roots, runs.tolist(), strict=True))
        self._made: dict[str, Identity] = {}

    def __getitem__(self, root: str) -> Identity:
        made = self._made.get(root)
        if made is None:
            start, n = self._runs[root]
            mine = [self._reps[i] for i in self._order[start : start + n].tolist()]
            made = self._made[root] = _representative(root, mine)
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)


def adults_frame(
    reps: list[Identity],
    clusters: Clusters,
    around: Surroundings,
    notes: list[str] | None = None,
    kept: OwnRows | None = None,
) -> tuple[pa.Table, dict[str, Identity]]:
    """The second pass's input: one row per person on the adult side (its records'
    commonest values, every name they were recorded under, its context as lists, and
    its blocking keys), so that random pairs are pairs of people and not a person's
    own records (:func:`freshen` marks whom its pairs must include). ``notes``: where
    to say which name keys were too common to block on; ``kept``: each person's own
    part as an earlier round built it (:class:`OwnRows`), reused for those whose
    records are the same, and added to by this round's (kept by the rounds' driver).
    Each record's person is the surroundings' (``around`` gathered over ``reps``).
    Returns the table and the representative identity of each person whose own part
    this call built, keyed by the cluster root (with ``kept``, the others' were
    returned by the round that built them).

    The context columns are taken, a column at a time, from the lists the
    surroundings worked out (:class:`Lookup`), so every round builds every row."""
    roots, counts, first, order = _people_of(reps, around)
    uids = around.uids
    before = kept if kept is not None and kept.numbered is uids else OwnRows()
    earlier = before.rows.num_rows if before.rows is not None else 0
    where = np.full(len(roots), -1, dtype=np.int64)  # each row's in the rows built
    if before.index is not None:
        now = pa.table({"root": roots, "n": counts, "i": np.arange(len(roots))})
        found = now.join(before.index, ["root", "n"], join_type="inner")
        where[found["i"].to_numpy()] = found["row"].to_numpy()
    fresh = np.flatnonzero(where < 0)
    where[fresh] = earlier + np.arange(len(fresh))
    sizes = counts[fresh]
    ends = np.cumsum(sizes)
    person = np.repeat(np.arange(len(fresh), dtype=np.int64), sizes)
    within = np.arange(int(ends[-1]) if len(ends) else 0)  # each record's place, in turn
    at = order[np.repeat(first[fresh] - (ends - sizes), sizes) + within]
    made = _own_rows(reps, at, person, len(fresh))
    new = Representatives(
        reps,
        uids.take(roots.take(pa.array(fresh))).to_pylist(),
        np.stack([first[fresh], sizes], axis=1),
        order,
    )
    every = made if before.rows is None else pa.concat_tables([before.rows, made])
    rows = every.take(pa.array(where))
    if kept is not None:
        kept.index = pa.table({"root": roots, "n": counts, "row": where})
        kept.rows, kept.numbered = every, uids
    extra = around.columns
    ids = roots
    columns: dict[str, pa.Array] = {name: rows[name].combine_chunks() for name in OWN_COLUMNS}
    columns = {
        **{name: columns[name] for name in OWN_COLUMNS[:4]},
        "unique_id": uids.take(roots),
        **{name: columns[name] for name in OWN_COLUMNS[4:]},
        "homes": extra["homes"].column(ids),
        "dated": extra["dated"].column(ids),
        "stays": _lookup(around.stays).column(ids),
        "kids": _lookup(around.kids).column(ids),
        "household": _lookup(around.household).column(ids),
        "housemates": _lookup(around.housemates).column(ids),
        "mate_names": _lookup(around.mate_names).column(ids),
        "kin": extra["kin"].column(ids),
        "moved_in": _lookup(around.moved_in).column(ids),
        "moved_out": _lookup(around.moved_out).column(ids),
        "left_with": _lookup(around.left_with).column(ids),
        "arrived_with": _lookup(around.arrived_with).column(ids),
        "coparents": extra["coparents"].column(ids),
        "mate_families": extra["mate_families"].column(ids),
        "coparent_names": extra["coparent_names"].column(ids),
        **{name: extra[name].column(ids) for name in WINDOWED},
    }
    return _with_keys(table(columns), notes), new


def _people_of(
    reps: list[Identity], around: Surroundings
) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """The people on the adult side, sorted by root: their roots (numbers), how many of
    ``reps`` each holds, where their run starts in the order returned, and that order
    (each person's records in the order of ``reps``). From the surroundings' roots of
    the records, in Arrow (not a Python ``find`` a record)."""
    found = around.reps_people
    if found is None or found.num_rows != len(reps):
        raise ValueError("the surroundings were gathered over other records")
    on = found["adult"].combine_chunks().to_numpy(zero_copy_only=False)
    at = np.flatnonzero(on)
    grown = pa.table({"root": found["root"].filter(pa.array(on)), "at": at})
    grown = grown.sort_by([("root", "ascending"), ("at", "ascending")])
    keys = _whole(grown["root"])
    size = len(keys)
    starts = _run_starts(keys)
    counts = np.diff(np.concatenate([starts, [size]])).astype(np.int64)
    return keys.take(pa.array(starts)), counts, starts, grown["at"].to_numpy()


def _run_starts(keys: pa.Array) -> np.ndarray:
    """Where each run of equal keys begins in ``keys`` (sorted): positions, int64."""
    size = len(keys)
    if not size:
        return np.zeros(0, dtype=np.int64)
    changed = pc.not_equal(keys.slice(1), keys.slice(0, size - 1)).to_numpy(zero_copy_only=False)
    return np.concatenate([[0], np.flatnonzero(changed) + 1]).astype(np.int64)


def _lookup(found: Mapping) -> Lookup:
    """The surroundings' mapping as the :class:`Lookup` it is (the frame's columns)."""
    if not isinstance(found, Lookup):
        raise TypeError("the frame is built from the surroundings worked out in SQL")
    return found


def _with_keys(rows: pa.Table, notes: list[str] | None) -> pa.Table:
    """``rows`` with their name keys (:func:`_keys`)."""
    for name, values in _keys(rows, notes).items():
        rows = rows.append_column(name, values)
    return rows


def freshen(frame: pa.Table, before: pa.Table | None) -> tuple[pa.Table, pa.Table]:
    """``frame`` with its ``fresh`` column: the people whose row differs from the last
    round's (``before``: each person's ``unique_id`` and row hash ``h``; None: the first
    round, everyone), as only their pairs can score otherwise than they did; and this
    round's hashes, kept in Arrow (one Python object a person would be held between
    rounds)."""
    import duckdb

    with duckdb.connect() as connection:  # the rows hashed in the engine, not in Python
        connection.register("frame", frame)
        now = connection.sql(
            "SELECT unique_id, hash(struct_pack(*COLUMNS(*))) AS h FROM frame"
        ).to_arrow_table()
    if before is None:
        fresh = pa.array(np.ones(frame.num_rows, dtype=bool))
    else:
        at = pc.index_in(_whole(now["unique_id"]), value_set=_whole(before["unique_id"]))
        was = _whole(before["h"]).take(at)
        fresh = pc.fill_null(pc.not_equal(_whole(now["h"]), was), True)
    return frame.append_column("fresh", fresh), now


# The list columns Splink compares, each value as a whole number: the levels ask only
# whether two lists share a value, and whether two stays' addresses are one and their
# days overlap, which numbers answer as the text did, while every blocked pair carried
# every list of both its people as text (benchmarks/README.md, "Linkage"). Columns
# compared with each other share their numbers; days are numbered in their order (the
# other values are only ever compared for equality, so numbered as first met rather
# than sorted every round).
DAYS = (
    "moved_in",
    "moved_out",
    "stays.s",
    "stays.e",
    "dated.s",
    "dated.e",
    "coparent_births.lo",
    "coparent_births.hi",
    "coparent_name_births.lo",
    "coparent_name_births.hi",
    "mate_stays.s",
    "mate_stays.e",
    "mate_name_stays.s",
    "mate_name_stays.e",
)
CODED = (
    # people's roots
    ("kids", "household", "housemates", "kin", "coparents", "coparent_births.c", "mate_stays.c"),
    DAYS,
    ("stays.a", "dated.a", "homes"),  # addresses
    ("left_with", "arrived_with"),  # households' moves
    # full names
    ("mate_names", "coparent_names", "coparent_name_births.n", "mate_name_stays.n"),
    ("givens",),
    ("families", "mate_families"),
    ("family_parts",),
)


def coded(frame: pa.Table) -> pa.Table:
    """``frame`` with the list columns of :data:`CODED` as numbers (the same pairs meet
    every level and blocking rule as with the text; the evidence reads the text from the
    surroundings, not from here). After :func:`freshen`: a round's numbers are its own."""
    numbers: dict[str, pa.Array] = {}
    for group in CODED:
        found = {part: _values(frame, part) for part in group}
        ordered = pc.unique(pa.concat_arrays(list(found.values())))
        if group is DAYS:
            ordered = ordered.take(pc.sort_indices(ordered))
        for part, values in found.items():
            numbers[part] = pc.index_in(values, value_set=ordered)
    for name in dict.fromkeys(part.split(".")[0] for group in CODED for part in group):
        column = frame[name].combine_chunks()
        kind = column.type.value_type
        if pa.types.is_struct(kind):
            fields = [kind.field(i).name for i in range(kind.num_fields)]
            inner = pa.StructArray.from_arrays([numbers[f"{name}.{f}"] for f in fields], fields)
        else:
            inner = numbers[name]
        lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy()
        offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
        lists = pa.ListArray.from_arrays(offsets, inner, mask=column.is_null())
        frame = frame.set_column(frame.schema.get_field_index(name), name, lists)
    return frame


def _values(frame: pa.Table, part: str) -> pa.Array:
    """A list column's values, every row's in turn (``column.field``: a struct field's)."""
    name, _, inner = part.partition(".")
    values = pc.list_flatten(frame[name].combine_chunks())
    return pc.struct_field(values, inner) if inner else values


def _keys(rows: pa.Table, notes: list[str] | None) -> dict[str, pa.Array]:
    """The name rules' blocking keys (:data:`NAME_KEYS`), each kept only where its block
    is small enough (:func:`bounded`); worked out column by column in Arrow (a Python
    loop over every person took seconds a round at county scale)."""

    def text(name: str) -> pa.Array:
        values = rows[name].combine_chunks()
        return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)

    def joined(*parts: pa.Array) -> pa.Array:  # null where any part is
        return pc.binary_join_element_wise(*parts, "|")

    given, canon, family = text("given"), text("given_canon"), text("family")
    district, postcode = text("district"), text("postcode")
    start = pc.utf8_slice_codeunits(given, 0, 2)
    differ = pc.not_equal(given, family)
    none = pa.scalar(None, pa.string())
    moves = _union(rows["moved_in"].combine_chunks(), rows["moved_out"].combine_chunks())
    found: dict[str, pa.Array] = {
        "key_district": joined(family, start, district),
        "key_postcode": joined(postcode, canon),
        "key_name": joined(family, canon),
        "key_moves": _tagged(moves, start),
        "swap_fg": pc.if_else(differ, joined(given, family), none),
        "swap_gf": pc.if_else(differ, joined(family, given), none),
        "key_mates": _tagged(rows["mate_names"].combine_chunks(), start),
        "key_coparents": _coparent_keys(rows, start),
    }
    limit = PAIRS_PER_PERSON * len(given)
    out: dict[str, pa.Array] = {}
    for name in NAME_KEYS:
        other = found["swap_gf"] if name == "swap_fg" else None
        kept, largest, dropped = _bounded(found[name], limit, other, distinct=True)
        out[name] = kept
        if other is not None:
            out["swap_gf"], _, _ = _bounded(other, limit, found[name], distinct=True)
        if dropped and notes is not None:
            notes.append(
                f"adults: {dropped:,} {NAME_KEYS[name]} held by more than {largest:,} people "
                f"{CAPPED} (the rule's pairs kept within {limit:,.0f}, "
                f"{PAIRS_PER_PERSON:g} a person)"
            )
    return out


def _coparent_keys(rows: pa.Table, start: pa.Array) -> pa.Array:
    """Each row's co-parents' names, and its housemates' names that are someone's
    co-parent's name, each as ``name|first letters``: one key joins a person whose
    child's other parent has a name with one who lived with someone of that name (and
    so, less usefully, two people whose co-parents, or housemates, share a name)."""
    coparents = rows["coparent_names"].combine_chunks()
    mates = rows["mate_names"].combine_chunks()
    named = pc.unique(pc.list_flatten(coparents))
    at, values = _flat(mates)
    keep = pc.is_in(values, value_set=named)
    also = _lists(at.filter(keep), values.filter(keep), len(mates))
    return _tagged(_union(coparents, also), start)


def _union(a: pa.Array, b: pa.Array) -> pa.Array:
    """Each row's values in either list column, once each, in order (null for none)."""
    rows, values = _flat(a)
    more_rows, more = _flat(b)
    both = pa.table(
        {"row": pa.concat_arrays([rows, more_rows]), "v": pa.concat_arrays([values, more])}
    )
    both = (
        both.group_by(["row", "v"])
        .aggregate([])
        .sort_by([("row", "ascending"), ("v", "ascending")])
    )
    return _lists(both["row"].combine_chunks(), both["v"].combine_chunks(), len(a))


def _tagged(lists: pa.Array, first: pa.Array) -> pa.Array:
    """Each row's values as ``value|first`` (null where ``first`` is, or no value)."""
    rows, values = _flat(lists)
    tagged = pc.binary_join_element_wise(values, pc.take(first, rows), "|")
    present = pc.is_valid(tagged)
    return _lists(rows.filter(present), tagged.filter(present), len(lists))


def _lists(rows: pa.Array, values: pa.Array, length: int) -> pa.Array:
    """A list column of ``length`` rows from each value's row (ascending); null for none."""
    per_row = np.bincount(rows.to_numpy().astype(np.int64), minlength=length)
    offsets = pa.array(np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32))
    return pa.ListArray.from_arrays(offsets, values, mask=pa.array(per_row == 0))


def bounded(
    keys: list[list[str] | None], limit: float, other: list[list[str] | None] | None = None
) -> tuple[list[list[str] | None], int, int]:
    """``keys`` (each row's) without the keys of the largest blocks, so that the pairs
    of the blocks kept, smallest first, come to no more than ``limit``: a block of n
    rows makes n(n-1)/2 pairs, or, joined with ``other``'s keys, n times the rows
    ``other`` has that key. Returns the kept keys, the largest block kept (rows) and
    how many blocks were dropped."""
    kind = pa.list_(pa.string())
    theirs = None if other is None else pa.array(other, kind)
    kept, largest, dropped = _bounded(pa.array(keys, kind), limit, theirs)
    return (keys if not dropped else kept.to_pylist()), largest, dropped


def _bounded(
    keys: pa.Array, limit: float, other: pa.Array | None = None, *, distinct: bool = False
) -> tuple[pa.Array, int, int]:
    """:func:`bounded` on an Arrow column: one key a row (text) or several (a list);
    ``distinct``: no row holds a key twice (:func:`_keys`' columns), so none is
    counted away."""
    rows, values = _flat(keys)
    counts = _counts(rows, values, distinct)
    n = counts["rows"].to_numpy().astype(np.int64)
    if other is None:
        pairs = n * (n - 1) // 2
    else:
        theirs = _counts(*_flat(other), distinct)
        joined = counts.join(theirs, "key", right_suffix="_r")
        counts = joined.select(["key", "rows"])
        n = counts["rows"].to_numpy().astype(np.int64)
        pairs = n * joined["rows_r"].fill_null(0).to_numpy().astype(np.int64)
    keep = within(pairs, limit)
    largest = int(n[keep].max()) if keep.any() else 0
    dropped = int((~keep).sum())
    if not dropped:
        return keys, largest, 0
    kept = counts["key"].filter(pa.array(keep))
    if not pa.types.is_list(keys.type):
        return pc.if_else(pc.is_in(keys, kept), keys, pa.scalar(None, keys.type)), largest, dropped
    mask = pc.is_in(values, kept)
    rows, values = rows.filter(mask), values.filter(mask)
    per_row = np.bincount(rows.to_numpy(), minlength=len(keys))
    offsets = pa.array(np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32))
    empty = pa.array(per_row == 0)
    return pa.ListArray.from_arrays(offsets, values, mask=empty), largest, dropped


def _flat(keys: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Each key with the row it is in (a list column flattened; nulls left out)."""
    if pa.types.is_list(keys.type):
        return pc.list_parent_indices(keys), pc.list_flatten(keys)
    present = pc.is_valid(keys)
    return pa.array(np.arange(len(keys), dtype=np.int64)).filter(present), keys.filter(present)


def _counts(rows: pa.Array, values: pa.Array, distinct: bool = False) -> pa.Table:
    """How many rows hold each key (a key twice in one row counts once), in numpy on
    the keys' numbers (:func:`~loaders.linkage.blocking.codes`); ``distinct``: no row
    holds a key twice, so each value is a row (no sort of every row's keys to find
    the twice-held: a round's most costly step in building its frame)."""
    key, found = codes(values)  # no nulls (:func:`_flat`)
    numbers = len(found) + 1
    if distinct:
        cell = key
    else:
        cell = sorted_distinct(rows.to_numpy(zero_copy_only=False).astype(np.int64) * numbers + key)
    held = np.bincount(cell % numbers, minlength=len(found))[: len(found)]
    return pa.table({"key": found, "rows": pa.array(held, pa.int64())})


def _stays(flat: pa.Table, uids: pa.Array, places: pa.Array) -> Lookup:
    """Rows (root, a, s, e) sorted as each person's list of stays (the frame's type,
    the address a number: ``places``' text)."""
    parts = [_whole(flat[name]) for name in ("a", "s", "e")]
    values = pa.StructArray.from_arrays(parts, names=[f.name for f in STAYS.value_type])
    return Lookup.of(flat["root"], values, uids, places)


def _commonest(values: list[str]) -> str:
    """The value most records give (the first given on a tie); '' if none does."""
    counts: dict[str, int] = {}
    for v in values:
        if v:
            counts[v] = counts.get(v, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else ""


def _representative(root: str, records: list[Identity]) -> Identity:
    """One identity standing for a person's records: each field's commonest value, the
    earliest birth any record allows."""
    if len(records) == 1:
        only = records[0]
        return only if only.rid == root else replace(only, rid=root)
    pick = {
        name: _commonest([getattr(r, name) for r in records])
        for name in ("given", "family", "dob", "sex", "postcode", "upn", "nhs", "uln", "la_id")
    }
    bounds = [r.born_before for r in records if r.born_before]
    return Identity(rid=root, born_before=min(bounds) if bounds else "", **pick)
