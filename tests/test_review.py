"""The review queue through the one door (graph.access.guard): what a reviewer sees,
accept, reject and undo, each audited, and the page a person decides on."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from graph import review_queue
from graph.access import guard
from graph.access.audit import AuditLog
from graph.access.policy import Principal, Restricted
from loaders.load import run_load
from tests.conftest import AS_OF, embedded_store

MANAGER = Principal("tm", "team_manager")
ADMIN = Principal("admin", "administrator")
WORKER = Principal("sw", "social_worker")


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    from synthetic.generate import generate

    out = tmp_path_factory.mktemp("county_review")
    generate(300, 5, out, as_of=AS_OF)
    return out


@pytest.fixture
def loaded(county, tmp_path):
    store = embedded_store(tmp_path / "engine")
    store.ensure_schema()
    run_load(store, county, as_of=AS_OF)
    try:
        yield store
    finally:
        store.close()


def _graph(store) -> tuple[Counter, Counter]:
    """Every Person with its relationships (type, direction, other end), as counts."""
    people = Counter(
        (r["uid"], tuple(sorted(r["labels"])))
        for r in store.read(
            "MATCH (p:Person) RETURN p.uid AS uid, labels(p) AS labels", max_rows=10**6
        ).rows
    )
    rels = Counter(
        (r["a"], r["t"], r["b"])
        for r in store.read(
            "MATCH (p:Person)-[r]-(x) WHERE type(r) <> 'CANDIDATE' "
            "RETURN p.uid AS a, type(r) AS t, x.uid AS b",
            max_rows=10**7,
        ).rows
    )
    return people, rels


def test_a_reviewer_sees_both_people_masked_to_their_role(loaded, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    queue = guard.review_queue(loaded, MANAGER, audit)
    assert queue["pending"] and queue["waiting"] >= len(queue["pending"])
    impacts = [p["impact"] for p in queue["pending"]]
    assert impacts == sorted(impacts, reverse=True)  # most children affected first
    uid = queue["pending"][0]["uid"]
    pair = guard.review_pair(loaded, MANAGER, audit, uid)
    assert len(pair["sides"]) == 2 and pair["evidence"]
    for side in pair["sides"]:
        assert side["sources"], "each side names the rows it was read from"
        assert "addresses" in side and "family" in side
    fields = {f["field"]: f for f in pair["fields"]}
    assert fields["full_name"]["values"][0] not in (None, "")
    # an administrator may review but sees no one's identifiers or names: masked, and
    # still told whether the two agree
    masked = guard.review_pair(loaded, ADMIN, audit, uid)
    for f in masked["fields"]:
        assert all(v is None or isinstance(v, Restricted) for v in f["values"]), f
    assert [f["same"] for f in masked["fields"]] == [f["same"] for f in pair["fields"]]
    actions = [e["action"] for e in audit.entries()]
    assert actions.count("view_review_pair") == 2 and "view_review_queue" in actions
    shown = next(e for e in audit.entries() if e["action"] == "view_review_pair")
    assert {s["person"]["uid"] for s in pair["sides"]} <= set(shown["children"])
    with pytest.raises(guard.AccessDenied):
        guard.review_queue(loaded, WORKER, audit)


def test_a_rules_reason_is_withheld_from_a_role_that_sees_no_addresses(loaded, tmp_path):
    """The two-homes rule's reason names two addresses (and the too-young rule's a date
    of birth): a reviewer who sees people reads it; an administrator, who is shown no
    one's addresses, is told a rule kept the two apart but not its words."""
    audit = AuditLog(tmp_path / "audit.jsonl")
    uid = guard.review_queue(loaded, MANAGER, audit)["pending"][0]["uid"]
    said = "would be at 12 High Street, AB1 2CD and 4 Low Road, AB3 4EF at once, from 2021-03-01"
    loaded.write(
        "MATCH (r:ReviewPair {uid: $uid}) SET r.reason = $said", {"uid": uid, "said": said}
    )
    assert guard.review_pair(loaded, MANAGER, audit, uid)["reason"] == said
    masked = guard.review_pair(loaded, ADMIN, audit, uid)["reason"]
    assert isinstance(masked, Restricted) and "High Street" not in str(masked)
    queued = guard.review_queue(loaded, ADMIN, audit)["pending"]
    shown = next(p for p in queued if p["uid"] == uid)
    assert isinstance(shown["reason"], Restricted)
    assert not [p for p in queued if "High Street" in str(p["reason"])]


# a person the linkage evidence names beside the pair: "both lived with NAME: ...", "each
# lived with a NAME: ...", "named as mother of NAME", "as NAME, who lived with them, did"
_NAMED_IN_WORDS = re.compile(
    r"(?:lived with (?:a )?|named as \w+ of |, as )"
    r"(?P<name>[A-Z][\w'-]*(?: [A-Z][\w'-]*)+)(?: \(born (?P<dob>[\d-]+)\))?"
)


def test_evidence_shown_is_audited_with_the_people_it_names(loaded, tmp_path):
    """The evidence quotes people who are neither of the pair ("both lived with Sam
    Taylor"): whoever is shown it is audited with them (the people of that name and
    birth date in the graph who lived at an address the words give, or who are the
    child the words give); a role the evidence is withheld from is not."""
    audit = AuditLog(tmp_path / "audit.jsonl")
    queue = guard.review_queue(loaded, MANAGER, audit)["pending"]
    quoted = [
        (pair["uid"], m["name"], m["dob"])
        for pair in review_queue.pending(loaded, 10_000)
        for m in _NAMED_IN_WORDS.finditer(pair["evidence"] or "")
    ]
    assert quoted, "the county's review queue quotes someone beside a pair"
    shown_in_queue = {p["uid"] for p in queue}
    queue_entry = next(e for e in audit.entries() if e["action"] == "view_review_queue")
    for uid, name, dob in quoted:
        people = {
            r["uid"]
            for r in loaded.read(
                "MATCH (p:Person {full_name: $name}) WHERE $dob IS NULL OR p.dob = date($dob) "
                "RETURN p.uid AS uid",
                {"name": name, "dob": dob},
            ).rows
        }
        assert people, name
        pair = guard.review_pair(loaded, MANAGER, audit, uid)
        entry = list(audit.entries())[-1]
        assert entry["action"] == "view_review_pair" and entry["detail"]["pair"] == uid
        assert people & set(entry["children"]), (name, pair["evidence"])
        if uid in shown_in_queue:
            assert people & set(queue_entry["children"]), name
        guard.review_pair(loaded, ADMIN, audit, uid)  # the evidence withheld
        sides = {s["person"]["uid"] for s in pair["sides"]}
        family = {m["uid"] for s in pair["sides"] for m in s["family"]}
        assert not (people - sides - family) & set(list(audit.entries())[-1]["children"]), name


def test_accept_merges_and_undo_restores_the_graph_exactly(loaded, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    before = _graph(loaded)
    uid = guard.review_queue(loaded, MANAGER, audit)["pending"][0]["uid"]
    people = [s["person"]["uid"] for s in review_queue.pair(loaded, uid)["sides"]]
    kept = guard.decide_review(loaded, MANAGER, audit, uid, accept=True)
    assert kept == min(people)
    merged_people, merged_rels = _graph(loaded)
    assert len(merged_people) == len(before[0]) - 1
    assert sum(n for (a, _t, _b), n in merged_rels.items() if a == max(people)) == 0
    assert review_queue.pair(loaded, uid)["status"] == "accepted"
    with pytest.raises(review_queue.ReviewError, match="already accepted"):
        guard.decide_review(loaded, MANAGER, audit, uid, accept=False)
    guard.undo_review(loaded, MANAGER, audit, uid)
    assert _graph(loaded) == before
    assert review_queue.pair(loaded, uid)["status"] == "pending"
    entries = [e for e in audit.entries() if e["action"] in ("review_accept", "review_undo")]
    assert [e["action"] for e in entries] == ["review_accept", "review_undo"]
    assert all(set(people) <= set(e["children"]) for e in entries)
    assert entries[0]["user"] == "tm"


def test_reject_keeps_apart_across_loads_and_undo_returns_it_to_the_queue(loaded, county, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    uid = guard.review_queue(loaded, MANAGER, audit)["pending"][0]["uid"]
    people = {s["person"]["uid"] for s in review_queue.pair(loaded, uid)["sides"]}
    guard.decide_review(loaded, MANAGER, audit, uid, accept=False)
    run_load(loaded, county, as_of=AS_OF)
    assert review_queue.pair(loaded, uid)["status"] == "rejected"
    assert {s["person"]["uid"] for s in review_queue.pair(loaded, uid)["sides"]} == people
    assert uid not in {p["uid"] for p in review_queue.pending(loaded, 10_000)}
    guard.undo_review(loaded, MANAGER, audit, uid)
    assert uid in {p["uid"] for p in review_queue.pending(loaded, 10_000)}
    assert [e["action"] for e in audit.entries() if e["action"].startswith("review_")] == [
        "review_reject",
        "review_undo",
    ]


def test_decisions_say_how_the_thresholds_would_move():
    feedback = review_queue.Feedback(accepted=(0.62, 0.71, 0.88), rejected=(0.55, 0.6))
    text = str(feedback)
    assert "3 pair(s) accepted (scored 62% to 88%)" in text
    assert "A match threshold of 62% (now 90%) would have linked 3" in text
    assert feedback.suggested_match() == 0.62
    assert "agree with the match threshold" in str(review_queue.Feedback((), (0.7,)))
    assert "No decisions yet" in str(review_queue.Feedback((), ()))


PAGE = "from ui.app.screens import review\nreview.render()\n"


def _page(
    store_dir: Path, graph: str, tmp_path: Path, monkeypatch, principal: Principal = MANAGER
) -> AppTest:
    monkeypatch.setenv("JIGSAW_GRAPH_URL", str(store_dir))
    monkeypatch.setenv("JIGSAW_GRAPH_NAME", graph)
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(tmp_path / "data"))
    at = AppTest.from_string(PAGE, default_timeout=60)
    at.session_state["principal"] = principal
    return at.run()


def _text(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += [str(e.value) for e in at.warning] + [str(e.value) for e in at.success]
    parts += [e.value for e in at.text] + [f.value.to_string() for f in at.dataframe]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def test_the_page_decides_a_pair_with_a_confirmation_and_undoes_it(county, tmp_path, monkeypatch):
    store = embedded_store(tmp_path / "engine", "review_page")
    store.ensure_schema()
    run_load(store, county, as_of=AS_OF)
    people = store.read("MATCH (p:Person) RETURN count(p) AS n").rows[0]["n"]
    try:
        at = _page(tmp_path / "engine", "review_page", tmp_path, monkeypatch)
        assert not at.exception
        text = _text(at)
        assert "For one person:" in text and "Read from" in text
        uid = at.selectbox(key="review_pair").value
        at = at.button(key=f"acc-{uid}").click().run()
        assert "Confirm: merge these two into one person?" in _text(at)
        assert store.read("MATCH (p:Person) RETURN count(p) AS n").rows[0]["n"] == people
        at = at.button(key=f"confirm-{uid}").click().run()
        assert not at.exception
        assert "into one person" in _text(at) and "can be undone" in _text(at)
        assert store.read("MATCH (p:Person) RETURN count(p) AS n").rows[0]["n"] == people - 1
        at = at.button(key=f"undo-{uid}").click().run()
        at = at.button(key=f"undo-yes-{uid}").click().run()
        assert not at.exception and "back in the queue" in _text(at)
        assert store.read("MATCH (p:Person) RETURN count(p) AS n").rows[0]["n"] == people
    finally:
        store.close()


def _truth(store, uid: str) -> dict:
    """What the graph holds about one person of a pair, read here, not by the page."""
    person = store.read(
        "MATCH (p:Person {uid: $uid}) RETURN p.full_name AS name, p.nhs_number AS nhs",
        {"uid": uid},
    ).rows[0]
    homes = store.read(
        "MATCH (:Person {uid: $uid})-[r:LIVES_AT]->(a:Address) "
        "RETURN a.postcode AS postcode, r.from AS since",
        {"uid": uid},
    ).rows
    kin = store.read(
        "MATCH (:Person {uid: $uid})-[:PARENT_OF]-(k:Person) RETURN k.full_name AS name",
        {"uid": uid},
    ).rows
    rows = store.read(
        "MATCH (s:SourceRecord)-[:DESCRIBES]->(:Person {uid: $uid}) RETURN s.file AS file, "
        "s.row AS row",
        {"uid": uid},
    ).rows
    return {**person, "homes": homes, "kin": [k["name"] for k in kin if k["name"]], "rows": rows}


def test_the_pair_shown_is_all_a_reviewer_needs_and_an_administrator_sees_no_one(
    loaded, tmp_path, monkeypatch
):
    """The pair changing most children's networks comes first; the page shows both
    people's names, identifiers, homes with their dates, relatives, the rows they were
    read from and the likelihood as a figure, in words (tests.test_pages_read), and to
    an administrator none of the names, homes or relatives."""
    from tests.test_pages_read import problems
    from ui.present.words import day

    pairs = loaded.read(
        "MATCH (r:ReviewPair {status: 'pending'})-[:CANDIDATE]->(p:Person) "
        "WITH r, collect(p.uid) AS people WHERE size(people) = 2 "
        "RETURN r.uid AS uid, r.impact AS impact, r.probability AS probability, people"
    ).rows
    top = max(pairs, key=lambda r: (r["impact"] or 0, r["probability"]))
    people = [_truth(loaded, uid) for uid in top["people"]]
    from tests.test_app import _text

    at = _page(tmp_path / "engine", loaded.graph_name, tmp_path, monkeypatch)
    assert not at.exception, at.exception
    assert at.selectbox(key="review_pair").value in {
        p["uid"] for p in pairs if (p["impact"] or 0) == (top["impact"] or 0)
    }
    at.selectbox(key="review_pair").set_value(top["uid"]).run()
    text = _text(at)
    assert f"({top['probability']:.0%})" in text and not problems(text), problems(text)[:3]
    for person in people:
        assert person["name"] in text
        assert not person["nhs"] or person["nhs"] in text
        for home in person["homes"]:
            assert home["postcode"] in text and (not home["since"] or day(home["since"]) in text)
        assert all(k in text for k in person["kin"])
        assert all(str(r["row"]) in text and r["file"] in text for r in person["rows"])
    admin = _page(tmp_path / "engine", loaded.graph_name, tmp_path, monkeypatch, ADMIN)
    admin.selectbox(key="review_pair").set_value(top["uid"]).run()
    seen = _text(admin)
    assert not admin.exception and not problems(seen), problems(seen)[:3]
    assert "withheld from your role" in seen and f"({top['probability']:.0%})" in seen
    for person in people:
        named = [person["name"], *person["kin"], *(h["postcode"] for h in person["homes"])]
        assert not [n for n in named if n and n in seen], person
