"""Dates as the graph gives them back, read one way by every page.

A property the schema declares a date is a date, except while a load runs: the rows it
bulk-inserted hold their dates as ISO text until its step converting them has run
(:meth:`graph.bulk.BulkWriter.convert_dates`), and a page read meanwhile meets the
text. Whatever reads a declared date in Python takes it through :func:`read_date` (or
:func:`read_day`), so a page gives the same answer before that step as after it.
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
