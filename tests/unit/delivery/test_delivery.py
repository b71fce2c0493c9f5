"""The outbox and ledger: JSON round trip, split messages, crash windows, 429s, transient and
permanent failures, idempotent enqueue, resuming after a restart."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.core.errors import PermanentDeliveryError, RetryAfter, TransientDeliveryError
from bot.core.models import (
    ChannelSettings,
    ItemGroup,
    Paper,
    PaperItem,
    Reply,
    Signal,
    SourceKind,
    Summary,
)
from bot.core.outbox import OutboxKind
from bot.delivery.outbox import Delivery, backoff, enqueue, reply_from_json, reply_to_json
from bot.ports import Part
from bot.store import Store
from tests.support.factories import T0, make_paper, new_store
from tests.support.memory import InMemoryAdapter


def digest_reply(count: int, prefix: str = "Title") -> Reply:
    items = tuple(
        PaperItem(paper=make_paper(i, title=f"{prefix} {i:03d} end"), source_line="arXiv cs.LG · 1h ago")
        for i in range(count)
    )
    return Reply(header=f"{count} papers", groups=(ItemGroup("LLM", items),), footer="footer", private=False)


def setup(tmp_path: Path | None = None) -> tuple[Store, InMemoryAdapter, FakeClock, Delivery]:
    store = Store.open(str(tmp_path / "p.db")) if tmp_path else new_store()
    adapter = InMemoryAdapter()
    clock = FakeClock(T0)
    return store, adapter, clock, Delivery(store, {"memory": adapter}, clock)


def titles_arrived(adapter: InMemoryAdapter, prefix: str, count: int) -> list[int]:
    text = "\n".join(adapter.texts())
    return [text.count(f"{prefix} {i:03d} end") for i in range(count)]


# --- Reply JSON -----------------------------------------------------------------------------


def full_paper() -> Paper:
    when = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    signal = Signal(SourceKind.REDDIT, "t3_x", 42, 7, "r/LocalLLaMA", "https://reddit.com/x", when)
    return Paper(
        id="2603.00042", title="A title <@U123>", abstract="An abstract", version=3,
        authors=("A", "B"), categories=("cs.LG", "cs.CL"), primary_category="cs.LG",
        published=when, updated=when + timedelta(days=1), url="https://arxiv.org/abs/2603.00042",
        source=SourceKind.HF, source_label="HF daily", announce_type="replace", doi="10.1/x",
        journal_ref="J 1", comment="9 pages", signals=(signal,),
        sources=(SourceKind.ARXIV, SourceKind.HF), first_seen=when - timedelta(hours=2), is_updated=True,
    )


def full_summary() -> Summary:
    return Summary(
        tldr="tl", key_points=("k1", "k2"), summary="s", methodology="m", results="r", implications="i",
        topics=("llm",), summarizer="llm", model="gpt", prompt_version="v2",
    )


def test_fixture_sets_every_field_away_from_its_default() -> None:
    # If a model gains a field, this fails until the round-trip fixture covers it.
    for value in (full_paper(), full_summary()):
        for f in dataclasses.fields(value):
            default = f.default if f.default is not dataclasses.MISSING else None
            assert getattr(value, f.name) not in (default, (), ""), f.name


def test_reply_json_round_trip_keeps_every_field() -> None:
    reply = Reply(
        text="text", header="header",
        groups=(
            ItemGroup("LLM", (PaperItem(full_paper(), full_summary(), "HF daily · 3 upvotes", "topic: LLM"),)),
            ItemGroup("", (PaperItem(make_paper(1), None, "", ""),)),
        ),
        footer="footer", private=False, is_error=True, show_details=True, shareable=True,
    )
    again = reply_from_json(reply_to_json(reply))
    assert again == reply
    assert again.items[0].paper.signals[0].observed_at.tzinfo is not None


def test_a_paper_shared_by_many_replies_encodes_as_a_fresh_copy_does() -> None:
    """Replies sharing one Paper object (a digest run's pool) give the JSON that an equal,
    never encoded copy gives, also once the remembered encodings were forgotten."""
    import bot.delivery.outbox as outbox

    shared = full_paper()

    def reply_with(paper: Paper) -> Reply:
        return Reply(header="h", groups=(ItemGroup("", (PaperItem(paper, full_summary(), "", "why"),)),), private=False)

    first = reply_to_json(reply_with(shared))
    assert reply_to_json(reply_with(shared)) == first
    assert reply_to_json(reply_with(dataclasses.replace(shared))) == first
    for number in range(outbox.PAPER_ENCODINGS + 5):  # more papers than are remembered
        reply_to_json(reply_with(make_paper(number)))
    assert reply_to_json(reply_with(shared)) == first
    assert reply_from_json(first) == reply_with(shared)


def test_reply_json_is_the_json_of_the_whole_encoded_reply() -> None:
    """Put together from each field's, group's and item's JSON, the text is what encoding the
    whole reply at once gives: unicode, quotes, empty groups, items without a summary, floats,
    an item shown in two replies, and again after the remembered items were forgotten."""
    import json

    import bot.delivery.outbox as outbox

    paper = dataclasses.replace(full_paper(), title='Schrödinger "bridges" \\ 𝔼[x]\n\u2028')
    shared = PaperItem(paper, full_summary(), "arXiv cs.LG · 3h ago", "topic: Computer Vision")
    replies = [
        Reply(text="Nothing new ✓", footer="r/LocalLLaMA unavailable", private=False),
        Reply(header="Fri 20 Nov · 2 papers", groups=(ItemGroup("Computer Vision", (shared, PaperItem(make_paper(3)))),)),
        Reply(header="h", groups=(ItemGroup("", ()), ItemGroup("Other", (shared,))), offers_feedback=True),
        Reply(),
    ]
    for _ in range(2):
        for reply in replies:
            expected = json.dumps(outbox._encode(reply), ensure_ascii=False, separators=(",", ":"))
            assert reply_to_json(reply) == expected
            assert reply_from_json(expected) == reply
        for number in range(outbox.ITEM_ENCODINGS + 5):  # more items than are remembered
            reply_to_json(Reply(groups=(ItemGroup("", (PaperItem(make_paper(number)),)),)))


# --- splitting and arriving whole ------------------------------------------------------------


async def test_sixty_item_digest_is_split_and_arrives_whole() -> None:
    store, adapter, clock, delivery = setup()
    assert enqueue(store, "digest:memory:C1:2026-03-02", "digest", "memory", "C1", digest_reply(60), T0)
    assert await delivery.deliver() == 1
    assert len(adapter.sent) == 7  # header + 6 chunks of 10
    assert titles_arrived(adapter, "Title", 60) == [1] * 60
    row = store.outbox.get("digest:memory:C1:2026-03-02")
    assert (row.state, row.parts_sent, len(row.delivery_ids)) == ("sent", 7, 7)
    assert await delivery.deliver() == 0  # sent rows are never sent again
    assert len(adapter.sent) == 7


async def test_idempotent_reenqueue_adds_nothing_even_after_sending() -> None:
    store, adapter, clock, delivery = setup()
    key = "alert:memory:U1:2026-03-02T12:00:00+00:00"
    assert enqueue(store, key, "alert", "memory", "U1", digest_reply(2), T0)
    assert not enqueue(store, key, "alert", "memory", "U1", digest_reply(3), T0)
    await delivery.deliver()
    assert not enqueue(store, key, "alert", "memory", "U1", digest_reply(2), T0)
    await delivery.deliver()
    assert len(adapter.dms) == 2  # header + one chunk, once
    assert adapter.opened_dms == ["U1"]
    assert store.outbox.counts()["sent"] == 1


async def test_rows_for_platforms_without_an_adapter_stay_pending() -> None:
    store, adapter, clock, delivery = setup()
    enqueue(store, "digest:slack:C1:2026-03-02", "digest", "slack", "C1", digest_reply(1), T0)
    assert await delivery.deliver() == 0
    assert store.outbox.get("digest:slack:C1:2026-03-02").state == "pending"
    slack = InMemoryAdapter(platform="slack")
    delivery.adapters["slack"] = slack
    assert await delivery.deliver() == 1
    assert len(slack.sent) == 2


# --- crash windows -----------------------------------------------------------------------------


class SimulatedCrash(BaseException):
    """The process dies here (BaseException: nothing in the delivery code may catch it)."""


class CrashAfterSend(InMemoryAdapter):
    """The platform accepts part number `crash_at`, then the process dies before recording it."""

    def __init__(self, crash_at: int) -> None:
        super().__init__()
        self.crash_at = crash_at

    async def send(self, destination: str, part: Part) -> str:
        message_id = await super().send(destination, part)
        if len(self.sent) == self.crash_at + 1:
            self.crash_at = -1  # the restarted process does not crash again
            raise SimulatedCrash()
        return message_id


async def test_crash_between_send_and_record_repeats_exactly_one_part(tmp_path: Path) -> None:
    store, _, clock, _ = setup(tmp_path)
    adapter = CrashAfterSend(crash_at=3)
    enqueue(store, "digest:memory:C1:2026-03-02", "digest", "memory", "C1", digest_reply(60), T0)
    with pytest.raises(SimulatedCrash):
        await Delivery(store, {"memory": adapter}, clock).deliver()
    store.close()

    restarted = Store.open(str(tmp_path / "p.db"))
    row = restarted.outbox.get("digest:memory:C1:2026-03-02")
    assert (row.state, row.parts_sent) == ("sending", 3)  # parts 0-2 recorded, part 3 not
    await Delivery(restarted, {"memory": adapter}, clock).deliver()
    assert len(adapter.sent) == 8  # 7 parts + exactly one duplicate
    texts = adapter.texts()
    assert texts[3] == texts[4]  # the part in flight at the crash, twice
    assert sum(1 for t in texts if t == texts[3]) == 2
    assert all(n >= 1 for n in titles_arrived(adapter, "Title", 60))
    assert restarted.outbox.get("digest:memory:C1:2026-03-02").state == "sent"


async def test_crash_after_recording_repeats_nothing(tmp_path: Path) -> None:
    store, adapter, clock, _ = setup(tmp_path)
    enqueue(store, "digest:memory:C1:2026-03-02", "digest", "memory", "C1", digest_reply(60), T0)
    original = store.outbox.record_part

    def record_then_crash(row_id: int, index: int, message_id: str, now: datetime, **claim: str | None) -> bool:
        recorded = original(row_id, index, message_id, now, **claim)
        if index == 3:
            raise SimulatedCrash()
        return recorded

    store.outbox.record_part = record_then_crash  # type: ignore[method-assign]
    with pytest.raises(SimulatedCrash):
        await Delivery(store, {"memory": adapter}, clock).deliver()
    store.close()

    restarted = Store.open(str(tmp_path / "p.db"))
    assert restarted.outbox.get("digest:memory:C1:2026-03-02").parts_sent == 4
    await Delivery(restarted, {"memory": adapter}, clock).deliver()
    assert len(adapter.sent) == 7
    assert titles_arrived(adapter, "Title", 60) == [1] * 60


async def test_cancelled_delivery_resumes_in_the_same_process() -> None:
    store, adapter, clock, delivery = setup()
    enqueue(store, "digest:memory:C1:2026-03-02", "digest", "memory", "C1", digest_reply(30), T0)
    original = store.outbox.record_part

    def record_then_cancel(row_id: int, index: int, message_id: str, now: datetime, **claim: str | None) -> bool:
        recorded = original(row_id, index, message_id, now, **claim)
        if index == 1:
            raise __import__("asyncio").CancelledError()
        return recorded

    store.outbox.record_part = record_then_cancel  # type: ignore[method-assign]
    with pytest.raises(BaseException):  # noqa: B017 - CancelledError escapes as it would at shutdown
        await delivery.deliver()
    store.outbox.record_part = original  # type: ignore[method-assign]
    await delivery.deliver()
    assert titles_arrived(adapter, "Title", 30) == [1] * 30


# --- rate limits and failures ---------------------------------------------------------------


async def test_429_waits_for_retry_after_without_counting_an_attempt_then_succeeds() -> None:
    store, adapter, clock, delivery = setup()
    enqueue(store, "digest:memory:C1:2026-03-02", "digest", "memory", "C1", digest_reply(25), T0)
    adapter.fail_next(RetryAfter(30))
    assert await delivery.deliver() == 0
    row = store.outbox.get("digest:memory:C1:2026-03-02")
    assert (row.state, row.attempts, row.next_attempt_at) == ("pending", 0, T0 + timedelta(seconds=30))
    clock.advance(seconds=10)
    assert await delivery.deliver(clock()) == 0  # not yet
    clock.advance(seconds=21)
    assert await delivery.deliver(clock()) == 1
    assert titles_arrived(adapter, "Title", 25) == [1] * 25


async def test_429_in_the_middle_resumes_at_the_next_part() -> None:
    store, adapter, clock, delivery = setup()
    enqueue(store, "digest:memory:C1:2026-03-02", "digest", "memory", "C1", digest_reply(40), T0)

    class Throttled(InMemoryAdapter):
        async def send(self, destination: str, part: Part) -> str:
            if len(self.sent) == 2 and not getattr(self, "done", False):
                self.done = True
                raise RetryAfter(5)
            return await super().send(destination, part)

    throttled = Throttled()
    delivery.adapters["memory"] = throttled
    await delivery.deliver()
    assert len(throttled.sent) == 2
    clock.advance(seconds=6)
    await delivery.deliver(clock())
    assert titles_arrived(throttled, "Title", 40) == [1] * 40
    assert len(throttled.sent) == 5


async def test_429_holds_back_the_platforms_other_rows_in_that_pass() -> None:
    store, adapter, clock, delivery = setup()
    enqueue(store, "a", "digest", "memory", "C1", digest_reply(1), T0)
    enqueue(store, "b", "digest", "memory", "C2", digest_reply(1), T0)
    adapter.fail_next(RetryAfter(3))
    await delivery.deliver()
    assert adapter.sent == []
    assert store.outbox.get("b").state == "pending"


async def test_transient_errors_back_off_exponentially_then_fail_and_notify() -> None:
    store, adapter, clock, _ = setup()
    delivery = Delivery(store, {"memory": adapter}, clock, max_attempts=4, base_backoff=30)
    store.channels.save(ChannelSettings(platform="memory", channel_id="C1", created_by="U-owner"), T0)
    enqueue(store, "digest:memory:C1:2026-03-02", "digest", "memory", "C1", digest_reply(3), T0)
    adapter.fail_next(TransientDeliveryError("HTTP 503"), times=10)
    waits = []
    for _ in range(4):
        await delivery.deliver(clock())
        row = store.outbox.get("digest:memory:C1:2026-03-02")
        if row.state == "failed":
            break
        waits.append((row.next_attempt_at - clock()).total_seconds())
        clock.now = row.next_attempt_at
    assert waits == [30, 60, 120]
    row = store.outbox.get("digest:memory:C1:2026-03-02")
    assert (row.state, row.attempts) == ("failed", 4)
    assert "503" in row.last_error
    notices = store.notices.pop("memory", "U-owner", T0)
    assert len(notices) == 1 and "could not be delivered after 4 attempts" in notices[0]
    assert store.channels.get("memory:C1").paused_reason == ""  # transient: not paused


def test_backoff_is_capped() -> None:
    assert backoff(1) == timedelta(seconds=30)
    assert backoff(3) == timedelta(seconds=120)
    assert backoff(30) == timedelta(hours=1)


async def test_transient_error_then_success_delivers_once() -> None:
    store, adapter, clock, delivery = setup()
    enqueue(store, "k", "digest", "memory", "C1", digest_reply(12), T0)
    adapter.fail_next(TransientDeliveryError("HTTP 500"))
    await delivery.deliver()
    row = store.outbox.get("k")
    assert (row.state, row.attempts) == ("pending", 1)
    clock.now = row.next_attempt_at
    await delivery.deliver(clock())
    assert titles_arrived(adapter, "Title", 12) == [1] * 12


async def test_unexpected_exception_is_treated_as_transient() -> None:
    store, adapter, clock, delivery = setup()
    enqueue(store, "k", "digest", "memory", "C1", digest_reply(1), T0)
    adapter.fail_next(ValueError("adapter bug"))  # type: ignore[arg-type]
    await delivery.deliver()
    row = store.outbox.get("k")
    assert (row.state, row.attempts) == ("pending", 1) and "adapter bug" in row.last_error


async def test_permanent_channel_failure_pauses_the_digest_and_tells_the_owner() -> None:
    store, adapter, clock, delivery = setup()
    store.channels.save(ChannelSettings(platform="memory", channel_id="C1", created_by="U-owner"), T0)
    enqueue(store, "digest:memory:C1:2026-03-02", "digest", "memory", "C1", digest_reply(3), T0)
    adapter.fail_next(PermanentDeliveryError("channel_not_found"))
    await delivery.deliver()
    row = store.outbox.get("digest:memory:C1:2026-03-02")
    assert (row.state, row.last_error) == ("failed", "permanent: channel_not_found")
    settings = store.channels.get("memory:C1")
    assert settings.paused_reason == "the channel no longer exists"
    assert store.channels.active() == []
    # Told by DM (best effort; the notice row is enqueued and sent in the same pass) ...
    assert [user for user, _ in adapter.dms] == ["U-owner"]
    assert "paused" in adapter.dms[0][1]["text"]
    # ... and with the answer to their next command.
    notices = store.notices.pop("memory", "U-owner", T0)
    assert len(notices) == 1 and "digest for channel C1 is paused" in notices[0]


async def test_failed_notice_dm_does_not_cascade() -> None:
    store, adapter, clock, delivery = setup()
    store.channels.save(ChannelSettings(platform="memory", channel_id="C1", created_by="U-owner"), T0)
    enqueue(store, "digest:memory:C1:2026-03-02", "digest", "memory", "C1", digest_reply(1), T0)
    adapter.fail_next(PermanentDeliveryError("not_in_channel"))  # the digest
    adapter.fail_next(PermanentDeliveryError("dm_blocked"))  # the DM telling the owner
    await delivery.deliver()
    await delivery.deliver()
    assert store.outbox.counts() == {"pending": 0, "sending": 0, "sent": 0, "failed": 2}
    assert store.subscriptions.count() == 0


async def test_permanent_dm_failure_pauses_the_users_subscriptions() -> None:
    store, adapter, clock, delivery = setup()
    store.subscriptions.add("memory", "U1", "diffusion", (), T0)
    store.subscriptions.add("memory", "U1", "", ("rl",), T0)
    enqueue(store, "alert:memory:U1:x", "alert", "memory", "U1", digest_reply(2), T0)
    adapter.fail_next(PermanentDeliveryError("dm_blocked"))
    await delivery.deliver()
    assert store.outbox.get("alert:memory:U1:x").state == "failed"
    assert store.users.get("memory", "U1").dm_blocked
    subs = store.subscriptions.list_for_user("memory", "U1")
    assert all(s.paused_reason == "you do not accept direct messages from paperbot" for s in subs)
    notices = store.notices.pop("memory", "U1", T0)
    assert len(notices) == 1 and "alerts are paused (2 subscriptions)" in notices[0]


async def test_restart_resumes_pending_and_never_resends_sent(tmp_path: Path) -> None:
    store, adapter, clock, delivery = setup(tmp_path)
    enqueue(store, "one", "digest", "memory", "C1", digest_reply(1, "One"), T0)
    await delivery.deliver()
    enqueue(store, "two", "digest", "memory", "C1", digest_reply(1, "Two"), T0)
    store.close()
    restarted = Store.open(str(tmp_path / "p.db"))
    fresh = InMemoryAdapter()
    await Delivery(restarted, {"memory": fresh}, clock).deliver()
    assert "\n".join(fresh.texts()).count("Two 000 end") == 1
    assert "One 000 end" not in "\n".join(fresh.texts())


async def test_parts_are_rendered_once_and_reused_on_resume() -> None:
    store, adapter, clock, delivery = setup()
    enqueue(store, "k", "digest", "memory", "C1", digest_reply(30), T0)
    adapter.fail_next(TransientDeliveryError("boom"))
    await delivery.deliver()
    stored = store.outbox.get("k").parts
    assert stored is not None and len(stored) == 4
    # A different split (e.g. an upgraded adapter) must not change a half-sent row.
    delivery.adapters["memory"] = small = InMemoryAdapter(max_items_per_part=3)
    clock.advance(minutes=5)
    await delivery.deliver(clock())
    assert len(small.sent) == 4


def test_quiet_hours_time_type_round_trips() -> None:
    # time values (e.g. in future reply fields) encode as ISO text
    from bot.delivery.outbox import _decode, _encode

    assert _decode(time, _encode(time(7, 30))) == time(7, 30)


async def test_owner_sees_the_pause_notice_with_their_next_command() -> None:
    from bot.alerts.alerts import SubscriptionCommands
    from bot.chat.service import BotService
    from bot.core.models import Actor, Place
    from bot.search.engine import SearchEngine
    from tests.support.factories import FakeSummaries, app_settings
    from tests.support.wiring import make_digest_commands

    store, adapter, clock, delivery = setup()
    settings = app_settings()
    service = BotService(
        store=store, summaries=FakeSummaries(store), search=SearchEngine(store), clock=clock,
        digests=make_digest_commands(store=store, settings=settings, clock=clock, summaries=FakeSummaries(store), delivery=delivery),
        subscriptions=SubscriptionCommands(store=store, settings=settings, clock=clock),
        notices=store.notices,
    )
    owner = Actor(platform="memory", user_id="U-owner", can_manage=True)
    place = Place(platform="memory", channel_id="C1")
    reply = await service.handle_command("digest on 09:00 tz:Europe/Berlin", owner, place)
    assert "Daily digest is on" in reply.text and not reply.is_error
    enqueue(store, "digest:memory:C1:2026-03-02", "digest", "memory", "C1", digest_reply(2), T0)
    adapter.fail_next(PermanentDeliveryError("not_in_channel", hint="invite it with /invite @paperbot in that channel"))
    await delivery.deliver()
    # A public answer (shown to the whole channel) never carries the owner's notice.
    public = Reply(text="posted", private=False)
    assert service._with_notices(public, owner) is public
    reply = await service.handle_command("subscriptions", owner, place)
    assert reply.footer.startswith(
        "Note: the paper digest for channel C1 is paused: paperbot is not a member of the channel. "
        "To fix it, invite it with /invite @paperbot in that channel; then run /papers digest on"
    )
    assert "Note:" not in (await service.handle_command("subscriptions", owner, place)).footer
    shown = await service.handle_command("digest show", owner, place)
    assert "paused (paperbot is not a member of the channel)" in shown.text
    member = Actor(platform="memory", user_id="U-member", can_manage=False)
    denied = await service.handle_command("digest on", member, place)
    assert denied.is_error and denied.text == "only members who can manage this channel can change its digest"


async def test_one_pass_delivers_more_rows_than_a_page() -> None:
    store, adapter, clock, _ = setup()
    delivery = Delivery(store, {"memory": adapter}, clock, batch=3)
    for i in range(8):
        enqueue(store, f"k{i}", "digest", "memory", f"C{i}", digest_reply(1), T0)
    assert await delivery.deliver() == 8
    assert store.outbox.counts()["sent"] == 8


async def test_a_row_written_before_the_restructuring_still_decodes_and_sends() -> None:
    """tests/data/outbox_row_before_restructure.json was written by the previous version's
    `enqueue` (commit bf25123): its payload must decode to the same reply and be delivered."""
    import json

    from adapters.slack.render import render as slack_render

    row = json.loads((Path(__file__).parents[2] / "data" / "outbox_row_before_restructure.json").read_text())
    reply = reply_from_json(row["payload"])
    assert reply.header.startswith("Mon 23 Nov 2026") and reply.footer.startswith("arXiv listing unavailable")
    (item,) = reply.items
    assert item.paper.title == "A <b>hostile</b> @everyone title" and item.summary is not None
    assert item.summary.key_points == ("one", "two") and item.why == "topic: Large Language Models"
    assert reply_to_json(reply_from_json(reply_to_json(reply))) == reply_to_json(reply)
    store, adapter, clock, _ = setup()
    adapter.platform = "slack"
    store.outbox.enqueue(row["key"], row["kind"], row["platform"], row["destination"], row["payload"], clock())
    delivery = Delivery(store, {"slack": adapter}, clock)
    assert await delivery.deliver(clock()) == 1
    (sent,) = store.outbox.rows()
    assert sent.state == "sent" and sent.parts_sent >= 1
    text = "\n".join(adapter.texts())
    assert "hostile" in text and "TL;DR text" in text
    assert slack_render(reply)  # the Slack renderer still accepts it


# --- sharded platforms ----------------------------------------------------------------------------


class ShardedAdapter(InMemoryAdapter):
    """An in-memory platform whose process holds only some workspaces (like Discord shards)."""

    def __init__(self, held: set[str]) -> None:
        super().__init__()
        self.held = held

    def holds_workspace(self, workspace_id: str) -> bool:
        return workspace_id in self.held


async def test_a_digest_for_a_workspace_on_another_shard_is_left_for_its_replica() -> None:
    store, clock = new_store(), FakeClock(T0)
    here, there = ShardedAdapter({"G-here"}), ShardedAdapter({"G-there"})
    for channel, guild in (("C-here", "G-here"), ("C-there", "G-there")):
        store.channels.save(ChannelSettings(platform="memory", channel_id=channel, workspace_id=guild), T0)
        enqueue(store, f"digest:{channel}", OutboxKind.DIGEST, "memory", channel, digest_reply(1), T0)
    enqueue(store, "alert:U1", OutboxKind.ALERT, "memory", "U1", digest_reply(1, "Alert"), T0)  # a DM
    first = Delivery(store, {"memory": here}, clock)
    assert await first.deliver() == 2  # its own guild's digest and the DM
    assert {dest for dest, _ in here.sent} == {"C-here", "D-U1"}
    row = store.outbox.get("digest:C-there")
    assert row is not None and row.state == "pending" and row.attempts == 0  # untouched
    second = Delivery(store, {"memory": there}, clock)
    assert await second.deliver() == 1
    assert {dest for dest, _ in there.sent} == {"C-there"}
