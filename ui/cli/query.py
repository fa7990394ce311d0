"""``jigsaw query``: list, show and run saved queries; run ad-hoc read-only Cypher."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

from graph import GraphError, load_settings, open_store
from graph.access import guard
from graph.access.audit import AuditLog
from graph.access.fields_export import safe_row
from graph.access.policy import Principal
from queries.library import KEPT, LibraryError, get_query, load_library
from queries.runner import (
    ParamValidationError,
    QueryDenied,
    QueryResult,
    run_adhoc,
    run_saved,
)
from ui.cli.auth import User, fail, signed_in

app = typer.Typer(help="Saved and ad-hoc read-only queries.", no_args_is_help=True)
FORMAT_HELP = "table, csv or json"


def _params(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise typer.BadParameter(f"{pair!r} is not name=value", param_hint="--param")
        name, value = pair.split("=", 1)
        out[name.strip()] = value
    return out


def run_as(user: str) -> tuple[Principal, AuditLog]:
    """The account the query runs as (signed in): its role decides, and the run is audited."""
    return signed_in(user)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(str(_plain(v)) for v in value)
    return value


def emit(result: QueryResult, fmt: str) -> None:
    if fmt not in ("table", "csv", "json"):
        fail(f"--format must be table, csv or json, not {fmt!r}")
    if fmt == "json":
        typer.echo(
            json.dumps(
                {"columns": result.columns, "rows": result.rows, "truncated": result.truncated},
                default=str,
                indent=1,
            )
        )
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(result.columns)
        for row in result.rows:
            writer.writerow(safe_row([_plain(row.get(c)) for c in result.columns]))
        typer.echo(out.getvalue(), nl=False)
    else:
        widths = {
            c: max([len(c)] + [len(str(_plain(r.get(c)))) for r in result.rows[:200]])
            for c in result.columns
        }
        widths = {c: min(w, 40) for c, w in widths.items()}
        typer.echo("  ".join(c.ljust(widths[c]) for c in result.columns))
        for row in result.rows:
            typer.echo(
                "  ".join(str(_plain(row.get(c)))[:40].ljust(widths[c]) for c in result.columns)
            )
    typer.secho(result.message, err=True, fg=typer.colors.YELLOW if result.truncated else None)


@app.command("list")
def list_() -> None:
    """Every saved query: id, who it is for, title."""
    for q in load_library():
        typer.echo(f"{q.id:<32} {q.title}  [{', '.join(q.roles)}]")


KEPT_MEANS = "the day the latest load kept the answers as at, else today"


@app.command()
def show(query_id: str) -> None:
    """A saved query's description, parameters and Cypher."""
    try:
        q = get_query(query_id)
    except LibraryError as exc:
        fail(str(exc))
        return
    typer.echo(f"{q.title}\n\n{q.description}\n\nFor: {', '.join(q.roles)}; shown as {q.display}")
    for p in q.params:
        extra = f" one of {', '.join(p.choices)}" if p.choices else ""
        default = KEPT_MEANS if p.default == KEPT else p.default
        typer.echo(f"  --param {p.name}=<{p.kind}>{extra} (default {default})")
    typer.echo(f"\n{q.cypher}")


@app.command()
def run(
    query_id: str,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="name=value")] = None,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
    user: User = "",
) -> None:
    """Run a saved query read-only with checked parameters, as an account."""
    _run_guarded(run_saved, query_id, param, fmt, user)


@app.command()
def adhoc(
    text: str,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="name=value")] = None,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
    user: User = "",
) -> None:
    """Run your own Cypher, read-only at the engine, with the same limits, as an account."""
    _run_guarded(run_adhoc, text, param, fmt, user)


def _run_guarded(
    runner: Callable[..., QueryResult], what: str, param: list[str] | None, fmt: str, user: str
) -> None:
    """Run a saved query or the account's own Cypher through the guard, then print it:
    a refusal or a bad parameter is one line, not a traceback."""
    principal, audit = run_as(user)
    store = open_store(load_settings())
    try:
        result = runner(store, what, _params(param), principal=principal, audit=audit)
    except (LibraryError, ParamValidationError, QueryDenied, GraphError) as exc:
        fail(str(exc))
        return
    finally:
        store.close()
    emit(result, fmt)


@app.command()
def reidentify(
    pseudonyms: Annotated[list[str], typer.Argument(help="Pseudonyms (ps-...) to identify.")],
    reason: Annotated[
        str, typer.Option(help="The lawful purpose, and what will be done (audited).")
    ],
    user: User = "",
) -> None:
    """Work pseudonyms from the analysts' copy back to children, for a lawful purpose:
    for roles the policy allows, every time audited with the children and the reason."""
    principal, audit = signed_in(user, "reidentify")
    store = open_store(load_settings())
    try:
        found = guard.reidentify(store, principal, audit, pseudonyms, reason)
    except guard.AccessDenied as exc:
        fail(str(exc))
        return
    finally:
        store.close()
    for pseudonym in pseudonyms:
        typer.echo(f"{pseudonym}  {found.get(pseudonym, '(names nobody)')}")
