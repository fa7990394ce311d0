"""A read's row cap applied inside FalkorDB, so the engine stops at the cap.

FalkorDB's own result-set limit (``RESULTSET_SIZE``) is one setting for the whole
server, and a load's long reads need millions of rows while a page needs a few
thousand. So each read is sent wrapped: ``CALL { <query> } RETURN * LIMIT <cap + 1>``.
The engine then stops producing rows once it has the cap plus one (the one says the
cap cut the result), instead of building the whole result for the client to cut: a
cartesian product of two labels answers in milliseconds with the first rows.

``RETURN *`` gives the columns in name order, so the query's own order is read back
from its last top-level ``RETURN`` (:func:`return_columns`); when that cannot be made
out, the engine's order is kept. A query that cannot be wrapped (a bare procedure call
with no ``YIELD ... RETURN``) is refused with that reason, never run without its cap.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_ENDS = {"ORDER", "SKIP", "LIMIT", "UNION"}


HIDDEN = "__jigsaw_capped"  # a column the wrapping may add, dropped from results


@lru_cache(maxsize=2048)  # a pure function of the text, asked again at every read
def capped(cypher: str, limit: int) -> str:
    """The query wrapped so the engine returns at most ``limit`` rows. A leading WITH
    would read as the subquery's import of outer variables, so one row comes first."""
    body = cypher.strip().rstrip(";").rstrip()
    first = _top_level(body)[:1]
    if first and first[0][1] == "WITH":
        body = f"UNWIND [0] AS {HIDDEN}\n{body}"
    return f"CALL {{\n{body}\n}} RETURN * LIMIT {int(limit)}"


def _top_level(cypher: str) -> list[tuple[int, str]]:
    """(position, text) of the query's top-level words and commas, outside strings,
    comments and brackets."""
    out: list[tuple[int, str]] = []
    depth: list[str] = []
    i, n = 0, len(cypher)
    while i < n:
        ch = cypher[i]
        if ch in "'\"`":
            end = i + 1
            while end < n and cypher[end] != ch:
                end += 2 if cypher[end] == "\\" and ch != "`" else 1
            i = end + 1
            continue
        if cypher.startswith("//", i):
            i = cypher.find("\n", i)
            i = n if i < 0 else i
            continue
        if cypher.startswith("/*", i):
            i = cypher.find("*/", i + 2)
            i = n if i < 0 else i + 2
            continue
        if ch in _CLOSERS:
            depth.append(_CLOSERS[ch])
        elif depth and ch == depth[-1]:
            depth.pop()
        elif not depth:
            if ch == ",":
                out.append((i, ","))
            else:
                word = _WORD.match(cypher, i)
                if word and (i == 0 or not (cypher[i - 1].isalnum() or cypher[i - 1] == "_")):
                    out.append((i, word.group().upper()))
                    i = word.end()
                    continue
        i += 1
    return out


def return_columns(cypher: str) -> list[str] | None:
    """The names of the columns the query's last top-level RETURN gives, in order;
    None for ``RETURN *`` or a query whose RETURN cannot be made out."""
    names = _return_columns(cypher)
    return list(names) if names is not None else None


@lru_cache(maxsize=2048)  # parsed once per text, not at every read
def _return_columns(cypher: str) -> tuple[str, ...] | None:
    tokens = _top_level(cypher)
    starts = [k for k, (_, text) in enumerate(tokens) if text == "RETURN"]
    if not starts:
        return None
    k = starts[-1]
    begin = tokens[k][0] + len("RETURN")
    if k + 1 < len(tokens) and tokens[k + 1][1] == "DISTINCT":
        begin = tokens[k + 1][0] + len("DISTINCT")
    end, cuts = len(cypher), []
    for pos, text in tokens[k + 1 :]:
        if text in _ENDS:
            end = pos
            break
        if text == ",":
            cuts.append(pos)
    items, start = [], begin
    for cut in [*cuts, end]:
        items.append(cypher[start:cut])
        start = cut + 1
    names = []
    for item in items:
        item = item.strip().rstrip(";").strip()
        if not item or item == "*":
            return None
        alias = [(p, t) for p, t in _top_level(item) if t == "AS"]
        name = item[alias[-1][0] + 2 :].strip() if alias else item
        names.append(name.strip("`"))
    return tuple(names)
