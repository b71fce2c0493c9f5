"""paperbot as a distributed Slack app: installed by two workspaces through the OAuth flow
(bolt's, on paperbot's store) against the fake Slack, each answered with its own token, neither
seeing the other's settings, then uninstalled and reinstalled. The real core runs behind it,
built the way `paperbot run` builds it (bot.app.wiring.build_adapters with the store), in HTTP
mode with signed requests."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.slack import SlackAdapter
from bot.app.runtime import Runtime, build_runtime, fetch_due
from bot.app.samples import SAMPLE_NOW
from bot.app.wiring import build_adapters
from bot.app.workspaces import StoreInstallations
from bot.core.clock import FakeClock
from bot.core.errors import PermanentDeliveryError
from bot.settings import Settings
from tests.e2e.test_slack_adapter import SECRET, Sleeps
from tests.support.slack_api import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeSlack,
    assert_view_limits,
    event_callback,
    fake_slack,
    form_body,
    sign,
    slash_command,
    view_text,
    visible_text,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
STATE_COOKIE = "slack-app-oauth-state"


def distributed_settings(fake: FakeSlack, tmp_path: Path, **overrides: Any) -> Settings:
    """A distributed app's settings as a user would set them, pointing at the fake."""
    values: dict[str, Any] = dict(
        data_dir=str(tmp_path),
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
        slack_authorize_url=fake.authorize_url,
        http_host="127.0.0.1",
        http_port=0,
        summarize_background=False,
    )
    return Settings(**(values | overrides))


@dataclass
class App:
    """The distributed app in front of the real core, and a browser-ish HTTP client."""

    fake: FakeSlack
    runtime: Runtime
    adapter: SlackAdapter
    clock: FakeClock
    http: aiohttp.ClientSession

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.adapter.http_port}"

    async def start_install(self, team: str) -> tuple[str, str]:
        """GET /slack/install: (Slack's approval URL, the state cookie it set)."""
        async with self.http.get(f"{self.base}/slack/install?team={team}", allow_redirects=False) as answer:
            assert answer.status == 302, await answer.text()
            cookie = answer.cookies[STATE_COOKIE].value
            return answer.headers["Location"], cookie

    async def approve(self, authorize_url: str) -> str:
        """Someone approves the app on Slack's page: the redirect back to paperbot."""
        async with self.http.get(authorize_url, allow_redirects=False) as answer:
            assert answer.status == 302, await answer.text()
            return answer.headers["Location"]

    async def finish(self, redirect: str, cookie: str | None) -> tuple[int, str]:
        """GET /slack/oauth_redirect as the installer's browser: (status, page)."""
        headers = {"Cookie": f"{STATE_COOKIE}={cookie}"} if cookie is not None else {}
        async with self.http.get(redirect, headers=headers, allow_redirects=False) as answer:
            return answer.status, await answer.text()

    async def install(self, team: str) -> None:
        """The whole flow, as a browser follows it."""
        authorize_url, cookie = await self.start_install(team)
        status, page = await self.finish(await self.approve(authorize_url), cookie)
        assert status == 200, page

    async def post(self, body: str) -> aiohttp.ClientResponse:
        async with self.http.post(f"{self.base}/slack/events", data=body, headers={**FORM, **sign(SECRET, body)}) as answer:
            await answer.read()
            return answer

    async def command(self, team: str, text: str, *, name: str, user: str = "UADA", channel: str = "CGENERAL") -> dict[str, Any]:
        """A signed `/papers <text>` from a workspace; the first response_url message."""
        fields = slash_command(text, response_url=self.fake.response_url(name), user_id=user, channel_id=channel, team_id=team)
        answer = await self.post(urllib.parse.urlencode(fields))
        assert answer.status == 200
        return await self.fake.response(name)

    async def event(self, team: str, event: dict[str, Any]) -> None:
        """A signed Events API request from a workspace."""
        body = json.dumps(event_callback(event, team_id=team))
        async with self.http.post(
            f"{self.base}/slack/events", data=body, headers={"Content-Type": "application/json", **sign(SECRET, body)}
        ) as answer:
            assert answer.status == 200, await answer.text()

    async def interact(self, payload: dict[str, Any]) -> aiohttp.ClientResponse:
        return await self.post(form_body(payload))


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    async with fake_slack() as fake:
        for team in ("T1", "T2"):
            fake.add_workspace(team)
        settings = distributed_settings(fake, tmp_path)
        clock = FakeClock(SAMPLE_NOW)
        runtime = await build_runtime(settings, clock=clock, offline=True)
        await fetch_due(runtime)
        installations = StoreInstallations(runtime.store, clock)
        adapter = SlackAdapter(settings, health=runtime.health, installations=installations, sleep=Sleeps())
        runtime.attach([adapter])
        await adapter.start(runtime.service)
        fake.redirect_uri = f"http://127.0.0.1:{adapter.http_port}/slack/oauth_redirect"
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
                yield App(fake, runtime, adapter, clock, http)
        finally:
            await adapter.stop()
            await runtime.close()


# --- the install flow ------------------------------------------------------------------------------


async def test_install_redirects_to_slack_with_a_state_and_stores_the_workspace(app: App) -> None:
    assert not app.fake.calls_to("auth.test")  # no token to check at start
    authorize_url, cookie = await app.start_install("T1")
    url = urllib.parse.urlparse(authorize_url)
    query = urllib.parse.parse_qs(url.query)
    assert authorize_url.startswith(app.fake.authorize_url + "?")
    assert query["client_id"] == [CLIENT_ID] and query["team"] == ["T1"] and query["state"] == [cookie]
    assert set(query["scope"][0].split(",")) >= {"commands", "chat:write", "im:write"}
    status, page = await app.finish(await app.approve(authorize_url), cookie)
    assert status == 200 and "Thank you" in page
    exchange = app.fake.calls_to("oauth.v2.access")
    assert len(exchange) == 1 and exchange[0].headers["Authorization"].startswith("Basic ")
    found = app.runtime.store.installations.find("slack", "T1")
    assert found is not None and found.installer_id == "UINSTALLER"
    assert found.record["bot_token"] == app.fake.workspaces["T1"].token
    assert found.record["bot_user_id"] == "UBOTT1" and found.record["bot_id"] == "BT1"
    # oauth.v2.access and the bot's own auth.test went through SLACK_API_URL, with the new token.
    assert app.fake.calls_to("auth.test")[-1].headers["Authorization"] == f"Bearer {found.record['bot_token']}"


async def test_a_replayed_or_forged_state_is_refused(app: App) -> None:
    authorize_url, cookie = await app.start_install("T1")
    redirect = await app.approve(authorize_url)
    assert (await app.finish(redirect, cookie))[0] == 200
    # The same redirect again (a replay): the state was used up.
    status, _ = await app.finish(redirect, cookie)
    assert status == 401
    # A state paperbot never issued, with a matching cookie.
    code = urllib.parse.parse_qs(urllib.parse.urlparse(redirect).query)["code"][0]
    forged = f"{app.fake.redirect_uri}?code={code}&state=forged"
    assert (await app.finish(forged, "forged"))[0] == 401
    # A real state from another browser (no cookie), and one that ran out of time.
    authorize_url, cookie = await app.start_install("T2")
    redirect = await app.approve(authorize_url)
    assert (await app.finish(redirect, None))[0] == 400
    authorize_url, cookie = await app.start_install("T2")
    redirect = await app.approve(authorize_url)
    app.clock.advance(minutes=11)
    assert (await app.finish(redirect, cookie))[0] == 401
    assert len(app.fake.calls_to("oauth.v2.access")) == 1  # only the first install got that far
    assert app.runtime.store.installations.workspaces("slack") == ["T1"]


# --- two workspaces --------------------------------------------------------------------------------


async def test_two_workspaces_each_answered_with_their_own_token_and_isolated(app: App) -> None:
    await app.install("T1")
    await app.install("T2")
    t1, t2 = app.fake.workspaces["T1"].token, app.fake.workspaces["T2"].token
    assert t1 != t2
    # The same channel and user ids in both workspaces (Slack does not promise they differ).
    on = await app.command("T1", "digest on 09:00 tz:Europe/Berlin topics:llm", name="on1")
    assert "Daily digest is on" in visible_text(on)
    sub = await app.command("T1", "subscribe diffusion", name="sub1")
    assert "Subscribed (#1)" in visible_text(sub)
    # Workspace T2 sees none of it.
    shown = await app.command("T2", "digest show", name="show2")
    assert "This channel has no digest" in visible_text(shown)
    subs = await app.command("T2", "subscriptions", name="subs2")
    assert "You have no subscriptions" in visible_text(subs)
    on2 = await app.command("T2", "digest on 18:30 tz:America/New_York", name="on2")
    assert "18:30" in visible_text(on2)
    shown1 = await app.command("T1", "digest show", name="show1")
    assert "09:00 Europe/Berlin" in visible_text(shown1) and "18:30" not in visible_text(shown1)
    store = app.runtime.store
    assert store.channels.get("slack:T1:CGENERAL") is not None and store.channels.get("slack:T2:CGENERAL") is not None
    assert store.channels.get("slack:CGENERAL") is None
    assert [s.query for s in store.subscriptions.list_for_user("slack", "T1:UADA")] == ["diffusion"]
    assert store.subscriptions.list_for_user("slack", "T2:UADA") == []
    # bolt authorized each request with its workspace's token.
    authorized = [c.headers["Authorization"] for c in app.fake.calls_to("auth.test")]
    assert f"Bearer {t1}" in authorized and f"Bearer {t2}" in authorized
    # Delivery picks the token per outbox row: each digest goes out with its workspace's token.
    for team, name in (("T1", "now1"), ("T2", "now2")):
        answer = await app.command(team, "digest now", name=name)
        assert "Posting a digest" in visible_text(answer), visible_text(answer)
    await app.runtime.service.digests.wait_idle()  # type: ignore[attr-defined]
    posts = [c for c in app.fake.calls_to("chat.postMessage") if c.ok]
    assert posts and {c.body["channel"] for c in posts} == {"CGENERAL"}
    assert {app.fake.workspace_of(c) for c in posts} == {"T1", "T2"}
    for call in posts:
        assert call.headers["Authorization"] == f"Bearer {app.fake.workspaces[app.fake.workspace_of(call)].token}"
    rows = store.conn.execute("SELECT destination, state FROM outbox WHERE kind = 'digest-now' ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [("T1:CGENERAL", "sent"), ("T2:CGENERAL", "sent")]
    # The Home refreshes after each change went out with the changing workspace's token.
    homes = await app.fake.wait_for(lambda: {app.fake.workspace_of(c) for c in app.fake.calls_to("views.publish")} == {"T1", "T2"})
    assert homes and "" not in {app.fake.workspace_of(c) for c in app.fake.calls_to("views.publish")}


async def test_admin_only_asks_each_workspace_with_its_own_token(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        for team in ("T1", "T2"):
            fake.add_workspace(team)
        settings = distributed_settings(fake, tmp_path, slack_admin_only=True)
        clock = FakeClock(SAMPLE_NOW)
        runtime = await build_runtime(settings, clock=clock, offline=True)
        adapter = SlackAdapter(settings, installations=StoreInstallations(runtime.store, clock), sleep=Sleeps())
        runtime.attach([adapter])
        await adapter.start(runtime.service)
        fake.redirect_uri = f"http://127.0.0.1:{adapter.http_port}/slack/oauth_redirect"
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
                app = App(fake, runtime, adapter, clock, http)
                await app.install("T1")
                await app.install("T2")
                fake.admins.add("UBOSS")
                allowed = await app.command("T1", "digest on 09:00", name="a", user="UBOSS")
                denied = await app.command("T2", "digest on 09:00", name="d", user="UNEW")
        finally:
            await adapter.stop()
            await runtime.close()
        assert "Daily digest is on" in visible_text(allowed) and ":warning:" in visible_text(denied)
        asked = {(c.body["user"], fake.workspace_of(c)) for c in fake.calls_to("users.info")}
        assert asked == {("UBOSS", "T1"), ("UNEW", "T2")}


async def test_an_alert_dm_reaches_the_right_workspace(app: App) -> None:
    await app.install("T1")
    await app.install("T2")
    await app.command("T2", "subscribe diffusion", name="sub")
    await app.runtime.scheduler.tick(app.clock())
    dms = app.fake.calls_to("conversations.open")
    assert dms and {app.fake.workspace_of(c) for c in dms} == {"T2"} and dms[0].body["users"] == "UADA"
    alerts = [c for c in app.fake.calls_to("chat.postMessage") if c.ok]
    assert alerts and {(app.fake.workspace_of(c), c.body["channel"]) for c in alerts} == {("T2", "DUADA")}
    row = app.runtime.store.conn.execute("SELECT destination, state FROM outbox WHERE kind = 'alert'").fetchone()
    assert tuple(row) == ("T2:UADA", "sent")


# --- leaving ------------------------------------------------------------------------------------


async def test_uninstall_forgets_the_workspace_and_a_reinstall_starts_clean(app: App) -> None:
    await app.install("T1")
    await app.install("T2")
    for team in ("T1", "T2"):
        await app.command(team, "digest on 09:00 tz:Europe/Berlin", name=f"on{team}")
        await app.command(team, "subscribe diffusion", name=f"sub{team}")
    # A digest for T1 that Slack could not take yet: pending in the outbox.
    app.fake.fail_status("chat.postMessage", 500, times=50)
    await app.command("T1", "digest now", name="nowT1")
    await app.runtime.service.digests.wait_idle()  # type: ignore[attr-defined]
    store = app.runtime.store
    assert store.conn.execute("SELECT state FROM outbox WHERE destination = 'T1:CGENERAL'").fetchone()[0] == "pending"
    app.fake.clear_queued()

    app.fake.revoke("T1")  # Slack revokes the tokens on uninstall
    await app.event("T1", {"type": "app_uninstalled"})
    await app.fake.wait_for(lambda: store.installations.find("slack", "T1") is None)

    assert store.channels.get("slack:T1:CGENERAL") is None
    assert store.subscriptions.list_for_user("slack", "T1:UADA") == []
    assert store.conn.execute("SELECT COUNT(*) FROM outbox WHERE destination LIKE 'T1:%'").fetchone()[0] == 0
    # T2 goes on as before.
    assert store.installations.find("slack", "T2") is not None
    assert store.channels.get("slack:T2:CGENERAL") is not None
    assert store.subscriptions.list_for_user("slack", "T2:UADA")
    # A command from T1 now gets bolt's "reinstall" answer and reaches nothing.
    gone = await app.command("T1", "digest show", name="gone")
    assert "reinstall" in json.dumps(gone).lower()
    await app.runtime.delivery.deliver(app.clock() + timedelta(hours=1))
    assert not [c for c in app.fake.calls_to("chat.postMessage") if app.fake.workspace_of(c) == "T1" and c.ok]

    await app.install("T1")
    shown = await app.command("T1", "digest show", name="again")
    assert "This channel has no digest" in visible_text(shown)
    subs = await app.command("T1", "subscriptions", name="subs-again")
    assert "You have no subscriptions" in visible_text(subs)


async def test_a_revoked_bot_token_forgets_the_workspace_too(app: App) -> None:
    await app.install("T1")
    await app.install("T2")
    await app.command("T2", "digest on 09:00", name="on")
    # Only user tokens revoked (paperbot holds none): T1 stays; handled before the next event.
    await app.event("T1", {"type": "tokens_revoked", "tokens": {"oauth": ["UADA"]}})
    app.fake.revoke("T2")
    await app.event("T2", {"type": "tokens_revoked", "tokens": {"bot": ["UBOTT2"]}})
    store = app.runtime.store
    await app.fake.wait_for(lambda: store.installations.find("slack", "T2") is None)
    assert store.channels.get("slack:T2:CGENERAL") is None
    assert store.installations.find("slack", "T1") is not None


async def test_paperbot_run_wires_the_store_into_a_distributed_app(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        settings = distributed_settings(fake, tmp_path)
        clock = FakeClock(SAMPLE_NOW)
        runtime = await build_runtime(settings, clock=clock, offline=True)
        try:
            (adapter,) = build_adapters(settings, console=False, health=runtime.health, store=runtime.store, clock=clock)
            assert isinstance(adapter, SlackAdapter) and adapter.distributed and not adapter.socket_mode
            assert isinstance(adapter.installations, StoreInstallations) and adapter.installations.store is runtime.store
            with pytest.raises(ValueError, match="store"):
                build_adapters(settings, console=False, health=runtime.health)
        finally:
            await runtime.close()


async def test_delivery_refuses_a_destination_without_an_installed_workspace(app: App) -> None:
    await app.install("T1")
    for destination in ("CGENERAL", "T9:CGENERAL"):
        with pytest.raises(PermanentDeliveryError) as caught:
            await app.adapter.send(destination, {"text": "hello"})
        assert caught.value.reason == "missing_access"
    assert await app.adapter.open_dm("T1:UBOB") == "T1:DUBOB"
    assert await app.adapter.send("T1:DUBOB", {"text": "hello"})
    call = app.fake.calls_to("chat.postMessage")[-1]
    assert (app.fake.workspace_of(call), call.body["channel"]) == ("T1", "DUBOB")


async def test_each_workspace_gets_its_own_home_with_its_own_token(app: App) -> None:
    await app.install("T1")
    await app.install("T2")
    await app.command("T1", "subscribe diffusion", name="sub")
    for team in ("T1", "T2"):
        before = len(app.fake.calls_to("views.publish"))
        await app.event(team, {"type": "app_home_opened", "user": "UADA", "channel": "DUADA", "tab": "home"})
        # (the subscribe's own Home refresh may land meanwhile: look for this workspace's)
        def opened(team: str = team, before: int = before) -> list[Any]:
            return [c for c in app.fake.calls_to("views.publish")[before:] if app.fake.workspace_of(c) == team]

        call = (await app.fake.wait_for(opened))[-1]
        view = call.body["view"] if isinstance(call.body["view"], dict) else json.loads(call.body["view"])
        assert_view_limits(view)
        assert app.fake.workspace_of(call) == team and call.body["user_id"] == "UADA"
        assert ("1. “diffusion”" in view_text(view)) is (team == "T1")
