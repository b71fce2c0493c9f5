"""The Discord invite URL (`paperbot discord-invite`): bot + applications.commands scopes and the
minimal permissions paperbot needs to post digests and answer commands."""

from __future__ import annotations

import discord

SCOPES = ("bot", "applications.commands")


def required_permissions() -> discord.Permissions:
    """View Channel, Send Messages, Embed Links, Send Messages in Threads, Create Public Threads,
    Read Message History: nothing more (no administrator, no mention-everyone)."""
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        embed_links=True,
        send_messages_in_threads=True,
        create_public_threads=True,
        read_message_history=True,
    )


def invite_url(application_id: str | int) -> str:
    """The OAuth2 URL that adds the bot to a server with the minimal permissions."""
    text = str(application_id).strip()
    if not text.isdigit():
        raise ValueError(f"DISCORD_APPLICATION_ID must be the numeric application id, not {text!r}")
    return discord.utils.oauth_url(int(text), permissions=required_permissions(), scopes=SCOPES)
