"""Saved queries and the runner: metadata, parameters, read-only, limits, answers.

Answers are compared with the synthetic county's ground truth, computed with pandas
from truth/*.csv (tests/truth.py); a graph person is mapped to the true person most
of its source records belong to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graph import QueryTimeout, ReadOnlyViolation
from graph.access.audit import AuditLog
from graph.access.policy import Principal, load_policy
from queries.library import LibraryError, load_library
from queries.runner import (
    ParamValidationError,
    QueryDenied,
    run_adhoc,
    run_saved,
    validate_params,
)
from tests import truth as t
from tests.conftest import AS_OF

ROOT = Path(__file__).resolve().parent.parent


def _truth_set(rows, column, true_person) -> set[str]:
    return {true_person[r[column]] for r in rows}


# -- the library ---------------------------------------------------------------------


def test_library_covers_the_users_needs():
    library = load_library()
    assert len(library) >= 15
    roles = set(load_policy().roles)
    for q in library:
        assert q.title and q.description and q.roles
        assert set(q.roles) <= roles, q.id
    for needed in (
        "siblings_of_open_send",
        "family_network",
        "professionals_for_family",
        "known_to_three_services",
        "persistent_absence_open_case",
        "siblings_also_excluded",
        "moved_into_deprived_area",
        "safety_notes_for_family",
        "open_cases_no_worker",
        "caseload_per_professional",
        "caseload_per_team",
        "looked_after_out_of_area",
        "young_carers",
        "duplicates_awaiting_review",
        "need_by_next_school",
        "child_history_as_at",
    ):
        library.get(needed)


def test_bad_metadata_fails_naming_the_file(tmp_path):
    (tmp_path / "q.yaml").write_text(
        "title: T\ndescription: D\nroles: [analyst]\nparams:\n  - {name: n, kind: numbr}\n"
    )
    (tmp_path / "q.cypher").write_text("RETURN $n AS n")
    with pytest.raises(LibraryError, match=r"q.yaml: params.0.kind"):
        load_library(tmp_path)
    (tmp_path / "q.yaml").write_text("title: T\ndescription: D\nroles: [analyst]\n")
    with pytest.raises(LibraryError, match=r"undeclared parameter\(s\) n"):
        load_library(tmp_path)
    # the kept day belongs to a query whose answers a load keeps: one with a config
    (tmp_path / "q.yaml").write_text(
        "title: T\ndescription: D\nroles: [analyst]\n"
        "params:\n  - {name: n, kind: date, default: kept}\n"
    )
    with pytest.raises(LibraryError, match=r"q.yaml: .*only a query with a config"):
        load_library(tmp_path)
    # a fixed default day that is no day fails when the library loads, not in a form
    (tmp_path / "q.yaml").write_text(
        "title: T\ndescription: D\nroles: [analyst]\n"
        "params:\n  - {name: n, kind: date, default: '2026-13-01'}\n"
    )
    with pytest.raises(LibraryError, match=r"q.yaml: .*a date's default is a day like"):
        load_library(tmp_path)
    (tmp_path / "q.yaml").write_text(  # unquoted, YAML itself reads it as a day
        "title: T\ndescription: D\nroles: [analyst]\n"
        "params:\n  - {name: n, kind: date, default: 2026-13-01}\n"
    )
    with pytest.raises(
        LibraryError, match=r"q.yaml: cannot read the query's metadata: month must be"
    ):
        load_library(tmp_path)


# -- parameters and safety -------------------------------------------------------------


def test_every_bad_parameter_is_reported_at_once(loaded_county):
    store = loaded_county.store
    query = load_library().get("family_network")
    with pytest.raises(ParamValidationError) as caught:
        validate_params(store, query, {"child": "P-nobody", "hops": "9", "colour": "red"})
    problems = caught.value.problems
    assert problems["child"] == "no child with id 'P-nobody'"
    assert problems["hops"] == "9 is above the maximum 3"
    assert "no parameter 'colour'" in problems["colour"]
    with pytest.raises(ParamValidationError, match="not a date"):
        validate_params(
            store, load_library().get("child_history_as_at"), {"child": "x", "as_of": "31/02/2026"}
        )
    with pytest.raises(ParamValidationError, match="is not one of"):
        validate_params(store, load_library().get("need_by_next_school"), {"need": "XX"})


def test_injection_through_parameters_does_nothing(loaded_county):
    store = loaded_county.store
    before = store.counts()
    evil = "x'}) DETACH DELETE n //"
    with pytest.raises(ParamValidationError, match="no child with id"):
        run_saved(store, "family_network", {"child": evil})
    result = run_adhoc(store, "MATCH (p:Person {uid: $u}) RETURN p.uid AS uid", {"u": evil})
    assert result.rows == []
    assert store.counts() == before


def test_adhoc_writes_are_refused_by_the_engine(loaded_county):
    store = loaded_county.store
    for text in (
        "CREATE (:Person {uid: 'intruder'})",
        "MATCH (p:Person) SET p.full_name = 'x'",
        "MATCH (p:Person) DETACH DELETE p",
    ):
        with pytest.raises(ReadOnlyViolation):
            run_adhoc(store, text)
    assert store.read("MATCH (p:Person {uid: 'intruder'}) RETURN count(p) AS n").rows[0]["n"] == 0


def test_row_cap_and_timeout_say_when_they_cut(loaded_county):
    store = loaded_county.store
    capped = run_adhoc(store, "MATCH (p:Person) RETURN p.uid AS uid", max_rows=25)
    assert capped.truncated and len(capped.rows) == 25
    assert "cut at the row cap of 25" in capped.message
    with pytest.raises(QueryTimeout):
        run_adhoc(
            store,
            "UNWIND range(1, 50000000) AS x WITH x WHERE x % 7 = 3 RETURN count(x) AS n",
            timeout_ms=50,
        )


def test_a_saved_query_may_declare_a_longer_time_limit(loaded_county, monkeypatch):
    from queries.library import get_query

    store = loaded_county.store
    assert get_query("risk_of_neet").timeout_ms == 120_000
    assert get_query("moved_into_deprived_area").timeout_ms is None
    # The limit each run gives the engine. Whether the engine stops a query of a few
    # milliseconds at 1 ms depends on when its timer fires: twice in full runs a
    # county-wide query finished within it, so the limit is read where it is passed.
    limits: dict[str, int | None] = {}  # query text -> the limit the runner asked for
    real_read = store.read

    def read(text, *args, **kwargs):
        limits[text] = kwargs.get("timeout_ms")
        return real_read(text, *args, **kwargs)

    monkeypatch.setattr(store, "read", read)
    before = store.timeout_ms
    store.timeout_ms = 1  # the interactive limit, far below what either query needs
    try:
        with contextlib.suppress(QueryTimeout):  # the engine usually stops it
            run_saved(store, "moved_into_deprived_area")
        # a day before the academic years the load kept: worked out from the records
        result = run_saved(store, "risk_of_neet", {"as_of": "2025-01-15", "band": "all"})
    finally:
        store.timeout_ms = before
    assert result.rows
    # none asked: the store's interactive limit (1 ms here); risk_of_neet: its own
    assert limits[get_query("moved_into_deprived_area").cypher] is None
    assert limits[get_query("risk_of_neet").cypher] == 120_000


def test_roles_pseudonymisation_and_audit(loaded_county, tmp_path):
    store = loaded_county.store
    audit = AuditLog(tmp_path / "audit.jsonl")
    live = run_saved(store, "young_carers").rows  # the code's own use: no principal
    analyst = Principal("ana", "analyst")
    result = run_saved(store, "young_carers", principal=analyst, audit=audit)
    assert result.pseudonymised and len(result.rows) == len(live)
    assert all(r["child_uid"].startswith("ps-") and r["child_name"] is None for r in result.rows)
    with pytest.raises(QueryDenied):
        run_saved(store, "caseload_per_team", principal=Principal("sw", "social_worker"))
    with pytest.raises(QueryDenied):
        run_adhoc(store, "RETURN 1 AS x", principal=Principal("sw", "social_worker"))
    nobody = Principal("sw", "social_worker")  # no caseload: nothing in scope
    assert run_saved(store, "young_carers", principal=nobody, audit=audit).rows == []
    entries = list(audit.entries())
    assert [e["action"] for e in entries] == ["run_query", "run_query"]
    assert entries[0]["detail"]["query"] == "young_carers"
    # the analyst saw pseudonyms; the audit names the children they stand for
    assert set(entries[0]["children"]) == {r["child_uid"] for r in live}
    assert entries[1]["children"] == []
    assert audit.verify() is None


def test_cli(loaded_county, engine_dir, tmp_path):
    from graph.access.accounts import Accounts

    Accounts(tmp_path / "users.json").add("tm", "team_manager", "a long enough password")
    Accounts(tmp_path / "users.json").add("sw", "social_worker", "a long enough password")
    env = {
        **os.environ,
        "JIGSAW_DATA_DIR": str(tmp_path),
        "JIGSAW_GRAPH_URL": str(engine_dir),
        "JIGSAW_GRAPH_NAME": "loaded_small",
        "JIGSAW_PASSWORD": "a long enough password",
    }
    run = [sys.executable, "-c", "from ui.cli import main; main()", "query"]

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*run, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )

    listed = cli("list")
    assert listed.returncode == 0 and "young_carers" in listed.stdout
    done = cli("run", "young_carers", "--as", "tm", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "child_uid,child_name,dob,school"
    assert cli("run", "nope", "--as", "tm").stderr.count("no saved query 'nope'") == 1
    nobody = cli("run", "young_carers", "--as", "ghost")
    assert nobody.returncode == 2 and "do not match an active account" in nobody.stderr
    refused = cli("adhoc", "RETURN 1 AS x", "--as", "sw")
    assert refused.returncode == 2 and "may not run ad-hoc Cypher" in refused.stderr
    entries = list(AuditLog(tmp_path / "audit" / "audit.jsonl").entries())
    assert [(e["user"], e["action"]) for e in entries] == [
        ("tm", "run_query"),
        ("(no such account)", "sign_in_failed"),
    ]


# -- answers against the ground truth ----------------------------------------------------------


def test_young_carers_match_truth(loaded_county, true_person):
    rows = run_saved(loaded_county.store, "young_carers").rows
    people = t.table(loaded_county.root, "people")
    expected = set(people[(people.young_carer == "1") & (people.is_child == "1")].person_id)
    found = _truth_set(rows, "child_uid", true_person)
    assert len(expected) >= 5
    assert len(found ^ expected) <= max(1, len(expected) // 20), found ^ expected


def test_looked_after_out_of_area_match_truth(loaded_county, true_person):
    rows = run_saved(loaded_county.store, "looked_after_out_of_area").rows
    cases = t.table(loaded_county.root, "cases")
    open_cla = cases[(cases.kind == "CLA") & (cases.status == "open")]
    expected = set(
        open_cla[(open_cla.placement_la != "") & (open_cla.placement_la != "Northmere")].person_id
    )
    assert _truth_set(rows, "child_uid", true_person) == expected


def test_social_worker_caseloads_match_truth(loaded_county):
    rows = run_saved(loaded_county.store, "caseload_per_professional").rows
    cases = t.table(loaded_county.root, "cases")
    open_sc = cases[(cases.status == "open") & cases.kind.isin(["CIN", "CP", "CLA", "CL"])]
    expected = open_sc[open_sc.worker_id != ""].groupby("worker_id").size().to_dict()
    found = {r["professional_uid"]: r["open_cases"] for r in rows}
    assert expected and {k: found.get(k, 0) for k in expected} == expected


def test_siblings_of_open_send_match_truth(loaded_county, true_person):
    rows = run_saved(loaded_county.store, "siblings_of_open_send").rows
    root = loaded_county.root
    cases = t.table(root, "cases")
    send = set(cases[(cases.status == "open") & cases.kind.isin(["EHCP", "SEN support"])].person_id)
    people = t.table(root, "people").set_index("person_id")
    parents = t.table(root, "parents")
    parents = parents[parents.kind.isin(["birth", "adoptive"])]
    of_child = parents.groupby("child_id").parent_id.apply(set).to_dict()
    expected = set()
    for child in send:
        if people.at[child, "is_child"] != "1":
            continue
        for other, theirs in of_child.items():
            if other != child and of_child.get(child, set()) & theirs:
                expected.add((child, other))
    found = {(true_person[r["child_uid"]], true_person[r["sibling_uid"]]) for r in rows}
    # Extracts name parents only in social care, health visiting and children's centre
    # records, so the graph knows the siblings of far fewer children than the truth does
    # (see the issue note); what it does report must be right.
    assert len(found) >= 20
    assert len(found - expected) <= len(found) // 20, found - expected


def test_persistent_absence_with_open_case_matches_truth(loaded_county, true_person):
    as_of = AS_OF.isoformat()
    rows = run_saved(loaded_county.store, "persistent_absence_open_case", {"as_of": as_of}).rows
    root = loaded_county.root
    att = t.table(root, "attendance")
    att = att[
        (pd_date(att.term_start) > AS_OF - dt.timedelta(days=365))
        & (pd_date(att.term_start) <= AS_OF)
    ]
    absent = att.authorised.astype(int) + att.unauthorised.astype(int)
    totals = (
        att.assign(absent=absent, possible=att.possible.astype(int))
        .groupby("person_id")[["absent", "possible"]]
        .sum()
    )
    pa = set(totals[(totals.possible > 0) & (totals.absent / totals.possible >= 0.1)].index)
    cases = t.table(root, "cases")
    transport = t.table(root, "transport")
    with_case = set(cases[(cases.status == "open") & ~cases.kind.isin(["HV", "EWO"])].person_id)
    with_case |= set(transport[transport.end.isna()].person_id)
    expected = pa & with_case
    found = _truth_set(rows, "child_uid", true_person)
    assert len(expected) >= 10
    assert len(found ^ expected) <= len(expected) // 10, (expected - found, found - expected)


def pd_date(series):
    return series.map(lambda s: dt.date.fromisoformat(s))


def test_children_who_moved_into_a_deprived_area_match_truth(loaded_county, true_person):
    """Each child listed lives in a deprived home now that their household moved into on
    the day given: the latest of the days the child (unless born there) and each parent
    living there came. Whether they came from a less deprived address is not checked:
    the query counts a previous address the county does not know, and extracts miss
    many (the truth knows them all). Nor is every such move found: many children's
    addresses come undated, and a parent the extracts do not name (a step-parent who
    joined later) moves the day."""
    import pandas as pd

    rows = run_saved(loaded_county.store, "moved_into_deprived_area", {"as_of": str(AS_OF)}).rows
    root = loaded_county.root
    day = pd.Timestamp(AS_OF)
    since = day - pd.DateOffset(months=12)
    deciles = t.table(root, "addresses").set_index("uprn").imd_decile
    homes = t.table(root, "residences")
    homes = homes.assign(decile=pd.to_numeric(homes.uprn.map(deciles), errors="coerce"))
    now = homes[(homes.start <= day) & (homes.end.isna() | (homes.end > day))]
    came = {(r.person_id, r.uprn): r.start for r in now.itertuples()}  # to the home they have
    first = homes.groupby("person_id").start.min()
    parents = t.table(root, "parents").groupby("child_id").parent_id.apply(list).to_dict()
    people = t.table(root, "people").set_index("person_id")
    arrived: dict[str, dt.date] = {}  # child -> the day their household came
    for r in now[now.decile <= 2].itertuples():
        if people.at[r.person_id, "is_child"] != "1":
            continue
        starts = [came[(p, r.uprn)] for p in parents.get(r.person_id, []) if (p, r.uprn) in came]
        if r.start > first[r.person_id]:  # a home they were born to is not a move
            starts.append(r.start)
        if starts and since < max(starts) <= day:
            arrived[r.person_id] = max(starts).date()
    found = {true_person[r["child_uid"]]: r["moved_on"] for r in rows}
    assert len(arrived) >= 20 and len(found) >= 10
    wrong = {pid: (on, arrived.get(pid)) for pid, on in found.items() if arrived.get(pid) != on}
    assert len(wrong) <= len(found) // 10, wrong
