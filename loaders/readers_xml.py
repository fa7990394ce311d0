"""Read an XML return into raw rows: one row per element at the mapping's record path.

A mapping names the path of the element each row comes from (``Message/Children/
Child/CINdetails``) and its fields by paths relative to that element. ``..`` climbs to
an ancestor, so a nested record (an assessment inside a referral inside a child)
carries its parents' fields; a path that matches several elements (a list of
assessment factors) gives their texts joined by ", "; ``@name`` reads an attribute.

The file is streamed: the parser keeps one "unit" at a time - the highest ancestor any
field climbs to - and drops it once its rows are out, so a county's return never sits
in memory whole. Rows are numbered by the line their element starts on. Parsing is
defused: a file with a document type declaration (the vehicle of entity expansion and
external entities) is refused before parsing, and the parser itself resolves no
entities and fetches nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from loaders.mapping import SourceMapping
from loaders.raw import RawRow, ReadError

PEEK_BYTES = 65_536  # a DOCTYPE comes before the root element, so near the start
JOIN = ", "


def read_xml(mapping: SourceMapping, path: Path, relname: str) -> Iterator[RawRow]:
    """Rows of one XML file; ReadError for a file that is not the return it claims."""
    assert mapping.record is not None  # the mapping's own validation
    record = mapping.record.split("/")
    unit_depth = len(record) - mapping.ups  # the element whose subtree holds a row's fields
    refuse_dtd(path, relname)
    stack: list[str] = []
    try:
        for event, element in _events(path):
            if event == "start":
                stack.append(local(element.tag))
                if len(stack) == 1 and stack[0] != record[0]:
                    raise ReadError(
                        f"{relname} line {element.sourceline}: the root element is "
                        f"<{stack[0]}>, not <{record[0]}> ({mapping.spec or mapping.source} "
                        f"files hold {mapping.record})"
                    )
                continue
            if len(stack) == unit_depth and stack == record[:unit_depth]:
                for row in records_under(element, record[unit_depth:]):
                    yield RawRow(relname, row.sourceline or 0, fields(mapping, row))
                _drop(element)
            stack.pop()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else "?"
        raise ReadError(f"{relname} line {line}: not well-formed XML ({exc.msg})") from None
    except OSError as exc:
        raise ReadError(f"{relname}: cannot read: {exc}") from None


def _events(path: Path) -> Iterator[tuple[str, etree._Element]]:
    """Start and end events, with nothing resolved, fetched or expanded."""
    return etree.iterparse(
        str(path),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _drop(element: etree._Element) -> None:
    """Free an element that has been read, and the siblings read before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def refuse_dtd(path: Path, relname: str) -> None:
    """A return never needs a DTD; one in the file is refused, not parsed."""
    try:
        with path.open("rb") as fh:
            head = fh.read(PEEK_BYTES)
    except OSError as exc:
        raise ReadError(f"{relname}: cannot read: {exc}") from None
    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        at = head.find(marker)
        if at >= 0:
            line = head.count(b"\n", 0, at) + 1
            raise ReadError(
                f"{relname} line {line}: the file declares a document type; returns never "
                "do, and a declaration can expand entities or fetch files, so it is refused"
            )


def records_under(unit: etree._Element, steps: list[str]) -> Iterator[etree._Element]:
    """The elements at ``steps`` below ``unit`` (the unit itself for no steps)."""
    level = [unit]
    for step in steps:
        level = [c for e in level for c in e if isinstance(c.tag, str) and local(c.tag) == step]
    yield from level


def fields(mapping: SourceMapping, element: etree._Element) -> dict[str, object]:
    """Each column path's text for one record element (None where absent)."""
    return {column: text_at(element, column) for column in mapping.mapped}


def text_at(element: etree._Element, path: str) -> str | None:
    nodes = [element]
    for step in path.split("/"):
        if step == ".":
            continue
        if step == "..":
            nodes = [p for p in (n.getparent() for n in nodes) if p is not None]
        elif step.startswith("@"):
            values = [n.get(step[1:]) for n in nodes]
            texts = [v.strip() for v in values if v is not None and v.strip()]
            return JOIN.join(texts) if texts else None
        else:
            nodes = [c for n in nodes for c in n if isinstance(c.tag, str) and local(c.tag) == step]
    texts = [t.strip() for t in (n.text for n in nodes) if t and t.strip()]
    return JOIN.join(texts) if texts else None


def local(tag: object) -> str:
    """An element's name without its namespace."""
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def element_paths(path: Path, relname: str) -> tuple[str, set[str]]:
    """The root element's name and the path of every element holding text (``not_kept``
    and recognition use them); ReadError for a file that is not XML."""
    refuse_dtd(path, relname)
    stack: list[str] = []
    leaves: set[str] = set()
    root = ""
    try:
        for event, element in _events(path):
            if event == "start":
                stack.append(local(element.tag))
                root = root or stack[0]
                continue
            if element.text and element.text.strip() and len(element) == 0:
                leaves.add("/".join(stack))
            for name in element.attrib:
                leaves.add("/".join(stack) + "/@" + local(name))
            stack.pop()
            if stack:
                _drop(element)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else "?"
        raise ReadError(f"{relname} line {line}: not well-formed XML ({exc.msg})") from None
    except OSError as exc:
        raise ReadError(f"{relname}: cannot read: {exc}") from None
    return root, leaves
