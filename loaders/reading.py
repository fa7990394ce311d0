"""Read and validate: which files a load reads, through which mapping or pack, into
records and a quarantine, with the report's counts by source and by file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from loaders.build import HELD_FIELDS
from loaders.extracts import Dropped, Extract, read_extracts
from loaders.intake import Reading, mapped_extracts
from loaders.mapping import SourceMapping
from loaders.packs import Pack, load_packs, recognise
from loaders.progress import Progress
from loaders.readers import ReadLimits
from loaders.report import LoadReport
from loaders.validate import Quarantined, Record

IGNORED_DIRS = {"truth", "maps"}  # a county's ground truth; its map (not extracts)
IGNORED_FILES = {"manifest.json"}


def ignored(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    return rel.parts[0] in IGNORED_DIRS or path.name in IGNORED_FILES or path.name.startswith(".")


def read_all(
    root: Path,
    sources: list[SourceMapping],
    today: dt.date,
    report: LoadReport,
    records: list[Record],
    quarantine: list[Quarantined],
    progress: Progress,
    workers: int | None = None,
    packs: list[Pack] | None = None,
    dropped: list[Dropped] | None = None,
    limits: ReadLimits | None = None,
    reading: Reading | None = None,
) -> set[Path]:
    """Read every file a mapping names, then the files of national returns that the
    packs recognise among the rest (``packs``: the shipped ones by default); each value
    dropped from a kept row goes to ``dropped``; through ``reading``, the files earlier
    loads took in as they are go unread (:class:`loaders.intake.Reading`)."""
    extracts = mapped_extracts(root, sources, limits or ReadLimits())
    for mapping in sources:
        report.counts(mapping.source).files = sum(e.mapping is mapping for e in extracts)
    extracts += _pack_extracts(
        root, {e.path for e in extracts}, report, quarantine, packs, limits or ReadLimits()
    )
    progress.stage("reading and validating extracts", len(extracts) or None)
    if reading is None:
        outcomes = read_extracts(extracts, today, workers=workers)
    else:  # files taken in as they are give what they gave, unread
        outcomes = reading.outcomes(extracts, workers)
    for extract, outcome in zip(extracts, outcomes, strict=True):
        counts = report.counts(extract.mapping.source)
        counts.read += outcome.read
        counts.quarantined += outcome.rows_quarantined
        counts.values_dropped += outcome.values_dropped
        file = report.file(extract.relname)
        file.sources.append(extract.mapping.source)
        file.not_kept += [n for n in unheld_columns(extract.mapping) if n not in file.not_kept]
        file.read += outcome.read
        file.quarantined += outcome.rows_quarantined
        file.problem = file.problem or outcome.problem
        file.notes += outcome.notes
        records += outcome.records
        quarantine += outcome.quarantined
        if dropped is not None:
            dropped += outcome.dropped
        progress.advance()
    return {e.path for e in extracts} | {root / f for f in report.files if report.files[f].refused}


def unheld_columns(mapping: SourceMapping) -> list[str]:
    """The columns a mapping reads into fields the graph does not hold: listed in the
    report as not kept, never dropped without a word."""
    return [
        f"{column}: read as {name}, which the graph does not hold"
        for column, name in mapping.mapped.items()
        if name not in HELD_FIELDS and name != mapping.person_key
    ]


def _pack_extracts(
    root: Path,
    claimed: set[Path],
    report: LoadReport,
    quarantine: list[Quarantined],
    packs: list[Pack] | None,
    limits: ReadLimits,
) -> list[Extract]:
    """The packs' reading of the files no mapping names (a workbook's sheets are files
    of their own); a file that claims a return's format but breaks it is refused with
    its reason, and the load goes on."""
    rest = sorted(
        p for p in root.rglob("*") if p.is_file() and p not in claimed and not ignored(p, root)
    )
    found = recognise(root, rest, load_packs() if packs is None else packs)
    extracts = []
    for path, claims in found.claims.items():
        for claim in claims:
            for mapping in claim.mappings:
                relname = f"{claim.relname}#{mapping.sheet}" if mapping.sheet else claim.relname
                extracts.append(Extract(mapping, path, relname, limits))
                report.counts(mapping.source).files += 1
                file = report.file(relname)
                file.pack = claim.pack
                file.not_kept = claim.not_kept
    for relname, why in found.unread_sheets.items():
        report.file(relname).problem = f"{relname}: {why}"
        quarantine.append(Quarantined("", relname, 0, why, {}))
    report.unrecognised = found.unrecognised
    for refusal in found.refusals:
        quarantine.append(
            Quarantined(refusal.source, refusal.relname, refusal.line, refusal.reason, {})
        )
        file = report.file(refusal.relname)
        file.pack, file.refused, file.sources = refusal.pack, refusal.reason, [refusal.source]
    return extracts
