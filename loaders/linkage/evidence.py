"""Why two records were linked, or proposed, in words a reviewer reads.

Built from the levels each comparison reached and the values behind them: "both
named as mother of Amy Smith (born 2014-03-02); lived at the same address: 4 Bridge
Place, NM5 4AL; given name Jane/Jayne (given names alike)". What counts against the
link follows "against:".
"""

from __future__ import annotations

from functools import cache

from loaders.linkage.clusters import Clusters
from loaders.linkage.identity import ID_NAMES, Identity, plain, years_before
from loaders.linkage.inputs import (
    OPEN_END,
    OPEN_START,
    PARENTAL_KINDS,
    UNSTATED_KIND,
    Context,
)
from loaders.linkage.relational import (
    CO_PARENT,
    CO_PARENT_ALIKE,
    CO_PARENTS,
    COPARENT_AFTER,
    COPARENT_BEFORE,
    JOURNEY,
    MATES_ALIKE,
    PARENT_OF_THEIR_CHILD,
    SAME_CHILD,
    SAME_HOUSEMATE,
    TAKEN_NAME,
    WITH_ONE_CHILD,
    Surroundings,
)

KIN_LEVELS = {SAME_CHILD.label, PARENT_OF_THEIR_CHILD.label, WITH_ONE_CHILD.label}
PARENT_WORDS = {"mother", "father", "stepmother", "stepfather", "carer", "guardian"}


class Naming:
    """The clusters as the words read them, keeping the people the words name: a review
    pair keeps them, so that whoever is shown the words is audited with every person
    they name, not only the pair."""

    __slots__ = ("_clusters", "named")

    def __init__(self, clusters: Clusters | Naming) -> None:
        self._clusters = clusters
        self.named: set[str] = set()

    def find(self, rid: str) -> str:
        return self._clusters.find(rid)

    def name(self, root: str) -> str:
        if root:
            self.named.add(root)
        return self._clusters.name(root)

    @property
    def up(self) -> dict[str, list[tuple[str, str]]]:
        return self._clusters.up

    @property
    def down(self) -> dict[str, list[tuple[str, str]]]:
        return self._clusters.down

    @property
    def dobs(self) -> dict[str, frozenset[str]]:
        return self._clusters.dobs


def describe_naming(
    a: Identity,
    b: Identity,
    levels: dict[str, str],
    clusters: Clusters,
    context: Context,
    around: Surroundings | None = None,
) -> tuple[str, tuple[str, ...]]:
    """:func:`describe`'s words, and a record of each person they name: the pair's own
    two, and the clusters (their root records) the words quote beside them."""
    naming = Naming(clusters)
    words = describe(a, b, levels, naming, context, around)
    return words, tuple(sorted(naming.named | {a.rid, b.rid}))


def describe(
    a: Identity,
    b: Identity,
    levels: dict[str, str],
    clusters: Clusters | Naming,
    context: Context,
    around: Surroundings | None = None,
) -> str:
    """``levels``: comparison name -> the label of the level the pair reached."""
    good: list[str] = []
    bad: list[str] = []
    address = levels.get("household", "")
    if address in KIN_LEVELS and around is not None:
        good.append(_kin(a, b, address, clusters, context, around))
    elif address == "lived at the same address at the same time" and around is not None:
        ra, rb = clusters.find(a.rid), clusters.find(b.rid)
        shared = sorted(around.homes(ra) & around.homes(rb))
        if shared:
            good.append(_stay(shared[0], ra, rb, context, around))
        else:
            good.append(address)
    elif address == JOURNEY.label and around is not None:
        good.append(_journey(a, b, clusters, context, around))
    elif address in (SAME_HOUSEMATE.label, MATES_ALIKE.label) and around is not None:
        good.append(_housemate(a, b, clusters, context, around))
    elif address == TAKEN_NAME.label and around is not None:
        good.append(_taken_name(a, b, clusters, context, around))
    elif address in (CO_PARENT.label, CO_PARENT_ALIKE.label) and around is not None:
        good.append(_co_parent(a, b, address, clusters, context, around))
    elif address.startswith("nothing"):
        bad.append("nothing in common where they live or whom they care for")
    elif address:
        good.append(_with_values(address, a.postcode, b.postcode))
    given, family = levels.get("given", ""), levels.get("family", "")
    if given == family == "given and family names swapped":
        good.append(f"given and family names swapped ({a.given} {a.family}/{b.given} {b.family})")
    else:
        for label, x, y in ((given, a.given, b.given), (family, a.family, b.family)):
            if label.startswith("different"):
                bad.append(_with_values(label, x, y))
            elif label:
                good.append(_with_values(label, x, y))
    dob = levels.get("dob", "")
    if dob.startswith(("different", "too young", "dates of birth years")):
        bad.append(_with_values(dob, a.dob, b.dob))
    elif dob:
        good.append(_with_values(dob, a.dob, b.dob))
    postcode = levels.get("postcode", "")
    if postcode and not postcode.startswith("different"):
        good.append(_with_values(postcode, a.postcode, b.postcode))
    if levels.get("timeline", "").startswith("at different"):
        bad.append(levels["timeline"])
    if levels.get("sex", "").startswith("different"):
        bad.append("different sex")
    if levels.get("identifiers", "").startswith("different"):
        kinds = [
            ID_NAMES[k]
            for k in ("upn", "nhs", "uln")
            if getattr(a, k) and getattr(b, k) and getattr(a, k) != getattr(b, k)
        ]
        bad.append(f"different {', '.join(kinds) or 'checked identifiers'}")
    text = "; ".join(good) or "nothing agreed"
    return f"{text}; against: {'; '.join(bad)}" if bad else text


@cache
def same_identifier(kind: str) -> str:
    """'same UPN': one string a kind, shared by the many links it makes."""
    return f"same {ID_NAMES[kind]}"


def _with_values(label: str, x: str, y: str) -> str:
    """'same given name Jane', or 'given name Jane/Jayne (given names alike)'."""
    if not (x or y):
        return label
    if x == y or not (x and y):
        return f"{label} {x or y}"
    noun = label.removeprefix("same ").removeprefix("different ")
    for word in ("given name", "family name", "date of birth", "postcode"):
        if word in label:
            noun = word
            break
    return f"{noun} {x}/{y} ({label})"


def _kin(
    a: Identity,
    b: Identity,
    label: str,
    clusters: Clusters | Naming,
    context: Context,
    around: Surroundings,
) -> str:
    ra, rb = clusters.find(a.rid), clusters.find(b.rid)
    kids_a, kids_b = around.kids.get(ra, set()), around.kids.get(rb, set())
    home_a, home_b = around.household.get(ra, set()), around.household.get(rb, set())
    role = _role(context.roles.get(a.rid, ""), context.roles.get(b.rid, ""))
    if label == SAME_CHILD.label:
        child = min(kids_a & kids_b, default="")
        return f"both named as {role} of {clusters.name(child)}" if child else label
    if label == PARENT_OF_THEIR_CHILD.label:
        child = min((kids_a & home_b) | (home_a & kids_b), default="")
        return (
            f"one named as {role} of {clusters.name(child)}, who lived with the other"
            if child
            else label
        )
    child = min(home_a & home_b, default="")
    return f"both lived with {clusters.name(child)}" if child else label


def _journey(
    a: Identity, b: Identity, clusters: Clusters | Naming, context: Context, around: Surroundings
) -> str:
    """'one moved out of 4 Bridge Place, NM5 4AL on 2024-07-02 and the other into 6 School
    Rise, NM1 3XQ that day, as Robert Chapman, who lived with them, did'. The two are
    the round's people, keyed as ``around`` is (they may be one cluster by now)."""
    ra, rb = a.rid, b.rid
    moves = (around.left_with.get(ra, set()) & around.arrived_with.get(rb, set())) | (
        around.arrived_with.get(ra, set()) & around.left_with.get(rb, set())
    )
    if not moves:
        return JOURNEY.label
    move = min(moves)
    route, day = move.rsplit("@", 1)
    origin, to = route.split(">", 1)
    who = clusters.name(min(around.movers.get(move, {""})))
    return (
        f"one moved out of {context.places.get(origin, origin)} on {day} and the other into "
        f"{context.places.get(to, to)} that day, as {who}, who lived with them, did"
    )


def _taken_name(
    a: Identity, b: Identity, clusters: Clusters | Naming, context: Context, around: Surroundings
) -> str:
    """'one moved out on 2023-10-25 and the other in that day, under the family name of
    Rhys Walker, who lived with Patricia Richardson at 4 Bridge Place, NM5 4AL
    (2019-2023)'. The two are the round's people, keyed as ``around`` is."""
    for one, other in ((a, b), (b, a)):
        x, y, family = one.rid, other.rid, other.family
        days = (around.moved_out.get(x, set()) & around.moved_in.get(y, set())) | (
            around.moved_in.get(x, set()) & around.moved_out.get(y, set())
        )
        name = plain(family)
        mates = sorted(
            m
            for m in around.housemates.get(x, ())
            if name and any(n.endswith(f" {name}") for n in around.names.get(m, ()))
        )
        if days and mates:
            mate = mates[0]
            where = _together(x, mate, context, around)
            who = clusters.name(clusters.find(mate))
            return (
                f"one moved out on {min(days)} and the other in that day, under the family "
                f"name of {who}, who lived with {one.given} {one.family}"
                + (f" at {where}" if where else "")
            )
    return TAKEN_NAME.label


def _housemate(
    a: Identity, b: Identity, clusters: Clusters | Naming, context: Context, around: Surroundings
) -> str:
    """'both lived with Sam Taylor: one at 4 Bridge Place, NM5 4AL (2015-2018), the other
    at 6 School Rise, NM1 3XQ (2020-now)', or, where the two Sams are not (yet) one
    person, 'each lived with a Sam Taylor: ...'. The two are the round's people, keyed
    as ``around`` is."""
    ra, rb = a.rid, b.rid
    mates_a, mates_b = around.housemates.get(ra, set()), around.housemates.get(rb, set())
    shared = mates_a & mates_b
    if shared:
        other = min(shared)
        where = [_together(root, other, context, around) or "one address" for root in (ra, rb)]
        who = clusters.name(clusters.find(other))
        return f"both lived with {who}: one at {where[0]}, the other at {where[1]}"
    alike = around.mate_names.get(ra, set()) & around.mate_names.get(rb, set())
    if not alike:
        return MATES_ALIKE.label
    name = min(alike)
    with_a = min(m for m in mates_a if name in around.names.get(m, ()))
    with_b = min(m for m in mates_b if name in around.names.get(m, ()))
    where = [
        _together(root, mate, context, around) or "one address"
        for root, mate in ((ra, with_a), (rb, with_b))
    ]
    who = clusters.name(clusters.find(with_a))
    clusters.name(clusters.find(with_b))  # placed by the words too: named, for the audit
    return f"each lived with a {who}: one at {where[0]}, the other at {where[1]}"


# What a record names a child's own parent as (inputs.PARENTAL_KINDS), in words, in
# the order one is chosen when records differ: "mother", "birth parent", ...
PARENT_KIND_WORDS = {
    kind: kind if kind in ("mother", "father") else f"{kind} parent" for kind in PARENTAL_KINDS
}


def _co_parent(
    a: Identity,
    b: Identity,
    label: str,
    clusters: Clusters | Naming,
    context: Context,
    around: Surroundings,
) -> str:
    """'one named as mother of Amy Taylor (born 2018-09-14) on an early help record, whose
    father Sam Taylor (born 1984-05-06), so named on a social care record, lived with
    the other: at 67 Oak Court, NM2 8QZ (2015-2018)', or, where the co-parent's records
    and the housemate's are not (yet) one person, '..., whose father Sam Taylor, so
    named on a ... record, has the name of Sam Taylor, who lived with the other: at
    ...'. The child is the one the level counted (both named as its own parent, a stay
    around its birth), the records those that named the two. The two are the round's
    people, keyed as ``around`` is."""
    co, co_names = around.columns.get("coparents", {}), around.columns.get("coparent_names", {})
    for one, other in sorted(((a.rid, b.rid), (b.rid, a.rid))):
        mates = around.housemates.get(other, set())
        if label == CO_PARENT.label:
            pairs = [(them, them) for them in sorted(co.get(one, set()) & mates)]
        else:
            alike = co_names.get(one, set()) & around.mate_names.get(other, set())
            pairs = [
                (parent, mate)
                for name in sorted(alike)
                for parent in sorted(co.get(one, set()))
                if name in around.names.get(parent, ())
                for mate in sorted(mates)
                if name in around.names.get(mate, ())
            ]
        for them, mate in pairs:
            counted = _counted(one, them, other, mate, clusters, context, around)
            if counted is None:
                continue
            child, mine, theirs, where = counted
            said = (
                f"one named as {mine[0]} of {clusters.name(child)} on {mine[1]}, whose "
                f"{theirs[0]} {clusters.name(clusters.find(them))}, so named on {theirs[1]}, "
            )
            if label == CO_PARENT.label:
                return f"{said}lived with the other: at {where}"
            who = clusters.name(clusters.find(mate))
            return f"{said}has the name of {who}, who lived with the other: at {where}"
    return label


def _counted(
    one: str,
    them: str,
    other: str,
    mate: str,
    clusters: Clusters | Naming,
    context: Context,
    around: Surroundings,
) -> tuple[str, tuple[str, str], tuple[str, str], str] | None:
    """The least child ``one`` and ``them`` are both named as own parent of (a stated
    kind, no carer's kind), with a birth date and no more than CO_PARENTS people so
    named (as the level counts), around whose birth ``other`` lived with ``mate``
    (COPARENT_BEFORE, COPARENT_AFTER); with what and on which record each is so named,
    and where and when the two lived together. None if there is none."""
    find = clusters.find
    mine, theirs = _own_children(one, clusters), _own_children(them, clusters)
    for child in sorted(set(mine) & set(theirs)):
        born = min(clusters.dobs.get(child, ()), default="")
        if not born or len(_own_parents(child, clusters)) > CO_PARENTS:
            continue
        since, until = years_before(born, COPARENT_BEFORE), years_before(born, -COPARENT_AFTER)
        where = _together(other, find(mate), context, around, since, until)
        if where:
            return child, mine[child], theirs[child], where
    return None


def _own_parents(child: str, clusters: Clusters | Naming) -> set[str]:
    """The people ``child``'s records name as its own parent (a stated kind, and no
    carer's kind for it), as the co-parent levels count them."""
    find = clusters.find
    stated: set[str] = set()
    carers: set[str] = set()
    for parent_record, kind in clusters.up.get(child, ()):
        if kind in PARENTAL_KINDS:
            stated.add(find(parent_record))
        elif kind != UNSTATED_KIND:
            carers.add(find(parent_record))
    return stated - carers


def _own_children(root: str, clusters: Clusters | Naming) -> dict[str, tuple[str, str]]:
    """The children ``root``'s records name as their own parent's (a stated kind, and no
    carer's kind for that child), each with the kind in words and the record so naming
    them ('an early help record'), the first kind in PARENTAL_KINDS' order."""
    find = clusters.find
    kinds: dict[str, list[tuple[int, str, str]]] = {}
    carers: set[str] = set()
    for child_record, kind in clusters.down.get(find(root), ()):
        child = find(child_record)
        if kind in PARENTAL_KINDS:
            rank = PARENTAL_KINDS.index(kind)
            kinds.setdefault(child, []).append((rank, kind, child_record))
        elif kind != UNSTATED_KIND:
            carers.add(child)
    out = {}
    for child, found in kinds.items():
        if child in carers:
            continue
        _, kind, child_record = min(found)
        record = next(
            (p for p, k in clusters.up.get(child, ()) if k == kind and find(p) == find(root)),
            child_record,
        )
        out[child] = (PARENT_KIND_WORDS[kind], _record_words(record))
    return out


def _record_words(rid: str) -> str:
    """'an early help record': the source a record uid names, else 'a record'."""
    source = rid.split(":", 1)[0].replace("_", " ") if ":" in rid else ""
    if not source:
        return "a record"
    return f"{'an' if source[0] in 'aeiou' else 'a'} {source} record"


def _together(
    root: str, other: str, context: Context, around: Surroundings, after: str = "", by: str = ""
) -> str:
    """Where and when ``root`` lived with ``other`` (the first such dated stay; one not
    ended before ``after`` and begun by ``by``, where given, as the co-parent levels
    count it); '' if none."""
    theirs = sorted(around.stays.get(other, ()))  # sorted: the same words in every run
    found = []
    for key, start, end in sorted(around.stays.get(root, ())):
        if start == OPEN_START:
            continue
        for k, s, e in theirs:
            if k == key and s != OPEN_START and s <= end and start <= e:
                since, until = max(start, s), min(end, e)
                if until < after:
                    continue
                if by and since > by:
                    continue
                found.append((since, until, key))
    if not found:
        return ""
    since, until, key = found[0]
    return f"{context.places.get(key, key)} ({since[:4]}-{_year(until)})"


def _year(day: str) -> str:
    return "now" if day == OPEN_END else day[:4]


def _stay(key: str, ra: str, rb: str, context: Context, around: Surroundings) -> str:
    """'lived at the same address: 4 Bridge Place, NM5 4AL (2019-2023)'."""

    spans = [(s, e) for root in (ra, rb) for a, s, e in around.stays.get(root, ()) if a == key]
    starts = [s for s, _ in spans if s != OPEN_START]
    ends = [e for _, e in spans if e != OPEN_END]
    when = ""
    if starts:
        until = "now" if any(e == OPEN_END for _, e in spans) or not ends else max(ends)[:4]
        when = f" ({min(starts)[:4]}-{until})"
    return f"lived at the same address: {context.places.get(key, key)}{when}"


def _role(x: str, y: str) -> str:
    for word in (x, y):
        if word in PARENT_WORDS:
            return word
    return "parent or carer"
