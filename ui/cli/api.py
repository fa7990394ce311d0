"""``jigsaw api``: serve the data exchange API, register partner clients, and ask
partners (``jigsaw ask``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from api.settings import ApiSettings, api_dir
from api.standard import LEVELS, REASONS
from graph import load_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer(
    help="The data exchange API: serve it, and manage the partners that may use it.",
    invoke_without_command=True,
)
clients_app = typer.Typer(
    help="Partner systems allowed to ask (their agreements).", no_args_is_help=True
)
partners_app = typer.Typer(
    help="Partners we ask, and the credentials they gave us.", no_args_is_help=True
)
app.add_typer(clients_app, name="clients")
app.add_typer(partners_app, name="partners")

REASON_HELP = "Reason URI the agreement allows (repeat); the agreed list: " + "; ".join(
    f"{r.uri} ({r.title})" for r in REASONS
)


@app.callback()
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8600,
    host: Annotated[
        str, typer.Option(help="Address to bind (default: this machine only; TLS is the proxy's).")
    ] = "127.0.0.1",
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Worker processes (default: JIGSAW_API_WORKERS, else 1)."),
    ] = None,
) -> None:
    """Serve the API (FastAPI on uvicorn); its OpenAPI description is at /openapi.json."""
    if ctx.invoked_subcommand is not None:
        return
    import gc
    import os

    import uvicorn

    from api.app import create_app, settle_heap
    from api.runtime import build_runtime

    if workers is not None:
        os.environ["JIGSAW_API_WORKERS"] = str(workers)  # the worker processes read it
    api = ApiSettings()
    typer.echo(f"Jigsaw data exchange API at http://{host}:{port} (docs at /docs)")
    if api.workers > 1:  # each worker process builds its own runtime over the one engine
        uvicorn.run(
            "ui.cli.api:worker_app",
            factory=True,
            host=host,
            port=port,
            log_level="warning",
            workers=api.workers,
        )
        return
    runtime = build_runtime(load_settings(), api)
    app = create_app(runtime)
    settle_heap()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        gc.unfreeze()  # collectable again as the process ends (DuckDB's bindings check)
        runtime.store.close()


def worker_app() -> FastAPI:
    """A worker process's app over the graph the environment's settings name (uvicorn's
    factory for ``jigsaw api --workers N``), its start-up's objects frozen as the single
    process's are (:func:`api.app.settle_heap`)."""
    import atexit
    import gc

    from api.app import create_app, settle_heap
    from api.runtime import build_runtime

    app = create_app(build_runtime(load_settings(), ApiSettings()))
    settle_heap()
    atexit.register(gc.unfreeze)  # collectable again as the process ends
    return app


@contextmanager
def api_beside(port: int, *, host: str = "127.0.0.1", wait_s: float = 120) -> Iterator[str]:
    """``jigsaw api`` in a process of its own while the caller runs (``jigsaw demo``
    serves it beside the app); its base URL once it answers. Stopped on the way out."""
    import subprocess
    import sys
    import time

    import httpx

    url = f"http://{host}:{port}"
    command = [sys.executable, "-c", "from ui.cli import main; main()", "api"]
    process = subprocess.Popen([*command, "--port", str(port), "--host", host])
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the data exchange API did not start on {url}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _clients():
    from api.clients import Clients

    return Clients(api_dir(load_settings()) / "clients.json")


@clients_app.command("add")
def clients_add(
    organisation: Annotated[str, typer.Argument(help="The partner organisation's name.")],
    reason: Annotated[list[str], typer.Option(help=REASON_HELP)],
    level: Annotated[
        str, typer.Option(help="Detail: " + "; ".join(f"{k}: {v}" for k, v in LEVELS.items()))
    ] = "existence",
    rate: Annotated[str, typer.Option(help="Rate limit, e.g. 60/minute.")] = "60/minute",
    notify: Annotated[
        bool, typer.Option(help="May send notifications (POST /fhir/Communication).")
    ] = False,
    cert_sha256: Annotated[
        str | None,
        typer.Option(help="SHA-256 fingerprint of the client certificate the proxy verifies."),
    ] = None,
    agreement: Annotated[str, typer.Option(help="The data-sharing agreement's reference.")] = "",
) -> None:
    """Register a partner system; prints its client id and secret once."""
    from api.clients import ClientError

    try:
        made = _clients().add(
            organisation,
            reason,
            level,
            rate=rate,
            may_notify=notify,
            cert_sha256=cert_sha256,
            agreement=agreement,
        )
    except ClientError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(json.dumps({"client_id": made.client.client_id, "client_secret": made.secret}))
    typer.echo(
        "Give these to the partner now: the secret is not kept and cannot be shown again.", err=True
    )


@clients_app.command("list")
def clients_list() -> None:
    """Every registered partner, its agreement and whether it is revoked."""
    for c in _clients().list():
        state = f"revoked {c.revoked_at}" if c.revoked_at else "active"
        typer.echo(
            f"{c.client_id}  {c.organisation}  level={c.level}  rate={c.rate}  "
            f"notify={'yes' if c.may_notify else 'no'}  {state}"
        )
        for r in c.reasons:
            typer.echo(f"    {r}")


@clients_app.command("revoke")
def clients_revoke(client_id: str) -> None:
    """Stop a partner at once: its tokens are refused from the next request."""
    from api.clients import ClientError

    try:
        _clients().revoke(client_id)
    except ClientError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"{client_id} revoked")


def _partners():
    from api.client import partners_in

    return partners_in(api_dir(load_settings()))


@partners_app.command("add")
def partners_add(
    url: Annotated[str, typer.Argument(help="The partner's base URL.")],
    client_id: Annotated[str, typer.Option(help="The client id the partner gave us.")],
    client_secret: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Its secret.")],
) -> None:
    """Keep the credentials a partner issued to us (0600, in the data directory)."""
    _partners().add(url, client_id, client_secret)
    typer.echo(f"credentials for {url.rstrip('/')} kept")


def ask(
    partner: Annotated[str, typer.Option(help="The partner's base URL.")],
    reason: Annotated[str, typer.Option(help="The lawful reason's URI.")],
    as_user: Annotated[str, typer.Option("--as", help="Your Jigsaw account (audited).")],
    nhs_number: Annotated[str, typer.Option(help="The child's NHS number.")] = "",
    given: Annotated[str, typer.Option(help="Given name (without an NHS number).")] = "",
    family: Annotated[str, typer.Option(help="Family name.")] = "",
    birth_date: Annotated[str, typer.Option(help="Birth date YYYY-MM-DD.")] = "",
    raw: Annotated[bool, typer.Option(help="Print the partner's FHIR answer as it came.")] = False,
) -> None:
    """Ask a partner that speaks $person-info-query whether it knows a child."""
    from api.client import AskError, ask_as, enquiry
    from ui.cli.auth import fail, signed_in

    principal, audit = signed_in(as_user, "search")
    try:
        request = enquiry(
            reason, nhs_number=nhs_number, given=given, family=family, birth_date=birth_date
        )
        answer = ask_as(principal, audit, _partners().get(partner), request)
    except (AskError, PermissionError, ValueError) as exc:
        fail(str(exc))
        return
    if raw:
        typer.echo(answer.raw)
        return
    for line in answer.lines():
        typer.echo(line)
