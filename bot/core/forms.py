"""Settings as forms (Slack's modals; a web page could use the same): what the form shows and
what a person submitted, platform-neutral.

`DigestForm` is a channel's digest settings ready to be edited: the values now (or those a new
digest would get), the choices, and whether this person may change them. `DigestFormValues` is
what came back, as text, field by field; bot.chat.forms turns it into the same
`DigestOnCommand` that `/papers digest on` builds, or into `FormErrors` naming each bad field
(see `DIGEST_FIELDS`) with one line to show beside it.

`PersonalDigestFormValues` is the same for a person's own DM digest (`/papers digest me`):
time, zone, size and threshold (`PERSONAL_DIGEST_FIELDS`), turned into a `DigestMeCommand`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.models import ChannelSettings

# The fields of the digest form, in the order they are shown.
DIGEST_FIELDS = ("time", "timezone", "days", "topics", "max_items", "sources", "catch_up")
PERSONAL_DIGEST_FIELDS = ("time", "timezone", "max_items", "threshold")


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a select or a set of checkboxes."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class DigestForm:
    """A channel's digest settings as a form (see the module docstring)."""

    settings: ChannelSettings
    is_new: bool  # the channel has no digest yet: `settings` are what one would start with
    can_change: bool
    topics: tuple[Choice, ...]
    sources: tuple[Choice, ...]
    max_items: int  # the largest number of papers a digest may list
    denied: str = ""  # why the person may not change it (when `can_change` is False)


@dataclass(frozen=True, slots=True)
class DigestFormValues:
    """What a person submitted in the digest form, as text. Days are weekday numbers
    (Monday "0"), topics topic ids, sources source names; an empty field was left empty."""

    time: str = ""
    timezone: str = ""
    days: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    max_items: str = ""
    sources: tuple[str, ...] = ()
    catch_up: str = ""


@dataclass(frozen=True, slots=True)
class PersonalDigestFormValues:
    """What a person submitted in their own digest's form, as text ("" when left empty; an
    empty threshold means none)."""

    time: str = ""
    timezone: str = ""
    max_items: str = ""
    threshold: str = ""
