"""Local wall-clock time in IANA zones: instants of local times across DST gaps and folds, and
daily quiet hours. Pure functions; shared by digest schedules, the arXiv calendar and alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.core.clock import ensure_utc


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo of an IANA name (cached; names are validated when settings are made)."""
    return ZoneInfo(name)


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock time `at` on `day` in `tz`.

    A time that does not exist (DST gap) becomes the first valid instant after the gap; a time
    that exists twice (DST fold) is its first occurrence.
    """
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == naive:
        return utc
    # In a gap. fold=1 applies the offset after the transition and lands before it; fold=0
    # applies the offset before and lands after it: the transition lies between the two.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = utc
    if low > high:
        low, high = high, low
    offset_after = high.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def quiet_until(now: datetime, start: time | None, end: time | None, timezone: str) -> datetime | None:
    """If `now` falls in a user's daily quiet hours [start, end) (local time, may wrap past
    midnight), the UTC instant they end; otherwise None. Equal or missing bounds: no quiet."""
    if start is None or end is None or start == end:
        return None
    tz = zone(timezone)
    local = ensure_utc(now).astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return local_instant(end_day, end, tz)
