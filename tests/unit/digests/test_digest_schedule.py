"""The scheduler end to end over the store and in-memory adapters, with a fake clock: zones from
UTC-12 to UTC+14, DST both ways, arXiv weekends and holidays, catch-up after downtime (post and
skip), exactly once per (channel, local date) across restarts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from bot.app.scheduler import Scheduler
from bot.core.clock import FakeClock
from bot.core.localtime import local_instant, zone
from bot.core.models import CatchUp, ChannelSettings, SourceKind
from bot.delivery.outbox import Delivery
from bot.digests.schedule import arxiv_announcements_between
from bot.store import Store
from tests.support.factories import FakeSummaries, app_settings, make_paper, new_store
from tests.support.memory import InMemoryAdapter
from tests.support.wiring import make_scheduler

DAILY = (0, 1, 2, 3, 4, 5, 6)


@dataclass
class Env:
    store: Store
    clock: FakeClock
    adapters: dict[str, InMemoryAdapter]
    scheduler: Scheduler
    next_paper: int = 1

    def add_papers(self, count: int = 1, source: SourceKind = SourceKind.ARXIV, **kw: object) -> None:
        papers = []
        for _ in range(count):
            papers.append(make_paper(self.next_paper, source=source, published=self.clock(), **kw))  # type: ignore[arg-type]
            self.next_paper += 1
        self.store.papers.ingest(papers, self.clock())

    async def tick(self) -> dict[str, int]:
        return await self.scheduler.tick(self.clock())

    def restart(self) -> None:
        delivery = Delivery(self.store, self.adapters, self.clock)
        self.scheduler = make_scheduler(
            store=self.store, settings=app_settings(), clock=self.clock, summaries=FakeSummaries(self.store),
            delivery=delivery,
        )

    def digest_keys(self) -> list[str]:
        return [row.key for row in self.store.outbox.rows() if row.kind in ("digest", "digest-note")]


def make_env(start: datetime, platforms: Iterable[str] = ("slack", "discord", "memory"), store: Store | None = None) -> Env:
    store = store or new_store()
    clock = FakeClock(start)
    adapters = {p: InMemoryAdapter(platform=p) for p in platforms}
    env = Env(store, clock, adapters, None)  # type: ignore[arg-type]
    env.restart()
    return env


def add_channel(env: Env, platform: str, channel_id: str, **overrides: object) -> ChannelSettings:
    settings = replace(ChannelSettings(platform=platform, channel_id=channel_id, created_by="U-owner"), **overrides)  # type: ignore[arg-type]
    # Made when the test starts: slots from then on count, earlier ones were never due.
    env.store.channels.save(settings, env.clock())
    return settings


async def run_until(env: Env, end: datetime, step: timedelta, papers_every: timedelta | None = None,
                    paper_source: SourceKind = SourceKind.ARXIV) -> None:
    last_paper = env.clock()
    while env.clock() < end:
        if papers_every is not None and env.clock() - last_paper >= papers_every:
            env.add_papers(1, paper_source)
            last_paper = env.clock()
        await env.tick()
        env.clock.advance(seconds=step.total_seconds())


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- zones ------------------------------------------------------------------------------------


async def test_channels_in_zones_from_utc_minus_12_to_plus_14_get_one_digest_per_local_weekday() -> None:
    env = make_env(utc(2026, 3, 1, 0, 0))  # Sunday
    zones = {
        ("slack", "C-west"): "Etc/GMT+12",
        ("discord", "C-utc"): "UTC",
        ("memory", "C-berlin"): "Europe/Berlin",
        ("slack", "C-east"): "Pacific/Kiritimati",
    }
    for (platform, cid), tz in zones.items():
        add_channel(env, platform, cid, timezone=tz, time_of_day=time(9, 0))
    await run_until(env, utc(2026, 3, 5, 0, 0), timedelta(minutes=15), papers_every=timedelta(hours=2))
    for (platform, cid), tz in zones.items():
        runs = env.store.channels.runs(f"{platform}:{cid}")
        dates = sorted(r.local_date for r in runs)
        now_local = env.clock().astimezone(zone(tz))
        expected = [
            d.isoformat()
            for d in (date(2026, 2, 28) + timedelta(days=i) for i in range(8))
            if d.weekday() < 5
            and utc(2026, 3, 1) <= local_instant(d, time(9, 0), zone(tz)) < env.clock()
        ]
        assert dates == expected, (tz, now_local)
        for run in runs:
            slot = local_instant(date.fromisoformat(run.local_date), time(9, 0), zone(tz))
            assert timedelta(0) <= run.at - slot < timedelta(minutes=15)  # on time, not delayed
            assert run.status == "posted"
        sent = env.adapters[platform].texts(cid)
        assert len([t for t in sent if "papers in" in t or "paper in" in t]) == len(expected)


# --- DST ---------------------------------------------------------------------------------------


async def dst_day_runs(tz: str, at: time, day: date) -> list:
    start = datetime.combine(day - timedelta(days=1), time(0, 0), tzinfo=UTC)
    env = make_env(start, ["memory"])
    add_channel(env, "memory", "C1", timezone=tz, time_of_day=at, days=DAILY)
    await run_until(env, start + timedelta(days=3), timedelta(minutes=5), papers_every=timedelta(hours=1))
    return [r for r in env.store.channels.runs("memory:C1") if r.local_date == day.isoformat()]


async def test_berlin_spring_forward_0230_digest_posts_once_at_0300_local() -> None:
    runs = await dst_day_runs("Europe/Berlin", time(2, 30), date(2026, 3, 29))
    assert len(runs) == 1 and runs[0].at == utc(2026, 3, 29, 1, 0)  # 03:00 CEST


async def test_berlin_fall_back_0230_digest_posts_once() -> None:
    runs = await dst_day_runs("Europe/Berlin", time(2, 30), date(2026, 10, 25))
    assert len(runs) == 1 and runs[0].at == utc(2026, 10, 25, 0, 30)  # first 02:30 (CEST)


async def test_new_york_spring_forward_and_fall_back() -> None:
    spring = await dst_day_runs("America/New_York", time(2, 30), date(2026, 3, 8))
    assert len(spring) == 1 and spring[0].at == utc(2026, 3, 8, 7, 0)  # 03:00 EDT
    fall = await dst_day_runs("America/New_York", time(1, 30), date(2026, 11, 1))
    assert len(fall) == 1 and fall[0].at == utc(2026, 11, 1, 5, 30)  # first 01:30 (EDT)


# --- arXiv calendar ----------------------------------------------------------------------------


async def simulate_sources(env: Env, end: datetime, step: timedelta) -> None:
    """arXiv papers appear at announcement time (20:00 Eastern, Sun-Thu, not on holidays); one HF
    paper appears every day at 12:00 UTC. The scheduler ticks every `step`."""
    while env.clock() < end:
        now = env.clock()
        if arxiv_announcements_between(now - step, now):
            env.add_papers(3, SourceKind.ARXIV)
        noon = datetime.combine(now.date(), time(12, 0), tzinfo=UTC)
        if now - step < noon <= now:
            env.add_papers(1, SourceKind.HF, hf_upvotes=10)
        env.clock.advance(minutes=1)  # the tick comes a little after the fetch
        await env.tick()
        env.clock.advance(seconds=step.total_seconds() - 60)


async def test_arxiv_weekend_no_saturday_or_sunday_digest() -> None:
    env = make_env(utc(2026, 3, 5, 0, 0), ["memory"])  # Thursday
    add_channel(env, "memory", "C1", sources=(SourceKind.ARXIV,))
    await simulate_sources(env, utc(2026, 3, 10, 0, 0), timedelta(minutes=30))
    dates = sorted(r.local_date for r in env.store.channels.runs("memory:C1"))
    assert dates == ["2026-03-05", "2026-03-06", "2026-03-09"]  # Thu, Fri, Mon
    assert all(r.status == "posted" for r in env.store.channels.runs("memory:C1"))


async def test_arxiv_holiday_arxiv_only_channel_gets_a_note_hf_channel_a_digest() -> None:
    # MLK day 2026-01-19: no announcement that evening, so nothing new on Tuesday morning.
    env = make_env(utc(2026, 1, 18, 0, 0), ["memory"])
    add_channel(env, "memory", "C-arxiv", sources=(SourceKind.ARXIV,), quiet_note=True)
    add_channel(env, "memory", "C-quiet", sources=(SourceKind.ARXIV,))
    add_channel(env, "memory", "C-all")
    await simulate_sources(env, utc(2026, 1, 21, 0, 0), timedelta(minutes=30))
    by_channel = {
        key: {r.local_date: r for r in env.store.channels.runs(key)}
        for key in ("memory:C-arxiv", "memory:C-quiet", "memory:C-all")
    }
    assert by_channel["memory:C-arxiv"]["2026-01-19"].status == "posted"
    assert by_channel["memory:C-arxiv"]["2026-01-20"].status == "quiet"
    assert by_channel["memory:C-quiet"]["2026-01-20"].status == "empty"  # nothing sent at all
    assert by_channel["memory:C-all"]["2026-01-20"].status == "posted"  # the HF paper
    notes = [t for t in env.adapters["memory"].texts("C-arxiv") if t.startswith("No new papers")]
    assert notes == [
        "No new papers for this channel on Tue 20 Jan 2026 "
        "(arXiv did not announce new papers: weekend or arXiv holiday)."
    ]
    assert not any("No new papers" in t for t in env.adapters["memory"].texts("C-quiet"))
    hf_digest = env.store.outbox.get("digest:memory:C-all:2026-01-20")
    assert hf_digest is not None and hf_digest.state == "sent"


# --- catch-up after downtime --------------------------------------------------------------------


async def test_catch_up_after_three_days_down_posts_one_delayed_digest() -> None:
    env = make_env(utc(2026, 3, 2, 8, 0), ["memory"])
    add_channel(env, "memory", "C1", days=DAILY)
    env.add_papers(2)
    await run_until(env, utc(2026, 3, 2, 10, 0), timedelta(minutes=10))
    assert [r.local_date for r in env.store.channels.runs("memory:C1")] == ["2026-03-02"]
    # Down from Monday 10:00 to Thursday 12:00; papers kept arriving (fetched at restart).
    env.clock.now = utc(2026, 3, 5, 12, 0)
    env.add_papers(5)
    env.restart()
    await env.tick()
    await env.tick()
    runs = env.store.channels.runs("memory:C1")
    assert [(r.local_date, r.status) for r in runs] == [("2026-03-05", "delayed"), ("2026-03-02", "posted")]
    texts = env.adapters["memory"].texts("C1")
    delayed = [t for t in texts if t.startswith("Delayed: ")]
    assert len(delayed) == 1
    assert "delayed: paperbot was offline at Thu 05 Mar 2026 09:00 UTC; this digest covers the 3 missed ones" in texts[-1]
    # The next day is a normal digest.
    env.add_papers(1)
    env.clock.now = utc(2026, 3, 6, 9, 0)
    await env.tick()
    assert env.store.channels.run_for("memory:C1", "2026-03-06").status == "posted"


async def test_catch_up_skip_mode_posts_one_line_note_and_moves_the_window() -> None:
    env = make_env(utc(2026, 3, 2, 8, 0), ["memory"])
    add_channel(env, "memory", "C1", days=DAILY, catch_up=CatchUp.SKIP)
    env.add_papers(2)
    await run_until(env, utc(2026, 3, 2, 10, 0), timedelta(minutes=10))
    env.clock.now = utc(2026, 3, 5, 11, 55)  # restarted; the first fetch stores the backlog
    env.add_papers(5)
    env.clock.now = utc(2026, 3, 5, 12, 0)
    env.restart()
    await env.tick()
    runs = env.store.channels.runs("memory:C1")
    assert [(r.local_date, r.status) for r in runs] == [("2026-03-05", "skipped"), ("2026-03-02", "posted")]
    note = env.adapters["memory"].texts("C1")[-1]
    assert note == (
        "Skipped the digest of Thu 05 Mar: paperbot was offline at Thu 05 Mar 2026 09:00 UTC. "
        "The next one comes Fri 06 Mar 2026 09:00 UTC."
    )
    # The backlog is not dumped into the next digest: only papers after the skip.
    env.clock.now = utc(2026, 3, 5, 18, 0)
    env.add_papers(1)
    env.clock.now = utc(2026, 3, 6, 9, 0)
    await env.tick()
    row = env.store.outbox.get("digest:memory:C1:2026-03-06")
    assert env.store.channels.run_for("memory:C1", "2026-03-06").papers == 1
    assert row.state == "sent"


# --- exactly once --------------------------------------------------------------------------------


async def test_exactly_once_per_channel_and_local_date_across_ticks_and_restarts(tmp_path) -> None:
    path = str(tmp_path / "p.db")
    env = make_env(utc(2026, 3, 2, 8, 50), ["memory"], store=Store.open(path))
    add_channel(env, "memory", "C1")
    env.add_papers(3)
    env.clock.now = utc(2026, 3, 2, 9, 0)
    assert (await env.tick())["digests"] == 1
    assert (await env.tick())["digests"] == 0
    env.store.close()
    env.store = Store.open(path)
    env.restart()
    env.clock.now = utc(2026, 3, 2, 9, 5)
    assert (await env.tick())["digests"] == 0
    assert await env.scheduler.digests.run_due(env.clock()) == 0
    assert env.digest_keys() == ["digest:memory:C1:2026-03-02"]
    assert len([t for t in env.adapters["memory"].texts() if "papers in" in t]) == 1


async def test_a_failure_while_building_is_retried_on_the_next_tick() -> None:
    env = make_env(utc(2026, 3, 2, 9, 0), ["memory"])
    add_channel(env, "memory", "C1")
    env.add_papers(2)

    class Flaky(FakeSummaries):
        failures = 1

        async def get_many(self, papers):  # type: ignore[no-untyped-def]
            if self.failures:
                self.failures -= 1
                raise RuntimeError("summarizer down")
            return await super().get_many(papers)

    env.scheduler.digests.summaries = Flaky(env.store)
    assert (await env.tick())["digests"] == 0
    assert env.store.channels.runs("memory:C1") == []
    env.clock.advance(minutes=1)
    assert (await env.tick())["digests"] == 1


async def test_paused_and_disabled_channels_are_not_scheduled_and_late_enabling_waits() -> None:
    env = make_env(utc(2026, 3, 2, 10, 0), ["memory"])
    add_channel(env, "memory", "C-paused", paused_reason="the channel no longer exists")
    add_channel(env, "memory", "C-off", enabled=False)
    env.add_papers(2)
    # Enabled at 10:00, after today's 09:00 slot: the first digest is tomorrow's.
    env.store.channels.save(ChannelSettings(platform="memory", channel_id="C-new"), env.clock())
    await env.tick()
    assert env.digest_keys() == []
    env.clock.now = utc(2026, 3, 3, 9, 0)
    await env.tick()
    assert env.digest_keys() == ["digest:memory:C-new:2026-03-03"]


async def test_quiet_day_without_opt_in_sends_nothing() -> None:
    env = make_env(utc(2026, 3, 2, 9, 0), ["memory"])
    add_channel(env, "memory", "C1")
    await env.tick()
    assert env.store.channels.run_for("memory:C1", "2026-03-02").status == "empty"
    assert env.adapters["memory"].sent == []


async def test_preview_digest_does_not_record_anything() -> None:
    env = make_env(utc(2026, 3, 2, 9, 0), ["memory"])
    env.add_papers(2)
    digest = await env.scheduler.digests.preview("console:console", None, env.clock())
    assert digest is not None and len(digest.paper_ids) == 2
    assert env.store.outbox.rows() == [] and env.store.channels.all() == []
