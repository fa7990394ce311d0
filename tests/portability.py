"""Helpers for the portability guard: collect the project's Cypher, lint it.

Kept apart from the test module so the benchmark and a developer at a prompt can
reuse them (``python -m tests.portability`` lints everything and prints the report).
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from graph import schema
from graph.cypher import REGISTRY, Statement
from tests.shipping import shipped_packages

ROOT = Path(__file__).resolve().parent.parent
LINTER_DIR = ROOT / "tools" / "cypher-lint"
PACKAGES = shipped_packages()  # every package the wheel ships, as pyproject declares
# Engine adapters hold the engine-specific Cypher (DDL, full-text, paths, spatial).
ADAPTER_DIR = ROOT / "graph" / "engines"
# Modules that build Cypher from the schema: every text they build is registered.
GENERATORS = (ROOT / "graph" / "writes.py",)
# Streamlit page scripts run when imported; they hold no Cypher (checked by the scan).
NOT_IMPORTED = ("ui.pages", "ui.app")

CYPHER_LIKE = re.compile(
    r"\b(MATCH|MERGE|UNWIND|DETACH DELETE|CREATE \(|CALL \{|CALL db\.)\b"
    r"|\bRETURN\b.*\b(AS|count|collect)\b",
)
PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

# Warnings Neo4j gives that portability forces on us. Each names why.
ALLOWED_WARNINGS = {
    # FalkorDB 4.22 only parses the importing-WITH form of CALL subqueries;
    # Neo4j 5 runs it and calls it deprecated in favour of CALL (x) { ... }.
    "CALL subquery without a variable scope clause is deprecated",
}


def import_everything() -> None:
    """Import every project module so each registers its Cypher."""
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            if info.name.startswith(NOT_IMPORTED):
                continue
            importlib.import_module(info.name)


def saved_query_statements() -> list[Statement]:
    """Saved queries from ``queries/`` once that package provides a library."""
    try:
        library = importlib.import_module("queries.library")
    except ModuleNotFoundError:
        return []
    return [
        Statement(f"saved:{q.id}", q.cypher, q.example_params(), False)
        for q in library.load_library().queries
    ]


def all_statements() -> list[Statement]:
    import_everything()
    ours = [s for s in REGISTRY.values() if s.module.split(".")[0] in PACKAGES]
    return sorted(ours, key=lambda s: s.name) + saved_query_statements()


def python_sources() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if ADAPTER_DIR not in path.parents and path not in GENERATORS:
                yield path


def unregistered_cypher(path: Path) -> list[str]:
    """Cypher-looking strings in a module that are not the text of a cypher() call."""
    tree = ast.parse(path.read_text(), filename=str(path))
    registered: set[int] = set()
    used: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "cypher"
            and len(node.args) >= 2
        ):
            registered.add(id(node.args[1]))
            # an f-string's literal parts belong to the registered text too
            registered.update(id(part) for part in ast.walk(node.args[1]))
            # a module-level fragment named in the text is part of it too
            used.update(n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant | ast.JoinedStr)
            and any(isinstance(t, ast.Name) and t.id in used for t in node.targets)
        ):
            registered.update(id(part) for part in ast.walk(node.value))
    problems = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
        if text and CYPHER_LIKE.search(text) and id(node) not in registered:
            if isinstance(node, ast.Constant) and _is_docstring(tree, node):
                continue
            problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:70]!r}")
    return problems


def _is_docstring(tree: ast.AST, const: ast.Constant) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and body[0].value is const:
                return True
    return False


@dataclass(frozen=True)
class Diagnostic:
    statement: str
    severity: int  # 1 error, 2 warning
    message: str
    line: int
    character: int

    @property
    def allowed(self) -> bool:
        return self.severity > 1 and any(a in self.message for a in ALLOWED_WARNINGS)


def ensure_linter() -> None:
    """Install the pinned linter from the lock file the first time (npm ci)."""
    marker = LINTER_DIR / "node_modules" / "@neo4j-cypher" / "language-support" / "package.json"
    if marker.exists():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError(
            "the portability guard needs Node.js and npm to run Neo4j's Cypher linter"
        )
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=LINTER_DIR,
        check=True,
        capture_output=True,
        text=True,
    )


def lint(statements: list[Statement]) -> list[Diagnostic]:
    ensure_linter()
    payload = {
        "schema": {
            "labels": list(schema.LABELS),
            "relationshipTypes": list(schema.RELATIONSHIP_TYPES),
            "propertyKeys": list(schema.PROPERTY_KEYS) + list(schema.ROW_FIELDS),
        },
        "queries": [
            {
                "name": s.name,
                "text": s.text,
                "parameters": sorted(set(PARAMETER.findall(s.text)) | set(s.example)),
            }
            for s in statements
        ],
    }
    done = subprocess.run(
        ["node", str(LINTER_DIR / "lint.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        cwd=LINTER_DIR,
    )
    return [
        Diagnostic(item["name"], d["severity"], d["message"], d["line"], d["character"])
        for item in json.loads(done.stdout)
        for d in item["diagnostics"]
    ]


if __name__ == "__main__":
    statements = all_statements()
    found = lint(statements)
    for d in found:
        flag = "allowed" if d.allowed else ("ERROR" if d.severity == 1 else "WARNING")
        print(f"{flag:8} {d.statement}:{d.line}:{d.character} {d.message}")
    print(
        f"{len(statements)} statements, {len(found)} diagnostics, "
        f"{sum(not d.allowed for d in found)} not allowed"
    )
