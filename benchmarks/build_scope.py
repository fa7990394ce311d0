"""What a delta night's build can change, and a build of only that (a prototype).

    uv run python -m benchmarks.build_scope capture DIR -- BENCHMARKS.DELTA ARGUMENTS
    uv run python -m benchmarks.build_scope measure DIR

``capture`` runs ``benchmarks.delta`` with each night's build stage's inputs kept (the
records, the identity records and their roles, who each is, the builder's packs),
pickled to ``DIR/<night>.pickle`` in the night's own process, and what its write stage
found changed (``Touched``) to ``DIR/<night>.touched.pickle``.

``measure`` builds both nights (``week2_delta``, ``week3_delta``) as the build stage
does (the review's rows apart, which come from the link), groups each night's rows by
graph element (a node's key, a relationship's two ends), and counts the second night's
elements whose rows differ from the first's (the rows a delta writes) or that it lacks
(gone: the first night's rows), by the people they name; the touched people are those
a new, changed or gone record names in any role, or whose record the link gave another
person. Then the prototype: the rows of a scope only
(the touched, those turning 18 since the last night's day, those a case of the scope's
was last night, every record naming them, the identity records of all those records
name), compared with the whole build's rows of the scope's people, and the rest with
the first night's; a gone element the scope builds, or naming only others or nobody (a
night writing the scope would keep it), and a changed one naming nobody that the scope
does not build, is a miss.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from operator import itemgetter
from pathlib import Path
from typing import Any

import benchmarks.delta_scope as delta_scope
from graph.family_rules import CHILD_AGE
from loaders.attach import Attachments
from loaders.build import ROLE_KEYS, Builder, GraphRows, _age, identity_uid
from loaders.load import REFERENCE_ENTITIES
from loaders.unchanged import element_key
from loaders.validate import Record
from loaders.write import STEPS


def _capturing(into: Path, *arguments: object) -> dict:
    """:func:`benchmarks.delta._load_alone` with the build and write stages keeping what
    they were given and found (the night is ``arguments[2]``)."""
    import loaders.load as load

    night = arguments[2]

    def build(one: Any) -> None:
        builder = one.builder
        kept = {
            "today": one.today,
            "packs": builder.packs,
            "attached": builder.attached,
            "return_sources": builder.return_sources,
            "records": one.records,
            "roles": one.roles,
            "person_of": one.person_of,
            "probability": one.linked.probability,
        }
        with open(into / f"{night}.pickle", "wb") as fh:
            pickle.dump(kept, fh, pickle.HIGHEST_PROTOCOL)
        real["build"](one)

    def write(one: Any) -> None:
        real["write"](one)
        found = {"touched": one.touched}
        with open(into / f"{night}.touched.pickle", "wb") as fh:
            pickle.dump(found, fh, pickle.HIGHEST_PROTOCOL)

    real = dict(load.STAGES)
    mine = {"build": build, "write": write}
    load.STAGES = tuple((name, mine.get(name, stage)) for name, stage in load.STAGES)
    return delta_scope._alone(*arguments)


# the row fields naming a person, by GraphRows list; a list not here names nobody
_PEOPLE_FIELDS = ("person", "parent", "child")
# each GraphRows list's element key, as loaders.unchanged groups rows (the areas, which
# no step writes, by their uid)
_KEYS = {name: element_key(step) for name, step in STEPS.items()}
Elements = dict[str, dict[Any, list[dict]]]  # GraphRows list -> element -> its rows


def _night(path: Path) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def built(
    night: dict[str, Any], records: list[Record] | None = None, roles: list | None = None
) -> Builder:
    """The night's build stage as ``loaders.load`` runs it (the review's rows apart),
    over ``records`` and ``roles`` (identity records) when given, else every one."""
    records = night["records"] if records is None else records
    roles = night["roles"] if roles is None else roles
    builder = Builder(night["today"], night["packs"], night["attached"], night["return_sources"])
    builder.reference([r for r in night["records"] if r.entity in REFERENCE_ENTITIES])
    builder.linked(night["person_of"], night["probability"])
    builder.people(roles)
    builder.cases(records)
    for record in records:
        builder.facts(record)
    builder.finish()
    return builder


def elements(rows: GraphRows) -> Elements:
    """Each row list's rows grouped by element, in order."""
    lists = {f.name: getattr(rows, f.name) for f in dataclasses.fields(rows)}
    lists.pop("unresolved")
    lists.pop("returns")
    lists["areas"] = [{"uid": k, **v} for k, v in rows.areas.items()]
    lists |= {
        f"returns.{f.name}": getattr(rows.returns, f.name) for f in dataclasses.fields(rows.returns)
    }
    out: Elements = {}
    for name, found in lists.items():
        key_of = _KEYS.get(name, itemgetter("uid"))
        grouped: dict[Any, list[dict]] = defaultdict(list)
        for row in found:
            grouped[key_of(row)].append(row)
        out[name] = dict(grouped)
    return out


def named(name: str, rows: list[dict], case_person: dict[str, str]) -> set[str]:
    """The Person uids an element's rows belong to or name."""
    if name == "people":
        return {rows[0]["uid"]}
    found = {r[f] for r in rows for f in _PEOPLE_FIELDS if r.get(f)}
    if name == "works_on":
        found |= {case_person[r["case"]] for r in rows if r["case"] in case_person}
    return found


def record_people(builder: Builder, roles: list) -> Callable[[Record], set[str]]:
    """Who a record names, in any role, as the build finds them: its identities' people,
    the person a keyed record attaches to, those a case, relationship or note names
    by their council id."""
    person_of, by_la_id = builder.person_of, builder.by_la_id
    identities: dict[str, set[str]] = defaultdict(set)
    for record, who in roles:
        identities[record.uid].add(person_of[identity_uid(record, who)])
    attached = builder.attachments.puid if builder.attachments else {}

    def people(record: Record) -> set[str]:
        found = set(identities.get(record.uid, ()))
        if record.uid in attached:
            found.add(attached[record.uid])
        if record.entity in ("case", "relationship", "note"):
            v = record.values
            for key in ("person.la_child_id", "related.la_child_id"):
                if v.get(key) is not None and str(v[key]) in by_la_id:
                    found.add(by_la_id[str(v[key])])
        return found

    return people


@dataclasses.dataclass
class Nights:
    """The two nights built in full, and what the second changed."""

    before: dict[str, Any]  # the first night's captured inputs
    after: dict[str, Any]
    old: Builder  # the first night built
    new: Builder
    whole_cpu: float  # the second night's build, CPU seconds
    was: Elements  # the first night's rows by element
    now: Elements
    changed: dict[str, list[Any]]  # by list, the second's elements differing or gone
    case_person: dict[str, str]
    touched: set[str]  # the people whose records changed, or whose person
    by_link: int  # of them, those only the link's changes touched


def nights(folder: Path) -> Nights:
    """Both captured nights built, and the second night's changes."""
    before, after = _night(folder / "week2_delta.pickle"), _night(folder / "week3_delta.pickle")
    old = built(before)
    started = time.process_time()
    new = built(after)
    whole_cpu = time.process_time() - started
    was, now = elements(old.rows), elements(new.rows)
    case_person = {c["uid"]: c["person"] for c in (*old.rows.cases, *new.rows.cases)}
    touched, by_link = _touched(before, after, old, new)
    return Nights(
        before,
        after,
        old,
        new,
        whole_cpu,
        was,
        now,
        changes(was, now),
        case_person,
        touched,
        by_link,
    )


def changes(was: Elements, now: Elements) -> dict[str, list[Any]]:
    """By list, the elements whose rows tonight differ from last night's (the new among
    them), then those last night had and tonight lacks (the gone)."""
    return {
        name: [k for k, rows in found.items() if was[name].get(k) != rows]
        + [k for k in was[name] if k not in found]
        for name, found in now.items()
    }


def _touched(before: dict, after: dict, old: Builder, new: Builder) -> tuple[set[str], int]:
    """The people a record new, changed or gone names (any role), and those whose
    identity records' person the link changed (the person left and the one joined)."""
    was = {r.uid for r in before["records"]}
    now = {r.uid for r in after["records"]}
    of_new, of_old = record_people(new, after["roles"]), record_people(old, before["roles"])
    found = set().union(*(of_new(r) for r in after["records"] if r.uid not in was))
    found |= set().union(*(of_old(r) for r in before["records"] if r.uid not in now))
    by_records = len(found)
    people, earlier = after["person_of"], before["person_of"]
    for rid, who in people.items():
        if rid in earlier and earlier[rid] != who:
            found |= {who, earlier[rid]}
    return found, len(found) - by_records


def what_changed(n: Nights) -> list[str]:
    """Part one's figures: the rows that changed, by whom they name."""
    now, was = n.now, n.was
    lines = [
        f"the second night's build: {n.whole_cpu:.1f} s CPU; touched people: "
        f"{len(n.touched):,} ({n.by_link:,} by the link alone)"
    ]
    total: Counter[str] = Counter()  # rows: tonight's, or a gone element's last night's
    gone: Counter[str] = Counter()  # elements
    mine = 0
    outside: dict[str, list[Any]] = defaultdict(list)
    for name, keys in n.changed.items():
        for k in keys:
            rows, earlier = now[name].get(k, []), was[name].get(k)
            people = named(name, rows + (earlier or []), n.case_person)
            total[name] += len(rows or earlier or ())
            gone[name] += not rows
            if people & n.touched:
                mine += len(rows or earlier or ())
            else:
                outside[name].append(_why(name, earlier, rows))
    lines.append(
        f"rows changed {sum(total.values()):,}: "
        + ", ".join(f"{name} {c:,}" for name, c in total.most_common())
    )
    lines.append(
        f"  of them gone elements' (last night's rows): {sum(gone.values()):,} elements: "
        + ", ".join(f"{name} {c:,}" for name, c in (+gone).most_common())
    )
    lines.append(f"  of them naming a touched person: {mine:,}")
    for name, found in outside.items():
        lines.append(f"  naming none: {name} {len(found):,}: {dict(Counter(found))}")
    return lines


def _why(name: str, old: list[dict] | None, new: list[dict]) -> str:
    """What changed in an element no touched person's rows are in, in a few words."""
    if old is None:
        return "new"
    if not new:
        return "gone"
    if name != "people":
        return "changed"
    differ = {f for f in new[0] if old[0].get(f) != new[0][f]}
    if differ == {"child"}:
        return "turned 18 (the day)"
    if differ <= {"open_services", "open_case_kinds", "open_service_count"}:
        return "open services (a case)"
    return ", ".join(sorted(differ))


def _by_la_id(night: dict[str, Any]) -> dict[str, str]:
    """Council id -> the first person an identity record gives it (``Builder.people``)."""
    found: dict[str, str] = {}
    person_of = night["person_of"]
    for record, who in night["roles"]:
        la_id = record.values.get(ROLE_KEYS[who].key["la_child_id"])
        if la_id:
            found.setdefault(str(la_id), person_of[identity_uid(record, who)])
    return found


@dataclasses.dataclass
class Scope:
    """A scoped build: its people and records, what it built, and its CPU seconds."""

    people: set[str]
    records: list[Record]
    built: Builder
    naming_cpu: float  # whom each record names, over every record
    finding_cpu: float  # that, and the builds before the last (the cases' closure)
    build_cpu: float  # the last build


def scope(n: Nights) -> Scope:
    """The scope built alone: its people (the touched, those turning 18 since the last
    night's day, and those a case of its rows was last night, until none is added), the
    records naming any of them, built with the identity records of everyone those name;
    the CPU of finding the records' people and of the builds before the last, and of
    the last."""
    started = time.process_time()
    night, records = n.after, n.after["records"]
    builder = Builder(night["today"], night["packs"], night["attached"], night["return_sources"])
    builder.linked(night["person_of"], night["probability"])
    builder.by_la_id = _by_la_id(night)
    attachments = Attachments(night["packs"], night["person_of"])
    attachments.resolve(records, night["attached"])
    builder.attachments = attachments
    people_of = record_people(builder, night["roles"])
    naming = [(r, people_of(r)) for r in records]
    naming_cpu = time.process_time() - started
    last, today = n.before["today"], night["today"]
    turning = {
        p["uid"]
        for p in n.old.rows.people
        if p["dob"] and _adult_since(dt.date.fromisoformat(p["dob"]), last, today)
    }
    kept_cases: dict[str, set[str]] = defaultdict(set)  # last night's case uid -> people
    for case in (*n.old.rows.cases, *n.old.rows.returns.cases):
        kept_cases[case["uid"]].add(case["person"])
    people = n.touched | turning
    was = {r.uid for r in n.before["records"]}
    while True:  # and the new records naming nobody (an address's note)
        chosen = [r for r, who in naming if who & people or (not who and r.uid not in was)]
        ring = set().union(*(who for r, who in naming if who & people))
        person_of = night["person_of"]
        roles = [(r, w) for r, w in night["roles"] if person_of[identity_uid(r, w)] in ring]
        finding = time.process_time() - started
        part = built(night, chosen, roles)
        cases = (*part.rows.cases, *part.rows.returns.cases)
        more = {p for c in cases for p in kept_cases.get(c["uid"], ())} - people
        if not more:
            return Scope(
                people, chosen, part, naming_cpu, finding, time.process_time() - started - finding
            )
        people |= more


def _adult_since(dob: dt.date, last: dt.date, today: dt.date) -> bool:
    """Whether someone born ``dob`` turned 18 after ``last`` and by ``today`` (their
    person row's ``child`` changed with the day alone)."""
    return _age(dob, today) >= CHILD_AGE > _age(dob, last)


def scoped(n: Nights) -> list[str]:
    """Part two: the scope built alone against the whole build."""
    chosen = scope(n)
    people, records, part = chosen.people, chosen.records, chosen.built
    c = compared(n.was, n.now, elements(part.rows), people, n.case_person)
    return [
        f"scope: {len(people):,} people, {len(records):,} of {len(n.after['records']):,} "
        f"records; finding it: {chosen.finding_cpu:.1f} s CPU (whom each record names: "
        f"{chosen.naming_cpu:.1f} s)",
        f"build CPU: every record {n.whole_cpu:.1f} s, the scope {chosen.build_cpu:.1f} s",
        f"rows naming the scope's people: {c['inside']:,}; elements differing from the "
        f"whole build's: {c['differ']:,}; only the scope's: {c['extra']:,}",
        f"rows left out (naming only others): {c['left']:,}; elements differing from last "
        f"night's: {c['moved']:,}",
        f"elements naming nobody: {c['nobody']:,}; built by the scope and differing: "
        f"{c['nobody_differ']:,}; changed and not built by it: {c['nobody_missed']:,}",
        f"elements gone since last night: {c['gone']:,}; naming the scope's people "
        f"{c['gone_inside']:,} (built by the scope: {c['gone_built']:,}); naming only "
        f"others {c['gone_others']:,}; naming nobody {c['gone_nobody']:,}",
    ]


def compared(
    was: Elements, now: Elements, mine: Elements, people: set[str], cases: dict[str, str]
) -> Counter[str]:
    """A scope's build (``mine``, of ``people``) against the whole build (``now``) and
    last night's (``was``), what a night writing the scope's elements and keeping the
    rest would miss among them: ``differ`` and ``extra`` (the scope's elements wrong or
    more), ``moved`` (rows left out that changed), ``nobody_differ`` and
    ``nobody_missed`` (elements naming nobody built wrong, or changed and not built),
    ``gone_built``, ``gone_others`` and ``gone_nobody`` (gone elements the scope built,
    or that name only others or nobody, which the night would keep)."""
    c: Counter[str] = Counter()
    for name, found in now.items():
        for k, rows in found.items():
            who = named(name, rows, cases)
            if who & people:
                c["inside"] += len(rows)
                c["differ"] += mine[name].get(k) != rows
            elif who:
                c["left"] += len(rows)
                c["moved"] += was[name].get(k) != rows
            else:
                c["nobody"] += 1
                if k in mine[name]:
                    c["nobody_differ"] += mine[name][k] != rows
                else:
                    c["nobody_missed"] += was[name].get(k) != rows
        c["extra"] += sum(
            1
            for k, rows in mine[name].items()
            if named(name, rows, cases) & people and k not in found
        )
        for k, rows in was[name].items():
            if k in found:
                continue
            c["gone"] += 1
            who = named(name, rows, cases)
            if who & people:
                c["gone_inside"] += 1
                c["gone_built"] += k in mine[name]
            else:
                c["gone_others" if who else "gone_nobody"] += 1
    return c


def main() -> None:
    step, path, rest = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    if step == "capture":
        delta_scope.capture(path, [a for a in rest if a != "--"], _capturing)
    elif step == "measure":
        both = nights(path)
        print(*what_changed(both), *scoped(both), sep="\n")


if __name__ == "__main__":
    main()
