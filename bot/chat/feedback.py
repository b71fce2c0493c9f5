"""The feedback commands: like, dislike, save, unlike, unsave, saved, seed, foryou, similar, forget me.

A paper is named by its number in the last list the person was shown (their own last answer,
or the last digest or alert posted in the channel they type in, whichever came later) or by an
arXiv id; an id that is not stored is looked up on arXiv and stored first. Every answer is
private: nobody's feedback or saved list is shown to anyone else. Every list answered here is
remembered as the person's last list, so numbers keep working.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import bot.chat.grammar as cmd
from bot.chat.present import make_items
from bot.core.clock import Clock
from bot.core.errors import SourceError, UserInputError
from bot.core.ids import is_arxiv_base
from bot.core.models import Actor, ItemGroup, Paper, Place, Reply
from bot.ports import SummaryProvider
from bot.rank.ranking import Ranker
from bot.store import Store
from bot.store.feedback import Choice, channel_scope

log = logging.getLogger(__name__)

DEFAULT_FORYOU_WINDOW = timedelta(days=2)
SIMILAR_COUNT = 5
SAVED_SHOWN = 20


PaperLookup = Callable[[str], Awaitable[Paper | None]]
"""Fetch one paper by arXiv base id from the arXiv API (None when it does not exist)."""


class PaperNotFound(UserInputError):
    """An id that is neither stored nor on arXiv."""


async def find_paper(store: Store, lookup: PaperLookup | None, clock: Clock, paper_id: str) -> Paper:
    """A stored paper, or one looked up on arXiv and stored; raises PaperNotFound, or
    UserInputError when arXiv cannot be reached. Only an arXiv id is looked up: a button's value
    comes from the platform's request and may be anything."""
    paper = store.papers.get(paper_id)
    if paper is None and lookup is not None and is_arxiv_base(paper_id):
        try:
            fetched = await lookup(paper_id)
        except SourceError as exc:
            raise UserInputError(f"could not look up {paper_id} on arXiv: {exc}") from None
        if fetched is not None:
            store.papers.ingest([fetched], clock())
            paper = store.papers.get(paper_id)
    if paper is None:
        raise PaperNotFound(f"no paper {paper_id[:60]} on arXiv or in the store")
    return paper


def record_shown(store: Store, who: Actor, papers: list[str], context: str, now: datetime) -> None:
    """Remember what a person was just shown (so `like 3` means its third paper)."""
    store.feedback.record_shown(who.platform, who.user_id, papers, context, now)


class FeedbackCommands:
    """Runs the feedback commands for one person (see the module)."""

    def __init__(
        self,
        *,
        store: Store,
        ranker: Ranker,
        summaries: SummaryProvider,
        clock: Clock,
        lookup_paper: PaperLookup | None = None,
    ) -> None:
        self.store = store
        self.ranker = ranker
        self.summaries = summaries
        self.clock = clock
        self.lookup_paper = lookup_paper

    async def handle(self, command: cmd.Command, who: Actor, where: Place) -> Reply:
        """Run one feedback command; the answer is always private."""
        if isinstance(command, cmd.FeedbackCommand):
            return await self.feedback(command, who, where)
        if isinstance(command, cmd.UnlikeCommand):
            return await self.unlike(command, who, where)
        if isinstance(command, cmd.SavedCommand):
            return await self.saved(who)
        if isinstance(command, cmd.SeedCommand):
            return await self.seed(command, who)
        if isinstance(command, cmd.ForYouCommand):
            return await self.for_you(command, who)
        if isinstance(command, cmd.SimilarCommand):
            return await self.similar(command, who, where)
        if isinstance(command, cmd.ForgetMeCommand):
            return await self.forget(who)
        raise UserInputError("that is not a feedback command; see /papers help")

    # --- naming a paper ----------------------------------------------------------------------

    async def resolve(self, ref: cmd.PaperRef, who: Actor, where: Place) -> tuple[Paper, str]:
        """The paper a command names and the kind of list it was shown in ("" for an id)."""
        if ref.paper_id is not None:
            return await find_paper(self.store, self.lookup_paper, self.clock, ref.paper_id), ""
        assert ref.number is not None
        lists = [self.store.feedback.last_shown(who.platform, who.user_id)]
        if not where.is_dm:
            lists.append(self.store.feedback.last_shown(where.platform, channel_scope(where.channel_id)))
        shown = max((s for s in lists if s is not None), key=lambda s: s.at, default=None)
        if shown is None:
            raise UserInputError(
                "there is no list to pick a number from yet; search, run /papers foryou, or use an arXiv id"
            )
        if not 1 <= ref.number <= len(shown.paper_ids):
            raise UserInputError(
                f"the last list had {len(shown.paper_ids)} paper{'s' if len(shown.paper_ids) != 1 else ''}; "
                f"pick a number from 1 to {len(shown.paper_ids)}"
            )
        paper_id = shown.paper_ids[ref.number - 1]
        return await find_paper(self.store, self.lookup_paper, self.clock, paper_id), shown.context

    # --- the commands ------------------------------------------------------------------------

    async def feedback(self, command: cmd.FeedbackCommand, who: Actor, where: Place) -> Reply:
        """like / dislike / save."""
        paper, context = await self.resolve(command.ref, who, where)
        return await self.act(command.action, paper, who, where, context)

    async def act(self, action: str, paper: Paper, who: Actor, where: Place, context: str = "") -> Reply:
        """Record one action on one paper (also what a button click runs)."""
        title = _short(paper.title)
        if action == "save":
            added = self.store.feedback.save(who.platform, who.user_id, paper.id, self.clock())
            text = f"🔖 Saved “{title}” (arXiv:{paper.id})." if added else f"“{title}” was already in your saved papers."
            return Reply(text=text + " See them with /papers saved.", private=True)
        choice = Choice.RELEVANT if action == "like" else Choice.NOT_RELEVANT
        channel_key = "" if where.is_dm else where.key
        previous = await self.ranker.record(
            who.platform, who.user_id, paper.id, choice, channel_key=channel_key, shown_in=context
        )
        if choice == Choice.RELEVANT:
            text = f"👍 Noted: more like “{title}”."
        else:
            text = f"👎 Noted: fewer like “{title}”."
        if previous is not None and previous != choice:
            text += " (That replaces your earlier choice.)"
        return Reply(text=text + f" Take it back with /papers unlike {paper.id}.", private=True)

    async def unlike(self, command: cmd.UnlikeCommand, who: Actor, where: Place) -> Reply:
        """Take a choice, a seed or a save back (`unsave`: only the save)."""
        paper, _ = await self.resolve(command.ref, who, where)
        if command.saved_only:
            if not self.store.feedback.unsave(who.platform, who.user_id, paper.id):
                return Reply(text=f"“{_short(paper.title)}” was not in your saved papers.", private=True)
            return Reply(text=f"Removed “{_short(paper.title)}” from your saved papers.", private=True)
        removed = await self.ranker.take_back(who.platform, who.user_id, paper.id)
        unsaved = self.store.feedback.unsave(who.platform, who.user_id, paper.id)
        if removed is None and not unsaved:
            return Reply(text=f"You had not liked, disliked, seeded or saved “{_short(paper.title)}”.", private=True)
        what = [w for w, done in (("your choice", removed is not None), ("the save", unsaved)) if done]
        return Reply(text=f"Took back {' and '.join(what)} on “{_short(paper.title)}”.", private=True)

    async def saved(self, who: Actor) -> Reply:
        """The person's saved papers, most recent first."""
        ids = self.store.feedback.saved(who.platform, who.user_id)
        if not ids:
            return Reply(text="You have not saved any papers yet; use /papers save <n> on a list.", private=True)
        papers = self.store.papers.get_many(ids[:SAVED_SHOWN])
        now = self.clock()
        items = make_items(papers, await self.summaries.get_many(papers), now)
        record_shown(self.store, who, [p.id for p in papers], "saved", now)
        more = f"; showing the latest {SAVED_SHOWN}" if len(ids) > SAVED_SHOWN else ""
        return Reply(
            header=f"Your saved papers ({len(ids)}{more})",
            groups=(ItemGroup(title="", items=items),),
            private=True,
            offers_feedback=True,
        )

    async def seed(self, command: cmd.SeedCommand, who: Actor) -> Reply:
        """Add seeds (looking unknown ids up on arXiv)."""
        found: list[Paper] = []
        missing: list[str] = []
        for paper_id in command.paper_ids:
            try:
                found.append(await find_paper(self.store, self.lookup_paper, self.clock, paper_id))
            except PaperNotFound:
                missing.append(paper_id)
        added = await self.ranker.seed(who.platform, who.user_id, [p.id for p in found]) if found else 0
        lines = []
        if found:
            lines.append(
                f"🌱 {added} new seed{'s' if added != 1 else ''} ({len(found) - added} already known): "
                + "; ".join(f"“{_short(p.title, 60)}”" for p in found[:5])
                + ("…" if len(found) > 5 else "")
            )
            lines.append("Your /papers foryou now starts from them.")
        if missing:
            lines.append("Not found on arXiv: " + ", ".join(missing))
        return Reply(text="\n".join(lines), private=True, is_error=not found)

    async def for_you(self, command: cmd.ForYouCommand, who: Actor) -> Reply:
        """New papers ranked for the person."""
        now = self.clock()
        since = command.since_datetime(now) or now - DEFAULT_FORYOU_WINDOW
        ranked = await self.ranker.for_you(who.platform, who.user_id, since, command.limit)
        window = command.since or "2d"
        if not ranked:
            return Reply(text=f"No new papers since {window}; try /papers foryou since:7d.", private=True)
        papers = [r.paper for r in ranked]
        items = make_items(papers, await self.summaries.get_many(papers), now, {r.paper.id: r.why for r in ranked})
        record_shown(self.store, who, [p.id for p in papers], "foryou", now)
        learned = self.store.feedback.for_person(who.platform, who.user_id) or self.store.feedback.seeds(
            who.platform, who.user_id
        )
        footer = (
            "Teach it: /papers like <n>, /papers dislike <n>, /papers seed <arXiv ids>."
            if not learned
            else "Numbers work with /papers like, dislike, save and similar."
        )
        return Reply(
            header=f"{len(ranked)} papers for you · since {window}",
            groups=(ItemGroup(title="", items=items),),
            footer=footer,
            private=True,
            offers_feedback=True,
        )

    async def similar(self, command: cmd.SimilarCommand, who: Actor, where: Place) -> Reply:
        """The papers most like one paper."""
        paper, _ = await self.resolve(command.ref, who, where)
        return await self.similar_to(paper, who)

    async def similar_to(self, paper: Paper, who: Actor) -> Reply:
        """The papers most like `paper` (also what the More like this button runs)."""
        neighbours = await self.ranker.similar(paper, SIMILAR_COUNT)
        if not neighbours:
            return Reply(text=f"No stored paper is close to “{_short(paper.title)}” yet.", private=True)
        papers = self.store.papers.get_many([n.paper_id for n in neighbours])
        closeness = {n.paper_id: n.score for n in neighbours}
        now = self.clock()
        why = {p.id: f"similar to “{_short(paper.title, 50)}” ({closeness[p.id]:.2f})" for p in papers}
        items = make_items(papers, await self.summaries.get_many(papers), now, why)
        record_shown(self.store, who, [p.id for p in papers], "similar", now)
        return Reply(
            header=f"{len(papers)} papers like “{_short(paper.title, 80)}”",
            groups=(ItemGroup(title="", items=items),),
            private=True,
            offers_feedback=True,
        )

    async def forget(self, who: Actor) -> Reply:
        """Delete everything about the person and say what went."""
        counts = await self.ranker.forget(who.platform, who.user_id)
        held = ", ".join(f"{count} {name}" for name, count in counts.items() if count)
        return Reply(
            text=(
                "Done: paperbot no longer holds anything about you"
                + (f" (deleted {held})." if held else " (there was nothing to delete).")
                + " Your feedback, saved papers, seeds, subscriptions, quiet hours, notices, models "
                "and personal digest are gone; channel digests no longer learn from your feedback."
            ),
            private=True,
        )


def _short(title: str, limit: int = 90) -> str:
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1] + "…"
