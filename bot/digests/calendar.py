"""arXiv's holiday calendar for any year: published lists where arXiv has one, rules otherwise.

arXiv publishes its holidays (days without an evening announcement) one year at a time on
info.arxiv.org/help/availability.html (SOURCES.md). A hard-coded list expires on 31 December,
so the holidays are computed from the rules that arXiv's published lists follow:

- the US holidays arXiv observes: New Year's Day, Martin Luther King Jr. Day (3rd Monday of
  January), Juneteenth (June 19), Independence Day (July 4), Labor Day (1st Monday of
  September), Thanksgiving (4th Thursday of November) and Christmas Day;
- fixed-date holidays move by the US federal observance rule: a Saturday holiday is observed
  on the Friday before, a Sunday holiday on the Monday after (2026 lists 07-03 because
  July 4 2026 is a Saturday);
- a year-end break (see `_year_end_break`; an assumption, documented there).

A year in `PUBLISHED_HOLIDAYS` uses arXiv's own list as-is, so ad hoc closures and any
deviation from the rules are honoured; other years are computed and flagged as unconfirmed
(`calendar_warning`), so `paperbot status` can ask for the list to be added once arXiv
publishes it. Nothing here reads the clock: callers pass the dates.
"""

from __future__ import annotations

from datetime import MAXYEAR, date, timedelta
from functools import lru_cache

MONDAY, TUESDAY, THURSDAY, SATURDAY, SUNDAY = 0, 1, 3, 5, 6  # date.weekday() values

# arXiv's own lists (info.arxiv.org/help/availability.html, SOURCES.md "arXiv announcement
# schedule"). Add a year here when arXiv publishes it: the published list wins over the rules.
# arxiv_holidays() is cached, so this is edited in the source, not at run time.
PUBLISHED_HOLIDAYS: dict[int, frozenset[date]] = {
    2026: frozenset(
        date.fromisoformat(day)
        for day in (
            "2026-01-01", "2026-01-19", "2026-06-19", "2026-07-03", "2026-09-07",
            "2026-11-26", "2026-12-25", "2026-12-29", "2026-12-31",
        )
    ),
}


def _observed(day: date) -> date:
    """The US federal observance of a fixed-date holiday: Saturday -> Friday, Sunday -> Monday."""
    if day.weekday() == SATURDAY:
        return day - timedelta(days=1)
    if day.weekday() == SUNDAY:
        return day + timedelta(days=1)
    return day


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The `n`-th `weekday` (Monday=0) of `month` in `year`, e.g. the 4th Thursday of November."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _year_end_break(year: int) -> set[date]:
    """arXiv's days off between Christmas and New Year: an ASSUMPTION derived from its lists.

    Rule: New Year's Eve (December 31) when it falls on a weekday, plus the first Tuesday after
    Christmas Day (December 25).

    Why this rule: the break is not a US holiday, so only arXiv's published lists say what it
    is, and they vary: 2023 had 12-27, 2024 had 12-26 and 12-31, 2025 had 12-30, 2026 has
    12-29 and 12-31 (arXiv/arxiv-docs history of availability.md). The rule reproduces 2026
    exactly, and the "first Tuesday after Christmas" part also matches 2024 (12-31) and 2025
    (12-30). New Year's Eve on a weekend is left out, as in 2023 (a Sunday, not listed), so
    the rule never cancels a Sunday announcement on its own. Consequence: when Christmas is on
    a Wednesday that Tuesday is New Year's Eve itself, and when Christmas is on a Tuesday it is
    New Year's Day, so in those years the break adds only one day (e.g. 2030: 12-31 only).
    When arXiv publishes the real year, PUBLISHED_HOLIDAYS overrides this guess.
    """
    days: set[date] = set()
    new_years_eve = date(year, 12, 31)
    if new_years_eve.weekday() < SATURDAY:
        days.add(new_years_eve)
    christmas = date(year, 12, 25)
    tuesday = christmas + timedelta(days=(TUESDAY - christmas.weekday() - 1) % 7 + 1)
    if tuesday.year == year:  # Christmas on a Tuesday: the next one is New Year's Day
        days.add(tuesday)
    return days


def _computed_holidays(year: int) -> frozenset[date]:
    """arXiv's holidays in `year` by the rules alone (ignores PUBLISHED_HOLIDAYS)."""
    fixed = [date(year, 1, 1), date(year, 6, 19), date(year, 7, 4), date(year, 12, 25)]
    if year < MAXYEAR:
        # When next January 1 is a Saturday it is observed on this year's December 31.
        fixed.append(date(year + 1, 1, 1))
    holidays = {observed for observed in map(_observed, fixed) if observed.year == year}
    holidays |= {
        _nth_weekday(year, 1, MONDAY, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 9, MONDAY, 1),  # Labor Day
        _nth_weekday(year, 11, THURSDAY, 4),  # Thanksgiving
    }
    holidays |= _year_end_break(year)
    return frozenset(holidays)


@lru_cache(maxsize=64)
def arxiv_holidays(year: int) -> frozenset[date]:
    """arXiv's holidays in `year`: dates with no announcement on their evening, any weekday.

    arXiv's published list for `year` when there is one (`PUBLISHED_HOLIDAYS`), otherwise the
    dates computed from the rules in this module's docstring.
    """
    published = PUBLISHED_HOLIDAYS.get(year)
    return published if published is not None else _computed_holidays(year)


def is_arxiv_holiday(day: date) -> bool:
    """Whether `day` is an arXiv holiday (no announcement on its evening, US Eastern)."""
    return day in arxiv_holidays(day.year)


def calendar_is_confirmed(year: int) -> bool:
    """Whether `year`'s holidays come from arXiv's published list rather than from the rules."""
    return year in PUBLISHED_HOLIDAYS


def unconfirmed_years(today: date) -> list[int]:
    """Of this year and next (relative to `today`), those whose holidays are only computed."""
    return [year for year in (today.year, today.year + 1) if not calendar_is_confirmed(year)]


def calendar_warning(today: date) -> str | None:
    """One sentence for `paperbot status` if this or next year is unconfirmed, else None."""
    years = unconfirmed_years(today)
    if not years:
        return None
    if len(years) == 1:
        subject, verb, pronoun = f"calendar for {years[0]}", "is", "it"
    else:
        subject, verb, pronoun = f"calendars for {years[0]} and {years[1]}", "are", "them"
    return (
        f"arXiv holiday {subject} {verb} computed from rules, not confirmed by arXiv's published "
        f"schedule; add {pronoun} to PUBLISHED_HOLIDAYS in bot/arxiv_calendar.py when arXiv "
        f"publishes {pronoun}"
    )
