"""``jigsaw plan``: transitions next September, the needs forecast and a
professional's alerts, as an account (role-checked and audited like the app).

The risk of NEET list is the saved query ``risk_of_neet``: ``jigsaw query run``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

import typer

from graph import load_settings, open_store
from graph.access import guard
from graph.access.policy import Restricted
from planning.forecast import needs_forecast
from planning.transitions import transitions as plan_transitions
from queries.runner import QueryResult
from ui.cli.auth import User, fail
from ui.cli.query import FORMAT_HELP, emit, run_as

app = typer.Typer(help="Planning ahead: transitions, needs forecast, alerts.", no_args_is_help=True)
Format = Annotated[str, typer.Option("--format", help=FORMAT_HELP)]


def _run(user: str, fmt: str, fetch: Callable[..., list[dict[str, Any]]], *args: Any) -> None:
    principal, audit = run_as(user)
    store = open_store(load_settings())
    start = time.perf_counter()
    try:
        rows = fetch(store, principal, audit, *args)
    except (guard.AccessDenied, ValueError) as exc:
        fail(str(exc))
        return
    finally:
        store.close()
    rows = [{k: str(v) if isinstance(v, Restricted) else v for k, v in r.items()} for r in rows]
    columns = list(rows[0]) if rows else []
    emit(QueryResult(columns, rows, False, (time.perf_counter() - start) * 1000, None), fmt)


@app.command()
def transitions(
    entry: Annotated[str, typer.Option(help="Reception, Year 7 or Year 12")] = "Reception",
    fmt: Format = "table",
    user: User = "",
) -> None:
    """Children starting ENTRY next September, with the school they are expected to go
    to and what they will need there."""
    _run(user, fmt, partial(guard.transitions, plan=plan_transitions), entry, dt.date.today())


@app.command()
def forecast(
    years: Annotated[int, typer.Option(min=1, max=3, help="How far ahead (1-3)")] = 3,
    fmt: Format = "table",
    user: User = "",
) -> None:
    """Expected children with each SEN need, an EHC plan and school transport, by term
    and area."""
    _run(user, fmt, partial(guard.needs_forecast, forecast=needs_forecast), dt.date.today(), years)


@app.command()
def alerts(
    seen: Annotated[bool, typer.Option(help="Include alerts already seen")] = False,
    fmt: Format = "table",
    user: User = "",
) -> None:
    """The account's alerts: changes a load brought to children on their open cases."""

    def fetch(store: Any, principal: Any, audit: Any) -> list[dict[str, Any]]:
        return guard.my_alerts(store, principal, audit, include_seen=seen)

    _run(user, fmt, fetch)
