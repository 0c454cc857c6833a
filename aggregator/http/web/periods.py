"""Periods as people choose them on the pages: days and months in Vietnam time (UTC+7).

A page opened without a period shows the month of the newest data rather
than "this month", so the department sees something after a quiet spell and
a test dataset shows up without knowing today's date.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from giamsat.aggregator.compliance import Period
from giamsat.contract.timezone import VIETNAM_TZ

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def today_local() -> date:
    return datetime.now(VIETNAM_TZ).date()


def to_local_month(t: datetime) -> str:
    return t.astimezone(VIETNAM_TZ).strftime("%Y-%m")


def _first_day(month: str) -> date:
    match = MONTH.match(month)
    if match is None:
        raise ValueError(f"month must be YYYY-MM, not {month!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def month_period(month: str) -> Period:
    """The calendar month ``YYYY-MM`` as a period of days."""
    first = _first_day(month)
    return Period(first, _next_month(first) - timedelta(days=1))


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive, as ``YYYY-MM``."""
    day, stop = _first_day(first), _first_day(last)
    if stop < day:
        raise ValueError(f"{last} is before {first}")
    months = []
    while day <= stop:
        months.append(day.strftime("%Y-%m"))
        day = _next_month(day)
    return months


def shift_months(month: str, count: int) -> str:
    """``month`` moved by ``count`` months (negative: earlier)."""
    first = _first_day(month)
    index = first.year * 12 + first.month - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def day_period(start: date | None, end: date | None, latest: date | None) -> Period:
    """The days asked for; a missing bound defaults to the newest data's month."""
    anchor = latest or today_local()
    if end is None:
        end = anchor if start is None or start <= anchor else start
    if start is None:
        start = end.replace(day=1)
    return Period(start, end)


def month_span(
    first: str | None, last: str | None, latest: date | None, count: int = 12
) -> list[str]:
    """The months asked for; by default the ``count`` months up to the newest data's."""
    anchor = (latest or today_local()).strftime("%Y-%m")
    last = last or (anchor if first is None else max(anchor, first))
    first = first or shift_months(last, -(count - 1))
    return months_between(first, last)
