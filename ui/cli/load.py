"""``jigsaw load`` and ``jigsaw demo``: extracts into the graph, with a report.

Loading needs pandas, DuckDB and Splink, and the demo county Faker, which take seconds
to import; they are imported when used, so ``jigsaw --help`` and every other command
start quickly.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from graph import load_settings, open_store
from graph.access.demo import create_demo_accounts
from graph.files import private_dir
from graph.settings import Settings
from graph.store import GraphStore
from loaders.mapping import MappingError
from loaders.quality import groups_beside, labels_from_csv, measure_groups
from loaders.readers import ReadError, ReadLimits
from loaders.report import LoadReport
from ui.cli.collector import collector_for_load
from ui.cli.priority import yield_cpu
from ui.cli.progress import Bars

if TYPE_CHECKING:
    from loaders.load import LoadResult

console = Console()


def _as_of(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-09-01") from None


def load(
    directory: Annotated[Path, typer.Argument(help="Directory of extracts to load.")],
    mapping: Annotated[
        Path | None, typer.Option(help="Directory of source mappings (default: shipped).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Load day YYYY-MM-DD (default today).")
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Labelled sample (file,row,person_id[,related] CSV, e.g. a "
            "synthetic county's truth/source_rows.csv): print linkage precision "
            "and recall, for children and adults apart when a people.csv "
            "(person_id,is_child) sits beside it."
        ),
    ] = None,
    bulk: Annotated[
        bool | None,
        typer.Option(
            "--bulk/--no-bulk",
            help="Write what can only be new through the engine's bulk insertion "
            "(default: the JIGSAW_BULK_WRITE setting, on).",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read every file again, even those the last load took in as they are, "
            "link every record again with models trained again, and write every row "
            "(default: a delta load when an earlier load's record is beside its reports).",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Exit with status 3 when any file could not be loaded, whole or in part "
            "(default: load the rest, report the file loudly, exit 0).",
        ),
    ] = False,
) -> None:
    """Validate, link and load every extract a mapping describes; print the load report.

    A file that cannot be read (empty, binary, wrong header, a broken or oversized
    workbook) is quarantined whole and the rest of the load goes on; the report names
    it first. Exit status: 0 loaded; 1 the accounting does not close; 2 the mappings
    or the directory cannot be used; 3 (only with --strict) a file was not loaded."""
    from loaders.load import run_load

    settings = load_settings()
    loads_dir = settings.data_dir / "loads"
    store = open_store(settings)
    yield_cpu(settings.load_niceness)  # after the engine started, if this load started it
    try:
        with Bars(console) as bars, collector_for_load() as after_stage:
            result = run_load(
                store,
                directory,
                mappings=mapping,
                progress=bars,
                as_of=_as_of(as_of),
                loads_dir=loads_dir,
                linkage_memory=settings.linkage_memory,
                read_workers=settings.load_workers,
                bulk=settings.bulk_write if bulk is None else bulk,
                read_limits=ReadLimits(max_cell_chars=settings.max_cell_chars),
                relaxed_fsync=settings.load_fsync == "everysec",
                after_stage=after_stage,
                full=full,
            )
    except (MappingError, ReadError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        _close(store)
    console.print(result.report.to_markdown(), markup=False, highlight=False)
    console.print(f"report and quarantine saved in {result.saved_to}")
    if truth is not None:
        measured = measure_groups(result.assignments, labels_from_csv(truth), groups_beside(truth))
        for name, quality in measured.items():
            console.print(f"linkage, {name}: {quality}")
        prevented = result.report.links_prevented
        console.print(
            "links not made because a rule forbids them: "
            + (", ".join(f"{n:,} ({rule})" for rule, n in prevented.items()) or "none")
        )
    _warn_file_problems(result.report)
    if not result.report.closes:
        typer.secho("accounting does not close: see the report", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    if strict and result.report.file_problems:
        raise typer.Exit(3)


def _warn_file_problems(report: LoadReport) -> None:
    """Files not loaded, again at the end where nobody can miss them (stderr, red)."""
    problems = report.file_problems
    if not problems:
        return
    typer.secho(
        f"{len(problems)} file(s) not loaded, whole or in part (see the quarantine):",
        fg=typer.colors.RED,
        err=True,
    )
    for f in problems:
        typer.secho(f"  {f.problem}", fg=typer.colors.RED, err=True)


def demo(
    children: Annotated[int, typer.Option(help="Children in the demo county.")] = 3_000,
    seed: Annotated[int, typer.Option(help="Seed for the demo county.")] = 1,
    serve: Annotated[bool, typer.Option(help="Start the app after loading.")] = True,
    port: Annotated[int, typer.Option(help="Port for the app.")] = 8501,
    api_port: Annotated[
        int, typer.Option(help="Port for the data exchange API, served beside the app.")
    ] = 8600,
    force: Annotated[
        bool,
        typer.Option(
            help="Use a data directory that is not empty: its graph and accounts are "
            "replaced by the demo's."
        ),
    ] = False,
) -> None:
    """The main job on the embedded default: generate a demo county, load it, open the
    app. The demo accounts' passwords are printed here once and stored nowhere."""
    settings = load_settings()
    if settings.data_dir.is_dir() and any(settings.data_dir.iterdir()) and not force:
        typer.secho(
            f"error: {settings.data_dir} is not empty: the demo would replace its graph and "
            "accounts. Point JIGSAW_DATA_DIR at an empty directory, or add --force.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    from synthetic.generate import generate as make_county

    private_dir(settings.data_dir)
    out = settings.data_dir / "demo-county"
    if out.exists():
        shutil.rmtree(out)
    with Bars(console) as bars:
        make_county(children, seed, out, progress=bars)
    console.print(f"demo county written to {out}")
    result = _demo_load(settings, out, fresh=True)
    console.print(result.report.to_markdown(), markup=False, highlight=False)
    store = open_store(settings)
    try:
        accounts = create_demo_accounts(store, settings.data_dir)
    finally:
        store.close()
    # a week later: the same extracts with a few changes, so the home page has alerts
    from synthetic.follow_up import write_follow_up

    later = settings.data_dir / "demo-county-next-week"
    changes = write_follow_up(out, later)
    update = _demo_load(settings, later, fresh=False)
    console.print(
        f"next week's extracts ({', '.join(f'{len(v)} {k}' for k, v in changes.items())}) "
        f"loaded: {update.report.alerts} alerts raised for allocated professionals"
    )
    console.print(
        "Demo accounts (passwords change with every demo and are shown only now: "
        "note them, they are stored nowhere):"
    )
    for a in accounts:  # plain lines (no wrapping, no markup): one account a line
        typer.echo(
            f"  {a['username']:<16} {a['password']:<24} {a['role']}"
            + (f" (as {a['stands_for']})" if a["stands_for"] else "")
        )
    if not serve:
        return
    from ui.cli.api import api_beside
    from ui.cli.serve import serve_command

    with api_beside(api_port) as url:
        typer.echo(f"The data exchange API is at {url} (docs at {url}/docs)")
        serve_command(port=port, demo=True)


def _demo_load(settings: Settings, directory: Path, *, fresh: bool) -> LoadResult:
    """One of the demo's loads, with progress bars; ``fresh`` empties the graph first."""
    from loaders.load import run_load

    store = open_store(settings)
    try:
        if fresh:
            store.drop_all()
        with Bars(console) as bars, collector_for_load() as after_stage:
            return run_load(
                store,
                directory,
                progress=bars,
                loads_dir=settings.data_dir / "loads",
                linkage_memory=settings.linkage_memory,
                read_workers=settings.load_workers,
                read_limits=ReadLimits(max_cell_chars=settings.max_cell_chars),
                relaxed_fsync=settings.load_fsync == "everysec",
                bulk=settings.bulk_write,
                after_stage=after_stage,
            )
    finally:
        _close(store)


def _close(store: GraphStore) -> None:
    """Close after a load: the embedded engine first finishes the snapshot the load
    asked for (GraphStore.save_snapshot), which takes a while on a large graph."""
    with console.status("saving the graph for its next start"):
        store.close()
