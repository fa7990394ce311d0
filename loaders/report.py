"""The load report: what was read, loaded, merged and quarantined, per source.

Accounting must close for every source - rows read = rows loaded + rows merged into
an existing person + rows quarantined - and the report says so line by line, so a
data officer can trust that nothing was silently lost. It is printed after a load
and saved beside the quarantine file, where the app's Data page reads it.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from loaders.extracts import Dropped
from loaders.fields import safe_cell
from loaders.validate import Quarantined


@dataclass
class SourceCounts:
    source: str
    files: int = 0
    read: int = 0
    loaded: int = 0
    merged: int = 0
    quarantined: int = 0
    values_dropped: int = 0  # cells dropped (e.g. an identifier failing its check)

    @property
    def closes(self) -> bool:
        return self.read == self.loaded + self.merged + self.quarantined


@dataclass
class FileCounts:
    """One file's rows (a workbook's sheet is a file of its own): the same accounting
    as a source's, and for a national return's file what it holds that the graph does
    not keep, or why it was refused; for any file, why it could not be read, whole or
    in part, and what the reader decided or repaired (another encoding for some lines,
    a workbook's stale size)."""

    file: str
    sources: list[str] = field(default_factory=list)
    pack: str = ""
    read: int = 0
    loaded: int = 0
    merged: int = 0
    quarantined: int = 0
    not_kept: list[str] = field(default_factory=list)  # "column: why"
    refused: str = ""  # why a file claiming to be a return's could not be read as one
    problem: str = ""  # why the file, or a part of it, could not be read (loaders.readers)
    notes: list[str] = field(default_factory=list)  # what the reader decided or repaired

    @property
    def closes(self) -> bool:
        return self.read == self.loaded + self.merged + self.quarantined


@dataclass
class LoadReport:
    directory: str
    started_at: str
    as_of: str
    sources: dict[str, SourceCounts] = field(default_factory=dict)
    people: int = 0
    identity_records: int = 0
    deterministic_links: int = 0
    probabilistic_links: int = 0
    relational_links: int = 0  # adults linked on family and address evidence
    review_pairs: int = 0
    # records linkage compared (a delta's new or changed ones, or every one), and why
    # every record was linked again when it was
    records_linked: int = 0
    relinked: str = ""
    # how linkage ran: models trained or on their fixed priors, and why
    linkage_notes: list[str] = field(default_factory=list)
    # links not made because they would break a rule (rule -> count); each is reviewed
    links_prevented: dict[str, int] = field(default_factory=dict)
    # relationship rows not loaded because they break a rule (rule -> count)
    relationships_refused: dict[str, int] = field(default_factory=dict)
    alerts: int = 0  # raised for allocated professionals by what this load changed
    risk_factors_kept: int = 0  # pupils whose risk of NEET factors were worked out and kept
    # on a delta, the touched pupils whose answers were worked out again (the others'
    # kept from the last load); None: every pupil's were
    risk_factors_worked_out: int | None = None
    # on a delta, the pupils whose kept factors were written or cleared (the others'
    # had not moved since the last load's day); None: every pupil's were written
    risk_factors_written: int | None = None
    # on a delta, the touched people (children and the adults among them) whose part
    # of the needs forecast's tally was counted again (the others' kept from the last
    # load); None: every child's was
    needs_tally_counted: int | None = None
    caseload_tally_counted: int | None = None  # the same of the caseload map's cases
    # on a delta, the children of transitions' cohorts read again (the others' rows kept
    # from the last load); None: every child's were
    cohort_children_read: int | None = None
    unmapped_files: list[str] = field(default_factory=list)
    # why no pack reads each file no mapping names either: the format it is most like
    unrecognised: dict[str, str] = field(default_factory=dict)
    files: dict[str, FileCounts] = field(default_factory=dict)
    # the first values dropped from kept rows, as dropped.csv lists them all
    dropped_examples: list[dict[str, object]] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)
    write_seconds: dict[str, float] = field(default_factory=dict)  # per write step
    bulk_written: dict[str, int] = field(default_factory=dict)  # rows per step bulk-inserted
    seconds: dict[str, float] = field(default_factory=dict)
    peak_mb: dict[str, int] = field(default_factory=dict)  # process peak RSS after each stage
    finished: bool = False
    # against what the graph's earlier loads took in (loaders.intake): whether files
    # taken in as they are went unread (a delta), and per source the files skipped and
    # read, and the rows of those read added, changed, removed and unchanged since
    delta: bool = False
    since_last: dict[str, dict[str, int]] = field(default_factory=dict)
    # rows not written because the graph holds them as they are (loaders.unchanged), per
    # write step; or why every row was written; and the stages that ran over everything
    rows_unchanged: dict[str, int] = field(default_factory=dict)
    wrote_every_row: str = ""
    over_everything: list[str] = field(default_factory=list)

    def counts(self, source: str) -> SourceCounts:
        return self.sources.setdefault(source, SourceCounts(source))

    def file(self, name: str) -> FileCounts:
        return self.files.setdefault(name, FileCounts(name))

    @property
    def file_problems(self) -> list[FileCounts]:
        """Files not read, whole or in part: what ``jigsaw load --strict`` fails on."""
        return [f for f in self.files.values() if f.problem or f.refused]

    @property
    def rows_read(self) -> int:
        return sum(s.read for s in self.sources.values())

    @property
    def closes(self) -> bool:
        return all(s.closes for s in self.sources.values()) and all(
            f.closes for f in self.files.values()
        )

    def to_json(self) -> dict:
        data = asdict(self)
        data["rows_read"] = self.rows_read
        data["closes"] = self.closes
        return data

    @classmethod
    def from_json(cls, data: dict) -> LoadReport:
        data = {k: v for k, v in data.items() if k not in ("rows_read", "closes")}
        sources = {k: SourceCounts(**v) for k, v in data.pop("sources", {}).items()}
        files = {k: FileCounts(**v) for k, v in data.pop("files", {}).items()}
        return cls(**data, sources=sources, files=files)

    def to_markdown(self) -> str:
        lines = [
            f"Load of `{self.directory}` (as of {self.as_of}, started {self.started_at})",
            "",
            *self._problems_markdown(),
            *self._delta_markdown(),
            "| Source | Files | Rows read | Loaded | Merged | Quarantined | Values dropped "
            "| Closes |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for s in sorted(self.sources.values(), key=lambda s: s.source):
            lines.append(
                f"| {s.source} | {s.files} | {s.read:,} | {s.loaded:,} | {s.merged:,} | "
                f"{s.quarantined:,} | {s.values_dropped:,} | {'yes' if s.closes else 'NO'} |"
            )
        total = SourceCounts("total")
        for s in self.sources.values():
            for name in ("files", "read", "loaded", "merged", "quarantined", "values_dropped"):
                setattr(total, name, getattr(total, name) + getattr(s, name))
        lines.append(
            f"| **total** | {total.files} | {total.read:,} | {total.loaded:,} | "
            f"{total.merged:,} | {total.quarantined:,} | {total.values_dropped:,} | "
            f"{'yes' if self.closes else 'NO'} |"
        )
        lines += [
            "",
            f"People: {self.people:,} from {self.identity_records:,} identity records "
            f"({self.deterministic_links:,} links on checked identifiers, "
            f"{self.probabilistic_links:,} probabilistic links, "
            f"{self.relational_links:,} on family and address evidence); "
            f"{self.review_pairs:,} possible duplicates await review; "
            f"{self.alerts:,} new alerts for allocated professionals; "
            f"risk of NEET factors kept for {self.risk_factors_kept:,} pupils "
            f"as at {self.as_of}"
            + (
                f" (answers worked out again for the {self.risk_factors_worked_out:,} "
                "pupils it touched, the rest kept from the last load"
                + (
                    f"; factors written for the {self.risk_factors_written:,} whose factors moved"
                    if self.risk_factors_written is not None
                    else ""
                )
                + ")."
                if self.risk_factors_worked_out is not None
                else "."
            ),
        ]
        if self.links_prevented or self.relationships_refused:
            lines.append(
                "Family and identifier rules: "
                + ", ".join(
                    [f"{n:,} links not made ({rule})" for rule, n in self.links_prevented.items()]
                    + [
                        f"{n:,} relationship rows quarantined ({rule})"
                        for rule, n in self.relationships_refused.items()
                    ]
                )
                + "; each link not made awaits review with its reason."
            )
        if self.linkage_notes:
            lines.append("Linkage: " + "; ".join(self.linkage_notes) + ".")
        if self.written:
            bulk = sum(self.bulk_written.values())
            lines.append(
                f"Written: {sum(self.written.values()):,} rows in {len(self.written)} steps, "
                f"{bulk:,} of them by the engine's bulk insertion (new nodes and "
                "relationships)."
            )
        if self.seconds:
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
            lines.append(f"Time: {stages}.")
        lines += self._returns_markdown()
        if self.dropped_examples:
            total = sum(s.values_dropped for s in self.sources.values())
            lines += [
                "",
                f"Values dropped from rows that were kept ({total:,}; the first "
                f"{len(self.dropped_examples)} here, all in dropped.csv, values masked):",
                "",
                "| File | Row | Column | Value | Why |",
                "| --- | ---: | --- | --- | --- |",
            ]
            lines += [
                f"| {d['file']} | {d['row']} | {d['column']} | {d['value']} | {d['reason']} |"
                for d in self.dropped_examples
            ]
        if self.unmapped_files:
            lines.append(
                f"Files no mapping or pack reads ({len(self.unmapped_files)}): "
                + ", ".join(self.unmapped_files[:10])
                + (" ..." if len(self.unmapped_files) > 10 else "")
            )
            why = [(f, self.unrecognised[f]) for f in self.unmapped_files if f in self.unrecognised]
            lines += [f"- {f}: {reason}" for f, reason in why[:10]]
        noted = [f for f in self.files.values() if f.notes or (f.quarantined and not f.pack)]
        if noted:
            lines += [
                "",
                "Files with quarantined rows or notes (the others read cleanly):",
                "",
                "| File | Rows read | Loaded | Merged | Quarantined | Closes | Notes |",
                "| --- | ---: | ---: | ---: | ---: | --- | --- |",
            ]
            for f in sorted(noted, key=lambda f: f.file):
                lines.append(
                    f"| {f.file} | {f.read:,} | {f.loaded:,} | {f.merged:,} | "
                    f"{f.quarantined:,} | {'yes' if f.closes else 'NO'} | {'; '.join(f.notes)} |"
                )
        if not self.finished:
            lines.append("THE LOAD DID NOT FINISH: run it again to complete it.")
        return "\n".join(lines) + "\n"

    def _returns_markdown(self) -> list[str]:
        """The national returns' files: each one's accounting, what it holds that the
        graph does not keep, and the files refused."""
        files = sorted((f for f in self.files.values() if f.pack), key=lambda f: f.file)
        reasons = sorted({n for f in self.files.values() for n in f.not_kept})
        reasons_block = ["", "Not kept, and why:", *[f"- {n}" for n in reasons]] if reasons else []
        if not files:
            return reasons_block
        lines = [
            "",
            "National returns (read by the shipped packs, one row per file):",
            "",
            "| File | Pack | Rows read | Loaded | Merged | Quarantined | Closes | Not kept |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
        ]
        for f in files:
            kept = (
                f"refused: {f.refused}"
                if f.refused
                else (", ".join(n.split(":", 1)[0] for n in f.not_kept) or "-")
            )
            lines.append(
                f"| {f.file} | {f.pack} | {f.read:,} | {f.loaded:,} | {f.merged:,} | "
                f"{f.quarantined:,} | {'yes' if f.closes else 'NO'} | {kept} |"
            )
        return lines + reasons_block

    def _delta_markdown(self) -> list[str]:
        """Which kind of load it was, what it did not read and what changed since."""
        if not self.since_last:
            return []
        total = {
            k: sum(c.get(k, 0) for c in self.since_last.values())
            for k in ("files_skipped", "files_read", "added", "changed", "removed", "unknown")
        }
        files = total["files_skipped"] + total["files_read"]
        head = (
            f"**Delta load**: {total['files_skipped']:,} of {files:,} files as the last load "
            "took them in, not read again"
            if self.delta
            else f"**Full load**: all {files:,} files read"
        )
        unknown = (
            f" {total['unknown']:,} files read in full, their rows not counted: the row "
            "hashes kept beside their last reading were missing, cut short or not its own."
            if total["unknown"]
            else ""
        )
        lines = [
            f"{head}; since the last load {total['added']:,} rows added, "
            f"{total['changed']:,} changed and {total['removed']:,} removed (a removed "
            f"row's records stay in the graph, as a full reload leaves them).{unknown}",
            "",
        ]
        changed = [(n, c) for n, c in self.since_last.items() if c.get("files_read")]
        if changed:
            lines += [
                "| Source | Files skipped | Files read | Added | Changed | Removed |",
                "| --- | ---: | ---: | ---: | ---: | ---: |",
            ]
            lines += [
                f"| {n} | {c['files_skipped']:,} | {c['files_read']:,} | {c['added']:,} | "
                f"{c['changed']:,} | {c['removed']:,} |"
                for n, c in changed
            ]
            lines.append("")
        if self.delta or self.rows_unchanged or (self.records_linked and not self.relinked):
            lines += self._unchanged_markdown()
        return lines

    def _unchanged_markdown(self) -> list[str]:
        """What the stages after reading did with what had not changed."""
        kept = sum(self.rows_unchanged.values())
        written = (
            f"Written: every row ({self.wrote_every_row})."
            if self.wrote_every_row
            else f"Written: only what changed; {kept:,} rows the graph holds as they are "
            "were not written again."
        )
        linked = (
            f"Linked: every record ({self.relinked})."
            if self.relinked
            else f"Linked: the {self.records_linked:,} new or changed identity records, "
            f"against the people already in the graph and each other; the other "
            f"{self.identity_records - self.records_linked:,} kept their person."
        )
        lines = [linked, written]
        if self.over_everything:
            stages = ", ".join(self.over_everything)
            lines.append(f"Run over everything, as a full load does: {stages}.")
        return [*lines, ""]

    def _problems_markdown(self) -> list[str]:
        """Files not loaded, first and loud: the rest of the report is about the others."""
        problems = self.file_problems
        if not problems:
            return []
        lines = [
            f"**{len(problems)} FILE(S) NOT LOADED, WHOLE OR IN PART** "
            "(each is in the quarantine as row 0 with the reason):",
            "",
        ]
        lines += [f"- ({', '.join(f.sources)}) {f.problem or f.refused}" for f in problems]
        return [*lines, ""]


QUARANTINE_COLUMNS = ["source", "file", "row", "reason", "raw"]
DROPPED_COLUMNS = ["source", "file", "row", "column", "field", "value", "reason"]


def save(
    report: LoadReport,
    quarantine: list[Quarantined],
    directory: Path,
    dropped: list[Dropped] | None = None,
) -> Path:
    """Write report.json, report.md, quarantine.csv and dropped.csv (each value dropped
    from a kept row: where, masked, why); point ``latest`` at them."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "dropped.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(DROPPED_COLUMNS)
        for d in dropped or []:
            writer.writerow([safe_cell(getattr(d, name)) for name in DROPPED_COLUMNS])
    (directory / "report.json").write_text(json.dumps(report.to_json(), indent=2))
    (directory / "report.md").write_text(report.to_markdown())
    with (directory / "quarantine.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(QUARANTINE_COLUMNS)
        for q in quarantine:
            writer.writerow(
                [
                    safe_cell(x)
                    for x in (
                        q.source,
                        q.file,
                        q.row,
                        q.reason,
                        json.dumps(q.raw, ensure_ascii=False),
                    )
                ]
            )
    latest = directory.parent / "latest"
    tmp = directory.parent / ".latest.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(directory, tmp)
    shutil.rmtree(latest, ignore_errors=True)
    tmp.rename(latest)
    return directory


def latest_report(loads_dir: Path) -> LoadReport | None:
    path = loads_dir / "latest" / "report.json"
    if not path.exists():
        return None
    return LoadReport.from_json(json.loads(path.read_text()))


def latest_quarantine(loads_dir: Path) -> list[dict[str, str]]:
    return _latest_rows(loads_dir, "quarantine.csv")


def latest_dropped(loads_dir: Path) -> list[dict[str, str]]:
    """The values the latest load dropped from the rows it kept, with where and why."""
    return _latest_rows(loads_dir, "dropped.csv")


def _latest_rows(loads_dir: Path, name: str) -> list[dict[str, str]]:
    path = loads_dir / "latest" / name
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
