"""Answering interactions: slash commands, autocomplete and the Details, Share and feedback buttons.

Discord wants an answer within 3 seconds. Commands that are pure and instant (help, topics) are
answered directly; every other command is deferred first (`defer(ephemeral=True, thinking=True)`,
the user sees "paperbot is thinking...") and answered with follow-ups, which may come for 15
minutes. A command whose work is slow (`paper <id>` looked up on arXiv) shows the core's interim
reply in place of "thinking..." (edit_original_response), and the final answer then replaces it
the same way. Results are private (ephemeral) unless the core says otherwise (`/papers email` always
is: its answer names the address, which nobody else may see); a private, shareable
result carries a "Share" button that reposts it publicly with "Shared by @user": the button
carries no value, and what it reposts is the message Discord says it is on (the answer as shown;
Discord only sends clicks on components of real messages), so it runs no command. Errors are
always private. Every message is sent with mentions disabled.

Feedback buttons (👍 Relevant, 👎 Not for me, 🔖 Save) are answered at once and privately: the
service records the choice (milliseconds) and the interaction is answered directly, never
deferred unless the service takes longer than ACK_SECONDS. On a message only the clicker sees
(an ephemeral answer or a DM) the message itself is updated to show the choice; on a message in
a channel it is not, since everyone would see it: the clicker gets a private confirmation
instead. "More like this" is a command: deferred, then answered privately.

With a `Metrics`, the time from receiving a command or click to its first response to Discord
(the answer itself, or the deferral) is recorded as the acknowledgement latency.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace

import discord

import bot.chat.grammar as cmd
from adapters.discord.commands import HELP_TEXT
from adapters.discord.messages import NO_MENTIONS, build_view, edit_kwargs, send_kwargs
from adapters.discord.render import (
    MAX_LABEL,
    SHARE_ID,
    action_from_custom_id,
    details_buttons,
    mark_choice,
    paper_id_from_custom_id,
    render_reply,
    share_content,
)
from adapters.discord.types import ActionRow, ButtonComponent
from bot.chat.view import ItemAction
from bot.core.clock import system_monotonic
from bot.core.errors import UserInputError
from bot.core.metrics import Metrics
from bot.core.models import Actor, Place, Reply
from bot.ports import ServiceAPI

log = logging.getLogger(__name__)

PLATFORM = "discord"
# Pure, in-memory commands: answered at once, without deferring.
INSTANT = (cmd.HelpCommand, cmd.TopicsCommand)
# Answered privately whatever the core says: the answer names the person's email address.
PRIVATE_ALWAYS = (cmd.EmailDigestCommand,)
_SORRY = "Sorry, something went wrong on our side; it has been logged."
ACK_SECONDS = 2.0  # Discord allows 3 s; past this a click is deferred and answered by a follow-up


def can_manage(interaction: discord.Interaction, permission: str) -> bool:
    """Whether the member holds `permission` in this channel (always True in DMs)."""
    if interaction.guild_id is None:
        return True
    permissions = interaction.permissions
    return bool(permissions.administrator or getattr(permissions, permission, False))


def actor_of(interaction: discord.Interaction, permission: str) -> Actor:
    """The core's view of who is interacting."""
    user = interaction.user
    return Actor(
        platform=PLATFORM,
        user_id=str(user.id),
        name=getattr(user, "display_name", "") or user.name,
        can_manage=can_manage(interaction, permission),
    )


def place_of(interaction: discord.Interaction) -> Place:
    """The core's view of where the interaction happened."""
    return Place(
        platform=PLATFORM,
        channel_id=str(interaction.channel_id or ""),
        workspace_id=str(interaction.guild_id or ""),
        is_dm=interaction.guild_id is None,
    )


def _error_reply(text: str) -> Reply:
    return Reply(text=text, private=True, is_error=True)


class InteractionResponder:
    """Runs commands for interactions against the core service and answers them."""

    def __init__(self, service: ServiceAPI, manage_permission: str, *, metrics: Metrics | None = None) -> None:
        self.service = service
        self.manage_permission = manage_permission
        self.metrics = metrics

    def _acked(self, interaction: discord.Interaction, started: float) -> None:
        """Record the acknowledgement latency, once the interaction has its first response."""
        if self.metrics is not None and interaction.response.is_done():
            self.metrics.ack_seconds.labels(platform=PLATFORM).observe(system_monotonic() - started)

    # --- autocomplete (must answer within 3 s; all of these are local lookups) -------------------

    def topic_choices(self, prefix: str) -> list[tuple[str, str]]:
        """Topics matching a prefix, from the taxonomy."""
        try:
            return self.service.topic_choices(prefix)
        except Exception:
            log.exception("topic autocomplete failed")
            return []

    def subscription_choices(self, interaction: discord.Interaction, prefix: str) -> list[tuple[str, str]]:
        """The interacting user's own subscriptions."""
        try:
            return self.service.subscription_choices(actor_of(interaction, self.manage_permission), prefix)
        except Exception:
            log.exception("subscription autocomplete failed")
            return []

    # --- commands --------------------------------------------------------------------------------

    async def run(self, interaction: discord.Interaction, build: Callable[[], cmd.Command]) -> None:
        """Build the command from the options, run it and answer; bad input gets a private line."""
        started = system_monotonic()
        try:
            command = build()
        except UserInputError as exc:
            await self.answer(interaction, _error_reply(str(exc)))
            self._acked(interaction, started)
            return
        if isinstance(command, cmd.HelpCommand):
            await self.answer(interaction, Reply(header="paperbot commands", text=HELP_TEXT, private=True))
            self._acked(interaction, started)
            return
        who, where = actor_of(interaction, self.manage_permission), place_of(interaction)
        deferred = not isinstance(command, INSTANT)
        if deferred:
            await interaction.response.defer(ephemeral=True, thinking=True)
            self._acked(interaction, started)
        interim_shown = False

        async def progress(interim: Reply) -> None:
            nonlocal interim_shown
            if not interaction.response.is_done():
                await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.edit_original_response(**edit_kwargs(render_reply(interim)[0]))
            interim_shown = True

        try:
            reply = await self.service.handle_command(command, who, where, progress=progress)
        except Exception:  # the service answers errors itself; this is the last line of defence
            log.exception("command %s failed", type(command).__name__)
            reply = _error_reply(_SORRY)
        if isinstance(command, PRIVATE_ALWAYS):
            reply = replace(reply, private=True, shareable=False)
        await self.answer(interaction, reply, replace_interim=interim_shown)
        if not deferred:
            self._acked(interaction, started)

    async def answer(self, interaction: discord.Interaction, reply: Reply, *, replace_interim: bool = False) -> None:
        """Send a reply as the interaction's response (or its follow-ups when already deferred).
        `replace_interim`: the original response shows an interim reply, which the answer's
        first part replaces (a public answer leaves it saying where the answer went)."""
        parts = render_reply(reply)
        private = reply.private or reply.is_error
        try:
            if replace_interim:
                first = parts[0] if private else {"content": "Posted in the channel."}
                await interaction.edit_original_response(**edit_kwargs(first))
                parts = parts[1:] if private else parts
            elif not interaction.response.is_done():
                await interaction.response.send_message(ephemeral=private, **send_kwargs(parts[0]))
                parts = parts[1:]
            elif not private:
                # The first follow-up replaces the private "thinking..." message and stays private,
                # so it gets a short note; the public parts follow as new channel messages.
                await interaction.followup.send("Posted in the channel.", ephemeral=True, allowed_mentions=NO_MENTIONS)
            for part in parts:
                await interaction.followup.send(ephemeral=private, **send_kwargs(part))
        except discord.HTTPException as exc:
            # Typically 10062 Unknown interaction (the 3 s or 15 min window passed): nobody to tell.
            log.warning("could not answer interaction %s: %s", interaction.id, exc)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """A command raised (or its options failed to convert): log it, tell the user privately."""
        log.error("discord command failed", exc_info=error)
        await self.answer(interaction, _error_reply(_SORRY))

    # --- buttons -------------------------------------------------------------------------------

    async def on_component(self, interaction: discord.Interaction) -> None:
        """Details and Share buttons, recognised by custom_id (so they outlive restarts)."""
        data: Mapping[str, object] = interaction.data or {}
        custom_id = str(data.get("custom_id", ""))
        paper_id = paper_id_from_custom_id(custom_id)
        action = action_from_custom_id(custom_id)
        if paper_id is not None:
            await self.run(interaction, lambda: cmd.PaperCommand(paper_id=paper_id))
        elif action is not None:
            await self.act(interaction, *action)
        elif custom_id == SHARE_ID:
            await self.share(interaction)

    async def act(self, interaction: discord.Interaction, action: ItemAction, paper_id: str) -> None:
        """A feedback button: record it for whoever clicked and answer them alone, at once."""
        started = system_monotonic()
        who, where = actor_of(interaction, self.manage_permission), place_of(interaction)
        if action is ItemAction.SIMILAR:
            await interaction.response.defer(ephemeral=True, thinking=True)
            self._acked(interaction, started)
            await self.answer(interaction, await self.service.item_action(action.value, paper_id, who, where))
            return
        work = asyncio.ensure_future(self.service.item_action(action.value, paper_id, who, where))
        done, _ = await asyncio.wait({work}, timeout=ACK_SECONDS)
        if not done:
            await interaction.response.defer(ephemeral=True, thinking=True)
            self._acked(interaction, started)
            await self.answer(interaction, await work)
            return
        reply = work.result()
        message = interaction.message
        only_theirs = message is not None and (message.flags.ephemeral or interaction.guild_id is None)
        if reply.is_error or message is None or not only_theirs:
            await self.answer(interaction, reply)
            self._acked(interaction, started)
            return
        rows = mark_choice(_button_rows(message), action, paper_id)
        try:
            action_rows: list[ActionRow] = [{"type": 1, "components": r} for r in rows]
            await interaction.response.edit_message(view=build_view(action_rows))
            self._acked(interaction, started)
            await interaction.followup.send(reply.text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not update message %s: %s", message.id, exc)

    async def share(self, interaction: discord.Interaction) -> None:
        """Repost the private message the button is on, publicly, with "Shared by @user"."""
        message = interaction.message
        if message is None:
            await self.answer(interaction, _error_reply("That message can no longer be shared."))
            return
        details = [
            (str(getattr(child, "label", "") or "Details")[:MAX_LABEL], str(getattr(child, "custom_id", "") or ""))
            for row in message.components
            for child in getattr(row, "children", [])
        ]
        view = build_view(details_buttons(details))
        content = share_content(interaction.user.mention, message.content)
        try:
            if view is not None:
                await interaction.response.send_message(content=content, embeds=message.embeds, allowed_mentions=NO_MENTIONS, view=view)
            else:
                await interaction.response.send_message(content=content, embeds=message.embeds, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not share message %s: %s", message.id, exc)
            await self.answer(interaction, _error_reply(f"Could not share it: {exc.text}"))


def _button_rows(message: discord.Message) -> list[list[ButtonComponent]]:
    """A message's buttons as rows of Discord component dicts."""
    rows: list[list[ButtonComponent]] = []
    for row in message.components:
        buttons: list[ButtonComponent] = []
        for child in getattr(row, "children", []):
            button: ButtonComponent = {"type": 2, "style": int(getattr(child, "style", discord.ButtonStyle.secondary).value)}
            label, custom_id, url = (getattr(child, name, None) for name in ("label", "custom_id", "url"))
            # Only what the button has (discord.py gives None for what it has not).
            if label:
                button["label"] = str(label)
            if custom_id:
                button["custom_id"] = str(custom_id)
            if url:
                button["url"] = str(url)
            buttons.append(button)
        if buttons:
            rows.append(buttons)
    return rows
