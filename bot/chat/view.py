"""The neutral view of one paper in a reply: what every renderer shows, decided once.

The console, Slack, Discord and the in-memory test adapter all draw a paper from an `ItemView`:
its number in the reply, linked title, source line, tags, TL;DR and key points (or an abstract
preview when there is no summary), the detail sections (Summary / Methodology / Results /
Implications, or the abstract when none was made), why it is shown, its authors and its id.
Renderers only decide how that looks and how long each text may be on their platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.chat.present import web_url
from bot.core.models import PaperItem, Reply, SourceKind

MAX_KEY_POINTS = 4
MAX_URL_CHARS = 2048


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
    tags: tuple[str, ...]
    tldr: str
    key_points: tuple[str, ...]
    preview: str  # the abstract, shown when there is no summary
    sections: tuple[tuple[str, str], ...]  # details: (label, body), non-empty bodies only
    why: str
    authors: tuple[str, ...]
    published: datetime | None

    @property
    def has_summary(self) -> bool:
        """Whether a TL;DR or key points exist (otherwise the preview stands in)."""
        return bool(self.tldr or self.key_points)


def item_view(item: PaperItem, number: int) -> ItemView:
    """The view of one item, numbered as the reply lists it."""
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
        tags=tuple(item.topics),
        tldr=tldr,
        key_points=points,
        preview="" if (tldr or points) else paper.abstract.strip(),
        sections=sections,
        why=item.why,
        authors=tuple(paper.authors),
        published=paper.published or paper.first_seen,
    )


def reply_views(reply: Reply) -> list[list[ItemView]]:
    """The views of a reply's items, group by group, numbered 1.. across the whole reply."""
    number = 0
    groups: list[list[ItemView]] = []
    for group in reply.groups:
        views = []
        for item in group.items:
            number += 1
            views.append(item_view(item, number))
        groups.append(views)
    return groups
