"""What a person's home shows (Slack's App Home tab; Discord or the web could show the same): a
platform-neutral description the core builds (bot.chat.home) and each adapter draws.

A `Home` is a list of `HomeSection`s. A section lists `HomeEntry`s (one line each, maybe a
second line and a channel it is about) with `HomeAction`s, and/or papers (`PaperItem`s, drawn
like the items of a reply). An action either runs a `/papers` command as the person, in the
channel it is about (`RUN`; the core checks permissions as for the typed command), opens the
digest settings form of that channel (`EDIT_DIGEST`), shows one paper in full (`PAPER`), or
opens a form for the person's own DM digest filled in from its current settings, given as the
`digest me on ...` command that would keep them (`EDIT_PERSONAL_DIGEST`; saving the form runs
that command with what was changed). All text is plain and may hold what people typed
(subscription queries, paper titles): adapters escape it like any other text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.models import PaperItem


class HomeActionKind(StrEnum):
    """What pressing an action does."""

    RUN = "run"  # run `command` (the text after /papers) as the person, in `channel_id`
    EDIT_DIGEST = "edit-digest"  # open the digest settings form of `channel_id`
    PAPER = "paper"  # show the paper `paper_id` in full
    EDIT_PERSONAL_DIGEST = "edit-personal-digest"  # a form for `command` (`digest me on ...`)


@dataclass(frozen=True, slots=True)
class HomeAction:
    """A button on a home entry. `channel_id` (the core's id) is the channel the action is
    about; empty, it is about the person's own settings (subscriptions, quiet hours)."""

    label: str
    kind: HomeActionKind = HomeActionKind.RUN
    command: str = ""
    channel_id: str = ""
    danger: bool = False  # removes something: shown as such, and confirmed first
    paper_id: str = ""  # the paper a PAPER action shows


@dataclass(frozen=True, slots=True)
class HomeEntry:
    """One line of a section (a subscription, quiet hours, a channel's digest)."""

    text: str
    detail: str = ""
    channel_id: str = ""  # the channel the entry is about, shown as a reference to it
    actions: tuple[HomeAction, ...] = ()


@dataclass(frozen=True, slots=True)
class HomeSection:
    """A titled part of the home. `key` names it for adapters and tests ("subscriptions");
    `empty` is shown when it has neither entries nor items; `note` under it (how to do more);
    `see_all` is the command that lists everything, for an adapter that has to cut entries
    ("/papers saved")."""

    key: str
    title: str
    entries: tuple[HomeEntry, ...] = ()
    items: tuple[PaperItem, ...] = ()
    empty: str = ""
    note: str = ""
    see_all: str = ""


@dataclass(frozen=True, slots=True)
class Home:
    """Everything a person's home shows, in order."""

    title: str
    sections: tuple[HomeSection, ...] = ()

    def section(self, key: str) -> HomeSection | None:
        """The section with this key, or None."""
        return next((s for s in self.sections if s.key == key), None)
