"""Discord's raw payloads as paperbot builds them: embeds, buttons, action rows and the message
payload (a rendered part), as TypedDicts kept apart from the code that builds them, in the
manner of discord.py's own `discord/types/`.

They are plain dicts at run time, so what Discord receives and what the outbox stores are
unchanged. A part read back from the outbox (maybe rendered by an earlier version) is a
`Mapping[str, object]`, read through the checking accessors at the end of this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NotRequired, TypedDict

import discord

# Component types and button styles as Discord numbers them.
ACTION_ROW: Literal[1] = 1
BUTTON: Literal[2] = 2
ButtonStyleValue = Literal[1, 2, 3, 4, 5]  # primary, secondary, success, danger, link


class EmbedField(TypedDict):
    """One field of an embed."""

    name: str
    value: str
    inline: bool


class EmbedFooter(TypedDict):
    """An embed's footer."""

    text: str


class EmbedAuthor(TypedDict):
    """An embed's author line (counted toward the 6,000 characters; paperbot sets none)."""

    name: str


class Embed(TypedDict):
    """An embed: a paper, or a note too long for a message's content."""

    color: int
    title: NotRequired[str]
    url: NotRequired[str]
    description: NotRequired[str]
    fields: NotRequired[list[EmbedField]]
    footer: NotRequired[EmbedFooter]
    author: NotRequired[EmbedAuthor]


class ButtonComponent(TypedDict):
    """A button (component type 2): Details, an action, or Share."""

    type: Literal[2]
    style: int
    label: NotRequired[str]
    custom_id: NotRequired[str]
    url: NotRequired[str]


class ActionRow(TypedDict):
    """A row of at most five buttons (component type 1)."""

    type: Literal[1]
    components: list[ButtonComponent]


class MessagePayload(TypedDict):
    """One message (a rendered part): content, embeds and action rows."""

    content: str
    embeds: list[Embed]
    components: list[ActionRow]


class SendArguments(TypedDict):
    """Keyword arguments of `Messageable.send`, `Webhook.send` and `send_message`."""

    allowed_mentions: discord.AllowedMentions
    content: NotRequired[str]
    embeds: NotRequired[list[discord.Embed]]
    view: NotRequired[discord.ui.View]


class EditArguments(TypedDict):
    """Keyword arguments of `edit_original_response` replacing a message whole."""

    allowed_mentions: discord.AllowedMentions
    content: str | None
    embeds: list[discord.Embed]
    view: discord.ui.View | None


# --- reading a stored part -------------------------------------------------------------------------


def objects(value: object) -> list[Mapping[str, object]]:
    """The objects of a list (anything else in it, or a non-list, is left out)."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def text_or_none(data: Mapping[str, object], key: str) -> str | None:
    """`data[key]` when it is a string, else None."""
    value = data.get(key)
    return value if isinstance(value, str) else None


def number(data: Mapping[str, object], key: str, default: int) -> int:
    """`data[key]` when it is an integer, else `default`."""
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default
