"""The builder's rows carry, for each property the schema declares, the value the record
it was read from holds: compared with the records themselves, type by type, on a small
county's extracts (the builder reads a property from the field of its name unless it
works it out: loaders.build.Reads)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from graph import schema
from loaders import load as load_module
from loaders import write
from loaders.load import run_load
from tests.conftest import AS_OF, embedded_store


class _Built(Exception):
    """Stops the load once the builder's rows are captured."""


@pytest.fixture(scope="module")
def built(small_county: Path, engine_dir: Path) -> tuple[list[Any], Any]:
    """The small county's records and the rows the builder made of them."""
    found: dict[str, Any] = {}
    stages = list(load_module.STAGES)
    at = [name for name, _ in stages].index("build")
    real = stages[at][1]

    def capture(load: Any) -> None:
        found["records"] = list(load.records)
        real(load)
        found["rows"] = load.rows
        raise _Built

    stages[at] = ("build", capture)
    store = embedded_store(engine_dir, "build_rows")
    store.drop_all()
    store.ensure_schema()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(load_module, "STAGES", tuple(stages))
        with pytest.raises(_Built):
            run_load(store, small_county, as_of=AS_OF)
    store.drop_all()
    store.close()
    return found["records"], found["rows"]


def _value(value: object, prop: schema.Prop) -> object:
    """A record's value as the graph's rows carry it: dates as ISO text, empty as none."""
    if prop.type == schema.DATE and isinstance(value, dt.date):
        return value.isoformat()
    return None if value == "" else value


def _expected(v: dict, prefix: str, props: tuple[schema.Prop, ...], **fields: str) -> dict:
    return {p.name: _value(v.get(fields.get(p.name, f"{prefix}.{p.name}")), p) for p in props}


def _declared(name: str, *worked_out: str) -> tuple[schema.Prop, ...]:
    owner = schema.rel_type(name) if name.isupper() else schema.node_type(name)
    return tuple(
        p for p in owner.props if p.from_row and not p.derived and p.name not in worked_out
    )


def _of(rows: list[dict], props: tuple[schema.Prop, ...]) -> dict:
    return {p.name: rows[p.name] for p in props}


def test_every_row_has_each_property_its_step_writes(built):
    _, rows = built
    for step in write.PLAN:
        for row in step.of(rows):
            step.check(row)


def test_reference_rows_hold_their_records_values(built):
    records, rows = built
    schools = {r["uid"]: r for r in rows.schools}
    staff = {r["uid"]: r for r in rows.staff}
    addresses = {r["uid"]: r for r in rows.addresses}
    teams = {r["uid"]: r for r in rows.teams}
    school_props, staff_props = _declared("School", "urn"), _declared("Professional", "agency")
    worked_out = "uprn postcode_district imd_decile local_authority in_county postcode_only"
    address_props = _declared("Address", *worked_out.split())
    seen: Counter[str] = Counter()
    for r in records:
        v = r.values
        if r.entity == "school":
            row = schools[str(v["school.urn"])]
            assert _of(row, school_props) == _expected(v, "school", school_props)
        elif r.entity == "staff":
            assert _of(staff[v["staff.id"]], staff_props) == _expected(v, "staff", staff_props)
            if v.get("staff.team_id"):
                assert teams[v["staff.team_id"]]["name"] == v.get("staff.team")
        elif r.entity == "address" and v.get("address.uprn"):
            row = addresses[str(v["address.uprn"])]
            assert _of(row, address_props) == _expected(v, "address", address_props)
            assert row["uprn"] == str(v["address.uprn"]) and row["in_county"] is True
        else:
            continue
        seen[r.entity] += 1
    assert min(seen[e] for e in ("school", "staff", "address")) > 5, seen


def test_facts_hold_their_records_values(built):
    """Exclusions, offers and notes, each counted by the values its records hold."""
    records, rows = built
    exclusion, offer = _declared("EXCLUDED"), _declared("OFFERED", "start")
    note = _declared("Note", "kind", "case")
    expected: dict[str, Counter] = {"exclusions": Counter(), "offers": Counter()}
    notes = {}
    for r in records:
        v = r.values
        if r.entity == "person" and v.get("exclusion.date") and v.get("school.urn"):
            found = _expected(v, "exclusion", exclusion)
            expected["exclusions"][(str(v["school.urn"]), *found.values())] += 1
        if r.entity == "person" and v.get("offer.urn"):
            found = _expected(v, "offer", offer)
            expected["offers"][(str(v["offer.urn"]), *found.values())] += 1
        if r.entity in ("note", "address_note"):
            notes[f"{r.source}:{v.get('note.ref') or r.uid}"] = (r.entity, v)
    for name, props in (("exclusions", exclusion), ("offers", offer)):
        got = Counter((row["school"], *_of(row, props).values()) for row in getattr(rows, name))
        assert got == expected[name] and sum(got.values()) > 5, name
    written = [*rows.notes, *rows.address_notes]
    assert len(written) == len(notes) > 5
    for row in written:
        entity, v = notes[row["uid"]]
        assert _of(row, note) == _expected(v, "note", note)
        assert row["case"] == (v.get("case.ref") if entity == "note" else None)


def test_a_property_read_from_a_field_no_record_has_is_refused():
    """A declaration reading a field no mapping can fill would leave the property None on
    every row: refused when the builder is made, naming the field."""
    from loaders.build import Reads

    assert Reads.of("School", "school", own="urn").keys  # the real declaration is taken
    with pytest.raises(ValueError, match=r"school\.title"):
        Reads.of("School", "school", own="urn", name="school.title")
