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
    week_later_of: Annotated[
        Path | None,
        typer.Option(
            "--week-later-of",
            help="Instead, write the county in this directory as it would be a week later "
            "(new attendance, moves, case events, births, corrections; --share of its rows).",
        ),
    ] = None,
    share: Annotated[
        float, typer.Option(help="With --week-later-of: the share of rows the week changes.")
    ] = 0.01,
) -> None:
    """Generate a synthetic county: messy multi-agency extracts plus their ground truth."""
    if week_later_of is not None:
        _week_later(week_later_of, out, seed, share, force)
        return
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


def _week_later(county: Path, out: Path, seed: int, share: float, force: bool) -> None:
    from synthetic.week_later import write_week_later

    if not (county / "manifest.json").exists():
        raise typer.BadParameter(
            f"{county} does not hold a synthetic county", param_hint="--week-later-of"
        )
    if out.resolve() == county.resolve():
        raise typer.BadParameter("write the week later to another directory", param_hint="--out")
    _clear_previous(out, force)
    try:
        done = write_week_later(county, out, seed=seed, share=share)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--share") from None
    kinds = ", ".join(
        f"{n:,} {k}" for k, n in done.items() if k not in ("as_of", "rows", "rows_changed")
    )
    console.print(
        f"[green]a week later written[/] to {out}, as of {done['as_of']}: "
        f"{done['rows_changed']:,} of {done['rows']:,} rows changed ({kinds})"
    )
