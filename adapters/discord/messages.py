"""Turning rendered parts (types.MessagePayload, or one loaded back from the outbox) into
discord.py send arguments, and errors back into ours.

Buttons are sent through a view that is never registered with discord.py's view store: button
clicks are handled by custom_id in `on_interaction`, so they keep working after a restart and
nothing accumulates in memory per message sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import aiohttp
import discord

from adapters.discord.types import (
    BUTTON,
    EditArguments,
    SendArguments,
    number,
    objects,
    text_or_none,
)
from bot.core.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RetryAfter,
    TransientDeliveryError,
)
from bot.core.retry import parse_retry_after
from bot.ports import Part

NO_MENTIONS = discord.AllowedMentions.none()

# Discord JSON error codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
_PERMANENT_CODES = {
    50007: "dm_blocked",  # Cannot send messages to this user
    50001: "missing_access",
    50013: "missing_permissions",
    10003: "channel_not_found",  # Unknown channel
    10013: "user_not_found",  # Unknown user
}
_DEFAULT_RETRY_AFTER = 60.0


class StaticView(discord.ui.View):
    """A view that only carries components: never stored, so discord.py never dispatches it."""

    def is_dispatchable(self) -> bool:
        """Clicks are handled by custom_id in on_interaction, not by this view."""
        return False


def build_view(rows: Sequence[Mapping[str, object]]) -> discord.ui.View | None:
    """Buttons from the part's action rows (None when there are none)."""
    if not rows:
        return None
    view = StaticView(timeout=None)
    for row_number, row in enumerate(rows):
        for component in objects(row.get("components", [])):
            if component.get("type") != BUTTON:
                continue
            view.add_item(
                discord.ui.Button(
                    style=discord.ButtonStyle(number(component, "style", 2)),
                    label=text_or_none(component, "label"),
                    custom_id=text_or_none(component, "custom_id"),
                    url=text_or_none(component, "url"),
                    row=row_number,
                )
            )
    return view


def send_kwargs(part: Part) -> SendArguments:
    """Keyword arguments for `Messageable.send` / `Webhook.send` / `send_message`."""
    kwargs: SendArguments = {"allowed_mentions": NO_MENTIONS}
    content = part.get("content")
    if content:
        kwargs["content"] = str(content)
    embeds = [discord.Embed.from_dict(e) for e in objects(part.get("embeds", []))]
    if embeds:
        kwargs["embeds"] = embeds
    view = build_view(objects(part.get("components", [])))
    if view is not None:
        kwargs["view"] = view
    return kwargs


def edit_kwargs(part: Part) -> EditArguments:
    """Keyword arguments for `edit_original_response`: the part replaces the message whole
    (content, embeds and buttons it does not have are removed)."""
    content = part.get("content")
    return {
        "content": str(content) if content else None,
        "embeds": [discord.Embed.from_dict(e) for e in objects(part.get("embeds", []))],
        "view": build_view(objects(part.get("components", []))),
        "allowed_mentions": NO_MENTIONS,
    }


def _retry_after(exc: discord.HTTPException) -> float:
    response = getattr(exc, "response", None)
    seconds = parse_retry_after(response.headers.get("Retry-After") if response is not None else None)
    return _DEFAULT_RETRY_AFTER if seconds is None else seconds


_CHANNEL_HINT = "give paperbot's role View Channel, Send Messages and Embed Links in that channel"
_HINTS = {"missing_access": _CHANNEL_HINT, "missing_permissions": _CHANNEL_HINT}


def delivery_error(exc: BaseException, where: str) -> DeliveryError:
    """Our delivery error for a discord.py / network exception raised while sending."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, discord.RateLimited):
        # discord.py raises this only when Discord asks for a longer wait than we allow in-process.
        return RetryAfter(exc.retry_after, f"Discord rate limit on {where}")
    if isinstance(exc, discord.HTTPException):
        reason = _PERMANENT_CODES.get(exc.code)
        message = f"Discord {exc.status} (code {exc.code}) on {where}: {exc.text}"
        if reason is not None:
            return PermanentDeliveryError(reason, message, hint=_HINTS.get(reason, ""))
        if exc.status == 403:
            return PermanentDeliveryError("missing_permissions", message, hint=_HINTS["missing_permissions"])
        if exc.status == 404:
            return PermanentDeliveryError("channel_not_found", message)
        if exc.status == 429:
            # A 429 that escaped discord.py's own retries (e.g. no Via header: Cloudflare).
            return RetryAfter(_retry_after(exc), f"Discord 429 on {where}")
        # 5xx after discord.py's retries, and 4xx that may be ours (a bad payload): retried later
        # rather than pausing a channel's digest for what could be a bug on our side.
        return TransientDeliveryError(message)
    if isinstance(exc, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
        return TransientDeliveryError(f"network error talking to Discord ({where}): {exc!r}")
    return TransientDeliveryError(f"unexpected error sending to Discord ({where}): {exc!r}")
