"""How papers are presented, platform-neutrally: source lines ("arXiv cs.LG · 16h ago",
"HF daily · 154 upvotes", "r/LocalLLaMA · 17h ago") and PaperItems with their summaries.

Search replies, digests and alerts all build their items here so they read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from bot.core.clock import humanize_age
from bot.core.models import Paper, PaperItem, Signal, SourceKind, Summary
from bot.enrich.taxonomy import topic_by_id


def web_url(url: str, max_chars: int) -> str | None:
    """`url` stripped, when it is an absolute http(s) URL with a host and at most `max_chars`
    long; otherwise None. Adapters link only such URLs (a feed can carry `javascript:` ones)
    and escape them their own way."""
    url = url.strip()
    if not url or len(url) > max_chars:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def _strongest(signals: Sequence[Signal], kind: SourceKind) -> Signal | None:
    candidates = [s for s in signals if s.source == kind]
    return max(candidates, key=lambda s: s.score) if candidates else None


def source_line(paper: Paper, now: datetime | None) -> str:
    """A short line naming where the paper came from and how fresh or popular it is.

    Parts are joined with " · "; the most telling popularity signal comes first when present.
    With `now` None the ages are left out (for platforms that show a live age of their own).
    """

    def age(when: datetime | None) -> str:
        return f" · {humanize_age(when, now)}" if when is not None and now is not None else ""

    parts: list[str] = []
    hf = _strongest(paper.signals, SourceKind.HF)
    reddit = _strongest(paper.signals, SourceKind.REDDIT)
    when = paper.published or paper.first_seen
    if paper.is_arxiv and (SourceKind.ARXIV in paper.sources or not paper.sources):
        label = paper.source_label if paper.source_label.startswith("arXiv") else ""
        label = label or (f"arXiv {paper.primary_category}" if paper.primary_category else "arXiv")
        parts.append(label + age(when))
        if paper.is_updated and paper.version > 1:
            parts.append(f"updated v{paper.version}")
    if hf is not None:
        parts.append(f"HF daily · {hf.score} upvote{'s' if hf.score != 1 else ''}")
    if reddit is not None:
        parts.append(f"{reddit.label} · {reddit.score} points" + age(reddit.observed_at))
    if not parts:
        label = paper.source_label or paper.source.value
        parts.append(label + age(when))
    return " · ".join(parts)


def make_items(
    papers: Sequence[Paper],
    summaries: Mapping[str, Summary],
    now: datetime,
    why: Mapping[str, str] | None = None,
) -> tuple[PaperItem, ...]:
    """PaperItems for papers, with their summaries (when made) and the reason each is shown."""
    return tuple(
        PaperItem(
            paper=paper,
            summary=summaries.get(paper.id),
            source_line=source_line(paper, now),
            why=(why or {}).get(paper.id, ""),
        )
        for paper in papers
    )


def describe_subscription(query: str, topics: Sequence[str]) -> str:
    """How a subscription is shown: `“diffusion” · topics: Computer Vision`; a query with its
    own quotes (`"language model"`) is shown as typed."""
    names = [_topic_name(t) for t in topics]
    parts = [query if '"' in query else f"“{query}”"] if query else []
    if names:
        parts.append("topics: " + ", ".join(names))
    return " · ".join(parts) or "(empty)"


def _topic_name(topic_id: str) -> str:
    try:
        return topic_by_id(topic_id).name
    except KeyError:
        return topic_id
