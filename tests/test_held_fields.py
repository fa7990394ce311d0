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


def _tuples(scope: ast.AST) -> dict[str, set[str]]:
    """Each name a literal tuple is given in ``scope``, and what it holds."""
    bound: dict[str, set[str]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, set()).update(_names(node.value))
    return bound


def _spread(node: ast.AST, bound: dict[str, set[str]]) -> set[str]:
    """The names a ``_fields`` call's third argument reads: a literal tuple, a name bound
    to one, or a tuple of those spread."""
    if isinstance(node, ast.Name):
        return bound.get(node.id, set())
    found = _names(node)
    if isinstance(node, ast.Tuple):
        for e in node.elts:
            if isinstance(e, ast.Starred):
                found |= _spread(e.value, bound)
    return found


def _loops(scope: ast.AST) -> dict[str, set[str]]:
    """Each loop variable that runs over a literal tuple, and the tuple's strings."""
    over: dict[str, set[str]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.For | ast.comprehension) and isinstance(node.target, ast.Name):
            over.setdefault(node.target.id, set()).update(_names(node.iter))
    return over


def _read(path: Path) -> set[str]:
    """The record fields the module reads: ``v["a.b"]``, ``v.get("a.b")``,
    ``v.get(f"a.{n}")`` with ``n`` over a literal tuple, and ``_fields(v, "a", names)``."""
    tree = ast.parse(path.read_text())
    module = _tuples(tree)
    found: set[str] = set()
    for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]:
        bound = module | _tuples(scope)
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
            if isinstance(node.func, ast.Name) and node.func.id == "_fields":
                _v, prefix, names = node.args
                found |= {f"{prefix.value}.{n}" for n in _spread(names, bound)}
    return {f for f in found if isinstance(f, str) and f in FIELDS}


@pytest.mark.parametrize("module", BUILDERS)
def test_every_field_a_builder_reads_is_held(module):
    read = _read(ROOT / module)
    assert len(read) > 30  # the scan finds the reads (a change of idiom would hide them)
    assert sorted(read - HELD_FIELDS) == []
