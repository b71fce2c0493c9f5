"""The adapter contract: one suite every chat adapter passes, over the harnesses in
tests/contract/harnesses.py. Messages go through the real outbox (`Delivery`) as in production:
digests of 0, 1 and 60 items arrive whole across split messages; long text is truncated, never
rejected; mentions arrive inert; DMs land; a 429 is retried; a 5xx is a recorded failure that
is retried later, not lost."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.core.clock import FakeClock
from bot.core.models import ItemGroup, PaperItem, Reply, Summary
from bot.delivery.outbox import Delivery, enqueue
from bot.store import Store
from bot.store.outbox import OutboxRow
from tests.contract.harnesses import HARNESSES, Harness
from tests.support.factories import T0, make_paper, new_store

MENTIONS = "@everyone @here <!channel> <!here> <@U123> <@123> <@&456>"


@dataclass
class Rig:
    harness: Harness
    store: Store
    clock: FakeClock
    delivery: Delivery

    def enqueue(self, reply: Reply, key: str = "digest:contract:1", kind: str = "digest", dm: bool = False) -> str:
        destination = self.harness.user_id if dm else self.harness.destination
        assert enqueue(self.store, key, "alert" if dm else kind, self.harness.adapter.platform, destination, reply, self.clock())
        return key

    def row(self, key: str) -> OutboxRow:
        found = self.store.outbox.get(key)
        assert found is not None, key
        return found

    async def deliver_until_done(self, key: str, rounds: int = 6) -> None:
        for _ in range(rounds):
            await self.delivery.deliver(self.clock())
            row = self.row(key)
            if row.state in ("sent", "failed"):
                return
            self.clock.now = max(self.clock(), row.next_attempt_at)


@pytest.fixture(params=sorted(HARNESSES))
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with HARNESSES[request.param]() as harness:
        store = new_store()
        clock = FakeClock(T0)
        yield Rig(harness, store, clock, Delivery(store, {harness.adapter.platform: harness.adapter}, clock))
        store.close()


def marker(i: int) -> str:
    return f"CP{i:03d}X"


def digest(count: int, header: str = "HEADERMARK digest", footer: str = "FOOTERMARK note") -> Reply:
    items = tuple(
        PaperItem(
            paper=make_paper(i + 1, title=f"Contract paper {marker(i)} about graphs"),
            summary=Summary(tldr="A short tl;dr.", key_points=("Point one.", "Point two.")),
            source_line="arXiv cs.LG · 3h ago",
            why="topic: Graph Learning",
        )
        for i in range(count)
    )
    groups = (ItemGroup("Graph Learning", items[: count // 2]), ItemGroup("Theory", items[count // 2 :])) if count else ()
    return Reply(header=header, text="" if count else "No new papers today.", groups=groups, footer=footer, private=False)


@pytest.mark.parametrize("count", [0, 1, 60])
async def test_digest_arrives_whole_across_split_messages(rig: Rig, count: int) -> None:
    key = rig.enqueue(digest(count))
    await rig.deliver_until_done(key)
    row = rig.row(key)
    assert row.state == "sent", row.last_error
    arrived = await rig.harness.delivered()
    assert len(arrived) == row.parts_sent == len(row.delivery_ids) >= 1
    joined = "\n".join(arrived)
    for i in range(count):
        assert joined.count(marker(i)) == 1, marker(i)
    assert joined.count("HEADERMARK") == 1
    assert joined.count("FOOTERMARK") == 1
    if count == 60:
        assert len(arrived) > 1  # no platform takes 60 items in one message


async def test_rendered_parts_are_json_objects_the_outbox_keeps_unchanged(rig: Rig) -> None:
    # bot.ports.Part is Mapping[str, object]: what makes a part JSON is this promise.
    reply = digest(60)
    parts = rig.harness.adapter.render(reply)
    assert parts and all(isinstance(part, dict) for part in parts)
    assert json.loads(json.dumps(list(parts), ensure_ascii=False)) == list(parts)
    key = rig.enqueue(reply)
    await rig.deliver_until_done(key)
    assert rig.row(key).parts == list(parts)  # stored as rendered, sent from what was stored


async def test_long_text_is_truncated_never_rejected(rig: Rig) -> None:
    long_title = "Longtitlestart " + "word " * 1000
    paper = make_paper(1, title=long_title, abstract="abstract " * 700)
    item = PaperItem(
        paper=paper,
        summary=Summary(
            tldr="tldr " * 1000, key_points=tuple("point " * 1000 for _ in range(4)),
            summary="s " * 2500, methodology="m " * 2500, results="r " * 2500, implications="i " * 2500,
            topics=("llm",) * 3,
        ),
        source_line="source " * 200,
        why="why " * 500,
    )
    reply = Reply(
        header="Header " * 100, text="Text " * 1000, groups=(ItemGroup("Group " * 100, (item,)),),
        footer="Footer " * 400, private=False, show_details=True,
    )
    assert len(long_title) >= 5000
    key = rig.enqueue(reply)
    await rig.deliver_until_done(key)
    row = rig.row(key)
    assert row.state == "sent", row.last_error
    assert "Longtitlestart" in "\n".join(await rig.harness.delivered())


async def test_mentions_arrive_inert(rig: Rig) -> None:
    item = PaperItem(
        paper=make_paper(1, title=f"Title {MENTIONS}", abstract=MENTIONS),
        summary=Summary(tldr=f"TLDR {MENTIONS}", key_points=(f"Point {MENTIONS}",), topics=("safety",)),
        source_line=f"r/{MENTIONS}",
        why=f"matches {MENTIONS}",
    )
    reply = Reply(
        header=f"Header {MENTIONS}", text=f"Text {MENTIONS}", groups=(ItemGroup(f"Group {MENTIONS}", (item,)),),
        footer=f"Footer {MENTIONS}", private=False,
    )
    key = rig.enqueue(reply)
    await rig.deliver_until_done(key)
    assert rig.row(key).state == "sent"
    arrived = await rig.harness.delivered()
    assert arrived and any("Title" in text for text in arrived)
    for text in arrived:
        assert rig.harness.mention_is_inert(text), text


async def test_dms_land(rig: Rig) -> None:
    key = rig.enqueue(digest(2, header="DMMARK alert"), key="alert:contract:U:1", dm=True)
    await rig.deliver_until_done(key)
    assert rig.row(key).state == "sent"
    joined = "\n".join(await rig.harness.delivered())
    assert joined.count("DMMARK") == 1 and joined.count(marker(0)) == 1


async def test_429_is_retried_through_delivery(rig: Rig) -> None:
    key = rig.enqueue(digest(3))
    rig.harness.fail_next(429)
    await rig.delivery.deliver(rig.clock())
    row = rig.row(key)
    assert row.state in ("pending", "sent")  # a client that retries 429 itself may have sent it
    assert row.attempts == 0  # a rate limit is not a failed attempt
    await rig.deliver_until_done(key)
    row = rig.row(key)
    assert row.state == "sent"
    joined = "\n".join(await rig.harness.delivered())
    assert [joined.count(marker(i)) for i in range(3)] == [1, 1, 1]


async def test_5xx_is_a_recorded_failure_retried_later_not_lost(rig: Rig) -> None:
    key = rig.enqueue(digest(3))
    rig.harness.fail_next(500)
    await rig.delivery.deliver(rig.clock())
    row = rig.row(key)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error
    assert row.next_attempt_at > rig.clock()
    await rig.deliver_until_done(key)
    assert rig.row(key).state == "sent"
    joined = "\n".join(await rig.harness.delivered())
    assert [joined.count(marker(i)) for i in range(3)] == [1, 1, 1]
