"""``jigsaw db``: look at and look after the graph store."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from graph import open_store, schema
from graph.status import store_status

app = typer.Typer(help="The graph store: status, schema, reset.", no_args_is_help=True)
console = Console()


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Engine, location, node and relationship counts, and schema state."""
    with open_store() as store:
        report = store_status(store)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    health = report.health
    mark = "[green]up[/]" if health.ok else "[red]down[/]"
    console.print(f"[bold]Engine[/]   {health.engine} {health.version} ({mark})")
    console.print(f"[bold]Location[/] {health.location}")
    if health.detail:
        console.print(f"[bold]Detail[/]   {health.detail}")
    counts = Table(title=f"Nodes: {report.counts.nodes:,}", title_justify="left")
    counts.add_column("Label")
    counts.add_column("Count", justify="right")
    for label, n in report.counts.labels.items():
        counts.add_row(label, f"{n:,}")
    console.print(counts)
    rels = Table(title=f"Relationships: {report.counts.relationships:,}", title_justify="left")
    rels.add_column("Type")
    rels.add_column("Count", justify="right")
    for rel, n in report.counts.relationship_types.items():
        rels.add_row(rel, f"{n:,}")
    console.print(rels)
    present = sum(1 for s in report.schema if s.present)
    colour = "green" if present == len(report.schema) else "yellow"
    console.print(
        f"[bold]Schema[/]   [{colour}]{present} of {len(report.schema)} "
        "constraints and indexes present[/]"
    )
    for item in report.schema:
        if not item.present:
            console.print(
                f"  missing {item.kind} on :{item.label}({', '.join(item.properties)})"
                " - run `jigsaw db init`"
            )


@app.command()
def init() -> None:
    """Create every missing constraint and index (safe to run again)."""
    with open_store() as store:
        created = store.ensure_schema()
    if created:
        for item in created:
            console.print(f"created {item}")
    else:
        console.print("schema already complete")


@app.command("schema")
def show_schema() -> None:
    """Print the graph model as Markdown (docs/schema.md)."""
    typer.echo(schema.markdown(), nl=False)


@app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete everything in the graph, then recreate the schema."""
    with open_store() as store:
        if not yes:
            typer.confirm(f"Delete every node in {store.location}?", abort=True)
        store.drop_all()
        store.ensure_schema()
    console.print("graph emptied; schema recreated")
