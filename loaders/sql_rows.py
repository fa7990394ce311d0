"""A chain of SQL ``select`` steps evaluated in Python over a few rows.

The exchange API scores one enquiry against a few candidates with the kept linkage
model's own statement (Splink writes it from the model: comparison levels, match
weights, term-frequency adjustments, the prior). Planning that statement in DuckDB
costs far more than running it on a few rows, and it is planned again for every new
set of rows. Here the same statement text is parsed once (by sqlglot, which Splink
itself is built on) into Python functions of one row, so nothing of the model is
written twice: what the levels test, and how they weigh, is read from Splink's SQL.

SQL's meaning is kept: NULL propagates through arithmetic and comparisons, AND, OR
and NOT use three-valued logic, a CASE branch is taken only when its condition is
true, and string similarity is DuckDB's (Jaro-Winkler over the UTF-8 bytes, as
DuckDB reads strings). Only the constructs listed in :func:`_compile` are known;
anything else raises :class:`Unsupported` when compiling, and the caller runs the
statement in SQL instead. A comparison of two numbers too close to tell apart from
a rounding difference, or a value SQL would refuse (a text that is not a number, the
logarithm of zero), raises :class:`Undecided` for those rows, for the same reason.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import sqlglot
from rapidfuzz.distance import JaroWinkler
from sqlglot import exp

Row = Mapping[str, Any]
Value = Callable[[Row], Any]

NEAR = 1e-9  # relative: numbers closer than this are not compared outside SQL
_INTEGERS = {
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.TINYINT,
}
_FLOATS = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}


class Unsupported(ValueError):
    """The statement uses something this module does not evaluate."""


class Undecided(ArithmeticError):
    """A row whose answer only the SQL engine can give (see the module's docstring)."""


class Steps:
    """``select`` steps, each reading the one before (the first reads ``source``),
    compiled once; :meth:`run` gives the last step's rows."""

    def __init__(
        self,
        steps: Iterable[tuple[str, str]],
        *,
        source: str,
        dialect: str,
        keep: Collection[str] | None = None,
    ) -> None:
        parsed, reads = [], source
        for name, sql in steps:
            parsed.append(_select(sql, reads, dialect))
            reads = name
        # only what the last step gives (``keep`` of it), and what that reads, is worked out
        wanted = set(keep) if keep is not None else None
        for i in reversed(range(len(parsed))):
            parsed[i] = [(n, e) for n, e in parsed[i] if wanted is None or n in wanted]
            wanted = {c.name for _, e in parsed[i] for c in e.find_all(exp.Column)}
        self.steps = [[(n, _compile(e)) for n, e in columns] for columns in parsed]

    def run(self, rows: Iterable[Row]) -> list[dict[str, Any]]:
        out = [dict(r) for r in rows]
        try:
            for columns in self.steps:
                out = [{name: value(row) for name, value in columns} for row in out]
        except (TypeError, ValueError) as exc:  # values SQL would cast first
            raise Undecided(str(exc)) from None
        return out


def rows_of(columns: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """Rows from columns of equal length."""
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _select(sql: str, reads: str, dialect: str) -> list[tuple[str, exp.Expression]]:
    try:
        tree = sqlglot.parse_one(sql, dialect=dialect)
    except sqlglot.errors.ParseError as exc:
        raise Unsupported(f"cannot parse: {exc}") from None
    if not isinstance(tree, exp.Select):
        raise Unsupported(f"not a select: {type(tree).__name__}")
    extra = [k for k, v in tree.args.items() if v and k not in ("expressions", "from", "from_")]
    if extra:
        raise Unsupported(f"a select with {', '.join(extra)}")
    source = tree.args.get("from") or tree.args.get("from_")
    table = source.this if source is not None else None
    if not (isinstance(table, exp.Table) and table.name == reads and not table.args.get("db")):
        raise Unsupported(f"a select that does not read {reads} alone")
    columns = []
    for projection in tree.expressions:
        if isinstance(projection, exp.Alias):
            columns.append((projection.alias, projection.this))
        elif isinstance(projection, exp.Column):
            columns.append((projection.name, projection))
        else:
            raise Unsupported(f"an unnamed column: {projection.sql()}")
    return columns


def _compile(node: exp.Expression) -> Value:
    """The function of a row that ``node`` computes; a part that reads no column is
    worked out once, here."""
    value = _compile_node(node)
    if node.find(exp.Column) is None and not isinstance(node, exp.Literal):
        try:
            constant = value({})
        except Undecided:
            return value
        return lambda row: constant
    return value


def _compile_node(node: exp.Expression) -> Value:
    if isinstance(node, exp.Paren):
        return _compile(node.this)
    if isinstance(node, exp.Column):
        if node.table:
            raise Unsupported(f"a qualified column: {node.sql()}")
        return operator.itemgetter(node.name)
    if isinstance(node, exp.Literal):
        value = node.this if node.is_string else _number(node.this)
        return lambda row: value
    if isinstance(node, exp.Null):
        return lambda row: None
    if isinstance(node, exp.Boolean):
        truth = bool(node.this)
        return lambda row: truth
    if isinstance(node, exp.Not):
        inner = _compile(node.this)
        return lambda row: _not(inner(row))
    if isinstance(node, exp.And):
        return _junction(False, _compile(node.this), _compile(node.expression))
    if isinstance(node, exp.Or):
        return _junction(True, _compile(node.this), _compile(node.expression))
    if isinstance(node, exp.Is):
        if not isinstance(node.expression, exp.Null):
            raise Unsupported(f"IS other than IS NULL: {node.sql()}")
        inner = _compile(node.this)
        return lambda row: inner(row) is None
    if type(node) in _COMPARE:
        return _compare(_COMPARE[type(node)], _compile(node.this), _compile(node.expression))
    if type(node) in _ARITHMETIC:
        return _strict(_ARITHMETIC[type(node)], _compile(node.this), _compile(node.expression))
    if isinstance(node, exp.Neg):
        return _strict(operator.neg, _compile(node.this))
    if isinstance(node, exp.Abs):
        return _strict(abs, _compile(node.this))
    if isinstance(node, exp.Pow):
        return _strict(_power, _compile(node.this), _compile(node.expression))
    if isinstance(node, exp.Log) and node.expression is not None:
        return _strict(_log, _compile(node.this), _compile(node.expression))
    if isinstance(node, exp.Cast):
        return _strict(_cast_to(node.to), _compile(node.this))
    if isinstance(node, exp.Coalesce):
        parts = [_compile(node.this), *(_compile(e) for e in node.expressions)]
        return lambda row: next((v for v in (p(row) for p in parts) if v is not None), None)
    if isinstance(node, exp.Greatest) and node.args.get("ignore_nulls"):
        parts = [_compile(node.this), *(_compile(e) for e in node.expressions)]
        return lambda row: max((v for v in (p(row) for p in parts) if v is not None), default=None)
    if isinstance(node, exp.Case):
        return _case(node)
    if isinstance(node, exp.Substring):
        return _substring(node)
    if isinstance(node, exp.StartsWith):
        return _strict(str.startswith, _compile(node.this), _compile(node.expression))
    if isinstance(node, exp.JarowinklerSimilarity) and _only(node, "this", "expression"):
        return _strict(_jaro_winkler, _compile(node.this), _compile(node.expression))
    if isinstance(node, (exp.Length, exp.ArraySize)) and _only(node, "this"):
        return _strict(len, _compile(node.this))
    if (
        (
            isinstance(node, exp.ArrayIntersect)
            or (isinstance(node, exp.Anonymous) and node.name.lower() == "list_intersect")
        )
        and len(node.expressions) == 2
        and _only(node, "this", "expressions")
    ):
        return _intersect(*(_compile(e) for e in node.expressions))
    if isinstance(node, exp.ArrayOverlaps) and _only(node, "this", "expression"):
        return _strict(_overlaps, _compile(node.this), _compile(node.expression))
    raise Unsupported(f"{type(node).__name__}: {node.sql()}")


def _only(node: exp.Expression, *args: str) -> bool:
    """Whether ``node`` has no arguments but ``args`` (no options this module ignores)."""
    return all(k in args for k, v in node.args.items() if v is not None and v is not False)


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _not(value: Any) -> bool | None:
    return None if value is None else not value


def _junction(decisive: bool, left: Value, right: Value) -> Value:
    """AND (``decisive`` False) or OR (True) in three-valued logic: the decisive value
    if either side has it, else NULL if either side is NULL."""

    def junction(row: Row) -> bool | None:
        a = left(row)
        if a is decisive:
            return decisive
        b = right(row)
        if b is decisive:
            return decisive
        return None if a is None or b is None else not decisive

    return junction


def _strict(function: Callable[..., Any], *parts: Value) -> Value:
    """``function`` of the parts' values; NULL when any of them is."""
    if len(parts) == 1:
        (only,) = parts

        def one(row: Row) -> Any:
            a = only(row)
            return None if a is None else function(a)

        return one
    if len(parts) == 2:
        first, second = parts

        def two(row: Row) -> Any:
            a = first(row)
            if a is None:
                return None
            b = second(row)
            return None if b is None else function(a, b)

        return two
    if len(parts) == 3:
        first, second, third = parts

        def three(row: Row) -> Any:
            a, b, c = first(row), second(row), third(row)
            return None if a is None or b is None or c is None else function(a, b, c)

        return three

    def apply(row: Row) -> Any:
        values = [p(row) for p in parts]
        return None if any(v is None for v in values) else function(*values)

    return apply


def _compare(test: Callable[[Any, Any], bool], left: Value, right: Value) -> Value:
    def compare(row: Row) -> bool | None:
        a, b = left(row), right(row)
        if a is None or b is None:
            return None
        if (type(a) is float or type(b) is float) and (
            abs(a - b) <= NEAR * max(1.0, abs(a), abs(b))
        ):
            raise Undecided(f"{a!r} against {b!r}")
        return test(a, b)

    return compare


_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    exp.EQ: operator.eq,
    exp.NEQ: operator.ne,
    exp.GT: operator.gt,
    exp.GTE: operator.ge,
    exp.LT: operator.lt,
    exp.LTE: operator.le,
}


def _divide(a: float, b: float) -> float | None:
    return None if b == 0 else a / b


_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    exp.Add: operator.add,
    exp.Sub: operator.sub,
    exp.Mul: operator.mul,
    exp.Div: _divide,
}


def _power(base: float, exponent: float) -> float:
    try:
        return math.pow(base, exponent)
    except (OverflowError, ValueError):
        raise Undecided(f"{base!r} to the power {exponent!r}") from None


def _log(base: float, value: float) -> float:
    if value <= 0:
        raise Undecided(f"the logarithm of {value!r}")
    return math.log2(value) if base == 2 else math.log(value) / math.log(base)


def _cast_to(kind: exp.DataType) -> Callable[[Any], Any]:
    if kind.this in _FLOATS:
        return _as_float
    if kind.this in _INTEGERS:
        return _as_int
    raise Unsupported(f"a cast to {kind.sql()}")


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Undecided(f"{value!r} as a number") from None


def _as_int(value: Any) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return int(value)
    raise Undecided(f"{value!r} as an integer")  # SQL rounds floats and reads signs


def _case(node: exp.Case) -> Value:
    if node.this is not None:
        raise Unsupported(f"CASE with an operand: {node.sql()}")
    default = node.args.get("default")
    otherwise = _compile(default) if default is not None else (lambda row: None)
    looked_up = _lookup(node, otherwise)
    if looked_up is not None:
        return looked_up
    branches = [(_compile(b.this), _compile(b.args["true"])) for b in node.args["ifs"]]

    def case(row: Row) -> Any:
        for condition, value in branches:
            if condition(row) is True:
                return value(row)
        return otherwise(row)

    return case


def _lookup(node: exp.Case, otherwise: Value) -> Value | None:
    """A CASE whose every branch asks whether one column equals a whole number, as a
    dictionary from the numbers to their branches (the first branch of each number, as
    SQL takes them); None for any other CASE."""
    column, branches = None, {}
    for branch in node.args["ifs"]:
        test = branch.this
        if not (isinstance(test, exp.EQ) and isinstance(test.this, exp.Column)):
            return None
        key = test.expression
        if isinstance(key, exp.Neg) and isinstance(key.this, exp.Literal):
            number = -_number(key.this.this) if not key.this.is_string else None
        elif isinstance(key, exp.Literal) and not key.is_string:
            number = _number(key.this)
        else:
            return None
        if not isinstance(number, int) or column not in (None, test.this.name):
            return None
        column = test.this.name
        branches.setdefault(number, _compile(branch.args["true"]))
    if column is None:
        return None
    read = operator.itemgetter(column)

    def lookup(row: Row) -> Any:
        key = read(row)
        if isinstance(key, float):  # a whole number as a float equals it in SQL too
            if not key.is_integer():
                return otherwise(row)
            key = int(key)
        return branches.get(key, otherwise)(row) if type(key) is int else otherwise(row)

    return lookup


def _substring(node: exp.Substring) -> Value:
    if not _only(node, "this", "start", "length") or node.args.get("start") is None:
        raise Unsupported(node.sql())
    length = node.args.get("length")
    parts = [_compile(node.this), _compile(node.args["start"])]
    parts += [_compile(length)] if length is not None else []

    def substring(text: str, start: int, count: int | None = None) -> str:
        if not isinstance(start, int) or start < 1 or (count is not None and count < 0):
            raise Undecided(f"substr from {start!r} for {count!r}")  # SQL counts from the end
        return text[start - 1 :] if count is None else text[start - 1 : start - 1 + count]

    return _strict(substring, *parts)


def _jaro_winkler(a: str, b: str) -> float:
    """DuckDB's ``jaro_winkler_similarity``: over UTF-8 bytes, and 0 when one is empty."""
    return JaroWinkler.similarity(a.encode(), b.encode()) if a and b else 0.0


def _overlaps(first: list, second: list) -> bool:
    """DuckDB's ``list_has_any`` (``&&``): whether the lists share a value; NULLs in
    them share nothing (a NULL list is NULL: see :func:`_strict`)."""
    other = {v for v in second if v is not None}
    return any(v is not None and v in other for v in first)


def _intersect(first: Value, second: Value) -> Value:
    """DuckDB's ``list_intersect``: the values of the first list also in the second,
    once each, no NULL (none when the second list is NULL; NULL when the first is)."""

    def intersect(row: Row) -> list | None:
        values = first(row)
        if values is None:
            return None
        other = {v for v in second(row) or () if v is not None}
        return list(dict.fromkeys(v for v in values if v is not None and v in other))

    return intersect
