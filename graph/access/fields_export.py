"""Exports a spreadsheet cannot be tricked by: formula-looking cells are neutralised."""

from __future__ import annotations

from collections.abc import Iterable


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    return [safe_cell(v) for v in values]
