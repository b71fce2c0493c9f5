"""What a user asked for: one typed command per `/papers` subcommand.

The grammar (bot.chat.grammar) turns text into these; adapters with typed options (Discord)
build them directly; features receive them. They are plain values with no behaviour beyond
reading their own fields, so every layer may import them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from bot.core.clock import parse_since
from bot.core.models import SourceKind


@dataclass(frozen=True, slots=True)
class SearchCommand:
    """Find papers matching a query (the default when no subcommand is named)."""

    query: str = ""
    since: str | None = None  # validated window: "7d", "2w", "2026-11-01"
    source: SourceKind | None = None
    topic: str | None = None  # topic id
    author: str | None = None
    sort: str = "relevance"
    limit: int = 5

    def since_datetime(self, now: datetime) -> datetime | None:
        """The lower time bound of this search relative to `now`, or None."""
        return parse_since(self.since, now) if self.since else None


@dataclass(frozen=True, slots=True)
class PaperCommand:
    """Show one paper in full."""

    paper_id: str  # arXiv base id, or a stored item id
    version: int | None = None


@dataclass(frozen=True, slots=True)
class SubscribeCommand:
    """Start DM alerts for papers matching a query and/or topics."""

    query: str = ""
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UnsubscribeCommand:
    """Stop alerts: by list number, by query text, or all."""

    number: int | None = None
    query: str = ""
    everything: bool = False


@dataclass(frozen=True, slots=True)
class ListSubscriptionsCommand:
    """List the user's subscriptions."""


@dataclass(frozen=True, slots=True)
class QuietHoursCommand:
    """Show (no times, not off), set (start and end) or clear (off) the user's DM quiet hours."""

    start: time | None = None
    end: time | None = None
    timezone: str | None = None
    off: bool = False


@dataclass(frozen=True, slots=True)
class AlertSettingsCommand:
    """Show (no options) or change the user's DM alert settings: a relevance threshold from 0
    to 1 (0 turns it off; None keeps it)."""

    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class DigestOnCommand:
    """Enable (or change) the daily digest of the current channel; None keeps the current value."""

    at: time | None = None
    timezone: str | None = None
    topics: tuple[str, ...] | None = None
    max_items: int | None = None
    sources: tuple[SourceKind, ...] | None = None
    days: tuple[int, ...] | None = None
    query: str | None = None
    min_score: int | None = None
    show_updated: bool | None = None
    quiet_note: bool | None = None
    catch_up: str | None = None
    rank: str | None = None  # "topic" or "trending"
    threshold: float | None = None  # a relevance in (0, 1]: fewer papers on a quiet day; 0 clears it


@dataclass(frozen=True, slots=True)
class DigestOffCommand:
    """Disable the current channel's digest."""


@dataclass(frozen=True, slots=True)
class DigestShowCommand:
    """Show the current channel's digest settings."""


@dataclass(frozen=True, slots=True)
class DigestNowCommand:
    """Post the current channel's digest now (a preview that does not count as the daily one)."""


@dataclass(frozen=True, slots=True)
class EmailDigestCommand:
    """Get one's own daily digest by email (after the address confirms), or stop it (`off`)."""

    address: str = ""
    off: bool = False


@dataclass(frozen=True, slots=True)
class PaperRef:
    """A paper named in a feedback command: its number in the last list shown, or an id."""

    number: int | None = None
    paper_id: str | None = None


@dataclass(frozen=True, slots=True)
class FeedbackCommand:
    """`like`, `dislike` or `save` one paper."""

    action: str  # "like" | "dislike" | "save"
    ref: PaperRef


@dataclass(frozen=True, slots=True)
class UnlikeCommand:
    """Take a like, a dislike, a seed or a save back (`unsave`: only the save)."""

    ref: PaperRef
    saved_only: bool = False  # `unsave`: the paper leaves the saved list, a like or seed stays


@dataclass(frozen=True, slots=True)
class SavedCommand:
    """List the papers the user saved."""


@dataclass(frozen=True, slots=True)
class ForgetMeCommand:
    """Delete everything paperbot holds about the user."""


@dataclass(frozen=True, slots=True)
class SeedCommand:
    """Name papers (arXiv ids) as examples of what the user wants."""

    paper_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ForYouCommand:
    """New papers ranked for the user by what they liked, seeded and subscribed to."""

    since: str | None = None
    limit: int = 10

    def since_datetime(self, now: datetime) -> datetime | None:
        """The lower time bound relative to `now`, or None (the default window)."""
        return parse_since(self.since, now) if self.since else None


@dataclass(frozen=True, slots=True)
class SimilarCommand:
    """Papers most like one paper."""

    ref: PaperRef


@dataclass(frozen=True, slots=True)
class DigestMeCommand:
    """The user's own daily DM digest: on (with settings), off or show."""

    action: str  # "on" | "off" | "show"
    at: time | None = None
    timezone: str | None = None
    max_items: int | None = None
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class TopicsCommand:
    """List the topic taxonomy."""


@dataclass(frozen=True, slots=True)
class HelpCommand:
    """Explain the commands."""

    topic: str = ""


Command = (
    SearchCommand
    | PaperCommand
    | SubscribeCommand
    | UnsubscribeCommand
    | ListSubscriptionsCommand
    | QuietHoursCommand
    | AlertSettingsCommand
    | DigestOnCommand
    | DigestOffCommand
    | DigestShowCommand
    | DigestNowCommand
    | EmailDigestCommand
    | TopicsCommand
    | HelpCommand
    | FeedbackCommand
    | UnlikeCommand
    | SavedCommand
    | ForgetMeCommand
    | SeedCommand
    | ForYouCommand
    | SimilarCommand
    | DigestMeCommand
)
