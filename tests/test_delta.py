"""Delta loads: what a directory holds that the graph has not taken in.

The synthetic county a week later (``synthetic.week_later``) is the ground truth: the
generator says which files it rewrote, counts the rows it added or changed and labels
every added row in the truth; the intake's comparison must find exactly those.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import pickle
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from graph import GraphStore, alerts, review_queue, risk_facts, version, views
from graph.alerts import watched
from graph.engines.falkordb import FalkorDBStore
from graph.planning import KEPT_COLUMNS
from loaders import identities
from loaders import load as load_module
from loaders.caseload_kept import KEPT_FILE as CASELOAD_FILE
from loaders.extracts import Dropped, Extract, FileOutcome, pack, read_extracts
from loaders.intake import (
    READINGS,
    ROWS,
    FileIntake,
    Intake,
    Reading,
    extract_key,
    mapped_extracts,
)
from loaders.kept import BESIDE
from loaders.load import (
    ALERT_FILES,
    CASELOAD_EVERYONE,
    COHORTS_EVERYONE,
    LOAD_LOCK,
    NEEDS_EVERYONE,
    NOT_TOUCHED,
    RISK_EVERYONE,
    LoadResult,
    run_load,
)
from loaders.mapping import load_mappings
from loaders.needs_kept import KEPT_FILE as NEEDS_FILE
from loaders.people_kept import Known, people_file
from loaders.progress import Silent
from loaders.quality import pairwise_quality
from loaders.readers import ReadLimits
from loaders.reading import read_all
from loaders.report import LoadReport
from loaders.risk_kept import KEPT_FILE as RISK_FILE
from loaders.risk_kept import RiskKept
from loaders.transition_cohorts import KEPT_FILE as COHORTS_FILE
from loaders.unchanged import MEMORY_FILE, Unchanged
from loaders.validate import Quarantined, Record
from planning.alerts import Baseline
from queries.runner import run_saved
from synthetic.week_later import DATE_FORMATS, Table, write_week_later
from tests.conftest import AS_OF, LoadedCounty, embedded_store
from tests.fingerprint import fingerprint
from tests.truth import source_row_labels

WEEK_LATER = AS_OF + dt.timedelta(days=7)


@pytest.fixture(scope="module")
def week_later(
    small_county: Path, loaded_county: LoadedCounty, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The county a week later, and three changes more under pupils with risk of NEET
    factors (:func:`_changes_under_pupils`)."""
    out = tmp_path_factory.mktemp("week_later") / "county"
    write_week_later(small_county, out, seed=3)
    _changes_under_pupils(loaded_county.store, small_county, out)
    return out


@dataclass(frozen=True)
class UnderPupils:
    """What :func:`_changes_under_pupils` changed: a school renamed (urn, new name), a
    home's postcode (its uprn, the new postcode district), a pupil made six years
    younger, out of every cohort the list keeps, and a worker moved to another team."""

    school: tuple[str, str]
    home: tuple[str, str]
    younger: str
    residents: tuple[str, ...]  # the pupils with kept answers living at the home
    worker: tuple[str, str] = ("", "")  # a worker with open cases, and their new team


def _changes_under_pupils(store: GraphStore, county: Path, week: Path) -> UnderPupils:
    """Change, in the week's extracts, a school's name and a home's postcode, each
    under pupils with kept risk of NEET answers, and one such pupil's birth date in
    every row that describes them; counted among the week's changed rows
    (``week_later.json``), as the generator counts its own. Kept as ``under.json``
    beside the extracts."""
    spans = store.read(
        "MATCH (y:RiskYear) RETURN y.person AS person, y.school_urns AS urns ORDER BY y.uid"
    ).rows
    urn = next(u for r in spans for u in r["urns"] if u)
    # a home of a pupil with a primary need first (the needs forecast counts them by area)
    home = store.read(
        "MATCH (y:RiskYear) MATCH (c:Person {uid: y.person})-[l:LIVES_AT]->(a:Address) "
        "WHERE l.to IS NULL AND a.uprn IS NOT NULL "
        "OPTIONAL MATCH (c)-[n:HAS_NEED]->(:Need) WHERE n.rank = 1 "
        "WITH y, a, c, count(n) AS needs "
        "WITH y, a, needs > 0 AND any(k IN coalesce(c.open_case_kinds, []) "
        "WHERE k IN ['EHCP', 'SEN support']) AS need "
        "RETURN a.uprn AS uprn, a.postcode_district AS district "
        "ORDER BY need DESC, y.uid LIMIT 1"
    ).rows[0]
    residents = store.read(
        "MATCH (y:RiskYear) MATCH (c:Person {uid: y.person})-[l:LIVES_AT]->(:Address {uid: $a}) "
        "WHERE l.to IS NULL RETURN DISTINCT c.uid AS uid ORDER BY uid",
        {"a": str(home["uprn"])},
    ).rows
    # a pupil elsewhere whose every row is in a CSV file (others are spreadsheets, ...)
    kids = {r["uid"] for r in residents}
    others = (r["person"] for r in spans if urn not in r["urns"] and r["person"] not in kids)
    for pupil in dict.fromkeys(others):
        rows = store.read(
            "MATCH (s:SourceRecord)-[:DESCRIBES]->(:Person {uid: $u}) "
            "RETURN s.file AS f, s.row AS r",
            {"u": pupil},
        ).rows
        if rows and all(_csv(week / r["f"]) for r in rows):
            break
    dob = store.read("MATCH (c:Person {uid: $u}) RETURN c.dob AS d", {"u": pupil}).scalar()
    younger = dob.replace(year=dob.year + 6, day=min(dob.day, 28))
    changed = 0
    name = ""

    def school(row: list[str], t: Table) -> None:
        nonlocal name
        if row[t.col("URN")] == urn:
            name = row[t.col("EstablishmentName")] = row[t.col("EstablishmentName")] + " Academy"

    postcodes = [r[3] for r in Table.read(week / "reference" / "gazetteer.csv").rows]
    other = next(pc for pc in postcodes if pc.split()[0] != home["district"])

    def gazetteer(row: list[str], t: Table) -> None:
        if row[t.col("UPRN")] == str(home["uprn"]):
            row[t.col("POSTCODE")] = other

    edits: dict[str, list] = {"reference/schools.csv": [school]}
    edits["reference/gazetteer.csv"] = [gazetteer]
    # a worker holding open cases moved to another team (the caseload map counts by team)
    worker = store.read(
        "MATCH (p:Professional)-[w:WORKS_ON]->(:Case)-[:WITH_SERVICE]->(:Service) "
        "WHERE w.to IS NULL MATCH (p)-[:IN_TEAM]->(t:Team) "
        "RETURN p.uid AS uid, t.uid AS team ORDER BY uid LIMIT 1"
    ).rows[0]
    staff = Table.read(week / "reference" / "staff.csv")
    team_id, team_name = staff.col("Team ID"), staff.col("Team")
    team = next((r[team_id], r[team_name]) for r in staff.rows if r[team_id] != worker["team"])

    def moved_worker(row: list[str], t: Table) -> None:
        if row[t.col("Staff ID")] == worker["uid"]:
            row[team_id], row[team_name] = team

    edits["reference/staff.csv"] = [moved_worker]
    for r in rows:
        edits.setdefault(r["f"], []).append(r["r"])
    for relname, what in edits.items():
        table = Table.read(week / relname)
        first = Table.read(county / relname) if (county / relname).is_file() else None
        for i, row in enumerate(table.rows):
            before = list(row)
            for edit in what:
                if callable(edit):
                    edit(row, table)
                elif edit == i + 2:  # a file's rows from line 2
                    row[:] = [_dated(v, dob, younger) for v in row]
            same = first is not None and i < len(first.rows) and first.rows[i] == before
            changed += row != before and same
        table.write()
    summary_path = week / "week_later.json"
    summary = json.loads(summary_path.read_text())
    summary["rows_changed"] += changed
    summary_path.write_text(json.dumps(summary))
    moved = (str(home["uprn"]), other.split()[0])
    under = UnderPupils((urn, name), moved, pupil, tuple(sorted(kids)), (worker["uid"], team[0]))
    (week.parent / "under.json").write_text(json.dumps(asdict(under)))
    return under


def _csv(path: Path) -> bool:
    """Whether ``path`` is a CSV file the generator's tables read."""
    if path.suffix != ".csv":
        return False
    try:
        Table.read(path)
    except UnicodeDecodeError:
        return False
    return True


def _dated(value: str, old: dt.date, new: dt.date) -> str:
    """``value`` with ``new`` in place of ``old`` where it is that date in a format
    the synthetic extracts write."""
    for fmt in DATE_FORMATS:
        try:
            if dt.datetime.strptime(value, fmt).date() == old:
                return new.strftime(fmt)
        except ValueError:
            continue
    return value


def _under(week_later: Path) -> UnderPupils:
    body = json.loads((week_later.parent / "under.json").read_text())
    school, home = tuple(body["school"]), tuple(body["home"])
    worker = tuple(body["worker"])
    return UnderPupils(school, home, body["younger"], tuple(body["residents"]), worker)


def _extracts(root: Path) -> list[Extract]:
    return mapped_extracts(root, load_mappings(None))


def _added_rows(root: Path) -> set[tuple[str, int]]:
    with (root / "truth" / "source_rows.csv").open(newline="", encoding="utf-8") as fh:
        return {(r["file"], int(r["row"])) for r in csv.DictReader(fh)}


def _read(loads: Path, day: dt.date, extracts: list[Extract], *, full: bool = False) -> Reading:
    """Read ``extracts`` through the intake in ``loads`` and record them, as a load does."""
    reading = Reading(loads, day, full=full)
    outcomes = list(reading.outcomes(extracts, workers=1))
    assert len(outcomes) == len(extracts)
    reading.save()
    return reading


def test_a_week_later_the_intake_finds_the_rows_the_week_changed(
    small_county: Path, week_later: Path, tmp_path: Path
) -> None:
    first = _read(tmp_path, AS_OF, _extracts(small_county))
    assert first.full and not first.plan.skipped
    intake = Intake.read(tmp_path)
    assert intake.files.keys() == first.after.files.keys() and len(intake.files) > 20
    for key, taken in first.after.files.items():  # each file's rows kept beside its reading
        assert intake.rows(key) == taken.rows and intake.files[key] == taken, key

    extracts = _extracts(week_later)
    reading = Reading(tmp_path, WEEK_LATER)
    outcomes = list(reading.outcomes(extracts, workers=1))
    week = reading.plan
    rewritten = {
        e.relname
        for e in extracts
        if not (small_county / e.relname).is_file()
        or (small_county / e.relname).read_bytes() != (week_later / e.relname).read_bytes()
    }
    read = {e.relname for e in week.read}
    assert rewritten and rewritten <= read
    # a file read again with its bytes unchanged is one whose reading depends on the day
    for e in week.read:
        if e.relname not in rewritten:
            assert intake.files[extract_key(e)].dated, e.relname
    assert {e.relname for e in week.skipped} == {e.relname for e in extracts} - read
    assert len(week.skipped) > len(week.read)
    # what was kept of the files not read is what reading them gives
    direct = list(read_extracts(extracts, WEEK_LATER, workers=1))
    assert [o.records for o in outcomes] == [o.records for o in direct]
    assert [o.quarantined for o in outcomes] == [o.quarantined for o in direct]

    summary = json.loads((week_later / "week_later.json").read_text())
    counts = reading.tally()
    assert sum(c.added + c.changed for c in counts.values()) == summary["rows_changed"]
    assert sum(c.removed for c in counts.values()) == 0  # the generator removes no row
    assert sum(c.files_skipped for c in counts.values()) == len(week.skipped)
    # the rows added are those the truth labels beyond the county's own
    changes = reading.changes
    added = {(e.relname, n) for e in week.read for n in changes[extract_key(e)].added}
    assert added == _added_rows(week_later) - _added_rows(small_county)
    # files read again unchanged change nothing
    for e in week.read:
        if e.relname not in rewritten:
            assert not changes[extract_key(e)].fresh, e.relname
    # once taken in, the week is skipped whole on the same day; --full reads it all
    reading.save()
    assert not _read(tmp_path, WEEK_LATER, extracts).plan.read
    again = _read(tmp_path, WEEK_LATER, extracts, full=True)
    assert len(again.plan.read) == len(extracts) and not again.plan.skipped
    assert not any(c.fresh or c.removed for c in again.changes.values())


def test_a_file_changed_in_place_has_rows_added_changed_and_removed(
    small_county: Path, tmp_path: Path
) -> None:
    """One file edited in place, cut short, then added to: compared row by row."""
    path = tmp_path / "social_care" / "episodes.csv"
    path.parent.mkdir()
    lines = (small_county / "social_care" / "episodes.csv").read_bytes().splitlines(True)
    path.write_bytes(b"".join(lines))
    extracts = [e for e in _extracts(tmp_path) if e.relname == "social_care/episodes.csv"]
    loads = tmp_path / "loads"
    _read(loads, AS_OF, extracts)
    last = len(lines)  # the header is line 1, so the rows are lines 2 to last
    edited = lines[2].rstrip(b"\r\n") + b"X" + lines[2][len(lines[2].rstrip(b"\r\n")) :]
    path.write_bytes(b"".join([*lines[:2], edited, *lines[3:-2]]))
    key = extract_key(extracts[0])
    changes = _read(loads, AS_OF, extracts).changes[key]
    assert (changes.added, changes.changed, changes.removed) == ([], [3], [last - 1, last])
    assert changes.unchanged == last - 4
    path.write_bytes(b"".join([*lines[:2], edited, *lines[3:], lines[4]]))
    changes = _read(loads, AS_OF, extracts).changes[key]
    assert (changes.added, changes.changed, changes.removed) == ([last - 1, last, last + 1], [], [])
    assert changes.fresh == {last - 1, last, last + 1}
    # one reading kept: the file's latest, with its rows' hashes
    (kept,) = (p.name for p in (loads / READINGS).iterdir() if p.suffix != ROWS)
    assert {p.name for p in (loads / READINGS).iterdir()} == {kept, kept + ROWS}
    # read again only when read otherwise: a mapping that says more, other limits
    (extract,) = extracts
    assert not _read(loads, AS_OF, extracts).plan.read
    described = extract.mapping.model_copy(update={"description": "another"})
    assert not _read(loads, AS_OF, [replace(extract, mapping=described)]).plan.read
    stricter = extract.mapping.model_copy(update={"required": ["case.start"]})
    for other in (replace(extract, mapping=stricter), replace(extract, limits=ReadLimits(9))):
        assert _read(loads, AS_OF, [other]).plan.read == [other]


def test_a_kept_reading_unpickles_nothing_but_a_reading(tmp_path: Path) -> None:
    """A reading that names anything but its own classes is not taken (the file is
    read instead): unpickling it never runs code."""
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    mapping = load_mappings(None)[0]
    extract = Extract(mapping, path, "x.csv")
    reading = Reading(tmp_path, AS_OF)
    reading.before.files[extract_key(extract)] = FileIntake("0", "0", "", False, {}, "evil")
    (tmp_path / READINGS).mkdir()
    (tmp_path / READINGS / "evil").write_bytes(pickle.dumps(print))
    assert reading._kept(extract) is None


def test_a_reading_is_kept_as_packed_and_taken_again_whole(tmp_path: Path) -> None:
    """What a reading process sends (records as tuples) is kept as it came and gives
    the same outcome back; a reading kept with whole records (the earlier format) is
    not taken, so the file is read again."""
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    extract = Extract(load_mappings(None)[0], path, "x.csv")
    records = [
        Record("s:1", "s", "x.csv", 2, "person", {"person.dob": dt.date(2015, 3, 1)}),
        Record("s:2", "s", "x.csv", 3, "person", {"person.upn": "A"}, ["n"], False, True),
    ]
    dropped = [Dropped("s", "x.csv", 3, "UPN", "person.upn", "A***", "bad check letter")]
    quarantined = [Quarantined("s", "x.csv", 4, "why", {"a": "1"})]
    outcome = FileOutcome(records, quarantined, 3, 1, 1, dropped, None, ["a note"])
    packed = pack(outcome)
    assert outcome.records == records  # packing leaves the outcome as it was
    reading = Reading(tmp_path, AS_OF)
    (tmp_path / READINGS).mkdir()
    for name, body in (("packed", packed), ("whole", pickle.dumps(outcome))):
        reading.before.files[extract_key(extract)] = FileIntake("0", "0", "", False, {}, name)
        (tmp_path / READINGS / name).write_bytes(body)
        kept = reading._kept(extract)
        assert kept == (outcome if name == "packed" else None), name


def copy_graph(store: FalkorDBStore, engine_dir: Path) -> FalkorDBStore:
    """Another graph on the same server holding what ``store`` holds: the graph's key
    dumped and restored under a new name (the engine's own serialisation: no load's
    nondeterminism in it), then renamed, in one transaction, as the restored graph
    keeps the name it was dumped with until it is renamed. Not ``GRAPH.COPY``: the
    engine (falkordblite 0.11: FalkorDB on Redis 8.10) decodes that copy on a thread of
    its own, creating its indexes there, and a CI run's server crashed so (abort in
    ``realloc`` under ``RM_CreateTimer``, called at once by that thread building an
    index and by the engine's thread pool); ``RESTORE`` decodes on the main thread.
    Restoring beside the original needs an engine past FalkorDB's earlier bugs of that
    shape (a crash, the two keys aliased, a large graph dumped in part), so the copy's
    counts are checked against the original's."""
    import redis

    name = f"t_{uuid.uuid4().hex[:12]}"
    raw = redis.Redis(unix_socket_path=store._db.client.socket_file)  # bytes: a dump
    try:
        dumped = raw.dump(store.graph_name)
        copying = raw.pipeline(transaction=True)
        copying.restore(name + "_restored", 0, dumped)
        copying.rename(name + "_restored", name)
        copying.execute()
    finally:
        raw.close()
    copy = embedded_store(engine_dir, name)
    counted = "MATCH (n) WITH count(n) AS n MATCH ()-[r]->() RETURN n, count(r) AS r"
    assert copy.read(counted).rows == store.read(counted).rows, "a partial restore"
    return copy


def test_the_fingerprint_tells_graphs_apart_by_what_they_hold_not_its_order(
    loaded_county: LoadedCounty, engine_dir: Path, store: GraphStore
) -> None:
    county = loaded_county.store
    assert isinstance(county, FalkorDBStore)
    twin = copy_graph(county, engine_dir)
    try:
        before = fingerprint(county)
        assert sum(before.nodes.values()) > 10_000 and sum(before.edges.values()) > 10_000
        assert fingerprint(twin).digest == before.digest
        uid = county.read("MATCH (p:Person) RETURN p.uid AS u ORDER BY u LIMIT 1").scalar()
        twin.write("MATCH (p:Person {uid: $u}) SET p.sex = 'X', p.updated_at = 1", {"u": uid})
        changed = fingerprint(twin)
        assert changed.digest != before.digest
        assert "'X'" in changed.differences(before) and "only left: 1" in changed.differences(
            before
        )
        twin.write("MATCH (p:Person {uid: $u}) SET p.sex = $s", {"u": uid, "s": None})
        lives = "CREATE (p)-[:LIVES_AT {from: date('2020-01-01')}]->(a)"
        twin.write(
            f"MATCH (a:Address) WITH a LIMIT 1 MATCH (p:Person {{uid: $u}}) {lives}", {"u": uid}
        )
        assert "relationships only left: 1" in fingerprint(twin).differences(before)
    finally:
        twin.drop_all()
        twin.close()
    # the order things were written in, and when, are not part of it
    statements = [
        "CREATE (:Person {uid: 'a', loaded_at: $t, kinds: $k})",
        "CREATE (:Person {uid: 'b'})",
        "MATCH (a {uid: 'a'}), (b {uid: 'b'}) CREATE (a)-[:PARENT_OF {kind: 'birth'}]->(b)",
    ]
    store.write(statements[1])
    store.write(statements[0], {"t": "2026-01-01", "k": ["x", "y"]})
    store.write(statements[2])
    one = fingerprint(store)
    store.drop_all()
    store.write(statements[0], {"t": "2027-01-01", "k": ["y", "x"]})
    store.write(statements[1])
    store.write(statements[2])
    assert fingerprint(store) == one


@dataclass
class WeekLoads:
    """The week later loaded over the county three ways, from one start."""

    graphs: dict[str, FalkorDBStore]
    results: dict[str, LoadResult]
    loads: dict[str, Path]  # each load's reports folder


@pytest.fixture(scope="module")
def week_loads(
    loaded_county: LoadedCounty, week_later: Path, engine_dir: Path, tmp_path_factory
) -> Iterator[WeekLoads]:
    """The county loaded, then the same county a week later loaded over it from one
    start (engine copies of the loaded graph, each with its own copy of the load
    reports' folder): as a delta; in full keeping the people (``full=True,
    relink=False``); and in full with every record linked again (``full=True``) over
    the delta's graph, as a council's ``jigsaw load --full`` after its nightly deltas."""
    county = loaded_county.store
    assert isinstance(county, FalkorDBStore)
    tmp_path = tmp_path_factory.mktemp("week_loads")
    # what the county's load took in, recorded afresh (the session's reports folder is
    # shared): every file through a load's own reading
    first_loads = tmp_path / "first"
    reading = Reading(first_loads, AS_OF, full=True)
    report = LoadReport(str(loaded_county.root), "", AS_OF.isoformat())
    read_all(
        loaded_county.root, load_mappings(None), AS_OF, report, [], [], Silent(), 1, reading=reading
    )
    reading.save()
    # the county loaded again over a copy of it, every file skipped: every row written
    # (nothing recorded what the session's load wrote) and every record linked (no
    # models kept), and both recorded
    base = copy_graph(county, engine_dir)
    again = run_load(base, loaded_county.root, as_of=AS_OF, loads_dir=first_loads).report
    assert again.delta and again.wrote_every_row and not again.rows_unchanged
    assert "no linkage models kept" in again.relinked
    assert again.records_linked == again.identity_records
    graphs = {kind: copy_graph(base, engine_dir) for kind in ("full", "delta")}
    base.drop_all()
    base.close()
    results = {}
    try:
        for kind, store in graphs.items():
            loads = tmp_path / kind
            shutil.copytree(first_loads, loads, ignore=shutil.ignore_patterns(LOAD_LOCK))
            # the full reload keeps the people, as the delta does (relink=False)
            results[kind] = run_load(
                store,
                week_later,
                as_of=WEEK_LATER,
                loads_dir=loads,
                full=kind == "full",
                relink=False,
            )
        graphs["relinked"] = copy_graph(graphs["delta"], engine_dir)
        loads = tmp_path / "relinked"
        shutil.copytree(tmp_path / "delta", loads, ignore=shutil.ignore_patterns(LOAD_LOCK))
        results["relinked"] = run_load(
            graphs["relinked"], week_later, as_of=WEEK_LATER, loads_dir=loads, full=True
        )
        kinds = ("full", "delta", "relinked")
        yield WeekLoads(graphs, results, {kind: tmp_path / kind for kind in kinds})
    finally:
        for store in graphs.values():
            store.drop_all()
            store.close()


def test_a_delta_load_leaves_the_graph_a_full_reload_leaves(
    week_loads: WeekLoads, week_later: Path
) -> None:
    """The week later loaded as a delta and in full, both keeping the people: the two
    graphs hold the same nodes, relationships and properties (tests/fingerprint.py),
    and the two reports account for the same rows. The delta linked only the records
    the week added or changed."""
    graphs = week_loads.graphs
    full, delta = (week_loads.results[k].report for k in ("full", "delta"))
    # linkage compared only the new or changed records, in both
    summary = json.loads((week_later / "week_later.json").read_text())
    for report in (full, delta):
        assert not report.relinked
        assert 0 < report.records_linked <= 2 * summary["rows_changed"]
        assert report.records_linked * 20 < report.identity_records
        assert "new or changed identity records" in report.to_markdown()
    # the delta wrote only what changed; the full load wrote every row
    assert "--full" in full.wrote_every_row and not full.rows_unchanged
    assert not delta.wrote_every_row
    unchanged, written = sum(delta.rows_unchanged.values()), sum(delta.written.values())
    assert unchanged > 5 * written > 0, (unchanged, delta.written)
    assert "only what changed" in delta.to_markdown()
    assert not full.delta and delta.delta
    skipped = sum(c["files_skipped"] for c in delta.since_last.values())
    read = sum(c["files_read"] for c in delta.since_last.values())
    assert skipped > read > 0
    assert sum(c["files_skipped"] for c in full.since_last.values()) == 0
    for report in (full, delta):
        fresh = sum(c["added"] + c["changed"] for c in report.since_last.values())
        assert fresh == summary["rows_changed"]
    assert "**Delta load**" in delta.to_markdown() and "**Full load**" in full.to_markdown()
    assert delta.sources == full.sources and delta.files == full.files
    # the derived facts and alerts of the delta were worked out over what it touched
    # only (loaders.unchanged.Touched), the full load's over everything: the same alerts
    assert delta.delta and NOT_TOUCHED not in delta.over_everything
    assert full.alerts and delta.alerts == full.alerts  # some raised, the same ones
    assert full.risk_factors_kept and delta.risk_factors_kept == full.risk_factors_kept
    one, other = fingerprint(graphs["full"]), fingerprint(graphs["delta"])
    assert sum(one.nodes.values()) > 10_000
    assert one == other, one.differences(other)


def test_a_delta_works_out_again_the_risk_answers_of_the_pupils_it_touched(
    week_loads: WeekLoads, week_later: Path
) -> None:
    """The delta worked out again the risk of NEET answers of the pupils it touched
    only (the others' kept from the last load), the full reload every pupil's; each
    change under pupils the week holds is in the delta's answers: the renamed school's
    name, the home's new postcode district, the pupil made younger gone from the
    cohort (so none is kept stale; the graphs' equality is the test above)."""
    full, delta = (week_loads.results[k].report for k in ("full", "delta"))
    assert full.risk_factors_worked_out is None
    assert delta.risk_factors_worked_out is not None
    assert 0 < delta.risk_factors_worked_out < delta.risk_factors_kept
    # every pupil's factors written by the full reload; by the delta, those that moved
    assert full.risk_factors_written is None
    assert delta.risk_factors_written is not None
    assert 0 < delta.risk_factors_written < delta.risk_factors_kept
    assert not any(line.startswith(RISK_EVERYONE) for line in delta.over_everything)
    assert "worked out again for the" in delta.to_markdown()
    under = _under(week_later)
    store = week_loads.graphs["delta"]
    urn, name = under.school
    spans = store.read(
        "MATCH (y:RiskYear) RETURN y.person AS person, y.schools AS schools, "
        "y.school_urns AS urns, y.area AS area"
    ).rows
    at_school = [s for r in spans for s, u in zip(r["schools"], r["urns"], strict=True) if u == urn]
    assert at_school and set(at_school) == {name}
    # the pupils who lived at the home before the week: each one's area is where the
    # graph says they live now (records that name the home by its old postcode may
    # now name another address), read apart from the kept answers
    now = store.read(
        "UNWIND $kids AS kid MATCH (c:Person {uid: kid})-[l:LIVES_AT]->(a:Address) "
        "WHERE l.to IS NULL RETURN c.uid AS uid, a.postcode_district AS district",
        {"kids": list(under.residents)},
    ).rows
    areas = {(r["person"], r["area"]) for r in spans if r["person"] in under.residents}
    assert areas and areas <= {(r["uid"], r["district"]) for r in now}
    assert under.younger not in {r["person"] for r in spans}
    kept = store.read(
        "MATCH (c:Person {uid: $u}) RETURN c.risk_year_group AS d", {"u": under.younger}
    ).scalar()
    assert kept is None


def _parts(loads: Path, file: str = NEEDS_FILE) -> dict[str, list]:
    """The needs (or caseload) tally's parts a load kept in ``loads``, read as they are
    (a case's rows in no order)."""
    body = json.loads((loads / file).read_text())
    if file == NEEDS_FILE:
        return body["children"]
    return {uid: sorted(rows, key=json.dumps) for uid, rows in body["cases"].items()}


def test_a_delta_counts_again_the_needs_tally_parts_of_the_children_it_touched(
    week_loads: WeekLoads, week_later: Path
) -> None:
    """The delta read again the needs tally's parts (birth cohort, area, categories) of
    the children it touched only, the rest kept from the last load; every child's part
    is the one the full reload read from the graph (so none is kept stale; the tallies'
    equality is the graphs' test above), and the week moved parts: the home given
    another postcode district holds a child with a primary need, whose part now says
    the district the graph gives."""
    full, delta = (week_loads.results[k].report for k in ("full", "delta"))
    assert full.needs_tally_counted is None
    assert delta.needs_tally_counted is not None
    assert not any(line.startswith(NEEDS_EVERYONE) for line in delta.over_everything)
    first = _parts(week_loads.loads["full"].parent / "first")
    parts = _parts(week_loads.loads["delta"])
    assert 0 < delta.needs_tally_counted * 10 < len(parts)
    assert parts == _parts(week_loads.loads["full"])
    moved = {uid for uid, part in parts.items() if first.get(uid, part)[1] != part[1]}
    under = _under(week_later)
    store = week_loads.graphs["delta"]
    now = store.read(
        "UNWIND $kids AS kid MATCH (c:Person {uid: kid})-[l:LIVES_AT]->(a:Address) "
        "WHERE l.to IS NULL RETURN c.uid AS uid, a.postcode_district AS district",
        {"kids": list(under.residents)},
    ).rows
    assert {r["uid"] for r in now} & moved
    assert all(parts[r["uid"]][1] == r["district"] for r in now if r["uid"] in parts)
    needing = [u for u in under.residents if "need:" in parts.get(u, ["", "", ""])[2]]
    assert needing and set(needing) & moved, "no child with a need moved area"


def test_a_delta_counts_again_the_caseload_parts_of_the_cases_it_touched(
    week_loads: WeekLoads, week_later: Path
) -> None:
    """The delta read again the caseload map tally's parts (each case's rows by status,
    kind and service: its child's home, waiting, its current workers and their teams)
    of the cases it touched only, the rest kept from the last load; every case's part
    is the one the full reload read; the week moved parts: a worker's open cases now
    count under their new team too, and cases the week closed under their new status."""
    full, delta = (week_loads.results[k].report for k in ("full", "delta"))
    assert full.caseload_tally_counted is None
    assert delta.caseload_tally_counted is not None
    assert not any(line.startswith(CASELOAD_EVERYONE) for line in delta.over_everything)
    first = _parts(week_loads.loads["full"].parent / "first", CASELOAD_FILE)
    parts = _parts(week_loads.loads["delta"], CASELOAD_FILE)
    assert 0 < delta.caseload_tally_counted * 5 < len(parts)
    assert parts == _parts(week_loads.loads["full"], CASELOAD_FILE)
    uid, team = _under(week_later).worker
    before = [r for p in first.values() for r in p if r[0] == "worker" and r[4] == uid]
    after = [r for p in parts.values() for r in p if r[0] == "worker" and r[4] == uid]
    # (a load adds the new membership; it removes no relationship the records dropped)
    assert before and team not in {r[6] for r in before}
    assert team in {r[6] for r in after}
    closed = [u for u, p in parts.items() if u in first and first[u][0][1] != p[0][1]]
    assert closed and all(parts[u][0][1] == "closed" for u in closed), closed[:3]


def test_a_delta_reads_again_the_cohort_children_it_touched(
    week_loads: WeekLoads, week_later: Path
) -> None:
    """The delta read again the transitions' cohort rows of the children it touched only,
    the rest kept from the last load; every entry point's rows are those the full reload
    read from the graph (the kept nodes' equality is the graphs' test above), and the
    week moved rows: every cohort child with a spell at the renamed school has it under
    the new name (children the week touched in no other way among them)."""
    full, delta = (week_loads.results[k].report for k in ("full", "delta"))
    assert full.cohort_children_read is None
    assert delta.cohort_children_read is not None
    assert not any(line.startswith(COHORTS_EVERYONE) for line in delta.over_everything)
    rows = json.loads((week_loads.loads["delta"] / COHORTS_FILE).read_text())["rows"]
    assert rows == json.loads((week_loads.loads["full"] / COHORTS_FILE).read_text())["rows"]
    children = sum(len(r) for r in rows.values())
    assert 0 < delta.cohort_children_read < children  # (the renamed school's pupils among them)
    urn, name = _under(week_later).school
    first = json.loads((week_loads.loads["full"].parent / "first" / COHORTS_FILE).read_text())
    before = {r[0]: r for rs in first["rows"].values() for r in rs}
    spells = KEPT_COLUMNS.index("spells")
    at_school = [r for rs in rows.values() for r in rs for s in r[spells] if s[0] == urn]
    assert at_school and {s[1] for r in at_school for s in r[spells] if s[0] == urn} == {name}
    assert any(before[r[0]][spells] != r[spells] for r in at_school if r[0] in before)


def test_cohorts_kept_for_other_days_or_by_other_code_are_read_again(tmp_path: Path) -> None:
    """A delta keeps the last load's cohort rows only when its cohorts are born on the
    same days (the same next September), by the same code, with the graph as it was
    kept (its counts); the reason each time is said."""
    from loaders.kept import Delta
    from loaders.transition_cohorts import Cohorts, _why_everyone, code_fingerprint

    born = {"Reception": ["2022-09-01", "2023-09-01"]}
    path = tmp_path / COHORTS_FILE
    Cohorts(dict(born), {"Reception": []}, "s").save(path, {"nodes": 1})
    assert Cohorts.take(path, {"nodes": 2}) is None and not path.exists()
    Cohorts(dict(born), {"Reception": []}, "s").save(path, {"nodes": 1})
    kept = Cohorts.take(path, {"nodes": 1})
    assert kept is not None and kept.code == code_fingerprint()
    assert _why_everyone(Delta(kept, {"P-1"}), born) == ""
    later = {"Reception": ["2023-09-01", "2024-09-01"]}
    assert "next September" in _why_everyone(Delta(kept, {"P-1"}), later)
    other = Cohorts(dict(born), {}, "s", code="another release")
    assert "code" in _why_everyone(Delta(other, {"P-1"}), born)
    assert "not known" in _why_everyone(Delta(kept, None), born)
    assert "not kept" in _why_everyone(Delta(None, {"P-1"}), born)


def test_a_delta_after_a_delta_and_one_with_nothing_kept_leave_a_full_reloads_graph(
    week_loads: WeekLoads, week_later: Path, engine_dir: Path, tmp_path: Path
) -> None:
    """A second week over the delta's graph: as a delta taking what the first delta
    kept (the risk answers and needs tally parts), as a delta with neither kept
    file (each worked out for everyone, the report saying why), and as a delta over
    the graph as the release before ``RiskDay`` left it (each pupil's factors dated on
    the pupil, one such day left on a person a review merge took off the list, and
    answers kept in that release's layout): each leaves the graph a full reload of
    the second week leaves, the older release's per-pupil days gone."""
    week2 = tmp_path / "week2"
    write_week_later(week_later, week2, seed=4)
    day = WEEK_LATER + dt.timedelta(days=7)
    graphs: dict[str, FalkorDBStore] = {}
    reports: dict[str, LoadReport] = {}
    before = _kept_factors(week_loads.graphs["delta"])
    try:
        for kind in ("full", "delta", "nothing kept", "older release"):
            store = graphs[kind] = copy_graph(week_loads.graphs["delta"], engine_dir)
            loads = tmp_path / kind
            shutil.copytree(
                week_loads.loads["delta"], loads, ignore=shutil.ignore_patterns(LOAD_LOCK)
            )
            if kind == "nothing kept":
                for file in (RISK_FILE, NEEDS_FILE, CASELOAD_FILE, COHORTS_FILE):
                    (loads / file).unlink()
            if kind == "older release":
                _as_the_release_before_risk_day(store, loads / RISK_FILE)
            reports[kind] = run_load(
                store, week2, as_of=day, loads_dir=loads, full=kind == "full", relink=False
            ).report
        delta, alone = reports["delta"], reports["nothing kept"]
        assert delta.needs_tally_counted and delta.risk_factors_worked_out
        assert delta.caseload_tally_counted and delta.cohort_children_read
        assert alone.needs_tally_counted is None and alone.risk_factors_worked_out is None
        assert alone.caseload_tally_counted is None and alone.cohort_children_read is None
        # the delta wrote the factors of the pupils whose factors moved (the graph's
        # before and after, read apart from the load) and no one else's
        after = _kept_factors(graphs["delta"])
        moved = {uid for uid in before.keys() | after.keys() if before.get(uid) != after.get(uid)}
        assert 0 < len(moved) < delta.risk_factors_kept
        assert delta.risk_factors_written == len(moved)
        assert alone.risk_factors_written is None
        for everyone in (NEEDS_EVERYONE, RISK_EVERYONE, CASELOAD_EVERYONE, COHORTS_EVERYONE):
            said = [line for line in alone.over_everything if line.startswith(everyone)]
            assert said and "not kept" in said[0], alone.over_everything
            assert not any(line.startswith(everyone) for line in delta.over_everything)
        older = reports["older release"]
        assert any(line.startswith(RISK_EVERYONE) for line in older.over_everything)
        retired = "MATCH (p:Person) WHERE p.risk_as_of IS NOT NULL OR p.risk_rules IS NOT NULL"
        assert graphs["older release"].read(f"{retired} RETURN count(p) AS n").scalar() == 0
        full = fingerprint(graphs["full"])
        for kind in ("delta", "nothing kept", "older release"):
            other = fingerprint(graphs[kind])
            assert full == other, (kind, full.differences(other))
    finally:
        for store in graphs.values():
            store.drop_all()
            store.close()


def _as_the_release_before_risk_day(store: GraphStore, answers: Path) -> None:
    """Make ``store`` and its kept risk answers as the release before ``RiskDay`` left
    them: no ``RiskDay``, each pupil's factors' day and rules on the pupil, one such day
    on a person without factors (a review merge cleared their year group, not the day),
    and the answers file of that release's layout (version 1, no day)."""
    old = {"old": (AS_OF - dt.timedelta(days=7)).isoformat()}
    store.write("MATCH (d:RiskDay) DELETE d")
    stamped = store.write(
        "MATCH (p:Person) WHERE p.risk_year_group IS NOT NULL "
        "SET p.risk_as_of = date($old), p.risk_rules = 'older'",
        old,
    )
    assert stamped.properties_set > 0
    store.write(
        "MATCH (p:Person:Child) WHERE p.risk_year_group IS NULL WITH p LIMIT 1 "
        "SET p.risk_as_of = date($old), p.risk_rules = 'older'",
        old,
    )
    body = json.loads(answers.read_bytes())
    body["version"] = 1
    body.pop("as_of", None)
    answers.write_text(json.dumps(body))


def _kept_factors(store: GraphStore) -> dict[str, list]:
    """Each pupil's risk of NEET factors kept on them, by uid."""
    rows = store.read(
        "MATCH (p:Person) WHERE p.risk_year_group IS NOT NULL RETURN p.uid AS uid, "
        "[p.risk_factors, p.risk_year_group, p.risk_school, p.risk_school_urn, p.risk_area, "
        "p.risk_attendance_pct] AS kept",
        max_rows=10**7,
    ).rows
    return {r["uid"]: r["kept"] for r in rows}


def _people(result: LoadResult) -> dict[tuple[str, int, str], str]:
    return {(f, r, w): p for f, r, w, p in result.assignments}


def test_a_full_relink_after_a_delta_moves_few_records_and_loses_no_accuracy(
    week_loads: WeekLoads, week_later: Path
) -> None:
    """``--full`` after the delta trains the models again on every record and links
    every record again. The allowed differences (docs/loading.md): it may join people
    the delta kept apart (a delta joins two people the graph holds only through a new
    or changed record; a re-link scores every pair again, with models trained on the
    week's records too) and, more rarely, split a person (a pair near the threshold
    weighed otherwise by the retrained models); under 1% of records move, and the
    re-link is as precise and as complete against the truth, within 0.002."""
    delta, relinked = week_loads.results["delta"], week_loads.results["relinked"]
    assert "--full" in relinked.report.relinked
    assert relinked.report.records_linked == relinked.report.identity_records
    kept, again = _people(delta), _people(relinked)
    assert kept.keys() == again.keys()
    within: dict[str, set[str]] = defaultdict(set)  # delta person -> relinked people
    joined: dict[str, set[str]] = defaultdict(set)  # relinked person -> delta people
    for key, person in kept.items():
        within[person].add(again[key])
        joined[again[key]].add(person)
    split = sum(1 for v in within.values() if len(v) > 1)
    joins = sum(1 for v in joined.values() if len(v) > 1)
    moved = sum(1 for k in kept if kept[k] != again[k])
    labels = source_row_labels(week_later)
    one = pairwise_quality([(labels[k], kept[k]) for k in kept])
    other = pairwise_quality([(labels[k], again[k]) for k in again])
    print(
        f"delta: {one} | relinked: {other} | {moved} records moved; {joins} people "
        f"joined, {split} split"
    )
    assert moved * 100 < len(kept)  # under 1% of records
    assert other.precision >= one.precision - 0.002 and other.recall >= one.recall - 0.002


def test_who_the_graphs_records_and_people_are_is_kept_as_the_graph_holds_it(
    week_loads: WeekLoads, tmp_path: Path
) -> None:
    """What a load keeps for the next (loaders.people_kept.Known) is what reading the
    graph gives: every source record's person and every person's identity fields, after
    a delta, a full load keeping the people and a re-link; and a graph changed since
    (its counts) is read again."""
    for kind, store in week_loads.graphs.items():
        path = tmp_path / kind
        shutil.copy(people_file(week_loads.loads[kind]), path)
        counts = version.kept_as(store.counts(), version.current(store))
        known = Known.take(path, counts)
        assert known is not None, kind
        assert not path.exists()  # a load that stops part way leaves none behind
        assignments = identities.existing_assignments(store)
        assert len(assignments) > 10_000
        assert known.assignments == assignments, kind
        people = identities.anchors(store)
        assert known.anchors == people, kind
        linked = identities.linked_probabilities(store)
        assert linked and known.probability == linked, kind
        # and the alerts' watched state after it, which the next load starts from
        watched_file = tmp_path / f"{kind}-{ALERT_FILES[1]}"  # taking it removes it
        shutil.copy(week_loads.loads[kind] / ALERT_FILES[1], watched_file)
        kept = Baseline(None, watched_file)._kept(counts)
        assert kept is not None and len(kept) > 10, kind
        assert _same_state(kept) == _same_state(watched(store)), kind
    shutil.copy(people_file(week_loads.loads["delta"]), path)
    counts["labels"]["Person"] += 1
    assert Known.take(path, counts) is None and not path.exists()


def test_the_same_files_again_after_a_full_link_write_nothing(
    week_loads: WeekLoads, week_later: Path, engine_dir: Path, tmp_path: Path
) -> None:
    """The week loaded again as it is, over the graph its full re-link left: a record
    whose links the delta does not weigh keeps the probability the re-link gave it
    (written as 1 before, every record linked by probability rewritten on the first
    delta after a full link), and an address two steps may write is left as it is
    (written every time before): nothing is written and the graph is as it was."""
    store = copy_graph(week_loads.graphs["relinked"], engine_dir)
    try:
        before = fingerprint(store)
        linked = identities.linked_probabilities(store)
        assert len(linked) > 100  # records linked by probability, to keep theirs
        loads = tmp_path / "loads"
        shutil.copytree(
            week_loads.loads["relinked"], loads, ignore=shutil.ignore_patterns(LOAD_LOCK)
        )
        report = run_load(store, week_later, as_of=WEEK_LATER, loads_dir=loads).report
        assert not report.wrote_every_row and not report.relinked
        assert not report.written, report.written  # nor an address, which two steps write
        assert identities.linked_probabilities(store) == linked
        assert fingerprint(store) == before
    finally:
        store.drop_all()
        store.close()


def test_a_change_that_keeps_the_counts_is_noticed(
    week_loads: WeekLoads, engine_dir: Path, tmp_path: Path
) -> None:
    """What a delta keeps for the next load (the rows it wrote, who its records and people
    are, the alerts' watched state) is trusted while the graph carries the version stamp
    it was kept with: a review decision that sets a pair's status in place, which leaves
    every count as it was, changes the stamp, and none of it is trusted after. What
    people do in the app between loads (a note added, an alert marked seen) changes
    nothing a load keeps, and all of it is trusted after."""
    store = copy_graph(week_loads.graphs["delta"], engine_dir)
    try:

        def kept() -> tuple[Known | None, list | None, str]:
            folder = tmp_path / uuid.uuid4().hex
            shutil.copytree(
                week_loads.loads["delta"], folder, ignore=shutil.ignore_patterns(LOAD_LOCK)
            )
            as_kept = version.kept_as(store.counts(), version.current(store))
            memory = Unchanged.take(folder / MEMORY_FILE, frozenset(), as_kept, False)
            baseline = Baseline(None, folder / ALERT_FILES[1])
            answers.append(RiskKept.take(folder / RISK_FILE, as_kept))  # and the risk answers
            return Known.take(people_file(folder), as_kept), baseline._kept(as_kept), memory.reason

        answers: list[RiskKept | None] = []
        known, state, reason = kept()
        assert known is not None and state is not None and reason == ""
        assert answers[-1] is not None and answers[-1].pupils
        # a day in the app: a note on a child, an alert marked seen by its professional
        before = store.counts()
        child = store.read("MATCH (c:Child) RETURN c.uid AS u ORDER BY u LIMIT 1").scalar()
        views.add_note(store, child, "a practitioner", "Spoke to the school")
        alert = store.read(
            "MATCH (w:Professional)-[:ALERTED]->(a:Alert {status: 'new'}) "
            "RETURN w.uid AS worker, a.uid AS uid ORDER BY uid LIMIT 1"
        ).rows[0]
        assert alerts.mark_seen(store, alert["worker"], alert["uid"]) is not None
        assert store.counts() != before  # the note is counted
        known, state, reason = kept()
        assert known is not None and state is not None and reason == ""
        assert answers[-1] is not None
        counts = store.counts()
        pair = store.read(
            "MATCH (r:ReviewPair {status: 'pending'}) RETURN r.uid AS uid ORDER BY uid LIMIT 1"
        ).scalar()
        assert pair is not None
        review_queue.decide(store, pair, False, "a reviewer")  # "different people"
        assert store.counts() == counts  # a change the counts do not show
        known, state, reason = kept()
        assert known is None and state is None and "changed since the last load" in reason
        assert answers[-1] is None
    finally:
        store.drop_all()
        store.close()


def _same_state(state: list[dict]) -> list[str]:
    """A watched state as text, in no order (the engine collects lists in any)."""
    return sorted(
        json.dumps(
            {k: sorted(map(json.dumps, v)) if isinstance(v, list) else v for k, v in row.items()},
            sort_keys=True,
        )
        for row in state
    )


def test_a_review_decision_taken_while_a_load_runs_leaves_nothing_kept(
    week_loads: WeekLoads, week_later: Path, engine_dir: Path, tmp_path: Path
) -> None:
    """A reviewer may decide a pair while a load runs; that load then cannot tell its
    kept state from the graph it leaves, so it keeps none and the next load reads the
    graph whole. The same load with no decision beside it keeps all three."""
    kept_files = (MEMORY_FILE, ALERT_FILES[1], RISK_FILE, NEEDS_FILE, CASELOAD_FILE, COHORTS_FILE)

    def reload(decide_meanwhile: bool) -> Path:
        store = copy_graph(week_loads.graphs["delta"], engine_dir)
        loads = tmp_path / f"decided-{decide_meanwhile}"
        shutil.copytree(week_loads.loads["delta"], loads, ignore=shutil.ignore_patterns(LOAD_LOCK))

        def after_stage(name: str) -> None:
            if decide_meanwhile and name == "write":
                pair = store.read(
                    "MATCH (r:ReviewPair {status: 'pending'}) RETURN r.uid AS uid "
                    "ORDER BY uid LIMIT 1"
                ).scalar()
                review_queue.decide(store, pair, False, "a reviewer")

        try:
            run_load(store, week_later, as_of=WEEK_LATER, loads_dir=loads, after_stage=after_stage)
        finally:
            store.drop_all()
            store.close()
        return loads

    alone = reload(False)
    assert people_file(alone).exists() and all((alone / f).exists() for f in kept_files)
    beside = reload(True)
    assert not people_file(beside).exists()
    assert not any((beside / f).exists() for f in kept_files)


@pytest.mark.parametrize("stage", ["write", "risk", "derive", "alerts"])
def test_a_merge_waits_for_a_running_load_and_then_the_list_is_the_records(
    week_loads: WeekLoads,
    engine_dir: Path,
    tmp_path: Path,
    week_later: Path,
    stage: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reviewer may accept a pair (two people merged) while a delta runs: the load
    works out answers and tallies from what it read before, so a merge then would be
    missed or written over (the kept pupil's risk of NEET answers from before the merge,
    on the live graph and the analysts' copy). The merge is refused until the load has
    finished, at each stage (``risk``: as the risk answers are saved), and goes ahead
    after it: the risk list then holds the kept pupil with the answers the records
    give, on the load's day and another of the kept years (worked out independently:
    the same graph with every kept answer forgotten)."""
    store = copy_graph(week_loads.graphs["delta"], engine_dir)
    loads = tmp_path / "merged"
    shutil.copytree(week_loads.loads["delta"], loads, ignore=shutil.ignore_patterns(LOAD_LOCK))
    days = [{"as_of": d.isoformat(), "band": "all"} for d in (WEEK_LATER, dt.date(2026, 6, 15))]
    try:
        on_list = sorted({r["child_uid"] for r in run_saved(store, "risk_of_neet", days[0]).rows})
        # a pending pair made one of a pupil on the list, the person a merge keeps (the
        # first uid: review_queue.decide), and a child after them not on it
        keep = on_list[0]
        drop = store.read(
            "MATCH (c:Child) WHERE c.uid > $keep AND NOT c.uid IN $on RETURN min(c.uid) AS u",
            {"keep": keep, "on": on_list},
        ).scalar()
        pair = store.read(
            "MATCH (r:ReviewPair {status: 'pending'}) RETURN min(r.uid) AS uid"
        ).scalar()
        store.write(
            "MATCH (r:ReviewPair {uid: $pair})-[c:CANDIDATE]->() DELETE c WITH DISTINCT r "
            "MATCH (p:Person) WHERE p.uid IN [$keep, $drop] CREATE (r)-[:CANDIDATE]->(p)",
            {"pair": pair, "keep": keep, "drop": drop},
        )
        refused = []

        def after_stage(name: str) -> None:
            if name == stage:
                with pytest.raises(review_queue.ReviewError, match="a load is writing"):
                    review_queue.decide(store, pair, True, "a reviewer")
                refused.append(name)

        saving = risk_facts.save

        def tried_then_saved(*args, **kwargs):  # a merge while the list is loading
            after_stage("risk")
            return saving(*args, **kwargs)

        monkeypatch.setattr(risk_facts, "save", tried_then_saved)
        run_load(store, week_later, as_of=WEEK_LATER, loads_dir=loads, after_stage=after_stage)
        assert refused and set(refused) == {stage}
        assert review_queue.decide(store, pair, True, "a reviewer") == keep  # now it may
        shown = [run_saved(store, "risk_of_neet", day).rows for day in days]
        # the records' answers: every kept answer forgotten, the list worked out afresh
        store.write("MATCH (k:RiskList) DELETE k")
        store.write("MATCH (y:RiskYear) DELETE y")
        risk_facts.clear(store)
        store.write("MATCH (k:RiskList) DELETE k")
        from_records = [run_saved(store, "risk_of_neet", day).rows for day in days]
        assert keep in {r["child_uid"] for r in from_records[0]}
        assert shown == from_records
    finally:
        store.drop_all()
        store.close()


def test_a_decision_beside_a_delta_has_it_work_out_everything_again(
    week_loads: WeekLoads, engine_dir: Path, tmp_path: Path, week_later: Path
) -> None:
    """A rejection (which does not wait for a load) after a delta began writing moves the
    graph's version stamp: what the delta touched then no longer says all that changed,
    so it works out every pupil's answers, every child's cohort row and the tallies'
    parts again, and says why."""
    store = copy_graph(week_loads.graphs["delta"], engine_dir)
    loads = tmp_path / "rejected"
    shutil.copytree(week_loads.loads["delta"], loads, ignore=shutil.ignore_patterns(LOAD_LOCK))
    try:
        pair = store.read(
            "MATCH (r:ReviewPair {status: 'pending'}) RETURN min(r.uid) AS uid"
        ).scalar()

        def after_stage(name: str) -> None:
            if name == "write":
                review_queue.decide(store, pair, False, "a reviewer")

        report = run_load(
            store, week_later, as_of=WEEK_LATER, loads_dir=loads, after_stage=after_stage
        ).report
        for everyone in (RISK_EVERYONE, NEEDS_EVERYONE, CASELOAD_EVERYONE, COHORTS_EVERYONE):
            said = [line for line in report.over_everything if line.startswith(everyone)]
            assert said and BESIDE in said[0], report.over_everything
    finally:
        store.drop_all()
        store.close()


def test_answers_kept_by_other_code_or_rules_or_years_are_worked_out_again(
    tmp_path: Path,
) -> None:
    """A delta keeps the last load's risk of NEET answers only when they were worked
    out for the same academic years, under the same rules, by the same code (a release
    changing how answers are worked out would otherwise keep the old ones); the file
    carries which code, and the reason each time is said."""
    from loaders.risk_factors import Delta, _why_everyone
    from loaders.risk_kept import RiskKept, code_fingerprint

    path = tmp_path / "risk-answers.json"
    RiskKept([2025, 2026], "rules-a").save(path, {"nodes": 1})
    kept = RiskKept.take(path, {"nodes": 1})
    assert kept is not None and kept.code == code_fingerprint()
    assert _why_everyone(Delta(kept, {"P-1"}), [2025, 2026], "rules-a") == ""
    assert "years" in _why_everyone(Delta(kept, {"P-1"}), [2026, 2027], "rules-a")
    assert "rules" in _why_everyone(Delta(kept, {"P-1"}), [2025, 2026], "rules-b")
    other = RiskKept([2025, 2026], "rules-a", code="another release")
    assert "code" in _why_everyone(Delta(other, {"P-1"}), [2025, 2026], "rules-a")
    assert "not known" in _why_everyone(Delta(kept, None), [2025, 2026], "rules-a")


def test_a_delta_keeps_the_watched_state_and_the_delta_after_it_takes_it(
    engine_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first load watched nothing before it (an empty graph): it keeps no state, and
    the delta after it reads every open case's from the graph, then keeps the state
    after it (what reading the graph gives); the next delta takes that, reading only the
    children near what it changed; a kept state whose counts are not the graph's is
    read from the graph again."""
    from synthetic.generate import generate

    county, week, week2 = tmp_path / "county", tmp_path / "week", tmp_path / "week2"
    generate(300, 5, county, as_of=AS_OF)
    write_week_later(county, week, seed=1)
    write_week_later(week, week2, seed=2)
    loads = tmp_path / "loads"
    store = embedded_store(engine_dir)
    whole: list[int] = []
    read = alerts.watched

    def counted(store: GraphStore, people: list[str] | None = None) -> list[dict]:
        if people is None:
            whole.append(1)
        return read(store, people)

    monkeypatch.setattr(alerts, "watched", counted)
    try:
        store.ensure_schema()
        run_load(store, county, as_of=AS_OF, loads_dir=loads)
        assert not (loads / ALERT_FILES[1]).exists()  # nothing watched: nothing kept
        report = run_load(store, week, as_of=WEEK_LATER, loads_dir=loads).report
        assert report.delta and whole  # the state before read from the graph
        state = read(store)
        assert len(state) > 5  # children with an open, allocated case
        counts = version.kept_as(store.counts(), version.current(store))
        body = json.loads((loads / ALERT_FILES[1]).read_text(encoding="utf-8"))
        assert body["counts"] == counts
        assert _same_state(body["watched"]) == _same_state(state)
        # the next delta reads no open case's state from the graph but the children
        # near what it changed
        whole.clear()
        report = run_load(
            store, week2, as_of=WEEK_LATER + dt.timedelta(days=7), loads_dir=loads
        ).report
        assert report.delta and not report.wrote_every_row
        assert not whole
        assert (loads / ALERT_FILES[1]).exists()  # and keeps it for the next
        # a state kept with other counts is read from the graph
        body = json.loads((loads / ALERT_FILES[1]).read_text(encoding="utf-8"))
        counts = version.kept_as(store.counts(), version.current(store))
        assert body["counts"] == counts
        body["counts"]["labels"]["Person"] += 1
        (loads / ALERT_FILES[1]).write_text(json.dumps(body), encoding="utf-8")
        Baseline(None, loads / ALERT_FILES[1]).take(store, counts)
        assert whole == [1]
    finally:
        store.drop_all()
        store.close()


def test_a_decision_as_a_load_ends_is_not_taken_for_the_loads_own(
    small_county: Path, engine_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load's end looks whether the graph's stamp is still its own and writes a new
    one: a review decision landing between the two (here, just before the end's first
    write) must be seen, or what the load keeps for the next is trusted although the
    decision changed the graph. One statement looks and writes (graph.version.loaded)."""
    store = embedded_store(engine_dir)
    store.drop_all()
    store.ensure_schema()
    loads = tmp_path / "loads"
    stages_done: list[str] = []
    decided: list[str] = []
    real_write = store.write

    def write(cypher: str, params: Any = None) -> Any:
        if stages_done and not decided:  # the end's first write: a decision lands first
            decided.append("")
            decided[0] = version.stamp(store)  # as a rejection stamps the graph
        return real_write(cypher, params)

    try:
        monkeypatch.setattr(store, "write", write)
        last = load_module.STAGES[-1][0]
        run_load(
            store,
            small_county,
            as_of=AS_OF,
            loads_dir=loads,
            after_stage=lambda name: name == last and stages_done.append(name),
        )
        assert decided  # it landed
        assert version.current(store) == decided[0]  # the decision's stamp stays
        assert version.loading_since(store) is None  # and the load has ended
        assert not (loads / MEMORY_FILE).exists()  # nothing kept as if the graph were its own
    finally:
        store.drop_all()
        store.close()


def test_a_delta_says_why_it_works_every_pupils_risk_answers_out_again():
    """The kept answers are taken only for the same academic years, detection rules and
    code; otherwise the delta says which changed (checked in that order)."""
    from loaders.kept import Delta
    from loaders.risk_factors import _why_everyone
    from loaders.risk_kept import RiskKept

    def why(years: list[int], rules: str, code: str = "") -> str:
        return _why_everyone(
            Delta(RiskKept(years, rules, {}, code=code), touched=set()), [2025, 2026], "r"
        )

    assert why([2025, 2026], "r") == ""
    assert why([2024, 2025], "other") == (
        "the kept academic years change ([2024, 2025] -> [2025, 2026])"
    )
    assert why([2025, 2026], "other") == "the detection rules changed"
    assert why([2025, 2026], "r", code="older") != ""  # another release's code
    assert _why_everyone(Delta(None, touched=set()), [2025, 2026], "r") != ""


def test_a_delta_writes_the_factors_that_moved_since_the_last_loads_day():
    """Of each pupil's factors as at the load's day, only those differing from the last
    load's as at its day are written (a new answer, one the day moved past a change
    in, a new pupil); those now off every roll are cleared; the same are not."""
    from loaders.risk_factors import differ
    from loaders.risk_kept import RiskKept

    a, b = ["Sch A", "U1", 95.0, []], ["Sch A", "U1", 88.0, ["attendance_below_90"]]

    def part(starts: list[int], answers: list) -> list:
        return [[], [10, "AB1", starts, answers]]

    before = RiskKept([2025, 2026], "r", as_of="2026-11-02")
    before.pupils = {
        "P1": part([20260901], [a]),
        "P2": part([20260901], [a]),
        "P3": part([20260901], [a]),
        "P5": part([20260901, 20261105], [a, b]),
    }
    after = RiskKept([2025, 2026], "r", as_of="2026-11-09")
    after.pupils = {
        "P1": part([20260901], [a]),
        "P2": part([20260901], [b]),
        "P3": part([20260901, 20261104], [a, None]),
        "P4": part([20260901], [a]),
        "P5": part([20260901, 20261105], [a, b]),
    }
    rows, cleared = differ(before.day(dt.date(2026, 11, 2)), after.day(dt.date(2026, 11, 9)))
    assert {r["uid"]: r["factors"] for r in rows} == {
        "P2": ["attendance_below_90"],
        "P4": [],
        "P5": ["attendance_below_90"],
    }
    assert cleared == ["P3"]
