"""Time in one place: the only module that reads the machine's clock.

Everything else receives a `Clock` (a function returning an aware UTC datetime), so that with
PAPERBOT_CLOCK_START / PAPERBOT_CLOCK_SPEED every part of the bot sees the same time and tests
can move time at will. A test (tests/unit/test_clock_rule.py) fails when code outside this
module calls `datetime.now`, `time.time`, `date.today` or similar.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

Clock = Callable[[], datetime]
"""A function returning the current time as an aware UTC datetime; tests pass a fake one."""


def system_clock() -> datetime:
    """The real current time in UTC."""
    return datetime.now(UTC)


def system_monotonic() -> float:
    """Seconds from an arbitrary start that never jump (for spacing requests, not for dates)."""
    return time.monotonic()


class ScaledClock:
    """A clock that starts at a chosen time and runs `speed` times faster (demos and tests)."""

    def __init__(self, start: datetime, speed: float = 1.0, monotonic: Callable[[], float] = system_monotonic) -> None:
        self.start = ensure_utc(start)
        self.speed = speed
        self._monotonic = monotonic
        self._t0 = monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(self._monotonic() - self._t0) * self.speed)


def scaled_or_system_clock(start: datetime | None = None, speed: float = 1.0) -> Clock:
    """The system clock, or a scaled one starting at `start` and running `speed` times faster."""
    if start is None and speed == 1.0:
        return system_clock
    return ScaledClock(start or system_clock(), speed)


class FakeClock:
    """A settable clock for tests and simulations: `clock()` returns `now`, `advance()` moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = ensure_utc(now)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by a timedelta given as keyword arguments."""
        self.now += timedelta(**delta)
        return self.now


def ensure_utc(value: datetime) -> datetime:
    """Make a datetime aware and UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_iso(value: datetime | None) -> str | None:
    """Serialize an aware datetime as `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00` (sortable as text)."""
    if value is None:
        return None
    return ensure_utc(value).isoformat()


def from_iso(value: str | None) -> datetime | None:
    """Parse what `to_iso` wrote (and ISO strings with `Z`)."""
    if not value:
        return None
    return ensure_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


_DURATION = re.compile(r"^(\d{1,4})\s*(h|d|w|m|y)$", re.IGNORECASE)
_UNIT_DAYS = {"d": 1.0, "w": 7.0, "m": 30.0, "y": 365.0}


def parse_window(text: str) -> timedelta | date:
    """Parse `36h`, `7d`, `2w`, `3m`, `1y` (a duration back from now) or `2026-11-01` (a date).

    Needs no clock, so commands can be validated when they are parsed. Raises ValueError with a
    one-line reason.
    """
    text = text.strip().lower()
    match = _DURATION.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        if amount == 0:
            raise ValueError("a time window must be longer than 0")
        delta = timedelta(hours=amount) if unit == "h" else timedelta(days=amount * _UNIT_DAYS[unit])
        if delta > timedelta(days=3650):
            raise ValueError("a time window can be at most 10 years")
        return delta
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time window; use 36h, 7d, 2w, 3m, 1y or a date like 2026-11-01"
        ) from None


def parse_since(text: str, now: datetime) -> datetime:
    """Turn `36h`, `7d`, `2w`, `3m`, `1y` or `2026-11-01` into an aware UTC datetime.

    Raises ValueError with a one-line reason.
    """
    window = parse_window(text)
    if isinstance(window, timedelta):
        return now - window
    return datetime(window.year, window.month, window.day, tzinfo=UTC)


def humanize_age(then: datetime, now: datetime) -> str:
    """`16h ago`, `3d ago`, `just now`: short ages for source lines."""
    seconds = (ensure_utc(now) - ensure_utc(then)).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400 * 2:
        return f"{int(seconds // 3600)}h ago"
    if seconds < 86400 * 60:
        return f"{int(seconds // 86400)}d ago"
    return ensure_utc(then).strftime("%Y-%m-%d")
