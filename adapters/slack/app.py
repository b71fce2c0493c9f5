"""The Slack adapter's lifecycle: a slack-bolt AsyncApp in Socket Mode or HTTP mode.

Modes:
- **Socket Mode** when SLACK_APP_TOKEN (xapp-...) is set: no public URL needed. The app token
  opens the websocket (`apps.connections.open`, called through SLACK_API_URL like every other
  Web API call); `start()` returns once connected (or keeps trying in the background after
  `CONNECT_TIMEOUT` seconds).
- **HTTP mode** otherwise: `POST /slack/events` (slash commands, interactivity and events).
  Before bolt sees a request, guard.py reads its body (at most 1 MiB), checks its signature
  with SLACK_SIGNING_SECRET on the raw bytes, and only then parses it: 401 for a missing, bad or
  stale signature, 400 for a signed body bolt could not parse, 413 for an oversized one, each
  logged as at most one short line a minute. A slash command that passed is acked at once with
  an empty 200, before bolt's own parsing and middleware, and bolt handles it as a task in
  flight (Socket Mode acks a command's envelope first in the same way); interactions and events
  keep bolt's path, since some answer in their ack (a modal's errors). Under
  `paperbot run` the core's one web server (bot/web) serves these routes beside the site,
  /healthz and /readyz on HTTP_HOST:HTTP_PORT (`http_routes`); on its own (WEB_ENABLED=false,
  tests) the adapter serves them, and `GET /healthz`, on an aiohttp server of its own.
- **Distributed** (SLACK_CLIENT_ID, no bot token): HTTP mode for any number of workspaces. The
  same server also serves bolt's OAuth flow, `GET /slack/install` and `GET /slack/oauth_redirect`
  (installs.py: installations and states live in paperbot's store, through the
  `bot.ports.Installations` that bot.app.wiring passes in). Each request is answered with its
  workspace's token (bolt's authorize); the core sees ids qualified by workspace (`T123:C456`),
  so workspaces never see each other's settings, and delivery picks the token per destination.
  There is no token to check at start, so `start()` makes no auth.test.

The rest lives next door: the listeners, the who/where middleware and the error handler in
listeners.py; posting, DMs, rate limits and Slack-error mapping in delivery.py; Block Kit in
render.py. `SlackAdapter` builds them around one AsyncWebClient and one AsyncApp, starts and
stops them, and hands `send` / `open_dm` (what the outbox calls) to delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_internals import _is_no_auth_required
from slack_bolt.middleware.authorization.async_single_team_authorization import (
    AsyncSingleTeamAuthorization,
)
from slack_bolt.middleware.authorization.internals import _is_no_auth_test_call_required
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.delivery import AUTH_ERRORS, MIN_POST_INTERVAL, RateLimitRetry, SlackDelivery
from adapters.slack.guard import Refusal, RequestGuard
from adapters.slack.installs import INSTALL_PATH, REDIRECT_PATH, bot_token_of, oauth_settings
from adapters.slack.listeners import ACKED_KEY, PLATFORM, AcksFirst, AdminCheck, SlackListeners
from adapters.slack.manifest import BOT_SCOPES
from adapters.slack.render import render
from adapters.slack.types import Message
from bot.core.clock import system_monotonic
from bot.core.errors import ConfigError
from bot.core.metrics import Metrics
from bot.core.models import Reply
from bot.core.retry import Monotonic, Sleep
from bot.ports import HealthCheck, Installations, Part, PrivateAnswers, ServiceAPI
from bot.settings import Settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class _QuietTokenWarning(logging.Filter):
    """Drops bolt's "`token` will be unused" warning: bolt reads SLACK_BOT_TOKEN from the
    environment by itself and warns when a client is given too, which we always do on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will be unused" not in record.getMessage()


bolt_log = logging.getLogger("adapters.slack.bolt")
bolt_log.addFilter(_QuietTokenWarning())


def is_slash_command(body: str) -> bool:
    """Whether a signed, well-formed `/slack/events` body is a slash command: a form with a
    `command` field and no `payload` (interactions carry a `payload`, events are JSON)."""
    if body.startswith("{"):
        return False
    fields = urllib.parse.parse_qs(body, keep_blank_values=True)
    return "command" in fields and "payload" not in fields


class AcksFirstSocketHandler(AsyncSocketModeHandler):
    """bolt's Socket Mode handler, counting each envelope as waiting for its ack until the ack
    is sent (listeners.AcksFirst: acked requests' work waits for those acks). A slash command's
    envelope is acked before bolt sees it (an empty ack is all a command's ack ever is), and
    then dispatched as a task in flight (`listeners`), marked acked (listeners.ACKED_KEY);
    every other envelope goes through bolt as before (a modal's submission may answer in its
    ack)."""

    acks_first: AcksFirst | None = None
    listeners: SlackListeners | None = None

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        """Handle one envelope (see the class), counted until acked."""
        if self.acks_first is None:
            await super().handle(client, req)
            return
        listeners = self.listeners
        if req.type != "slash_commands" or listeners is None:
            with self.acks_first.receiving():
                await super().handle(client, req)
            return
        with self.acks_first.receiving():
            received = listeners.clock()
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            listeners.acked(received)
        bolt_request = AsyncBoltRequest(
            mode="socket_mode", body=req.payload, headers=build_headers(req), context={ACKED_KEY: True}
        )
        listeners.inflight.start(_dispatch_acked(self.app, bolt_request), "slack-command-dispatch")


async def _dispatch_acked(app: AsyncApp, request: AsyncBoltRequest) -> None:
    """bolt's handling of a request already acked (its response goes nowhere)."""
    try:
        response = await app.async_dispatch(request)
    except Exception:  # nobody awaits this task: its failure is logged here or nowhere
        log.exception("slack: handling an acked slash command failed")
        return
    # bolt answers a command it refuses through the response_url when it can (an uninstalled
    # workspace's "reinstall" note); what it put in a response body instead reached nobody.
    if response.status != 200 or response.body:
        log.warning("slack: bolt answered %s to a slash command already acked: %s", response.status, str(response.body)[:200])


class OneAuthTest(AsyncSingleTeamAuthorization):
    """bolt's single-workspace authorization, asking `auth.test` once rather than once per
    request. bolt's own asks on a request when it has no answer yet, so every request of a
    burst arriving before the first answer asks again, each ack waiting for its own call (200
    calls, and 200 acks 0.35 s late, in bench_acks). Here the adapter's start check
    (`SlackAdapter._identify`) hands its answer over (`known`), and without one only one call
    is in flight at a time: the requests behind it reuse its answer."""

    def __init__(self, base_logger: logging.Logger | None = None) -> None:
        super().__init__(base_logger=base_logger)
        self._asking = asyncio.Lock()

    def known(self, answer: AsyncSlackResponse) -> None:
        """Take the answer of an auth.test made with the app's token."""
        self.auth_test_result = answer

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        """bolt's authorization, once one auth.test has answered (see the class)."""
        if self.auth_test_result is None and not _is_no_auth_required(req) and not _is_no_auth_test_call_required(req):
            async with self._asking:
                if self.auth_test_result is None:
                    # A failure is left to bolt's own call below, which answers the user.
                    with contextlib.suppress(SlackApiError):
                        self.auth_test_result = await req.context.client.auth_test()
        return await super().async_process(req=req, resp=resp, next=next)


def one_auth_test(app: AsyncApp) -> OneAuthTest | None:
    """Put a OneAuthTest in place of bolt's AsyncSingleTeamAuthorization in an app's middleware
    (an app with one token); None when the app has none (OAuth: per-workspace authorize)."""
    middleware = app._async_middleware_list  # bolt builds it in AsyncApp.__init__
    for index, step in enumerate(middleware):
        if type(step) is AsyncSingleTeamAuthorization:
            replacement = OneAuthTest(base_logger=bolt_log)
            middleware[index] = replacement
            return replacement
    return None


def api_base_url(url: str) -> str:
    """SLACK_API_URL as slack_sdk wants it: ending with exactly one slash."""
    return url.rstrip("/") + "/"


class SlackAdapter:
    """The Slack ChatAdapter (see the module docstring)."""

    platform = PLATFORM

    def __init__(
        self,
        settings: Settings,
        *,
        health: HealthCheck | None = None,
        installations: Installations | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Monotonic = system_monotonic,
        min_interval: float = MIN_POST_INTERVAL,
        metrics: Metrics | None = None,
        private_answers: PrivateAnswers | None = None,
    ) -> None:
        self.settings = settings
        self.health = health
        self.finished = asyncio.Event()  # never set: Slack runs until paperbot stops
        self.distributed = settings.slack_distributed
        if self.distributed and installations is None:
            raise ConfigError(["SLACK_CLIENT_ID: a distributed Slack app needs paperbot's installation store"])
        self.installations = installations if self.distributed else None
        self.socket_mode = not self.distributed and bool(settings.slack_app_token.get_secret_value())
        self.client = AsyncWebClient(
            token=None if self.distributed else settings.slack_bot_token.get_secret_value(),
            base_url=api_base_url(settings.slack_api_url),
            retry_handlers=[AsyncConnectionErrorRetryHandler(), RateLimitRetry(sleep=sleep)],
        )
        oauth = None
        if self.installations is not None:
            oauth = oauth_settings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value(),
                scopes=BOT_SCOPES,
                authorize_url=settings.slack_authorize_url,
                redirect_uri=settings.slack_redirect_uri,
                installations=self.installations,
                client=self.client,
            )
        # The bolt app uses our client (and, per request, copies of it carrying the workspace's
        # token), so every Web API call, including Socket Mode's apps.connections.open and the
        # OAuth flow's oauth.v2.access, goes to SLACK_API_URL.
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.slack_signing_secret.get_secret_value() or None,
            request_verification_enabled=not self.socket_mode,
            oauth_settings=oauth,
            name="paperbot",
            logger=bolt_log,
            # Every listener acks and starts its work as a task of its own (listeners.py), so
            # bolt may wait for the listener: the ack goes out the moment the listener returns,
            # not at bolt's next 10 ms poll for it, which a busy event loop delays.
            process_before_response=True,
        )
        # One auth.test for the app, not one per request of a burst (OneAuthTest).
        self.authorization = one_auth_test(self.app)
        installed = self.installations
        tokens = (lambda workspace: bot_token_of(installed, workspace)) if installed is not None else None
        self.delivery = SlackDelivery(
            self.client, bot_token_of=tokens, min_interval=min_interval, sleep=sleep, monotonic=monotonic
        )
        self.admins = AdminCheck(self.client, admin_only=settings.slack_admin_only, monotonic=monotonic)
        self.listeners = SlackListeners(
            self.admins, self.delivery, installations=self.installations, sleep=sleep, metrics=metrics, monotonic=monotonic,
            answers=private_answers,
        )
        self.listeners.attach(self.app, settings.slack_command)
        self.guard = RequestGuard(settings.slack_signing_secret.get_secret_value(), monotonic=monotonic)
        self.bot_user_id = ""
        self.team_id = ""
        self.http_port: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._socket: AcksFirstSocketHandler | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        # Set when the core's web server took our routes (http_routes); then we open no port.
        self._routes_taken = False
        self._started = False

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self, service: ServiceAPI) -> None:
        """Check the bot token (auth.test), then connect Socket Mode or start the HTTP server."""
        self._session = aiohttp.ClientSession()
        self.client.session = self._session
        if not self.distributed:
            await self._identify()
        self.listeners.service = service
        self.listeners.default_team_id = self.team_id
        if self.socket_mode:
            await self._start_socket_mode()
        elif not self._routes_taken:
            await self._start_http()
        self._started = True

    async def stop(self) -> None:
        """Stop taking events, let answers in progress finish, close connections."""
        self._started = False
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close_async()
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connecting
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.listeners.inflight.wait(STOP_TIMEOUT)
        if self._session is not None:
            await self._session.close()
            self._session = None
            self.client.session = None

    @property
    def connected(self) -> bool:
        """Whether events can arrive: the websocket is open, or the HTTP server listens."""
        if self._socket is not None:
            session = self._socket.client.current_session
            return session is not None and not session.closed
        return self._runner is not None or (self._routes_taken and self._started)

    def http_routes(self) -> list[web.RouteDef]:
        """HTTP mode's routes (`POST /slack/events`, and the OAuth flow of a distributed app) for
        the core's one web server, which then serves them beside the site, /healthz and /readyz;
        calling this hands them over, so `start` opens no port of its own. Socket Mode: none.
        Requests before `start` get 503 (Slack retries them)."""
        if self.socket_mode:
            return []
        self._routes_taken = True
        routes = [web.post("/slack/events", self._http_events)]
        if self.app.oauth_flow is not None:
            routes += [web.get(INSTALL_PATH, self._http_install), web.get(REDIRECT_PATH, self._http_oauth_redirect)]
        return routes

    async def _identify(self) -> None:
        try:
            answer = await self.client.auth_test()
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in AUTH_ERRORS:
                raise ConfigError([f"SLACK_BOT_TOKEN: Slack answered {error}"]) from None
            log.warning("slack auth.test failed (%s); continuing", error or exc.response.status_code)
            return
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("slack auth.test could not reach %s (%s); continuing", self.client.base_url, exc)
            return
        if self.authorization is not None:
            self.authorization.known(answer)
        self.bot_user_id = str(answer.get("user_id", ""))
        self.team_id = str(answer.get("team_id", ""))
        log.info("slack: connected as %s in team %s", answer.get("user", self.bot_user_id), answer.get("team", self.team_id))

    async def _start_socket_mode(self) -> None:
        self._socket = AcksFirstSocketHandler(
            self.app, self.settings.slack_app_token.get_secret_value(), web_client=self.client,
        )
        self._socket.acks_first = self.listeners.acks_first
        self._socket.listeners = self.listeners
        client = self._socket.client
        # Envelopes received and not handled yet wait for their acks too.
        self.listeners.acks_first.queued = client.message_queue.qsize
        try:
            # Asked here rather than inside connect() so a bad app token fails the start at once.
            opened = await self.client.apps_connections_open(app_token=self.settings.slack_app_token.get_secret_value())
            client.wss_uri = str(opened["url"])
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in AUTH_ERRORS:
                raise ConfigError([f"SLACK_APP_TOKEN: Slack answered {error} to apps.connections.open"]) from None
            log.warning("slack apps.connections.open failed (%s); retrying in the background", error)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("slack apps.connections.open failed (%s); retrying in the background", exc)
        # connect() retries forever on failure; wait a while, then let it go on in the background.
        self._connecting = asyncio.create_task(self._socket.connect_async(), name="slack-socket-connect")
        done, _ = await asyncio.wait({self._connecting}, timeout=CONNECT_TIMEOUT)
        if done:
            self._connecting.result()
            log.info("slack: socket mode connected")
        else:
            log.warning("slack: socket mode not connected after %.0fs; still trying", CONNECT_TIMEOUT)

    async def _start_http(self) -> None:
        web_app = web.Application()
        web_app.router.add_post("/slack/events", self._http_events)
        web_app.router.add_get("/healthz", self._http_health)
        if self.app.oauth_flow is not None:
            web_app.router.add_get(INSTALL_PATH, self._http_install)
            web_app.router.add_get(REDIRECT_PATH, self._http_oauth_redirect)
        self._runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=STOP_TIMEOUT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
        await site.start()
        addresses = self._runner.addresses
        self.http_port = int(addresses[0][1]) if addresses else self.settings.http_port
        routes = "/slack/events, /healthz" + (f", {INSTALL_PATH}, {REDIRECT_PATH}" if self.distributed else "")
        log.info("slack: HTTP mode on %s:%s (%s)", self.settings.http_host, self.http_port, routes)

    async def _http_events(self, request: web.Request) -> web.Response:
        if self._routes_taken and not self._started:
            return web.Response(status=503, text="starting")
        with self.listeners.acks_first.receiving():  # acked requests' work waits for this ack
            return await self._dispatch_http(request)

    async def _dispatch_http(self, request: web.Request) -> web.Response:
        received = self.listeners.clock()
        checked = await self.guard.check(request)
        if isinstance(checked, Refusal):
            return web.Response(status=checked.status, text="invalid request" if checked.status != 401 else "invalid signature")
        if is_slash_command(checked):
            # Signed and well formed: acked now with an empty 200 (all a command's ack ever
            # is), before bolt's own parsing, checks and middleware, so the ack never waits
            # behind other requests' turns of the loop. bolt then handles it as a task in
            # flight (stop() waits for it), marked acked; the answer goes to the response_url.
            bolt_request = AsyncBoltRequest(
                body=checked, query=request.query_string, headers=request.headers, context={ACKED_KEY: True}  # type: ignore[arg-type]
            )
            self.listeners.inflight.start(_dispatch_acked(self.app, bolt_request), "slack-command-dispatch")
            self.listeners.acked(received)
            return web.Response(status=200)
        bolt_request = AsyncBoltRequest(body=checked, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
        bolt_response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def _http_install(self, request: web.Request) -> web.Response:
        """`/slack/install`: off to Slack's approval page with a new state (bolt's OAuth flow)."""
        assert self.app.oauth_flow is not None
        answer = await self.app.oauth_flow.handle_installation(await to_bolt_request(request))
        return await to_aiohttp_response(answer)

    async def _http_oauth_redirect(self, request: web.Request) -> web.Response:
        """`/slack/oauth_redirect`: state checked, code exchanged, installation saved (bolt)."""
        assert self.app.oauth_flow is not None
        answer = await self.app.oauth_flow.handle_callback(await to_bolt_request(request))
        return await to_aiohttp_response(answer)

    async def _http_health(self, request: web.Request) -> web.Response:
        if self.health is None:
            return web.json_response({"ok": True})
        report = self.health()
        return web.json_response(report, status=200 if report.get("ok", True) else 503)

    async def can_manage(self, user_id: str) -> bool:
        """Whether a user may change channel settings (admins/owners only with SLACK_ADMIN_ONLY)."""
        return await self.admins.can_manage(user_id)

    # --- delivery (used by the core outbox) ------------------------------------------------------

    def render(self, reply: Reply) -> list[Message]:
        """Pure: the reply as Block Kit messages (see render.py)."""
        return render(reply)

    async def send(self, destination: str, part: Part) -> str:
        """Post one part to a channel id; returns the message ts (see SlackDelivery.send)."""
        return await self.delivery.send(destination, part)

    async def open_dm(self, user_id: str) -> str:
        """The id of the DM channel with a user (see SlackDelivery.open_dm)."""
        return await self.delivery.open_dm(user_id)

