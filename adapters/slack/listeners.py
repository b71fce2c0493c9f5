"""The bolt listeners: `/papers` and the Details and Share buttons, a workspace leaving
(`app_uninstalled`, `tokens_revoked`), the one listener middleware that resolves who and where,
and the one error handler.

Commands: `/papers` (SLACK_COMMAND) is acked at once with an empty body, by the adapter before
bolt sees it (app.py; `ACKED_KEY` in the context), so Slack's 3-second deadline never depends
on the work, and the work then waits for the acks of the requests still
arriving (`AcksFirst`: a burst is acked first, then answered); the answer then goes through the command's `response_url`
with bolt's `respond` (ephemeral when the Reply is private, `in_channel` otherwise; at most 5
messages, a longer answer is cut with a note). A command whose work is slow (`paper <id>` looked
up on arXiv) first gets the core's interim reply through `respond`, and the final answer then
replaces it (`replace_original`). A private, shareable answer ends with a "Share to channel"
button whose value is only a token the core issued for that answer, that person and that place
(`ServiceAPI.keep_for_sharing`): Share posts exactly that answer `in_channel`, "Shared by @user",
once; a forged, replayed, expired or someone else's token gets a short private note, and no
button value is ever run as a command. Each paper has a "Details" button: its details are posted as a
thread reply under a channel message, or answered ephemerally under an ephemeral one (and when
the bot cannot post in the channel).

Feedback buttons (👍 Relevant, 👎 Not for me, 🔖 Save) are acked at once; the service records
the choice for whoever clicked (milliseconds) and the click is shown to them alone. Their own
message (an ephemeral answer, their DM with paperbot) is redrawn with the choice marked through
the click's response_url (`replace_original`). Slack sends no blocks with a click on an
ephemeral message, so the private answers sent are remembered under a token carried in their
rows' block_ids, per person: in paperbot's store when the runtime gives one (`PrivateAnswers`,
so that behind a load balancer a click on any replica redraws what another one sent, and a
restart forgets nothing), else in this process (the last PRIVATE_ANSWERS_KEPT). A click on one
no longer held (expired) is still recorded and confirmed privately. A message in a channel is
never redrawn, since everyone would see the mark: the clicker gets a private confirmation. Public
copies (Share, a Details thread reply) carry no feedback buttons. More like this answers
privately with papers.

Who and where: `resolve_who_where`, a listener middleware on the listeners, puts the request's
`Place` and its `Actor` into bolt's `context` once per request. A distributed app qualifies
their ids by workspace (`T123:C456`; the Caller, also in the context, keeps Slack's own ids).
`Actor.can_manage` is True for everyone unless SLACK_ADMIN_ONLY=true; then only workspace admins and owners
(`users.info`: is_admin / is_owner / is_primary_owner), cached for `ADMIN_CACHE_SECONDS`; when
`users.info` fails the user is treated as not an admin. It asks with the request's client, which
in a distributed app carries that workspace's token.

Where a slash command was typed: Slack names only the conversation's id, and a `D...` id is
any direct message, also one between two other people (a slash command works there too), where
paperbot can neither see nor post. So after the ack, a command from a direct message (an id
starting with D or G, or a `directmessage` / `mpdm-` channel name) asks `conversations.info`
(`ConversationCheck`, remembered CONVERSATION_CACHE_SECONDS per workspace and conversation):
it is the caller's own DM only when `is_im` and its `user` is the caller (paperbot's token sees
only its own DMs); a group DM is a channel paperbot can post in when it is a member. Anywhere
else, commands that post in the conversation (`digest on`, `digest now`, the settings form)
are answered with where paperbot can post instead; the rest are answered as in a channel.
When the lookup fails (network, rate limit) the id's prefix is trusted, as before.

App Home: `app_home_opened` publishes the person's Home (`ServiceAPI.home`, drawn by views.py);
its buttons run their `/papers` command as the person in the channel they are about (or open
that channel's settings, their own digest's form, or a paper in a modal) and publish the Home
again with the outcome on top; a typed command that changes what the Home shows refreshes it too
(best effort). Their own digest's form (Change) saves as `digest me on` through the core.

Digest settings: `/papers digest edit`, a digest's Settings button and a Home digest's Settings
open the channel's settings modal (`ServiceAPI.digest_form`); someone who may not change it gets
a modal saying so. On submit, every field is checked before the ack (bot.chat.forms, the
command's own parsers) and bad ones are shown beside themselves (`response_action: errors`);
good ones close the modal and run as the same DigestOnCommand, with its permission check, and
the outcome is posted privately in the channel. Time zones are offered as one types.

Message shortcuts (shortcuts.py: Paper details, Save paper, More like this) run their command
about the paper a message links, privately; "Save paper" refreshes the Home like a typed save.

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
import json
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import cast

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
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
    FEEDBACK_ACTION,
    ITEM_ACTIONS_BLOCK,
    SETTINGS_ACTION,
    SHARE_ACTION,
    mark_choice,
    parse_feedback_action,
    render_reply,
    section,
)
from adapters.slack.shortcuts import SHORTCUTS, linked_paper, shortcut_for
from adapters.slack.types import (
    Body,
    Message,
    ModalView,
    ResponseMessage,
    as_dicts,
    first_action,
    mapping,
    object_or_empty,
    objects,
    sdk_view,
)
from adapters.slack.views import (
    DIGEST_MODAL,
    HOME_DETAILS_ACTION,
    HOME_EDIT_ACTION,
    HOME_PERSONAL_ACTION,
    HOME_RUN_ACTION,
    PERSONAL_MODAL,
    TIME_ZONE_ACTION,
    digest_modal,
    digest_values,
    field_errors,
    home_view,
    message_modal,
    modal_channel,
    paper_modal,
    personal_digest_modal,
    personal_digest_values,
    time_zone_options,
)
from bot.chat.forms import parse_digest_form, parse_personal_digest_form, time_zone_choices
from bot.chat.grammar import (
    DigestMeCommand,
    DigestNowCommand,
    DigestOffCommand,
    DigestOnCommand,
    FeedbackCommand,
    ListSubscriptionsCommand,
    PaperCommand,
    QuietHoursCommand,
    SubscribeCommand,
    UnlikeCommand,
    UnsubscribeCommand,
    parse_command,
)
from bot.chat.view import ItemAction
from bot.core.clock import system_monotonic
from bot.core.errors import DeliveryError, FormErrors, UserInputError
from bot.core.ids import scoped_id
from bot.core.metrics import Metrics
from bot.core.models import Actor, Place, Reply
from bot.core.retry import Monotonic, Sleep
from bot.core.workers import interactive
from bot.ports import Installations, PrivateAnswers, ServiceAPI

# A message as Slack echoes it back in a block_actions body (or as kept for a redraw): raw
# JSON read key by key, so it stays a plain dict rather than the Message TypedDict.
RawMessage = dict[str, object]

log = logging.getLogger(__name__)

PLATFORM = "slack"
WORK_SLOTS = 4  # requests worked on at once after their ack (see SlackListeners)
ACKS_FIRST_SECONDS = 0.5  # work after an ack waits at most this long for other requests' acks
ADMIN_CACHE_SECONDS = 300.0
CONVERSATION_CACHE_SECONDS = 3600.0  # what conversations.info said about a conversation
MAX_RESPONSES = 5  # a response_url takes at most 5 messages
# Private answers with feedback buttons kept (per process, newest last) so a click can redraw
# them, when no store keeps them: Slack does not send an ephemeral message's blocks with a click.
PRIVATE_ANSWERS_KEPT = 500
SORRY = "Sorry, something went wrong on our side; it has been logged."

# Where the middleware leaves its answers in bolt's context (prefixed: bolt has keys of its own).
ACTOR_KEY = "paperbot_actor"  # an asyncio.Task[Actor]
PLACE_KEY = "paperbot_place"  # a Place
CALLER_KEY = "paperbot_caller"  # a Caller (the ids as Slack names them)
RECEIVED_KEY = "paperbot_received_at"  # monotonic seconds when the middleware saw the request
# True when the adapter acked the request before bolt saw it (a slash command: see app.py);
# nothing the listener acks then reaches Slack, and it answers through the response_url as always.
ACKED_KEY = "paperbot_acked"

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


def caller_of(body: Body) -> Caller:
    """The caller of a slash command (flat form fields), of an event (app_home_opened: the
    event names its user) or of an interaction (buttons, shortcuts, modals: nested objects)."""
    if body.get("type") == "event_callback":
        event = mapping(body, "event")
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
    user = mapping(body, "user")
    channel = mapping(body, "channel").get("id") or mapping(body, "container").get("channel_id") or ""
    return Caller(
        user_id=str(user.get("id", "")),
        name=str(user.get("username") or user.get("name") or ""),
        channel_id=str(channel),
        team_id=str(mapping(body, "team").get("id") or user.get("team_id") or ""),
    )


def place_of(caller: Caller, default_team_id: str, *, scoped: bool = False, is_dm: bool | None = None) -> Place:
    """The core's view of where a request came from (a D... channel is a DM, unless `is_dm`
    says what conversations.info found). `scoped` (a distributed app) qualifies the channel id
    by its workspace (bot.core.ids.scoped_id)."""
    team = caller.team_id or default_team_id
    channel = scoped_id(team, caller.channel_id) if scoped and caller.channel_id else caller.channel_id
    dm = caller.channel_id.startswith("D") if is_dm is None else is_dm
    return Place(PLATFORM, channel, workspace_id=team, is_dm=dm)


def may_be_direct_message(channel_id: str, channel_name: str = "") -> bool:
    """Whether a conversation may be a direct message (one-to-one or group), judging by what a
    slash command names of it: only those need conversations.info to say whose it is."""
    return channel_id.startswith(("D", "G")) or channel_name == "directmessage" or channel_name.startswith("mpdm-")


@dataclass(frozen=True)
class Conversation:
    """What paperbot's token can see of a conversation (Slack's conversations.info)."""

    visible: bool  # False: channel_not_found, e.g. a direct message between other people
    is_im: bool = False
    im_user: str = ""  # whom an IM is with (its other side is paperbot)
    is_mpim: bool = False
    is_member: bool = False

    def is_dm_of(self, user_id: str) -> bool:
        """Whether this is `user_id`'s own DM with paperbot."""
        return self.visible and self.is_im and self.im_user == user_id

    def can_post(self, user_id: str) -> bool:
        """Whether paperbot can post here for `user_id`: their own DM with it, or a conversation
        it sees and is a member of."""
        return self.is_dm_of(user_id) or (self.visible and not self.is_im and self.is_member)


CANNOT_POST = (
    "paperbot cannot post in this conversation: it is a direct message paperbot is not part of. "
    "For a daily digest in your own DMs, use /papers digest me on 08:00 (or write to paperbot in its Messages tab); "
    "for a channel's digest, invite @paperbot to the channel and run the command there."
)


class ConversationCheck:
    """Whose conversation a request came from, asked of `conversations.info` once per
    CONVERSATION_CACHE_SECONDS (per workspace and conversation) after the request's ack."""

    def __init__(self, client: AsyncWebClient, *, monotonic: Monotonic = system_monotonic) -> None:
        self.client = client
        self._monotonic = monotonic
        self._answers: dict[tuple[str, str], tuple[Conversation | None, float]] = {}

    async def conversation(self, channel_id: str, *, client: AsyncWebClient | None = None, team_id: str = "") -> Conversation | None:
        """What conversations.info says of a conversation; None when it could not be asked
        (network, rate limit, an unexpected error: not remembered; a missing scope: remembered),
        and the caller keeps its guess."""
        now = self._monotonic()
        cached = self._answers.get((team_id, channel_id))
        if cached is not None and now - cached[1] < CONVERSATION_CACHE_SECONDS:
            return cached[0]
        found: Conversation | None
        try:
            answer = await (client or self.client).conversations_info(channel=channel_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error == "channel_not_found":
                # Not visible to paperbot's token: a DM between other people (or a private
                # conversation it is not in).
                found = Conversation(visible=False)
            elif error == "missing_scope":
                # Installed before im:read / mpim:read were asked for: remembered as unknown,
                # so the prefix is trusted without asking again and again.
                log.warning("slack conversations.info: missing scope (reinstall the app for im:read, mpim:read)")
                found = None
            else:
                log.warning("slack conversations.info failed for %s: %s", channel_id, error)
                return None
        except Exception as exc:
            log.warning("slack conversations.info failed for %s: %s", channel_id, exc)
            return None
        else:
            channel = answer.get("channel") or {}
            found = Conversation(
                visible=True,
                is_im=bool(channel.get("is_im")),
                im_user=str(channel.get("user") or ""),
                is_mpim=bool(channel.get("is_mpim")),
                is_member=bool(channel.get("is_member")),
            )
        self._answers[(team_id, channel_id)] = (found, now)
        return found


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


async def _respond_waiting_out_429(respond: AsyncRespond, message: ResponseMessage, sleep: Sleep) -> WebhookResponse:
    """bolt's `respond`, with a 429 waited out the way RateLimitRetry waits for Web API calls:
    at most RATE_LIMIT_RETRIES times, and only when Retry-After is at most MAX_INLINE_RETRY_AFTER."""
    for _ in range(RATE_LIMIT_RETRIES):
        answer = await respond(**message)
        wait = retry_after_seconds(answer.headers)
        if answer.status_code != 429 or wait > MAX_INLINE_RETRY_AFTER:
            return answer
        await sleep(wait)
    return await respond(**message)


async def respond_parts(
    respond: AsyncRespond, parts: Sequence[Message], *, ephemeral: bool, sleep: Sleep = asyncio.sleep, replace_first: bool = False
) -> None:
    """Send parts through the request's response_url (at most 5 messages; a longer answer is cut
    with a note). `replace_first`: the first part replaces the message the response_url posted
    last (an interim reply). Failures are logged: nobody is left to tell."""
    if not respond.response_url:
        log.warning("slack: no response_url to answer with")
        return
    if len(parts) > MAX_RESPONSES:
        cut = len(parts) - (MAX_RESPONSES - 1)
        note = f"…and {cut} more message{'s' if cut != 1 else ''} cut here (Slack allows {MAX_RESPONSES} answers per command). Narrow the query to see the rest."
        parts = [*parts[: MAX_RESPONSES - 1], {"text": note, "blocks": [section(note)]}]
    for index, part in enumerate(parts):
        message: ResponseMessage = {
            "response_type": "ephemeral" if ephemeral else "in_channel",
            "replace_original": replace_first and index == 0,
            "text": part.get("text") or " ",
            "blocks": as_dicts(part.get("blocks") or []),
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
        self._tasks: set[asyncio.Task[object]] = set()

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

    def start(self, work: Awaitable[None], name: str) -> None:
        """Run `work` as a task of its own, in flight until it ends (a request's work after its
        ack: the listener returns at once, so bolt answers Slack without waiting for it)."""
        task: asyncio.Task[object] = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for the tasks in flight to finish."""
        pending = {t for t in self._tasks if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=timeout)


class AcksFirst:
    """Requests received and not acked yet, so that work waits for their acks: a burst of
    commands is acked first, then worked on. The work of an acked request (search, render,
    answer) runs on the same event loop, and its worker threads take the GIL from it, so
    starting it while other requests wait for their ack makes every later ack slower.

    `receiving()` wraps the handling of one request up to its ack (HTTP mode: the request
    handler; Socket Mode: the envelope's handling); `queued` counts requests that arrived and
    are not being handled yet (Socket Mode's message queue). `wait()` returns once none is left,
    or after `patience` seconds, so that a steady stream of requests never starves the work."""

    def __init__(self, patience: float = ACKS_FIRST_SECONDS, *, queued: Callable[[], int] = lambda: 0) -> None:
        self.patience = patience
        self.queued = queued
        self.unacked = 0
        self._changed = asyncio.Event()

    @contextlib.contextmanager
    def receiving(self) -> Iterator[None]:
        """Count one request as waiting for its ack for the duration of the block."""
        self.unacked += 1
        try:
            yield
        finally:
            self.unacked -= 1
            self._changed.set()

    def waiting(self) -> bool:
        """Whether some request waits for its ack."""
        return self.unacked > 0 or self.queued() > 0

    async def wait(self) -> None:
        """Return when no request waits for its ack, or after `patience` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.patience):
                while self.waiting():
                    self._changed.clear()
                    # A short bound: a request queued (not yet being handled) sets no event.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.05)


def _what(body: Body) -> str:
    """A short name for a request, for the logs."""
    if "command" in body:
        return f"command {body.get('command')}"
    if body.get("type") == "event_callback":
        return f"event {mapping(body, 'event').get('type', '?')}"
    if body.get("type") == "view_submission":
        return f"modal {mapping(body, 'view').get('callback_id', '?')}"
    if body.get("type") in ("message_action", "shortcut"):
        return f"shortcut {body.get('callback_id', '?')}"
    actions = body.get("actions")
    action = object_or_empty(actions[0]) if isinstance(actions, list) and actions else {}
    return f"button {action.get('action_id', '?')}"


EDIT_COMMANDS = ("digest edit", "digest settings")  # answered with the settings modal


def changes_home(text: str) -> bool:
    """Whether a command changes what its sender's Home shows (their subscriptions, quiet
    hours, saved papers, personal digest, or a digest they set up)."""
    try:
        command = parse_command(text)
    except UserInputError:
        return False
    if isinstance(command, QuietHoursCommand):
        return command.off or command.start is not None
    if isinstance(command, FeedbackCommand):
        return command.action == "save"
    if isinstance(command, DigestMeCommand):
        return command.action != "show"
    return isinstance(command, (SubscribeCommand, UnsubscribeCommand, UnlikeCommand, DigestOnCommand, DigestOffCommand))


def posts_here(text: str) -> bool:
    """Whether a command makes paperbot post in the conversation it was typed in (a channel's
    digest turned on, or posted now)."""
    try:
        command = parse_command(text)
    except UserInputError:
        return False
    return isinstance(command, (DigestOnCommand, DigestNowCommand))


def is_personal(text: str) -> bool:
    """Whether a command is about the person alone (subscriptions, quiet hours, saved papers,
    their personal digest), so it may run from a Home button that names no channel."""
    try:
        command = parse_command(text)
    except UserInputError:
        return False
    return isinstance(
        command,
        (SubscribeCommand, UnsubscribeCommand, ListSubscriptionsCommand, QuietHoursCommand, UnlikeCommand, DigestMeCommand),
    )


def _json_value(body: Body) -> Mapping[str, object]:
    """A button's value as the JSON object the views put there ({} when it is not one)."""
    try:
        value = json.loads(str(first_action(body).get("value", "")))
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _first_line(reply: Reply) -> str:
    lines = [line for line in (reply.header, *reply.text.splitlines()) if line.strip()]
    return ("⚠ " if reply.is_error else "") + (lines[0] if lines else "Done.")


# What a listener does once acked: the request's body, bolt's context (with who and where in
# it) and bolt's respond.
Work = Callable[[Body, AsyncBoltContext, AsyncRespond], Awaitable[None]]


class ProcessAnswers:
    """`bot.ports.PrivateAnswers` in this process alone: the last PRIVATE_ANSWERS_KEPT (for an
    adapter built without paperbot's store; a restart or another replica does not see them)."""

    def __init__(self, kept: int = PRIVATE_ANSWERS_KEPT) -> None:
        self.kept = kept
        self._answers: OrderedDict[tuple[str, str], tuple[str, str]] = OrderedDict()

    async def keep(self, platform: str, token: str, owner: str, message: str) -> None:
        """Keep `message` under `token` for `owner`, forgetting the oldest beyond `kept`."""
        self._answers[(platform, token)] = (owner, message)
        while len(self._answers) > self.kept:
            self._answers.popitem(last=False)

    def recall(self, platform: str, token: str, owner: str) -> str | None:
        """The message kept under `token` for `owner`, or None."""
        found = self._answers.get((platform, token))
        return found[1] if found is not None and found[0] == owner else None


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
        metrics: Metrics | None = None,
        monotonic: Monotonic = system_monotonic,
        work_slots: int = WORK_SLOTS,
        answers: PrivateAnswers | None = None,
        conversations: ConversationCheck | None = None,
    ) -> None:
        self.admins = admins
        # Whose DM a command came from (see the module), asked with the request's client.
        self.conversations = conversations if conversations is not None else ConversationCheck(admins.client, monotonic=monotonic)
        self.metrics = metrics  # records how long each ack took (from the middleware on)
        self._monotonic = monotonic
        self.delivery = delivery
        # A distributed app (installed through OAuth) qualifies every id by its workspace.
        self.installations = installations
        self.distributed = installations is not None
        self.service: ServiceAPI | None = None
        self.default_team_id = ""
        self.inflight = InFlight()
        self._sleep = sleep
        # Where private answers are kept for their feedback buttons (see the module).
        self.answers: PrivateAnswers = answers if answers is not None else ProcessAnswers()
        # Work after the ack waits for one of these: a burst of commands is then answered a few
        # at a time, and the event loop is free between those few to ack every other request
        # within Slack's 3 seconds (bolt sends an ack only when its 10 ms poll gets a turn).
        # The work runs mostly in worker threads now, but those share the GIL with the loop:
        # more slots (16 was measured) answered a burst sooner and acked it later.
        self._work_slots = asyncio.Semaphore(work_slots)
        # And before a slot, the work waits for the acks of requests still arriving (AcksFirst;
        # the adapter counts them where they arrive).
        self.acks_first = AcksFirst()

    def attach(self, app: AsyncApp, command: str) -> None:
        """Register the listeners (each behind the who/where middleware) and the error handler."""
        middleware = [self.resolve_who_where]
        app.command(command, middleware=middleware)(self._listener(self.command))
        app.action(re.compile(f"^{DETAILS_ACTION}"), middleware=middleware)(self._listener(self.details))
        app.action(SHARE_ACTION, middleware=middleware)(self._listener(self.share))
        app.action(re.compile(f"^{FEEDBACK_ACTION}"), middleware=middleware)(self._listener(self.feedback))
        app.event("app_uninstalled")(self._listener(self.uninstalled))
        app.event("tokens_revoked")(self._listener(self.tokens_revoked))
        # The App Home tab, its buttons, and the digest settings modal.
        app.event("app_home_opened", middleware=middleware)(self._listener(self.home_opened))
        app.action(re.compile(f"^{HOME_RUN_ACTION}"), middleware=middleware)(self._listener(self.home_run))
        app.action(re.compile(f"^{HOME_EDIT_ACTION}"), middleware=middleware)(self._listener(self.home_edit))
        app.action(re.compile(f"^{HOME_DETAILS_ACTION}"), middleware=middleware)(self._listener(self.home_details))
        app.action(SETTINGS_ACTION, middleware=middleware)(self._listener(self.digest_settings))
        app.options(TIME_ZONE_ACTION)(self.time_zone_options)
        app.view_submission(DIGEST_MODAL, middleware=middleware)(self.settings_submitted)
        app.action(re.compile(f"^{HOME_PERSONAL_ACTION}"), middleware=middleware)(self._listener(self.home_personal))
        app.view_submission(PERSONAL_MODAL, middleware=middleware)(self.personal_submitted)
        for shortcut in SHORTCUTS:
            app.message_shortcut(shortcut.callback_id, middleware=middleware)(self._listener(self.message_shortcut))
        app.error(self.on_error)

    def _listener(self, work: Work) -> Callable[..., Awaitable[None]]:
        """The bolt listener for `work`: ack at once with an empty body (so Slack's 3-second
        deadline never depends on the work), then start the work as a task of its own, in
        flight for stop(), and return. The app runs bolt with `process_before_response` (see
        app.py): bolt answers Slack as soon as this listener returns, instead of polling every
        10 ms for the ack while the listener goes on, a poll that needs a turn of a busy loop.

        An exception from the work goes straight to `on_error` (bolt has answered already)."""

        async def listener(ack: AsyncAck, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
            received = context.get(RECEIVED_KEY) or self.clock()
            # Acked by the adapter already (ACKED_KEY): bolt's ack then only tells bolt the
            # request was handled (its response goes nowhere; without it bolt logs the request
            # as unhandled), and the adapter timed the real ack.
            await ack()
            if not context.get(ACKED_KEY):
                self.acked(received)
            self.inflight.start(self._after_ack(work(body, context, respond), body, respond), f"slack-{work.__name__}")

        listener.__name__ = work.__name__  # bolt names listeners in its logs
        return listener

    async def _after_ack(self, work: Awaitable[None], body: Body, respond: AsyncRespond) -> None:
        """A request's work once acked: when the requests still arriving are acked and one of
        the work slots is free (see __init__); an exception goes to `on_error`, which answers
        the user."""
        try:
            await self.acks_first.wait()
            # Somebody waits for this: its store work skips the digest run's queue.
            with interactive():
                async with self._work_slots:
                    await work
        except Exception as error:
            try:
                await self.on_error(error, body, respond, None)
            except Exception:  # nobody awaits this task: its failure is logged here or nowhere
                log.exception("slack: the error handler failed for %s", _what(body))

    def clock(self) -> float:
        """Now, in monotonic seconds (the clock acks are timed with)."""
        return self._monotonic()

    def acked(self, received: float) -> None:
        """Record how long a request received at `received` (`clock()`) waited for its ack."""
        if self.metrics is not None:
            self.metrics.ack_seconds.labels(platform="slack").observe(self._monotonic() - received)

    def _service(self) -> ServiceAPI:
        if self.service is None:
            raise RuntimeError("SlackAdapter.start() was not called")
        return self.service

    async def _respond(
        self, respond: AsyncRespond, parts: Sequence[Message], *, ephemeral: bool, owner: str = "", replace_first: bool = False
    ) -> None:
        """Answer through the response_url; private parts with feedback buttons are remembered
        for `owner` (the clicker to be, by Slack user id) so a click can show the choice.
        `replace_first`: the first part replaces the interim reply posted last."""
        if ephemeral and owner:
            # The remembered copy is the same message with stamped block_ids.
            parts = [cast(Message, await self._remember(owner, part)) for part in parts]
        await respond_parts(respond, parts, ephemeral=ephemeral, sleep=self._sleep, replace_first=replace_first)

    async def _remember(self, owner: str, part: Mapping[str, object], token: str = "") -> RawMessage:
        """The part with its feedback rows' block_ids carrying a fresh token, kept under that
        token for its owner (a part without feedback buttons is returned as it is)."""
        blocks = objects(part.get("blocks"))
        if not any(str(b.get("block_id", "")).startswith(ITEM_ACTIONS_BLOCK) for b in blocks):
            return dict(part)
        token = token or secrets.token_hex(6)
        stamped = [
            {**b, "block_id": f"{str(b['block_id']).split('.', 1)[0]}.{token}"}
            if str(b.get("block_id", "")).startswith(ITEM_ACTIONS_BLOCK)
            else dict(b)
            for b in blocks
        ]
        kept: RawMessage = {**part, "blocks": stamped}
        try:
            await self.answers.keep(PLATFORM, token, owner, json.dumps(kept, ensure_ascii=False))
        except Exception:  # the answer still goes out; a click on it is then confirmed privately
            log.warning("slack: could not keep a private answer for its feedback buttons", exc_info=True)
        return kept

    def _clicked_message(self, body: Body, user_id: str) -> RawMessage | None:
        """The message a feedback button was clicked on, when only the clicker sees it (their
        ephemeral answer or their DM with paperbot); None for a message others see too, or an
        ephemeral one this process no longer holds."""
        container = mapping(body, "container")
        message = mapping(body, "message")
        blocks = objects(message.get("blocks"))
        if container.get("is_ephemeral"):
            if blocks:
                return {"text": str(message.get("text") or " "), "blocks": as_dicts(blocks)}
            block_id = str(first_action(body).get("block_id", ""))
            token = block_id.split(".", 1)[1] if block_id.startswith(ITEM_ACTIONS_BLOCK) and "." in block_id else ""
            kept = self.answers.recall(PLATFORM, token, user_id) if token else None
            return cast(RawMessage, json.loads(kept)) if kept is not None else None
        channel = str(container.get("channel_id") or mapping(body, "channel").get("id") or "")
        if channel.startswith("D") and blocks:
            return {"text": str(message.get("text") or " "), "blocks": as_dicts(blocks)}
        return None

    # --- middleware ----------------------------------------------------------------------------

    async def resolve_who_where(self, context: AsyncBoltContext, body: Body, next_: Callable[[], Awaitable[None]]) -> None:
        """Listener middleware: the request's Place and Actor, into `context` once per request.

        Listener middleware runs before the listener, so before its ack(): anything awaited here
        would delay the ack past Slack's 3 seconds when users.info is slow or rate limited. The
        admin check is therefore started here and awaited by the listener after its ack."""
        context[RECEIVED_KEY] = self._monotonic()
        caller = caller_of(body)
        context[CALLER_KEY] = caller
        context[PLACE_KEY] = place_of(caller, self.default_team_id, scoped=self.distributed)
        actor = self.admins.actor(caller, client=context.client, scoped=self.distributed)
        context[ACTOR_KEY] = asyncio.create_task(actor, name="slack-admin-check")
        await next_()

    # --- listeners (run once acked, see _listener) ---------------------------------------------

    async def command(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """`/papers ...`: the answer, through response_url (`digest edit`: the settings modal).
        A command that changed what the person's Home shows refreshes it."""
        text = unescape_command(str(body.get("text") or ""))
        editing = " ".join(text.lower().split()) in EDIT_COMMANDS
        place, can_post = await self._command_place(body, context)
        if not can_post and (editing or posts_here(text)):
            await self._respond(respond, render_reply(Reply(text=CANNOT_POST, is_error=True)), ephemeral=True)
            return
        if editing:
            problem = await self._open_settings(context, str(body.get("trigger_id") or ""), caller_in(context).channel_id)
            if problem:
                await self._respond(respond, render_reply(Reply(text=problem, is_error=True)), ephemeral=True)
            return
        actor = await actor_in(context)
        reply = await self._answer(text, actor, place, respond, owner=caller_in(context).user_id)
        if not reply.is_error and changes_home(text):
            await self._publish_home(context, actor)

    async def _command_place(self, body: Body, context: AsyncBoltContext) -> tuple[Place, bool]:
        """Where a slash command was typed, and whether paperbot can post there: a command from
        a direct message asks conversations.info whose it is (see the module); the answer
        replaces the middleware's guess in the context."""
        caller = caller_in(context)
        if not may_be_direct_message(caller.channel_id, str(body.get("channel_name") or "")):
            return place_in(context), True
        found = await self.conversations.conversation(caller.channel_id, client=context.client, team_id=caller.team_id)
        if found is None:
            return place_in(context), True
        place = place_of(caller, self.default_team_id, scoped=self.distributed, is_dm=found.is_dm_of(caller.user_id))
        context[PLACE_KEY] = place
        return place, found.can_post(caller.user_id)

    async def details(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """A Details button: the paper in full, in the message's thread (or ephemeral)."""
        paper_id = str(first_action(body).get("value", ""))
        place = place_in(context)
        actor = await actor_in(context)
        reply = await self._service().handle_command(PaperCommand(paper_id=paper_id), actor, place)
        private = render_reply(reply, share=await self._share_token(reply, actor, place))
        container = mapping(body, "container")
        thread_ts = container.get("message_ts") or mapping(body, "message").get("ts")
        if reply.is_error or container.get("is_ephemeral") or not thread_ts or not place.channel_id:
            await self._respond(respond, private, ephemeral=True, owner=caller_in(context).user_id)
            return
        # Public copies carry no feedback buttons (as on Discord): a choice is the clicker's own.
        public = replace(reply, private=False, shareable=False, offers_feedback=False)
        try:
            for part in render_reply(public, details_buttons=False):
                threaded: Message = {**part, "thread_ts": str(thread_ts)}
                await self.delivery.send(place.channel_id, threaded)
        except DeliveryError as exc:
            log.info("slack: details thread reply failed (%s); answering privately", exc)
            await self._respond(respond, private, ephemeral=True, owner=caller_in(context).user_id)

    async def share(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """The Share button: post the answer its token was issued for, exactly as that person
        was shown it, in the channel; anything else gets a short private note."""
        token = str(first_action(body).get("value", ""))
        shared = self._service().take_shared(token, await actor_in(context), place_in(context))
        if shared is None:
            note = "That Share button no longer works (it was used already, it expired, or it is not yours)."
            await self._respond(respond, render_reply(Reply(text=note, is_error=True)), ephemeral=True)
            return
        await self._respond(respond, render_reply(shared, shared_by=caller_in(context).user_id), ephemeral=False)

    async def feedback(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """A paper's 👍 / 👎 / 🔖 button: recorded for whoever clicked (the service answers in
        milliseconds) and shown to them alone. On a message only they see (their ephemeral
        answer, their DM) the message is redrawn with the choice marked (`replace_original`); a
        message in a channel is left alone, since everyone would see the mark, and the clicker
        gets a private confirmation instead. More like this answers privately with papers."""
        clicked = first_action(body)
        action = parse_feedback_action(str(clicked.get("action_id", "")))
        paper_id = str(clicked.get("value") or "")
        if action is None or not paper_id:
            await self._respond(respond, render_reply(Reply(text="That button no longer works.", is_error=True)), ephemeral=True)
            return
        caller = caller_in(context)
        reply = await self._service().item_action(action.value, paper_id, await actor_in(context), place_in(context))
        if action is ItemAction.SIMILAR or reply.is_error:
            await self._respond(respond, render_reply(reply), ephemeral=True, owner=caller.user_id)
            return
        message = self._clicked_message(body, caller.user_id)
        if message is None or not await self._redraw(respond, body, message, action, paper_id, caller.user_id):
            await self._respond(respond, render_reply(reply), ephemeral=True)

    async def _redraw(
        self, respond: AsyncRespond, body: Body, message: RawMessage, action: ItemAction, paper_id: str, owner: str
    ) -> bool:
        """Replace the clicked message with the choice marked; False when Slack refused."""
        ephemeral = bool(mapping(body, "container").get("is_ephemeral"))
        token = secrets.token_hex(6)
        marked: RawMessage = {**message, "blocks": mark_choice(objects(message.get("blocks")), action, paper_id, iteration=token)}
        if ephemeral:
            marked = await self._remember(owner, marked, token)
        update: ResponseMessage = {
            "replace_original": True, "text": str(marked.get("text") or " "), "blocks": as_dicts(objects(marked.get("blocks")))
        }
        if ephemeral:
            update["response_type"] = "ephemeral"
        try:
            answer = await _respond_waiting_out_429(respond, update, self._sleep)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("slack: could not redraw the clicked message: %s", exc)
            return False
        if answer.status_code != 200:
            log.warning("slack: redrawing the clicked message answered %s %s", answer.status_code, str(answer.body)[:200])
            return False
        return True

    # --- answering a command -----------------------------------------------------------------

    async def _answer(
        self, command: str, actor: Actor, place: Place, respond: AsyncRespond, *, ephemeral: bool = False, owner: str = ""
    ) -> Reply:
        """Run a command and answer it through `respond`: the core's interim reply (if its work
        is slow) at once, then the final one in its place; a private, shareable answer gets a
        Share token. `ephemeral` forces a private answer (message shortcuts); `owner` is the Slack
        user a private answer's feedback buttons are remembered for."""
        interim_shown = False

        async def progress(interim: Reply) -> None:
            nonlocal interim_shown
            await self._respond(respond, render_reply(interim), ephemeral=True)
            interim_shown = True

        reply = await self._service().handle_command(command, actor, place, progress=progress)
        private = ephemeral or reply.private or reply.is_error
        parts = render_reply(reply, share=await self._share_token(reply, actor, place) if private else None)
        if interim_shown and not private:
            # An ephemeral interim cannot become a channel message: it says where the answer went.
            await self._respond(respond, render_reply(Reply(text="Posted in the channel.")), ephemeral=True, replace_first=True)
            interim_shown = False
        await self._respond(respond, parts, ephemeral=private, owner=owner, replace_first=interim_shown)
        return reply

    async def _share_token(self, reply: Reply, actor: Actor, place: Place) -> str | None:
        """A Share token for a private, shareable answer (None for any other, or when the
        store cannot keep one: the answer then goes out without its Share button)."""
        if not (reply.shareable and reply.private) or reply.is_error or reply.interim:
            return None
        try:
            return await self._service().keep_for_sharing(reply, actor, place)
        except Exception:
            log.warning("slack: could not keep the answer for sharing; no Share button", exc_info=True)
            return None

    # --- the App Home tab ----------------------------------------------------------------------

    async def home_opened(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """`app_home_opened` on the Home tab: publish that person's Home."""
        if mapping(body, "event").get("tab", "home") == "home":
            await self._publish_home(context, await actor_in(context))

    async def home_run(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """A Home button that runs a command (Unsubscribe, Turn off, ...): run it as the person,
        in the channel it is about, then show the Home again with what happened on top. Only
        commands a Home button issues run (those changing the person's own Home), so a forged
        value can do no more than the Home's own buttons."""
        value = _json_value(body)
        command, channel = str(value.get("c") or ""), str(value.get("ch") or "")
        actor = await actor_in(context)
        if not command or not changes_home(command) or not (channel or is_personal(command)):
            await self._publish_home(context, actor, notice="That button no longer works.")
            return
        reply = await self._service().handle_command(command, actor, self._channel_place(context, channel))
        await self._publish_home(context, actor, notice=_first_line(reply))

    async def home_edit(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """A Home digest's Settings button: that channel's settings modal."""
        channel = str(_json_value(body).get("ch") or "")
        problem = await self._open_settings(context, str(body.get("trigger_id") or ""), channel)
        if problem:
            await self._publish_home(context, await actor_in(context), notice=problem)

    async def home_details(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """A Home paper's Details button: the paper in full, in a modal."""
        paper_id = str(first_action(body).get("value", ""))
        reply = await self._service().handle_command(PaperCommand(paper_id=paper_id), await actor_in(context), place_in(context))
        await self._open_view(context, str(body.get("trigger_id") or ""), paper_modal(reply))

    async def _publish_home(self, context: AsyncBoltContext, actor: Actor, *, notice: str = "") -> None:
        """Publish the person's Home (views.publish); best effort: a failure is logged."""
        try:
            home = await self._service().home(actor)
            await context.client.views_publish(user_id=caller_in(context).user_id, view=sdk_view(home_view(home, notice=notice)))
        except Exception:
            log.warning("slack: could not publish the Home of %s", actor.user_id, exc_info=True)

    # --- the digest settings modal ---------------------------------------------------------------

    async def digest_settings(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """A digest's Settings button: the settings modal of the channel it was posted in."""
        problem = await self._open_settings(context, str(body.get("trigger_id") or ""), caller_in(context).channel_id)
        if problem:
            await self._respond(respond, render_reply(Reply(text=problem, is_error=True)), ephemeral=True)

    async def _open_settings(self, context: AsyncBoltContext, trigger_id: str, channel: str) -> str:
        """Open the settings modal of `channel` (Slack's id); returns what went wrong, if anything.
        Someone who may not change the digest gets a modal saying so instead of the form."""
        if not channel:
            return "Open the digest settings from the channel (or a digest's Settings button)."
        form = self._service().digest_form(await actor_in(context), self._channel_place(context, channel))
        view = digest_modal(form, channel) if form.can_change else message_modal("Digest settings", f"Sorry: {form.denied}.")
        return await self._open_view(context, trigger_id, view)

    async def _open_view(self, context: AsyncBoltContext, trigger_id: str, view: ModalView) -> str:
        try:
            await context.client.views_open(trigger_id=trigger_id, view=sdk_view(view))
        except SlackApiError as exc:
            # e.g. expired_trigger_id: Slack allows 3 seconds from the click.
            log.warning("slack: views.open failed: %s", exc.response.get("error"))
            return "Slack did not open that in time; please try again."
        return ""

    async def time_zone_options(self, ack: AsyncAck, body: Body) -> None:
        """The time zone select's options for what has been typed so far."""
        await ack(options=as_dicts(time_zone_options(time_zone_choices(str(body.get("value") or "")))))

    async def settings_submitted(self, ack: AsyncAck, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """Saving the settings modal: bad fields are shown beside themselves (the modal stays);
        good ones close it and run as `digest on` through the core, with its permission check;
        the outcome comes as a private message in the channel, and the Home refreshes."""
        view = mapping(body, "view")
        channel = modal_channel(view)
        try:
            command = parse_digest_form(digest_values(view))
        except FormErrors as errors:
            await ack(response_action="errors", errors=field_errors(errors))
            return
        if not channel:
            await ack(response_action="errors", errors={"time": "This form no longer works; open the settings again."})
            return
        await ack()

        async def save() -> None:
            actor = await actor_in(context)
            reply = await self._service().handle_command(command, actor, self._channel_place(context, channel))
            await self._tell(context, channel, reply)
            await self._publish_home(context, actor)

        self.inflight.start(self._after_ack(save(), body, respond), "slack-settings-submitted")

    async def _tell(self, context: AsyncBoltContext, channel: str, reply: Reply) -> None:
        """Show a reply privately to the caller in a channel (chat.postEphemeral); logged if not."""
        part = render_reply(reply)[0]
        try:
            await context.client.chat_postEphemeral(
                channel=channel, user=caller_in(context).user_id, text=part["text"], blocks=as_dicts(part["blocks"])
            )
        except SlackApiError as exc:
            log.info("slack: could not answer in %s: %s", channel, exc.response.get("error"))

    def _channel_place(self, context: AsyncBoltContext, channel: str) -> Place:
        """The Place of a channel named by Slack's id, in the request's workspace."""
        caller = caller_in(context)
        return place_of(replace(caller, channel_id=channel), self.default_team_id, scoped=self.distributed)

    # --- the personal digest modal ---------------------------------------------------------------

    async def home_personal(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """The Home's Change button of the person's own digest: its modal, filled in from the
        `digest me on ...` command the button carries (its current settings)."""
        try:
            current = parse_command(str(_json_value(body).get("c") or ""))
        except UserInputError:
            current = None
        if not isinstance(current, DigestMeCommand):
            await self._publish_home(context, await actor_in(context), notice="That button no longer works.")
            return
        problem = await self._open_view(context, str(body.get("trigger_id") or ""), personal_digest_modal(current))
        if problem:
            await self._publish_home(context, await actor_in(context), notice=problem)

    async def personal_submitted(self, ack: AsyncAck, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """Saving the personal digest modal: bad fields are shown beside themselves; good ones
        close it and run as `digest me on` through the core, and the Home shows the outcome."""
        try:
            command = parse_personal_digest_form(personal_digest_values(mapping(body, "view")))
        except FormErrors as errors:
            await ack(response_action="errors", errors=field_errors(errors))
            return
        await ack()

        async def save() -> None:
            actor = await actor_in(context)
            reply = await self._service().handle_command(command, actor, place_in(context))
            await self._publish_home(context, actor, notice=_first_line(reply))

        self.inflight.start(self._after_ack(save(), body, respond), "slack-personal-submitted")

    # --- message shortcuts ----------------------------------------------------------------------

    async def message_shortcut(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """A message shortcut (shortcuts.py): its command about the paper the message links,
        answered privately."""
        shortcut = shortcut_for(str(body.get("callback_id") or ""))
        paper_id = linked_paper(mapping(body, "message"))
        if shortcut is None or paper_id is None:
            text = "That message links no arXiv paper (an arxiv.org link, an arXiv:2504.17830 mention or a Hugging Face paper page)."
            await self._respond(respond, render_reply(Reply(text=text, is_error=True)), ephemeral=True)
            return
        text = shortcut.command.format(id=paper_id)
        actor = await actor_in(context)
        reply = await self._answer(text, actor, place_in(context), respond, ephemeral=True, owner=caller_in(context).user_id)
        if not reply.is_error and changes_home(text):  # "Save paper": the Home lists saved papers
            await self._publish_home(context, actor)

    # --- the workspace leaving -----------------------------------------------------------------

    async def uninstalled(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """`app_uninstalled`: forget the workspace (its tokens, digests, alerts, pending messages)."""
        self._forget(str(body.get("team_id") or ""), "the app was uninstalled")

    async def tokens_revoked(self, body: Body, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        """`tokens_revoked`: a revoked bot token is the workspace leaving (nothing can reach it
        any more), so it is forgotten like an uninstall. paperbot asks for no user tokens, so a
        revoked user token leaves nothing to remove."""
        tokens = mapping(mapping(body, "event"), "tokens")
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

    async def on_error(self, error: Exception, body: Body, respond: AsyncRespond, response: BoltResponse | None) -> BoltResponse | None:
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
