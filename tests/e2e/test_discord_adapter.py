"""End to end: the Discord adapter against a fake Discord (REST + gateway) on 127.0.0.1.

The adapter is built the way `paperbot run` builds it (`DiscordAdapter(settings)` with
DISCORD_* settings pointing at the fakes, then `start(service)`), driven by real-shaped gateway
payloads, and everything it sends is checked as the fake received it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import discord
import discord.http
import pytest

import bot.chat.grammar as cmd
from adapters.discord import DiscordAdapter
from adapters.discord.render import SHARE_ID
from bot.core.clock import FakeClock
from bot.core.errors import ConfigError, PermanentDeliveryError, RetryAfter, TransientDeliveryError
from bot.core.metrics import Metrics
from bot.core.models import ItemGroup, Reply, SourceKind
from bot.delivery.outbox import Delivery, enqueue
from bot.ports import post, send_dm
from bot.store import Store
from tests.support.discord_api import (
    CHANNEL_ID,
    EPHEMERAL,
    GUILD_ID,
    MANAGER_PERMISSIONS,
    TOKEN,
    USER_ID,
    FakeDiscord,
    assert_discord_limits,
    fast_discord_retries,
)
from tests.support.discord_harness import answers, settings_for, started_adapter
from tests.support.discord_service import HOSTILE_TITLE, NOW, FakeService, make_item

PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content


def _option(options: list[dict[str, Any]], *path: str) -> dict[str, Any]:
    found: dict[str, Any] = {"options": options}
    for name in path:
        found = next(o for o in found["options"] if o["name"] == name)
    return found


# --- connecting ----------------------------------------------------------------------------------


async def test_login_identify_heartbeat_and_guild_sync(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    assert adapter.connected
    login = [r for r in fake.requests if r.path == "/users/@me"]
    assert login and login[0].headers["Authorization"] == f"Bot {TOKEN}"
    # The gateway was asked for the compression this discord.py speaks, and IDENTIFY used the
    # default intents: nothing privileged.
    from discord.utils import _ActiveDecompressionContext

    assert fake.gateway_queries[0] == {"v": "10", "encoding": "json", "compress": _ActiveDecompressionContext.COMPRESSION_TYPE}
    intents = fake.identifies[0]["intents"]
    assert intents == discord.Intents.default().value
    assert intents & PRIVILEGED_INTENTS == 0
    assert fake.identifies[0]["token"] == TOKEN
    await fake.wait_for(lambda: fake.heartbeats >= 1, what="a heartbeat")

    # Synced to the configured guild only (instant updates), with the full option tree.
    assert list(fake.synced) == [GUILD_ID]
    (papers,) = fake.synced[GUILD_ID]
    assert papers["name"] == "papers"
    subcommands = {o["name"]: o for o in papers["options"]}
    assert set(subcommands) == {
        "search", "paper", "subscribe", "unsubscribe", "subscriptions", "quiet", "alerts", "digest", "topics", "help",
        "email", "foryou", "like", "dislike", "save", "unlike", "unsave", "saved", "similar", "seed", "forget",
    }
    threshold = _option(subcommands["alerts"]["options"], "threshold")
    assert threshold["required"] is False and (threshold["min_value"], threshold["max_value"]) == (0, 1)
    assert {o["name"] for o in subcommands["digest"]["options"]} == {"on", "off", "show", "now", "me"}
    assert _option(subcommands["like"]["options"], "paper")["required"] is True
    search = subcommands["search"]["options"]
    assert not any(o.get("required") for o in search)  # a topic alone is a valid search
    assert _option(subcommands["paper"]["options"], "id")["required"] is True
    assert _option(search, "topic")["autocomplete"] is True
    assert [c["value"] for c in _option(search, "source")["choices"]] == ["arxiv", "hf", "reddit", "feed"]
    assert [c["value"] for c in _option(search, "sort")["choices"]] == ["relevance", "new", "top"]
    limit = _option(search, "limit")
    assert (limit["type"], limit["min_value"], limit["max_value"]) == (4, 1, 10)
    assert _option(subcommands["unsubscribe"]["options"], "which")["autocomplete"] is True
    assert _option(subcommands["subscribe"]["options"], "topics")["autocomplete"] is True
    digest = subcommands["digest"]
    assert digest["type"] == 2
    assert {o["name"] for o in digest["options"]} == {"on", "off", "show", "now", "me"}
    digest_on = _option(digest["options"], "on")["options"]
    assert {o["name"] for o in digest_on} == {"time", "tz", "topics", "max", "sources", "days", "threshold"}
    assert (_option(digest_on, "threshold")["min_value"], _option(digest_on, "threshold")["max_value"]) == (0, 1)
    assert _option(digest_on, "tz")["autocomplete"] is True
    assert _option(digest_on, "topics")["autocomplete"] is True
    assert (_option(digest_on, "max")["min_value"], _option(digest_on, "max")["max_value"]) == (1, 50)


async def test_commands_sync_globally_without_guild_ids(fake: FakeDiscord, service: FakeService) -> None:
    async with started_adapter(fake, service, guilds=False):
        assert list(fake.synced) == ["global"]
        payload = await fake.interact(fake.slash(["help"]))
        await fake.wait_for(lambda: fake.callbacks_for(payload), what="the help answer")
    (answer,) = fake.callbacks_for(payload)
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    assert "paperbot commands" in answer["data"]["content"]
    # Discord's own option syntax, not the typed grammar of Slack and the console.
    # The help is longer than one message's content: the rest is in embeds of the same answer.
    shown = answer["data"]["content"] + "\n".join(e.get("description", "") for e in answer["data"].get("embeds", []))
    assert "/papers search query:" in shown and "time:09:00" in shown


async def test_a_rejected_token_is_a_clear_error(fake: FakeDiscord, service: FakeService) -> None:
    fake.fail_next("GET", "/users/@me", 401, message="401: Unauthorized")
    bot = DiscordAdapter(settings_for(fake), ready_timeout=20)
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        await bot.start(service)
    assert not bot.connected


async def test_missing_guild_access_at_sync_is_a_clear_error(fake: FakeDiscord, service: FakeService) -> None:
    fake.fail_next("PUT", r"/applications/\d+/guilds/\d+/commands", 403, code=50001, message="Missing Access")
    with pytest.raises(ConfigError, match="DISCORD_GUILD_IDS"):
        await DiscordAdapter(settings_for(fake), ready_timeout=20).start(service)


# --- slash commands -------------------------------------------------------------------------------


async def test_search_defers_then_answers_privately_with_followups(
    fake: FakeDiscord, adapter: DiscordAdapter, service: FakeService
) -> None:
    payload = await fake.interact(
        fake.slash(["search"], {"query": "diffusion", "source": "hf", "topic": "cv", "sort": "new", "limit": 3, "since": "7d"})
    )
    followups = await answers(fake, payload, 1)
    assert fake.callbacks_for(payload) == [{"type": 5, "data": {"flags": EPHEMERAL}}]  # deferred, thinking, private
    command, who, where = service.calls[0]
    assert command == cmd.SearchCommand(
        query="diffusion", since="7d", source=SourceKind.HF, topic="cv", sort="new", limit=3
    )
    assert (who.platform, who.user_id, who.can_manage) == ("discord", USER_ID, False)
    assert (where.channel_id, where.workspace_id, where.is_dm) == (CHANNEL_ID, GUILD_ID, False)
    embeds = [e for f in followups for e in f.get("embeds", [])]
    assert len(embeds) == 3
    for followup in followups:
        assert_discord_limits(followup)
        assert followup["flags"] & EPHEMERAL
    first = embeds[0]
    assert first["url"] == "https://arxiv.org/abs/2511.10001"
    assert {f["name"] for f in first["fields"]} == {"Source", "Age", "Tags"}
    buttons = [b for f in followups for row in f["components"] for b in row["components"]]
    assert {b["custom_id"] for b in buttons} >= {"paperbot:details:2511.10001", SHARE_ID}


async def test_bad_option_values_get_a_private_error_without_reaching_the_core(
    fake: FakeDiscord, adapter: DiscordAdapter, service: FakeService
) -> None:
    payload = await fake.interact(fake.slash(["digest", "on"], {"tz": "Mars/Olympus", "time": "25:00"}))
    await fake.wait_for(lambda: fake.callbacks_for(payload), what="the error answer")
    (answer,) = fake.callbacks_for(payload)
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    assert "25:00" in answer["data"]["content"] and "time of day" in answer["data"]["content"]
    assert answer["data"]["allowed_mentions"] == {"parse": []}
    assert service.calls == []


async def test_digest_settings_need_manage_channels(fake: FakeDiscord, adapter: DiscordAdapter, service: FakeService) -> None:
    member = await fake.interact(fake.slash(["digest", "on"], {"time": "09:00", "tz": "Europe/Berlin", "topics": "llm,cv"}))
    (denied,) = await answers(fake, member, 1)
    assert service.calls[0][1].can_manage is False
    assert denied["flags"] & EPHEMERAL and "Manage Channels" in denied["content"]

    manager = await fake.interact(
        fake.slash(["digest", "on"], {"time": "09:00", "tz": "Europe/Berlin", "topics": "llm,cv", "max": 5}, permissions=MANAGER_PERMISSIONS)
    )
    note, public = await answers(fake, manager, 2)
    command, who, _ = service.calls[1]
    assert isinstance(command, cmd.DigestOnCommand)
    assert who.can_manage is True
    assert command.at is not None and command.at.hour == 9
    assert (command.timezone, command.topics, command.max_items) == ("Europe/Berlin", ("llm", "cv"), 5)
    # A public reply: the private "thinking" message gets a short note, the reply goes public.
    assert note["flags"] & EPHEMERAL
    assert not public.get("flags", 0) & EPHEMERAL and "Daily digest on" in public["content"]

    in_dm = await fake.interact(fake.slash(["digest", "show"], dm=True))
    await answers(fake, in_dm, 1)
    _, who, where = service.calls[2]
    assert who.can_manage is True and where.is_dm and where.workspace_id == ""


async def test_autocomplete_answers_with_choices(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    topic = await fake.interact(fake.autocomplete(["search"], {"query": "x", "topic": "comp"}, focused="topic"))
    await fake.wait_for(lambda: fake.callbacks_for(topic), what="topic choices")
    (answer,) = fake.callbacks_for(topic)
    assert answer["type"] == 8
    assert {"name": "Computer Vision (cv)", "value": "cv"} in answer["data"]["choices"]

    listed = await fake.interact(fake.autocomplete(["digest", "on"], {"topics": "llm,comp"}, focused="topics"))
    await fake.wait_for(lambda: fake.callbacks_for(listed), what="comma-list choices")
    (answer,) = fake.callbacks_for(listed)
    assert "llm,cv" in [c["value"] for c in answer["data"]["choices"]]

    subs = await fake.interact(fake.autocomplete(["unsubscribe"], {"which": ""}, focused="which"))
    await fake.wait_for(lambda: fake.callbacks_for(subs), what="subscription choices")
    (answer,) = fake.callbacks_for(subs)
    assert [c["value"] for c in answer["data"]["choices"]] == ["1", "2", "all"]

    zone = await fake.interact(fake.autocomplete(["digest", "on"], {"tz": "berl"}, focused="tz"))
    await fake.wait_for(lambda: fake.callbacks_for(zone), what="time zone choices")
    assert {"name": "Europe/Berlin", "value": "Europe/Berlin"} in fake.callbacks_for(zone)[0]["data"]["choices"]


async def test_details_and_share_buttons(fake: FakeDiscord, adapter: DiscordAdapter, service: FakeService) -> None:
    search = await fake.interact(fake.slash(["search"], {"query": "diffusion"}))
    (result,) = await answers(fake, search, 1)
    stored = fake.message_payload(CHANNEL_ID, result, webhook=True)  # the message as Discord keeps it

    details = await fake.interact(fake.button("paperbot:details:2511.10002", stored))
    (full,) = await answers(fake, details, 1)
    assert fake.callbacks_for(details) == [{"type": 5, "data": {"flags": EPHEMERAL}}]
    assert service.calls[-1][0] == cmd.PaperCommand(paper_id="2511.10002")
    assert_discord_limits(full)
    assert full["flags"] & EPHEMERAL
    fields = {f["name"] for e in full["embeds"] for f in e.get("fields", [])}
    assert {"Summary", "Methodology", "Results", "Implications", "Authors"} <= fields

    share = await fake.interact(fake.button(SHARE_ID, stored))
    await fake.wait_for(lambda: fake.callbacks_for(share), what="the shared message")
    (shared,) = fake.callbacks_for(share)
    assert shared["type"] == 4
    data = shared["data"]
    assert not data.get("flags", 0) & EPHEMERAL  # public in the channel
    assert data["content"].startswith(f"Shared by <@{USER_ID}>")
    assert [e["title"] for e in data["embeds"]] == [e["title"] for e in result["embeds"]]
    ids = [b["custom_id"] for row in data["components"] for b in row["components"]]
    assert SHARE_ID not in ids and "paperbot:details:2511.10001" in ids
    assert_discord_limits(data)


async def test_a_paper_looked_up_on_arxiv_shows_the_interim_then_the_answer_in_its_place(
    fake: FakeDiscord, adapter: DiscordAdapter, service: FakeService
) -> None:
    details = await fake.interact(fake.button("paperbot:details:2512.00001", {"id": "1", "channel_id": CHANNEL_ID, "flags": EPHEMERAL}))
    interim, final = await answers(fake, details, 2)
    assert fake.callbacks_for(details) == [{"type": 5, "data": {"flags": EPHEMERAL}}]  # deferred first
    # Both edit the original response: the interim replaces "thinking...", the answer the interim.
    assert interim["edit"] is True and interim["content"] == "Looking up 2512.00001 on arXiv…"
    assert final["edit"] is True and final["content"] is None and final["embeds"]
    fields = {f["name"] for e in final["embeds"] for f in e.get("fields", [])}
    assert "Summary" in fields
    assert_discord_limits({k: v for k, v in final.items() if k != "edit"})


async def test_hostile_titles_arrive_inert(fake: FakeDiscord, adapter: DiscordAdapter, service: FakeService) -> None:
    service.hostile = True
    payload = await fake.interact(fake.slash(["search"], {"query": "@everyone"}))
    followups = await answers(fake, payload, 1)
    reply = Reply(text=HOSTILE_TITLE, groups=(ItemGroup(title=HOSTILE_TITLE, items=(make_item(1, title=HOSTILE_TITLE),)),))
    await post(adapter, CHANNEL_ID, reply)
    sent = [body for _, body in fake.messages] + followups
    for body in sent:
        assert_discord_limits(body)  # includes allowed_mentions == {"parse": []}
        texts = [body.get("content") or ""]
        for embed in body.get("embeds", []):
            texts += [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", "")]
            texts += [f["value"] for f in embed.get("fields", [])]
        joined = "\n".join(texts)
        for live in ("@everyone", "@here", "<@123>", "<#456>", "**x**"):
            assert live not in joined, f"{live!r} arrived live in {joined!r}"
        # A masked link only renders when its bracket is not escaped.
        assert not re.search(r"(?<!\\)\[click\]\(", joined)
    assert any("everyone" in (e.get("title") or "") for body in sent for e in body.get("embeds", []))


# --- delivery (the core outbox) ---------------------------------------------------------------------


@pytest.fixture
def store() -> Iterator[Store]:
    """An in-memory store for the outbox."""
    opened = Store.open(":memory:")
    yield opened
    opened.close()


async def test_a_60_item_digest_arrives_whole_through_the_outbox(
    fake: FakeDiscord, adapter: DiscordAdapter, store: Store
) -> None:
    items = tuple(make_item(i, long=i % 7 == 0) for i in range(1, 61))
    groups = tuple(ItemGroup(title=f"Topic {g}", items=items[g * 12 : (g + 1) * 12]) for g in range(5))
    digest = Reply(header="Papers for Monday 23 November", groups=groups, private=False, footer="5 sources checked")
    delivery = Delivery(store, {"discord": adapter}, FakeClock(NOW))
    assert enqueue(store, f"digest:discord:{CHANNEL_ID}:2026-11-23", "digest", "discord", CHANNEL_ID, digest, NOW)
    assert await delivery.deliver(NOW) == 1
    bodies = [body for channel, body in fake.messages if channel == CHANNEL_ID]
    assert len(bodies) > 6
    for body in bodies:
        assert_discord_limits(body)
    titles = [e["title"] for body in bodies for e in body["embeds"] if "title" in e]
    assert [t.split(". ", 1)[0] for t in titles] == [str(n) for n in range(1, 61)]
    assert bodies[0]["content"].startswith("**Papers for Monday 23 November**")
    assert "5 sources checked" in bodies[-1]["embeds"][-1]["description"]
    (row,) = store.outbox.rows()
    assert row.state == "sent" and len(row.delivery_ids) == len(bodies)


async def test_dm_alert_opens_a_dm_and_posts(fake: FakeDiscord, adapter: DiscordAdapter, store: Store) -> None:
    alert = Reply(header="2 new papers match “diffusion”", groups=(ItemGroup(title="", items=(make_item(1), make_item(2))),), private=False)
    delivery = Delivery(store, {"discord": adapter}, FakeClock(NOW))
    enqueue(store, f"alert:discord:{USER_ID}:2026-11-23T09", "alert", "discord", USER_ID, alert, NOW)
    assert await delivery.deliver(NOW) == 1
    dm_channel = fake.dm_channels[USER_ID]
    assert [r.body for r in fake.requests if r.path == "/users/@me/channels"] == [{"recipient_id": int(USER_ID)}]
    (body,) = [body for channel, body in fake.messages if channel == dm_channel]
    assert_discord_limits(body)
    assert len(body["embeds"]) == 2


async def test_blocked_dms_are_permanent_and_pause_alerts(fake: FakeDiscord, adapter: DiscordAdapter, store: Store) -> None:
    fake.blocked_dm_users.add(USER_ID)
    with pytest.raises(PermanentDeliveryError) as raised:
        await send_dm(adapter, USER_ID, Reply(text="hello"))
    assert raised.value.reason == "dm_blocked"

    alert = Reply(header="1 new paper", groups=(ItemGroup(title="", items=(make_item(1),)),), private=False)
    enqueue(store, f"alert:discord:{USER_ID}:w1", "alert", "discord", USER_ID, alert, NOW)
    await Delivery(store, {"discord": adapter}, FakeClock(NOW)).deliver(NOW)
    (row,) = store.outbox.rows()
    assert row.state == "failed" and "dm_blocked" in row.last_error
    assert any("DMs" in text or "direct messages" in text for text in store.notices.pop("discord", USER_ID, NOW))


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [(403, 50001, "missing_access"), (403, 50013, "missing_permissions"), (404, 10003, "channel_not_found")],
)
async def test_channel_errors_are_permanent(
    fake: FakeDiscord, adapter: DiscordAdapter, status: int, code: int, reason: str
) -> None:
    fake.fail_next("POST", r"/channels/\d+/messages", status, code=code, message="nope")
    with pytest.raises(PermanentDeliveryError) as raised:
        await post(adapter, CHANNEL_ID, Reply(text="hi"))
    assert raised.value.reason == reason


async def test_429_is_retried_by_discord_py_then_succeeds(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    fake.fail_next("POST", r"/channels/\d+/messages", 429, retry_after=0.05)
    (message_id,) = await post(adapter, CHANNEL_ID, Reply(text="after a rate limit"))
    attempts = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{CHANNEL_ID}/messages"]
    assert len(attempts) == 2 and message_id.isdigit()
    assert [body["content"] for _, body in fake.messages] == ["after a rate limit"]


async def test_a_long_429_or_one_without_via_surfaces_as_retry_after(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    fake.fail_next("POST", r"/channels/\d+/messages", 429, retry_after=120)
    with pytest.raises(RetryAfter) as raised:
        await post(adapter, CHANNEL_ID, Reply(text="x"))
    assert raised.value.retry_after == 120
    fake.fail_next("POST", r"/channels/\d+/messages", 429, retry_after=0.05, via=False)
    with pytest.raises(RetryAfter):
        await post(adapter, CHANNEL_ID, Reply(text="x"))


async def test_a_5xx_is_transient_and_retried_later_by_the_outbox(
    fake: FakeDiscord, adapter: DiscordAdapter, store: Store
) -> None:
    fake.fail_next("POST", r"/channels/\d+/messages", 503, message="Service Unavailable")
    with pytest.raises(TransientDeliveryError):
        await post(adapter, CHANNEL_ID, Reply(text="x"))
    fake.fail_next("POST", r"/channels/\d+/messages", 503, message="Service Unavailable")
    clock = FakeClock(NOW)
    delivery = Delivery(store, {"discord": adapter}, clock)
    enqueue(store, "digest:discord:x:1", "digest", "discord", CHANNEL_ID, Reply(text="later", private=False), NOW)
    assert await delivery.deliver(NOW) == 0
    assert store.outbox.rows()[0].state != "sent"
    assert await delivery.deliver(clock.advance(hours=1)) == 1
    assert fake.messages[-1][1]["content"] == "later"


async def test_send_before_start_is_transient(fake: FakeDiscord) -> None:
    bot = DiscordAdapter(settings_for(fake).model_copy())
    with pytest.raises(TransientDeliveryError):
        await bot.send(CHANNEL_ID, {"content": "x", "embeds": [], "components": []})


async def test_a_500_fails_after_discord_py_retries_as_transient(fake: FakeDiscord, adapter: DiscordAdapter) -> None:
    fake.fail_next("POST", r"/channels/\d+/messages", 500, message="Internal Server Error", times=5)
    with fast_discord_retries(), pytest.raises(TransientDeliveryError):
        await post(adapter, CHANNEL_ID, Reply(text="x"))
    attempts = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{CHANNEL_ID}/messages"]
    assert len(attempts) == 5


async def test_the_fake_answers_json_exactly_as_discord_does(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{fake.api_url}/users/@me") as response:
        assert response.headers["Content-Type"] == "application/json"
    async with aiohttp.ClientSession() as session, session.get(f"{fake.api_url}/nope") as response:
        assert response.status == 404 and response.headers["Content-Type"] == "application/json"


async def test_acknowledgements_are_timed_into_the_metrics(fake: FakeDiscord, service: FakeService) -> None:
    metrics = Metrics()
    async with started_adapter(fake, service, metrics=metrics):
        topics = await fake.interact(fake.slash(["topics"]))  # answered at once
        search = await fake.interact(fake.slash(["search"], {"query": "diffusion"}))  # deferred, then answered
        await fake.wait_for(lambda: fake.callbacks_for(topics) and fake.followups_for(search), what="both answers")
        count = metrics.registry.get_sample_value("paperbot_ack_seconds_count", {"platform": "discord"})
        total = metrics.registry.get_sample_value("paperbot_ack_seconds_sum", {"platform": "discord"})
        assert count == 2 and total is not None and total > 0
