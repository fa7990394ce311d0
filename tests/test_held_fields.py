"""Every record field the builders read is among those the load report counts as held
(loaders.build.HELD_FIELDS): a field read but not listed would be reported to a council
as not kept while the graph holds it. The reads are found in the builders' source, not
taken from the lists that make HELD_FIELDS."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from loaders.build import HELD_FIELDS
from loaders.fields import FIELDS

ROOT = Path(__file__).resolve().parents[1]
BUILDERS = ("loaders/build.py", "loaders/build_returns.py")


def _names(node: ast.AST | None) -> set[str]:
    """The strings a literal tuple holds (none for anything else)."""
    if isinstance(node, ast.Tuple | ast.List):
        return {e.value for e in node.elts if isinstance(e, ast.Constant)}
    return set()


def _loops(scope: ast.AST) -> dict[str, set[str]]:
    """Each loop variable that runs over a literal tuple, and the tuple's strings."""
    over: dict[str, set[str]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.For | ast.comprehension) and isinstance(node.target, ast.Name):
            over.setdefault(node.target.id, set()).update(_names(node.iter))
    return over


def _read(path: Path) -> set[str]:
    """The record fields the module reads: ``v["a.b"]``, ``v.get("a.b")``,
    and ``v.get(f"a.{n}")`` with ``n`` over a literal tuple (the fields a ``Reads``
    reads are the schema's properties, held by HELD_FIELDS' own construction)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]:
        over = _loops(scope)
        for node in ast.walk(scope):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                found.add(node.slice.value)
            if not isinstance(node, ast.Call) or not node.args:
                continue
            first = node.args[0]
            if isinstance(node.func, ast.Attribute) and node.func.attr == "get":
                if isinstance(first, ast.Constant):
                    found.add(first.value)
                elif isinstance(first, ast.JoinedStr) and len(first.values) == 2:
                    prefix, name = first.values
                    if isinstance(name, ast.FormattedValue) and isinstance(name.value, ast.Name):
                        found |= {f"{prefix.value}{n}" for n in over.get(name.value.id, ())}
    return {f for f in found if isinstance(f, str) and f in FIELDS}


@pytest.mark.parametrize("module", BUILDERS)
def test_every_field_a_builder_reads_is_held(module):
    read = _read(ROOT / module)
    assert len(read) > 30  # the scan finds the reads (a change of idiom would hide them)
    assert sorted(read - HELD_FIELDS) == []
