"""The runtime clock: scaled demo clocks, the settings that make one, and `since:` parsing
that needs no clock at all."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.clock import (
    ScaledClock,
    parse_since,
    parse_window,
    scaled_or_system_clock,
    system_clock,
)
from bot.settings import Settings, make_clock

START = datetime(2030, 3, 31, 0, 55, tzinfo=UTC)


class Ticks:
    """A monotonic source the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_scaled_clock_starts_where_asked_and_runs_faster() -> None:
    ticks = Ticks()
    clock = ScaledClock(START, speed=60, monotonic=ticks)
    assert clock() == START
    ticks.now += 2.5
    assert clock() == START + timedelta(minutes=2.5)


def test_settings_make_one_clock_for_the_whole_bot() -> None:
    assert make_clock(Settings()) is system_clock
    scaled = make_clock(Settings(clock_start="2030-03-31T00:55:00Z", clock_speed=30.0))
    assert isinstance(scaled, ScaledClock) and scaled.start == START and scaled.speed == 30.0
    assert abs(scaled() - START) < timedelta(minutes=1)
    assert scaled_or_system_clock(None, 1.0) is system_clock


def test_since_is_validated_without_a_clock() -> None:
    assert parse_window("36h") == timedelta(hours=36)
    assert parse_window("2w") == timedelta(days=14)
    assert parse_window("2026-11-01") == date(2026, 11, 1)
    for bad in ("0d", "soon", "99999d"):
        with pytest.raises(ValueError):
            parse_window(bad)
    assert parse_since("7d", START) == START - timedelta(days=7)
    assert parse_since("2030-01-02", START) == datetime(2030, 1, 2, tzinfo=UTC)
