"""``jigsaw generate``: write a synthetic county's extracts and ground truth."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ui.cli.progress import Bars

console = Console()
MIN_CHILDREN = 200


def _clear_previous(out: Path, force: bool) -> None:
    """Refuse to write over anything that is not an earlier synthetic county."""
    if not out.exists():
        return
    if not out.is_dir():
        raise typer.BadParameter(f"{out} exists and is not a directory", param_hint="--out")
    if not any(out.iterdir()):
        return
    if not (out / "manifest.json").exists():
        raise typer.BadParameter(
            f"{out} is not empty and does not hold a synthetic county; choose another directory",
            param_hint="--out",
        )
    if not force:
        raise typer.BadParameter(
            f"{out} already holds a synthetic county; add --force to replace it", param_hint="--out"
        )
    for child in out.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def generate(
    children: Annotated[int, typer.Option(help="Children aged 0-17 in the county.")] = 3_000,
    seed: Annotated[int, typer.Option(help="Same seed, same county, byte for byte.")] = 1,
    out: Annotated[Path, typer.Option(help="Directory for the extracts and truth.")] = Path(
        "data/county"
    ),
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Reference date YYYY-MM-DD (default today).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a county already in --out.")] = False,
    returns: Annotated[
        bool,
        typer.Option(
            help="Also write its statutory returns (SSDA903, CIN census, Annex A, SEN2, "
            "school census) under returns/, from the same population."
        ),
    ] = False,
) -> None:
    """Generate a synthetic county: messy multi-agency extracts plus their ground truth."""
    from synthetic.generate import generate as make_county  # Faker: slow to import

    if children < MIN_CHILDREN:
        raise typer.BadParameter(f"at least {MIN_CHILDREN} children", param_hint="--children")
    day = dt.date.today()
    if as_of:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            raise typer.BadParameter(
                f"{as_of!r} is not a date like 2026-09-01", param_hint="--as-of"
            ) from None
    _clear_previous(out, force)
    with Bars(console) as bars:
        manifest = make_county(children, seed, out, as_of=day, progress=bars, returns=returns)
    extracts = manifest["extracts"]
    assert isinstance(extracts, dict)
    rows = sum(info["rows"] for info in extracts.values())
    console.print(
        f"[green]county written[/] to {out}: {manifest['children']:,} children, "
        f"{manifest['people']:,} people, {len(extracts)} extract files, {rows:,} rows, "
        f"as of {manifest['as_of']}, seed {seed}, in {manifest['seconds']} s"
    )
