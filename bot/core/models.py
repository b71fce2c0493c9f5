"""Platform-neutral data types shared by every part of paperbot.

Raw payloads (feed XML, Slack JSON, discord.py objects) never appear here: sources turn payloads
into `Paper`s, and adapters turn `Reply`s into platform messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any

from bot.core.ids import is_arxiv_base


class SourceKind(StrEnum):
    """Where an item came from; the value is what users type in `source:`."""

    ARXIV = "arxiv"
    HF = "hf"
    REDDIT = "reddit"
    FEED = "feed"


@dataclass(frozen=True, slots=True)
class Signal:
    """Popularity seen on one source for one paper (an HF daily entry, one Reddit post)."""

    source: SourceKind
    ref: str  # what makes it unique on that source: HF daily date, Reddit post id
    score: int  # HF upvotes, Reddit score
    comments: int
    label: str  # shown to users: "HF daily", "r/LocalLLaMA"
    url: str
    observed_at: datetime  # when the item appeared on that source (UTC)


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper (or one non-arXiv item) as a source saw it, or as the store merged it.

    `id` is the arXiv base id (`2504.17830`, `hep-th/9901001`) or, for items that are not arXiv
    papers, a stable item id (`feed:<hash>`, `reddit:t3_abc`). `version` is 0 for such items.
    Datetimes are timezone-aware UTC.
    """

    id: str
    title: str
    abstract: str = ""
    version: int = 0
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    primary_category: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    url: str = ""
    source: SourceKind = SourceKind.ARXIV
    source_label: str = ""  # e.g. "arXiv cs.LG", "r/MachineLearning", a blog's name
    announce_type: str | None = None  # arXiv listing: new | cross | replace | replace-cross
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None
    signals: tuple[Signal, ...] = ()
    # Filled in by the store only:
    sources: tuple[SourceKind, ...] = ()
    first_seen: datetime | None = None
    is_updated: bool = False  # a newer version arrived after the paper was first stored

    @property
    def is_arxiv(self) -> bool:
        """Whether this is an arXiv paper (as opposed to a blog post or a Reddit thread)."""
        return is_arxiv_base(self.id)

    @property
    def popularity(self) -> int:
        """The strongest popularity signal: max HF upvotes or Reddit score."""
        return max((s.score for s in self.signals), default=0)


@dataclass(frozen=True, slots=True)
class Summary:
    """What a summarizer made of one paper version. Lengths are enforced by the summarizers."""

    tldr: str
    key_points: tuple[str, ...]
    summary: str = ""
    methodology: str = ""
    results: str = ""
    implications: str = ""
    topics: tuple[str, ...] = ()  # taxonomy topic ids, e.g. "llm" (names are for display only)
    summarizer: str = "offline"
    model: str = ""
    prompt_version: str = ""


@dataclass(frozen=True, slots=True)
class Topic:
    """One entry of the fixed taxonomy."""

    id: str  # short id users type: "llm", "cv", "rl"
    name: str  # display name: "Large Language Models"
    aliases: tuple[str, ...] = ()
    arxiv_categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


# --- what the core asks adapters to say -------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaperItem:
    """One paper as shown to a user: the paper, its summary, and why it is shown."""

    paper: Paper
    summary: Summary | None = None
    source_line: str = ""  # "arXiv cs.LG · 16h ago", "HF daily · 154 upvotes"
    why: str = ""  # "matched: diffusion in title", "topic: Computer Vision"

    @property
    def topics(self) -> tuple[str, ...]:
        """Topic ids from the summary (empty when no summary was made)."""
        return self.summary.topics if self.summary else ()


@dataclass(frozen=True, slots=True)
class ItemGroup:
    """A titled group of items (a digest groups by topic; a search reply has one untitled group)."""

    title: str
    items: tuple[PaperItem, ...]


@dataclass(frozen=True, slots=True)
class Reply:
    """A platform-neutral message: what to say, never how it looks on a platform.

    All text fields are plain text and may contain untrusted content (paper titles, abstracts,
    LLM output); every adapter escapes them for its platform.
    """

    text: str = ""
    header: str = ""
    groups: tuple[ItemGroup, ...] = ()
    footer: str = ""
    private: bool = True  # shown only to the user who asked
    is_error: bool = False
    show_details: bool = False  # render each item's full summary sections inline
    # Offer a Share button. Share means the same on every platform: the person who was shown
    # this private answer posts the same answer in the channel for everyone, marked "Shared by
    # @them". Slack does not send an ephemeral message's content back, so its button carries a
    # single-use token for the answer as shown (ServiceAPI.keep_for_sharing); Discord reposts
    # the message it showed. No button value is ever run as a command.
    shareable: bool = False
    # A channel's digest (or its quiet-day note): offer a way to change that channel's digest
    # settings where it is posted (Slack: a Settings button opening the settings form).
    digest_settings: bool = False
    # Each item offers the feedback actions (relevant, not for me, save, more like this); the
    # person who acts is the one who clicks, wherever the list was posted.
    offers_feedback: bool = False
    # A placeholder shown at once while slow work runs ("Looking up 2504.17830 on arXiv…"): the
    # final answer to the same command replaces it (see bot.ports.Progress). No buttons.
    interim: bool = False

    @property
    def items(self) -> tuple[PaperItem, ...]:
        """Every item across groups, in order."""
        return tuple(item for group in self.groups for item in group.items)


# --- who and where ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Actor:
    """The user who triggered a command. `can_manage` is decided by the adapter (platform roles)."""

    platform: str
    user_id: str
    name: str = ""
    can_manage: bool = True


@dataclass(frozen=True, slots=True)
class Place:
    """Where a command was typed: a channel (or the DM with the bot)."""

    platform: str
    channel_id: str
    workspace_id: str = ""  # Slack team id / Discord guild id
    is_dm: bool = False

    @property
    def key(self) -> str:
        """The store key of this channel: `platform:channel_id`."""
        return f"{self.platform}:{self.channel_id}"


# --- apps installed in a workspace --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Installation:
    """A chat app installed in one workspace (Slack's OAuth install): who installed it and the
    platform's own record of it, tokens included, kept as the platform gave it (JSON values)."""

    platform: str
    workspace_id: str
    installer_id: str = ""
    record: Mapping[str, Any] = field(default_factory=dict)
    installed_at: datetime | None = None


# --- settings users make -------------------------------------------------------------------


class CatchUp(StrEnum):
    """What to do with a digest missed during downtime."""

    POST = "post"  # post the latest missed digest once, marked delayed
    SKIP = "skip"  # skip it with a one-line note


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """The digest settings of one channel."""

    platform: str
    channel_id: str
    enabled: bool = True
    time_of_day: time = time(9, 0)
    timezone: str = "UTC"
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday=0; default: the days arXiv announces
    topics: tuple[str, ...] = ()  # topic ids
    query: str = ""
    sources: tuple[SourceKind, ...] = ()  # empty: all
    max_items: int = 10
    min_score: int = 0
    show_updated: bool = False
    quiet_note: bool = False  # post a one-line note on days with nothing new
    catch_up: CatchUp = CatchUp.POST
    rank: str = ""  # "topic" or "trending"; empty: trending for email without topics, else topic
    threshold: float | None = None  # once the channel's model has feedback: the least relevance posted
    workspace_id: str = ""
    created_by: str = ""  # user id of whoever enabled it; told about delivery failures
    paused_reason: str = ""  # set when delivery failed permanently
    last_digest_at: datetime | None = None

    @property
    def key(self) -> str:
        """The store key of this channel: `platform:channel_id`."""
        return f"{self.platform}:{self.channel_id}"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A user's standing query: DM alerts when new papers match."""

    id: int
    platform: str
    user_id: str
    query: str = ""
    topics: tuple[str, ...] = ()
    created_at: datetime | None = None
    paused_reason: str = ""


@dataclass(frozen=True, slots=True)
class Digest:
    """One channel's digest for one local date, ready for the outbox."""

    channel_key: str
    local_date: str  # YYYY-MM-DD in the channel's time zone
    reply: Reply
    paper_ids: tuple[str, ...] = ()
    delayed: bool = False
