"""The anchored audit trail: every tampering row is detected by `jigsaw audit verify`,
a crash at any point of a write is recovered, and the witness sees every head.

The forger here knows the hash algorithm (it is no secret): forged and rewritten
entries carry hashes recomputed independently of the code under test.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graph.access.accounts import Accounts
from graph.access.audit import AuditLog, audit_log
from ui.cli import app

PASSWORD = "an administrator password"
ENTRIES = 8


def _hash(entry: dict) -> str:
    """SHA-256 over the entry without its hash, keys sorted: what a forger recomputes."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, entries: list[dict]) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))


def _rechain(entries: list[dict], start: int) -> list[dict]:
    for i in range(start, len(entries)):
        entries[i]["prev"] = entries[i - 1]["hash"] if i else "0" * 64
        entries[i]["hash"] = _hash(entries[i])
    return entries


def _forge_append(path: Path) -> None:
    entries = _lines(path)
    last = entries[-1]
    forged = {
        **last,
        "seq": last["seq"] + 1,
        "user": "nobody",
        "action": "search",
        "children": [],
        "prev": last["hash"],
    }
    forged["hash"] = _hash(forged)
    _write(path, [*entries, forged])


def _change_third(path: Path) -> None:
    entries = _lines(path)
    entries[2]["user"] = "someone else"
    _write(path, _rechain(entries, 2))


TAMPERING: dict[str, Callable[[Path], None]] = {
    "delete the last line": lambda p: _write(p, _lines(p)[:-1]),
    "truncate the last 3": lambda p: _write(p, _lines(p)[:-3]),
    "keep 1 line": lambda p: _write(p, _lines(p)[:1]),
    "empty the file": lambda p: p.write_text(""),
    "delete the file": lambda p: p.unlink(),
    "append a forged entry with a recomputed hash": _forge_append,
    "change entry 3 and recompute the rest": _change_third,
}


@pytest.fixture
def trail(tmp_path, monkeypatch) -> Path:
    """A data directory with an administrator and a trail of ENTRIES entries."""
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JIGSAW_PASSWORD", PASSWORD)
    monkeypatch.delenv("JIGSAW_TOKEN", raising=False)
    Accounts(tmp_path / "users.json").add("boss", "administrator", PASSWORD)
    log = audit_log(tmp_path)
    for i in range(ENTRIES):
        log.record(user="sw", role="social_worker", action="view_child", children=[f"P-{i}"])
    return tmp_path


def _verify(*extra: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, ["audit", "verify", "--as", "boss", *extra])
    return done.exit_code, done.output


def test_an_untouched_trail_verifies(trail):
    code, out = _verify()
    assert code == 0 and f"intact ({ENTRIES} entries" in out, out


@pytest.mark.parametrize("how", list(TAMPERING))
def test_every_tampering_is_detected(trail, how):
    path = trail / "audit" / "audit.jsonl"
    # the chain alone would not see these: the forged chains are internally whole
    TAMPERING[how](path)
    code, out = _verify()
    assert code == 1 and "audit trail broken" in out, (how, out)
    # and later writes (the app and the command line go on working) do not hide it
    log = audit_log(trail)
    log.record(user="sw", role="social_worker", action="search")
    assert log.verify() is not None, how
    code, out = _verify()
    assert code == 1, (how, out)


def test_what_each_tampering_is_reported_as(trail):
    path = trail / "audit" / "audit.jsonl"
    original = path.read_text()
    expected = {
        "delete the last line": "removed from the end",
        "truncate the last 3": "removed from the end",
        "keep 1 line": "removed from the end",
        "empty the file": "removed from the end",
        "delete the file": "missing",
        "append a forged entry with a recomputed hash": "written outside Jigsaw",
        "change entry 3 and recompute the rest": "rewritten",
    }
    for how, words in expected.items():
        path.write_text(original)
        TAMPERING[how](path)
        broken = AuditLog(path).verify()
        assert broken is not None and words in broken.why, (how, broken)


def test_a_witnessed_checkpoint_is_checked(trail):
    log = audit_log(trail)
    head = log.read_head()
    assert head is not None and head.count == ENTRIES
    code, out = _verify("--witness", f"{head.count}:{head.hash}")
    assert code == 0 and "1 witnessed checkpoint(s) match" in out, out
    # a rewrite that also rewrote the head is caught by what the witness saw
    path = trail / "audit" / "audit.jsonl"
    _change_third(path)
    forged = _lines(path)[-1]
    log.head_path.write_text(json.dumps({"count": forged["seq"], "hash": forged["hash"]}))
    assert log.verify() is None  # log and head agree with each other now...
    code, out = _verify("--witness", f"{head.count}:{head.hash}")
    assert code == 1 and "witness" in out, out  # ...but not with the witness


def test_audit_commands_are_for_administrators_only(trail):
    Accounts(trail / "users.json").add("sw", "social_worker", PASSWORD)
    for command in (["verify"], ["head"], ["child", "P-1"], ["export", "--out", "x.csv"]):
        done = CliRunner().invoke(app, ["audit", *command, "--as", "sw"])
        assert done.exit_code == 2 and "may not read audit" in done.output, command
    wrong = CliRunner().invoke(
        app, ["audit", "verify", "--as", "boss"], env={"JIGSAW_PASSWORD": "not the password"}
    )
    assert wrong.exit_code == 2 and "do not match" in wrong.output
    nobody = CliRunner().invoke(app, ["audit", "verify"])
    assert nobody.exit_code == 2 and "--as USER" in nobody.output
    actions = [e["action"] for e in audit_log(trail).entries()]
    assert actions.count("refused") == 4 and "sign_in_failed" in actions


# -- crashes -------------------------------------------------------------------------

CRASH = """
import os, sys
from graph.access.audit import AuditLog
log = AuditLog(sys.argv[1])
point = sys.argv[2]
write_head, write_line, heads = log._write_head, log._write_line, []
def head(h, **how):
    write_head(h, **how)
    heads.append(h)
    if point == "before the line" and len(heads) == 1:
        os._exit(9)
def line(data):
    if point == "in the middle of the line":
        fd = os.open(log.path, os.O_WRONLY | os.O_APPEND)
        os.write(fd, data[: len(data) // 2])
        os._exit(9)
    write_line(data)
    if point == "after the line, before the head":
        os._exit(9)
log._write_head, log._write_line = head, line
log.record(user="sw", role="social_worker", action="crashed", children=["P-x"])
"""


@pytest.mark.parametrize(
    ("point", "kept"),
    [
        ("before the line", False),
        ("in the middle of the line", False),
        ("after the line, before the head", True),
    ],
)
def test_a_crash_anywhere_in_a_write_is_recovered(tmp_path, point, kept):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for i in range(3):
        log.record(user="sw", role="social_worker", action="view_child", children=[f"P-{i}"])
    crashed = subprocess.run([sys.executable, "-c", CRASH, str(path), point], check=False)
    assert crashed.returncode == 9  # the process really died mid-write
    verdict = log.check()
    assert verdict.broken is None, verdict  # a crash is not tampering
    if point == "in the middle of the line":
        assert any("cut short by a crash" in n for n in verdict.notes)
        assert not path.read_bytes().endswith(b"\n")
    # the next write finishes or undoes the crashed one and carries on
    log.record(user="sw", role="social_worker", action="after")
    verdict = log.check()
    assert verdict.broken is None, verdict
    actions = [e["action"] for e in log.entries()]
    assert ("crashed" in actions) is kept
    assert actions[-1] == "after"
    assert [e["seq"] for e in log.entries()] == list(range(1, len(actions) + 1))
    if point == "in the middle of the line":
        assert "audit_recovered" in actions
        aside = list(tmp_path.glob("audit.torn-*.jsonl"))
        assert len(aside) == 1 and aside[0].stat().st_mode & 0o777 == 0o600
        assert any("moved aside" in n for n in verdict.notes)


def test_a_torn_last_line_never_blocks_writing(tmp_path):
    """The probe's case: a partial line at the end (no write was in progress)."""
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.record(user="a", role="r", action="search")
    with path.open("ab") as fh:
        fh.write(b'{"seq": 2, "at": "2026-')
    broken = log.verify()
    assert broken is not None and "cut short" in broken.why  # reported
    assert [e["action"] for e in log.entries()] == ["search"]
    for _ in range(3):  # and writing goes on (it raised JSONDecodeError for ever before)
        log.record(user="a", role="r", action="view_child")
    verdict = log.check()
    assert verdict.broken is None and verdict.entries == 5
    assert any("torn line" in n for n in verdict.notes)


def test_a_log_from_before_the_head_is_anchored_with_a_note(tmp_path):
    path = tmp_path / "audit.jsonl"
    previous = "0" * 64
    old = []
    for i in range(3):  # the entry format before sequence numbers and heads
        entry = {
            "at": "2026-01-01T00:00:00.000+00:00",
            "user": "u",
            "role": "r",
            "action": "search",
            "children": [f"P-{i}"],
            "detail": {},
            "reason": None,
            "prev": previous,
        }
        entry["hash"] = _hash(entry)
        previous = entry["hash"]
        old.append(entry)
    _write(path, old)
    log = AuditLog(path)
    assert log.check().broken is None
    log.record(user="u", role="r", action="view_child")
    verdict = log.check()
    assert verdict.broken is None and verdict.entries == 5
    assert any("anchored" in n for n in verdict.notes)
    _write(path, _lines(path)[:-1])
    assert log.verify() is not None  # and from then on truncation is seen


def test_writers_in_several_processes_keep_one_chain_and_head(tmp_path):
    path = tmp_path / "audit" / "audit.jsonl"
    code = (
        "import sys; from graph.access.audit import AuditLog; log = AuditLog(sys.argv[1]);\n"
        "[log.record(user=sys.argv[2], role='r', action='search') for _ in range(30)]"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), f"u{i}"]) for i in range(4)]
    for p in procs:
        assert p.wait() == 0
    log = AuditLog(path)
    verdict = log.check()
    assert verdict.broken is None and verdict.entries == 120
    assert [e["seq"] for e in log.entries()] == list(range(1, 121))
    assert log.read_head().count == 120


def test_the_trail_is_its_owner_s_only_and_exports_are_formula_safe(tmp_path):
    log = AuditLog(tmp_path / "audit" / "audit.jsonl")
    log.record(user="u", role="r", action="search", reason="=cmd|' /C calc'!A0")
    for path in (log.path, log.head_path):
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert log.path.parent.stat().st_mode & 0o777 == 0o700
    rows = list(csv.DictReader(io.StringIO(log.export_csv())))
    assert rows[0]["reason"] == "'=cmd|' /C calc'!A0"  # text in a spreadsheet, not a formula


def test_every_head_goes_to_the_syslog_witness(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        port = receiver.getsockname()[1]
        log = AuditLog(tmp_path / "audit.jsonl", witness=f"udp://127.0.0.1:{port}")
        entries = [log.record(user="u", role="r", action="search") for _ in range(3)]
        heard = [receiver.recv(4096).decode() for _ in entries]
    for entry, line in zip(entries, heard, strict=True):
        assert f"seq={entry['seq']} hash={entry['hash']}" in line
        assert line.startswith("<")  # a syslog priority: facility auth, level info


def test_an_unreachable_witness_never_stops_an_audited_action(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl", witness=str(tmp_path / "no-such-socket"))
    log.record(user="u", role="r", action="search")
    assert log.verify() is None


def test_the_head_command_prints_what_to_witness(trail):
    done = CliRunner().invoke(app, ["audit", "head", "--as", "boss"])
    assert done.exit_code == 0
    seq, digest = done.output.strip().split(":")
    assert int(seq) == ENTRIES and digest == _lines(trail / "audit" / "audit.jsonl")[-1]["hash"]
    assert os.environ["JIGSAW_DATA_DIR"] == str(trail)


# -- reading a long trail without reading it whole ----------------------------------------


def _trail(tmp_path: Path, n: int) -> AuditLog:
    log = AuditLog(tmp_path / "audit" / "audit.jsonl")
    for i in range(n):
        log.record(
            user="sw",
            role="social_worker",
            action="view_child",
            children=[f"P-{i % 5}", f"P-{100 + i}"],
        )
    return log


def _naming(path: Path, uid: str) -> list[int]:
    """The entries naming ``uid``, read from the file itself, independently of the code."""
    return [e["seq"] for e in _lines(path) if uid in e["children"]]


def test_entries_about_a_child_come_from_an_index_caught_up_with_the_log(tmp_path):
    log = _trail(tmp_path, 12)
    assert [e["seq"] for e in log.about_child("P-2")] == _naming(log.path, "P-2") == [3, 8]
    assert log.path.with_name("audit.jsonl.index").stat().st_mode & 0o777 == 0o600
    many = [f"P-{i}" for i in range(20_000)]  # one entry naming a county's caseload
    log.record(user="tm", role="team_manager", action="view_caseload", children=many)
    log.record(user="sw", role="social_worker", action="view_child", children=["P-2"])
    assert [e["seq"] for e in log.about_child("P-2")] == _naming(log.path, "P-2") == [3, 8, 13, 14]
    assert [e["seq"] for e in log.about_child("P-19999")] == [13]
    assert log.about_child("P-nobody") == []
    # deleted: made again from the log
    log.path.with_name("audit.jsonl.index").unlink()
    log.record(user="sw", role="social_worker", action="view_child", children=["P-2"])
    found = [e["seq"] for e in log.about_child("P-2")]
    assert found == _naming(log.path, "P-2") == [3, 8, 13, 14, 15]
    # spoilt (a machine's crash mid-write, the index not being synced): made again
    log.path.with_name("audit.jsonl.index").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    log.record(user="sw", role="social_worker", action="view_child", children=["P-2"])
    found = [e["seq"] for e in log.about_child("P-2")]
    assert found == _naming(log.path, "P-2") == [3, 8, 13, 14, 15, 16]


def test_an_index_that_no_longer_fits_the_log_is_rebuilt_and_never_trusted_alone(tmp_path):
    log = _trail(tmp_path, 10)
    assert [e["seq"] for e in log.about_child("P-1")] == [2, 7]
    # the log rewritten from entry 3 on (what tampering would do): P-1 is named elsewhere now
    entries = _lines(log.path)
    for e in entries[2:]:
        e["children"] = ["P-1"] if e["seq"] == 9 else ["P-0"]
    _write(log.path, _rechain(entries, 2))
    assert [e["seq"] for e in log.about_child("P-1")] == _naming(log.path, "P-1") == [2, 9]
    # cut short below what was indexed: started again
    _write(log.path, _lines(log.path)[:4])
    assert [e["seq"] for e in log.about_child("P-1")] == [2]
    # an index claiming an entry names a child that it does not: the entry is read back
    import sqlite3

    with sqlite3.connect(log.path.with_name("audit.jsonl.index")) as db:
        db.execute("INSERT INTO named (child, offset) VALUES ('P-4', 0)")
    assert [e["seq"] for e in log.about_child("P-4")] == _naming(log.path, "P-4")


def test_the_latest_entries_are_read_from_the_end(tmp_path):
    log = _trail(tmp_path, 30)
    log.record(
        user="tm",
        role="team_manager",
        action="view_caseload",
        children=[f"P-{i}" for i in range(10_000)],
    )  # longer than a read window
    log.record(user="sw", role="social_worker", action="search")
    everything = _lines(log.path)
    assert log.recent(5) == everything[-5:]
    assert log.recent(1) == everything[-1:]
    assert log.recent(500) == everything
    assert log.recent(0) == [] and AuditLog(tmp_path / "none.jsonl").recent(3) == []


def test_a_resumed_check_walks_only_what_was_written_since_the_last_sound_one(tmp_path):
    log = _trail(tmp_path, 10)
    first = log.check(resume=True)  # nothing checked before: from the start
    assert first.broken is None and first.entries == 10 and first.checked_from == 1
    assert first.walked_in_full
    for i in range(3):
        log.record(user="sw", role="social_worker", action="search", children=[f"P-{i}"])
    later = log.check(resume=True)
    assert later.broken is None and later.entries == 13 and later.checked_from == 11
    assert later.walked_in_full == first.walked_in_full
    # a change after the checked part is found by the resumed check
    entries = _lines(log.path)
    entries[11]["user"] = "someone else"
    _write(log.path, entries)
    assert log.check(resume=True).broken.line == 12
    # removal from the end is found too (the head is compared, as always)
    entries[11]["user"] = "sw"
    _write(log.path, entries[:12])
    cut = log.check(resume=True)
    assert cut.broken is not None and "removed from the end" in cut.broken.why


def test_a_resumed_check_starts_again_when_the_checked_entry_changed(tmp_path):
    log = _trail(tmp_path, 6)
    assert log.check().broken is None  # a full check keeps where it stopped, too
    _change_third(log.path)  # rewrites entries 3-6, the last one the check stopped at
    again = log.check(resume=True)
    assert again.checked_from == 1 and again.broken is not None
    # a change before the checkpoint is the full check's to find (the page says when it ran)
    log2 = _trail(tmp_path / "two", 6)
    assert log2.check().broken is None
    entries = _lines(log2.path)
    entries[1]["user"] = "xx"  # the same length: every entry after it stays where it was
    _write(log2.path, entries)
    assert log2.check(resume=True).broken is None
    assert log2.check().broken.line == 2


# -- group commit ----------------------------------------------------------------------


def test_entries_recorded_at_once_are_committed_together_and_each_caller_waits(tmp_path):
    """Threads recording while another writes are written as one group: one pending
    head, one write of their lines, one committed head; each record() returns its own
    entry only once the group is committed."""
    import threading

    log = AuditLog(tmp_path / "audit.jsonl")
    log.record(user="a", role="r", action="first")
    heads, lines = [], []
    write_head, write_line = log._write_head, log._write_line
    log._write_head = lambda h, **how: (heads.append((h, how)), write_head(h, **how))[1]
    log._write_line = lambda data: (lines.append(data), write_line(data))[1]
    got: dict[int, dict] = {}
    with log._turn:
        log._writing = True  # as if a group were being written: these ten must wait
    threads = [
        threading.Thread(
            target=lambda i=i: got.__setitem__(
                i, log.record(user=f"u{i}", role="r", action="view_child", children=[f"P-{i}"])
            )
        )
        for i in range(10)
    ]
    for t in threads:
        t.start()
    while len(log._waiting) < 10:
        threading.Event().wait(0.01)
    assert not got  # nobody is answered before their entry is written
    with log._turn:  # that write is done: one of the ten writes them all
        log._writing = False
        log._turn.notify_all()
    for t in threads:
        t.join(timeout=30)
    assert len(heads) == 2 and len(lines) == 1  # pending and committed head, one write
    (pending, synced), (committed, how) = heads
    assert pending.pending == (11, committed.hash) and committed.count == 11
    assert synced == {} and how == {"sync": False}  # two fsyncs: pending head, lines
    assert sorted(e["seq"] for e in got.values()) == list(range(2, 12))
    assert all(got[i]["user"] == f"u{i}" and got[i]["children"] == [f"P-{i}"] for i in got)
    assert log.check().broken is None and log.read_head().count == 11


GROUP_CRASH = """
import os, sys
from graph.access.audit import AuditLog
log = AuditLog(sys.argv[1])
keep = int(sys.argv[2])
def line(data):
    parts = data.split(b"\\n")
    fd = os.open(log.path, os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"".join(p + b"\\n" for p in parts[:keep]) + parts[keep][:20])
    os._exit(9)
log._write_line = line
log._append(log._settle(), [{"user": "u", "role": "r", "action": f"grouped-{i}",
            "children": [], "detail": {}, "reason": None} for i in range(4)])
"""


@pytest.mark.parametrize("keep", [0, 2])
def test_a_crash_part_way_through_a_group_keeps_what_reached_the_log(tmp_path, keep):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.record(user="a", role="r", action="before")
    crashed = subprocess.run([sys.executable, "-c", GROUP_CRASH, str(path), str(keep)], check=False)
    assert crashed.returncode == 9
    verdict = log.check()
    assert verdict.broken is None, verdict  # a crash is not tampering
    log.record(user="a", role="r", action="after")
    verdict = log.check()
    assert verdict.broken is None, verdict
    actions = [e["action"] for e in log.entries()]
    assert actions == ["before", *[f"grouped-{i}" for i in range(keep)], "audit_recovered", "after"]
    assert [e["seq"] for e in log.entries()] == list(range(1, len(actions) + 1))
