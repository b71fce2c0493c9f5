"""The outbox and ledger: every digest message and alert DM is sent once, across crashes,
restarts, stops and retries.

Producers (the scheduler, `digest now`) put a `Reply` in the outbox under an idempotency key
(`digest:<channel key>:<local date>`, `alert:<platform>:<user>:<window start>`): enqueueing the
same key twice adds nothing. `Delivery.deliver()` then takes due rows, oldest first:

1. The first attempt renders the reply with the platform's adapter (`adapter.render`) and keeps
   the parts in the row, so a resumed row is split exactly as before and never re-rendered.
2. Parts are sent one by one. Before each part's request goes out, the row records (committed)
   that a send of that part started (`unanswered_part`, `unanswered_sends`); after the platform
   answers, its message id is recorded and `parts_sent` advanced in its own committed
   transaction. A row interrupted at part k resumes at part k.
3. When every part is recorded the row is `sent` and never sent again.

Stopping (SIGTERM/SIGINT; `stopping` is set): no new part is started, for any row. A send
already in flight is awaited by the runtime for SHUTDOWN_GRACE seconds, so its answer is
recorded; the rest stays pending for the next start.

What is guaranteed, exactly:

- A part whose answer was recorded is never sent again, by this process or any later one.
- A part whose send was interrupted before its answer was recorded (kill -9, power loss, a stop
  whose grace ran out) may have reached the platform or not; paperbot cannot tell, because Slack
  and Discord take no idempotency key. On the next attempt it is sent ONCE more. If that send is
  interrupted as well, the part is recorded as delivered unconfirmed (`UNCONFIRMED`, logged as a
  warning) and never sent a third time. So each part reaches the platform at most twice, and at
  most one duplicate exists per part whose answer was not recorded, however many crashes follow.
- Nothing is dropped: every part is sent at least once. The one exception is a part whose two
  sends were both interrupted before their request reached the platform: a crash in the
  instant between the committed record and the request, or a stop whose grace ran out while
  the adapter itself still waited to send (Slack's per-channel spacing, a 429 retry inside the
  client). It is then skipped, with that warning, rather than risk a third copy.
- An adapter error (429, 5xx, network, refused) is an answer: the message was not posted, the
  part is retried later (below) and its count of unanswered sends starts again.
- Two processes never send one row at the same time. On SQLite one process delivers
  (`paperbot run` holds the store's writer lock, bot.store.lock). On PostgreSQL several
  replicas deliver from one outbox: each pass claims its rows (`claim_due`, a lease of
  OUTBOX_LEASE_SECONDS renewed every third of it while the pass runs) and writes each part's
  bookkeeping only while it still holds the claim. A replica that dies stops renewing; once its
  leases expire any other replica takes its rows over and resumes them as after a crash (the
  unanswered part sent once more). A replica that finds its claim taken over (it stalled past
  its lease) stops that row at once: it starts no further part of it, and a part it had just
  sent is the one duplicate the new holder may send.

Failures (raised by adapters as `bot.core.errors` classes):

- `RetryAfter` (429): the row waits for Retry-After; it does not count as an attempt.
- `TransientDeliveryError` (5xx, network) or any unexpected exception: exponential backoff
  (30 s, 1 min, 2 min ... at most 1 h); after `max_attempts` the row is `failed`, the error is
  kept, it is logged, and whoever owns the digest or alerts gets a notice.
- `PermanentDeliveryError(reason)` (channel deleted, bot removed, DMs blocked): the row is
  `failed` with the reason; the channel's digest (or the user's subscriptions) is paused with
  `paused_reason`; the owner is told when they next use a command (a notice) and, for a
  channel, also by DM (best effort). Nothing is dropped silently.

`Delivery.failures` counts the failed attempts (transient, permanent, unexpected; not 429s)
since it was built, so `paperbot run --once` can exit non-zero when delivery did not go through.
Rows whose platform has no running adapter stay pending until one runs, and so do rows for a
workspace (a Discord guild) whose shard another replica holds (`bot.ports.Sharded`): that
replica delivers them. DMs go from any replica.

With a `bot.core.metrics.Metrics`, each part accepted counts as sent, each failed attempt as
failed and each row put back for later (backoff, 429) as retried, by platform; every log line
written while a part is delivered carries `outbox_part` (`<key>#<part>`) and `channel`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import logging
import types
import typing
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from bot.core.clock import Clock, from_iso, to_iso
from bot.core.errors import PermanentDeliveryError, RetryAfter, TransientDeliveryError
from bot.core.logcontext import log_context
from bot.core.metrics import Metrics
from bot.core.models import ItemGroup, Paper, PaperItem, Reply
from bot.core.outbox import OutboxKind, notice_key
from bot.core.retry import backoff_delay
from bot.ports import ChatAdapter, Part, Sharded
from bot.store import Store
from bot.store.db import transaction
from bot.store.outbox import OutboxRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A process that names no replica id claims as this holder: one process per SQLite store, so
# its restart (kill -9 included) takes its own claims back at once instead of waiting out a lease.
SOLO_HOLDER = "solo"
DEFAULT_LEASE = timedelta(seconds=60)
BATCH = 200  # rows claimed (read) at a time by one pass
BASE_BACKOFF = 30.0
MAX_BACKOFF = 3600.0
# Sends of one part that may start without an answer being recorded: the first, and one more
# after a crash or a stop. Beyond that the part is taken as delivered (see the module).
MAX_UNANSWERED_SENDS = 2
# The delivery id recorded for a part sent twice without either answer being recorded.
UNCONFIRMED = "unconfirmed"

# What a permanent failure reason means to a person reading a notice.
REASONS = {
    "channel_not_found": "the channel no longer exists",
    "not_in_channel": "paperbot is not a member of the channel",
    "is_archived": "the channel is archived",
    "missing_access": "paperbot has no access to the channel",
    "missing_permissions": "paperbot lacks permission to post there",
    "dm_blocked": "you do not accept direct messages from paperbot",
    "user_not_found": "the user account was not found",
    "recipient_refused": "the mail server refused the address",
}


def owner_of(platform: str, created_by: str) -> tuple[str, str]:
    """(platform, user id) of whoever set a delivery up. `created_by` names a user of the same
    platform, except for email digests set up from chat: `<platform>:<user id>`."""
    if platform == "email" and ":" in created_by:
        owner_platform, _, user_id = created_by.partition(":")
        return owner_platform, user_id
    return platform, created_by


def describe_reason(reason: str) -> str:
    """A permanent failure reason in words (unknown codes are shown as they are)."""
    return REASONS.get(reason, reason or "the platform refused the message")


# --- Reply <-> JSON ---------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if value is None or type(value) in _PLAIN:
        return value  # most values of a reply (exact types: an enum member that is a str is not one)
    names = _FIELD_NAMES.get(type(value))
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        if type(value) is Paper:
            return _encoded_paper(value, names)
        return {name: _encode(getattr(value, name)) for name in names}
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def _encoded_paper(paper: Paper, names: tuple[str, ...]) -> Any:
    """A paper's encoding, remembered for the paper object: the digests of one run share the
    pool's Paper objects, and a paper (frozen) encodes the same every time. The entry keeps its
    paper alive, so an id is never reused while it is remembered."""
    found = _PAPERS.get(id(paper))
    if found is not None and found[0] is paper:
        return found[1]
    encoded = {name: _encode(getattr(paper, name)) for name in names}
    if len(_PAPERS) >= PAPER_ENCODINGS:
        _PAPERS.clear()
    _PAPERS[id(paper)] = (paper, encoded)
    return encoded


PAPER_ENCODINGS = 2048  # papers whose encoding is remembered (a few MB)
_PAPERS: dict[int, tuple[Paper, Any]] = {}
_PLAIN = (str, int, float, bool)
# A dataclass's field names, looked up once per class (a digest encodes hundreds of values).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _decode(kind: Any, data: Any) -> Any:
    """Rebuild a value of type `kind` (a resolved type hint) from what `_encode` produced."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if data is None:
            return None
        return _decode(options[0], data) if len(options) == 1 else data
    if origin is tuple:
        args = typing.get_args(kind)
        item = args[0] if args else Any
        return tuple(_decode(item, v) for v in data)
    if origin is list:
        args = typing.get_args(kind)
        return [_decode(args[0] if args else Any, v) for v in data]
    if origin is dict or kind is Any:
        return data
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        values = {f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(kind) if f.name in data}
        return kind(**values)
    if kind is datetime:
        return from_iso(data)
    if kind is time:
        return time.fromisoformat(data)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    return data


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def reply_to_json(reply: Reply) -> str:
    """A Reply as JSON: every field of the reply, its items, papers, signals and summaries.

    The text is `json.dumps(_encode(reply), ensure_ascii=False, separators=(",", ":"))`,
    character for character, put together from the JSON of each field, group and item: a
    digest run shows one PaperItem object (paper, summary, source line, reason) in many
    channels' digests, and each item's JSON is made once (`_item_json`) and spliced in."""
    return _json_of(reply)


def _json_of(value: Any) -> str:
    # JSON writes an object as "{" + "key":value joined by "," + "}" (with these separators,
    # keys in field order) and an array alike, so joining the parts' own JSON is the same text.
    kind = type(value)
    if kind is str:
        return _string_json(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is PaperItem:
        return _item_json(value)
    if kind is Reply or kind is ItemGroup:
        keys = _JSON_KEYS.get(kind)
        if keys is None:
            keys = _JSON_KEYS[kind] = tuple((f.name, _dumps(f.name) + ":") for f in dataclasses.fields(value))
        return "{" + ",".join([key + _json_of(getattr(value, name)) for name, key in keys]) + "}"
    if kind is tuple and value and type(value[0]) in (ItemGroup, PaperItem):
        return "[" + ",".join(map(_json_of, value)) + "]"
    return _dumps(_encode(value))


def _item_json(item: PaperItem) -> str:
    """An item's JSON, remembered for the item object (frozen, so it encodes the same every
    time); the entry keeps its item alive, so an id is never reused while it is remembered."""
    found = _ITEMS.get(id(item))
    if found is not None and found[0] is item:
        return found[1]
    text = _dumps(_encode(item))
    if len(_ITEMS) >= ITEM_ENCODINGS:
        _ITEMS.clear()
    _ITEMS[id(item)] = (item, text)
    return text


# What JSONEncoder.encode (ensure_ascii=False) writes for a str: called directly, without the
# encoder's set-up for each of a reply's many short strings.
_string_json = json.encoder.encode_basestring
# Per class: each field's name and its JSON key text (`"name":`).
_JSON_KEYS: dict[type, tuple[tuple[str, str], ...]] = {}
ITEM_ENCODINGS = 8192  # items whose JSON is remembered (about 3 KB each)
_ITEMS: dict[int, tuple[PaperItem, str]] = {}


def reply_from_json(text: str) -> Reply:
    """The Reply that `reply_to_json` wrote (equal to the original)."""
    reply = _decode(Reply, json.loads(text))
    assert isinstance(reply, Reply)
    return reply


# --- delivery -----------------------------------------------------------------------------------


def backoff(attempts: int, base: float = BASE_BACKOFF, cap: float = MAX_BACKOFF) -> timedelta:
    """Wait before retry number `attempts` (1-based): base, 2x base, 4x base ... at most cap."""
    return timedelta(seconds=backoff_delay(attempts, base=base, cap=cap))


def enqueue(
    store: Store, key: str, kind: OutboxKind, platform: str, destination: str, reply: Reply, now: datetime
) -> bool:
    """Put a reply in the outbox under an idempotency key (built by bot.core.outbox); False
    if the key was already used."""
    return store.outbox.enqueue(key, OutboxKind(kind).value, platform, destination, reply_to_json(reply), now)


class Delivery:
    """Sends due outbox rows through the adapters, recording each part as it lands."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChatAdapter],
        clock: Clock,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        base_backoff: float = BASE_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        batch: int = BATCH,
        stopping: asyncio.Event | None = None,
        metrics: Metrics | None = None,
        holder: str = SOLO_HOLDER,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.store = store
        self.holder = holder  # the replica id that claims rows (see the module)
        self.lease = lease
        self.metrics = metrics
        self.adapters: dict[str, ChatAdapter] = dict(adapters)  # the runtime adds adapters as they start
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.batch = batch
        # Set by the runtime on SIGTERM/SIGINT: checked before every row and every part.
        self.stopping = stopping if stopping is not None else asyncio.Event()
        self.failures = 0
        # One delivery pass at a time: `digest now` and the scheduler tick may both call deliver().
        self._lock = asyncio.Lock()

    async def deliver(self, now: datetime | None = None, *, keys: Collection[str] | None = None) -> int:
        """Send every due row (or only those with the given keys); returns how many were
        completed (sent). Never raises for a delivery failure: it is recorded on the row.
        Returns early, starting nothing new, once `stopping` is set."""
        async with self._lock:
            now = now or self.clock()
            heartbeat = asyncio.create_task(self._renew_leases(), name="outbox leases")
            try:
                return await self._deliver_claimed(now, keys)
            finally:
                heartbeat.cancel()
                # Rows claimed but not finished (a 429, another replica's shard, stopping) are
                # given back at once, for whichever replica comes next.
                self.store.outbox.release(self.holder)

    async def _deliver_claimed(self, now: datetime, keys: Collection[str] | None) -> int:
        completed = 0
        throttled: set[str] = set()
        last_id = 0
        while not self.stopping.is_set():  # page through every due row once, oldest first
            rows = self.store.outbox.claim_due(
                self.holder, max(now, self.clock()), self.lease, self.batch,
                platforms=list(self.adapters), keys=keys, after_id=last_id,
            )
            if not rows:
                return completed
            for row in rows:
                if self.stopping.is_set():
                    return completed
                last_id = row.id
                if row.platform in throttled:
                    continue  # the platform just said 429; its other rows wait for the next pass
                if not self._held_here(row):
                    self.store.outbox.release(self.holder, row.id)
                    continue  # another replica holds this guild's shard and delivers it
                outcome = await self._deliver_row(row)
                if outcome == "sent":
                    completed += 1
                elif outcome == "throttled":
                    throttled.add(row.platform)
        return completed

    async def _renew_leases(self) -> None:
        """The heartbeat of a delivery pass: renew this replica's claims every third of the
        lease, so that they lapse only when the replica stops (dies, or stalls that long)."""
        every = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            try:
                self.store.outbox.renew(self.holder, self.clock(), self.lease)
            except Exception:
                log.warning("renewing the outbox leases of %s failed; retrying", self.holder, exc_info=True)

    async def idle(self) -> None:
        """Return once no delivery pass is running (a pass started after `stopping` was set
        returns at once, so at shutdown this waits only for the send in flight)."""
        async with self._lock:
            return

    def _held_here(self, row: OutboxRow) -> bool:
        """Whether this process delivers the row: always, unless the adapter is sharded and the
        row's channel belongs to a workspace on a shard this process does not hold."""
        adapter = self.adapters[row.platform]
        if row.is_dm or not isinstance(adapter, Sharded) or not OutboxKind(row.kind).is_digest:
            return True
        settings = self.store.channels.get(f"{row.platform}:{row.destination}")
        workspace = settings.workspace_id if settings is not None else ""
        return not workspace or adapter.holds_workspace(workspace)

    def _count(self, result: str, platform: str) -> None:
        if self.metrics is None:
            return
        counter = {
            "sent": self.metrics.messages_sent,
            "failed": self.metrics.messages_failed,
            "retried": self.metrics.messages_retried,
        }[result]
        counter.labels(platform=platform).inc()

    async def _deliver_row(self, row: OutboxRow) -> str:
        with log_context(outbox_part=f"{row.key}#{row.parts_sent + 1}", channel=f"{row.platform}:{row.destination}"):
            return await self._deliver_row_parts(row)

    async def _deliver_row_parts(self, row: OutboxRow) -> str:
        adapter = self.adapters[row.platform]
        outbox, holder = self.store.outbox, self.holder
        try:
            parts: Sequence[Part] | None = row.parts
            if parts is None or row.state != "sending":
                if parts is None:
                    parts = adapter.render(reply_from_json(row.payload))
                if not outbox.start_sending(row.id, [dict(part) for part in parts], self.clock(), holder=holder):
                    return self._lost(row)
            destination = await adapter.open_dm(row.destination) if row.is_dm else row.destination
            for index in range(row.parts_sent, len(parts)):
                if self.stopping.is_set():
                    return "stopped"  # the row stays `sending`; the next start resumes it here
                sends = row.unanswered_sends_of(index)
                if sends >= MAX_UNANSWERED_SENDS:
                    log.warning(
                        "outbox %s part %d was sent %d times without an answer being recorded "
                        "(interrupted each time); taking it as delivered rather than risk a third copy",
                        row.key, index + 1, sends,
                    )
                    if not outbox.record_part(row.id, index, UNCONFIRMED, self.clock(), holder=holder):
                        return self._lost(row)
                    continue
                with log_context(outbox_part=f"{row.key}#{index + 1}"):
                    if not outbox.start_part(row.id, index, sends + 1, self.clock(), holder=holder):
                        return self._lost(row)  # taken over: this part must not be sent from here
                    message_id = await adapter.send(destination, parts[index])
                    # The crash window: between the platform's answer above and this record.
                    if not outbox.record_part(row.id, index, str(message_id), self.clock(), holder=holder):
                        return self._lost(row, sent=index)
                    self._count("sent", row.platform)
            if not outbox.mark_sent(row.id, self.clock(), holder=holder):
                return self._lost(row)
            return "sent"
        except RetryAfter as exc:
            wait = max(exc.retry_after, 1.0)
            outbox.reschedule(
                row.id, self.clock() + timedelta(seconds=wait), str(exc), self.clock(), count_attempt=False,
                holder=holder,
            )
            log.info("outbox %s rate limited; retrying in %.0fs", row.key, wait)
            self._count("retried", row.platform)
            return "throttled"
        except PermanentDeliveryError as exc:
            self.failures += 1
            self._count("failed", row.platform)
            if not outbox.mark_failed(row.id, f"permanent: {exc.reason}", self.clock(), holder=holder):
                return self._lost(row)
            log.warning("outbox %s failed permanently: %s", row.key, exc.reason)
            self._on_permanent(row, exc.reason, exc.hint)
            return "failed"
        except (TransientDeliveryError, Exception) as exc:
            if not isinstance(exc, TransientDeliveryError):
                log.exception("unexpected error delivering outbox %s; treated as transient", row.key)
            return self._on_transient(row, exc)

    def _lost(self, row: OutboxRow, *, sent: int | None = None) -> str:
        """This replica's claim on the row was taken over (it stalled past its lease): stop
        the row here; its new holder goes on from the row's bookkeeping."""
        if sent is not None:
            log.warning(
                "outbox %s was taken over by another replica while part %d was being sent; its "
                "answer could not be recorded, so the new holder sends that part once more",
                row.key, sent + 1,
            )
        else:
            log.warning("outbox %s was taken over by another replica; leaving it to them", row.key)
        return "lost"

    def _on_transient(self, row: OutboxRow, exc: Exception) -> str:
        self.failures += 1
        self._count("failed", row.platform)
        now = self.clock()
        error = f"{type(exc).__name__}: {exc}"
        if row.attempts + 1 >= self.max_attempts:
            if not self.store.outbox.mark_failed(row.id, error, now, holder=self.holder):
                return self._lost(row)
            log.error("outbox %s failed after %d attempts: %s", row.key, row.attempts + 1, error)
            self._notify_owner(
                row,
                f"a {_what(row)} could not be delivered after {row.attempts + 1} attempts "
                f"({str(exc)[:200]}); it was given up.",
            )
            return "failed"
        wait = backoff(row.attempts + 1, self.base_backoff, self.max_backoff)
        self.store.outbox.reschedule(row.id, now + wait, error, now, count_attempt=True, holder=self.holder)
        self._count("retried", row.platform)
        log.warning("outbox %s attempt %d failed (%s); retrying in %s", row.key, row.attempts + 1, error, wait)
        return "retry"

    def _on_permanent(self, row: OutboxRow, reason: str, hint: str = "") -> None:
        now = self.clock()
        if OutboxKind(row.kind).is_digest:
            channel_key = f"{row.platform}:{row.destination}"
            with transaction(self.store.conn):
                settings = self.store.channels.pause(channel_key, describe_reason(reason))
            owner_platform, owner = owner_of(row.platform, settings.created_by if settings else "")
            if owner:
                if row.platform == "email":
                    text = (
                        f"the paper digest by email to {row.destination} is paused: {describe_reason(reason)}. "
                        f"Run /papers email {row.destination} again to resume it (or use another address)."
                    )
                else:
                    text = (
                        f"the paper digest for channel {row.destination} is paused: {describe_reason(reason)}. "
                        + (f"To fix it, {hint.rstrip('.')}; then" if hint else "Fix that, then")
                        + " run /papers digest on in the channel to resume it."
                    )
                self.store.notices.add(owner_platform, owner, text, now)
                # Best effort: a DM to whoever set the digest up. Its own failure stops there.
                enqueue(
                    self.store,
                    notice_key(owner_platform, owner, row.key),
                    OutboxKind.NOTICE,
                    owner_platform,
                    owner,
                    Reply(text=f"Heads up: {text}", private=False),
                    now,
                )
        elif row.kind == OutboxKind.ALERT:
            with transaction(self.store.conn):
                if reason in ("dm_blocked", "user_not_found", "missing_access", "channel_not_found"):
                    self.store.users.set_dm_blocked(row.platform, row.destination, True)
                paused = self.store.subscriptions.pause_for_user(
                    row.platform, row.destination, describe_reason(reason)
                )
            self.store.notices.add(
                row.platform,
                row.destination,
                f"your paper alerts are paused ({paused} subscription{'s' if paused != 1 else ''}): "
                f"{describe_reason(reason)}. Allow DMs from paperbot, then subscribe again to resume.",
                now,
            )
        elif row.kind == OutboxKind.PERSONAL_DIGEST:
            with transaction(self.store.conn):
                if reason in ("dm_blocked", "user_not_found", "missing_access", "channel_not_found"):
                    self.store.users.set_dm_blocked(row.platform, row.destination, True)
                digest = self.store.feedback.personal_digest(row.platform, row.destination)
                if digest is not None and digest.enabled:
                    self.store.feedback.save_personal_digest(replace(digest, enabled=False), now)
            self.store.notices.add(
                row.platform,
                row.destination,
                f"your personal digest is off: {describe_reason(reason)}. Allow DMs from paperbot, "
                "then run /papers digest me on to resume it.",
                now,
            )
        else:
            log.warning("notice %s could not be delivered (%s); it stays recorded as failed", row.key, reason)

    def _notify_owner(self, row: OutboxRow, text: str) -> None:
        if OutboxKind(row.kind).is_digest:
            settings = self.store.channels.get(f"{row.platform}:{row.destination}")
            if settings and settings.created_by:
                owner_platform, owner = owner_of(row.platform, settings.created_by)
                self.store.notices.add(owner_platform, owner, text, self.clock())
        elif row.kind == OutboxKind.ALERT:
            self.store.notices.add(row.platform, row.destination, text, self.clock())


def _what(row: OutboxRow) -> str:
    if OutboxKind(row.kind).is_digest:
        return f"digest message for channel {row.destination}"
    if row.kind == OutboxKind.ALERT:
        return "paper alert DM"
    if row.kind == OutboxKind.PERSONAL_DIGEST:
        return "personal digest DM"
    return "notice"
