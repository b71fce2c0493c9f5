"""What the outbox holds: the kinds of message, and the idempotency key of each.

Every message paperbot sends goes through the outbox under a key that names what it is, so the
same message is never written twice: a digest per (channel, local date), a `digest now` per
(channel, instant), an alert batch per (user, the queued papers it consumes), a notice per (user, failed message).
The keys are built here and nowhere else. Kinds are stored as their string values, so rows
written by earlier versions read back unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from bot.core.clock import to_iso


class OutboxKind(StrEnum):
    """What an outbox row is, which decides where it goes and what a failure pauses."""

    DIGEST = "digest"  # the scheduled daily digest of a channel
    DIGEST_NOW = "digest-now"  # `/papers digest now`
    DIGEST_NOTE = "digest-note"  # a quiet-day or skipped-digest note in the channel
    ALERT = "alert"  # a DM alert batch for one user
    NOTICE = "notice"  # a DM telling a digest's owner that it was paused
    PERSONAL_DIGEST = "personal-digest"  # a person's own daily digest by DM (`digest me on`)

    @property
    def is_digest(self) -> bool:
        """Posted to a channel on behalf of that channel's digest settings."""
        return self in (OutboxKind.DIGEST, OutboxKind.DIGEST_NOW, OutboxKind.DIGEST_NOTE)

    @property
    def is_dm(self) -> bool:
        """Sent to a user's direct messages (the destination is a user id)."""
        return self in (OutboxKind.ALERT, OutboxKind.NOTICE, OutboxKind.PERSONAL_DIGEST)


def digest_key(channel_key: str, local_date: str) -> str:
    """A channel's scheduled digest (or its quiet/skip note) for one local date."""
    return f"digest:{channel_key}:{local_date}"


def digest_now_key(channel_key: str, now: datetime) -> str:
    """A `digest now` posted at one instant."""
    return f"digest-now:{channel_key}:{to_iso(now)}"


def digest_now_prefix(channel_key: str, utc_date: str) -> str:
    """What every `digest now` key of one channel posted on one UTC date starts with."""
    return f"digest-now:{channel_key}:{utc_date}T"


def alert_batch_key(platform: str, user_id: str, paper_ids: Iterable[str]) -> str:
    """One user's alert batch, named by the queued papers it consumes (not by the clock): two
    replicas cutting the same batch name it alike, and a user's batches never share a paper."""
    digest = hashlib.blake2b("\n".join(sorted(paper_ids)).encode("utf-8"), digest_size=10).hexdigest()
    return f"alert:{platform}:{user_id}:{digest}"


def personal_digest_key(platform: str, user_id: str, local_date: str) -> str:
    """A person's own DM digest for one local date in their time zone."""
    return f"personal-digest:{platform}:{user_id}:{local_date}"


def notice_key(platform: str, user_id: str, about_key: str) -> str:
    """The DM telling `user_id` that the message `about_key` could not be delivered."""
    return f"notice:{platform}:{user_id}:{about_key}"
