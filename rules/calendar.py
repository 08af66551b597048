"""Calendar arithmetic in the program's time zone (monthly rules count calendar months there)."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@functools.lru_cache(maxsize=4096)
def local_date(at: datetime, timezone: str) -> date:
    return at.astimezone(ZoneInfo(timezone)).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    first = month_start(day)
    return (first + timedelta(days=32)).replace(day=1)


def previous_month(day: date) -> date:
    return (month_start(day) - timedelta(days=1)).replace(day=1)


def month_key(day: date) -> str:
    return day.strftime("%Y-%m")


@functools.lru_cache(maxsize=4096)
def start_of_day_utc(day: date, timezone: str) -> datetime:
    """The UTC instant at which `day` begins in `timezone` (DST-safe)."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def month_bounds_utc(day: date, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month containing `day`, as UTC instants."""
    return start_of_day_utc(month_start(day), timezone), start_of_day_utc(next_month(day), timezone)
