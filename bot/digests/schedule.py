"""When each digest is due: pure functions of (settings, now), no timers and no I/O.

A channel's digest has one *slot* per enabled local date, at its time of day in its IANA zone.
The scheduler asks `latest_due(...)` on every tick; the store remembers which local dates were
handled, so a slot is handled exactly once whatever the tick rate, restarts or downtime:

- DST gap (a 02:30 digest on the spring-forward day, when 02:00-03:00 does not exist): the
  slot is the first valid instant after the gap (03:00 local), once.
- DST fold (fall-back day, 02:30 happens twice): the first occurrence, once.
- Downtime: only the LATEST missed slot is due (older ones are superseded: the digest covers
  everything since the previous one); `is_late` tells the scheduler to mark it delayed or to
  skip it, per the channel's catch-up setting.

The arXiv calendar (all times US Eastern): new listings are announced at 20:00 Sunday to
Thursday, none on Friday and Saturday or on arXiv holidays. The holidays of any year come from
bot/arxiv_calendar.py: arXiv's published list where there is one (2026's is in SOURCES.md),
otherwise computed from the US holidays arXiv observes, so the calendar does not expire. The
default digest days, Monday to Friday, are thus the mornings after an announcement; on the
morning after a holiday an arXiv-only digest has nothing new, while HF and Reddit can still
fill one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.clock import ensure_utc
from bot.core.localtime import local_instant, zone
from bot.core.models import ChannelSettings
from bot.digests.calendar import is_arxiv_holiday

ARXIV_TZ = ZoneInfo("America/New_York")
ARXIV_ANNOUNCE_TIME = time(20, 0)
ARXIV_ANNOUNCE_WEEKDAYS = frozenset({6, 0, 1, 2, 3})  # Sunday to Thursday (Monday=0)
LOOKBACK_DAYS = 15  # how far back a missed slot is looked for (longer downtime: just the latest)
DEFAULT_GRACE = timedelta(minutes=10)
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Slot:
    """One digest slot: the channel's local date and the UTC instant it is due."""

    local_date: date
    due_at: datetime

    @property
    def key(self) -> str:
        """The local date as YYYY-MM-DD (the per-channel uniqueness key)."""
        return self.local_date.isoformat()


def slots_before(settings: ChannelSettings, now: datetime, days: int = LOOKBACK_DAYS) -> Iterator[Slot]:
    """The channel's slots due at or before `now`, newest first, going back `days` local days."""
    tz = zone(settings.timezone)
    today = ensure_utc(now).astimezone(tz).date()
    for back in range(days + 1):
        day = today - timedelta(days=back)
        if day.weekday() not in settings.days:
            continue
        due_at = local_instant(day, settings.time_of_day, tz)
        if due_at <= now:
            yield Slot(day, due_at)


def latest_slot(settings: ChannelSettings, now: datetime, not_before: datetime | None = None) -> Slot | None:
    """The most recent slot at or before `now` (and not before `not_before`), or None.

    Only this slot can be due: if it was handled, nothing is due; older unhandled slots are
    superseded by it (after downtime the latest missed digest is the one posted).
    """
    for slot in slots_before(settings, ensure_utc(now)):
        if not_before is not None and slot.due_at < not_before:
            return None
        return slot
    return None


def missed_slots(
    settings: ChannelSettings, now: datetime, handled: set[str], not_before: datetime | None = None
) -> list[Slot]:
    """Unhandled slots since the last handled one, newest first (for counting what downtime cost)."""
    missed = []
    for slot in slots_before(settings, ensure_utc(now)):
        if slot.key in handled or (not_before is not None and slot.due_at < not_before):
            break
        missed.append(slot)
    return missed


def next_slot(settings: ChannelSettings, after: datetime, handled: set[str] | None = None) -> Slot | None:
    """The first slot strictly after `after` whose local date is not handled yet (None if the
    channel has no digest days)."""
    if not settings.days:
        return None
    tz = zone(settings.timezone)
    start = ensure_utc(after).astimezone(tz).date()
    for ahead in range(0, 9):
        day = start + timedelta(days=ahead)
        if day.weekday() not in settings.days or (handled and day.isoformat() in handled):
            continue
        due_at = local_instant(day, settings.time_of_day, tz)
        if due_at > after:
            return Slot(day, due_at)
    return None


def is_late(slot: Slot, now: datetime, grace: timedelta = DEFAULT_GRACE) -> bool:
    """Whether a slot is being handled so long after it was due that paperbot was clearly down."""
    return ensure_utc(now) - slot.due_at > grace


def grace_for_tick(tick_seconds: float) -> timedelta:
    """How late a slot may be handled before it counts as missed: three ticks, at least 10 min."""
    return max(DEFAULT_GRACE, timedelta(seconds=3 * tick_seconds))


# --- the arXiv calendar ----------------------------------------------------------------------


def arxiv_announces_on(day: date) -> bool:
    """Whether arXiv posts a new listing on the evening of `day` (US Eastern)."""
    return day.weekday() in ARXIV_ANNOUNCE_WEEKDAYS and not is_arxiv_holiday(day)


def arxiv_announcements_between(start: datetime, end: datetime) -> list[datetime]:
    """arXiv announcement instants (UTC) in (start, end]."""
    start, end = ensure_utc(start), ensure_utc(end)
    found = []
    day = start.astimezone(ARXIV_TZ).date()
    last = end.astimezone(ARXIV_TZ).date()
    while day <= last:
        if arxiv_announces_on(day):
            instant = local_instant(day, ARXIV_ANNOUNCE_TIME, ARXIV_TZ)
            if start < instant <= end:
                found.append(instant)
        day += timedelta(days=1)
    return found


def describe_days(days: tuple[int, ...]) -> str:
    """`Mon–Fri (arXiv announcement days)`, `every day`, `Mon, Wed, Fri`."""
    chosen = tuple(sorted(days))
    if chosen == (0, 1, 2, 3, 4):
        return "Mon–Fri (the mornings after arXiv announces)"
    if chosen == (0, 1, 2, 3, 4, 5, 6):
        return "every day"
    if not chosen:
        return "no days"
    return ", ".join(DAY_NAMES[d] for d in chosen)


def describe_local(instant: datetime, timezone: str) -> str:
    """An instant as the channel reads it: `Mon 23 Nov 2026 09:00 CET`."""
    local = ensure_utc(instant).astimezone(zone(timezone))
    return local.strftime("%a %d %b %Y %H:%M ") + (local.tzname() or timezone)
