"""Query parameters as FalkorDB's ``CYPHER name=value ...`` header, encoded in C.

FalkorDB takes parameters as Cypher literals in front of the query text. The client
library builds them with a recursive Python function, and our own ``plain_param``
walked every value once more before that: the two walks were about half of the
load's write time (30 of 57 s at 30,000 children, measured with cProfile). A Cypher
list or map literal of plain values is JSON with bare keys, so ``json.dumps`` (C) does
the work, and three regular expressions turn JSON into Cypher where the two differ:

- map keys lose their quotes (a key that is not a plain identifier is refused);
- the escapes JSON writes for control characters (``\\b``, ``\\u0001``) are put back as
  the characters themselves, which FalkorDB's parser takes raw (it reads ``\\n``,
  ``\\t``, ``\\r``, ``\\f``, ``\\"`` and ``\\\\`` as JSON does); NUL is refused, as
  FalkorDB cannot parse it at all.

Dates, sets and decimals go through ``plain_param``, as for every engine; NaN,
infinity and other types are refused with :class:`ParameterError`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from graph.store import ParameterError, plain_param

# An unescaped quote can only open a string, so `{"key":` and `,"key":` are map keys.
_QUOTED_KEY = re.compile(r'([{,])"([A-Za-z_][A-Za-z0-9_]*)":')
_LEFT_QUOTED_KEY = re.compile(r'[{,]"((?:[^"\\]|\\.)*)":')
# A backslash preceded by an even number of backslashes starts an escape.
_CONTROL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\(b|u00[01][0-9a-fA-F])")


def _default(value: Any) -> Any:
    """What JSON cannot write (dates, sets, decimals) becomes what ``plain_param`` makes
    of it for every engine; anything else is refused there, with the same message."""
    return plain_param(value)


def _raw_control(match: re.Match[str]) -> str:
    code = match.group(2)
    char = "\b" if code == "b" else chr(int(code[3:], 16))
    if char == "\x00":
        raise ParameterError("a text value holds a NUL character, which cannot be stored")
    return match.group(1) + char


def cypher_literal(value: Any, name: str = "parameter") -> str:
    """``value`` as a Cypher literal FalkorDB reads back as the same value."""
    try:
        text = json.dumps(
            value,
            ensure_ascii=False,
            allow_nan=False,
            check_circular=False,
            separators=(",", ":"),
            default=_default,
        )
    except ValueError as exc:
        if isinstance(exc, ParameterError):
            raise ParameterError(f"${name}: {exc}") from None
        raise ParameterError(f"${name} must hold finite numbers only ({exc})") from None
    except TypeError as exc:  # a map key that JSON cannot take (a tuple, say)
        raise ParameterError(f"${name} has a map key that is not text ({exc})") from None
    if '":' in text:
        text = _QUOTED_KEY.sub(r"\1\2:", text)
        bad = _LEFT_QUOTED_KEY.search(text)
        if bad:
            raise ParameterError(
                f"${name} has a map key {bad.group(1)!r}; keys must be plain identifiers"
            )
    if "\\b" in text or "\\u00" in text:
        text = _CONTROL_ESCAPE.sub(_raw_control, text)
    return text


def params_header(params: dict[str, Any]) -> str:
    """``CYPHER a=1 b="x" `` for the front of a query, or ``""`` when there are none.
    Parameter names were checked by ``GraphStore`` (``plain_params``) on the way in."""
    if not params:
        return ""
    return "CYPHER " + " ".join(f"{n}={cypher_literal(v, n)}" for n, v in params.items()) + " "
