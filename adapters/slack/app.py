"""The Slack adapter: a slack-bolt AsyncApp in Socket Mode or HTTP mode, plus delivery.

Modes:
- **Socket Mode** when SLACK_APP_TOKEN (xapp-...) is set: no public URL needed. The app token
  opens the websocket (`apps.connections.open`, called through SLACK_API_URL like every other
  Web API call); `start()` returns once connected (or keeps trying in the background after
  `CONNECT_TIMEOUT` seconds).
- **HTTP mode** otherwise: an aiohttp server on HTTP_HOST:HTTP_PORT serves `POST /slack/events`
  (slash commands and interactivity; bolt verifies each request with SLACK_SIGNING_SECRET and
  answers 401 to a bad signature) and `GET /healthz` (the JSON of `health()`; 503 when its
  "ok" is false). Socket Mode opens no port, so it serves no /healthz.

Commands: `/papers` (SLACK_COMMAND) is acked at once with an empty body, so Slack's 3-second
deadline never depends on the work; the answer then goes through the command's `response_url`
(ephemeral when the Reply is private, `in_channel` otherwise). A private, shareable answer ends
with a "Share to channel" button that re-runs the command and posts it `in_channel`, "Shared by
@user". Each paper has a "Details" button: its details are posted as a thread reply under a
channel message, or answered ephemerally under an ephemeral one.

Permissions: `Actor.can_manage` is True for everyone unless SLACK_ADMIN_ONLY=true; then only
workspace admins and owners (`users.info`: is_admin / is_owner / is_primary_owner), cached for
`ADMIN_CACHE_SECONDS`. When `users.info` fails the user is treated as not an admin.

Delivery (`send`, `open_dm`) is what the outbox calls. Short 429s are retried inside slack_sdk by
an `AsyncRateLimitErrorRetryHandler` (with an injectable sleep); a 429 that persists, or one
asking to wait longer than `MAX_INLINE_RETRY_AFTER`, surfaces as `RetryAfter` so the outbox
reschedules the row. Posts to one channel are spaced `min_interval` seconds apart (Slack allows
about one message per second per channel). Slack error codes map onto bot.core.errors: see
`PERMANENT_ERRORS`; 5xx, network trouble and unknown codes are `TransientDeliveryError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.render import (
    DETAILS_ACTION,
    SHARE_ACTION,
    parse_share_value,
    render,
    render_reply,
    section,
    share_value,
)
from bot.chat.grammar import PaperCommand
from bot.core.clock import system_monotonic
from bot.core.errors import (
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    RetryAfter,
    TransientDeliveryError,
)
from bot.core.models import Actor, Place, Reply
from bot.core.retry import KeySpacer, parse_retry_after
from bot.ports import HealthCheck, Part, ServiceAPI
from bot.settings import Settings

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]

PLATFORM = "slack"
MIN_POST_INTERVAL = 1.0  # seconds between two posts to one channel
MAX_INLINE_RETRY_AFTER = 30.0  # longer Retry-After waits go back to the outbox
RATE_LIMIT_RETRIES = 2
ADMIN_CACHE_SECONDS = 300.0
CONNECT_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
MAX_RESPONSES = 5  # a response_url takes at most 5 messages

# Slack error code -> PermanentDeliveryError reason (see bot.core.errors and bot.delivery.outbox.REASONS).
# Only errors about one channel or user belong here: a dead token or a missing scope breaks
# every delivery alike and must not pause each channel's digest one by one (see _AUTH_ERRORS).
PERMANENT_ERRORS = {
    "channel_not_found": "channel_not_found",
    "not_in_channel": "not_in_channel",
    "is_archived": "is_archived",
    "user_not_found": "user_not_found",
    "user_not_visible": "user_not_found",
    "user_disabled": "user_not_found",
    "users_not_found": "user_not_found",
    "cannot_dm_bot": "dm_blocked",
    "messages_tab_disabled": "dm_blocked",
    "restricted_action": "missing_permissions",
    "restricted_action_read_only_channel": "missing_permissions",
    "restricted_action_thread_only_channel": "missing_permissions",
    "restricted_action_non_threadable_channel": "missing_permissions",
    "team_access_not_granted": "missing_access",
    "ekm_access_denied": "missing_access",
}
_AUTH_ERRORS = ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


class _QuietTokenWarning(logging.Filter):
    """Drops bolt's "`token` will be unused" warning: bolt reads SLACK_BOT_TOKEN from the
    environment by itself and warns when a client is given too, which we always do on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will be unused" not in record.getMessage()


bolt_log = logging.getLogger("adapters.slack.bolt")
bolt_log.addFilter(_QuietTokenWarning())


def api_base_url(url: str) -> str:
    """SLACK_API_URL as slack_sdk wants it: ending with exactly one slash."""
    return url.rstrip("/") + "/"


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            if isinstance(value, list):
                return str(value[0]) if value else None
            return str(value)
    return None


def retry_after_seconds(headers: Mapping[str, Any] | None, default: float = 1.0) -> float:
    """The Retry-After header in seconds (a missing or odd value gives `default`)."""
    seconds = parse_retry_after(_header(headers, "retry-after"))
    return default if seconds is None else seconds


class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry handler, with an injectable sleep and a cap on the wait.

    A Retry-After above `max_wait` is not slept through: the 429 surfaces (as RetryAfter) and the
    outbox, which does not hold a connection open, waits instead."""

    def __init__(self, *, sleep: Sleep = asyncio.sleep, max_wait: float = MAX_INLINE_RETRY_AFTER, max_retry_count: int = RATE_LIMIT_RETRIES) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep
        self.max_wait = max_wait

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return (
            response is not None
            and response.status_code == 429
            and retry_after_seconds(response.headers) <= self.max_wait
        )

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        await self.sleep(retry_after_seconds(response.headers if response else None))
        state.increment_current_attempt()


def delivery_error(method: str, status: int, error: str, headers: Mapping[str, Any] | None) -> DeliveryError:
    """The bot.core.errors class for a failed Web API call."""
    if status == 429 or error == "ratelimited":
        return RetryAfter(retry_after_seconds(headers), f"Slack rate limited {method}")
    if error in _AUTH_ERRORS or error == "missing_scope":
        log.error("slack: %s failed with %s; check SLACK_BOT_TOKEN and the app's scopes", method, error)
        return TransientDeliveryError(f"Slack {method} failed: {error} (the bot token or app setup)")
    if error in PERMANENT_ERRORS:
        reason = PERMANENT_ERRORS[error]
        if error == "not_in_channel":
            return PermanentDeliveryError(
                reason, f"Slack refused {method}: {error}", hint="invite it with /invite @paperbot in that channel"
            )
        return PermanentDeliveryError(reason, f"Slack refused {method}: {error}")
    return TransientDeliveryError(f"Slack {method} failed: HTTP {status} {error}".strip())


def unescape_command(text: str) -> str:
    """Slack sends `&`, `<` and `>` in slash-command text as HTML entities; undo just those."""
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


class SlackAdapter:
    """The Slack ChatAdapter (see the module docstring)."""

    platform = PLATFORM

    def __init__(
        self,
        settings: Settings,
        *,
        health: HealthCheck | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Monotonic = system_monotonic,
        min_interval: float = MIN_POST_INTERVAL,
    ) -> None:
        self.settings = settings
        self.health = health
        self.finished = asyncio.Event()  # never set: Slack runs until paperbot stops
        self.socket_mode = bool(settings.slack_app_token.get_secret_value())
        self._sleep = sleep
        self._monotonic = monotonic
        self.min_interval = min_interval
        self.client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=api_base_url(settings.slack_api_url),
            retry_handlers=[AsyncConnectionErrorRetryHandler(), RateLimitRetry(sleep=sleep)],
        )
        # The bolt app uses our client (and, per request, copies of it), so every Web API call,
        # including Socket Mode's apps.connections.open, goes to SLACK_API_URL.
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.slack_signing_secret.get_secret_value() or None,
            request_verification_enabled=not self.socket_mode,
            name="paperbot",
            logger=bolt_log,
        )
        self.app.command(settings.slack_command)(self._on_command)
        self.app.action(re.compile(f"^{DETAILS_ACTION}"))(self._on_details)
        self.app.action(SHARE_ACTION)(self._on_share)
        self.service: ServiceAPI | None = None
        self.bot_user_id = ""
        self.team_id = ""
        self.http_port: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._spacer = KeySpacer(lambda _channel: self.min_interval, sleep=sleep, monotonic=monotonic)
        self._dm_channels: dict[str, str] = {}
        self._admins: dict[str, tuple[bool, float]] = {}
        self._inflight: set[asyncio.Task[Any]] = set()

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self, service: ServiceAPI) -> None:
        """Check the bot token (auth.test), then connect Socket Mode or start the HTTP server."""
        self.service = service
        self._session = aiohttp.ClientSession()
        self.client.session = self._session
        await self._identify()
        if self.socket_mode:
            await self._start_socket_mode()
        else:
            await self._start_http()

    async def stop(self) -> None:
        """Stop taking events, let answers in progress finish, close connections."""
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
        pending = {t for t in self._inflight if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=STOP_TIMEOUT)
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
        return self._runner is not None

    async def _identify(self) -> None:
        try:
            answer = await self.client.auth_test()
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in _AUTH_ERRORS:
                raise ConfigError([f"SLACK_BOT_TOKEN: Slack answered {error}"]) from None
            log.warning("slack auth.test failed (%s); continuing", error or exc.response.status_code)
            return
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("slack auth.test could not reach %s (%s); continuing", self.client.base_url, exc)
            return
        self.bot_user_id = str(answer.get("user_id", ""))
        self.team_id = str(answer.get("team_id", ""))
        log.info("slack: connected as %s in team %s", answer.get("user", self.bot_user_id), answer.get("team", self.team_id))

    async def _start_socket_mode(self) -> None:
        self._socket = AsyncSocketModeHandler(self.app, self.settings.slack_app_token.get_secret_value(), web_client=self.client)
        client = self._socket.client
        try:
            # Asked here rather than inside connect() so a bad app token fails the start at once.
            opened = await self.client.apps_connections_open(app_token=self.settings.slack_app_token.get_secret_value())
            client.wss_uri = str(opened["url"])
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in _AUTH_ERRORS:
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
        self._runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=STOP_TIMEOUT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
        await site.start()
        addresses = self._runner.addresses
        self.http_port = int(addresses[0][1]) if addresses else self.settings.http_port
        log.info("slack: HTTP mode on %s:%s (/slack/events, /healthz)", self.settings.http_host, self.http_port)

    async def _http_events(self, request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        bolt_response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def _http_health(self, request: web.Request) -> web.Response:
        if self.health is None:
            return web.json_response({"ok": True})
        report = self.health()
        return web.json_response(report, status=200 if report.get("ok", True) else 503)

    # --- commands and buttons ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _tracked(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def _on_command(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """`/papers ...`: ack now, answer through response_url."""
        await ack()
        async with self._tracked():
            text = unescape_command(str(body.get("text") or ""))
            url = str(body.get("response_url") or "")
            try:
                actor = await self._actor(str(body.get("user_id", "")), str(body.get("user_name", "")))
                place = self._place(str(body.get("channel_id", "")), str(body.get("team_id", "")))
                reply = await self._service().handle_command(text, actor, place)
                parts = render_reply(reply, share=share_value(text))
                await self._respond(url, parts, ephemeral=reply.private or reply.is_error)
            except Exception:
                log.exception("slack command failed")
                await self._respond_error(url)

    async def _on_details(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """A Details button: the paper in full, in the message's thread (or ephemeral)."""
        await ack()
        async with self._tracked():
            url = str(body.get("response_url") or "")
            try:
                paper_id = str(body["actions"][0].get("value", ""))
                actor, place = await self._who_where(body)
                reply = await self._service().handle_command(PaperCommand(paper_id=paper_id), actor, place)
                container = body.get("container") or {}
                thread_ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
                if reply.is_error or container.get("is_ephemeral") or not thread_ts or not place.channel_id:
                    await self._respond(url, render_reply(reply, share=share_value(paper_id=paper_id)), ephemeral=True)
                    return
                public = replace(reply, private=False, shareable=False)
                try:
                    for part in render_reply(public, details_buttons=False):
                        await self.send(place.channel_id, {**part, "thread_ts": str(thread_ts)})
                except DeliveryError as exc:
                    log.info("slack: details thread reply failed (%s); answering privately", exc)
                    await self._respond(url, render_reply(reply, share=share_value(paper_id=paper_id)), ephemeral=True)
            except Exception:
                log.exception("slack details button failed")
                await self._respond_error(url)

    async def _on_share(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        """The Share button: re-run the command and post the answer in the channel."""
        await ack()
        async with self._tracked():
            url = str(body.get("response_url") or "")
            try:
                kind, value = parse_share_value(str(body["actions"][0].get("value", "")))
                if not kind:
                    await self._respond(url, render_reply(Reply(text="That button no longer works.", is_error=True)), ephemeral=True)
                    return
                actor, place = await self._who_where(body)
                command = PaperCommand(paper_id=value) if kind == "paper" else value
                reply = await self._service().handle_command(command, actor, place)
                if reply.is_error:
                    await self._respond(url, render_reply(reply), ephemeral=True)
                    return
                shared = replace(reply, private=False, shareable=False)
                await self._respond(url, render_reply(shared, shared_by=actor.user_id), ephemeral=False)
            except Exception:
                log.exception("slack share button failed")
                await self._respond_error(url)

    def _service(self) -> ServiceAPI:
        if self.service is None:
            raise RuntimeError("SlackAdapter.start() was not called")
        return self.service

    def _place(self, channel_id: str, team_id: str) -> Place:
        return Place(PLATFORM, channel_id, workspace_id=team_id or self.team_id, is_dm=channel_id.startswith("D"))

    async def _who_where(self, body: dict[str, Any]) -> tuple[Actor, Place]:
        user = body.get("user") or {}
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
        team = (body.get("team") or {}).get("id") or user.get("team_id") or ""
        actor = await self._actor(str(user.get("id", "")), str(user.get("username") or user.get("name") or ""))
        return actor, self._place(str(channel), str(team))

    async def _actor(self, user_id: str, name: str) -> Actor:
        return Actor(PLATFORM, user_id, name=name, can_manage=await self.can_manage(user_id))

    async def can_manage(self, user_id: str) -> bool:
        """Whether a user may change channel settings (admins/owners only with SLACK_ADMIN_ONLY)."""
        if not self.settings.slack_admin_only:
            return True
        now = self._monotonic()
        cached = self._admins.get(user_id)
        if cached is not None and now - cached[1] < ADMIN_CACHE_SECONDS:
            return cached[0]
        try:
            answer = await self.client.users_info(user=user_id)
        except Exception as exc:  # fail closed: an unknown user is not an admin
            log.warning("slack users.info failed for %s: %s", user_id, exc)
            return False
        user = answer.get("user") or {}
        allowed = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        self._admins[user_id] = (allowed, now)
        return allowed

    async def _respond(self, url: str, parts: list[Part], *, ephemeral: bool) -> None:
        """Send parts through a response_url (at most 5 messages; a longer answer is cut)."""
        if not url:
            log.warning("slack: no response_url to answer with")
            return
        if len(parts) > MAX_RESPONSES:
            cut = len(parts) - (MAX_RESPONSES - 1)
            note = f"…and {cut} more message{'s' if cut != 1 else ''} cut here (Slack allows {MAX_RESPONSES} answers per command). Narrow the query to see the rest."
            parts = parts[: MAX_RESPONSES - 1] + [{"text": note, "blocks": [section(note)]}]
        webhook = AsyncWebhookClient(url, session=self._session, retry_handlers=[RateLimitRetry(sleep=self._sleep)])
        for part in parts:
            message = {
                "response_type": "ephemeral" if ephemeral else "in_channel",
                "replace_original": False,
                "text": part.get("text") or " ",
                "blocks": part.get("blocks") or [],
            }
            try:
                answer = await webhook.send_dict(message)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                log.warning("slack: response_url failed: %s", exc)
                return
            if answer.status_code != 200:
                log.warning("slack: response_url answered %s %s", answer.status_code, str(answer.body)[:200])
                return

    async def _respond_error(self, url: str) -> None:
        with contextlib.suppress(Exception):
            reply = Reply(text="Sorry, something went wrong on our side; it has been logged.", is_error=True)
            await self._respond(url, render_reply(reply), ephemeral=True)

    # --- delivery ------------------------------------------------------------------------------

    def render(self, reply: Reply) -> list[Part]:
        """Pure: the reply as Block Kit messages (see render.py)."""
        return render(reply)

    async def send(self, destination: str, part: Part) -> str:
        """Post one part to a channel id (`thread_ts` in the part makes it a thread reply);
        returns the message ts. Posts to one channel are spaced `min_interval` apart."""
        async with self._spacer.turn(destination):
            kwargs: dict[str, Any] = {
                "channel": destination,
                "text": part.get("text") or " ",
                "blocks": part.get("blocks") or None,
                "unfurl_links": False,
                "unfurl_media": False,
            }
            if part.get("thread_ts"):
                kwargs["thread_ts"] = str(part["thread_ts"])
            answer = await self._call("chat.postMessage", self.client.chat_postMessage(**kwargs))
        return str(answer.get("ts", ""))

    async def open_dm(self, user_id: str) -> str:
        """The id of the DM channel with a user (`conversations.open`, remembered)."""
        if user_id in self._dm_channels:
            return self._dm_channels[user_id]
        answer = await self._call("conversations.open", self.client.conversations_open(users=user_id))
        channel = str((answer.get("channel") or {}).get("id", ""))
        if not channel:
            raise TransientDeliveryError("Slack conversations.open returned no channel")
        self._dm_channels[user_id] = channel
        return channel

    async def _call(self, method: str, call: Awaitable[Any]) -> Any:
        """Await a Web API call, mapping every failure onto bot.core.errors."""
        try:
            return await call
        except SlackApiError as exc:
            response = exc.response
            status = int(getattr(response, "status_code", 0) or 0)
            error = ""
            with contextlib.suppress(Exception):
                error = str(response.get("error", "") or "")
            raise delivery_error(method, status, error, getattr(response, "headers", None)) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransientDeliveryError(f"Slack {method} failed: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # e.g. a proxy answering HTML with status 200
            raise TransientDeliveryError(f"Slack {method} failed unexpectedly: {type(exc).__name__}: {exc}") from exc
