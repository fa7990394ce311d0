"""Dates as the graph gives them back, read one way by every page.

A property the schema declares a date is a date when a read sees it (bulk insertion's
text is turned into dates in the same transaction as its command, but for the gaps
:mod:`graph.engines.falkordb_bulk` names). Whatever reads a declared date in Python still
takes it through :func:`read_date` (or :func:`read_day`): engines and drivers give
dates back in several forms (a date, a date and time, a pandas Timestamp, ISO text from
a graph an earlier release left part-loaded), and one reader makes every page agree.
"""

from __future__ import annotations

import datetime as dt


def read_date(value: object) -> dt.date | dt.datetime | None:
    """A date (or a date and time) as read back, from a date, ISO text or a pandas
    Timestamp; None when unknown or not a date."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        try:
            value = value.to_pydatetime()
        except ValueError:
            return None
    if isinstance(value, dt.datetime | dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
    except ValueError:
        return None


def read_day(value: object) -> dt.date | None:
    """:func:`read_date` as a day (a date and time gives its date): days compare and
    sort with one another, a date and time with a date do not."""
    when = read_date(value)
    return when.date() if isinstance(when, dt.datetime) else when


def years_old(dob: object, today: dt.date | None = None) -> int | None:
    """Whole years since a birth date (None when it is unknown)."""
    born = read_day(dob)
    if born is None:
        return None
    today = today or dt.date.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
