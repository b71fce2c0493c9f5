"""The neutral view of one paper in a reply: what every renderer shows, decided once.

The console, Slack, Discord and the in-memory test adapter all draw a paper from an `ItemView`:
its number in the reply, linked title, source line, tags, TL;DR and key points (or an abstract
preview when there is no summary), the detail sections (Summary / Methodology / Results /
Implications, or the abstract when none was made), why it is shown, its authors and its id.
Renderers only decide how that looks and how long each text may be on their platform.

An item of a reply that offers feedback also carries its actions (relevant, not for me, save,
more like this): which ones, their labels and order are decided here so every platform offers
the same; a platform only decides how a click reaches `BotService.item_action`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.chat.present import web_url
from bot.core.models import PaperItem, Reply, SourceKind
from bot.enrich.taxonomy import topic_names

MAX_KEY_POINTS = 4
MAX_URL_CHARS = 2048


class ItemAction(StrEnum):
    """What a person can do with one paper of a list; the value is the action's name in
    `BotService.item_action` and the feedback commands."""

    LIKE = "like"
    DISLIKE = "dislike"
    SAVE = "save"
    SIMILAR = "similar"

    @property
    def label(self) -> str:
        """The button text every platform shows."""
        return _ACTION_LABELS[self]

    @property
    def done_label(self) -> str:
        """The button text once the person chose it (shown to them alone)."""
        return _DONE_LABELS.get(self, _ACTION_LABELS[self])


_ACTION_LABELS = {
    ItemAction.LIKE: "👍 Relevant",
    ItemAction.DISLIKE: "👎 Not for me",
    ItemAction.SAVE: "🔖 Save",
    ItemAction.SIMILAR: "More like this",
}
_DONE_LABELS = {
    ItemAction.LIKE: "👍 Relevant ✓",
    ItemAction.DISLIKE: "👎 Not for me ✓",
    ItemAction.SAVE: "🔖 Saved ✓",
}
ITEM_ACTIONS = (ItemAction.LIKE, ItemAction.DISLIKE, ItemAction.SAVE, ItemAction.SIMILAR)
# Choosing one of these undoes the other (one verdict per person and paper).
OPPOSITE = {ItemAction.LIKE: ItemAction.DISLIKE, ItemAction.DISLIKE: ItemAction.LIKE}


@dataclass(frozen=True, slots=True)
class ItemView:
    """One paper as every platform shows it (texts are raw: each renderer escapes its own way)."""

    number: int
    paper_id: str
    id_label: str  # "arXiv:2504.17830", or the stored id of a non-arXiv item
    title: str
    url: str | None  # a checked http(s) URL, or None when the item's link is not one
    source_kind: SourceKind  # where the paper was first seen (colours, icons)
    source_line: str  # "arXiv cs.LG · 16h ago · HF daily · 154 upvotes"
    tags: tuple[str, ...]  # topic display names ("Computer Vision"), best first
    tldr: str
    key_points: tuple[str, ...]
    preview: str  # the abstract, shown when there is no summary
    sections: tuple[tuple[str, str], ...]  # details: (label, body), non-empty bodies only
    why: str
    authors: tuple[str, ...]
    published: datetime | None
    actions: tuple[ItemAction, ...] = ()  # offered on this item (empty: none)

    @property
    def has_summary(self) -> bool:
        """Whether a TL;DR or key points exist (otherwise the preview stands in)."""
        return bool(self.tldr or self.key_points)


def item_view(item: PaperItem, number: int, actions: tuple[ItemAction, ...] = ()) -> ItemView:
    """The view of one item, numbered as the reply lists it, with the actions it offers."""
    paper = item.paper
    summary = item.summary
    sections: tuple[tuple[str, str], ...] = ()
    if summary is not None:
        sections = tuple(
            (label, body.strip())
            for label, body in (
                ("Summary", summary.summary),
                ("Methodology", summary.methodology),
                ("Results", summary.results),
                ("Implications", summary.implications),
            )
            if body.strip()
        )
    if not sections and paper.abstract.strip():
        sections = (("Abstract", paper.abstract.strip()),)
    tldr = summary.tldr if summary is not None else ""
    points = tuple(summary.key_points[:MAX_KEY_POINTS]) if summary is not None else ()
    return ItemView(
        number=number,
        paper_id=paper.id,
        id_label=f"arXiv:{paper.id}" if paper.is_arxiv else paper.id,
        title=paper.title or paper.id,
        url=web_url(paper.url, MAX_URL_CHARS),
        source_kind=paper.source,
        source_line=item.source_line,
        tags=topic_names(item.topics),
        tldr=tldr,
        key_points=points,
        preview="" if (tldr or points) else paper.abstract.strip(),
        sections=sections,
        why=item.why,
        authors=tuple(paper.authors),
        published=paper.published or paper.first_seen,
        actions=actions,
    )


def item_actions(reply: Reply, item: PaperItem) -> tuple[ItemAction, ...]:
    """The actions one item of a reply offers: all of them when the reply offers feedback and
    the item is a paper the store can name, none otherwise."""
    return ITEM_ACTIONS if reply.offers_feedback and item.paper.id else ()


def reply_views(reply: Reply) -> list[list[ItemView]]:
    """The views of a reply's items, group by group, numbered 1.. across the whole reply."""
    number = 0
    groups: list[list[ItemView]] = []
    for group in reply.groups:
        views = []
        for item in group.items:
            number += 1
            views.append(item_view(item, number, item_actions(reply, item)))
        groups.append(views)
    return groups
