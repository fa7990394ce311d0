"""Loaders on the real embedded engine: accounting, quarantine, linkage, reloads.

Expected answers come from the synthetic county's truth files (tests/truth.py) or
from small extracts written by the tests themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from graph.planning import kept_needs_tally
from graph.review_queue import decide, pending, pending_count
from loaders import load as load_module
from loaders.load import run_load
from loaders.mapping import MappingError, load_mapping, load_mappings
from loaders.quality import pairwise_quality
from tests import truth as t
from tests.conftest import AS_OF, embedded_store
from tests.fingerprint import written_when

ROOT = Path(__file__).resolve().parent.parent


# -- accounting and quarantine ---------------------------------------------------


def test_accounting_closes_for_every_source(loaded_county):
    report = loaded_county.result.report
    assert report.finished
    # every shipped mapping has rows but change_of_address (only in the follow-up extracts)
    assert sum(1 for c in report.sources.values() if c.read > 0) >= 15
    for counts in report.sources.values():
        assert counts.read > 0 or counts.source == "change_of_address", counts.source
        assert counts.read == counts.loaded + counts.merged + counts.quarantined, counts
    # a person row either gave the load a person or joined one an earlier row gave
    described = [p for _, _, role, p in loaded_county.result.assignments if role == "person"]
    merged = sum(c.merged for c in report.sources.values())
    assert merged == len(described) - len(set(described)) > 0
    # every data row of every extract was read: compare with the truth's own row list
    truth_rows = t.table(loaded_county.root, "source_rows")
    assert report.rows_read == len(truth_rows)
    assert not [f for f in report.unmapped_files if not f.startswith("truth")]


def test_report_and_quarantine_are_saved(loaded_county):
    saved = loaded_county.result.saved_to
    assert (saved / "report.json").exists() and (saved / "quarantine.csv").exists()
    from loaders.report import latest_quarantine, latest_report

    latest = latest_report(saved.parent)
    assert latest is not None and latest.rows_read == loaded_county.result.report.rows_read
    assert len(latest_quarantine(saved.parent)) == len(loaded_county.result.quarantine)


def test_injected_bad_values_land_in_quarantine_with_the_reason(loaded_county):
    """Impossible and future dates in required date columns, blank required fields."""
    defects = t.table(loaded_county.root, "defects")
    quarantine = {(q.file, q.row): q.reason for q in loaded_county.result.quarantine}
    mappings = {m.files: m for m in load_mappings()}
    required_columns: dict[str, set[str]] = {}
    for m in mappings.values():
        for path in loaded_county.root.glob(m.files):
            rel = str(path.relative_to(loaded_county.root))
            required_columns[rel] = {c for c, f in m.columns.items() if f in m.required}
    checked = 0
    for d in defects.itertuples():
        if d.defect not in ("impossible_date", "future_date", "blank_required"):
            continue
        if d.field not in required_columns.get(d.file, set()):
            continue
        if d.defect == "future_date" and len(d.written_value.split("/")[-1]) == 2:
            continue  # "09/12/28" is 1928 to any reader: a two-digit future is undetectable
        reason = quarantine.get((d.file, int(d.row)))
        assert reason is not None, d
        assert d.field in reason, (d, reason)
        if d.defect == "future_date":
            assert "future" in reason
        checked += 1
    assert checked >= 5


def test_invalid_identifiers_are_dropped_but_rows_kept(loaded_county):
    defects = t.table(loaded_county.root, "defects")
    bad = defects[defects.defect == "invalid_check_digit"]
    assert len(bad) >= 3
    quarantined = {(q.file, q.row) for q in loaded_county.result.quarantine}
    store = loaded_county.store
    for d in bad.itertuples():
        assert (d.file, int(d.row)) not in quarantined, d
        written = d.written_value.replace(" ", "")
        hits = store.read(
            "MATCH (p:Person) WHERE p.upn = $v OR p.nhs_number = $v OR p.uln = $v "
            "RETURN count(p) AS n",
            {"v": written},
        ).rows[0]["n"]
        assert hits == 0, d


# -- linkage ---------------------------------------------------------------------


def test_linkage_meets_targets_for_children(loaded_county):
    labels = t.source_row_labels(loaded_county.root)
    people = t.table(loaded_county.root, "people").set_index("person_id")
    assigned = loaded_county.result.assignments
    assert all((f, r, w) in labels for f, r, w, _ in assigned)
    children = [
        (labels[(f, r, w)], p)
        for f, r, w, p in assigned
        if people.at[labels[(f, r, w)], "is_child"] == "1"
    ]
    everyone = [(labels[(f, r, w)], p) for f, r, w, p in assigned]
    child_quality = pairwise_quality(children)
    overall = pairwise_quality(everyone)
    print("children:", child_quality, "| everyone:", overall)
    assert child_quality.precision >= 0.99 and child_quality.recall >= 0.97
    assert overall.precision >= 0.99


def test_linkage_meets_targets_for_adults(loaded_county):
    """Parents and liable adults (council tax accounts with no date of birth, a surname
    changed with a move, a parent named only against a child) are one person each: the
    issue's targets, precision 0.99 and recall 0.95, pairwise against the truth."""
    labels = t.source_row_labels(loaded_county.root)
    people = t.table(loaded_county.root, "people").set_index("person_id")
    adults = [
        (labels[(f, r, w)], p)
        for f, r, w, p in loaded_county.result.assignments
        if people.at[labels[(f, r, w)], "is_child"] != "1"
    ]
    quality = pairwise_quality(adults)
    print("adults:", quality)
    assert quality.precision >= 0.99 and quality.recall >= 0.95


def test_agreed_fields_shown_to_reviewers_are_the_ones_that_agree(small_county):
    """The "agreed" text on each scored pair (shown on the review page) names a field
    exactly when the two records hold the same value there."""
    from loaders.linkage import link, linkage_inputs, plain
    from loaders.progress import Silent
    from loaders.reading import read_all
    from loaders.report import LoadReport

    records: list = []
    report = LoadReport(directory="", started_at="", as_of="")
    read_all(small_county, load_mappings(), AS_OF, report, records, [], Silent())
    identities, _roles, context = linkage_inputs(records, AS_OF)
    by_rid = {i.rid: i for i in identities}
    result = link(identities, context=context)
    fields = {
        "given": lambda i: plain(i.given),
        "family": lambda i: plain(i.family),
        "dob": lambda i: i.dob,
        "postcode": lambda i: i.postcode,
    }
    checked = 0
    for left, right, _prob, agreed in result.pairs:
        a, b = by_rid[left], by_rid[right]
        if a.born_before or b.born_before:  # "too young" outranks an exact date
            continue
        named = set(agreed.split(", "))
        for name, value in fields.items():
            same = bool(value(a)) and value(a) == value(b)
            assert (name in named) == same, (name, agreed, a, b)
        checked += 1
    assert checked > 100


def test_every_source_row_is_provenance_in_the_graph(loaded_county):
    store = loaded_county.store
    n = store.read("MATCH (s:SourceRecord)-[:DESCRIBES]->(:Person) RETURN count(s) AS n")
    distinct = {(f, r, w) for f, r, w, _ in loaded_county.result.assignments}
    # identical duplicate rows share one SourceRecord, so there are at most this many
    assert 0.95 * len(distinct) <= n.rows[0]["n"] <= len(distinct)


def test_children_are_labelled_and_siblings_derivable(loaded_county):
    store = loaded_county.store
    kids = store.read("MATCH (c:Child) RETURN count(c) AS n").rows[0]["n"]
    truth_children = (t.table(loaded_county.root, "people").is_child == "1").sum()
    assert 0.9 * truth_children <= kids <= 1.1 * truth_children
    sibs = store.read(
        "MATCH (a:Child)<-[:PARENT_OF]-(:Person)-[:PARENT_OF]->(b:Child) "
        "WHERE a.uid < b.uid RETURN count(DISTINCT [a.uid, b.uid]) AS n"
    ).rows[0]["n"]
    assert sibs > 20
    unlabelled_or_both = store.read(
        "MATCH (p:Person) WHERE (p:Child AND p:Adult) OR NOT (p:Child OR p:Adult) "
        "RETURN count(p) AS n"
    ).rows[0]["n"]
    assert unlabelled_or_both == 0


def test_a_child_who_turns_18_is_an_adult_after_the_next_load(tmp_path):
    from loaders.write import PEOPLE

    store = embedded_store(tmp_path / "engine")
    labels = "MATCH (p:Person {uid: 'P-1'}) RETURN labels(p) AS l"
    person = dict.fromkeys(PEOPLE.fields) | {"uid": "P-1", "dob": "2008-01-02"}
    try:
        store.ensure_schema()
        store.write_rows(PEOPLE.statement, [{**person, "child": True}])
        first = sorted(store.read(labels).rows[0]["l"])
        store.write_rows(PEOPLE.statement, [{**person, "child": False}])
        second = sorted(store.read(labels).rows[0]["l"])
    finally:
        store.close()
    assert (first, second) == (["Child", "Person"], ["Adult", "Person"])


# -- mappings --------------------------------------------------------------------


def test_mapping_with_unknown_field_fails_clearly(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("source: bad\nfiles: x.csv\ncolumns:\n  Name: person.nmae\n")
    with pytest.raises(MappingError, match=r"bad.yaml.*unknown field\(s\) person.nmae"):
        load_mapping(path)


def test_mapping_holding_a_day_no_calendar_has_fails_clearly(tmp_path):
    path = tmp_path / "bad.yaml"  # YAML reads an unquoted 2026-13-01 as a day, and fails
    path.write_text("source: bad\nfiles: x.csv\nsince: 2026-13-01\ncolumns: {}\n")
    with pytest.raises(MappingError, match=r"bad.yaml: cannot read the mapping: month must"):
        load_mapping(path)


def test_a_file_lacking_a_mapped_column_is_quarantined_whole_before_any_row(tmp_path):
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "pupils.yaml").write_text(
        textwrap.dedent("""\
        source: pupils
        files: pupils.csv
        columns:
          Surname: person.family_name
          First: person.given_name
          Birth: person.dob
        """)
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pupils.csv").write_text("Surname,Forename,Birth\nSmith,Ann,2015-01-02\n")
    store = embedded_store(tmp_path / "engine")
    try:
        result = run_load(store, tmp_path / "data", mappings=tmp_path / "maps", as_of=AS_OF)
    finally:
        store.close()
    [entry] = result.quarantine
    assert (entry.file, entry.row) == ("pupils.csv", 0)
    assert "column(s) 'First' not found in pupils.csv (it has: Surname, Forename, Birth)" in (
        entry.reason
    )
    [problem] = result.report.file_problems
    assert problem.problem == entry.reason and problem.read == 0
    assert result.report.sources["pupils"].read == 0 and result.report.closes


def test_mapping_must_map_what_its_entity_needs(tmp_path):
    path = tmp_path / "cases.yaml"
    path.write_text("source: c\nfiles: c.csv\nentity: case\ncolumns:\n  Ref: case.ref\n")
    with pytest.raises(MappingError, match=r"a case source must map person\.la_child_id"):
        load_mapping(path)


def test_shipped_mappings_are_valid():
    assert len(load_mappings()) >= 15


# -- fuzzing the readers ------------------------------------------------------------

FUZZ_MAP = textwrap.dedent("""\
    source: fuzz
    files: "*.{ext}"
    format: {fmt}
    columns:
      Name: person.full_name
      DOB: person.dob
      NHS: person.nhs_number
      Postcode: address.postcode
    dates:
      default: ["%d/%m/%Y"]
    required: [person.full_name, person.dob]
    """)
cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            '=HYPERLINK("http://x")',
            "+cmd|' /C calc'!A0",
            "@SUM(1)",
            "31/02/2020",
            "01/01/2099",
            "943 476 5919",
            "9434765918",
            "NM1 2AB",
            "",
            "x" * 5000,
        ]
    ),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(cells, min_size=0, max_size=6), max_size=8),
    fmt=st.sampled_from(["csv", "xlsx"]),
)
@example(rows=[[1.7976931348623155e308]], fmt="xlsx")  # a float a spreadsheet stores as inf
@example(rows=[["Ann Smith\x00\x01", "01/01/2015", "", "NM1 2AB"]], fmt="csv")  # NUL in a cell
def test_readers_never_crash_on_garbage(tmp_path_factory, rows, fmt):
    base = tmp_path_factory.mktemp("fuzz")
    (base / "maps").mkdir()
    (base / "data").mkdir()
    (base / "maps" / "fuzz.yaml").write_text(FUZZ_MAP.format(ext=fmt, fmt=fmt))
    header = ["Name", "DOB", "NHS", "Postcode"]
    if fmt == "csv":
        import csv

        with (base / "data" / "f.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for r in rows:
                writer.writerow([str(c) for c in r])
    else:
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append(header)
        for r in rows:
            sheet.append([_xlsx_safe(c) for c in r])
        book.save(base / "data" / "f.xlsx")
    store = embedded_store(base / "engine")
    try:
        result = run_load(store, base / "data", mappings=base / "maps", as_of=AS_OF)
    finally:
        store.drop_all()
        store.close()
    counts = result.report.sources["fuzz"]
    assert counts.closes
    assert all(q.reason for q in result.quarantine)


def test_a_row_is_numbered_by_the_line_it_starts_on(tmp_path):
    """Quarantine and provenance name the line a row starts on, as an editor shows it:
    cells that run over several lines (a line feed, a lone carriage return, CR LF) and
    blank lines between rows must not shift the rows after them."""
    from loaders.readers import read_rows

    (tmp_path / "fuzz.yaml").write_text(FUZZ_MAP.format(ext="csv", fmt="csv"))
    mapping = load_mapping(tmp_path / "fuzz.yaml")
    lines = [
        "Name,DOB,NHS,Postcode",  # line 1
        "Ann One,01/01/2015,,NM1 2AB",  # 2
        '"Bea\nTwo",01/01/2015,,NM1 2AB',  # 3-4
        "",  # 5
        "Cal Three,01/01/2015,,NM1 2AB",  # 6
        '"Dee\rFour",01/01/2015,,NM1 2AB',  # 7-8 (a lone CR ends a line too)
        '"Eve\r\nFive\nSix",01/01/2015,,NM1 2AB',  # 9-11
        "Fay Seven,01/01/2015,,NM1 2AB",  # 12
    ]
    path = tmp_path / "f.csv"
    path.write_bytes("\r\n".join(lines).encode())
    rows = list(read_rows(mapping, path, "f.csv"))
    assert [(r.row, r.values["Name"].split()[0].split("\r")[0]) for r in rows] == [
        (2, "Ann"),
        (3, "Bea"),
        (6, "Cal"),
        (7, "Dee"),
        (9, "Eve"),
        (12, "Fay"),
    ]


def _xlsx_safe(value: object) -> object:
    """Control characters cannot be stored in a worksheet at all; Excel never holds them."""
    if isinstance(value, str):
        return "".join(ch for ch in value if ch >= " " or ch in "\t\n")[:3000]
    return value


def test_empty_and_broken_files_are_reported_not_fatal(tmp_path):
    (tmp_path / "maps").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "maps" / "x.yaml").write_text(FUZZ_MAP.format(ext="xlsx", fmt="xlsx"))
    (tmp_path / "data" / "broken.xlsx").write_bytes(b"not a zip file at all")
    store = embedded_store(tmp_path / "engine")
    try:
        result = run_load(store, tmp_path / "data", mappings=tmp_path / "maps", as_of=AS_OF)
    finally:
        store.close()
    assert any("not a readable xlsx" in q.reason for q in result.quarantine)


# -- reloads, crashes, review decisions, tell-us-once ----------------------------------

DUMP_NODES = "MATCH (n) RETURN labels(n) AS l, properties(n) AS p"
DUMP_RELS = "MATCH (a)-[r]->(b) RETURN a.uid AS a, type(r) AS t, properties(r) AS p, b.uid AS b"


def _content(store) -> tuple[list, list]:
    nodes = sorted(
        repr((sorted(r["l"]), sorted((k, v) for k, v in r["p"].items() if not written_when(k))))
        for r in store.read(DUMP_NODES, max_rows=10**7).rows
    )
    rels = sorted(
        repr((r["a"], r["t"], sorted(r["p"].items()), r["b"]))
        for r in store.read(DUMP_RELS, max_rows=10**7).rows
    )
    return nodes, rels


@pytest.fixture(scope="module")
def tiny_county(tmp_path_factory) -> Path:
    from synthetic.generate import generate

    out = tmp_path_factory.mktemp("county_tiny")
    generate(300, 5, out, as_of=AS_OF)
    return out


def test_loading_twice_leaves_the_graph_unchanged(tiny_county, tmp_path):
    store = embedded_store(tmp_path / "engine")
    try:
        store.ensure_schema()
        run_load(store, tiny_county, as_of=AS_OF)
        first = _content(store)
        run_load(store, tiny_county, as_of=AS_OF)
        second = _content(store)
    finally:
        store.close()
    assert len(first[0]) > 1000
    assert first == second


def test_a_load_leaves_the_garbage_collector_alone(tiny_county, tmp_path):
    """The collector's settings are the entry point's to make, not the loader's."""
    import gc

    store = embedded_store(tmp_path / "engine")
    before = gc.get_threshold(), gc.get_freeze_count()
    try:
        run_load(store, tiny_county, as_of=AS_OF)
        assert (gc.get_threshold(), gc.get_freeze_count()) == before
    finally:
        store.close()


def test_the_load_command_spaces_out_collections_and_gives_them_back(tiny_county, tmp_path):
    """`jigsaw load`'s settings hold while the load runs and are undone after it, even
    when it fails."""
    import gc

    from ui.cli.collector import collector_for_load

    store = embedded_store(tmp_path / "engine")
    before = gc.get_threshold()
    seen: list[tuple[str, int]] = []
    try:
        with collector_for_load() as after_stage:
            run_load(
                store,
                tiny_county,
                as_of=AS_OF,
                after_stage=lambda name: (
                    after_stage(name) or seen.append((name, gc.get_threshold()[2]))
                ),
            )
        assert [n for n, _ in seen] == [name for name, _ in load_module.STAGES]
        assert {threshold for _, threshold in seen} == {1000}
        assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)
        with pytest.raises(MappingError), collector_for_load():
            run_load(store, tmp_path / "no such directory", as_of=AS_OF)
        assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)
    finally:
        store.close()


def test_a_killed_load_finishes_when_run_again(tiny_county, tmp_path):
    reference = embedded_store(tmp_path / "engine", "reference")
    try:
        reference.ensure_schema()
        run_load(reference, tiny_county, as_of=AS_OF)
        expected = _content(reference)
    finally:
        reference.close()
    env = {
        **os.environ,
        "JIGSAW_GRAPH_NAME": "crashed",
        "JIGSAW_GRAPH_URL": str(tmp_path / "engine"),
        "JIGSAW_DATA_DIR": str(tmp_path),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from ui.cli import main; main()",
            "load",
            str(tiny_county),
            "--as-of",
            AS_OF.isoformat(),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    store = embedded_store(tmp_path / "engine", "crashed")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            n = store.read("MATCH (s:SourceRecord) RETURN count(s) AS n").rows[0]["n"]
            if n > 0:
                break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        partial = _content(store)
        assert partial != expected  # it really died part way
        run_load(store, tiny_county, as_of=AS_OF)
        assert _content(store) == expected
    finally:
        store.close()


@pytest.mark.parametrize(("how", "bulk"), [([], True), (["--no-bulk"], False)])
def test_the_load_command_writes_new_rows_in_bulk_unless_told_not_to(
    tiny_county, tmp_path, how, bulk
):
    env = {
        **os.environ,
        "JIGSAW_GRAPH_NAME": "cli",
        "JIGSAW_GRAPH_URL": str(tmp_path / "engine"),
        "JIGSAW_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-c", "from ui.cli import main; main()", "load"]
    done = subprocess.run(
        [*command, str(tiny_county), "--as-of", AS_OF.isoformat(), *how],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "loads" / "latest" / "report.json").read_text())
    assert report["written"]["people"] > 100
    assert (report["bulk_written"].get("people") == report["written"]["people"]) is bulk
    assert bool(report["bulk_written"]) is bulk
    assert "by the engine's bulk insertion" in done.stdout


def _niceness(pid: int) -> int | None:
    """A process's nice value, from /proc (None once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[16])  # field 19 of proc(5)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_load_command_yields_the_cpu_to_the_apps_users_but_not_the_engine(
    tiny_county, tmp_path
):
    env = {
        **os.environ,
        "JIGSAW_GRAPH_NAME": "nice",
        "JIGSAW_GRAPH_URL": str(tmp_path / "engine"),
        "JIGSAW_DATA_DIR": str(tmp_path),
        "JIGSAW_LOAD_NICENESS": "7",
    }
    ours = _niceness(os.getpid())
    command = [sys.executable, "-c", "from ui.cli import main; main()", "load"]
    proc = subprocess.Popen(
        [*command, str(tiny_county), "--as-of", AS_OF.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen, engine = set(), set()
    while proc.poll() is None:
        seen.add(_niceness(proc.pid))
        engine |= {_niceness(pid) for pid in _servers_in(tmp_path / "engine")}
        time.sleep(0.01)
    assert proc.returncode == 0
    assert min(ours + 7, 19) in seen  # the load ran at a lower priority once the engine was open
    assert engine - {None} == {ours}  # the engine it started serves the app as before


def _servers_in(folder: Path) -> list[int]:
    """The embedded engine servers working in ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                b"redis-server" in (entry / "cmdline").read_bytes()
                and Path(os.readlink(entry / "cwd")) == folder
            ):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def test_review_decisions_stick_across_reloads(tiny_county, tmp_path):
    store = embedded_store(tmp_path / "engine")
    try:
        store.ensure_schema()
        run_load(store, tiny_county, as_of=AS_OF)
        queue = pending(store)
        assert len(queue) >= 2, "the tiny county should leave some pairs for review"
        # the review page reads the count and the first few, not the whole queue
        assert pending_count(store) == len(queue) and pending(store, first=2) == queue[:2]
        order = [(p["impact"], p["probability"]) for p in queue]  # most children first
        assert order == sorted(order, reverse=True)
        people_before = store.read("MATCH (p:Person) RETURN count(p) AS n").rows[0]["n"]
        accepted, rejected = queue[0], queue[1]
        kept = decide(store, accepted["uid"], True, "reviewer")
        decide(store, rejected["uid"], False, "reviewer")
        after = store.read("MATCH (p:Person) RETURN count(p) AS n").rows[0]["n"]
        assert after == people_before - 1
        # the kept person's derived facts follow the merge: open services worked out
        # again, kept risk factors forgotten until the next load
        derived = store.read(
            "MATCH (p:Person {uid: $u}) OPTIONAL MATCH (p)-[:HAS_CASE]->(k:Case)-[:WITH_SERVICE]->"
            "(s:Service) WHERE k.status = 'open' "
            "RETURN p.open_service_count AS n, p.risk_year_group AS kept, "
            "count(DISTINCT s) AS open",
            {"u": kept},
        ).rows[0]
        assert derived["n"] == derived["open"] and derived["kept"] is None
        assert kept_needs_tally(store) is None  # the forecast counts from the records
        run_load(store, tiny_county, as_of=AS_OF)
        statuses = {
            r["uid"]: r["status"]
            for r in store.read("MATCH (r:ReviewPair) RETURN r.uid AS uid, r.status AS status").rows
        }
        assert statuses[accepted["uid"]] == "accepted"
        assert statuses[rejected["uid"]] == "rejected"
        assert store.read("MATCH (p:Person) RETURN count(p) AS n").rows[0]["n"] == after
        assert (
            store.read("MATCH (p:Person {uid: $u}) RETURN count(p) AS n", {"u": kept}).rows[0]["n"]
            == 1
        )
        ids = [p["uid"] for p in rejected["people"]]
        assert (
            store.read(
                "MATCH (p:Person) WHERE p.uid IN $ids RETURN count(p) AS n", {"ids": ids}
            ).rows[0]["n"]
            == 2
        )
    finally:
        store.close()


def test_new_address_closes_the_old_one(tmp_path):
    """Tell us once: a later extract with a move closes the earlier residence."""
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "homes.yaml").write_text(
        textwrap.dedent("""\
        source: homes
        files: "homes_*.csv"
        columns:
          NHS: person.nhs_number
          First: person.given_name
          Last: person.family_name
          Born: person.dob
          Line: address.line1
          Postcode: address.postcode
          Since: address.from
        """)
    )
    header = "NHS,First,Last,Born,Line,Postcode,Since\n"
    data = tmp_path / "data"
    data.mkdir()
    (data / "homes_1.csv").write_text(
        header + "9434765919,Ann,Lee,2015-03-04,1 Oak Road,NM1 2AB,2016-01-01\n"
    )
    store = embedded_store(tmp_path / "engine")
    query = (
        "MATCH (:Person {nhs_number: '9434765919'})-[r:LIVES_AT]->(a:Address) "
        "RETURN a.line1 AS line, r.from AS f, r.to AS t ORDER BY f"
    )
    try:
        run_load(store, data, mappings=maps, as_of=AS_OF)
        assert store.read(query).rows == [
            {"line": "1 Oak Road", "f": dt.date(2016, 1, 1), "t": None}
        ]
        shutil.move(data / "homes_1.csv", tmp_path / "old.csv")  # only the new extract
        (data / "homes_2.csv").write_text(
            header + "9434765919,Ann,Lee,2015-03-04,9 Elm Close,NM2 3AB,2025-06-01\n"
        )
        run_load(store, data, mappings=maps, as_of=AS_OF)
        assert store.read(query).rows == [
            {"line": "1 Oak Road", "f": dt.date(2016, 1, 1), "t": dt.date(2025, 6, 1)},
            {"line": "9 Elm Close", "f": dt.date(2025, 6, 1), "t": None},
        ]
        assert store.read("MATCH (p:Person) RETURN count(p) AS n").rows[0]["n"] == 1
    finally:
        store.close()


def test_a_load_is_not_cut_by_the_interactive_query_timeout(tiny_county, tmp_path):
    """The query timeout stops a page waiting on a runaway query; a load is a batch job
    whose own reads (earlier assignments, the alert baseline, the risk factors it keeps)
    take seconds at county scale, so it runs them without that limit."""
    store = embedded_store(tmp_path / "engine")
    store.timeout_ms = 1
    try:
        store.ensure_schema()
        result = run_load(store, tiny_county, as_of=AS_OF)
        assert result.report.finished and result.report.risk_factors_kept > 0
        assert store.timeout_ms == 1  # the interactive limit is back afterwards
    finally:
        store.close()


def test_a_merge_works_out_the_kept_persons_derived_facts_again(tiny_county, tmp_path):
    """Merging moves the dropped person's cases onto the kept one: its open services
    must count them, and risk factors kept for it alone no longer describe it."""
    from graph.review_queue import merge_people

    store = embedded_store(tmp_path / "engine")
    try:
        store.ensure_schema()
        run_load(store, tiny_county, as_of=AS_OF)
        keep = store.read(
            "MATCH (p:Person) WHERE p.risk_year_group IS NOT NULL "
            "RETURN p.uid AS uid, coalesce(p.open_services, []) AS services LIMIT 1"
        ).rows[0]
        drop = store.read(
            "MATCH (p:Person)-[:HAS_CASE]->(k:Case {status: 'open'})-[:WITH_SERVICE]->(s:Service) "
            "WHERE p.uid <> $keep AND NOT s.uid IN $services RETURN p.uid AS uid LIMIT 1",
            {"keep": keep["uid"], "services": keep["services"]},
        ).rows[0]["uid"]
        merge_people(store, keep["uid"], drop, "R-test")
        after = store.read(
            "MATCH (p:Person {uid: $u}) OPTIONAL MATCH (p)-[:HAS_CASE]->(k:Case)-[:WITH_SERVICE]->"
            "(s:Service) WHERE k.status = 'open' "
            "RETURN p.open_service_count AS n, p.risk_year_group AS kept, "
            "count(DISTINCT s) AS open",
            {"u": keep["uid"]},
        ).rows[0]
        assert after["open"] > len(keep["services"])  # the merge brought an open service
        assert after["n"] == after["open"] and after["kept"] is None
    finally:
        store.close()


def test_derived_facts_follow_the_cases_when_they_change(store):
    """A load works the derived facts out again from every case: a case that closes
    takes its service off the person, one that opens adds it, a worker's allocation
    that ends leaves the case unheld. The statements skip what has not changed (a SET
    that changes nothing costs as much on FalkorDB, see loaders.write), so each change
    must still come through."""
    from loaders.derive import CASE_WORKERS as DERIVE_CASE_WORKERS
    from loaders.derive import OPEN_SERVICES as DERIVE_OPEN_SERVICES

    store.write(
        "CREATE (send:Service {uid: 'send'}), (sc:Service {uid: 'social-care'}), "
        "(a:Person {uid: 'A'})-[:HAS_CASE]->(:Case {uid: 'k1', kind: 'EHCP', status: 'open'})"
        "-[:WITH_SERVICE]->(send), "
        "(a)-[:HAS_CASE]->(k2:Case {uid: 'k2', kind: 'CIN', status: 'closed'})"
        "-[:WITH_SERVICE]->(sc), "
        "(b:Person {uid: 'B'})-[:HAS_CASE]->(:Case {uid: 'k3', kind: 'CIN', status: 'open'})"
        "-[:WITH_SERVICE]->(sc), "
        "(:Professional {uid: 'W'})-[:WORKS_ON]->(k2)"
    )

    def derived() -> dict:
        people = store.read(
            "MATCH (p:Person) RETURN p.uid AS uid, p.open_services AS services, "
            "p.open_case_kinds AS kinds, p.open_service_count AS n ORDER BY uid"
        ).rows
        cases = store.read("MATCH (k:Case) RETURN k.uid AS uid, k.workers AS w ORDER BY uid").rows
        return {r["uid"]: (r["services"], r["kinds"], r["n"]) for r in people} | {
            r["uid"]: r["w"] for r in cases
        }

    def derive() -> int:
        return sum(
            store.write(q).properties_set for q in (DERIVE_CASE_WORKERS, DERIVE_OPEN_SERVICES)
        )

    assert derive() == 3 + 3 * 2  # every case's workers; three facts for each person
    assert derived() == {
        "A": (["send"], ["EHCP"], 1),
        "B": (["social-care"], ["CIN"], 1),
        "k1": 0,
        "k2": 1,
        "k3": 0,
    }
    before = derived()
    assert derive() == 0 and derived() == before  # derived again: the same
    store.write(
        "MATCH (k2:Case {uid: 'k2'}), (k3:Case {uid: 'k3'}), (:Professional)-[w:WORKS_ON]->(k2) "
        "SET k2.status = 'open', k3.status = 'closed', w.to = date('2026-10-01')"
    )
    assert derive() == 1 + 3 * 2  # k2's workers; A's and B's facts
    after = derived()
    assert sorted(after["A"][0]) == ["send", "social-care"] and sorted(after["A"][1]) == [
        "CIN",
        "EHCP",
    ]
    assert after["A"][2] == 2 and after["B"] == ([], [], 0) and after["k2"] == 0
    # the lists are sets: the same services in another order are not a change (a load
    # creates new people with them sorted, the graph's walk need not be)
    store.write(
        "MATCH (p:Person {uid: 'A'}) SET p.open_services = reverse(p.open_services), "
        "p.open_case_kinds = reverse(p.open_case_kinds)"
    )
    assert derived()["A"][0] == list(reversed(after["A"][0]))
    assert derive() == 0


def test_a_delta_closes_superseded_residences_of_the_people_whose_residences_it_wrote(store):
    """A newer move closes the residence still open before it, on the day of the move.
    A delta looks among the people it wrote a residence of only (nobody else's changed);
    a load that cannot say so (here: the graph changed beside it) looks at everyone."""
    from types import SimpleNamespace

    from graph import version
    from loaders.load import _close_superseded
    from loaders.unchanged import Touched

    store.write(
        "CREATE (a:Person {uid: 'A'}), (b:Person {uid: 'B'}), (h1:Address {uid: 'h1'}), "
        "(h2:Address {uid: 'h2'}), (h3:Address {uid: 'h3'}), "
        "(a)-[:LIVES_AT {from: date('2020-01-01')}]->(h1), "
        "(a)-[:LIVES_AT {from: date('2024-05-01')}]->(h2), "
        "(b)-[:LIVES_AT {from: date('2019-03-01')}]->(h1), "
        "(b)-[:LIVES_AT {from: date('2025-07-01')}]->(h3)"
    )

    def open_since() -> dict[str, list[str]]:
        rows = store.read(
            "MATCH (p:Person)-[r:LIVES_AT]->(a:Address) RETURN p.uid AS p, a.uid AS a, "
            "toString(r.to) AS to ORDER BY p, a"
        ).rows
        return {p: [r["to"] for r in rows if r["p"] == p] for p in ("A", "B")}

    moved = Touched(named={("LIVES_AT", "Person"): {"A"}, ("LIVES_AT", "Address"): {"h2"}})
    load = SimpleNamespace(
        store=store,
        report=SimpleNamespace(write_seconds={}),
        touched=moved,
        stamped=version.current(store),
    )
    everyone = SimpleNamespace(existed=lambda _label, uids: bool(list(uids)))
    rows = SimpleNamespace(lives_at=[{"person": "A"}, {"person": "B"}])
    _close_superseded(load, everyone, rows)
    assert open_since() == {"A": ["2024-05-01", None], "B": [None, None]}
    load.stamped = "another"  # a review decision beside the load: everyone's looked at
    _close_superseded(load, everyone, rows)
    assert open_since() == {"A": ["2024-05-01", None], "B": ["2025-07-01", None]}


# -- reading in worker processes ---------------------------------------------------


# The comparison runs in a script of its own, as the command line and the benchmark run
# a load: in this test process the fork server may already run, started by another test.
READ_BOTH_WAYS = """\
import datetime as dt, hashlib, json, multiprocessing, sys
from pathlib import Path
from loaders import extracts, load
from loaders.mapping import load_mappings
from loaders.progress import Silent
from loaders.report import LoadReport

class Watch(Silent):
    workers = 0
    def advance(self, amount=1):
        Watch.workers = max(Watch.workers, len(multiprocessing.active_children()))

def read(root, workers):
    Watch.workers = 0
    report = LoadReport(directory=str(root), started_at="t", as_of="2026-11-02")
    records, quarantine = [], []
    claimed = load.read_all(root, load_mappings(None), dt.date(2026, 11, 2), report,
                             records, quarantine, Watch(), workers)
    digest = lambda items: hashlib.sha256(repr(items).encode()).hexdigest()
    return {
        "records": len(records),
        "records_digest": digest([(r.uid, r.file, r.row, r.values, r.notes) for r in records]),
        "quarantine": [[q.file, q.row, q.reason] for q in quarantine],
        "quarantine_digest": digest(quarantine),
        "report": report.to_markdown(),
        "claimed": sorted(str(p) for p in claimed),
        "workers_seen": Watch.workers,
    }

if __name__ == "__main__":
    extracts.PARALLEL_MIN_BYTES = 0
    root = Path(sys.argv[1])
    print(json.dumps({"serial": read(root, 1), "parallel": read(root, 2)}))
"""


def test_reading_in_worker_processes_gives_the_same_records_in_the_same_order(
    small_county: Path, tmp_path: Path
):
    import json

    root = tmp_path / "county"
    shutil.copytree(small_county, root)
    # a file that cannot be read at all, and one whose rows all fail validation
    (root / "send" / "ehcp_register.xlsx").write_bytes(b"not a zip file at all")
    census = next((root / "school_census").glob("census_*.csv"))
    header = census.read_text().splitlines()[0]
    bad = root / "school_census" / "census_zz_bad.csv"
    bad.write_text(header + "\n" + ",".join(["x"] * (header.count(",") + 1)))
    script = tmp_path / "read_both_ways.py"
    script.write_text(READ_BOTH_WAYS)
    done = subprocess.run(
        [sys.executable, str(script), str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert "reading workers failed" not in done.stderr
    both = json.loads(done.stdout)
    serial, parallel = both["serial"], both["parallel"]
    assert serial.pop("workers_seen") == 0 and parallel.pop("workers_seen") >= 1
    assert parallel == serial
    assert serial["records"] > 10_000
    assert any("not a readable xlsx" in q[2] for q in serial["quarantine"])
    assert ["school_census/census_zz_bad.csv", 2] in [q[:2] for q in serial["quarantine"]]


UNGUARDED_SCRIPT = """\
import datetime as dt, multiprocessing, os, signal, sys, threading, time
from pathlib import Path
from loaders.extracts import Extract, read_extracts
from loaders.mapping import load_mappings
root, workers, kill = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "kill"
extracts = [Extract(m, p, str(p.relative_to(root)))
            for m in load_mappings(None) for p in sorted(root.glob(m.files))]

def killer():  # a worker killed as it starts, as one out of memory is
    while not multiprocessing.active_children():
        time.sleep(0.001)
    os.kill(multiprocessing.active_children()[0].pid, signal.SIGKILL)

if kill:
    threading.Thread(target=killer, daemon=True).start()
outcomes = read_extracts(extracts, dt.date(2026, 11, 2), workers=workers, min_bytes=0)
print(sum(len(o.records) for o in outcomes))
"""


def test_workers_read_for_a_script_without_the_guard_and_the_loading_process_after_one_dies(
    small_county: Path, tmp_path: Path
):
    # A script without the `if __name__ == "__main__"` guard: the workers do not run it
    # again (it would start workers of its own). A worker that dies breaks the pool; the
    # load must still read every file.
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(workers: int, kill: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(script), str(small_county), str(workers), str(kill and "kill")],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=True,
        )

    parallel, broken, serial = run(2), run(2, kill=True), run(1)
    assert "reading workers failed" not in parallel.stderr
    assert "reading workers failed" in broken.stderr
    assert int(parallel.stdout) == int(broken.stdout) == int(serial.stdout) > 10_000


# A load run in a process whose __main__ is a Streamlit page (Streamlit runs a page as
# a module named __main__ and leaves it there: the app, the suite after its app tests).
# The page opens the store its settings name, which are the defaults where it runs.
PAGE = """\
from graph import open_store
open_store()
"""
LOAD_UNDER_A_PAGE = """\
import datetime as dt, sys, types
from pathlib import Path
from graph import load_settings, open_store
from loaders import extracts
from loaders.load import run_load

if __name__ == "__main__":
    root, data, page = (Path(a) for a in sys.argv[1:4])
    left = types.ModuleType("__main__")  # as Streamlit leaves a page it ran
    left.__file__ = str(page)
    sys.modules["__main__"] = left
    extracts.PARALLEL_MIN_BYTES = 0  # the small county read by workers, as a county is
    settings = load_settings(data_dir=data)
    store = open_store(settings)
    store.ensure_schema()
    result = run_load(store, root, as_of=dt.date(2026, 11, 2), loads_dir=data / "loads",
                      read_workers=2)
    store.close()
    print(result.report.people)
"""


def test_a_load_under_a_page_starts_no_engine_on_the_default_data_folder(
    small_county: Path, tmp_path: Path
):
    """Its reading workers do not run the page again: on the working folder's default
    ``data/`` nothing is written and no engine starts."""
    from graph.engines.falkordb_start import stop

    here = tmp_path / "here"
    (here / "data").mkdir(parents=True)
    (tmp_path / "page.py").write_text(PAGE)
    (tmp_path / "load.py").write_text(LOAD_UNDER_A_PAGE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIGSAW_")}
    env["PYTHONPATH"] = str(ROOT)
    try:
        done = subprocess.run(
            [
                sys.executable,
                str(tmp_path / "load.py"),
                str(small_county),
                str(tmp_path / "data"),
                str(tmp_path / "page.py"),
            ],
            cwd=here,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        assert "reading workers failed" not in done.stderr
        assert int(done.stdout) > 1_000
        assert list((here / "data").iterdir()) == []
    finally:
        stop(here / "data" / "graph")
        stop(tmp_path / "data" / "graph")


def test_person_uids_keep_earlier_people_and_name_new_ones_from_their_least_record():
    from loaders.build import person_uid
    from loaders.identities import person_uids as _person_uids

    # clusters keyed by their least record, as linkage gives them
    cluster_of = {
        "a": "a",
        "b": "a",  # was P-1 (b), and claims it first in cluster order
        "c": "c",  # was P-1 too: taken by cluster a, so a new uid
        "d": "d",
        "e": "d",
        "f": "d",  # P-2 once, P-3 twice: the majority
        "g": "g",
        "h": "g",  # P-4 and P-5 once each: the first listed
        "k": "i",
        "i": "i",
        "j": "i",  # nobody before: from its least record
    }
    existing = {"b": "P-1", "c": "P-1", "d": "P-2", "e": "P-3", "f": "P-3", "h": "P-5", "g": "P-4"}
    got = _person_uids(cluster_of, existing)
    assert got == {
        "a": "P-1",
        "b": "P-1",
        "c": person_uid(["c"]),
        "d": "P-3",
        "e": "P-3",
        "f": "P-3",
        "g": "P-4",
        "h": "P-4",
        "i": person_uid(["i", "j", "k"]),
        "j": person_uid(["i"]),
        "k": person_uid(["k", "i"]),
    }
    # a first load: every cluster new
    assert _person_uids(cluster_of, {})["b"] == person_uid(["a", "b"])


def test_new_records_join_the_graphs_person_they_name_first_the_least_uid_where_shared():
    """adopt_existing: a cluster all of whose records are new joins the person one of
    its records names, by its keys in order (each record's checked identifiers, then its
    name and birth date), the least person uid where two share the key; an untrusted
    identifier names no one, and a cluster with a record loaded before is left alone."""
    from loaders.identities import adopt_existing
    from loaders.linkage import Identity

    anchors = {  # ANCHOR_FIELDS: given, family, dob, upn, nhs, uln, la_child_id
        "P-9": ("Amy", "Lee", "2014-03-02", "", "", "", ""),
        "P-2": ("amy", "LEE", "2014-03-02", "", "", "", ""),  # the same key, less uid
        "P-5": ("Bob", "Ray", "2013-01-01", "U1", "", "", ""),
        "P-7": ("Cat", "Day", "2012-02-02", "", "N1", "", "C9"),
    }
    records = [
        Identity("a", given="Amy", family="Lee", dob="2014-03-02"),  # by name: P-2
        Identity("b", given="Bob", family="Ray", dob="2013-01-01", upn="U1"),
        Identity("b2", given="Amy", family="Lee", dob="2014-03-02"),  # b's: upn first
        Identity("c", given="Cat", family="Day", nhs="N1", trusted=False),  # untrusted
        Identity("d", la_id="C9"),
        Identity("e", given="Amy", family="Lee", dob="2014-03-02"),  # with a kept record
        Identity("f", given="Old", family="One"),
    ]
    cluster_of = {"a": "a", "b": "b", "b2": "b", "c": "c", "d": "d", "e": "e", "f": "e"}
    existing = {"f": "P-1"}
    adopt_existing(cluster_of, records, existing, anchors)
    assert existing == {"f": "P-1", "a": "P-2", "b": "P-5", "b2": "P-5", "d": "P-7"}


def test_each_identifier_linkage_checks_finds_the_person_holding_it_as_a_person_property():
    """adopt_existing's identifiers are linkage's (``ID_FIELDS``), each read from the
    graph's Person property holding it (written out here: the upn, the NHS number, the
    ULN and the case system's child id): a new record with only that identifier joins
    the person whose anchor holds it, and the graph's read of people returns them."""
    from loaders.identities import EXISTING_PEOPLE, adopt_existing
    from loaders.linkage import Identity
    from loaders.linkage.identity import ID_FIELDS
    from loaders.people_kept import anchor_fields

    properties = {"upn": "upn", "nhs": "nhs_number", "uln": "uln", "la_id": "la_child_id"}
    assert set(ID_FIELDS) == set(properties)
    for name, prop in properties.items():
        anchors = {
            "P-1": anchor_fields({"given_name": "Amy", prop: "X1"}),
            "P-2": anchor_fields(
                {"given_name": "Ben", **{p: "X1" for p in properties.values() if p != prop}}
            ),
        }
        existing: dict[str, str] = {}
        adopt_existing({"r": "r"}, [Identity("r", **{name: "X1"})], existing, anchors)
        assert existing == {"r": "P-1"}, name
        assert f"p.{prop} AS {prop}" in EXISTING_PEOPLE


def test_person_uids_found_in_bulk_are_those_found_a_cluster_at_a_time():
    """A delta's clusters, nearly all one earlier person each, take their uids in bulk;
    the uids are those the clusters taken one at a time in root order give (written out
    here from the rule: the commonest earlier uid no cluster before took, else one made
    from the least record), in small worlds where earlier uids are shared, split, and
    equal to the uid a new cluster makes from its least record."""
    import random
    from collections import Counter

    from loaders.build import person_uid
    from loaders.identities import person_uids as _person_uids

    def one_at_a_time(cluster_of: dict[str, str], existing: dict[str, str]) -> dict[str, str]:
        members: dict[str, list[str]] = {}
        for rid, root in cluster_of.items():
            members.setdefault(root, []).append(rid)
        used: set[str] = set()
        uid_of = {}
        for root in sorted(members):
            earlier = Counter(existing[r] for r in members[root] if r in existing)
            uid = next((u for u, _ in earlier.most_common() if u not in used), None)
            uid_of[root] = uid or person_uid([min(members[root])])
            used.add(uid_of[root])
        return {rid: uid_of[root] for rid, root in cluster_of.items()}

    rng = random.Random(5)
    for _ in range(2000):
        rids = list(dict.fromkeys(f"r{rng.randint(0, 30):02d}" for _ in range(rng.randint(1, 12))))
        group = {r: rng.choice(rids) for r in rids}
        least = {g: min(r for r in rids if group[r] == g) for g in group.values()}
        cluster_of = {r: least[group[r]] for r in rids}
        pool = [f"P{k}" for k in range(4)] + [person_uid([r]) for r in rids[:3]]
        existing = {r: rng.choice(pool) for r in rids if rng.random() < 0.7}
        assert _person_uids(cluster_of, existing) == one_at_a_time(cluster_of, existing)


def test_the_pair_standing_for_two_clusters_does_not_depend_on_scoring_order(monkeypatch):
    """DuckDB returns scored pairs in no fixed order; the review queue must not change
    with it (which of two equally likely pairs stands for the two people)."""
    from loaders import linkage
    from loaders.linkage.model import Scored

    people = [
        linkage.Identity(rid=rid, given="Sam", family="Ray", dob="2012-01-0" + n)
        for rid, n in (("a1", "1"), ("a2", "1"), ("b1", "2"), ("b2", "2"))
    ]  # a1, a2 one person (same signature), b1, b2 another
    scored = [("a2", "b1", 0.7, "given"), ("a1", "b2", 0.7, "family"), ("a1", "b1", 0.6, "")]

    def review(order: list) -> list:
        pairs = Scored(
            left=[p[0] for p in order],
            right=[p[1] for p in order],
            probability=[p[2] for p in order],
            agreed=[p[3] for p in order],
        )
        monkeypatch.setattr(linkage, "_people_pairs", lambda *args: pairs)
        return [(c.left, c.right, c.agreed) for c in linkage.link(people).review]

    assert review(scored) == review(scored[::-1]) == [("a1", "b2", "family")]


def test_a_file_s_repeated_cells_read_as_each_would_alone(tmp_path):
    """Validation remembers what each column's texts read as; a spreadsheet's 1.0 and
    True are equal keys that read differently, and a dropped value is noted on every
    row that holds it."""
    from loaders.readers import RawRow
    from loaders.validate import Record, Validator

    path = tmp_path / "pupils.yaml"
    path.write_text(
        "source: pupils\nfiles: pupils.xlsx\nformat: xlsx\ncolumns:\n"
        "  Surname: person.family_name\n  First: person.given_name\n  UPN: person.upn\n"
        "  FSM: person.fsm\n"
        "  Possible: attendance.possible\n"
    )
    validate = Validator(load_mapping(path), {}, AS_OF)
    cells = [  # (FSM, Possible) as a spreadsheet holds them, then what each reads as
        (1.0, 1.0, True, 1),
        (True, True, True, None),  # True is no whole number: dropped, with a note
        ("1", "1", True, 1),
        ("no", "1.0", False, 1),
        (0, True, False, None),
    ]
    for row, (fsm, possible, want_fsm, want_possible) in enumerate(cells * 2, start=2):
        raw = {
            "Surname": "Smith",
            "First": "Ann",
            "UPN": "A12345678901X",
            "FSM": fsm,
            "Possible": possible,
        }
        record = validate(RawRow("pupils.xlsx", row, raw))
        assert isinstance(record, Record)
        assert record.values.get("person.fsm") is want_fsm, (row, fsm)
        assert record.values.get("attendance.possible") == want_possible, (row, possible)
        assert "person.upn" not in record.values  # a failed check letter: dropped each time
        assert any(n.startswith("UPN dropped") for n in record.notes)
        if want_possible is None:
            assert any(n.startswith("Possible dropped") for n in record.notes)
