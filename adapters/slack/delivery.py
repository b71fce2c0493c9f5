"""Slack delivery: posting messages and opening DMs through the Web API, for the outbox (and the
Details button's thread replies), with every failure mapped onto bot.core.errors.

- Posts to one channel are spaced `min_interval` seconds apart (Slack allows about one message
  per second per channel), with `bot.core.retry.KeySpacer`.
- DM channel ids (`conversations.open`) are remembered per user.
- A distributed app (`bot_token_of` given) serves many workspaces: destinations are then
  qualified by their workspace (`T123:C456`, bot.core.ids.scoped_id) and each call is made with
  that workspace's bot token, read from the installations when it is made (a reinstall's new
  token is used at once). A workspace with no installation is a permanent failure
  (`missing_access`), as is an unqualified destination. Without it (your own app), destinations
  are plain channel and user ids and the one bot token is used.
- Short 429s are retried inside slack_sdk by `RateLimitRetry` (an
  `AsyncRateLimitErrorRetryHandler` with an injectable sleep); a 429 that persists, or one asking
  to wait longer than `MAX_INLINE_RETRY_AFTER`, surfaces as `RetryAfter` so the outbox
  reschedules the row.
- Slack error codes map onto bot.core.errors (`delivery_error`): see `PERMANENT_ERRORS`; a dead
  token or a missing scope (`AUTH_ERRORS`), 5xx, network trouble and unknown codes are
  `TransientDeliveryError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.types import as_dicts, objects
from bot.core.clock import system_monotonic
from bot.core.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RetryAfter,
    TransientDeliveryError,
)
from bot.core.ids import scoped_id, split_scoped_id
from bot.core.retry import KeySpacer, Monotonic, Sleep, parse_retry_after
from bot.ports import Part

log = logging.getLogger(__name__)

MIN_POST_INTERVAL = 1.0  # seconds between two posts to one channel
MAX_INLINE_RETRY_AFTER = 30.0  # longer Retry-After waits go back to the outbox
RATE_LIMIT_RETRIES = 2

# Slack error code -> PermanentDeliveryError reason (see bot.core.errors and bot.delivery.outbox.REASONS).
# Only errors about one channel or user belong here: a dead token or a missing scope breaks
# every delivery alike and must not pause each channel's digest one by one (see AUTH_ERRORS).
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
# Errors about the bot token itself (also what start() turns into a ConfigError).
AUTH_ERRORS = ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type")


def _header(headers: Mapping[str, object] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            if isinstance(value, list):
                return str(value[0]) if value else None
            return str(value)
    return None


def retry_after_seconds(headers: Mapping[str, object] | None, default: float = 1.0) -> float:
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


def delivery_error(method: str, status: int, error: str, headers: Mapping[str, object] | None) -> DeliveryError:
    """The bot.core.errors class for a failed Web API call."""
    if status == 429 or error == "ratelimited":
        return RetryAfter(retry_after_seconds(headers), f"Slack rate limited {method}")
    if error in AUTH_ERRORS or error == "missing_scope":
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


TokenLookup = Callable[[str], str | None]
"""A workspace id -> that workspace's bot token (None when the app is not installed there)."""


class SlackDelivery:
    """Posts parts and opens DMs through the Web API (see the module docstring)."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        bot_token_of: TokenLookup | None = None,
        min_interval: float = MIN_POST_INTERVAL,
        sleep: Sleep = asyncio.sleep,
        monotonic: Monotonic = system_monotonic,
    ) -> None:
        self.client = client
        self.bot_token_of = bot_token_of
        self.min_interval = min_interval
        self._spacer = KeySpacer(lambda _channel: self.min_interval, sleep=sleep, monotonic=monotonic)
        self._dm_channels: dict[str, str] = {}

    def client_for(self, destination: str) -> tuple[AsyncWebClient, str]:
        """The client to reach a destination with, and the destination as Slack names it."""
        workspace, local = split_scoped_id(destination)
        if self.bot_token_of is None:
            return self.client, destination
        if not workspace:
            raise PermanentDeliveryError("missing_access", f"Slack destination {destination!r} names no workspace")
        token = self.bot_token_of(workspace)
        if token is None:
            raise PermanentDeliveryError("missing_access", f"paperbot is not installed in Slack workspace {workspace}")
        # Cheap to make; sharing the base client's session and retry handlers keeps every call
        # on SLACK_API_URL with the same 429 handling.
        client = AsyncWebClient(
            token=token,
            base_url=self.client.base_url,
            session=self.client.session,
            timeout=self.client.timeout,
            retry_handlers=list(self.client.retry_handlers),
        )
        return client, local

    async def send(self, destination: str, part: Part) -> str:
        """Post one part to a channel id (`thread_ts` in the part makes it a thread reply);
        returns the message ts. Posts to one channel are spaced `min_interval` apart."""
        client, channel = self.client_for(destination)
        async with self._spacer.turn(destination):
            thread_ts = part.get("thread_ts")
            posted = client.chat_postMessage(
                channel=channel,
                text=str(part.get("text") or " "),
                blocks=as_dicts(objects(part.get("blocks"))) or None,
                thread_ts=str(thread_ts) if thread_ts else None,  # None is left out by slack_sdk
                unfurl_links=False,
                unfurl_media=False,
            )
            answer = await self._call("chat.postMessage", posted)
        return str(answer.get("ts", ""))

    async def open_dm(self, user_id: str) -> str:
        """The id of the DM channel with a user (`conversations.open`, remembered), qualified
        by the user's workspace like the user id."""
        if user_id in self._dm_channels:
            return self._dm_channels[user_id]
        client, user = self.client_for(user_id)
        answer = await self._call("conversations.open", client.conversations_open(users=user))
        channel = str((answer.get("channel") or {}).get("id", ""))
        if not channel:
            raise TransientDeliveryError("Slack conversations.open returned no channel")
        channel = scoped_id(split_scoped_id(user_id)[0], channel) if self.bot_token_of else channel
        self._dm_channels[user_id] = channel
        return channel

    async def _call(self, method: str, call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
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
