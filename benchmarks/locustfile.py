"""Locust users of the app: each signs in as a caseworker and, with a few seconds'
thought between, finds a child, opens a record, draws a family network or runs a
saved query about a child on their caseload (:mod:`benchmarks.many_users` starts it).

Each action is timed from the request to the page's last element (Streamlit's
``script_finished``), which is what the person waits for; a page that shows an
exception, or does not finish, counts as an error. The accounts, the app processes to
spread users over (a user keeps to one: sticky sessions) and the children come from
the JSON file named by ``JIGSAW_BENCH_SESSIONS``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

from locust import User, between, task

from benchmarks.app_session import AppSession, Rendered, refused, sign_in
from ui.app.screens.find import FIND_LABEL

SETUP = json.loads(Path(os.environ["JIGSAW_BENCH_SESSIONS"]).read_text())
_next = itertools.count()
# every action as it ends (wall clock, name, ms, failed), so the runner can say how the
# users fared while a load ran beside them
_TIMINGS = os.environ.get("JIGSAW_BENCH_TIMINGS")
_timings = open(_TIMINGS, "a", buffering=1) if _TIMINGS else None  # noqa: SIM115
# each refusal of a child as not on the user's caseload (wall clock, professional, child):
# the runner asks the graph after the load whether the child was theirs then
_refusals = open(_TIMINGS + ".refused", "a", buffering=1) if _TIMINGS else None  # noqa: SIM115
REFUSED = "refused: not on the caseload"  # the action's name when the page said so


class Caseworker(User):
    """One person using the app in a browser tab."""

    wait_time = between(SETUP.get("think_min", 2), SETUP.get("think_max", 6))

    def on_start(self) -> None:
        n = next(_next)
        self.account = SETUP["accounts"][n % len(SETUP["accounts"])]
        self.url = SETUP["urls"][n % len(SETUP["urls"])]
        self.rng = random.Random(n)
        self.opened = ""  # the child whose page this user opened last
        self.session: AppSession | None = None
        self.session = self._timed(
            "sign in", lambda: sign_in(self.url, self.account["username"], self.account["password"])
        )

    def on_stop(self) -> None:
        if self.session is not None:
            self.session.close()

    def _child(self) -> str:
        self.opened = self.rng.choice(self.account["children"])
        return self.opened

    def _timed(self, name: str, action: Callable[[], object], child: str = "") -> object:
        """The action timed; a page refusing ``child`` as not on the user's caseload is
        counted apart (a caseload the night's load changed refuses rightly; the runner
        checks), not as an error nor as a page served."""
        started = time.perf_counter()
        error: BaseException | None = None
        result = None
        try:
            result = action()
        except Exception as exc:  # counted as the action's failure, the user carries on
            error = exc
        took = (time.perf_counter() - started) * 1000
        if isinstance(result, Rendered) and refused(result):
            name, error = REFUSED, None
            if _refusals is not None:
                _refusals.write(f"{time.time():.3f},{self.account['professional']},{child}\n")
        elif name == "saved query" and error is None:
            error = _unanswered(result)
        if _timings is not None:
            _timings.write(f"{time.time():.3f},{name},{took:.1f},{int(error is not None)}\n")
        self.environment.events.request.fire(
            request_type="page",
            name=name,
            response_time=took,
            response_length=0,
            exception=error,
            context={},
        )
        return result

    @task(3)
    def find(self) -> None:
        if self.session is None:
            return
        shown = self.session.open("find")
        self.session.fill(shown, FIND_LABEL, self.rng.choice(SETUP["names"]))
        self._timed("find a child", self.session.rerun)

    @task(4)
    def record(self) -> None:
        if self.session is not None:
            uid = self._child()
            self._timed("child record", lambda: self.session.open("record", f"child={uid}"), uid)

    @task(2)
    def network(self) -> None:
        if self.session is None:
            return
        uid = self._child()  # the page opens on the child in its address, as a link does
        self._timed("family network", lambda: self.session.open("network", f"child={uid}"), uid)

    @task(1)
    def saved_query(self) -> None:
        if self.session is None:
            return
        query = self.rng.choice(SETUP["queries"])
        shown = self.session.open("queries")
        self.session.fill(shown, "Query", query["title"])
        shown = self.session.rerun()
        if query.get("child_label") in shown.widgets:  # else: the child opened last
            self.session.fill(shown, query["child_label"], self._child())
        self._timed("saved query", lambda: self.session.click(shown, "Run"), self.opened)


def _unanswered(shown: object) -> RuntimeError | None:
    """The query page after Run must say how many rows it found."""
    text = shown.text if isinstance(shown, Rendered) else []
    if not any(" row(s) in " in t.replace("\\", "") for t in text):  # as Markdown
        return RuntimeError("the query page showed no result: " + " ".join(text)[-200:])
    return None
