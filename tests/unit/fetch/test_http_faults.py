"""The HTTP layer under faults: a long Retry-After is handed back instead of waited for, a
request's total time is bounded, hosts without a minimum interval are not serialized, and
errors never show URL credentials."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bot.core.errors import FetchError, SourceRateLimited
from bot.fetch.http import HttpClient
from tests.support.feeds import fake_feeds
from tests.unit.fetch.test_http import FakeTime


def client(session: aiohttp.ClientSession, clock: FakeTime, **options: object) -> HttpClient:
    settings: dict[str, object] = dict(user_agent="paperbot-test/1", sleep=clock.sleep, monotonic=clock.monotonic)
    settings.update(options)
    return HttpClient(session, **settings)  # type: ignore[arg-type]


async def test_a_retry_after_beyond_the_cap_is_handed_to_the_caller(session: aiohttp.ClientSession) -> None:
    async with fake_feeds() as feeds:
        feeds.limited("/busy.xml", retry_after=120)
        clock = FakeTime()
        with pytest.raises(SourceRateLimited) as info:
            await client(session, clock, max_retry_after=30).get(feeds.url("/busy.xml"), source="feed:busy")
        assert info.value.retry_after == 120 and info.value.status == 429
        assert feeds.hits("/busy.xml") == 1 and clock.sleeps == []  # asked once, nothing held


async def test_a_retry_after_the_deadline_cannot_fit_is_handed_back_too(session: aiohttp.ClientSession) -> None:
    async with fake_feeds() as feeds:
        feeds.limited("/busy.xml", retry_after=20, status=503)
        clock = FakeTime()
        with pytest.raises(SourceRateLimited) as info:
            await client(session, clock, max_retry_after=30, deadline=10).get(feeds.url("/busy.xml"))
        assert info.value.retry_after == 20 and clock.sleeps == []


async def test_a_short_retry_after_is_waited_for_until_retries_run_out(session: aiohttp.ClientSession) -> None:
    async with fake_feeds() as feeds:
        feeds.limited("/busy.xml", retry_after=2)
        clock = FakeTime()
        with pytest.raises(SourceRateLimited) as info:
            await client(session, clock, retries=2).get(feeds.url("/busy.xml"))
        assert clock.sleeps == [2.0, 2.0] and feeds.hits("/busy.xml") == 3
        assert info.value.retry_after == 2  # the source's next fetch honours it


async def test_a_request_that_never_completes_fails_at_the_deadline(session: aiohttp.ClientSession) -> None:
    async with fake_feeds() as feeds:
        feeds.hanging("/slow.xml")
        http = HttpClient(session, user_agent="t", timeout=30.0, deadline=0.3)
        with pytest.raises(FetchError, match=r"no complete answer within 0\.3 s, retries included"):
            await http.get(feeds.url("/slow.xml"), source="feed:slow")


async def test_feeds_on_one_host_do_not_queue_behind_a_hanging_one(session: aiohttp.ClientSession) -> None:
    async with fake_feeds() as feeds:
        feeds.hanging("/slow.xml")
        feeds.healthy("/lab.xml")
        http = HttpClient(session, user_agent="t", timeout=30.0, deadline=60.0)
        hanging = asyncio.create_task(http.get(feeds.url("/slow.xml")))
        await feeds.wait_for(lambda: feeds.still_open("/slow.xml"), timeout=10)
        for _ in range(3):
            response = await asyncio.wait_for(http.get(feeds.url("/lab.xml"), conditional=False), 10)
            assert response.status == 200
        assert feeds.still_open("/slow.xml")
        hanging.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hanging


async def test_a_host_with_a_minimum_interval_still_gets_one_request_at_a_time(session: aiohttp.ClientSession) -> None:
    """arXiv's rule: one connection at a time, 3 s apart (here the fake host stands for arXiv)."""
    async with fake_feeds() as feeds:
        feeds.hanging("/slow.xml")
        feeds.healthy("/lab.xml")
        http = HttpClient(session, user_agent="t", host_min_interval={"127.0.0.1": 3.0}, deadline=60.0)
        hanging = asyncio.create_task(http.get(feeds.url("/slow.xml")))
        await feeds.wait_for(lambda: feeds.still_open("/slow.xml"), timeout=10)
        queued = asyncio.create_task(http.get(feeds.url("/lab.xml"), conditional=False))
        await asyncio.sleep(0.3)
        assert feeds.hits("/lab.xml") == 0  # waits for the host's turn
        hanging.cancel()
        queued.cancel()
        await asyncio.gather(hanging, queued, return_exceptions=True)


async def test_errors_show_feed_urls_without_credentials(session: aiohttp.ClientSession) -> None:
    async with fake_feeds() as feeds:
        feeds.limited("/busy.xml", retry_after=120)
        secret_url = feeds.url("/busy.xml").replace("http://", "http://reader:hunter2@") + "?token=T0K3N&x=1"
        with pytest.raises(SourceRateLimited) as info:
            await client(session, FakeTime()).get(secret_url)
        message = str(info.value)
        assert "hunter2" not in message and "T0K3N" not in message and "reader" not in message
        assert "/busy.xml?token=***&x=1" in message
        dead = "http://reader:hunter2@127.0.0.1:9/feed?apikey=K3Y"
        with pytest.raises(FetchError) as refused:
            await HttpClient(session, user_agent="t", retries=0).get(dead)
        assert "hunter2" not in str(refused.value) and "K3Y" not in str(refused.value)
