"""Alert batches through the scheduler and the outbox: one DM per interval, +N more, quiet
hours, never the same paper twice, idempotent, how to unsubscribe."""

from __future__ import annotations

from datetime import time, timedelta

import bot.chat.grammar as cmd
from bot.alerts.alerts import SubscriptionCommands
from bot.core.clock import FakeClock
from bot.core.models import Actor, Place
from bot.core.outbox import alert_batch_key
from bot.delivery.outbox import Delivery
from bot.store import Store
from tests.support.factories import T0, FakeSummaries, app_settings, make_paper, new_store
from tests.support.memory import InMemoryAdapter
from tests.support.wiring import make_scheduler


class Env:
    def __init__(self, store: Store | None = None, **settings: object) -> None:
        self.store = store or new_store()
        self.clock = FakeClock(T0)
        self.adapter = InMemoryAdapter(platform="slack")
        self.delivery = Delivery(self.store, {"slack": self.adapter}, self.clock)
        self.scheduler = make_scheduler(
            store=self.store, settings=app_settings(**settings), clock=self.clock,
            summaries=FakeSummaries(self.store), delivery=self.delivery,
        )
        self.number = 0

    def subscribe(self, user: str, query: str = "", topics: tuple[str, ...] = ()) -> None:
        self.store.subscriptions.add("slack", user, query, topics, self.clock() - timedelta(hours=1))

    def papers(self, *titles: str, upvotes: int | None = None) -> list[str]:
        made = []
        for title in titles:
            self.number += 1
            made.append(make_paper(self.number, title=title, hf_upvotes=upvotes))
        self.store.papers.ingest(made, self.clock())
        return [p.id for p in made]

    async def tick(self, minutes: float = 1) -> dict[str, int]:
        self.clock.advance(minutes=minutes)
        return await self.scheduler.tick(self.clock())

    def dm_texts(self, user: str) -> list[str]:
        return [part["text"] for who, part in self.adapter.dms if who == user]


async def test_a_matching_paper_becomes_one_dm_that_says_how_to_unsubscribe() -> None:
    env = Env()
    env.subscribe("U1", "diffusion")
    env.subscribe("U1", "", ("rl",))
    env.subscribe("U2", "quantum")
    env.papers("Video diffusion models", "Nothing relevant here")
    result = await env.tick()
    assert result["alerts"] == 1 and result["sent"] == 1
    texts = env.dm_texts("U1")
    assert texts[0] == "1 new paper for your subscriptions"
    assert "Video diffusion models" in texts[1]
    assert "why: matches #1 “diffusion”" in texts[1]
    assert "To stop these alerts: /papers unsubscribe 1 (a number from /papers subscriptions) or /papers unsubscribe all" in texts[1]
    assert env.dm_texts("U2") == []
    row = env.store.outbox.rows(kind="alert")[0]
    # The key names the batch by the queued papers it consumes (not the clock), so any replica
    # cutting this batch would name it alike.
    video = env.store.papers.ids_by_title("Video diffusion models")
    assert row.key == alert_batch_key("slack", "U1", video) and row.destination == "U1"
    assert row.key.startswith("alert:slack:U1:") and len(video) == 1


async def test_at_most_one_dm_per_interval_with_up_to_max_items_and_plus_n_more() -> None:
    env = Env(alert_interval=3600, alert_max_items=10)
    env.subscribe("U1", "agents")
    env.papers("Agents one")
    await env.tick()
    assert len(env.store.outbox.rows(kind="alert")) == 1
    # 13 more matches within the hour: held back, then one DM with 10 and "+3 more".
    for i in range(13):
        env.papers(f"Agents batch {i}")
        await env.tick(minutes=4)
    assert len(env.store.outbox.rows(kind="alert")) == 1
    await env.tick(minutes=10)  # 12:01 + 62 min: the window is open again
    rows = env.store.outbox.rows(kind="alert")
    assert len(rows) == 2
    second = env.dm_texts("U1")[-2:]
    assert second[0] == "13 new papers for your subscriptions"
    assert second[1].count("Agents batch") == 20  # 10 titles + 10 TL;DRs
    assert "+3 more matched" in second[1]
    # The +3 were counted, not postponed: nothing further is queued.
    await env.tick(minutes=120)
    assert len(env.store.outbox.rows(kind="alert")) == 2


async def test_never_the_same_paper_twice_and_not_papers_older_than_the_subscription() -> None:
    env = Env()
    env.papers("Old diffusion paper")  # before the subscription below
    env.clock.advance(minutes=1)
    env.store.subscriptions.add("slack", "U1", "diffusion", (), env.clock())
    await env.tick()
    assert env.store.outbox.rows(kind="alert") == []
    env.papers("New diffusion paper")
    await env.tick()
    # A new version and more upvotes for the same paper later: no second alert.
    env.clock.advance(hours=2)
    env.store.papers.ingest([make_paper(2, title="New diffusion paper", version=2, hf_upvotes=99)], env.clock())
    await env.tick()
    await env.tick(minutes=90)
    rows = env.store.outbox.rows(kind="alert")
    assert len(rows) == 1
    assert sum(t.count("New diffusion paper <") for t in env.dm_texts("U1")) == 1


async def test_run_alerts_twice_at_the_same_instant_enqueues_once() -> None:
    env = Env()
    env.subscribe("U1", "diffusion")
    env.papers("Diffusion again")
    env.clock.advance(minutes=1)
    assert await env.scheduler.run_alerts(env.clock()) == 1
    assert await env.scheduler.run_alerts(env.clock()) == 0
    assert len(env.store.outbox.rows(kind="alert")) == 1


async def test_quiet_hours_hold_the_dm_until_they_end() -> None:
    env = Env()
    env.subscribe("U1", "diffusion")
    await quiet(env, "quiet 12:00-14:00 tz:UTC")
    env.papers("Diffusion at noon")
    await env.tick()
    assert env.store.outbox.rows(kind="alert") == []
    env.clock.now = T0.replace(hour=13, minute=59)
    await env.tick(minutes=0)
    assert env.store.outbox.rows(kind="alert") == []
    env.clock.now = T0.replace(hour=14, minute=0)
    await env.tick(minutes=0)
    assert len(env.store.outbox.rows(kind="alert")) == 1
    assert env.dm_texts("U1")[0] == "1 new paper for your subscriptions"


async def quiet(env: Env, text: str, user: str = "U1") -> str:
    commands = SubscriptionCommands(store=env.store, settings=app_settings(digest_default_tz="Asia/Tokyo"), clock=env.clock)
    reply = await commands.handle(cmd.parse_command(text), Actor("slack", user), Place("slack", "C1"))
    assert reply.private
    return reply.text


async def test_quiet_command_shows_sets_remembers_the_zone_and_clears() -> None:
    env = Env()
    assert (await quiet(env, "quiet")).startswith("No quiet hours")
    # No zone given and none remembered: the deployment's default zone.
    assert (await quiet(env, "quiet 22:00-07:00")).startswith("Quiet hours: 22:00–07:00 (Asia/Tokyo)")
    assert (await quiet(env, "quiet 23:00-06:00 tz:Europe/Berlin")).startswith("Quiet hours: 23:00–06:00 (Europe/Berlin)")
    # A zone given once is remembered.
    assert (await quiet(env, "quiet 21:00-06:00")).startswith("Quiet hours: 21:00–06:00 (Europe/Berlin)")
    assert await quiet(env, "quiet") == "Quiet hours: 21:00–06:00 (Europe/Berlin), every day."
    state = env.store.users.get("slack", "U1")
    assert (state.quiet_start, state.quiet_end, state.timezone) == (time(21, 0), time(6, 0), "Europe/Berlin")
    assert "off" in await quiet(env, "quiet off")
    assert env.store.users.get("slack", "U1").quiet_start is None
    assert env.store.users.get("slack", "U2").quiet_start is None  # per user


async def test_matches_for_removed_subscriptions_are_dropped_not_sent() -> None:
    env = Env(alert_interval=3600)
    env.subscribe("U1", "diffusion")
    env.papers("Diffusion first")
    await env.tick()
    env.papers("Diffusion second")
    await env.tick()  # queued, waiting for the window
    env.store.subscriptions.remove_all("slack", "U1")
    await env.tick(minutes=90)
    assert len(env.store.outbox.rows(kind="alert")) == 1


async def test_blocked_dms_pause_alerts_and_the_user_is_told() -> None:
    from bot.core.errors import PermanentDeliveryError

    env = Env()
    env.subscribe("U1", "diffusion")
    env.papers("Diffusion blocked")
    env.adapter.fail_next(PermanentDeliveryError("dm_blocked"))
    await env.tick()
    assert env.store.users.get("slack", "U1").dm_blocked
    env.papers("Diffusion after block")
    await env.tick(minutes=120)
    assert len(env.store.outbox.rows(kind="alert")) == 1  # paused: no new DMs are attempted
    assert "alerts are paused" in env.store.notices.pop("slack", "U1", env.clock())[0]
    # As the notice says: subscribing again resumes, even with the very same query.
    assert (await quiet(env, "subscribe diffusion")).startswith("Resumed your alerts (#1")
    assert not env.store.users.get("slack", "U1").dm_blocked
    assert not env.store.subscriptions.list_for_user("slack", "U1")[0].paused_reason


async def test_alert_scan_survives_restart_via_the_watermark(tmp_path) -> None:
    path = str(tmp_path / "p.db")
    env = Env(Store.open(path))
    env.subscribe("U1", "diffusion")
    env.papers("Diffusion one")
    await env.tick()
    env.store.close()
    again = Env(Store.open(path))
    again.clock.now = env.clock() + timedelta(minutes=2)
    await again.tick()
    assert len(again.store.outbox.rows(kind="alert")) == 1  # not re-matched after the restart


async def test_a_broad_match_in_one_scan_queues_the_most_popular_and_counts_the_rest() -> None:
    env = Env(alert_max_items=10)
    env.subscribe("U1", "", ("rl",))
    ids = []
    for i in range(15):
        ids += env.papers(f"Reinforcement learning study {i}", upvotes=i)
    for pid in ids:
        env.store.papers.set_topics(pid, ["rl"])
    env.clock.advance(minutes=1)
    await env.scheduler.run_alerts(env.clock())
    assert len(env.store.alert_queue.waiting("slack", "U1")) == 0  # cut at once: window open
    row = env.store.outbox.rows(kind="alert")[0]
    await env.delivery.deliver(env.clock())
    header, body = env.dm_texts("U1")
    assert header == "15 new papers for your subscriptions"
    assert "+5 more matched" in body
    shown = [f"Reinforcement learning study {i} <" for i in range(5, 15)]
    assert all(title in body for title in shown)  # the 10 most upvoted
    assert "study 4 <" not in body
    assert row.state == "pending" and env.store.alert_queue.overflow("slack", "U1") == 0
    # Nothing left over for the next window.
    await env.tick(minutes=90)
    assert len(env.store.outbox.rows(kind="alert")) == 1


async def test_subscribing_queues_the_last_24_hours_for_the_first_dm() -> None:
    import bot.chat.grammar as cmd
    from bot.alerts.alerts import SubscriptionCommands
    from bot.core.models import Actor, Place

    env = Env()
    env.clock.now = T0 - timedelta(hours=30)
    env.papers("Diffusion from yesterday")  # older than 24 h: counted, not sent
    env.clock.now = T0 - timedelta(hours=2)
    env.papers("Diffusion from this morning", "Unrelated")
    env.clock.now = T0
    await env.tick(minutes=0)  # the scan has seen them all before the user subscribes
    commands = SubscriptionCommands(store=env.store, settings=app_settings(), clock=env.clock)
    reply = await commands.handle(cmd.parse_command("subscribe diffusion"), Actor("slack", "U1"), Place("slack", "C1"))
    assert "2 papers of the last 7 days would have matched; the 1 from the last 24 hours comes in your first DM." in reply.text
    await env.tick()
    texts = env.dm_texts("U1")
    assert texts[0] == "1 new paper for your subscriptions"
    assert "Diffusion from this morning" in texts[1] and "yesterday" not in texts[1]
