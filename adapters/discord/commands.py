"""The `/papers` application command group: Discord's typed options -> bot.chat.grammar dataclasses.

    /papers search  query since source(choices) topic(autocomplete) author sort(choices) limit(1-10)
    /papers paper   id
    /papers subscribe   query topics(autocomplete, comma-separated)
    /papers unsubscribe which(autocomplete from the user's own subscriptions; a number, query or all)
    /papers subscriptions
    /papers digest on   time tz(autocomplete) topics(autocomplete) max(1-50) sources days
    /papers digest off | show | now
    /papers digest me   action(on|off|show) time tz max threshold
    /papers email   address (or off; always answered privately)
    /papers foryou | like | dislike | save | unlike | unsave | saved | similar | seed | forget
    /papers topics
    /papers help

The builders (`search_command`, `digest_on_command`, ...) are plain functions that validate with
the parsers of bot.chat.grammar and raise UserInputError, so they are tested without Discord. The
group classes only map options onto them; running a command (defer, service call, reply) is the
`Runner`'s job (see interactions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import Protocol  # noqa: UP035 - discord.py resolves these annotations
from zoneinfo import available_timezones

import discord
from discord import app_commands

import bot.chat.grammar as cmd
import bot.chat.spec as spec
from bot.chat.spec import help_text
from bot.core.clock import parse_window
from bot.core.errors import UserInputError

Choice = app_commands.Choice
MAX_CHOICES = 25
MAX_CHOICE_CHARS = 100

SOURCE_CHOICES = [
    Choice(name="arXiv", value="arxiv"),
    Choice(name="Hugging Face daily papers", value="hf"),
    Choice(name="Reddit", value="reddit"),
    Choice(name="RSS/Atom feeds (lab blogs)", value="feed"),
]
SORT_CHOICES = [
    Choice(name="relevance", value="relevance"),
    Choice(name="newest first", value="new"),
    Choice(name="most popular", value="top"),
]
DAYS_SUGGESTIONS = [
    ("weekdays (arXiv announcement days)", "weekdays"),
    ("every day", "daily"),
    ("mon,wed,fri", "mon,wed,fri"),
]


# Discord shows its own typed-option syntax; both help texts come from the one command spec.
HELP_TEXT = help_text("/papers", style="discord")


class Runner(Protocol):
    """What the command group needs from whoever answers interactions."""

    async def run(self, interaction: discord.Interaction, build: Callable[[], cmd.Command]) -> None:
        """Build the command (UserInputError -> private error), run it, answer the interaction."""
        ...

    def topic_choices(self, prefix: str) -> list[tuple[str, str]]:
        """(label, topic id) pairs for a typed prefix."""
        ...

    def subscription_choices(self, interaction: discord.Interaction, prefix: str) -> list[tuple[str, str]]:
        """(label, value) pairs of the interacting user's own subscriptions."""
        ...


# --- builders: plain values in, core commands out ------------------------------------------------


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _query(text: str | None) -> str:
    query = _one_line(text).replace("\u201c", '"').replace("\u201d", '"')
    if len(query) > cmd.MAX_QUERY_CHARS:
        raise UserInputError(
            f"that query is {len(query):,} characters long; keep it under {cmd.MAX_QUERY_CHARS} "
            "(a few keywords work best)"
        )
    return query


def _in_range(value: int | None, name: str, low: int, high: int) -> int | None:
    if value is not None and not low <= value <= high:
        raise UserInputError(f"{name}:{value} is out of range; use a number from {low} to {high}")
    return value


def _comma_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def search_command(
    query: str | None = None,
    since: str | None = None,
    source: str | None = None,
    topic: str | None = None,
    author: str | None = None,
    sort: str | None = None,
    limit: int | None = None,
) -> cmd.SearchCommand:
    """`/papers search` options -> SearchCommand (raises UserInputError on bad values)."""
    since = _one_line(since) or None
    if since is not None:
        try:
            parse_window(since)
        except ValueError as exc:
            raise UserInputError(f"since: {exc}") from None
    order = (sort or "relevance").strip().lower()
    if order not in cmd.SORTS:
        raise UserInputError(f"sort:{order} is not a sort order; use relevance, new or top")
    command = cmd.SearchCommand(
        query=_query(query),
        since=since,
        source=cmd.parse_source(source) if source else None,
        topic=cmd.parse_topic(topic) if topic and topic.strip() else None,
        author=_one_line(author) or None,
        sort=order,
        limit=_in_range(limit, "limit", 1, cmd.MAX_LIMIT) or 5,
    )
    if not (command.query.strip('" ') or command.topic or command.author or command.since or command.source):
        raise UserInputError("that search is empty; give a query, e.g. /papers search query:diffusion models")
    return command


def paper_command(ref: str) -> cmd.PaperCommand:
    """`/papers paper id:<arXiv id or URL>` -> PaperCommand."""
    return cmd.parse_paper(_one_line(ref))


def subscribe_command(query: str | None = None, topics: str | None = None) -> cmd.SubscribeCommand:
    """`/papers subscribe` options -> SubscribeCommand."""
    chosen = tuple(dict.fromkeys(cmd.parse_topic(part) for part in _comma_list(topics)))
    text = _query(query)
    if not text.strip('" ') and not chosen:
        raise UserInputError("subscribe needs a query and/or topics, e.g. /papers subscribe query:diffusion topics:cv")
    return cmd.SubscribeCommand(query=text, topics=chosen)


def unsubscribe_command(which: str) -> cmd.UnsubscribeCommand:
    """`/papers unsubscribe which:<number | query | all>` -> UnsubscribeCommand."""
    return cmd.parse_unsubscribe(_one_line(which))


def quiet_command(hours: str | None = None, tz: str | None = None) -> cmd.QuietHoursCommand:
    """`/papers quiet [hours:22:00-07:00|off] [tz:Zone]` -> QuietHoursCommand (no hours: show)."""
    parsed = cmd.parse_quiet_hours(_one_line(hours or ""))
    if tz and tz.strip():
        if parsed.start is None:
            raise UserInputError("tz needs hours too, e.g. /papers quiet hours:22:00-07:00 tz:Europe/Berlin")
        parsed = replace(parsed, timezone=cmd.parse_timezone(tz))
    return parsed


def digest_on_command(
    at: str | None = None,
    tz: str | None = None,
    topics: str | None = None,
    max_items: int | None = None,
    sources: str | None = None,
    days: str | None = None,
    threshold: float | None = None,
) -> cmd.DigestOnCommand:
    """`/papers digest on` options -> DigestOnCommand (None keeps the channel's current value)."""
    return cmd.DigestOnCommand(
        at=cmd.parse_time_of_day(at) if at and at.strip() else None,
        timezone=cmd.parse_timezone(tz) if tz and tz.strip() else None,
        topics=tuple(dict.fromkeys(cmd.parse_topic(p) for p in _comma_list(topics))) if topics is not None else None,
        max_items=_in_range(max_items, "max", 1, cmd.MAX_DIGEST_ITEMS),
        sources=tuple(dict.fromkeys(cmd.parse_source(p) for p in _comma_list(sources))) if sources is not None else None,
        days=cmd.parse_days(days) if days and days.strip() else None,
        threshold=cmd.parse_threshold(str(threshold)) if threshold is not None else None,
    )


ACTION_CHOICES = [Choice(name="on", value="on"), Choice(name="off", value="off"), Choice(name="show", value="show")]


def alert_settings_command(threshold: float | None = None) -> cmd.AlertSettingsCommand:
    """`/papers alerts [threshold:0-1]` -> AlertSettingsCommand (no threshold: show)."""
    return cmd.AlertSettingsCommand(threshold=cmd.parse_threshold(str(threshold)) if threshold is not None else None)


def digest_me_command(
    action: str,
    at: str | None = None,
    tz: str | None = None,
    max_items: int | None = None,
    threshold: float | None = None,
) -> cmd.DigestMeCommand:
    """`/papers digest me` options -> DigestMeCommand."""
    if action not in ("on", "off", "show"):
        raise UserInputError("action must be on, off or show")
    if action != "on" and any(v is not None for v in (at, tz, max_items, threshold)):
        raise UserInputError(f"digest me {action} takes no other options")
    return cmd.DigestMeCommand(
        action=action,
        at=cmd.parse_time_of_day(at) if at and at.strip() else None,
        timezone=cmd.parse_timezone(tz) if tz and tz.strip() else None,
        max_items=_in_range(max_items, "max", 1, cmd.MAX_DIGEST_ITEMS),
        threshold=cmd.parse_threshold(str(threshold)) if threshold is not None else None,
    )


def email_command(address: str) -> cmd.EmailDigestCommand:
    """`/papers email address:<address>|off` -> EmailDigestCommand (the grammar's checks)."""
    return cmd.parse_email(_one_line(address))


def foryou_command(since: str | None = None, limit: int | None = None) -> cmd.ForYouCommand:
    """`/papers foryou` options -> ForYouCommand."""
    parts = [f"since:{_one_line(since)}" if since and since.strip() else "", f"limit:{limit}" if limit else ""]
    return cmd.parse_foryou(" ".join(p for p in parts if p))


def feedback_command(action: str, paper: str) -> cmd.Command:
    """`/papers like|dislike|save|unlike|unsave|similar paper:<n or id>` -> the command."""
    ref = cmd.parse_paper_ref(_one_line(paper), action)
    if action == "unlike":
        return cmd.UnlikeCommand(ref=ref)
    if action == "unsave":
        return cmd.UnlikeCommand(ref=ref, saved_only=True)
    if action == "similar":
        return cmd.SimilarCommand(ref=ref)
    return cmd.FeedbackCommand(action=action, ref=ref)


# --- autocomplete helpers ----------------------------------------------------------------------


def _choice_label(text: str) -> str:
    return text if len(text) <= MAX_CHOICE_CHARS else text[: MAX_CHOICE_CHARS - 1] + "\u2026"


def comma_choices(current: str, choose: Callable[[str], list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """Autocomplete for a comma-separated list: complete the last item, keep the earlier ones."""
    head, comma, last = current.rpartition(",")
    earlier = _comma_list(head) if comma else []
    results: list[tuple[str, str]] = []
    for label, value in choose(last.strip()):
        if value in earlier:
            continue
        full = ",".join([*earlier, value])
        if len(full) > MAX_CHOICE_CHARS:
            continue
        shown = ", ".join([*earlier, label]) if earlier else label
        results.append((_choice_label(shown), full))
    return results[:MAX_CHOICES]


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def timezone_choices(current: str) -> list[tuple[str, str]]:
    """IANA zones matching what was typed: prefix matches first, then substring matches."""
    needle = current.strip().lower().replace(" ", "_")
    if not needle:
        common = ("UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo")
        return [(z, z) for z in common]
    zones = _zones()
    starts = [z for z in zones if z.lower().startswith(needle) or z.lower().split("/")[-1].startswith(needle)]
    contains = [z for z in zones if needle in z.lower() and z not in starts]
    return [(z, z) for z in (starts + contains)[:MAX_CHOICES]]


def to_choices(pairs: list[tuple[str, str]]) -> list[Choice[str]]:
    """(label, value) pairs as Discord choices, within Discord's 25 x 100-character limits."""
    return [
        Choice(name=_choice_label(label), value=value)
        for label, value in pairs[:MAX_CHOICES]
        if value and len(value) <= MAX_CHOICE_CHARS
    ]


# --- the group ----------------------------------------------------------------------------------


class PapersGroup(app_commands.Group):
    """`/papers ...`: every subcommand maps its options onto a core command and hands it over."""

    def __init__(self, runner: Runner) -> None:
        super().__init__(name="papers", description=spec.GROUP_HELP)
        self.runner = runner

    digest = app_commands.Group(name="digest", description=spec.DIGEST_GROUP_HELP)

    @app_commands.command(name="search", description=spec.command("search").help)
    @app_commands.describe(**spec.option_help("search"))
    @app_commands.choices(source=SOURCE_CHOICES, sort=SORT_CHOICES)
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 300] | None = None,
        since: app_commands.Range[str, 1, 40] | None = None,
        source: str | None = None,
        topic: app_commands.Range[str, 1, 100] | None = None,
        author: app_commands.Range[str, 1, 100] | None = None,
        sort: str | None = None,
        limit: app_commands.Range[int, 1, 10] | None = None,
    ) -> None:
        """Search stored papers."""
        await self.runner.run(
            interaction, lambda: search_command(query, since, source, topic, author, sort, limit)
        )

    @search.autocomplete("topic")
    async def _search_topic(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return to_choices(self.runner.topic_choices(current))

    @app_commands.command(name="paper", description=spec.command("paper").help)
    @app_commands.describe(**spec.option_help("paper"))
    async def paper(self, interaction: discord.Interaction, id: app_commands.Range[str, 1, 200]) -> None:  # noqa: A002
        """Show one paper in full."""
        await self.runner.run(interaction, lambda: paper_command(id))

    @app_commands.command(name="subscribe", description=spec.command("subscribe").help)
    @app_commands.describe(**spec.option_help("subscribe"))
    async def subscribe(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 300] | None = None,
        topics: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        """Start DM alerts."""
        await self.runner.run(interaction, lambda: subscribe_command(query, topics))

    @subscribe.autocomplete("topics")
    async def _subscribe_topics(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return to_choices(comma_choices(current, self.runner.topic_choices))

    @app_commands.command(name="unsubscribe", description=spec.command("unsubscribe").help)
    @app_commands.describe(**spec.option_help("unsubscribe"))
    async def unsubscribe(self, interaction: discord.Interaction, which: app_commands.Range[str, 1, 300]) -> None:
        """Stop alerts."""
        await self.runner.run(interaction, lambda: unsubscribe_command(which))

    @unsubscribe.autocomplete("which")
    async def _unsubscribe_which(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        pairs = self.runner.subscription_choices(interaction, current)
        if "all".startswith(current.strip().lower()) and pairs:
            pairs = [*pairs[: MAX_CHOICES - 1], ("all of them", "all")]
        return to_choices(pairs)

    @app_commands.command(name="subscriptions", description=spec.command("subscriptions").help)
    async def subscriptions(self, interaction: discord.Interaction) -> None:
        """List the user's subscriptions."""
        await self.runner.run(interaction, cmd.ListSubscriptionsCommand)

    @app_commands.command(name="quiet", description=spec.command("quiet").help)
    @app_commands.describe(**spec.option_help("quiet"))
    async def quiet(
        self,
        interaction: discord.Interaction,
        hours: app_commands.Range[str, 1, 40] | None = None,
        tz: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        """Show, set or clear the user's quiet hours."""
        await self.runner.run(interaction, lambda: quiet_command(hours, tz))

    @quiet.autocomplete("tz")
    async def _quiet_tz(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return to_choices(timezone_choices(current))

    @app_commands.command(name="alerts", description=spec.command("alerts").help)
    @app_commands.describe(**spec.option_help("alerts"))
    async def alerts(
        self,
        interaction: discord.Interaction,
        threshold: app_commands.Range[float, 0.0, 1.0] | None = None,
    ) -> None:
        """Show the user's DM alert settings, or set their relevance threshold (0: off)."""
        await self.runner.run(interaction, lambda: alert_settings_command(threshold))

    @digest.command(name="on", description=spec.command("digest", "on").help)
    @app_commands.describe(**spec.option_help("digest", "on"))
    async def digest_on(
        self,
        interaction: discord.Interaction,
        time: app_commands.Range[str, 1, 5] | None = None,
        tz: app_commands.Range[str, 1, 64] | None = None,
        topics: app_commands.Range[str, 1, 100] | None = None,
        max: app_commands.Range[int, 1, 50] | None = None,
        sources: app_commands.Range[str, 1, 60] | None = None,
        days: app_commands.Range[str, 1, 40] | None = None,
        threshold: app_commands.Range[float, 0.0, 1.0] | None = None,
    ) -> None:
        """Enable or change this channel's digest."""
        await self.runner.run(interaction, lambda: digest_on_command(time, tz, topics, max, sources, days, threshold))

    @digest_on.autocomplete("tz")
    async def _digest_tz(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return to_choices(timezone_choices(current))

    @digest_on.autocomplete("days")
    async def _digest_days(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        needle = current.strip().lower()
        return to_choices([(label, value) for label, value in DAYS_SUGGESTIONS if needle in label or not needle])

    @digest_on.autocomplete("topics")
    async def _digest_topics(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return to_choices(comma_choices(current, self.runner.topic_choices))

    @digest.command(name="off", description=spec.command("digest", "off").help)
    async def digest_off(self, interaction: discord.Interaction) -> None:
        """Disable this channel's digest."""
        await self.runner.run(interaction, cmd.DigestOffCommand)

    @digest.command(name="show", description=spec.command("digest", "show").help)
    async def digest_show(self, interaction: discord.Interaction) -> None:
        """Show this channel's digest settings."""
        await self.runner.run(interaction, cmd.DigestShowCommand)

    @digest.command(name="now", description=spec.command("digest", "now").help)
    async def digest_now(self, interaction: discord.Interaction) -> None:
        """Post the digest now."""
        await self.runner.run(interaction, cmd.DigestNowCommand)

    @digest.command(name="me", description=spec.command("digest", "me").help)
    @app_commands.describe(**spec.option_help("digest", "me"))
    @app_commands.choices(action=ACTION_CHOICES)
    async def digest_me(
        self,
        interaction: discord.Interaction,
        action: str,
        time: app_commands.Range[str, 1, 5] | None = None,
        tz: app_commands.Range[str, 1, 64] | None = None,
        max: app_commands.Range[int, 1, 50] | None = None,
        threshold: app_commands.Range[float, 0.0, 1.0] | None = None,
    ) -> None:
        """The user's own DM digest."""
        await self.runner.run(interaction, lambda: digest_me_command(action, time, tz, max, threshold))

    @digest_me.autocomplete("tz")
    async def _digest_me_tz(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return to_choices(timezone_choices(current))

    @app_commands.command(name="email", description=spec.command("email").help)
    @app_commands.describe(**spec.option_help("email"))
    async def email(self, interaction: discord.Interaction, address: app_commands.Range[str, 1, 254]) -> None:
        """The user's own digest by email; always answered privately (see interactions.py)."""
        await self.runner.run(interaction, lambda: email_command(address))

    @app_commands.command(name="foryou", description=spec.command("foryou").help)
    @app_commands.describe(**spec.option_help("foryou"))
    async def foryou(
        self,
        interaction: discord.Interaction,
        since: app_commands.Range[str, 1, 40] | None = None,
        limit: app_commands.Range[int, 1, 20] | None = None,
    ) -> None:
        """Papers ranked for the user."""
        await self.runner.run(interaction, lambda: foryou_command(since, limit))

    @app_commands.command(name="like", description=spec.command("like").help)
    @app_commands.describe(**spec.option_help("like"))
    async def like(self, interaction: discord.Interaction, paper: app_commands.Range[str, 1, 200]) -> None:
        """Mark a paper relevant."""
        await self.runner.run(interaction, lambda: feedback_command("like", paper))

    @app_commands.command(name="dislike", description=spec.command("dislike").help)
    @app_commands.describe(**spec.option_help("dislike"))
    async def dislike(self, interaction: discord.Interaction, paper: app_commands.Range[str, 1, 200]) -> None:
        """Mark a paper not for me."""
        await self.runner.run(interaction, lambda: feedback_command("dislike", paper))

    @app_commands.command(name="save", description=spec.command("save").help)
    @app_commands.describe(**spec.option_help("save"))
    async def save(self, interaction: discord.Interaction, paper: app_commands.Range[str, 1, 200]) -> None:
        """Save a paper."""
        await self.runner.run(interaction, lambda: feedback_command("save", paper))

    @app_commands.command(name="unlike", description=spec.command("unlike").help)
    @app_commands.describe(**spec.option_help("unlike"))
    async def unlike(self, interaction: discord.Interaction, paper: app_commands.Range[str, 1, 200]) -> None:
        """Take a choice back."""
        await self.runner.run(interaction, lambda: feedback_command("unlike", paper))

    @app_commands.command(name="unsave", description=spec.command("unsave").help)
    @app_commands.describe(**spec.option_help("unsave"))
    async def unsave(self, interaction: discord.Interaction, paper: app_commands.Range[str, 1, 200]) -> None:
        """Remove a paper from the saved list."""
        await self.runner.run(interaction, lambda: feedback_command("unsave", paper))

    @app_commands.command(name="saved", description=spec.command("saved").help)
    async def saved(self, interaction: discord.Interaction) -> None:
        """The user's saved papers."""
        await self.runner.run(interaction, cmd.SavedCommand)

    @app_commands.command(name="similar", description=spec.command("similar").help)
    @app_commands.describe(**spec.option_help("similar"))
    async def similar(self, interaction: discord.Interaction, paper: app_commands.Range[str, 1, 200]) -> None:
        """Papers like one paper."""
        await self.runner.run(interaction, lambda: feedback_command("similar", paper))

    @app_commands.command(name="seed", description=spec.command("seed").help)
    @app_commands.describe(**spec.option_help("seed"))
    async def seed(self, interaction: discord.Interaction, papers: app_commands.Range[str, 1, 1000]) -> None:
        """Seed recommendations."""
        await self.runner.run(interaction, lambda: cmd.parse_seed(papers))

    @app_commands.command(name="forget", description=spec.command("forget").help)
    @app_commands.describe(**spec.option_help("forget"))
    async def forget(self, interaction: discord.Interaction, confirm: app_commands.Range[str, 1, 10]) -> None:
        """Delete everything about the user."""
        await self.runner.run(interaction, lambda: cmd.parse_forget(confirm))

    @app_commands.command(name="topics", description=spec.command("topics").help)
    async def topics(self, interaction: discord.Interaction) -> None:
        """List the topics."""
        await self.runner.run(interaction, cmd.TopicsCommand)

    @app_commands.command(name="help", description=spec.command("help").help)
    async def help(self, interaction: discord.Interaction) -> None:  # noqa: A003
        """Explain the commands."""
        await self.runner.run(interaction, cmd.HelpCommand)
