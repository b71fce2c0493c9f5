"""BotService: the one facade adapters call. Platform-neutral in, platform-neutral out.

`handle_command(text or Command, who, where, progress=...) -> Reply` parses (when given text),
checks permissions, runs the command against the store and returns a Reply. Errors a user caused
come back as private one-line replies, never as exceptions. Answers never wait for the LLM (the
runtime gives this service `Summaries.for_answers()`). `paper <id>` for a paper not in the store
looks it up on arXiv: it first shows an interim reply through `progress` ("Looking up … on
arXiv"), and the look-up gets LOOKUP_SECONDS, so the final answer or a clear failure comes within
PAPER_ANSWER_SECONDS.

Share: `keep_for_sharing` keeps a private answer as it was shown behind a single-use token
(bot/store/shares.py, SHARE_TTL) bound to the person and the place; `take_shared` gives it back
once, to them, there. A Share button carries only the token, so it can post nothing but what
that person was shown, and run no command. Digest and subscription commands are
handled by their own slices (bot.digests.commands, bot.alerts.alerts); scheduled work (digests, alerts) is the
scheduler's (bot.app.scheduler), which `paperbot run` ticks directly.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

import bot.chat.grammar as cmd
from bot.chat.feedback import FeedbackCommands, PaperLookup, PaperNotFound, find_paper, record_shown
from bot.chat.forms import NewDigest, digest_form
from bot.chat.home import HomeContext, build_home
from bot.chat.present import describe_subscription, make_items
from bot.chat.spec import help_text
from bot.core.clock import Clock
from bot.core.errors import PaperbotError, UserInputError
from bot.core.forms import DigestForm
from bot.core.home import Home
from bot.core.ids import is_arxiv_base
from bot.core.models import Actor, ChannelSettings, ItemGroup, Paper, Place, Reply
from bot.core.workers import interactive
from bot.delivery.outbox import reply_from_json, reply_to_json
from bot.enrich.taxonomy import TAXONOMY, resolve_topic
from bot.ports import Progress, SummaryProvider
from bot.search.engine import SearchEngine
from bot.search.query import SearchQuery
from bot.store import Store

log = logging.getLogger(__name__)

__all__ = ["BotService", "PaperLookup", "describe_search"]

PAPER_ANSWER_SECONDS = 15.0  # `paper <id>`: the final answer or a clear failure within this
LOOKUP_SECONDS = 12.0  # of which the arXiv look-up may take this much (the rest: summary, sending)
SHARE_TTL = timedelta(hours=24)  # an ephemeral answer stays on screen until the client reloads

FEEDBACK_COMMANDS = (
    cmd.FeedbackCommand,
    cmd.UnlikeCommand,
    cmd.SavedCommand,
    cmd.SeedCommand,
    cmd.ForYouCommand,
    cmd.SimilarCommand,
    cmd.ForgetMeCommand,
)


class CommandSlice(Protocol):
    """A group of commands handled outside this module (digest settings, subscriptions)."""

    async def handle(self, command: cmd.Command, who: Actor, where: Place) -> Reply: ...


class Notices(Protocol):
    """Messages waiting for a user (e.g. 'your alerts are paused: DMs are blocked')."""

    def pop(self, platform: str, user_id: str, now: datetime) -> list[str]: ...





class BotService:
    """The operations a user can trigger, plus the scheduler entry points."""

    def __init__(
        self,
        *,
        store: Store,
        summaries: SummaryProvider,
        search: SearchEngine,
        clock: Clock,
        digests: CommandSlice,
        subscriptions: CommandSlice,
        notices: Notices,
        lookup_paper: PaperLookup | None = None,
        command_name: str = "/papers",
        new_digest: NewDigest | None = None,
        feedback: FeedbackCommands | None = None,
        lookup_seconds: float = LOOKUP_SECONDS,
    ) -> None:
        self.store = store
        self.summaries = summaries
        self.search = search
        self.clock = clock
        self.digests = digests
        self.subscriptions = subscriptions
        self.notices = notices
        self.lookup_paper = lookup_paper
        self.command_name = command_name
        self.new_digest: NewDigest = new_digest or (lambda where: ChannelSettings(where.platform, where.channel_id))
        self.feedback = feedback
        self.lookup_seconds = lookup_seconds

    # --- the adapter-facing API ---------------------------------------------------------------

    async def handle_command(
        self, command: str | cmd.Command, who: Actor, where: Place, *, progress: Progress | None = None
    ) -> Reply:
        """Run one command; user errors and failures come back as private one-line replies.
        `progress` shows an interim reply before slow work (see the module). Its blocking work
        runs in the worker threads' interactive lane: somebody waits for it (bot.core.workers)."""
        try:
            parsed = cmd.parse_command(command) if isinstance(command, str) else command
            with interactive():
                reply = await self._dispatch(parsed, who, where, progress)
        except UserInputError as exc:
            reply = Reply(text=str(exc), private=True, is_error=True)
        except PaperbotError as exc:
            log.warning("command failed for %s:%s: %s", who.platform, who.user_id, exc)
            reply = Reply(text=f"Sorry, that did not work: {exc}", private=True, is_error=True)
        except Exception:
            log.exception("unexpected error handling a command")
            reply = Reply(
                text="Sorry, something went wrong on our side; it has been logged.",
                private=True,
                is_error=True,
            )
        return self._with_notices(reply, who)

    def topic_choices(self, prefix: str) -> list[tuple[str, str]]:
        """Autocomplete for topic options: (label, topic id), best matches first, at most 25."""
        needle = prefix.strip().lower()
        scored = []
        for topic in TAXONOMY:
            names = (topic.id, topic.name.lower(), *(a.lower() for a in topic.aliases))
            if not needle or any(n.startswith(needle) for n in names):
                scored.append((0, topic))
            elif any(needle in n for n in names):
                scored.append((1, topic))
        return [(f"{t.name} ({t.id})", t.id) for _, t in sorted(scored, key=lambda s: s[0])][:25]

    def subscription_choices(self, who: Actor, prefix: str) -> list[tuple[str, str]]:
        """Autocomplete for unsubscribe: the user's own subscriptions, numbered as listed."""
        subs = self.store.subscriptions.list_for_user(who.platform, who.user_id)
        needle = prefix.strip().lower()
        choices = []
        for number, sub in enumerate(subs, start=1):
            label = describe_subscription(sub.query, sub.topics)
            if not needle or needle in label.lower() or needle == str(number):
                choices.append((f"{number}. {label}"[:100], str(number)))
        return choices[:25]

    async def home(self, who: Actor) -> Home:
        """The person's home (bot.chat.home: new papers, subscriptions, quiet hours, their own
        digest, saved papers, digests they set up)."""
        ranker = self.feedback.ranker if self.feedback is not None else None
        context = HomeContext(who, self.clock(), self.store, self.search, self.summaries, self.command_name, ranker)
        return await build_home(context)

    def digest_form(self, who: Actor, where: Place) -> DigestForm:
        """The digest settings of `where` as a form for `who` (bot.chat.forms); saving it is
        a DigestOnCommand through `handle_command`, with the command's permission checks."""
        return digest_form(self.store, who, where, self.new_digest)

    async def keep_for_sharing(self, reply: Reply, who: Actor, where: Place) -> str:
        """A single-use Share token for `reply` as shown to `who` in `where` (see the module).
        A write: in a worker thread, so the loop never waits on SQLite's lock held by a digest
        batch (measured: 35-45 ms of a held loop per answer during a digest run)."""
        issue = partial(
            self.store.shares.issue, platform=who.platform, user_id=who.user_id, channel_id=where.channel_id,
            reply_json=reply_to_json(reply), now=self.clock(), ttl=SHARE_TTL,
        )
        return await self.store.run_blocking(issue)

    def take_shared(self, token: str, who: Actor, where: Place) -> Reply | None:
        """The reply behind a Share token, once, for the person and place it was issued to,
        ready to post for everyone; None when the token is not theirs to use (see the module)."""
        if not token or len(token) > 100:
            return None
        kept = self.store.shares.take(
            token, platform=who.platform, user_id=who.user_id, channel_id=where.channel_id, now=self.clock()
        )
        if kept is None:
            return None
        return replace(reply_from_json(kept), private=False, shareable=False, interim=False, offers_feedback=False)

    # --- dispatch -----------------------------------------------------------------------------

    async def _dispatch(self, command: cmd.Command, who: Actor, where: Place, progress: Progress | None = None) -> Reply:
        if isinstance(command, cmd.SearchCommand):
            return await self._search(command, who)
        if isinstance(command, cmd.PaperCommand):
            return await self._paper(command, who, progress)
        if isinstance(command, cmd.TopicsCommand):
            return self._topics()
        if isinstance(command, cmd.HelpCommand):
            return Reply(header="paperbot commands", text=help_text(self.command_name))
        if isinstance(
            command,
            (
                cmd.SubscribeCommand, cmd.UnsubscribeCommand, cmd.ListSubscriptionsCommand,
                cmd.QuietHoursCommand, cmd.AlertSettingsCommand,
            ),
        ):
            return await self.subscriptions.handle(command, who, where)
        if isinstance(command, FEEDBACK_COMMANDS):
            if self.feedback is None:
                raise UserInputError("feedback and recommendations are not available on this paperbot")
            return await self.feedback.handle(command, who, where)
        return await self.digests.handle(command, who, where)

    async def item_action(self, action: str, paper_id: str, who: Actor, where: Place) -> Reply:
        """A feedback button on one paper: like, dislike, save or similar (More like this).
        Answered privately to whoever clicked, like the commands."""
        try:
            if self.feedback is None:
                raise UserInputError("feedback and recommendations are not available on this paperbot")
            if action not in ("like", "dislike", "save", "similar"):
                raise UserInputError(f"{action!r} is not an action on a paper")
            paper = await find_paper(self.store, self.lookup_paper, self.clock, paper_id)
            if action == "similar":
                reply = await self.feedback.similar_to(paper, who)
            else:
                reply = await self.feedback.act(action, paper, who, where, "button")
        except UserInputError as exc:
            reply = Reply(text=str(exc), private=True, is_error=True)
        except Exception:
            log.exception("unexpected error handling a paper action")
            reply = Reply(text="Sorry, something went wrong on our side; it has been logged.", private=True, is_error=True)
        return self._with_notices(reply, who)

    async def _search(self, command: cmd.SearchCommand, who: Actor) -> Reply:
        now = self.clock()
        query = SearchQuery(
            text=command.query,
            since=command.since_datetime(now),
            source=command.source,
            topic=command.topic,
            author=command.author,
            sort=command.sort,
            limit=command.limit,
        )
        # Tantivy, the store reads and ranking: tens of milliseconds that must not hold the loop.
        result = await self.store.run_blocking(self.search.search, query, now)
        described = describe_search(command)
        if not result.hits:
            return Reply(text=result.suggestion or f"No papers matched {described}.", private=True)
        papers = [hit.paper for hit in result.hits]
        summaries = await self.summaries.get_many(papers)
        items = make_items(papers, summaries, now, {hit.paper.id: hit.why for hit in result.hits})
        # A write: in a worker thread, so the loop never waits on SQLite's lock held by one
        # (a digest batch, summaries being stored).
        await self.store.run_blocking(record_shown, self.store, who, [p.id for p in papers], "search", now)
        shown = len(items)
        total = f"{result.total:,}" if result.total > shown else str(shown)
        if not result.total_exact and result.total > shown:
            total = f"at least {total}"
        return Reply(
            header=f"{shown} of {total} papers for {described}",
            groups=(ItemGroup(title="", items=items),),
            private=True,
            shareable=True,
            offers_feedback=True,
        )

    async def _paper(self, command: cmd.PaperCommand, who: Actor, progress: Progress | None = None) -> Reply:
        paper = await self._find_paper(command.paper_id, progress)
        summaries = await self.summaries.get_many([paper])
        items = make_items([paper], summaries, self.clock())
        record_shown(self.store, who, [paper.id], "paper", self.clock())
        footer = ""
        if command.version and command.version != paper.version:
            footer = f"You asked for v{command.version}; the latest version seen is v{paper.version}."
        return Reply(
            groups=(ItemGroup(title="", items=items),),
            private=True,
            show_details=True,
            shareable=True,
            footer=footer,
            offers_feedback=True,
        )

    async def _find_paper(self, paper_id: str, progress: Progress | None) -> Paper:
        """The stored paper, or one looked up on arXiv after an interim reply, within
        `lookup_seconds`; only an arXiv id is looked up (a button's value is not trusted)."""
        stored = self.store.papers.get(paper_id)
        if stored is not None:
            return stored
        if self.lookup_paper is None:
            return await find_paper(self.store, None, self.clock, paper_id)
        if not is_arxiv_base(paper_id):
            raise PaperNotFound(f"no paper {paper_id[:60]} in the store")
        if progress is not None:
            try:
                await progress(Reply(text=f"Looking up {paper_id} on arXiv…", private=True, interim=True))
            except Exception:  # the interim is a courtesy; the answer still comes
                log.warning("could not show the interim reply for %s", paper_id, exc_info=True)
        try:
            async with asyncio.timeout(self.lookup_seconds):
                return await find_paper(self.store, self.lookup_paper, self.clock, paper_id)
        except TimeoutError:
            raise UserInputError(
                f"arXiv did not answer about {paper_id} within {self.lookup_seconds:g} seconds; please try again in a minute"
            ) from None

    def _topics(self) -> Reply:
        lines = []
        for topic in TAXONOMY:
            aliases = f" (also: {', '.join(topic.aliases[:3])})" if topic.aliases else ""
            lines.append(f"{topic.id} — {topic.name}{aliases}")
        return Reply(header="Topics", text="\n".join(lines), private=True)

    def _with_notices(self, reply: Reply, who: Actor) -> Reply:
        if not reply.private:
            # A notice is for this user alone; it waits for their next private answer.
            return reply
        try:
            pending = self.notices.pop(who.platform, who.user_id, self.clock())
        except Exception:  # a notice must never cost the user their answer
            log.exception("could not read notices")
            pending = []
        if not pending:
            return reply
        note = "\n".join(f"Note: {text}" for text in pending)
        return replace(reply, footer=f"{reply.footer}\n{note}".strip())


def describe_search(command: cmd.SearchCommand) -> str:
    """A readable echo of a search ("“diffusion” · topic Computer Vision · since 7d")."""
    parts = [f"“{command.query}”"] if command.query else []
    if command.topic:
        topic = resolve_topic(command.topic)
        parts.append(f"topic {topic.name if topic else command.topic}")
    if command.author:
        parts.append(f"author {command.author}")
    if command.source:
        parts.append(f"source {command.source.value}")
    if command.since:
        parts.append(f"since {command.since}")
    return " · ".join(parts) or "everything"


