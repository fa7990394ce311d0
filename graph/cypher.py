"""A register of every Cypher text the project runs outside the engine adapters.

Code declares its Cypher with :func:`cypher` at module level; the portability guard
(``tests/test_portability.py``) imports every module, takes the register, runs each
statement on the embedded engine and lints it with Neo4j's own linter. A test also
scans the source for Cypher-looking strings that bypass the register, so nothing
escapes the guard. Saved queries in ``queries/`` are collected from their files.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Statement:
    """A named Cypher text, with example parameters for the guard to run it with."""

    name: str
    text: str
    example: Mapping[str, Any] = field(default_factory=dict)
    writes: bool = False
    module: str = ""


REGISTRY: dict[str, Statement] = {}

# a relationship pattern's types: [:A], [r:A|B], [r:A*1..2], [:A|:B]
_REL_PATTERN = re.compile(r"\[\s*\w*\s*:\s*([A-Z][A-Z0-9_]*(?:\s*\|\s*:?\s*[A-Z][A-Z0-9_]*)*)")


def relationship_types(text: str) -> tuple[str, ...]:
    """The relationship types a Cypher text's patterns follow, sorted: a change to one
    may change the text's answer, so whoever keeps that answer (a delta load's stages)
    looks again at what such a change names."""
    found = {t.strip(" :") for m in _REL_PATTERN.findall(text) for t in m.split("|")}
    return tuple(sorted(found))


def cypher(
    name: str, text: str, *, example: Mapping[str, Any] | None = None, writes: bool = False
) -> str:
    """Register a Cypher text under a unique name and return the text unchanged."""
    text = text.strip()
    existing = REGISTRY.get(name)
    if existing is not None and existing.text != text:
        raise ValueError(f"two different Cypher statements are both named {name!r}")
    module = sys._getframe(1).f_globals.get("__name__", "")
    REGISTRY[name] = Statement(name, text, dict(example or {}), writes, module)
    return text
