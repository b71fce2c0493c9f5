"""The bolt listeners: `/papers` and the Details and Share buttons, a workspace leaving
(`app_uninstalled`, `tokens_revoked`), the one listener middleware that resolves who and where,
and the one error handler.

Commands: `/papers` (SLACK_COMMAND) is acked at once with an empty body, so Slack's 3-second
deadline never depends on the work; the answer then goes through the command's `response_url`
with bolt's `respond` (ephemeral when the Reply is private, `in_channel` otherwise, never
replacing the original; at most 5 messages, a longer answer is cut with a note). A private,
shareable answer ends with a "Share to channel" button that re-runs the command and posts it
`in_channel`, "Shared by @user". Each paper has a "Details" button: its details are posted as a
thread reply under a channel message, or answered ephemerally under an ephemeral one (and when
the bot cannot post in the channel).

Who and where: `resolve_who_where`, a listener middleware on the listeners, puts the request's
`Place` and its `Actor` into bolt's `context` once per request. A distributed app qualifies
their ids by workspace (`T123:C456`; the Caller, also in the context, keeps Slack's own ids).
`Actor.can_manage` is True for everyone unless SLACK_ADMIN_ONLY=true; then only workspace admins and owners
(`users.info`: is_admin / is_owner / is_primary_owner), cached for `ADMIN_CACHE_SECONDS`; when
`users.info` fails the user is treated as not an admin. It asks with the request's client, which
in a distributed app carries that workspace's token.

Leaving: in a distributed app, `app_uninstalled` and a revoked bot token forget the workspace
(`Installations.forget_workspace`: tokens, digests, subscriptions, pending messages); as your own
app, they are only logged (SLACK_BOT_TOKEN no longer works).

Errors: one handler, `on_error`, registered as bolt's `app.error` (errors in the middleware or
in bolt) and called by every listener for an exception in its work (see `_listener` for why
bolt is not left to route those), logs the exception and answers the user privately with a
short apology, never a stack trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse

from adapters.slack.delivery import (
    MAX_INLINE_RETRY_AFTER,
    RATE_LIMIT_RETRIES,
    SlackDelivery,
    retry_after_seconds,
)
from adapters.slack.render import (
    DETAILS_ACTION,
    SHARE_ACTION,
    parse_share_value,
    render_reply,
    section,
    share_value,
)
from bot.chat.grammar import PaperCommand
from bot.core.clock import system_monotonic
from bot.core.errors import DeliveryError
from bot.core.ids import scoped_id
from bot.core.models import Actor, Place, Reply
from bot.core.retry import Monotonic, Sleep
from bot.ports import Installations, Part, ServiceAPI

log = logging.getLogger(__name__)

PLATFORM = "slack"
ADMIN_CACHE_SECONDS = 300.0
MAX_RESPONSES = 5  # a response_url takes at most 5 messages
SORRY = "Sorry, something went wrong on our side; it has been logged."

# Where the middleware leaves its answers in bolt's context (prefixed: bolt has keys of its own).
ACTOR_KEY = "paperbot_actor"  # an asyncio.Task[Actor]
PLACE_KEY = "paperbot_place"  # a Place
CALLER_KEY = "paperbot_caller"  # a Caller (the ids as Slack names them)

_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def unescape_command(text: str) -> str:
    """Slack sends `&`, `<` and `>` in slash-command text as HTML entities; undo just those."""
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


@dataclass(frozen=True)
class Caller:
    """Who sent a request and from where, as Slack names them."""

    user_id: str
    name: str
    channel_id: str
    team_id: str


def caller_of(body: dict[str, Any]) -> Caller:
    """The caller of a slash command (flat form fields), of an event (app_home_opened: the
    event names its user) or of an interaction (buttons, shortcuts, modals: nested objects)."""
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        return Caller(
            user_id=str(event.get("user", "")),
            name="",
            channel_id=str(event.get("channel", "")),
            team_id=str(body.get("team_id", "")),
        )
    if "command" in body:
        return Caller(
            user_id=str(body.get("user_id", "")),
            name=str(body.get("user_name", "")),
            channel_id=str(body.get("channel_id", "")),
            team_id=str(body.get("team_id", "")),
        )
    user = body.get("user") or {}
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    return Caller(
        user_id=str(user.get("id", "")),
        name=str(user.get("username") or user.get("name") or ""),
        channel_id=str(channel),
        team_id=str((body.get("team") or {}).get("id") or user.get("team_id") or ""),
    )


def place_of(caller: Caller, default_team_id: str, *, scoped: bool = False) -> Place:
    """The core's view of where a request came from (a D... channel is a DM). `scoped` (a
    distributed app) qualifies the channel id by its workspace (bot.core.ids.scoped_id)."""
    team = caller.team_id or default_team_id
    channel = scoped_id(team, caller.channel_id) if scoped and caller.channel_id else caller.channel_id
    return Place(PLATFORM, channel, workspace_id=team, is_dm=caller.channel_id.startswith("D"))


class AdminCheck:
    """Who may change channel settings: everyone, or with SLACK_ADMIN_ONLY only workspace admins
    and owners, asked of `users.info` and remembered for ADMIN_CACHE_SECONDS."""

    def __init__(self, client: AsyncWebClient, *, admin_only: bool, monotonic: Monotonic = system_monotonic) -> None:
        self.client = client
        self.admin_only = admin_only
        self._monotonic = monotonic
        self._answers: dict[tuple[str, str], tuple[bool, float]] = {}

    async def can_manage(self, user_id: str, *, client: AsyncWebClient | None = None, team_id: str = "") -> bool:
        """Whether a user may change channel settings (False when users.info fails). `client`
        is the request's (a distributed app's holds that workspace's token)."""
        if not self.admin_only:
            return True
        now = self._monotonic()
        cached = self._answers.get((team_id, user_id))
        if cached is not None and now - cached[1] < ADMIN_CACHE_SECONDS:
            return cached[0]
        try:
            answer = await (client or self.client).users_info(user=user_id)
        except Exception as exc:  # fail closed: an unknown user is not an admin
            log.warning("slack users.info failed for %s: %s", user_id, exc)
            return False
        user = answer.get("user") or {}
        allowed = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        self._answers[(team_id, user_id)] = (allowed, now)
        return allowed

    async def actor(self, caller: Caller, *, client: AsyncWebClient | None = None, scoped: bool = False) -> Actor:
        """The core's view of who is asking (the user id qualified by workspace when `scoped`)."""
        allowed = await self.can_manage(caller.user_id, client=client, team_id=caller.team_id)
        user_id = scoped_id(caller.team_id, caller.user_id) if scoped else caller.user_id
        return Actor(PLATFORM, user_id, name=caller.name, can_manage=allowed)


async def actor_in(context: AsyncBoltContext) -> Actor:
    """The Actor that `resolve_who_where` put into the context (waits for its admin check)."""
    task: asyncio.Task[Actor] = context[ACTOR_KEY]
    return await task


def place_in(context: AsyncBoltContext) -> Place:
    """The Place that `resolve_who_where` put into the context."""
    place: Place = context[PLACE_KEY]
    return place


def caller_in(context: AsyncBoltContext) -> Caller:
    """The Caller (Slack's own ids) that `resolve_who_where` put into the context."""
    caller: Caller = context[CALLER_KEY]
    return caller


async def _respond_waiting_out_429(respond: AsyncRespond, message: dict[str, Any], sleep: Sleep) -> WebhookResponse:
    """bolt's `respond`, with a 429 waited out the way RateLimitRetry waits for Web API calls:
    at most RATE_LIMIT_RETRIES times, and only when Retry-After is at most MAX_INLINE_RETRY_AFTER."""
    for _ in range(RATE_LIMIT_RETRIES):
        answer = await respond(**message)
        wait = retry_after_seconds(answer.headers)
        if answer.status_code != 429 or wait > MAX_INLINE_RETRY_AFTER:
            return answer
        await sleep(wait)
    return await respond(**message)


async def respond_parts(respond: AsyncRespond, parts: list[Part], *, ephemeral: bool, sleep: Sleep = asyncio.sleep) -> None:
    """Send parts through the request's response_url (at most 5 messages; a longer answer is cut
    with a note). Failures are logged: nobody is left to tell."""
    if not respond.response_url:
        log.warning("slack: no response_url to answer with")
        return
    if len(parts) > MAX_RESPONSES:
        cut = len(parts) - (MAX_RESPONSES - 1)
        note = f"…and {cut} more message{'s' if cut != 1 else ''} cut here (Slack allows {MAX_RESPONSES} answers per command). Narrow the query to see the rest."
        parts = parts[: MAX_RESPONSES - 1] + [{"text": note, "blocks": [section(note)]}]
    for part in parts:
        message = {
            "response_type": "ephemeral" if ephemeral else "in_channel",
            "replace_original": False,
            "text": part.get("text") or " ",
            "blocks": part.get("blocks") or [],
        }
        try:
            answer = await _respond_waiting_out_429(respond, message, sleep)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("slack: response_url failed: %s", exc)
            return
        if answer.status_code != 200:
            log.warning("slack: response_url answered %s %s", answer.status_code, str(answer.body)[:200])
            return


class InFlight:
    """The tasks answering requests right now, so that stop() can let them finish."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Count the current task as in flight for the duration of the block (nested blocks
        in one task, such as the error handler inside a listener, leave it to the outer one)."""
        task = asyncio.current_task()
        outermost = task is not None and task not in self._tasks
        if outermost and task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if outermost and task is not None:
                self._tasks.discard(task)

    async def wait(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for the tasks in flight to finish."""
        pending = {t for t in self._tasks if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=timeout)


def _what(body: dict[str, Any]) -> str:
    """A short name for a request, for the logs."""
    if "command" in body:
        return f"command {body.get('command')}"
    if body.get("type") == "event_callback":
        return f"event {(body.get('event') or {}).get('type', '?')}"
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    return f"button {action.get('action_id', '?')}"


# What a listener does once acked: the request's body, bolt's context (with who and where in
# it) and bolt's respond.
Work = Callable[[dict[str, Any], AsyncBoltContext, AsyncRespond], Awaitable[None]]


class SlackListeners:
    """The bolt listeners, their middleware and the error handler (see the module docstring).

    `service` and `default_team_id` are set by SlackAdapter.start(); until then a command is
    answered with the apology."""

    def __init__(
        self,
        admins: AdminCheck,
        delivery: SlackDelivery,
        *,
        installations: Installations | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.admins = admins
        self.delivery = delivery
        # A distributed app (installed through OAuth) qualifies every id by its workspace.
        self.installations = installations
        self.distributed = installations is not None
        self.service: ServiceAPI | None = None
        self.default_team_id = ""
        self.inflight = InFlight()
        self._sleep = sleep

    def attach(self, app: AsyncApp, command: str) -> None:
        """Register the listeners (each behind the who/where middleware) and the error handler."""
        middleware = [self.resolve_who_where]
        app.command(command, middleware=middleware)(self._listener(self.command))
        app.action(re.compile(f"^{DETAILS_ACTION}"), middleware=middleware)(self._listener(self.details))
        app.action(SHARE_ACTION, middleware=middleware)(self._listener(self.share))
        app.event("app_uninstalled")(self._listener(self.uninstalled))
        app.event("tokens_revoked")(self._listener(self.tokens_revoked))
        app.error(self.on_error)

    def _listener(self, work: Work) -> Callable[..., Awaitable[None]]:
        """The bolt listener for `work`: ack at once with an empty body (so Slack's 3-second
        deadline never depends on the work), then run it, counted in flight for stop().

        An exception from the work goes straight to `on_error` rather than up to bolt: bolt's
        asyncio runner hands it to `app.error` too, but then sets the ack back to None, and when
        its 10 ms ack poll has not seen the ack yet, Slack gets no ack at all (Socket Mode) or a
        404 after 3 seconds (HTTP mode), on top of the apology."""

        async def listener(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond) -> None:
            await ack()
            with self.inflight.track():
                try:
                    await work(body, context, respond)
                except Exception as error:
                    await self.on_error(error, body, respond, None)

        listener.__name__ = work.__name__  # bolt names listeners in its logs
        return listener

    def _service(self) -> ServiceAPI:
        if self.service is None:
            raise RuntimeError("SlackAdapter.start() was not called")
        return self.service

    async def _respond(self, respond: AsyncRespond, parts: list[Part], *, ephemeral: bool) -> None:
        await respond_parts(respond, parts, ephemeral=ephemeral, sleep=self._sleep)

    # --- middleware ----------------------------------------------------------------------------

    async def resolve_who_where(self, context: AsyncBoltContext, body: dict[str, Any], next_: Callable[[], Awaitable[None]]) -> None:
        """Listener middleware: the request's Place and Actor, into `context` once per request.

        Listener middleware runs before the listener, so before its ack(): anything awaited here
        would delay the ack past Slack's 3 seconds when users.info is slow or rate limited. The
        admin check is therefore started here and awaited by the listener after its ack."""
        caller = caller_of(body)
        context[CALLER_KEY] = caller
        context[PLACE_KEY] = place_of(caller, self.default_team_id, scoped=self.distributed)
        actor = self.admins.actor(caller, client=context.client, scoped=self.distributed)
        context[ACTOR_KEY] = asyncio.create_task(actor, name="slack-admin-check")
        await next_()

    # --- listeners (run once acked, see _listener) ---------------------------------------------

    async def command(self, body: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """`/papers ...`: the answer, through response_url."""
        text = unescape_command(str(body.get("text") or ""))
        reply = await self._service().handle_command(text, await actor_in(context), place_in(context))
        await self._respond(respond, render_reply(reply, share=share_value(text)), ephemeral=reply.private or reply.is_error)

    async def details(self, body: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """A Details button: the paper in full, in the message's thread (or ephemeral)."""
        paper_id = str(body["actions"][0].get("value", ""))
        place = place_in(context)
        reply = await self._service().handle_command(PaperCommand(paper_id=paper_id), await actor_in(context), place)
        private = render_reply(reply, share=share_value(paper_id=paper_id))
        container = body.get("container") or {}
        thread_ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
        if reply.is_error or container.get("is_ephemeral") or not thread_ts or not place.channel_id:
            await self._respond(respond, private, ephemeral=True)
            return
        public = replace(reply, private=False, shareable=False)
        try:
            for part in render_reply(public, details_buttons=False):
                await self.delivery.send(place.channel_id, {**part, "thread_ts": str(thread_ts)})
        except DeliveryError as exc:
            log.info("slack: details thread reply failed (%s); answering privately", exc)
            await self._respond(respond, private, ephemeral=True)

    async def share(self, body: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """The Share button: re-run the command and post the answer in the channel."""
        kind, value = parse_share_value(str(body["actions"][0].get("value", "")))
        if not kind:
            await self._respond(respond, render_reply(Reply(text="That button no longer works.", is_error=True)), ephemeral=True)
            return
        actor = await actor_in(context)
        command = PaperCommand(paper_id=value) if kind == "paper" else value
        reply = await self._service().handle_command(command, actor, place_in(context))
        if reply.is_error:
            await self._respond(respond, render_reply(reply), ephemeral=True)
            return
        shared = replace(reply, private=False, shareable=False)
        await self._respond(respond, render_reply(shared, shared_by=caller_in(context).user_id), ephemeral=False)

    # --- the workspace leaving -----------------------------------------------------------------

    async def uninstalled(self, body: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """`app_uninstalled`: forget the workspace (its tokens, digests, alerts, pending messages)."""
        self._forget(str(body.get("team_id") or ""), "the app was uninstalled")

    async def tokens_revoked(self, body: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """`tokens_revoked`: a revoked bot token is the workspace leaving (nothing can reach it
        any more), so it is forgotten like an uninstall. paperbot asks for no user tokens, so a
        revoked user token leaves nothing to remove."""
        tokens = (body.get("event") or {}).get("tokens") or {}
        if tokens.get("bot"):
            self._forget(str(body.get("team_id") or ""), "its bot token was revoked")
        else:
            log.info("slack: user tokens revoked in %s; paperbot holds none", body.get("team_id"))

    def _forget(self, team_id: str, why: str) -> None:
        if self.installations is None:
            log.warning("slack: %s in workspace %s; SLACK_BOT_TOKEN no longer works", why, team_id or "?")
            return
        if not team_id:
            log.warning("slack: %s, but the event names no workspace", why)
            return
        log.info("slack: %s in workspace %s; forgetting it", why, team_id)
        self.installations.forget_workspace(PLATFORM, team_id)

    # --- errors --------------------------------------------------------------------------------

    async def on_error(self, error: Exception, body: dict[str, Any], respond: AsyncRespond, response: BoltResponse | None) -> BoltResponse | None:
        """The one error handler (bolt's `app.error`, and `_listener` for the listeners' work):
        log the exception, apologise to the user privately.

        `response` is None once the request is acked. An error before the ack (in the
        middleware) would otherwise answer Slack with a 500, which Socket Mode never acks, so
        the user would also see Slack's own failure notice: ack it with an empty 200 instead."""
        with self.inflight.track():
            log.error("slack %s failed", _what(body), exc_info=error)
            try:
                await self._respond(respond, render_reply(Reply(text=SORRY, is_error=True)), ephemeral=True)
            except Exception:  # the apology is best effort; the error itself is logged above
                log.warning("slack: could not send the apology", exc_info=True)
        return BoltResponse(status=200, body="") if response is not None else None
