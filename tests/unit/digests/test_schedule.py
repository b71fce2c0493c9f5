"""Pure schedule functions: local slots in every zone, DST both ways, arXiv calendar, catch-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.localtime import local_instant, quiet_until
from bot.core.models import ChannelSettings
from bot.digests.schedule import (
    arxiv_announcements_between,
    arxiv_announces_on,
    describe_local,
    is_late,
    latest_slot,
    missed_slots,
    next_slot,
    slots_before,
)

DAILY = (0, 1, 2, 3, 4, 5, 6)


def channel(at: time = time(9, 0), tz: str = "UTC", days: tuple[int, ...] = (0, 1, 2, 3, 4)) -> ChannelSettings:
    return ChannelSettings(platform="slack", channel_id="C1", time_of_day=at, timezone=tz, days=days)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- local instants ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("Etc/GMT+12", utc(2026, 3, 2, 21, 0)),  # UTC-12
        ("Pacific/Kiritimati", utc(2026, 3, 1, 19, 0)),  # UTC+14: the day before in UTC
        ("UTC", utc(2026, 3, 2, 9, 0)),
        ("Asia/Kolkata", utc(2026, 3, 2, 3, 30)),
    ],
)
def test_local_instant_across_extreme_zones(tz: str, expected: datetime) -> None:
    assert local_instant(date(2026, 3, 2), time(9, 0), ZoneInfo(tz)) == expected


def test_spring_forward_gap_is_first_valid_instant_after_gap() -> None:
    # Europe/Berlin 2026-03-29: 02:00 -> 03:00. 02:30 does not exist; 03:00 CEST = 01:00 UTC.
    assert local_instant(date(2026, 3, 29), time(2, 30), ZoneInfo("Europe/Berlin")) == utc(2026, 3, 29, 1, 0)
    # America/New_York 2026-03-08: 02:00 -> 03:00 EDT = 07:00 UTC.
    assert local_instant(date(2026, 3, 8), time(2, 30), ZoneInfo("America/New_York")) == utc(2026, 3, 8, 7, 0)


def test_fall_back_fold_is_first_occurrence() -> None:
    # Europe/Berlin 2026-10-25: 03:00 -> 02:00; 02:30 happens at 00:30 and 01:30 UTC.
    assert local_instant(date(2026, 10, 25), time(2, 30), ZoneInfo("Europe/Berlin")) == utc(2026, 10, 25, 0, 30)
    # America/New_York 2026-11-01: 01:30 happens at 05:30 and 06:30 UTC.
    assert local_instant(date(2026, 11, 1), time(1, 30), ZoneInfo("America/New_York")) == utc(2026, 11, 1, 5, 30)


@pytest.mark.parametrize(
    ("tz", "at", "day"),
    [
        ("Europe/Berlin", time(2, 30), date(2026, 3, 29)),  # spring forward: 02:30 does not exist
        ("Europe/Berlin", time(2, 30), date(2026, 10, 25)),  # fall back: 02:30 happens twice
        ("America/New_York", time(2, 30), date(2026, 3, 8)),
        ("America/New_York", time(1, 30), date(2026, 11, 1)),
    ],
)
def test_dst_day_slot_is_due_exactly_once_when_ticking_every_minute(tz: str, at: time, day: date) -> None:
    settings = channel(at, tz, DAILY)
    start = datetime.combine(day - timedelta(days=1), time(12, 0), tzinfo=UTC)
    end = start + timedelta(days=2)
    handled: set[str] = set()
    due_for_day = []
    now = start
    while now <= end:
        slot = latest_slot(settings, now)
        if slot is not None and slot.key not in handled:
            handled.add(slot.key)
            if slot.local_date == day:
                due_for_day.append(now)
        now += timedelta(minutes=1)
    assert len(due_for_day) == 1


# --- latest slot, downtime, next slot ------------------------------------------------------


def test_latest_slot_is_today_after_the_time_and_yesterday_before() -> None:
    settings = channel(time(9, 0), "Europe/Berlin", DAILY)
    assert latest_slot(settings, utc(2026, 3, 3, 8, 0)).local_date == date(2026, 3, 3)  # 09:00 CET
    assert latest_slot(settings, utc(2026, 3, 3, 7, 59)).local_date == date(2026, 3, 2)


def test_weekend_has_no_slot_with_default_days() -> None:
    settings = channel()  # Mon-Fri
    saturday_noon = utc(2026, 3, 7, 12)
    assert latest_slot(settings, saturday_noon).local_date == date(2026, 3, 6)  # Friday's
    keys = [slot.key for slot in slots_before(settings, utc(2026, 3, 9, 12), days=7)]
    assert "2026-03-07" not in keys and "2026-03-08" not in keys


def test_not_before_excludes_slots_before_the_settings_changed() -> None:
    settings = channel(time(9, 0), "UTC", DAILY)
    enabled_at = utc(2026, 3, 3, 10, 0)  # turned on after today's 09:00
    assert latest_slot(settings, utc(2026, 3, 3, 11), not_before=enabled_at) is None
    assert latest_slot(settings, utc(2026, 3, 4, 9, 0), not_before=enabled_at).key == "2026-03-04"


def test_after_three_days_down_only_the_latest_slot_is_due_and_missed_counts_three() -> None:
    settings = channel(time(9, 0), "UTC", DAILY)
    now = utc(2026, 3, 5, 12)  # last handled: 2026-03-02
    slot = latest_slot(settings, now)
    assert slot.key == "2026-03-05"
    assert is_late(slot, now)
    missed = missed_slots(settings, now, {"2026-03-02"})
    assert [s.key for s in missed] == ["2026-03-05", "2026-03-04", "2026-03-03"]


def test_is_late_uses_a_grace_period() -> None:
    settings = channel(time(9, 0), "UTC", DAILY)
    slot = latest_slot(settings, utc(2026, 3, 3, 9, 1))
    assert not is_late(slot, utc(2026, 3, 3, 9, 1))
    assert is_late(slot, utc(2026, 3, 3, 9, 30))


def test_next_slot_skips_handled_and_weekend_days() -> None:
    settings = channel(time(9, 0), "America/New_York")
    friday_after = utc(2026, 3, 6, 15)  # Friday 10:00 EST, Friday's slot passed
    slot = next_slot(settings, friday_after)
    assert slot.local_date == date(2026, 3, 9)  # Monday
    assert describe_local(slot.due_at, settings.timezone) == "Mon 09 Mar 2026 09:00 EDT"  # DST started 03-08
    # Monday before its 09:00, but Monday already handled (e.g. by a catch-up): Tuesday.
    assert next_slot(settings, utc(2026, 3, 9, 10), {"2026-03-09"}).key == "2026-03-10"


def test_kiritimati_and_gmt_plus_12_see_different_local_dates_at_one_instant() -> None:
    now = utc(2026, 3, 3, 20, 0)
    east = latest_slot(channel(time(9, 0), "Pacific/Kiritimati", DAILY), now)  # 10:00 on the 4th
    west = latest_slot(channel(time(9, 0), "Etc/GMT+12", DAILY), now)  # 08:00 on the 3rd
    assert east.key == "2026-03-04"
    assert east.due_at == utc(2026, 3, 3, 19, 0)
    assert west.key == "2026-03-02"
    assert west.due_at == utc(2026, 3, 2, 21, 0)


# --- the arXiv calendar ------------------------------------------------------------------


def test_arxiv_announces_sunday_to_thursday_except_holidays() -> None:
    week = [date(2026, 3, 1) + timedelta(days=i) for i in range(7)]  # Sun..Sat
    assert [arxiv_announces_on(d) for d in week] == [True, True, True, True, True, False, False]
    for holiday in ("2026-01-01", "2026-01-19", "2026-06-19", "2026-07-03", "2026-09-07",
                    "2026-11-26", "2026-12-25", "2026-12-29", "2026-12-31"):
        assert not arxiv_announces_on(date.fromisoformat(holiday))


def test_arxiv_announcements_between_counts_eastern_evenings() -> None:
    # Friday morning to Monday morning (UTC): only Sunday 20:00 EST = Monday 01:00 UTC.
    found = arxiv_announcements_between(utc(2026, 3, 6, 12), utc(2026, 3, 9, 12))
    assert found == [utc(2026, 3, 9, 0, 0)]  # 20:00 EDT (DST began 03-08) = 00:00 UTC
    # MLK day 2026-01-19 (Monday): no announcement that evening.
    assert arxiv_announcements_between(utc(2026, 1, 19, 12), utc(2026, 1, 20, 12)) == []


# --- quiet hours -------------------------------------------------------------------------


def test_quiet_hours_wrapping_midnight() -> None:
    start, end = time(22, 0), time(7, 0)
    tz = "Europe/Berlin"
    assert quiet_until(utc(2026, 3, 2, 22, 30), start, end, tz) == utc(2026, 3, 3, 6, 0)  # 23:30 CET
    assert quiet_until(utc(2026, 3, 3, 5, 0), start, end, tz) == utc(2026, 3, 3, 6, 0)  # 06:00 CET
    assert quiet_until(utc(2026, 3, 3, 12, 0), start, end, tz) is None
    assert quiet_until(utc(2026, 3, 3, 12, 0), None, None, tz) is None


def test_quiet_hours_same_day_span() -> None:
    assert quiet_until(utc(2026, 3, 3, 13), time(12, 0), time(14, 0), "UTC") == utc(2026, 3, 3, 14)
    assert quiet_until(utc(2026, 3, 3, 14), time(12, 0), time(14, 0), "UTC") is None
