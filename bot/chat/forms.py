"""The digest settings form: who may change a channel's digest, the form for a channel
(`digest_form`), a submitted form turned into the `DigestOnCommand` that `/papers digest on`
builds (`parse_digest_form`), a person's own digest form turned into `digest me on`
(`parse_personal_digest_form`), and the time zones to choose from (`time_zone_choices`).

Each field is checked with the same parser the text command uses (bot.chat.grammar), so the
form accepts exactly what the command accepts and says so in the same words; every bad field is
reported at once (`FormErrors`), each under its own name from bot.core.forms.DIGEST_FIELDS.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from datetime import time
from typing import TypeVar

import bot.chat.grammar as cmd
from bot.core.errors import FormErrors, UserInputError
from bot.core.forms import Choice, DigestForm, DigestFormValues, PersonalDigestFormValues
from bot.core.models import Actor, ChannelSettings, Place, SourceKind
from bot.enrich.taxonomy import TAXONOMY
from bot.store import Store

PERMISSION_TEXT = "only members who can manage this channel can change its digest"
MAX_TIME_ZONE_CHOICES = 100  # what one Slack select shows
SOURCE_LABELS = {
    SourceKind.ARXIV: "arXiv",
    SourceKind.HF: "Hugging Face daily papers",
    SourceKind.REDDIT: "Reddit",
    SourceKind.FEED: "RSS/Atom feeds",
}

T = TypeVar("T")

NewDigest = Callable[[Place], ChannelSettings]
"""The settings a channel's first digest starts with (the deployment's default time and zone)."""


def may_change_digest(who: Actor, where: Place) -> bool:
    """Whether `who` may change the digest of `where`: in a DM the person is the only member,
    so their own digest is theirs; in a channel, whoever the platform says can manage it."""
    return where.is_dm or who.can_manage


def digest_form(store: Store, who: Actor, where: Place, new_digest: NewDigest) -> DigestForm:
    """The digest settings of `where` as a form for `who`."""
    current = store.channels.get(where.key)
    allowed = may_change_digest(who, where)
    return DigestForm(
        settings=current or new_digest(where),
        is_new=current is None,
        can_change=allowed,
        topics=tuple(Choice(f"{t.name} ({t.id})", t.id) for t in TAXONOMY),
        sources=tuple(Choice(label, kind.value) for kind, label in SOURCE_LABELS.items()),
        max_items=cmd.MAX_DIGEST_ITEMS,
        denied="" if allowed else PERMISSION_TEXT,
    )


def parse_digest_form(values: DigestFormValues) -> cmd.DigestOnCommand:
    """The command a submitted form asks for; FormErrors naming every bad field otherwise.

    An empty topics or sources field means all of them (as in a new digest); days must name at
    least one day; the time and the time zone are required."""
    fields = _Fields()
    command = cmd.DigestOnCommand(
        at=fields.check("time", lambda: _time_of_day(values.time)),
        timezone=fields.check("timezone", lambda: _timezone(values.timezone)),
        days=fields.check("days", lambda: _days(values.days)),
        topics=fields.check("topics", lambda: tuple(cmd.parse_topic(t) for t in values.topics)),
        max_items=fields.check("max_items", lambda: _max_items(values.max_items)),
        sources=fields.check("sources", lambda: tuple(dict.fromkeys(cmd.parse_source(s) for s in values.sources))),
        catch_up=fields.check("catch_up", lambda: _catch_up(values.catch_up)),
    )
    fields.raise_errors()
    return command


def parse_personal_digest_form(values: PersonalDigestFormValues) -> cmd.DigestMeCommand:
    """The `digest me on` a submitted personal digest form asks for; FormErrors naming every
    bad field otherwise. The time and the zone are required; an empty threshold turns it off."""
    fields = _Fields()
    command = cmd.DigestMeCommand(
        action="on",
        at=fields.check("time", lambda: _time_of_day(values.time)),
        timezone=fields.check("timezone", lambda: _timezone(values.timezone)),
        max_items=fields.check("max_items", lambda: _max_items(values.max_items)),
        threshold=fields.check("threshold", lambda: cmd.parse_threshold(values.threshold) if values.threshold.strip() else 0.0),
    )
    fields.raise_errors()
    return command


class _Fields:
    """A submitted form's fields parsed one by one, every field's error kept under its name
    (so the person sees all of them at once, not the first only)."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def check(self, name: str, parse: Callable[[], T]) -> T | None:
        """`parse()`, or None with its UserInputError kept under `name`."""
        try:
            return parse()
        except UserInputError as exc:
            self.errors[name] = str(exc)
            return None

    def raise_errors(self) -> None:
        """FormErrors naming every bad field, if any field was bad."""
        if self.errors:
            raise FormErrors(self.errors)


def _time_of_day(text: str) -> time:
    if not text:
        raise UserInputError("choose a time of day")
    return cmd.parse_time_of_day(text)


def _timezone(text: str) -> str:
    if not text:
        raise UserInputError("choose a time zone")
    return cmd.parse_timezone(text)


def _days(days: tuple[str, ...]) -> tuple[int, ...]:
    chosen = sorted({int(d) for d in days if d.isdigit() and 0 <= int(d) <= 6})
    if len(chosen) != len(set(days)):
        raise UserInputError("days are weekday numbers, Monday 0 to Sunday 6")
    if not chosen:
        raise UserInputError("choose at least one day, e.g. Monday to Friday")
    return tuple(chosen)


def _max_items(text: str) -> int:
    if not text.strip():
        raise UserInputError(f"give a number of papers from 1 to {cmd.MAX_DIGEST_ITEMS}")
    try:
        value = int(text.strip())
    except ValueError:
        raise UserInputError(f"{text.strip()!r} is not a number; give one from 1 to {cmd.MAX_DIGEST_ITEMS}") from None
    if not 1 <= value <= cmd.MAX_DIGEST_ITEMS:
        raise UserInputError(f"{value} is out of range; give a number from 1 to {cmd.MAX_DIGEST_ITEMS}")
    return value


def _catch_up(text: str) -> str:
    if text not in ("post", "skip"):
        raise UserInputError("choose whether to post or skip a digest missed while paperbot was down")
    return text


@functools.cache
def _all_zones() -> tuple[str, ...]:
    # "UTC" first, then the IANA names (the legacy aliases such as "US/Eastern" left out).
    names = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/")))
    return ("UTC", *names)


def time_zone_choices(query: str, limit: int = MAX_TIME_ZONE_CHOICES) -> list[Choice]:
    """Time zones whose name holds every word of `query` (any case; "new york" finds
    America/New_York), those whose region or city starts with it first; at most `limit`."""
    words = query.lower().replace("_", " ").replace("/", " ").split()
    start = "_".join(words)

    def readable(zone: str) -> str:
        return zone.lower().replace("_", " ")

    def starts_with_query(zone: str) -> bool:
        return any(part.startswith(start) for part in zone.lower().split("/"))

    matches = [z for z in _all_zones() if all(w in readable(z) for w in words)]
    matches.sort(key=lambda z: not starts_with_query(z))  # stable: UTC, then A to Z, stay in order
    return [Choice(z.replace("_", " "), z) for z in matches[:limit]]
