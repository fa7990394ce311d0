"""From linked canonical records to the rows the graph writer merges.

Every fact carries the record it came from, so the graph can always say where a
value was read. Where sources disagree about a person's field, the value most
sources give wins, and the first-read source breaks ties; the other spellings of
their name are kept in ``other_names`` so search finds them by any of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter

from graph.family_rules import CHILD_AGE, PARENT_MIN_AGE, too_young_to_parent
from graph.schema import BOOLEAN, DATE
from graph.writes import fold
from loaders.attach import Attachments, Packs
from loaders.build_returns import RETURN_FIELDS_PREFIXES, ReturnFacts, ReturnRows, case_row
from loaders.case_owner import Claim, refusals
from loaders.extracts import Dropped
from loaders.fields import FIELDS, masked
from loaders.identifiers import postcode_district
from loaders.reads import Reads, carried, iso
from loaders.validate import Record
from planning import codes
from planning.calendar import next_september, term_start

SCHOOL = Reads.of("School", "school", own="urn")
STAFF = Reads.of("Professional", "staff", own="agency")
TEAM = Reads.of("Team", "staff", name="staff.team")
ADDRESS = Reads.of(
    "Address",
    "address",
    own="uprn postcode_district imd_decile local_authority in_county postcode_only",
)
CASE = Reads.of("Case", "case", own="kind status placement_out_of_area")
ALLOCATION = Reads.of("WORKS_ON", "case", own="role", **{"from": "case.start", "to": "case.end"})
NOTE = Reads.of("Note", "note", own="kind", case="case.ref")
ROLL = Reads.of("ATTENDS", "enrolment")
EXCLUSION = Reads.of("EXCLUDED", "exclusion")
OFFER = Reads.of("OFFERED", "offer", own="start")
MEMBER = Reads.of("MEMBER_OF", "person", **{"from": "case.start", "to": "case.end"})
PARENT = Reads.of("PARENT_OF", "related")  # a relationship record's
HOME = Reads.of("LIVES_AT", "address")
# every Reads above: the record fields they read are held (HELD_FIELDS)
_READS = (SCHOOL, STAFF, TEAM, ADDRESS, CASE, ALLOCATION, NOTE, ROLL, EXCLUSION, OFFER)
_READS += (MEMBER, PARENT, HOME)
_UNDATED = {"from": None, "to": None}  # a sighting (loaders.build._residences)
_NO_ADDRESS = {p.name: None for p in carried("Address")}
# A person's properties (graph.schema): the flags (its booleans), true where any of their
# own records (not one naming them as a parent) says so; those the builder works out
# from all their records; and the rest read from each record under its role
# ("parent.dob"), the most common value winning where their records disagree.
PERSON_FLAGS = tuple(p.name for p in carried("Person") if p.type == BOOLEAN)
_WORKED_OUT = {"full_name", "other_names", "sources", "conflicts"}
PERSON_FIELDS = tuple(
    p.name for p in carried("Person") if p.name not in _WORKED_OUT and p.type != BOOLEAN
)
_PERSON_DATES = tuple(p.name for p in carried("Person") if p.type == DATE)


@dataclass(frozen=True, slots=True)
class RoleKeys:
    """A role's record keys ("parent.dob"), made once rather than once per record and
    field (linking and building each read 800,000 identity records at 100,000
    children)."""

    key: dict[str, str]  # person field -> record key
    field_of: dict[str, str]  # record key -> person field
    wanted: frozenset[str]  # the record keys

    @classmethod
    def of(cls, who: str) -> RoleKeys:
        key = {name: f"{who}.{name}" for name in PERSON_FIELDS}
        field_of = {k: name for name, k in key.items()}
        return cls(key, field_of, frozenset(field_of))


ROLE_KEYS = {who: RoleKeys.of(who) for who in ("person", "parent")}
_OTHER_ROLES = tuple(who for who in ROLE_KEYS if who != "person")  # in an identity_uid


# Fields of the returns' groups that no fact holds yet (listed as not kept)
_NOT_YET_HELD = {"request.date", "request.outcome", "request.outcome_date", "allocation.reason_end"}
# The fields the builder turns into the graph; a mapping that reads any other field is
# told in the load report that it is not kept (loaders.reading.unheld_columns).
HELD_FIELDS = frozenset(
    set().union(*(reads.keys for reads in _READS))
    | {f"{who}.{name}" for who in ROLE_KEYS for name in (*PERSON_FIELDS, "full_name")}
    | {f for f in FIELDS if f.startswith(RETURN_FIELDS_PREFIXES)} - _NOT_YET_HELD
    # those the builder's own logic reads
    | {f"person.{n}" for n in (*PERSON_FLAGS, "disabled")}
    | {"parent.kind", "address.uprn", "school.urn", "offer.urn", "related.la_child_id"}
    | {f"sen.{n}" for n in ("provision", "primary_need", "secondary_need", "since", "need", "rank")}
    | {"case.kind", "case.worker_id", "case.worker_name", "note.ref", "family.ref"}
    | {
        f"attendance.{n}"
        for n in ("academic_year", "term", "possible", "authorised", "unauthorised")
    }
    | {"area.lsoa", "area.imd_decile", "area.local_authority"}
    | {"staff.id", "staff.team_id", "staff.service"}
)
_NO_FIELDS = dict.fromkeys(PERSON_FIELDS)  # a person row's fields before any is counted
_FLAGS = tuple((flag, f"person.{flag}") for flag in PERSON_FLAGS)  # (property, record field)


@dataclass
class GraphRows:
    """Everything one load writes, as rows for batched MERGE statements."""

    people: list[dict] = field(default_factory=list)
    source_records: list[dict] = field(default_factory=list)
    services: list[dict] = field(default_factory=list)
    addresses: list[dict] = field(default_factory=list)  # the gazetteer's
    other_addresses: list[dict] = field(default_factory=list)  # the records' others
    areas: dict[str, dict] = field(default_factory=dict)
    schools: list[dict] = field(default_factory=list)
    staff: list[dict] = field(default_factory=list)
    teams: list[dict] = field(default_factory=list)
    in_team: list[dict] = field(default_factory=list)
    part_of: list[dict] = field(default_factory=list)
    lives_at: list[dict] = field(default_factory=list)
    parent_of: list[dict] = field(default_factory=list)
    families: list[dict] = field(default_factory=list)
    member_of: list[dict] = field(default_factory=list)
    attends: list[dict] = field(default_factory=list)
    attendance: list[dict] = field(default_factory=list)
    exclusions: list[dict] = field(default_factory=list)
    offers: list[dict] = field(default_factory=list)
    cases: list[dict] = field(default_factory=list)
    works_on: list[dict] = field(default_factory=list)
    needs: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    address_notes: list[dict] = field(default_factory=list)
    review_pairs: list[dict] = field(default_factory=list)  # loaders.review.candidate_rows
    review_links: list[dict] = field(default_factory=list)  # a pair's two people
    returns: ReturnRows = field(default_factory=ReturnRows)  # loaders.build_returns
    unresolved: list[tuple[Record, str]] = field(default_factory=list)


def person_uid(record_uids: list[str]) -> str:
    return "P-" + hashlib.sha1(min(record_uids).encode()).hexdigest()[:12]


class Builder:
    """Turns records (already validated and linked) into graph rows."""

    def __init__(
        self,
        as_of: dt.date,
        packs: Packs | None = None,
        attached: set[str] | None = None,
        return_sources: set[str] | None = None,
    ) -> None:
        """``packs``, ``attached``: the load's keyed records (loaders.attach), attached
        to their people once linkage has run; ``return_sources``: the sources whose
        fields the returns' facts read (loaders.build_returns)."""
        self.as_of = as_of
        self.packs = packs or Packs()
        self.attached = attached or set()
        self.return_sources = return_sources or set()
        self.attachments: Attachments | None = None
        self.returns = ReturnFacts()
        self.person_of: dict[str, str] = {}  # identity record uid -> person uid (linked())
        self.probability: dict[str, float] = {}
        self.rows = GraphRows()
        self.by_la_id: dict[str, str] = {}
        # person rows that describe a person an earlier person row of the load already
        # described, by source and file (the report's "merged"; counted in people())
        self.merged: Counter[tuple[str, str]] = Counter()
        self.gazetteer: dict[tuple[str, str], str] = {}
        self.postcode_areas: dict[str, Counter[str]] = defaultdict(Counter)  # -> LSOAs
        self.address_rows: dict[str, dict] = {}
        self.school_by_name: dict[str, str] = {}
        self.staff_by_name: dict[str, str] = {}
        self.staff_role: dict[str, str | None] = {}
        self.services_named: set[str] = set()  # by staff records
        self.home_la = ""
        self._dob_of: dict[str, object] | None = None  # person uid -> dob, once asked
        # relationship rows quarantined because they break a family rule, by rule
        self.refused_relationships: Counter[str] = Counter()
        # each row's claim to a case, with the case's row and allocation (cases())
        self._claims: list[tuple[Claim, dict, dict | None]] = []
        # case rows refused as another child's case (loaders.case_owner): record uid -> why
        self.refused_cases: dict[str, str] = {}
        # the case a person row gives, refused so (the row's person is loaded)
        self.dropped: list[Dropped] = []

    def linked(self, person_of: dict[str, str], probability: dict[str, float]) -> None:
        """Who each identity record is, from linkage (the reference data comes first)."""
        self.person_of = person_of
        self.probability = probability

    # -- reference data ------------------------------------------------------------

    def reference(self, records: list[Record]) -> None:
        area_la: Counter[str] = Counter()
        for r in records:
            v = r.values
            if r.entity == "area":
                self.rows.areas[v["area.lsoa"]] = {"imd_decile": v["area.imd_decile"]}
                if v.get("area.local_authority"):
                    area_la[v["area.local_authority"]] += 1
            elif r.entity == "school":
                urn = str(v["school.urn"])
                self.rows.schools.append({"uid": urn, "urn": urn, **SCHOOL(v)})
                self.school_by_name[_key(v["school.name"])] = urn
            elif r.entity == "staff":
                self._staff(v)
        self.home_la = area_la.most_common(1)[0][0] if area_la else ""
        names = dict(codes.SERVICE_NAMES)  # and any other a staff record names, by its uid
        names.update((s, s) for s in self.services_named if s not in names)
        self.rows.services = [{"uid": k, "name": v} for k, v in names.items()]
        self.rows.teams = fold(self.rows.teams, itemgetter("uid"))
        self.rows.in_team = fold(self.rows.in_team, itemgetter("professional", "team"))
        self.rows.part_of = fold(self.rows.part_of, itemgetter("team", "service"))
        for r in records:
            if r.entity == "address":
                self._address(r.values, reference=True)
        # the gazetteer's addresses, which a load writes before the facts are built
        # (later sightings never change these rows); finish() lists the others
        self.rows.addresses = list(self.address_rows.values())

    def _staff(self, v: dict) -> None:
        uid, service, team = v["staff.id"], v.get("staff.service"), v.get("staff.team_id")
        agency = codes.SERVICE_NAMES.get(service or "", service)
        self.rows.staff.append({"uid": uid, **STAFF(v), "agency": agency})
        self.staff_by_name.setdefault(_key(v["staff.name"]), uid)
        self.staff_role[str(uid)] = v.get("staff.role")
        if team:
            self.rows.teams.append({"uid": team, **TEAM(v)})
            self.rows.in_team.append({"professional": uid, "team": team})
            if service:
                self.services_named.add(service)
                self.rows.part_of.append({"team": team, "service": service})

    def _address(self, v: dict, *, reference: bool = False) -> str | None:
        """The address uid for a record's address fields (UPRN where known; known only to
        postcode level where a postcode is all there is)."""
        uprn = v.get("address.uprn")
        line1 = v.get("address.line1")
        postcode = v.get("address.postcode")
        if not uprn and line1 and postcode:
            uprn = self.gazetteer.get((_key(line1), postcode))
        if not uprn and not line1 and postcode:
            return self._postcode_address(postcode)
        if not uprn and not (line1 and postcode):
            return None
        uid = str(uprn) if uprn else f"A-{_key(line1)}-{postcode.replace(' ', '')}"
        if reference:
            self.gazetteer[(_key(line1 or ""), postcode or "")] = uid
            if postcode and v.get("address.lsoa"):
                self.postcode_areas[postcode][v["address.lsoa"]] += 1
        if uid not in self.address_rows or reference:
            read = {**ADDRESS(v), "uprn": str(uprn) if uprn else None}
            self.address_rows[uid] = self._address_row(uid, read, in_county=reference)
        return uid

    def _address_row(
        self, uid: str, read: dict, *, in_county: bool, postcode_only: bool = False
    ) -> dict:
        """An address's row: ``read`` from its records, the rest worked out (its postcode
        district, its area's deprivation, the council for the county's own)."""
        return {
            **_NO_ADDRESS,
            "uid": uid,
            **read,
            "postcode_district": postcode_district(read["postcode"]) or None,
            "imd_decile": self.rows.areas.get(read["lsoa"] or "", {}).get("imd_decile"),
            "in_county": in_county,
            "local_authority": self.home_la if in_county else None,
            "postcode_only": postcode_only,
        }

    def _postcode_address(self, postcode: str) -> str:
        """An address known only to its postcode: flagged so, and in the area most of the
        gazetteer's addresses at that postcode are in (none where it knows none)."""
        uid = f"PC-{postcode.replace(' ', '')}"
        if uid not in self.address_rows:
            areas = self.postcode_areas.get(postcode)
            lsoa = areas.most_common(1)[0][0] if areas else None
            read = {"postcode": postcode, "lsoa": lsoa}
            self.address_rows[uid] = self._address_row(
                uid, read, in_county=bool(areas), postcode_only=True
            )
        return uid

    # -- people ----------------------------------------------------------------------

    def people(self, identity_records: list[tuple[Record, str]]) -> None:
        """One Person row per cluster; ``identity_records`` pairs record and role.

        Two passes: the records, gathered by person (and each one's source record row),
        then each person's fields from their records. Gathering first lets a person
        with one record (most people) take their fields as they are, with no counting."""
        person_of, probability = self.person_of, self.probability
        by_la_id, source_records = self.by_la_id, self.rows.source_records
        records_of: dict[str, list[tuple[Record, str]]] = {}  # person uid -> in order
        for record, who in identity_records:
            rid = identity_uid(record, who)
            puid = person_of[rid]
            mine = records_of.get(puid)
            if mine is None:
                records_of[puid] = [(record, who)]
            else:
                mine.append((record, who))
            v = record.values
            la_id = v.get(ROLE_KEYS[who].key["la_child_id"])
            if la_id:
                by_la_id.setdefault(str(la_id), puid)
            row = source_record(record, who, rid)
            row["person"] = puid
            row["probability"] = probability.get(rid, 1.0)
            source_records.append(row)
        for puid, mine in records_of.items():
            self.rows.people.append(self._person_row(puid, mine))

    def _person_row(self, puid: str, mine: list[tuple[Record, str]]) -> dict[str, object]:
        """Each field's most common value among a person's records, the first seen on a
        tie (as ``Counter.most_common(1)``); names they went by; flags any record set.
        Counts each person row after the first as merged (:attr:`merged`)."""
        row: dict[str, object] = {"uid": puid, **_NO_FIELDS, "conflicts": None}
        if len(mine) == 1:
            record, who = mine[0]
            k, v = ROLE_KEYS[who], record.values
            # only the fields the record has (records keep no None)
            for key in k.wanted & v.keys():
                value = v[key]
                if value != "":
                    row[k.field_of[key]] = value
        else:
            # counts as plain dicts, not a Counter per field (its __init__ is Python)
            counts: dict[str, dict[object, int]] = {}
            for record, who in mine:
                k, v = ROLE_KEYS[who], record.values
                for key in k.wanted & v.keys():
                    value = v[key]
                    if value != "":
                        field = k.field_of[key]
                        seen = counts.get(field)
                        if seen is None:
                            counts[field] = {value: 1}
                        else:
                            seen[value] = seen.get(value, 0) + 1
            for name, counter in counts.items():
                row[name] = (
                    next(iter(counter))
                    if len(counter) == 1
                    else max(counter, key=counter.__getitem__)
                )
            row["conflicts"] = disagreements(counts)
        names: set[str] = set()
        flags: dict[str, bool] = {}
        sources: set[str] = set()
        described = False  # by a person row before this one
        for record, who in mine:
            v, k = record.values, ROLE_KEYS[who]
            sources.add(record.source)
            given, family = v.get(k.key["given_name"]), v.get(k.key["family_name"])
            if given or family:
                names.add(_joined(given, family))
            if who == "person":
                if described:
                    self.merged[(record.source, record.file)] += 1
                described = True
                for flag, key in _FLAGS:
                    value = v.get(key)
                    if value is not None:
                        flags[flag] = flags.get(flag, False) or bool(value)
        full = _joined(row["given_name"], row["family_name"])
        row["full_name"] = full
        row["other_names"] = " | ".join(sorted(names - {full})) or None
        for flag in PERSON_FLAGS:
            row[flag] = flags.get(flag)
        if row["eal"] is None:
            row["eal"] = eal_from_language(row["language"])
        dob = row["dob"]
        # no birth date: an adult named as liable or as a parent, not a child
        row["child"] = bool(dob is not None and _age(dob, self.as_of) < CHILD_AGE)
        for name in _PERSON_DATES:  # as ISO text
            value = row[name]
            row[name] = value.isoformat() if isinstance(value, dt.date) else None
        row["sources"] = ", ".join(sorted(sources))
        return row

    # -- cases -----------------------------------------------------------------------

    def cases(self, records: Iterable[Record]) -> None:
        """Cases and their allocations, before any other fact, and what people's rows
        derive from them (:func:`open_services`, :func:`current_workers`).

        A load writes people while the other facts are built; with their cases known
        first, a person new to the graph is created with their derived facts instead of
        having them set afterwards (on FalkorDB each ``SET`` on a person costs as much as
        creating it did and leaves it slower to read). The load's own derivation in
        Cypher still runs over everyone: it is the definition, and finds these already
        right."""
        records = records if isinstance(records, list) else list(records)
        self.attachments = Attachments(self.packs, self.person_of)
        self.attachments.resolve(records, self.attached)
        returns, person = self.return_sources, self.attachments.person
        for record in records:
            v = record.values
            if record.source in returns and record.entity == "person":
                puid = person(record)
                if puid is not None:
                    self.returns.add(v, puid, record.source)
            # most records hold no case: passed over before looking their person up
            # (this pass at county scale: 5.5 -> 2.7 s, time the writer waits for)
            if not (v.get("case.kind") or v.get("sen.provision") == "SEN support"):
                continue
            if record.entity == "person":
                puid = person(record)
                if puid is not None:  # facts() reports it unresolved
                    self._cases_of(record, puid)
            elif record.entity == "case":
                puid = self.by_la_id.get(str(v.get("person.la_child_id")))
                if puid is not None:  # facts() reports it unresolved
                    self._cases_of(record, puid)
        rows = self.rows
        self._owned()
        self._returns()
        rows.cases = fold(rows.cases, itemgetter("uid"))
        rows.works_on = fold(rows.works_on, itemgetter("professional", "case"))
        workers = current_workers(rows.works_on)
        for case in rows.cases:
            case["workers"] = workers.get(case["uid"], 0)
        derived = open_services(rows.cases)
        for person in rows.people:
            found = derived.get(person["uid"])
            if found is not None:
                services, kinds = found
                person["open_services"] = services
                person["open_case_kinds"] = kinds
                person["open_service_count"] = len(services)

    def _owned(self) -> None:
        """The claimed cases and allocations, in the rows' order, but for the rows of a
        case another child keeps (:func:`loaders.case_owner.refusals`): a case row is
        quarantined by :meth:`facts`; a person row keeps its person, and its case is a
        value dropped."""
        refused = refusals(claim for claim, _, _ in self._claims)
        for claim, case, allocation in self._claims:
            why = refused.get(id(claim))
            if why is None:
                self.rows.cases.append(case)
                if allocation is not None:
                    self.rows.works_on.append(allocation)
                continue
            record = claim.record
            if record.entity == "case":
                self.refused_cases[record.uid] = why
            else:
                ref = masked(FIELDS["case.ref"], record.values.get("case.ref"))
                reason = f"{why}; its case and allocation are not loaded, its person is"
                self.dropped.append(
                    Dropped(
                        record.source, record.file, record.row, "case.ref", "case.ref", ref, reason
                    )
                )
        self._claims = []

    def _returns(self) -> None:
        """The returns' facts, with what the rest of the load needs from them: their
        cases and allocations, and the home each period of care began from."""
        rows = self.rows
        found = rows.returns = self.returns.finish()
        latest: dict[str, str] = {}  # period uid -> its latest placement's postcode
        first: dict[str, dict] = {}  # period uid -> its first episode
        for e in found.episodes:
            first.setdefault(e["period_of_care"], e)
            if e.get("placement_postcode"):
                latest[e["period_of_care"]] = e["placement_postcode"]
        county = {a["postcode_district"] for a in self.address_rows.values() if a["in_county"]}
        for case in found.cases:
            postcode = latest.get(case["uid"].replace(":CLA:", ":care:"))
            # placed outside the county: its postcode district is none of the gazetteer's
            case["placement_out_of_area"] = bool(
                postcode and county and postcode_district(postcode) not in county
            )
            rows.cases.append(case)
        rows.works_on += [
            {
                "professional": a["worker"],
                "role": self.staff_role.get(a["worker"]),
                "case": a["case"],
                "from": a["from"],
                "to": a["to"],
            }
            for a in found.allocations
            if a.get("case")
        ]
        for e in first.values():
            if e.get("home_postcode"):
                address = self._postcode_address(e["home_postcode"])
                self.rows.lives_at.append(_lived(e["person"], address, end=iso(e["start"])))

    def _cases_of(self, record: Record, puid: str) -> None:
        v = record.values
        kind = v.get("case.kind")
        if v.get("sen.provision") == "SEN support" and not kind:
            self._case(
                record, puid, {**v, "case.kind": "SEN support", "case.ref": f"{puid}:SEN support"}
            )
        # a family episode (rows per member) is a case for each child in it
        if kind and (not v.get("family.ref") or v.get("person.role") in (None, "child")):
            self._case(record, puid, v)

    # -- facts -----------------------------------------------------------------------

    def facts(self, record: Record) -> None:
        """Every fact but cases and allocations (:meth:`cases`)."""
        v = record.values
        if record.entity in ("case", "relationship", "note"):
            refused = self.refused_cases.get(record.uid)
            if refused is not None:  # another child's case (loaders.case_owner)
                self.rows.unresolved.append((record, refused))
                return
            puid = self.by_la_id.get(str(v.get("person.la_child_id")))
            if puid is None:
                self.rows.unresolved.append(
                    (record, f"person id {v.get('person.la_child_id')} is in no person extract")
                )
                return
        elif record.entity == "person":
            found = self.attachments.person(record) if self.attachments else None
            puid = found or self.person_of.get(record.uid)
            if puid is None:
                why = self.attachments.unresolved.get(record.uid) if self.attachments else None
                self.rows.unresolved.append((record, why or "no person to attach it to"))
                return
        elif record.entity == "address_note":
            address = self._address(v)
            if address is None:
                self.rows.unresolved.append((record, "no address to attach the note to"))
                return
            uid = f"{record.source}:{v.get('note.ref') or record.uid}"
            note = {**NOTE(v), "kind": "safety", "case": None}
            self.rows.address_notes.append({"uid": uid, "address": address, **note})
            return
        else:
            return
        if record.entity == "relationship":
            other = self.by_la_id.get(str(v["related.la_child_id"]))
            if other is None:
                self.rows.unresolved.append(
                    (record, f"related person id {v['related.la_child_id']} is in no extract")
                )
                return
            problem = self._impossible_parent(other, puid)
            if problem:
                self.rows.unresolved.append((record, problem))
                self.refused_relationships["parent_age"] += 1
                return
            self._parent(other, puid, PARENT(v))
            return
        if record.entity == "note":
            uid = f"{record.source}:{v.get('note.ref') or record.uid}"
            self.rows.notes.append({"uid": uid, "person": puid, **NOTE(v), "kind": "case"})
            return
        self._person_facts(record, puid)

    def _person_facts(self, record: Record, puid: str) -> None:
        v = record.values
        address = self._address(v)
        if address:
            self.rows.lives_at.append({"person": puid, "address": address, **HOME(v)})
        parent_rid = identity_uid(record, "parent")
        if parent_rid in self.person_of:
            parent = self.person_of[parent_rid]
            self._parent(parent, puid, {**_UNDATED, "kind": v.get("parent.kind") or "parent"})
            if address:
                self.rows.lives_at.append(_lived(parent, address))
        urn = self._school(v)
        if urn and (v.get("enrolment.from") or v.get("enrolment.year_group")):
            self.rows.attends.append({"person": puid, "school": urn, **ROLL(v)})
        if urn and v.get("attendance.term") and v.get("attendance.academic_year"):
            year = str(v["attendance.academic_year"])
            term = str(v["attendance.term"])
            start = _term_start(year, term)
            possible, authorised, unauthorised = (
                int(v.get(f"attendance.{n}") or 0)
                for n in ("possible", "authorised", "unauthorised")
            )
            sessions = {"possible": possible, "absent": authorised + unauthorised}
            term_of = {"term": f"{year} {term}", "term_start": start}
            self.rows.attendance.append(
                {"person": puid, "school": urn, **term_of, **sessions, "unauthorised": unauthorised}
            )
            seen = {"from": start, "to": None, "year_group": None, "observed": True}
            self.rows.attends.append({"person": puid, "school": urn, **seen})
        if urn and v.get("exclusion.date"):
            self.rows.exclusions.append({"person": puid, "school": urn, **EXCLUSION(v)})
        if v.get("offer.urn"):
            start = next_september(v.get("offer.date") or self.as_of)
            school = str(v["offer.urn"])
            self.rows.offers.append(
                {"person": puid, "school": school, **OFFER(v), "start": start.isoformat()}
            )
        if v.get("family.ref"):
            fuid = f"{record.source}:{v['family.ref']}"
            self.rows.families.append(
                {"uid": fuid, "name": str(v["family.ref"]), "source": record.source}
            )
            self.rows.member_of.append({"person": puid, "family": fuid, **MEMBER(v)})
        since = iso(v.get("sen.since") or v.get("case.start"))
        # SEN2 gives a row per need, ranked; other records their primary and secondary
        needs = ((v.get("sen.rank") or 1, v.get("sen.need")), (1, v.get("sen.primary_need")))
        for rank, code in (*needs, (2, v.get("sen.secondary_need"))):
            if code:
                name = codes.NEED_NAMES.get(code, code)
                need = {"uid": code, "rank": rank, "name": name, "from": since}
                self.rows.needs.append({"person": puid, **need})

    def _school(self, v: dict) -> str | None:
        if v.get("school.urn"):
            return str(v["school.urn"])
        if v.get("school.name"):
            return self.school_by_name.get(_key(v["school.name"]))
        return None

    def _case(self, record: Record, puid: str, v: dict) -> None:
        kind = str(v["case.kind"])
        ref = v.get("case.ref")
        if v.get("family.ref"):
            ref = f"{v['family.ref']}:{v.get('case.start')}:{puid}"
        uid = f"{record.source}:{ref}" if ref else f"{record.source}:{record.uid}"
        if not ref and record.source in self.packs.pack_of:
            # a return's case has no reference: the child's, its kind and start, so the
            # same plan from two returns (Annex A, SEN2) is one case
            uid = f"{puid}:{kind}:{iso(v.get('case.start'))}"
        placement_la = v.get("case.placement_la")
        out = bool(placement_la and self.home_la and placement_la != self.home_la)
        service = codes.SERVICE_OF_KIND.get(kind, "other")
        case = case_row(uid, puid, kind, service, CASE(v), out)
        worker = v.get("case.worker_id") or self.staff_by_name.get(
            _key(str(v.get("case.worker_name") or ""))
        )
        allocation = None
        if worker:
            role = self.staff_role.get(str(worker))
            allocation = {"professional": str(worker), "case": uid, **ALLOCATION(v), "role": role}
        claim = Claim(uid, puid, iso(v.get("case.start")), record)
        self._claims.append((claim, case, allocation))

    def _impossible_parent(self, parent: str, child: str) -> str:
        """Why a relationship row cannot be loaded as it stands (graph.family_rules), or ''."""
        if self._dob_of is None:
            self._dob_of = {p["uid"]: p.get("dob") for p in self.rows.people}
        born = {uid: self._dob_of.get(uid) for uid in (parent, child)}
        dates = {u: dt.date.fromisoformat(d) if isinstance(d, str) else d for u, d in born.items()}
        if too_young_to_parent(dates[parent], dates[child]):
            return (
                f"names as parent someone born {born[parent]}, under {PARENT_MIN_AGE} years "
                f"before the child (born {born[child]})"
            )
        return ""

    def _parent(self, parent: str, child: str, link: dict) -> None:
        """A parent's row, ``link`` its properties (as :data:`PARENT` reads them)."""
        if parent != child:
            self.rows.parent_of.append({"parent": parent, "child": child, **link})

    # -- finishing -------------------------------------------------------------------

    def finish(self) -> GraphRows:
        rows = self.rows
        written = {a["uid"] for a in rows.addresses}
        rows.other_addresses = [a for a in self.address_rows.values() if a["uid"] not in written]
        rows.lives_at = _residences(rows.lives_at)
        rows.parent_of = _dedupe_parents(rows.parent_of)
        rows.attends = _enrolments(rows.attends)
        rows.families = fold(rows.families, itemgetter("uid"))
        rows.member_of = _spans(rows.member_of, ("person", "family"))
        rows.needs = fold(sorted(rows.needs, key=lambda n: -n["rank"]), itemgetter("person", "uid"))
        return rows


DISAGREEING = {
    "dob": "date of birth",
    "sex": "sex",
    "upn": "UPN",
    "nhs_number": "NHS number",
    "uln": "ULN",
}
SHOWN_VALUES = {"dob", "sex"}  # identifiers' values are the record's, shown by role only


def disagreements(counts: dict[str, dict[object, int]]) -> str | None:
    """The fields a person's sources disagree on, in words ("date of birth 2014-03-02
    (3 records) or 2014-02-03 (1)"); None when they agree."""
    found = []
    for name, words in DISAGREEING.items():
        counter = counts.get(name)
        if not counter or len(counter) < 2:
            continue
        if name in SHOWN_VALUES:
            ranked = sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))
            values = " or ".join(
                f"{_text(v)} ({n} record{'s' if n > 1 else ''})" for v, n in ranked
            )
            found.append(f"{words} {values}")
        else:
            found.append(f"{words} ({len(counter)} different values)")
    return "; ".join(found) or None


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def open_services(cases: Iterable[dict]) -> dict[str, tuple[list[str], list[str]]]:
    """Person uid -> (services, case kinds) of their open cases, each sorted, for
    everyone with a case (open or not), as ``loaders.derive.OPEN_SERVICES`` works
    them out from the graph; ``cases``: one row per case uid."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    for case in cases:
        services, kinds = found.setdefault(case["person"], (set(), set()))
        if case["status"] == "open":
            services.add(case["service"])
            kinds.add(case["kind"])
    return {p: (sorted(s), sorted(k)) for p, (s, k) in found.items()}


def current_workers(works_on: Iterable[dict]) -> Counter[str]:
    """Case uid -> allocations not ended (``DERIVE_CASE_WORKERS``), from one row per
    worker and case."""
    return Counter(w["case"] for w in works_on if not w["to"])


def _residences(observations: list[dict]) -> list[dict]:
    """A residence history per person from dated observations.

    Dated moves (a case system's address start, a council tax liability) build the
    history; an undated sighting adds an address only for someone with no dated
    history, because an undated address in one extract is often a stale one.
    """
    by_person: dict[str, list[dict]] = defaultdict(list)
    for o in observations:
        by_person[o["person"]].append(o)
    out: list[dict] = []
    for person, obs in by_person.items():
        if len(obs) == 1:  # most people: their one observation, dated or not
            o = obs[0]
            start, end = (o["from"], o["to"]) if o["from"] else (None, None)
            out.append(_lived(person, o["address"], start, end))
            continue
        dated = sorted((o for o in obs if o["from"]), key=lambda o: (o["from"], o["address"]))
        if dated:
            history: list[dict] = []
            for o in dated:
                if history and history[-1]["address"] == o["address"]:
                    if o["to"] and (not history[-1]["to"] or o["to"] > history[-1]["to"]):
                        history[-1]["to"] = o["to"]
                    continue
                if history and (not history[-1]["to"] or history[-1]["to"] > o["from"]):
                    history[-1]["to"] = o["from"]
                history.append(_lived(person, o["address"], o["from"], o["to"]))
            out += history
        else:
            counts = Counter(o["address"] for o in obs)
            address = counts.most_common(1)[0][0]
            out.append(_lived(person, address))
    return out


def _lived(person: str, address: str, start: str | None = None, end: str | None = None) -> dict:
    """A residence's row (``LIVES_AT``); undated, a sighting."""
    return {"person": person, "address": address, "from": start, "to": end}


def _spans(rows: list[dict], key: tuple[str, ...]) -> list[dict]:
    """One relationship per key: earliest start, latest end (open if any is open)."""
    merged: dict[tuple, dict] = {}
    for row in rows:
        k = tuple(row[x] for x in key)
        current = merged.get(k)
        if current is None:
            merged[k] = dict(row)
            continue
        starts = [d for d in (current["from"], row["from"]) if d]
        current["from"] = min(starts) if starts else None
        current["to"] = None if not (current["to"] and row["to"]) else max(current["to"], row["to"])
        current["role"] = current.get("role") or row.get("role")
    return list(merged.values())


def _dedupe_parents(links: list[dict]) -> list[dict]:
    best: dict[tuple[str, str], dict] = {}
    for link in links:
        key = (link["parent"], link["child"])
        current = best.get(key)
        rank = codes.PARENT_KIND_RANK
        if current is None or rank.get(link["kind"], 5) < rank.get(current["kind"], 5):
            best[key] = {**link, "from": link["from"] or (current or {}).get("from")}
    return list(best.values())


def _enrolments(attends: list[dict]) -> list[dict]:
    """Census rolls are authoritative; attendance returns fill in schools left."""
    rolls: dict[tuple[str, str], dict] = {}
    seen: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a in attends:
        key = (a["person"], a["school"])
        if a.get("observed"):
            seen[key].append(a["from"])
        else:
            rolls[key] = {k: a[k] for k in ("person", "school", "from", "to", "year_group")}
    current = {p for p, _ in rolls}
    for (person, school), starts in seen.items():
        if (person, school) in rolls:
            continue
        row = {
            "person": person,
            "school": school,
            "from": min(starts),
            "to": None,
            "year_group": None,
        }
        if person in current:  # on another school's roll now: this one has ended
            last = dt.date.fromisoformat(max(starts))
            row["to"] = (last + dt.timedelta(days=100)).isoformat()
        rolls[(person, school)] = row
    return list(rolls.values())


@lru_cache(maxsize=4096)
def _term_start(year: str, term: str) -> str:
    """A term's start as ISO text, worked out once (an attendance row a pupil a term)."""
    return term_start(int(year[:4]), term).isoformat()


def identity_uid(record: Record, who: str) -> str:
    """The uid of a record's identity in a role (a row names a child and a parent)."""
    return record.uid if who == "person" else f"{record.uid}#{who}"


def identity_role(uid: str) -> str:
    """The role an :func:`identity_uid` is in."""
    return next((who for who in _OTHER_ROLES if uid.endswith(f"#{who}")), "person")


def source_record(record: Record, who: str, uid: str) -> dict:
    """What the graph keeps of where one identity was read (its SourceRecord node),
    without the person linkage found it to describe; ``uid`` is its ``identity_uid``,
    which both callers have worked out already (2.4 million records at county scale)."""
    return {
        "uid": uid,
        "source": record.source,
        "source_key": _source_key(record.values, who),
        "row": record.row,
        "file": record.file,
    }


_KEY_FIELDS = {
    who: tuple((name, f"{who}.{name}") for name in ("upn", "nhs_number", "la_child_id", "uln"))
    for who in ("person", "parent")
}


def _source_key(v: dict, who: str) -> str | None:
    for name, key in _KEY_FIELDS[who]:
        value = v.get(key)
        if value:
            return f"{name}:{value}"
    if who == "person" and v.get("case.ref"):
        return f"ref:{v['case.ref']}"
    return None


def _joined(given: object, family: object) -> str:
    """A full name from its parts, either of which may be missing."""
    return f"{given} {family}" if given and family else f"{given or family or ''}"


def _age(dob: dt.date, on: dt.date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def _key(text: str) -> str:
    return " ".join(str(text).lower().replace(",", " ").split())


def eal_from_language(language: object) -> bool | None:
    """English as an additional language, from a first-language code when no system says
    so directly (the school census records the language, not the flag): unknown stays
    unknown rather than counting as English."""
    if language is None:
        return None
    code = str(language).strip().upper()
    if code in codes.UNKNOWN_LANGUAGE:
        return None
    return code not in codes.ENGLISH
