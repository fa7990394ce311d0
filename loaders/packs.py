"""Mapping packs: the national returns a council already makes, loaded with no mapping.

A pack is a directory of ordinary mappings (``loaders/packs/<pack>/``) with a
``pack.yaml`` naming the return, the specification version its mappings follow and
defaults every mapping shares (code lists, date formats). Its files are found by what
they hold, not by a glob: a CSV by its header row, a workbook sheet by its header
row (and name), an XML file by its root and collection elements. Names only break
ties, and say which format a file claims to be when its header is not that format's,
so the file is refused with a message that names it, the line and what was expected,
and the rest of the load goes on.

Each file the packs claim is read with a copy of its mapping whose columns are
spelt as that file spells them (headers match ignoring case, spaces and punctuation)
and whose sheet and header row are the ones found. What the file holds that no
mapping reads is listed as "not kept", with the pack's reason where it gives one.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from graph.yaml_model import read_yaml
from loaders.mapping import MappingError, Match, SourceMapping, load_mapping_data
from loaders.readers import ReadError
from loaders.readers_xml import element_paths

PACKS = Path(__file__).parent / "packs"
PACK_FILE = "pack.yaml"
HEADER_SCAN_ROWS = 12  # a workbook's title rows come before its header
NOT_IN_MODEL = "the graph model has no field for it"
SUFFIXES = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xml": "xml"}
# how councils' tools write a date, tried after a pack's own forms (day before month: an
# English council's 01/05/2025 is the 1st of May)
DATE_FORMS = (
    "%d/%m/%Y",
    "%Y-%m-%d",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
)


@dataclass(frozen=True)
class Pack:
    name: str
    title: str
    spec: str
    mappings: tuple[SourceMapping, ...]


@dataclass
class FileClaim:
    """One file a pack reads: the mappings (as spelt for this file) and what is left."""

    relname: str
    pack: str
    mappings: list[SourceMapping]
    not_kept: list[str] = field(default_factory=list)  # "column: why"


@dataclass(frozen=True)
class Refusal:
    """A file that claims to be a return's but breaks its format."""

    relname: str
    pack: str
    source: str
    line: int
    reason: str


@dataclass
class Recognised:
    claims: dict[Path, list[FileClaim]] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    # sheets of a workbook a pack reads that no pack recognises ("file#sheet": why)
    unread_sheets: dict[str, str] = field(default_factory=dict)
    # files no pack recognises, nor refuses: why, with the format each is most like
    unrecognised: dict[str, str] = field(default_factory=dict)


def load_packs(directory: Path | None = None) -> list[Pack]:
    """Every pack under ``directory`` (the shipped ones by default), by name."""
    directory = directory or PACKS
    packs = []
    for pack_file in sorted(directory.glob(f"*/{PACK_FILE}")):
        packs.append(load_pack(pack_file.parent))
    return packs


def load_pack(directory: Path) -> Pack:
    meta = read_yaml(directory / PACK_FILE, "pack", MappingError)
    if not isinstance(meta, dict) or not {"pack", "spec"} <= meta.keys():
        raise MappingError(f"{directory / PACK_FILE}: a pack names its pack and spec")
    defaults = meta.get("defaults") or {}
    mappings = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == PACK_FILE:
            continue
        data = read_yaml(path, "mapping", MappingError)
        if not isinstance(data, dict):
            raise MappingError(f"{path}: a mapping must be a YAML mapping of keys to values")
        merged = _with_defaults(data, defaults)
        merged.setdefault("files", "**/*")
        merged.update(pack=meta["pack"], spec=meta["spec"])
        mappings.append(load_mapping_data(merged, path))
    if not mappings:
        raise MappingError(f"{directory}: the pack has no mappings")
    if meta.get("xml"):
        mappings += _xml_forms(directory / PACK_FILE, meta["xml"], mappings)
    return Pack(meta["pack"], meta.get("title", meta["pack"]), meta["spec"], tuple(mappings))


def _xml_forms(where: Path, xml: dict, mappings: list[SourceMapping]) -> list[SourceMapping]:
    """The return's XML form, derived from its CSV mappings: the same columns as
    elements, each file's rows under one element of the child's (``records``), and the
    columns the XML holds once per child (``shared``) found where it holds them."""
    try:
        collection, records = xml["collection"], xml["records"]
        shared: dict[str, str] = xml.get("shared", {})
    except (KeyError, TypeError):
        raise MappingError(f"{where}: xml needs a collection and records") from None
    by_source = {m.source: m for m in mappings}
    out = []
    for source, relative in records.items():
        if source not in by_source:
            raise MappingError(f"{where}: xml records names no mapping {source!r}")
        csv_form = by_source[source]
        up = "../" * len(relative.split("/"))
        columns = {(up + shared[c] if c in shared else c): f for c, f in csv_form.columns.items()}
        out.append(
            csv_form.model_copy(
                update={
                    "source": f"{source}_xml",
                    "format": "xml",
                    "record": f"{collection}/{relative}",
                    "columns": columns,
                    "match": Match(collection=collection),
                    "description": f"{csv_form.description} (XML)",
                }
            )
        )
    return [SourceMapping.model_validate(dict(m)) for m in out]


def _with_defaults(data: dict, defaults: dict) -> dict:
    """The pack's defaults under the mapping's own keys (code lists merged by field);
    dates in any of the forms councils write them, after the pack's own."""
    merged = {**defaults, **data}
    for key in ("codes", "dates", "not_kept", "headers"):
        if key in defaults and key in data:
            merged[key] = {**defaults[key], **data[key]}
    own = list((merged.get("dates") or {}).get("default", []))
    merged["dates"] = {
        **(merged.get("dates") or {}),
        "default": own + [f for f in DATE_FORMS if f not in own],
    }
    return merged


def plain(name: object) -> str:
    """A header cell as headers are compared: lower case letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", str(name or "").lower())


def recognise(root: Path, paths: list[Path], packs: list[Pack]) -> Recognised:
    """Which pack mappings read which of ``paths``; the files that break their format."""
    found = Recognised()
    by_format: dict[str, list[tuple[Pack, SourceMapping]]] = {}
    for pack in packs:
        for m in pack.mappings:
            by_format.setdefault(m.format, []).append((pack, m))
    for path in paths:
        kind = SUFFIXES.get(path.suffix.lower())
        candidates = by_format.get(kind or "", [])
        relname = str(path.relative_to(root))
        if not candidates:
            found.unrecognised[relname] = (
                f"the packs read {', '.join(sorted(by_format))} files ({', '.join(SUFFIXES)}), "
                f"not {path.suffix or 'files with no suffix'}"
            )
            continue
        try:
            if kind == "csv":
                _csv(path, relname, candidates, found)
            elif kind == "xlsx":
                _xlsx(path, relname, candidates, found)
            else:
                _xml(path, relname, candidates, found)
        except ReadError as exc:
            named = [(p, m) for p, m in candidates if _named(m, path.name)]
            if named:  # a file that says it is a return's but cannot be read
                pack, mapping = named[0]
                found.refusals.append(Refusal(relname, pack.name, mapping.source, 0, str(exc)))
            else:
                found.unrecognised[relname] = str(exc)
    return found


def _nearest(header: list[str], candidates: list[tuple[Pack, SourceMapping]]) -> str:
    """Why no pack reads a header: the file of a return it is most like and what that
    file has that it lacks, or that it is like none."""
    shown = ", ".join(h for h in header if h)[:300] or "no header"
    scored = [(_have(header, m), p, m) for p, m in candidates]
    best = max(scored, key=lambda s: s[0], default=None)
    if best is None or best[0] < 2:
        return f"its columns ({shown}) are no return's file the packs know"
    _, pack, m = best
    spelt = spelt_as(header, m)
    missing = [c for c, h in spelt.items() if h is None and c not in m.optional]
    return (
        f"its columns ({shown}) are no return's file the packs know; the nearest is "
        f"{pack.title} {m.description or m.source}, which also has {', '.join(missing)}"
    )


# -- csv ---------------------------------------------------------------------------


def csv_header(path: Path, encoding: str = "utf-8-sig") -> tuple[int, list[str]]:
    """The first non-blank row of a CSV file and its line number."""
    try:
        raw = path.read_bytes()[:1_000_000]
    except OSError as exc:
        raise ReadError(f"{path.name}: cannot read: {exc}") from None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                return reader.line_num, [c.strip() for c in cells]
    except csv.Error as exc:
        raise ReadError(f"{path.name}: not a readable CSV file ({exc})") from None
    return 0, []


def _csv(path: Path, relname: str, candidates: list, found: Recognised) -> None:
    line, header = csv_header(path)
    best = _best(header, path.name, [(p, m) for p, m in candidates if m.delimiter == ","])
    if best is not None:
        pack, mapping, spelt = best
        copy = mapping.model_copy(update={"columns": spelt, "header_row": line or 1})
        claim = FileClaim(relname, pack.name, [copy], _unread_columns(header, copy))
        found.claims.setdefault(path, []).append(claim)
        return
    if not _refuse_named(relname, path.name, line, header, candidates, found):
        found.unrecognised[relname] = f"line {line}: {_nearest(header, candidates)}"


def _best(
    header: list[str], filename: str, candidates: list[tuple[Pack, SourceMapping]]
) -> tuple[Pack, SourceMapping, dict[str, str]] | None:
    """The mapping whose required columns the header has, reading the most of it; a
    name match breaks ties. Its columns come back spelt as the header spells them."""
    scored = []
    for pack, m in candidates:
        wanted = spelt_as(header, m)
        missing = [c for c, h in wanted.items() if h is None and c not in m.optional]
        if missing:
            continue
        spelt = {h: m.columns[c] for c, h in wanted.items() if h is not None}
        scored.append((len(spelt), _named(m, filename), pack, m, spelt))
    if not scored:
        return None
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
    _, _, pack, m, spelt = scored[0]
    return pack, m, spelt


def spelt_as(header: list[str], mapping: SourceMapping) -> dict[str, str | None]:
    """Each of a mapping's columns as ``header`` spells it (None: not there): its own
    name ignoring case, spaces and punctuation, else a cell no other column took that
    one of its ``headers`` patterns matches."""
    spelling = {plain(h): h for h in header if h}
    wanted = {c: spelling.get(plain(c)) for c in mapping.columns}
    taken = {h for h in wanted.values() if h is not None}
    for column, pattern in mapping.headers.items():
        if column not in wanted or wanted[column] is not None:
            continue
        found = next(
            (
                h
                for h in header
                if h and h not in taken and re.fullmatch(pattern, h.strip(), re.IGNORECASE)
            ),
            None,
        )
        if found is not None:
            wanted[column] = found
            taken.add(found)
    return wanted


def _refuse_named(
    relname: str,
    filename: str,
    line: int,
    header: list[str],
    candidates: list[tuple[Pack, SourceMapping]],
    found: Recognised,
    sheet: str | None = None,
) -> bool:
    """A file (or sheet) named as a return's file whose header is not that file's:
    refused, saying what it lacks. False when it is not named as one."""
    named = [(p, m) for p, m in candidates if _named(m, sheet if sheet is not None else filename)]
    # the format it is most like, by the columns it has of each
    named.sort(key=lambda pm: -_have(header, pm[1]))
    for pack, m in named[:1]:
        spelt = spelt_as(header, m)
        missing = [c for c, h in spelt.items() if h is None and c not in m.optional]
        where = f"sheet {sheet!r} row {line}" if sheet is not None else f"line {line}"
        found.refusals.append(
            Refusal(
                relname,
                pack.name,
                m.source,
                line,
                f"{relname} {where}: named like a {pack.title} file ({m.description or m.source}) "
                f"but its header is not the one {m.spec} gives: missing {', '.join(missing)}; "
                f"expected {', '.join(c for c in m.columns)}; "
                f"found {', '.join(h for h in header if h) or 'no header'}",
            )
        )
    return bool(named)


def _have(header: list[str], mapping: SourceMapping) -> int:
    """How many of a mapping's columns a header has."""
    return sum(1 for h in spelt_as(header, mapping).values() if h is not None)


def _named(mapping: SourceMapping, name: str) -> bool:
    pattern = mapping.match.name if mapping.match else None
    if mapping.format == "xlsx" and mapping.match and mapping.match.sheet:
        pattern = pattern or mapping.match.sheet
    return bool(pattern and re.search(pattern, name, re.IGNORECASE))


def _unread_columns(header: list[str], mapping: SourceMapping) -> list[str]:
    return [f"{h}: {_reason(mapping, h)}" for h in header if h and mapping.columns.get(h) is None]


def _reason(mapping: SourceMapping, column: str) -> str:
    """Why a column is not kept: the pack's reason for it, or for every column ending as
    it does (a key starting with "_", such as ``_table_id``)."""
    name = column.lower()
    exact = [r for k, r in mapping.not_kept.items() if plain(k) == plain(column)]
    ending = [r for k, r in mapping.not_kept.items() if k[:1] == "_" and name.endswith(k.lower())]
    return (exact + ending + [NOT_IN_MODEL])[0]


# -- xlsx --------------------------------------------------------------------------


def _xlsx(path: Path, relname: str, candidates: list, found: Recognised) -> None:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ReadError(f"{relname}: not a readable xlsx workbook ({exc})") from None
    try:
        unread: dict[str, str] = {}
        for sheet in book.worksheets:
            rows = []
            for cells in sheet.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True):
                rows.append(["" if c is None else str(c).strip() for c in cells])
            named = [(p, m) for p, m in candidates if _sheet_named(m, sheet.title)]
            choice = None
            for number, header in enumerate(rows, start=1):
                best = _best(header, sheet.title, named or candidates)
                if best is not None and (choice is None or len(best[2]) > len(choice[1][2])):
                    choice = (number, best, header)
            if choice is None:
                header = max(rows, key=lambda r: sum(1 for c in r if c), default=[])
                if named:
                    line = rows.index(header) + 1 if header in rows else 1
                    _refuse_named(relname, path.name, line, header, named, found, sheet.title)
                elif any(header):
                    unread[sheet.title] = _nearest(header, candidates)
                continue
            number, (pack, mapping, spelt), header = choice
            copy = mapping.model_copy(
                update={"columns": spelt, "sheet": sheet.title, "header_row": number}
            )
            claim = FileClaim(f"{relname}", pack.name, [copy], _unread_columns(header, copy))
            found.claims.setdefault(path, []).append(claim)
        if path in found.claims:  # the rest of a return's workbook is said, not skipped
            for title, why in unread.items():
                found.unread_sheets[f"{relname}#{title}"] = f"no pack reads this sheet: {why}"
        elif not any(r.relname == relname for r in found.refusals):
            found.unrecognised[relname] = "no sheet is a return's the packs know: " + (
                "; ".join(f"sheet {title!r}: {why}" for title, why in unread.items())
                or "no sheet has a header"
            )
    finally:
        book.close()


def _sheet_named(mapping: SourceMapping, title: str) -> bool:
    pattern = mapping.match.sheet if mapping.match else None
    return bool(pattern and re.search(pattern, title, re.IGNORECASE))


# -- xml ---------------------------------------------------------------------------


def _xml(path: Path, relname: str, candidates: list, found: Recognised) -> None:
    root, leaves = element_paths(path, relname)
    present = {"/".join(p.split("/")[:i]) for p in leaves for i in range(1, p.count("/") + 2)}
    packs: dict[str, list[SourceMapping]] = {}
    titles: dict[str, Pack] = {}
    expected: list[str] = []
    for pack, m in candidates:
        assert m.record is not None
        if m.record.split("/")[0] != root:
            continue
        collection = m.match.collection if m.match and m.match.collection else None
        if collection is not None and collection not in present:
            expected.append(f"{collection} ({pack.title})")
            continue
        packs.setdefault(pack.name, []).append(m)
        titles[pack.name] = pack
    # a pack whose collection the file holds reads it with every mapping of that root
    for name, mappings in packs.items():
        if not any(m.match and m.match.collection for m in mappings):
            continue
        claim = FileClaim(relname, name, mappings, _unread_elements(leaves, mappings))
        found.claims.setdefault(path, []).append(claim)
    if path in found.claims:
        return
    named = [(p, m) for p, m in candidates if _named(m, path.name)]
    if not named:
        roots = sorted({m.record.split("/")[0] for _, m in candidates if m.record})
        found.unrecognised[relname] = (
            f"its root element is <{root}>"
            + (f", holding none of {', '.join(sorted(set(expected)))}" if expected else "")
            + f": the packs read XML files whose root is <{'>, <'.join(roots)}>"
        )
    else:
        pack, m = named[0]
        assert m.record is not None
        if expected:
            why = f"its root is <{root}> but it holds none of {', '.join(sorted(set(expected)))}"
        else:
            why = f"its root element is <{root}>, not <{m.record.split('/')[0]}>"
        found.refusals.append(
            Refusal(
                relname,
                pack.name,
                m.source,
                1,
                f"{relname}: named like a {pack.title} file but {why}; {m.spec} files hold "
                f"{(m.match.collection if m.match and m.match.collection else m.record)}",
            )
        )


def absolute_paths(mapping: SourceMapping) -> set[str]:
    """The element paths a mapping's columns read, from the root."""
    assert mapping.record is not None
    out = set()
    for column in mapping.mapped:
        steps = mapping.record.split("/")
        for step in column.split("/"):
            if step == "..":
                steps = steps[:-1]
            elif step != ".":
                steps = [*steps, step]
        out.add("/".join(steps))
    return out


def _unread_elements(leaves: set[str], mappings: list[SourceMapping]) -> list[str]:
    read = set().union(*(absolute_paths(m) for m in mappings))
    reasons: dict[str, str] = {}
    for m in mappings:
        reasons.update(m.not_kept)
    out = []
    for leaf in sorted(leaves - read):
        why = next((r for k, r in reasons.items() if f"/{k}/" in f"/{leaf}/"), None)
        out.append(f"{leaf}: {why or NOT_IN_MODEL}")
    return out
