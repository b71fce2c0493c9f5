"""Slack HTTP mode behind a load balancer, any replica answering: two replicas (two runtimes,
each with the Slack app `paperbot run` wires, bot.app.wiring.build_adapters) on one PostgreSQL
store, each serving Slack's HTTP endpoints on a port of its own, with a round-robin proxy on
127.0.0.1 in front (every request to the next replica in turn, as it came: body, signature
headers, cookies and redirects untouched). Through the proxy, against the fake Slack:

- the OAuth install: the state issued by one replica (its cookie and its row in the store) is
  accepted by the other on Slack's redirect, which stores the installation;
- signed slash commands, answered by whichever replica gets them, each seeing what the other
  wrote;
- a feedback click on a private answer one replica sent, received by the other, which redraws
  that answer from the store.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

pytest.importorskip("bot.search.engine", reason="the real core needs bot.search.engine")

from adapters.slack import SlackAdapter  # noqa: E402
from bot.app.runtime import Runtime, build_runtime, fetch_due  # noqa: E402
from bot.app.samples import SAMPLE_NOW  # noqa: E402
from bot.app.wiring import build_adapters  # noqa: E402
from bot.chat.view import ItemAction  # noqa: E402
from bot.core.clock import FakeClock  # noqa: E402
from bot.store.feedback import Choice  # noqa: E402
from tests.e2e.test_slack_adapter import SECRET  # noqa: E402
from tests.e2e.test_slack_distributed import STATE_COOKIE, distributed_settings  # noqa: E402
from tests.e2e.test_slack_feedback import button_of, click_on, feedback_rows  # noqa: E402
from tests.support.slack_api import (  # noqa: E402
    FakeSlack,
    fake_slack,
    form_body,
    sign,
    slash_command,
    visible_text,
)

pytestmark = pytest.mark.postgres

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# Headers that belong to one hop (RFC 9110 7.6.1), and those aiohttp sets for the body it sends.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length", "content-encoding",
}


@dataclass
class RoundRobin:
    """A load balancer on 127.0.0.1 port 0: each request goes to the next backend in turn."""

    backends: list[str]
    served: list[tuple[str, int]] = field(default_factory=list)  # (path, backend index), in order
    port: int = 0
    _next: int = 0
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._session = aiohttp.ClientSession(auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        index, self._next = self._next, (self._next + 1) % len(self.backends)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        async with self._session.request(
            request.method, self.backends[index] + request.path_qs, data=await request.read(),
            headers=headers, allow_redirects=False,
        ) as answer:
            body = await answer.read()
            response = web.Response(status=answer.status, body=body)
            for key, value in answer.headers.items():
                if key.lower() not in HOP_BY_HOP | {"date", "server"}:
                    response.headers.add(key, value)
        self.served.append((request.path, index))
        return response


@dataclass
class Replica:
    runtime: Runtime
    adapter: SlackAdapter


@dataclass
class Cluster:
    """Two replicas, the proxy in front of them, the fake Slack, and a browser-ish client."""

    fake: FakeSlack
    replicas: list[Replica]
    proxy: RoundRobin
    http: aiohttp.ClientSession

    async def post(self, body: str, content_type: str = FORM["Content-Type"]) -> int:
        """A signed request to the public /slack/events; its status."""
        headers = {"Content-Type": content_type, **sign(SECRET, body)}
        async with self.http.post(f"{self.proxy.url}/slack/events", data=body, headers=headers) as answer:
            await answer.read()
            return answer.status

    async def command(self, text: str, *, name: str, user: str = "UADA") -> dict[str, Any]:
        """A signed `/papers <text>` from workspace T1; the first response_url message."""
        fields = slash_command(text, response_url=self.fake.response_url(name), user_id=user, team_id="T1")
        assert await self.post(urllib.parse.urlencode(fields)) == 200
        return await self.fake.response(name)


@pytest.fixture
async def cluster(tmp_path: Path, postgres_url: str) -> AsyncIterator[Cluster]:
    async with fake_slack() as fake:
        fake.add_workspace("T1")
        clock = FakeClock(SAMPLE_NOW)  # one clock: the OAuth state's expiry agrees on both
        replicas: list[Replica] = []
        proxy: RoundRobin | None = None
        try:
            for name in ("a", "b"):
                settings = distributed_settings(fake, tmp_path / name, database=postgres_url)
                runtime = await build_runtime(settings, clock=clock, offline=True)
                if not replicas:
                    await fetch_due(runtime)  # the sample papers, into the one store
                (adapter,) = build_adapters(settings, console=False, health=runtime.health, store=runtime.store, clock=clock)
                assert isinstance(adapter, SlackAdapter) and not adapter.socket_mode
                runtime.attach([adapter])
                replicas.append(Replica(runtime, adapter))
                await adapter.start(runtime.service)
            proxy = RoundRobin([f"http://127.0.0.1:{r.adapter.http_port}" for r in replicas])
            await proxy.start()
            fake.redirect_uri = f"{proxy.url}/slack/oauth_redirect"  # Slack knows only the public URL
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
                yield Cluster(fake, replicas, proxy, http)
        finally:
            if proxy is not None:
                await proxy.close()
            for replica in replicas:
                await replica.adapter.stop()
                await replica.runtime.close()


async def install(cluster: Cluster) -> str:
    """The OAuth flow through the proxy, as a browser follows it; returns the callback URL."""
    async with cluster.http.get(f"{cluster.proxy.url}/slack/install?team=T1", allow_redirects=False) as started:
        assert started.status == 302, await started.text()
        cookie = started.cookies[STATE_COOKIE].value
        authorize_url = started.headers["Location"]
    async with cluster.http.get(authorize_url, allow_redirects=False) as approved:  # on Slack's page
        assert approved.status == 302
        redirect = approved.headers["Location"]
    assert redirect.startswith(cluster.proxy.url + "/slack/oauth_redirect?")
    assert await callback(cluster, redirect, cookie) == 200
    return redirect


async def callback(cluster: Cluster, redirect: str, cookie: str) -> int:
    """Slack's redirect back, with the installer's state cookie; the status of the page."""
    parsed = urllib.parse.parse_qs(urllib.parse.urlparse(redirect).query)
    assert parsed["state"] == [cookie]
    async with cluster.http.get(redirect, headers={"Cookie": f"{STATE_COOKIE}={cookie}"}, allow_redirects=False) as page:
        text = await page.text()
        assert page.status != 200 or "Thank you" in text, text
        return page.status


def answered_by(cluster: Cluster, count: int) -> list[int]:
    """Which replica served each of the last `count` requests."""
    return [index for _, index in cluster.proxy.served[-count:]]


async def test_any_replica_behind_a_round_robin_balancer_answers_installs_commands_and_clicks(cluster: Cluster) -> None:
    store = cluster.replicas[0].runtime.store
    # The install: the state issued by replica 0, Slack's callback answered by replica 1.
    redirect = await install(cluster)
    assert cluster.proxy.served == [("/slack/install", 0), ("/slack/oauth_redirect", 1)]
    found = store.installations.find("slack", "T1")
    assert found is not None and found.record["bot_token"] == cluster.fake.workspaces["T1"].token
    # The same callback replayed reaches replica 0, which never saw the state used: refused all
    # the same (the store has it used up), and Slack is not asked for a second token.
    state = urllib.parse.parse_qs(urllib.parse.urlparse(redirect).query)["state"][0]
    assert await callback(cluster, redirect, state) == 401
    assert answered_by(cluster, 1) == [0]
    assert len(cluster.fake.calls_to("oauth.v2.access")) == 1

    # Signed slash commands on both replicas, each seeing what the other wrote.
    on = await cluster.command("digest on 09:00 tz:Europe/Berlin", name="on")
    assert "Daily digest is on" in visible_text(on)
    shown = await cluster.command("digest show", name="show")
    assert "09:00 Europe/Berlin" in visible_text(shown)
    assert answered_by(cluster, 2) == [1, 0]

    # A private answer sent by one replica; the click on it reaches the other, which redraws it
    # from the store (Slack sends no blocks with a click on an ephemeral message).
    answer = await cluster.command("diffusion", name="q")
    ids = [row["elements"][0]["value"] for row in feedback_rows(answer)]
    assert answer["response_type"] == "ephemeral" and len(ids) >= 2
    click = click_on(answer, ItemAction.LIKE, ids[1], ephemeral=True, response_url=cluster.fake.response_url("l"), team_id="T1")
    assert await cluster.post(form_body(click)) == 200
    assert answered_by(cluster, 2) == [1, 0]
    redrawn = await cluster.fake.response("l")
    assert redrawn["replace_original"] is True and redrawn["response_type"] == "ephemeral"
    assert button_of(redrawn, ItemAction.LIKE, ids[1])["text"]["text"] == "👍 Relevant ✓"
    assert visible_text(redrawn) == visible_text(answer)
    assert store.feedback.choice("slack", "T1:UADA", ids[1]) == Choice.RELEVANT
    # Both replicas answered with the workspace's token from the store (none is configured).
    authorized = {c.headers["Authorization"] for c in cluster.fake.calls_to("auth.test")}
    assert authorized == {f"Bearer {found.record['bot_token']}"}


async def test_a_forged_request_is_refused_by_either_replica(cluster: Cluster) -> None:
    await install(cluster)
    fields = slash_command("digest show", response_url=cluster.fake.response_url("x"), team_id="T1")
    body = urllib.parse.urlencode(fields)
    for _ in cluster.replicas:
        async with cluster.http.post(
            f"{cluster.proxy.url}/slack/events", data=body, headers={**FORM, **sign("not-the-secret", body)}
        ) as answer:
            assert answer.status == 401
    assert answered_by(cluster, 2) == [0, 1]
    assert [response for name, response in cluster.fake.responses if name == "x"] == []
