"""What the project ships, read from its own declarations rather than listed again here.

The wheel's packages come from ``pyproject.toml``; the image's from the ``Dockerfile``;
the imports from the code itself. The packaging tests compare them, and the other
guards (portability, docs) use the same list of shipped packages.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


@cache
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def shipped_packages() -> tuple[str, ...]:
    """The top-level packages the wheel ships, as pyproject declares them."""
    return tuple(pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])


def entry_point_packages() -> set[str]:
    """Top-level packages the console scripts start in (``jigsaw = "ui.cli:main"``)."""
    return {target.split(".")[0] for target in pyproject()["project"]["scripts"].values()}


def first_party() -> set[str]:
    """Every top-level package in the repository: a folder with Python modules in it
    (with or without an ``__init__.py``; ``synthetic/`` is a namespace package)."""
    return {p.parent.name for p in ROOT.glob("*/*.py") if not p.parent.name.startswith(".")}


def imports(package: str) -> dict[str, set[str]]:
    """Top-level modules each of the package's files imports, at any depth in the file
    (imports inside functions count: they run when the function does)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def imported_by(packages: tuple[str, ...] | set[str]) -> dict[str, set[str]]:
    """Each imported top-level module, with the files that import it."""
    where: dict[str, set[str]] = {}
    for package in packages:
        for file, names in imports(package).items():
            for name in names:
                where.setdefault(name, set()).add(file)
    return where


def first_party_closure(start: set[str]) -> set[str]:
    """The first-party packages reachable by imports from ``start``."""
    ours = first_party()
    reached, todo = set(), list(start)
    while todo:
        package = todo.pop()
        if package in reached:
            continue
        reached.add(package)
        todo += [m for m in imported_by({package}) if m in ours and m not in reached]
    return reached


def third_party_imports() -> dict[str, set[str]]:
    """Modules the shipped packages import that are neither the standard library nor
    the project's own, with the files that import them."""
    ours = first_party()
    return {
        name: files
        for name, files in imported_by(shipped_packages()).items()
        if name not in ours and name not in sys.stdlib_module_names and name != "__future__"
    }


def declared_dependencies() -> dict[str, Requirement]:
    """The runtime dependencies and the optional extras', by canonical distribution name."""
    project = pyproject()["project"]
    extras = [t for group in project.get("optional-dependencies", {}).values() for t in group]
    requirements = [Requirement(text) for text in [*project["dependencies"], *extras]]
    return {canonicalize_name(r.name): r for r in requirements}


def dockerfile_copies() -> set[str]:
    """What the Dockerfile's build stage copies into the image (first argument(s) of
    each COPY without ``--from``)."""
    copied: set[str] = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
            continue
        sources = [w for w in words[1:-1] if not w.startswith("--")]
        copied |= {s.rstrip("/") for s in sources}
    return copied


def dockerfile_commands() -> list[list[str]]:
    """The ``jigsaw`` commands the image runs at start (its CMD), as argument lists."""
    text = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r'^CMD \["sh", "-c", "(.*)"\]$', text, re.M)
    if cmd is None:
        return []
    return [part.split()[1:] for part in cmd.group(1).split("&&") if part.split()[:1] == ["jigsaw"]]
