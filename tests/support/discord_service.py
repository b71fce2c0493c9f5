"""A small ServiceAPI for the Discord adapter tests: records the typed commands it is given and
answers with canned replies made of real-shaped papers (including hostile titles).

The real BotService needs the search, digest and alert slices; this fake keeps the adapter tests
about the adapter: option mapping, permissions, deferral, rendering and delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import bot.chat.grammar as cmd
from bot.core.models import Actor, ItemGroup, PaperItem, Place, Reply, Summary
from bot.enrich.taxonomy import TAXONOMY
from bot.ports import Progress
from tests.support.factories import make_paper

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOSTILE_TITLE = "@everyone <@123> **x** [click](https://evil.example) <#456> @here"


def make_item(number: int, *, title: str | None = None, long: bool = False) -> PaperItem:
    """A paper item with a summary; `long` fills every text to its limit and beyond."""
    filler = "word " * (400 if long else 12)
    paper = make_paper(
        number,
        paper_id=f"2511.{10000 + number:05d}",
        title=title or f"Paper number {number}: diffusion models for things",
        abstract="We study diffusion. " + filler,
        published=NOW - timedelta(hours=16),
        announce_type=None,
        authors=tuple(f"Author {i}" for i in range(20 if long else 3)),
    )
    summary = Summary(
        tldr=("A one-line TL;DR. " + filler)[: 2000 if long else 200],
        key_points=tuple(f"Key point {i}: " + filler for i in range(4)),
        summary="Summary. " + filler,
        methodology="Methodology. " + filler,
        results="Results. " + filler,
        implications="Implications. " + filler,
        topics=("llm", "cv"),
    )
    return PaperItem(paper=paper, summary=summary, source_line="arXiv cs.LG · 16h ago", why="matched: diffusion in title")


@dataclass
class FakeService:
    """Records (command, who, where); answers like the core would, without a store."""

    calls: list[tuple[cmd.Command, Actor, Place]] = field(default_factory=list)
    actions: list[tuple[str, str, Actor, Place]] = field(default_factory=list)
    hostile: bool = False
    results: int = 3
    feedback: bool = False  # search answers offer the feedback buttons
    public_email_answer: bool = False  # answer /papers email publicly (the adapter must not post it)
    not_stored: tuple[str, ...] = ("2512.00001",)  # `paper` of these shows the interim reply first

    async def handle_command(
        self, command: str | cmd.Command, who: Actor, where: Place, *, progress: Progress | None = None
    ) -> Reply:
        """Answer a typed command (text is parsed with the real grammar)."""
        parsed = cmd.parse_command(command) if isinstance(command, str) else command
        self.calls.append((parsed, who, where))
        if isinstance(parsed, cmd.PaperCommand) and parsed.paper_id in self.not_stored and progress is not None:
            await progress(Reply(text=f"Looking up {parsed.paper_id} on arXiv…", private=True, interim=True))
        if isinstance(parsed, cmd.SearchCommand):
            items = tuple(
                make_item(i, title=HOSTILE_TITLE if self.hostile and i == 1 else None) for i in range(1, self.results + 1)
            )
            return Reply(
                header=f"{len(items)} of {len(items)} papers for “{parsed.query}”",
                groups=(ItemGroup(title="", items=items),),
                private=True,
                shareable=True,
                offers_feedback=self.feedback,
            )
        if isinstance(parsed, cmd.PaperCommand):
            return Reply(
                groups=(ItemGroup(title="", items=(make_item(1),)),), private=True, show_details=True, shareable=True
            )
        if isinstance(parsed, cmd.DigestOnCommand):
            if not who.can_manage:
                return Reply(
                    text="Only members with Manage Channels can change this channel's digest.", private=True, is_error=True
                )
            return Reply(text=f"Daily digest on for this channel (changed by {who.name}).", private=False)
        if isinstance(parsed, cmd.EmailDigestCommand):
            text = "Your email digest is off." if parsed.off else f"Check {parsed.address}: a confirmation link is on its way."
            return Reply(text=text, private=not self.public_email_answer, shareable=self.public_email_answer)
        if isinstance(parsed, cmd.HelpCommand):
            return Reply(header="paperbot commands", text="/papers search query:<words>\n/papers help")
        if isinstance(parsed, cmd.TopicsCommand):
            return Reply(header="Topics", text="\n".join(f"{t.id} — {t.name}" for t in TAXONOMY))
        return Reply(text=f"ok: {type(parsed).__name__}", private=True)

    async def item_action(self, action: str, paper_id: str, who: Actor, where: Place) -> Reply:
        """Record a feedback click; answer like the core (similar: a list of papers)."""
        self.actions.append((action, paper_id, who, where))
        if action == "similar":
            items = tuple(make_item(i) for i in range(4, 7))
            return Reply(header=f"3 papers like {paper_id}", groups=(ItemGroup(title="", items=items),), offers_feedback=True)
        if paper_id == "2511.99999":
            return Reply(text="no paper 2511.99999 on arXiv or in the store", is_error=True)
        return Reply(text=f"Noted: {action} {paper_id}", private=True)

    def topic_choices(self, prefix: str) -> list[tuple[str, str]]:
        """Topics whose id or name starts with the prefix."""
        needle = prefix.strip().lower()
        return [
            (f"{t.name} ({t.id})", t.id)
            for t in TAXONOMY
            if not needle or t.id.startswith(needle) or t.name.lower().startswith(needle)
        ][:25]

    def subscription_choices(self, who: Actor, prefix: str) -> list[tuple[str, str]]:
        """Two canned subscriptions of whoever asks."""
        subs = [("1. “diffusion”", "1"), ("2. topics: Computer Vision", "2")]
        return [s for s in subs if prefix.strip().lower() in s[0].lower() or prefix.strip() == s[1]]
