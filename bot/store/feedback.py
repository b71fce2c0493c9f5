"""What people told paperbot about papers, and what it learned from them.

The feedback aggregate: one choice per (person, paper) (relevant or not for me) with the channel
it was given in, saved papers, seeds (papers a person named as examples of what they want),
the last list of papers each person or channel was shown (so `like 3` means the third of it),
every list shown in the last SHOWN_HISTORY_TTL (`shown_history`: a click's passed-over papers
are those above it in the list it was in, whichever list that was), stored interest models, and the personal DM digest settings. Everything is keyed by platform
and user id; a channel's model reads only the feedback given in that channel.
`forget_person` deletes everything paperbot holds about one person, in every table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from bot.core.clock import from_iso, to_iso
from bot.store.backend import Connection, Row
from bot.store.db import transaction

SHOWN_HISTORY_TTL = timedelta(days=14)  # a click on a list older than this teaches no skips
SHOWN_HISTORY_READ = 100  # the newest lists of one scope read back (bounds a retrain's cost)


class Choice(StrEnum):
    """A person's verdict on one paper."""

    RELEVANT = "relevant"
    NOT_RELEVANT = "not_relevant"


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """One person's choice about one paper, where it was given and when."""

    platform: str
    user_id: str
    paper_id: str
    choice: Choice
    channel_key: str
    shown_in: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ShownList:
    """The papers of the last list a person (or a channel) was shown, in order."""

    paper_ids: tuple[str, ...]
    context: str  # "search", "digest", "alert", "paper", "foryou", "similar"
    at: datetime


@dataclass(frozen=True, slots=True)
class StoredModel:
    """A serialized interest model and the representation it was trained in."""

    owner_kind: str  # "person" | "channel"
    owner_key: str  # "platform:user_id" | "platform:channel_id"
    representation: str
    data: bytes
    feedback_count: int
    trained_at: datetime


@dataclass(frozen=True, slots=True)
class PersonalDigest:
    """A person's daily DM digest built from `/papers foryou`."""

    platform: str
    user_id: str
    enabled: bool = True
    time_of_day: time = time(8, 0)
    timezone: str = "UTC"
    max_items: int = 10
    threshold: float | None = None
    last_digest_at: datetime | None = None
    updated_at: datetime | None = None


def person_key(platform: str, user_id: str) -> str:
    """The owner key of a person's model: `platform:user_id`."""
    return f"{platform}:{user_id}"


def channel_scope(channel_id: str) -> str:
    """The scope under which a list posted to a channel is remembered (never a user id)."""
    return f"#channel:{channel_id}"


class FeedbackStore:
    """Feedback, saved papers, seeds, shown lists, interest models and personal digests."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- feedback ----------------------------------------------------------------------------

    def record(
        self,
        platform: str,
        user_id: str,
        paper_id: str,
        choice: Choice,
        now: datetime,
        *,
        channel_key: str = "",
        shown_in: str = "",
    ) -> Choice | None:
        """Store a person's choice about a paper (the latest replaces an earlier one); returns
        the choice it replaced, if any."""
        with transaction(self.conn):
            row = self.conn.execute(
                "SELECT action FROM feedback WHERE platform = ? AND user_id = ? AND paper_id = ?",
                (platform, user_id, paper_id),
            ).fetchone()
            self.conn.execute(
                """INSERT INTO feedback (platform, user_id, paper_id, action, channel_key, shown_in, at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (platform, user_id, paper_id) DO UPDATE SET action = excluded.action,
                   channel_key = excluded.channel_key, shown_in = excluded.shown_in, at = excluded.at""",
                (platform, user_id, paper_id, choice.value, channel_key, shown_in, to_iso(now)),
            )
        return Choice(row[0]) if row else None

    def remove(self, platform: str, user_id: str, paper_id: str) -> Choice | None:
        """Take a person's choice about a paper back; returns what it was (None: there was none)."""
        row = self.conn.execute(
            "DELETE FROM feedback WHERE platform = ? AND user_id = ? AND paper_id = ? RETURNING action",
            (platform, user_id, paper_id),
        ).fetchone()
        return Choice(row[0]) if row else None

    def choice(self, platform: str, user_id: str, paper_id: str) -> Choice | None:
        """A person's current choice about one paper."""
        row = self.conn.execute(
            "SELECT action FROM feedback WHERE platform = ? AND user_id = ? AND paper_id = ?",
            (platform, user_id, paper_id),
        ).fetchone()
        return Choice(row[0]) if row else None

    def for_person(self, platform: str, user_id: str) -> list[FeedbackRow]:
        """Every choice a person made, oldest first (wherever it was given)."""
        rows = self.conn.execute(
            "SELECT * FROM feedback WHERE platform = ? AND user_id = ? ORDER BY at, paper_id",
            (platform, user_id),
        )
        return [_feedback(row) for row in rows]

    def for_channel(self, channel_key: str) -> list[FeedbackRow]:
        """Every choice given in one channel (by anyone there), oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM feedback WHERE channel_key = ? ORDER BY at, platform, user_id, paper_id",
            (channel_key,),
        )
        return [_feedback(row) for row in rows]

    # --- saved papers ------------------------------------------------------------------------

    def save(self, platform: str, user_id: str, paper_id: str, now: datetime) -> bool:
        """Add a paper to a person's saved list; False when it was already there."""
        cursor = self.conn.execute(
            "INSERT INTO saved_papers (platform, user_id, paper_id, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (platform, user_id, paper_id, to_iso(now)),
        )
        return cursor.rowcount == 1

    def unsave(self, platform: str, user_id: str, paper_id: str) -> bool:
        """Remove a paper from a person's saved list; False when it was not there."""
        cursor = self.conn.execute(
            "DELETE FROM saved_papers WHERE platform = ? AND user_id = ? AND paper_id = ?",
            (platform, user_id, paper_id),
        )
        return cursor.rowcount == 1

    def saved(self, platform: str, user_id: str) -> list[str]:
        """A person's saved paper ids, most recently saved first."""
        rows = self.conn.execute(
            "SELECT paper_id FROM saved_papers WHERE platform = ? AND user_id = ? ORDER BY at DESC, paper_id",
            (platform, user_id),
        )
        return [row[0] for row in rows]

    # --- seeds -------------------------------------------------------------------------------

    def add_seeds(
        self, platform: str, user_id: str, paper_ids: Sequence[str], now: datetime, origin: str = "seed"
    ) -> int:
        """Add papers as a person's examples of what they want; returns how many were new."""
        with transaction(self.conn):
            added = 0
            for paper_id in paper_ids:
                cursor = self.conn.execute(
                    "INSERT INTO seeds (platform, user_id, paper_id, origin, at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (platform, user_id, paper_id, origin, to_iso(now)),
                )
                added += cursor.rowcount
        return added

    def seeds(self, platform: str, user_id: str) -> list[tuple[str, str]]:
        """A person's seeds as (paper id, origin), oldest first."""
        rows = self.conn.execute(
            "SELECT paper_id, origin FROM seeds WHERE platform = ? AND user_id = ? ORDER BY at, paper_id",
            (platform, user_id),
        )
        return [(row[0], row[1]) for row in rows]

    def remove_seed(self, platform: str, user_id: str, paper_id: str) -> bool:
        """Drop one seed (unlike takes a seed back too)."""
        cursor = self.conn.execute(
            "DELETE FROM seeds WHERE platform = ? AND user_id = ? AND paper_id = ?", (platform, user_id, paper_id)
        )
        return cursor.rowcount == 1

    # --- the last list shown -----------------------------------------------------------------

    def record_shown(self, platform: str, scope: str, paper_ids: Sequence[str], context: str, now: datetime) -> None:
        """Remember the list a person (scope = user id) or a channel (`channel_scope`) was just
        shown: it replaces the previous one as the last list (what `like 3` reads) and joins
        the shown history until SHOWN_HISTORY_TTL (that scope's expired lists go now)."""
        self.record_shown_lists([(platform, scope, paper_ids)], context, now)

    def record_shown_lists(self, lists: Sequence[tuple[str, str, Sequence[str]]], context: str, now: datetime) -> None:
        """`record_shown` for many (platform, scope, paper ids) lists, one statement per table;
        empty lists are left out, as `record_shown` leaves them."""
        at, expires = to_iso(now), to_iso(now + SHOWN_HISTORY_TTL)
        rows = [(platform, scope, json.dumps(list(ids))) for platform, scope, ids in lists if ids]
        if not rows:
            return
        with transaction(self.conn):
            self.conn.executemany(
                """INSERT INTO shown_lists (platform, scope, paper_ids, context, at) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (platform, scope) DO UPDATE SET paper_ids = excluded.paper_ids,
                   context = excluded.context, at = excluded.at""",
                [(platform, scope, encoded, context, at) for platform, scope, encoded in rows],
            )
            self.conn.executemany(
                "DELETE FROM shown_history WHERE platform = ? AND scope = ? AND expires_at <= ?",
                [(platform, scope, at) for platform, scope, _ in rows],
            )
            self.conn.executemany(
                """INSERT INTO shown_history (platform, scope, at, context, paper_ids, expires_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (platform, scope, at, context) DO UPDATE SET paper_ids = excluded.paper_ids,
                   expires_at = excluded.expires_at""",
                [(platform, scope, at, context, encoded, expires) for platform, scope, encoded in rows],
            )

    def shown_history(self, platform: str, scope: str, now: datetime) -> list[ShownList]:
        """The lists a person or a channel was shown that have not expired, newest first (at
        most SHOWN_HISTORY_READ of them)."""
        rows = self.conn.execute(
            """SELECT paper_ids, context, at FROM shown_history
               WHERE platform = ? AND scope = ? AND expires_at > ? ORDER BY at DESC LIMIT ?""",
            (platform, scope, to_iso(now), SHOWN_HISTORY_READ),
        )
        return [ShownList(tuple(json.loads(row[0])), row[1], from_iso(row[2])) for row in rows]  # type: ignore[arg-type]

    def last_shown(self, platform: str, scope: str) -> ShownList | None:
        """The last list a person or a channel was shown, or None."""
        row = self.conn.execute(
            "SELECT paper_ids, context, at FROM shown_lists WHERE platform = ? AND scope = ?", (platform, scope)
        ).fetchone()
        if row is None:
            return None
        return ShownList(tuple(json.loads(row[0])), row[1], from_iso(row[2]))  # type: ignore[arg-type]

    # --- stored models -----------------------------------------------------------------------

    def save_model(self, model: StoredModel) -> None:
        """Store (replace) an owner's trained model."""
        self.conn.execute(
            """INSERT INTO interest_models (owner_kind, owner_key, representation, data, feedback_count, trained_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (owner_kind, owner_key) DO UPDATE SET representation = excluded.representation,
               data = excluded.data, feedback_count = excluded.feedback_count, trained_at = excluded.trained_at""",
            (
                model.owner_kind, model.owner_key, model.representation, model.data,
                model.feedback_count, to_iso(model.trained_at),
            ),
        )

    def model(self, owner_kind: str, owner_key: str) -> StoredModel | None:
        """An owner's stored model, or None."""
        row = self.conn.execute(
            "SELECT * FROM interest_models WHERE owner_kind = ? AND owner_key = ?", (owner_kind, owner_key)
        ).fetchone()
        if row is None:
            return None
        return StoredModel(
            owner_kind=row["owner_kind"],
            owner_key=row["owner_key"],
            representation=row["representation"],
            data=bytes(row["data"]),
            feedback_count=row["feedback_count"],
            trained_at=from_iso(row["trained_at"]),  # type: ignore[arg-type]
        )

    def delete_model(self, owner_kind: str, owner_key: str) -> None:
        """Drop an owner's stored model (it is rebuilt from feedback when next needed)."""
        self.conn.execute(
            "DELETE FROM interest_models WHERE owner_kind = ? AND owner_key = ?", (owner_kind, owner_key)
        )

    def model_owners(self) -> list[tuple[str, str, str]]:
        """(owner kind, owner key, representation) of every stored model."""
        rows = self.conn.execute("SELECT owner_kind, owner_key, representation FROM interest_models ORDER BY 1, 2")
        return [(row[0], row[1], row[2]) for row in rows]

    # --- personal digests --------------------------------------------------------------------

    def save_personal_digest(self, digest: PersonalDigest, now: datetime) -> None:
        """Create or change a person's DM digest settings."""
        self.conn.execute(
            """INSERT INTO personal_digests (platform, user_id, enabled, time_of_day, timezone,
               max_items, threshold, last_digest_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)
               ON CONFLICT (platform, user_id) DO UPDATE SET enabled = excluded.enabled,
               time_of_day = excluded.time_of_day, timezone = excluded.timezone,
               max_items = excluded.max_items, threshold = excluded.threshold,
               updated_at = excluded.updated_at""",
            (
                digest.platform, digest.user_id, int(digest.enabled), digest.time_of_day.strftime("%H:%M"),
                digest.timezone, digest.max_items, digest.threshold, to_iso(now),
            ),
        )

    def personal_digest(self, platform: str, user_id: str) -> PersonalDigest | None:
        """A person's DM digest settings, or None when they never turned it on."""
        row = self.conn.execute(
            "SELECT * FROM personal_digests WHERE platform = ? AND user_id = ?", (platform, user_id)
        ).fetchone()
        return _personal_digest(row) if row else None

    def active_personal_digests(self) -> list[PersonalDigest]:
        """Every personal digest that is on."""
        rows = self.conn.execute("SELECT * FROM personal_digests WHERE enabled = 1 ORDER BY platform, user_id")
        return [_personal_digest(row) for row in rows]

    def set_personal_digest_at(self, platform: str, user_id: str, when: datetime) -> None:
        """Record when a person's latest DM digest was built (the next starts there)."""
        self.conn.execute(
            "UPDATE personal_digests SET last_digest_at = ? WHERE platform = ? AND user_id = ?",
            (to_iso(when), platform, user_id),
        )

    # --- alert settings ------------------------------------------------------------------------

    def set_alert_threshold(self, platform: str, user_id: str, threshold: float | None, now: datetime) -> None:
        """Set (or with None, clear) the relevance a paper needs to be sent in the person's alerts."""
        self.conn.execute(
            """INSERT INTO alert_settings (platform, user_id, threshold, updated_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (platform, user_id) DO UPDATE SET threshold = excluded.threshold,
               updated_at = excluded.updated_at""",
            (platform, user_id, threshold, to_iso(now)),
        )

    def alert_threshold(self, platform: str, user_id: str) -> float | None:
        """The person's alert relevance threshold, or None when they set none."""
        row = self.conn.execute(
            "SELECT threshold FROM alert_settings WHERE platform = ? AND user_id = ?", (platform, user_id)
        ).fetchone()
        return float(row[0]) if row is not None and row[0] is not None else None

    # --- forgetting --------------------------------------------------------------------------

    def forget_person(self, platform: str, user_id: str) -> dict[str, int]:
        """Delete everything paperbot holds about one person, in every table; returns how many
        rows each table lost. Lists posted to channels are not theirs and stay."""
        deletions = (
            ("feedback", "DELETE FROM feedback WHERE platform = ? AND user_id = ?"),
            ("saved papers", "DELETE FROM saved_papers WHERE platform = ? AND user_id = ?"),
            ("seeds", "DELETE FROM seeds WHERE platform = ? AND user_id = ?"),
            ("shown lists", "DELETE FROM shown_lists WHERE platform = ? AND scope = ?"),
            ("shown history", "DELETE FROM shown_history WHERE platform = ? AND scope = ?"),
            ("personal digest", "DELETE FROM personal_digests WHERE platform = ? AND user_id = ?"),
            ("alert settings", "DELETE FROM alert_settings WHERE platform = ? AND user_id = ?"),
            ("subscriptions", "DELETE FROM subscriptions WHERE platform = ? AND user_id = ?"),
            ("queued alerts", "DELETE FROM alert_queue WHERE platform = ? AND user_id = ?"),
            ("user state", "DELETE FROM user_state WHERE platform = ? AND user_id = ?"),
            ("notices", "DELETE FROM notices WHERE platform = ? AND user_id = ?"),
            # DMs to them (alerts, notices, their digest) name what they read.
            ("direct messages", "DELETE FROM outbox WHERE platform = ? AND destination = ? AND kind IN ('alert', 'notice', 'personal-digest')"),
        )
        counts: dict[str, int] = {}
        with transaction(self.conn):
            for name, sql in deletions:
                counts[name] = max(self.conn.execute(sql, (platform, user_id)).rowcount, 0)
            # Their personal digest's handled days are keyed platform:@user_id (bot.digests.personal).
            counts["personal digest days"] = max(
                self.conn.execute(
                    "DELETE FROM digest_runs WHERE channel_key = ?", (f"{platform}:@{user_id}",)
                ).rowcount,
                0,
            )
            counts["models"] = max(
                self.conn.execute(
                    "DELETE FROM interest_models WHERE owner_kind = 'person' AND owner_key = ?",
                    (person_key(platform, user_id),),
                ).rowcount,
                0,
            )
        return counts

    def channels_with_feedback(self) -> set[str]:
        """Every channel that has feedback rows or a stored model trained on feedback: the
        only channels whose model can re-rank their digest."""
        rows = self.conn.execute(
            "SELECT DISTINCT channel_key FROM feedback WHERE channel_key != '' "
            "UNION SELECT owner_key FROM interest_models WHERE owner_kind = 'channel' AND feedback_count > 0"
        )
        return {row[0] for row in rows}

    def channels_with_feedback_from(self, platform: str, user_id: str) -> list[str]:
        """The channels whose models learned from this person (rebuilt after they are forgotten)."""
        rows = self.conn.execute(
            "SELECT DISTINCT channel_key FROM feedback WHERE platform = ? AND user_id = ? AND channel_key != ''",
            (platform, user_id),
        )
        return [row[0] for row in rows]


def _feedback(row: Row) -> FeedbackRow:
    return FeedbackRow(
        platform=row["platform"],
        user_id=row["user_id"],
        paper_id=row["paper_id"],
        choice=Choice(row["action"]),
        channel_key=row["channel_key"],
        shown_in=row["shown_in"],
        at=from_iso(row["at"]),  # type: ignore[arg-type]
    )


def _personal_digest(row: Row) -> PersonalDigest:
    hour, minute = (int(part) for part in row["time_of_day"].split(":"))
    return PersonalDigest(
        platform=row["platform"],
        user_id=row["user_id"],
        enabled=bool(row["enabled"]),
        time_of_day=time(hour, minute),
        timezone=row["timezone"],
        max_items=row["max_items"],
        threshold=row["threshold"],
        last_digest_at=from_iso(row["last_digest_at"]),
        updated_at=from_iso(row["updated_at"]),
    )
