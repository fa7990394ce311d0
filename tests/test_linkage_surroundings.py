"""The adults' surroundings (loaders/linkage/relational.py), worked out in SQL each
round, against their definitions written here a person at a time in plain Python,
and the households' moves and housemates they find on small hand-made cases."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping

import pytest

from loaders.linkage import Context, Identity
from loaders.linkage.clusters import Clusters
from loaders.linkage.identity import plain, years_before
from loaders.linkage.inputs import OPEN_END, OPEN_START, Tenure
from loaders.linkage.relational import (
    ADULT_AGE,
    ADULTS,
    CHILD_AGE,
    COPARENT_AFTER,
    COPARENT_BEFORE,
    HOME_MAX,
    HOUSEHOLD_MAX,
    Surroundings,
    _cut,
    surroundings,
)
from tests.conftest import AS_OF

# -- the definitions, a person at a time -----------------------------------------


def gathered(reps: list[Identity], clusters: Clusters, context: Context) -> Surroundings:
    """The surroundings as their definitions say, a person at a time."""
    find = clusters.find
    as_of = context.as_of
    child_born_after = years_before(as_of, CHILD_AGE) if as_of else ""
    adult_born_by = years_before(as_of, ADULT_AGE) if as_of else ""
    roots = {find(r.rid) for r in reps}
    adults = set()
    children = set()
    for root in roots:
        dobs = clusters.dobs.get(root)
        if not dobs or (adult_born_by and max(dobs) <= adult_born_by):
            adults.add(root)
        if dobs and child_born_after and max(dobs) > child_born_after:
            children.add(root)
    kids: dict[str, set[str]] = {}
    for e in context.edges:
        if e.parent in clusters.parent and e.child in clusters.parent:
            kids.setdefault(find(e.parent), set()).add(find(e.child))
    raw: dict[str, set[tuple[str, str, str]]] = {}  # an undated stay from OPEN_START
    raw_in: dict[str, set[str]] = {}
    raw_out: dict[str, set[str]] = {}
    for rid, tenures in context.homes.items():
        if rid not in clusters.parent:
            continue
        root = find(rid)
        for t in tenures:
            raw.setdefault(root, set()).add((t.address, t.start or OPEN_START, t.end or OPEN_END))
            if t.start:
                raw_in.setdefault(root, set()).add(t.start)
            if t.end:
                raw_out.setdefault(root, set()).add(t.end)
    stays = {root: _born(found, root, clusters, children) for root, found in raw.items()}
    counts = (_day_counts(raw_in), _day_counts(raw_out))
    cut = (_cut(counts[0]), _cut(counts[1]))
    moved_in = {root: days - cut[0] for root, days in raw_in.items()}
    moved_out = {root: days - cut[1] for root, days in raw_out.items()}
    left_with, arrived_with, movers = journeys(stays, moved_in, moved_out)
    household = lived_with(adults, children, stays)
    dated = _dated(stays, adults)
    housemates = lived_with(adults, adults, dated, strict=True)
    names: dict[str, set[str]] = {}  # every adult's, for whoever has them as a housemate
    for r in reps:
        root = find(r.rid)
        if root in adults and r.given and r.family:
            names.setdefault(root, set()).add(f"{plain(r.given)} {plain(r.family)}")
    mate_names = {
        root: found for root in housemates if (found := _mate_names(root, housemates, names))
    }
    return Surroundings(
        kids,
        stays,
        household,
        housemates,
        mate_names,
        names,
        moved_in,
        moved_out,
        left_with,
        arrived_with,
        movers,
        adults,
    )


def _born(
    found: set[tuple[str, str, str]], root: str, clusters: Clusters, children: set[str]
) -> set[tuple[str, str, str]]:
    """A person's stays, a child's undated ones from their birth (the earliest their
    records give)."""
    if root not in children:
        return found
    born = min(clusters.dobs.get(root, ()), default=OPEN_START)
    return {(a, born if s == OPEN_START else s, e) for a, s, e in found}


def _dated(stays: dict[str, set[tuple[str, str, str]]], adults: set[str]) -> dict[str, set]:
    """The adults' stays with a known start."""
    return {
        root: {stay for stay in found if stay[1] != OPEN_START}
        for root, found in stays.items()
        if root in adults
    }


def _mate_names(root: str, housemates: dict[str, set[str]], names: dict[str, set[str]]) -> set[str]:
    """The full names a person's housemates' records give."""
    return {n for mate in housemates.get(root, ()) for n in names.get(mate, ())}


PARENTAL = {"birth", "adoptive", "mother", "father"}  # a child's own parents, so stated
UNSTATED = "parent"  # a "Parent/Carer": neither a parent nor a carer


def _coparents(context: Context, clusters: Clusters) -> dict[str, set[tuple[str, str, str]]]:
    """Each person's co-parents, with the days a stay with them must meet: those named
    as a child's own parent of a stated kind, and under no carer's kind (carer, guardian,
    foster or step) for that child, with one, of a child with a birth date and at most
    two such people; from COPARENT_BEFORE years before the child's (earliest) birth date
    to COPARENT_AFTER years after it."""
    find = clusters.find
    stated: dict[tuple[str, str], bool] = {}  # (child, parent) -> named as own parent only
    for e in context.edges:
        if e.parent in clusters.parent and e.child in clusters.parent:
            key = (find(e.child), find(e.parent))
            if e.kind in PARENTAL:
                stated.setdefault(key, True)
            elif e.kind != UNSTATED:
                stated[key] = False
    parents: dict[str, set[str]] = {}
    for (child, parent), own in stated.items():
        if own:
            parents.setdefault(child, set()).add(parent)
    co: dict[str, set[tuple[str, str, str]]] = {}
    for child, named in parents.items():
        born = min(clusters.dobs.get(child, ()), default="")
        if len(named) > 2 or not born:
            continue
        since, until = years_before(born, COPARENT_BEFORE), years_before(born, -COPARENT_AFTER)
        for root in named:
            co.setdefault(root, set()).update((other, since, until) for other in named - {root})
    return co


def _mate_stays(dated: dict[str, set[tuple[str, str, str]]]) -> dict[str, set[tuple]]:
    """Each adult's housemates with the days they lived together (dated stays at one
    address over overlapping days; an address more than HOUSEHOLD_MAX held, none), from
    the later of the two stays' first days (an extract's first day too: the records do
    not say a stay began before it)."""
    residents: dict[str, list[tuple[str, str, str]]] = {}
    for root, found in dated.items():
        for key, start, end in found:
            residents.setdefault(key, []).append((root, start, end))
    out: dict[str, set[tuple]] = {}
    for found in residents.values():
        if len({r for r, _, _ in found}) > HOUSEHOLD_MAX:
            continue
        for root, start, end in found:
            for other, s, e in found:
                if other != root and s < end and start < e:
                    out.setdefault(root, set()).add((other, max(start, s), min(end, e)))
    return out


def _day_counts(days: dict[str, set[str]]) -> Counter:
    """How many people have each day."""
    return Counter(day for found in days.values() for day in found)


def lived_with(
    people: Iterable[str],
    among: Iterable[str],
    stays: dict[str, set[tuple[str, str, str]]],
    strict: bool = False,
) -> dict[str, set[str]]:
    """Whom of ``among`` each of ``people`` lived with: stays at one address over
    overlapping days (``strict``: more than a move's last and first day touching,
    when one moved out the day the other moved in). An address where
    more than :data:`HOUSEHOLD_MAX` of ``among`` stayed says nothing of a household
    (a children's home, a hostel, a block under one key)."""
    residents: dict[str, list[tuple[str, str, str]]] = {}  # address -> (root, from, to)
    for root in among:
        for key, start, end in stays.get(root, ()):
            residents.setdefault(key, []).append((root, start, end))
    crowded = {k for k, found in residents.items() if len({r for r, _, _ in found}) > HOUSEHOLD_MAX}
    out: dict[str, set[str]] = {}
    touch = not strict
    for root in people:
        for key, start, end in stays.get(root, ()):
            if key in crowded:
                continue
            found = {
                r
                for r, s, e in residents.get(key, ())
                if (s < end and start < e) or (touch and s <= end and start <= e)
            } - {root}
            if found:
                out.setdefault(root, set()).update(found)
    return out


def journeys(
    stays: dict[str, set[tuple[str, str, str]]],
    moved_in: dict[str, set[str]],
    moved_out: dict[str, set[str]],
) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
    """Households' moves: a person whose stay at one address ended the day their stay at
    another began moved from the one to the other that day. Each such move is named to
    the others who left the first address that day (``left_with``) and to those who
    arrived at the second (``arrived_with``), and kept with who made it (``movers``).
    Days that are not moves (:func:`cut_offs`, already taken out of ``moved_in`` and
    ``moved_out``) and addresses many left or reached that day (a block under one key)
    name no move."""
    left: dict[tuple[str, str], set[str]] = {}  # (address, day) -> who left it then
    arrived: dict[tuple[str, str], set[str]] = {}
    reached: dict[tuple[str, str], set[str]] = {}  # (root, day) -> addresses arrived at
    for root, found in stays.items():
        outs, ins = moved_out.get(root, ()), moved_in.get(root, ())
        for key, start, end in found:
            if end in outs:
                left.setdefault((key, end), set()).add(root)
            if start in ins:
                arrived.setdefault((key, start), set()).add(root)
                reached.setdefault((root, start), set()).add(key)
    left_with: dict[str, set[str]] = {}
    arrived_with: dict[str, set[str]] = {}
    movers: dict[str, set[str]] = {}
    for (origin, day), gone in left.items():
        if len(gone) > HOUSEHOLD_MAX:
            continue
        # only where one who left arrived that day (every address reached that day, as
        # the county grows, is the square of its moves)
        for to in {key for root in gone for key in reached.get((root, day), ())}:
            came = arrived[(to, day)]
            made = gone & came if to != origin and len(came) <= HOUSEHOLD_MAX else set()
            if not made:
                continue
            move = f"{origin}>{to}@{day}"
            movers[move] = made
            for root in gone - made:
                left_with.setdefault(root, set()).add(move)
            for root in came - made:
                arrived_with.setdefault(root, set()).add(move)
    return left_with, arrived_with, movers


# -- the SQL against the definitions ---------------------------------------------------


def _adults_only(around: Surroundings) -> dict[str, object]:
    """Each field as compared: stays only of the adult side (the frame's and the
    evidence's; the SQL keeps children's in the engine), an empty set as none."""
    out: dict[str, object] = {}
    for field in dataclasses.fields(around):
        found = getattr(around, field.name)
        if field.name == "stays":
            found = {r: v for r, v in found.items() if r in around.adults}
        if field.name in ("columns", "reps_people", "uids", "places"):  # the frame's
            continue
        if isinstance(found, Mapping):
            found = {k: v for k, v in found.items() if v}
        out[field.name] = found
    return out


def test_every_round_surroundings_and_frame_are_as_defined(small_county, monkeypatch):
    """On the small county's own link inputs, every round of the adults' pass: the
    surroundings worked out in SQL are the definitions' (above), and the frame's
    context columns are each person's, sorted (joins of 16- and 17-year-olds, both
    adults and children here, among them)."""
    import loaders.linkage as linkage
    from benchmarks.linkage import read_inputs
    from loaders.linkage import relational

    inputs = read_inputs(small_county, AS_OF)
    rounds = {"gathered": 0, "framed": 0, "co-parents": 0}
    gather, frame = relational.surroundings, relational.adults_frame
    defined: list[Surroundings] = []

    def checked(reps, clusters, context, gathering=None, memory_limit=None):
        found = gather(reps, clusters, context, gathering, memory_limit)
        defined.append(gathered(reps, clusters, context))
        assert _adults_only(found) == _adults_only(defined[-1])
        # each record's person, and whether on the adult side, as the clusters say
        roots = [clusters.find(r.rid) for r in reps]
        people = found.reps_people
        assert found.uids.take(people["root"]).to_pylist() == roots
        assert people["adult"].to_pylist() == [root in found.adults for root in roots]
        rounds["gathered"] += 1
        return found

    def framed(reps, clusters, around, notes=None, kept=None):
        found, people = frame(reps, clusters, around, notes, kept)
        assert found.column_names[: len(FRAME_ORDER)] == list(FRAME_ORDER)
        for name in relational.NAME_KEYS:  # _bounded(distinct=True) counts a key a row
            for keys in found[name].to_pylist():
                assert not isinstance(keys, list) or len(keys) == len(set(keys)), name
        ref = defined[-1]
        held = Counter(k for r in ref.adults for k in {a for a, _, _ in ref.stays.get(r, ())})
        co = _coparents(inputs.context, clusters)
        families: dict[str, set[str]] = {}  # every adult's family names, as housemates'
        for r in reps:
            if clusters.find(r.rid) in ref.adults and r.given and r.family:
                families.setdefault(clusters.find(r.rid), set()).add(plain(r.family))
        mated = _mate_stays(_dated(ref.stays, ref.adults))
        for row in _as_text(found.select(list(COLUMNS)), around).to_pylist():
            root = row["unique_id"]
            expected = {name: _sorted(getattr(ref, name).get(root)) for name in LISTED}
            expected["kin"] = _sorted(
                ref.kids.get(root, set())
                | ref.household.get(root, set())
                | ref.housemates.get(root, set())
            )
            expected["mate_families"] = _sorted(
                {f for mate in ref.housemates.get(root, ()) for f in families.get(mate, ())}
            )
            mine, stays_with = co.get(root, set()), mated.get(root, set())
            expected["coparents"] = _sorted({c for c, _, _ in mine})
            expected["coparent_names"] = _sorted(
                {n for c, _, _ in mine for n in ref.names.get(c, ())}
            )
            expected["coparent_births"] = _structs(mine, "c", "lo", "hi")
            expected["coparent_name_births"] = _structs(
                {(n, lo, hi) for c, lo, hi in mine for n in ref.names.get(c, ())}, "n", "lo", "hi"
            )
            expected["mate_stays"] = _structs(stays_with, "c", "s", "e")
            expected["mate_name_stays"] = _structs(
                {(n, s, e) for c, s, e in stays_with for n in ref.names.get(c, ())}, "n", "s", "e"
            )
            stays = sorted(ref.stays.get(root, ()))
            expected["homes"] = _sorted({a for a, _, _ in stays if held[a] <= HOME_MAX})
            expected["stays"] = [dict(zip("ase", x, strict=True)) for x in stays] or None
            expected["dated"] = [
                dict(zip("ase", x, strict=True)) for x in stays if x[1] != OPEN_START
            ] or None
            assert {k: row[k] for k in expected} == expected, root
            rounds["co-parents"] += bool(row["coparent_births"] and row["mate_stays"])
        rounds["framed"] += 1
        return found, people

    monkeypatch.setattr(linkage, "surroundings", checked)
    monkeypatch.setattr(linkage, "adults_frame", framed)
    result = linkage.link(inputs.found, context=inputs.context)
    assert result.relational_links and rounds["gathered"] >= 2 and rounds["framed"] >= 2
    assert rounds["co-parents"]  # people with co-parents and housemates were compared


def test_adults_scored_on_numbered_lists_as_splink_scores_their_text(small_county, monkeypatch):
    """Every round of the adults' pass on the small county scores the same pairs, with the
    same probabilities and levels in words, as Splink scores the frame's lists as text
    with every compared column kept and its own numbering of the levels (the pass's
    frame has its lists as numbers, :func:`relational.coded`, and tells each pair's
    levels from their weights, ``model._levels_sql``: the family name's swap level
    weighs what its null level does, told apart by the null level's test)."""
    import loaders.linkage as linkage
    from benchmarks.linkage import read_inputs
    from loaders.linkage import model, relational

    inputs = read_inputs(small_county, AS_OF)
    text: list = []
    numbered, scored, told = relational.coded, linkage.score, model._levels_sql
    weighed: list[bool] = []  # whether each call told the levels from the weights
    compared = []

    gathered = linkage.surroundings
    arounds: list = []  # the round's surroundings, whose numbering the frame's lists use

    def gathering(*args, **kwargs):
        arounds.append(gathered(*args, **kwargs))
        return arounds[-1]

    def keeping(frame):
        text.append(_as_text(frame, arounds[-1]))  # people and addresses as text
        return numbered(frame)

    def telling(linker):
        found = told(linker)
        weighed.append(found is not None)
        return found

    def both(chosen, frame, **options):
        weighed.clear()
        found = scored(chosen, frame, **options)
        if chosen.name == ADULTS.name:
            assert weighed and all(weighed)
            monkeypatch.setattr(model, "_levels_sql", lambda linker: None)
            again = scored(chosen, text.pop(), **{**options, "notes": []})
            monkeypatch.setattr(model, "_levels_sql", telling)
            _assert_same_scores(found, again)
            compared.append(len(found))
        return found

    monkeypatch.setattr(linkage, "surroundings", gathering)
    monkeypatch.setattr(linkage, "coded", keeping)
    monkeypatch.setattr(linkage, "score", both)
    monkeypatch.setattr(model, "_levels_sql", telling)
    linkage.link(inputs.found, context=inputs.context)
    assert len(compared) >= 2 and compared[0] > 0


def _as_rows(scored) -> list[tuple]:
    rows = zip(
        scored.left,
        scored.right,
        scored.probability,
        scored.agreed,
        *(scored.levels[name] for name in sorted(scored.levels)),
        strict=True,
    )
    return sorted(rows)


def _assert_same_scores(found, again) -> None:
    """The same pairs with the same levels, and probabilities equal but for the order in
    which the engine's threads summed the training's counts (DuckDB's float sums are not
    ordered across threads: on a busy machine the last digits of a trained m or u move)."""
    ours, theirs = _as_rows(found), _as_rows(again)
    without = [(r[:2] + r[3:]) for r in ours]
    assert without == [(r[:2] + r[3:]) for r in theirs]
    for mine, other in zip(ours, theirs, strict=True):
        assert mine[2] == pytest.approx(other[2], rel=1e-9, abs=1e-12), mine[:2]


LISTED = (
    "kids",
    "household",
    "housemates",
    "mate_names",
    "moved_in",
    "moved_out",
    "left_with",
    "arrived_with",
)
COLUMNS = (
    "unique_id",
    *LISTED,
    "kin",
    "homes",
    "stays",
    "dated",
    "coparents",
    "coparent_names",
    "coparent_births",
    "coparent_name_births",
    "mate_stays",
    "mate_name_stays",
    "mate_families",
)
# the frame's columns in the order they were built before (a row's hash reads them)
FRAME_ORDER = (
    "given",
    "given_canon",
    "family",
    "family_parts",
    "unique_id",
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
    "homes",
    "dated",
    "stays",
    "kids",
    "household",
    "housemates",
    "mate_names",
    "kin",
    "moved_in",
    "moved_out",
    "left_with",
    "arrived_with",
)


def _as_text(frame, around: Surroundings):
    """The frame's columns of people and addresses, which hold numbers, as their text
    (each record's uid, each address's key: the gathered records' numbering)."""
    import pyarrow as pa

    def text(column: pa.ChunkedArray, names: pa.Array) -> pa.Array:
        found = column.combine_chunks()
        inner = found.values
        if pa.types.is_struct(inner.type):  # its first field the numbers
            fields = [inner.type.field(i).name for i in range(inner.type.num_fields)]
            parts = [inner.field(i) for i in range(len(fields))]
            parts[0] = names.take(parts[0])
            inner = pa.StructArray.from_arrays(parts, names=fields)
        else:
            inner = names.take(inner)
        return pa.ListArray.from_arrays(found.offsets, inner, mask=found.is_null())

    columns = {name: frame[name] for name in frame.column_names}
    for name in (
        "kids",
        "household",
        "housemates",
        "kin",
        "coparents",
        "coparent_births",
        "mate_stays",
    ):
        columns[name] = text(frame[name], around.uids)
    for name in ("homes", "stays", "dated"):
        columns[name] = text(frame[name], around.places)
    return pa.table(columns)


def _sorted(values: Iterable[str] | None) -> list[str] | None:
    return sorted(values) if values else None


def _structs(values: Iterable[tuple], *fields: str) -> list[dict] | None:
    """Tuples as a list column's structs of ``fields``, sorted (None for none)."""
    return [dict(zip(fields, v, strict=True)) for v in sorted(values)] or None


def _around(stays: dict[str, list[Tenure]], dobs: dict[str, str] | None = None) -> Surroundings:
    """The surroundings of one record a person, each with the stays given (no birth
    date: an adult; ``dobs``: theirs)."""
    dobs = dobs or {}
    records = [
        Identity(rid, given=rid.title(), family="Lee", dob=dobs.get(rid, ""), sex="F")
        for rid in stays
    ]
    context = Context(as_of=AS_OF.isoformat(), homes=stays)
    return surroundings(records, Clusters(records, (), stays), context)


def test_a_household_that_moved_together_names_the_move_to_both_accounts():
    """Ellie Hunt's account at U1 ends the day Ellie Taylor's begins at U2, and Sam
    Taylor, liable at U1 with her, moved from U1 to U2 that day: the move is named to
    the one who left U1 and to the one who arrived at U2, not to Sam (who made it),
    nor to a stranger who arrived elsewhere that day or left U1 another day."""
    around = _around(
        {
            "sam": [Tenure("U1", "2019-01-01", "2021-09-27"), Tenure("U2", "2021-09-27")],
            "hunt": [Tenure("U1", "2019-01-01", "2021-09-27")],
            "taylor": [Tenure("U2", "2021-09-27")],
            "elsewhere": [Tenure("U3", "2021-09-27")],
            "earlier": [Tenure("U1", "2018-01-01", "2019-01-01")],
        }
    )
    move = "U1>U2@2021-09-27"
    assert around.movers == {move: {"sam"}}
    assert around.left_with == {"hunt": {move}} and around.arrived_with == {"taylor": {move}}


def test_adults_who_each_lived_with_one_same_adult_share_a_housemate():
    """Ellie's first account at U1 (2015 to mid-2018) and her second at U3 (from 2020)
    were each shared with Sam: both lived with Sam. Someone who moved into U1 the day
    another left it did not live with them; an address where more than HOUSEHOLD_MAX
    adults stayed over the same days names no housemates. A child's household keeps a
    move's touching days (a child's sighting)."""
    first = Tenure("U1", "2015-01-01", "2018-06-30")
    stays = {
        "ellie1": [first],
        "ellie2": [Tenure("U3", "2020-03-01")],
        "sam": [first, Tenure("U3", "2020-03-01")],
        "next": [Tenure("U1", "2018-06-30", "2019-01-01")],  # arrived the day they left
        "kid": [Tenure("U1", "2018-06-30", "2019-01-01")],
    }
    stays.update({f"h{i}": [Tenure("U9", "2021-01-01")] for i in range(HOUSEHOLD_MAX + 1)})
    around = _around(stays, {"kid": "2015-05-05"})
    assert around.housemates == {"ellie1": {"sam"}, "ellie2": {"sam"}, "sam": {"ellie1", "ellie2"}}
    assert around.household == {"ellie1": {"kid"}, "sam": {"kid"}, "next": {"kid"}}
    assert OPEN_START not in {s for found in around.stays.values() for _, s, _ in found}


def test_each_persons_own_row_takes_the_commonest_values_and_every_name_recorded():
    """The adults' frame's own columns, made a column at a time for many people at once
    (relational._own_rows), are each person's as written here a person at a time: each
    field the commonest value their records give (the first given on a tie, none if
    none give one), the earliest latest-possible birth, and every given and family name
    (plain, sorted) they were recorded under; sex only F or M. Random records, with
    ties, blanks, accents and case among them."""
    import random

    import numpy as np

    from loaders.linkage.people import name_columns
    from loaders.linkage.relational import OWN_COLUMNS, _own_rows

    rng = random.Random(3)
    pick = {
        "given": ["", "Amy", "amy", "Zoë", "Zoe", "Mary Ann", "J-P"],
        "family": ["", "Smith", "Smith-Jones", "O'Neil", "smith"],
        "dob": ["", "1980-01-02", "1981-02-03"],
        "sex": ["", "F", "M", "U"],
        "postcode": ["", "AB1 2CD", "AB1 3EF", "ZZ9"],
        "upn": ["", "A1", "B2"],
        "nhs": ["", "N1"],
        "uln": ["", "U1"],
        "born_before": ["", "2000-01-01", "1999-05-05"],
    }
    reps = [Identity(f"r{n}", **{k: rng.choice(v) for k, v in pick.items()}) for n in range(400)]
    order = list(range(len(reps)))
    rng.shuffle(order)
    sizes, at = [], 0
    while at < len(order):
        sizes.append(min(rng.choice([1, 1, 2, 3, 4, 7]), len(order) - at))
        at += sizes[-1]
    people, starts = [], np.cumsum([0, *sizes])
    for start, size in zip(starts[:-1], sizes, strict=True):
        people.append(sorted(order[start : start + size]))  # each person's, in reps' order
    places = np.array([i for mine in people for i in mine])
    person = np.repeat(np.arange(len(people)), sizes)
    found = _own_rows(reps, places, person, len(people)).to_pylist()

    def commonest(values: list[str]) -> str:
        counts = Counter(v for v in values if v)
        best = max(counts.values(), default=0)
        return next((v for v in values if v and counts[v] == best), "")

    def names(records: list[Identity], part: str) -> list[str] | None:
        return sorted({plain(getattr(r, part)) for r in records} - {""}) or None

    for mine, row in zip(people, found, strict=True):
        records = [reps[i] for i in mine]
        one = {k: commonest([getattr(r, k) for r in records]) for k in pick if k != "born_before"}
        stand_in = Identity("x", given=one["given"], family=one["family"])
        expected = {k: v[0] for k, v in name_columns([stand_in]).items()}
        expected |= {k: one[k] or None for k in ("dob", "postcode", "upn", "nhs", "uln")}
        expected["sex"] = one["sex"] if one["sex"] in ("F", "M") else None
        expected["district"] = one["postcode"].split(" ")[0] if one["postcode"] else None
        expected["born_before"] = min(
            (r.born_before for r in records if r.born_before), default=None
        )
        expected["givens"], expected["families"] = names(records, "given"), names(records, "family")
        assert row == {k: expected[k] for k in OWN_COLUMNS}, records
