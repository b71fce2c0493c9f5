"""arXiv holiday calendar: published 2026 list, the rules that reproduce it, later years by hand.

Every date here is an absolute value; nothing reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

import bot.digests.calendar as arxiv_calendar
from bot.digests.calendar import (
    PUBLISHED_HOLIDAYS,
    _computed_holidays,
    arxiv_holidays,
    calendar_is_confirmed,
    calendar_warning,
    is_arxiv_holiday,
    unconfirmed_years,
)
from bot.digests.schedule import arxiv_announcements_between, arxiv_announces_on

PUBLISHED_2026 = {
    date(2026, 1, 1),  # Thu, New Year's Day
    date(2026, 1, 19),  # Mon, MLK Day
    date(2026, 6, 19),  # Fri, Juneteenth
    date(2026, 7, 3),  # Fri, Independence Day observed (07-04 is a Saturday)
    date(2026, 9, 7),  # Mon, Labor Day
    date(2026, 11, 26),  # Thu, Thanksgiving
    date(2026, 12, 25),  # Fri, Christmas Day
    date(2026, 12, 29),  # Tue, year-end break
    date(2026, 12, 31),  # Thu, New Year's Eve
}

EXPECTED_2027 = {
    date(2027, 1, 1),  # Fri, New Year's Day
    date(2027, 1, 18),  # Mon, MLK Day (3rd Monday)
    date(2027, 6, 18),  # Fri, Juneteenth observed (06-19 is a Saturday)
    date(2027, 7, 5),  # Mon, Independence Day observed (07-04 is a Sunday)
    date(2027, 9, 6),  # Mon, Labor Day (1st Monday)
    date(2027, 11, 25),  # Thu, Thanksgiving (4th Thursday)
    date(2027, 12, 24),  # Fri, Christmas observed (12-25 is a Saturday)
    date(2027, 12, 28),  # Tue, first Tuesday after Christmas Day
    date(2027, 12, 31),  # Fri, New Year's Eve (and New Year's Day 2028, a Saturday, observed)
}

# Checked by hand: 2030-01-01 is a Tuesday, so Jan 21 is the 3rd Monday; Jun 19 is a Wednesday;
# Jul 4 a Thursday; Sep 1 a Sunday, so Labor Day is Sep 2; Nov 1 a Friday, so Thanksgiving is
# Nov 28; Dec 25 a Wednesday, whose next Tuesday is Dec 31 itself: the break is one day.
EXPECTED_2030 = {
    date(2030, 1, 1),
    date(2030, 1, 21),
    date(2030, 6, 19),
    date(2030, 7, 4),
    date(2030, 9, 2),
    date(2030, 11, 28),
    date(2030, 12, 25),
    date(2030, 12, 31),
}


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """arxiv_holidays is cached; tests that patch PUBLISHED_HOLIDAYS must not see stale years."""
    arxiv_holidays.cache_clear()
    yield
    arxiv_holidays.cache_clear()


# --- the sets ---------------------------------------------------------------------------------


def test_2026_is_the_published_list() -> None:
    assert PUBLISHED_HOLIDAYS[2026] == PUBLISHED_2026
    assert arxiv_holidays(2026) == PUBLISHED_2026


def test_rules_alone_reproduce_2026() -> None:
    assert _computed_holidays(2026) == PUBLISHED_2026


def test_2027_computed() -> None:
    assert arxiv_holidays(2027) == EXPECTED_2027


def test_2030_computed() -> None:
    assert arxiv_holidays(2030) == EXPECTED_2030


def test_new_years_day_on_saturday_is_observed_in_the_previous_year() -> None:
    # 2028-01-01 is a Saturday: observed on Friday 2027-12-31, so 2028 has no January 1 holiday.
    assert date(2027, 12, 31) in arxiv_holidays(2027)
    assert not any(day.month == 1 and day.day < 3 for day in arxiv_holidays(2028))
    assert date(2028, 1, 17) in arxiv_holidays(2028)  # MLK Day is still there


def test_christmas_on_a_tuesday_keeps_only_new_years_eve() -> None:
    # 2029-12-25 is a Tuesday; the next Tuesday is New Year's Day 2030, already a holiday.
    december = {day for day in arxiv_holidays(2029) if day.month == 12}
    assert december == {date(2029, 12, 25), date(2029, 12, 31)}


def test_new_years_eve_on_a_weekend_is_not_a_holiday() -> None:
    # 2028-12-31 is a Sunday: arXiv still announces that evening (as on Sunday 2023-12-31).
    assert not is_arxiv_holiday(date(2028, 12, 31))
    assert arxiv_announces_on(date(2028, 12, 31))


@pytest.mark.parametrize("year", range(2027, 2100))
def test_computed_years_are_sane(year: int) -> None:
    holidays = _computed_holidays(year)
    assert all(day.year == year for day in holidays)
    assert all(day.weekday() < 5 for day in holidays)  # observance keeps them off weekends
    assert 7 <= len(holidays) <= 9


# --- lookups and announcements ------------------------------------------------------------------


def test_is_arxiv_holiday() -> None:
    assert is_arxiv_holiday(date(2026, 12, 29))
    assert not is_arxiv_holiday(date(2026, 12, 30))
    assert is_arxiv_holiday(date(2027, 7, 5))
    assert not is_arxiv_holiday(date(2027, 7, 4))  # the Sunday itself; observed on Monday


@pytest.mark.parametrize("day", sorted(PUBLISHED_2026 | EXPECTED_2027 | EXPECTED_2030))
def test_no_announcement_on_a_holiday(day: date) -> None:
    assert not arxiv_announces_on(day)


@pytest.mark.parametrize("sunday", [date(2027, 3, 7), date(2030, 3, 10)])
def test_ordinary_weeks_announce_sunday_to_thursday(sunday: date) -> None:
    assert sunday.weekday() == 6
    week = [sunday + timedelta(days=i) for i in range(7)]  # Sun..Sat
    assert [arxiv_announces_on(d) for d in week] == [True, True, True, True, True, False, False]


def test_announcements_skip_thanksgiving_2027() -> None:
    # Wed 2027-11-24 20:00 EST = Thu 01:00 UTC; Thursday 11-25 is Thanksgiving; next is Sunday.
    found = arxiv_announcements_between(
        datetime(2027, 11, 24, 12, tzinfo=UTC), datetime(2027, 11, 29, 12, tzinfo=UTC)
    )
    assert found == [datetime(2027, 11, 25, 1, tzinfo=UTC), datetime(2027, 11, 29, 1, tzinfo=UTC)]


# --- confirmation and the status warning ----------------------------------------------------


def test_calendar_is_confirmed_only_for_published_years() -> None:
    assert calendar_is_confirmed(2026)
    assert not calendar_is_confirmed(2027)


@pytest.mark.parametrize("today", [date(2026, 12, 1), date(2026, 6, 1)])
def test_next_year_is_unconfirmed_in_2026(today: date) -> None:
    assert unconfirmed_years(today) == [2027]
    warning = calendar_warning(today)
    assert warning == (
        "arXiv holiday calendar for 2027 is computed from rules, not confirmed by arXiv's "
        "published schedule; add it to PUBLISHED_HOLIDAYS in bot/arxiv_calendar.py when arXiv "
        "publishes it"
    )


def test_both_years_unconfirmed() -> None:
    assert unconfirmed_years(date(2027, 3, 1)) == [2027, 2028]
    warning = calendar_warning(date(2027, 3, 1))
    assert warning is not None
    assert warning.startswith("arXiv holiday calendars for 2027 and 2028 are computed from rules")


def test_no_warning_when_both_years_are_published(monkeypatch: pytest.MonkeyPatch) -> None:
    published = dict(PUBLISHED_HOLIDAYS)
    published[2027] = frozenset({date(2027, 1, 1)})
    monkeypatch.setattr(arxiv_calendar, "PUBLISHED_HOLIDAYS", published)
    assert calendar_is_confirmed(2027)
    assert unconfirmed_years(date(2026, 12, 1)) == []
    assert calendar_warning(date(2026, 12, 1)) is None
    # A published year is used as-is, not merged with the rules.
    assert arxiv_holidays(2027) == {date(2027, 1, 1)}
    assert arxiv_announces_on(date(2027, 7, 5))
