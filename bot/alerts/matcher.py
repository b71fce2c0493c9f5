"""The long-lived alert matcher: every active subscription compiled once, kept current from the
store's change feed, and matched against each batch of new papers, reduced per user.

`AlertMatcher` is owned by the scheduler. Its first `refresh` loads the active subscriptions in
pages (compiling them in a worker thread); every later one applies only what changed since
(`SubscriptionStore.changes_since`: added, removed, paused, resumed, by this process or another
sharing the store). Anchor words come from the document frequency of a sample of recent papers,
sampled again once a day (`ANCHOR_EVERY`), so the index never depends on the batch.

`match` is pure CPU work (run it in a worker thread) and gives exactly what testing every
subscription against every paper and reducing per user gives (the tests check it against
`bot.search.matching.match_brute_force`):

- Each distinct query is checked once per paper (`QueryIndex`); its matches become a bit mask
  over the batch, bit i for the i-th most popular paper. A topic-only query's mask is the union
  of its topics' masks.
- Per user, the masks of their subscriptions are OR-ed: the popcount is how many papers matched,
  the lowest `keep_per_user` bits are the papers worth listing, and no (subscription, paper)
  match is ever listed one by one.
- A subscription created after the scan's start (`since`) only gets papers first seen after it
  was created: its mask is narrowed to those.

Memory stays small for a million subscriptions: per subscription three array entries (indexed
by subscription id, which SQLite hands out densely from 1) and its id in its query's and its
user's arrays; per distinct query its words; per user one (platform, user id) pair. Results
are arrays too (`ScanMatches`).
"""

from __future__ import annotations

import asyncio
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import itemgetter

from bot.core.clock import to_iso
from bot.core.models import Paper, Subscription
from bot.search.matching import QueryIndex, compile_query, key_frequency, paper_doc
from bot.store import Store
from bot.store.subscriptions import SubscriptionChanges

UserKey = tuple[str, str]  # (platform, user id)

LOAD_PAGE = 20_000  # subscriptions read per query at the first load
ANCHOR_SAMPLE = 2_000  # recent papers whose key frequency picks the anchors
ANCHOR_EVERY = timedelta(days=1)
ANCHOR_RETRY = timedelta(hours=1)  # while the store has too few papers for a useful sample
APPLY_IN_THREAD = 2_000  # changes at once above which compiling them leaves the event loop
COMPACT_USERS_AT = 1_000  # users without subscriptions above which (and a quarter) the table shrinks
PRUNE_REMOVALS_AFTER = timedelta(days=1)

_NO_TIME = -(2**63)  # created_at unknown (or no subscription with that id)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(when: datetime) -> int:
    """Microseconds since 1970 (exact, so comparisons agree with datetime comparisons)."""
    return (when - _EPOCH) // timedelta(microseconds=1)


def _bit_positions(mask: int) -> Iterator[int]:
    """The positions of the set bits of `mask`, lowest first."""
    while mask:
        lowest = mask & -mask
        yield lowest.bit_length() - 1
        mask ^= lowest


def paper_rank(paper: Paper) -> tuple[int, str, str]:
    """The order papers are kept in per user: most popular, then newest, then by id (descending)."""
    return (paper.popularity, to_iso(paper.first_seen) or "", paper.id)


@dataclass(slots=True)
class BatchMatches:
    """What one batch of new papers means for each user: the papers worth listing (at most
    `keep_per_user`, most popular first, each with the ids of the subscriptions it matched),
    how many more matched, and the total of (user, paper) matches."""

    kept: dict[UserKey, list[tuple[str, tuple[int, ...]]]]
    overflow: dict[UserKey, int]
    total: int


class ScanMatches:
    """A batch matched, reduced per user, in arrays: a million subscriptions list millions of
    (user, paper) rows. Nearly every row was matched by one subscription: those are three
    arrays (user number, paper position, subscription id), handed to the store as columns
    (`single_columns`); the few matched by several are tuples (`several`). Rows come grouped
    by user, users in key order (`to_batch` puts each user's most popular paper first)."""

    def __init__(self, paper_ids: Sequence[str], users: Sequence[UserKey]) -> None:
        self.paper_ids = paper_ids  # the batch, most popular first (a row's paper is a position)
        self.users = users  # the matcher's user table (append-only; a row's user is a number)
        self.total = 0  # (user, paper) matches, listed or not
        self.users_with_matches = 0
        self.single_user = array("i")
        self.single_paper = array("i")
        self.single_subscription = array("q")
        self.several: list[tuple[int, int, list[int]]] = []  # (user, paper, subscription ids)
        self.overflow_user = array("i")
        self.overflow_count = array("i")

    def __len__(self) -> int:
        """How many (user, paper) rows are listed."""
        return len(self.single_user) + len(self.several)

    def single_columns(self, start: int, stop: int) -> tuple[Iterator[str], Iterator[str], Iterator[str], array[int]]:
        """Platforms, user ids, paper ids and subscription ids of the rows `start:stop` matched
        by one subscription, as columns (iterated in C: no Python call per row)."""
        keys = list(map(self.users.__getitem__, self.single_user[start:stop]))
        papers = map(self.paper_ids.__getitem__, self.single_paper[start:stop])
        return map(itemgetter(0), keys), map(itemgetter(1), keys), papers, self.single_subscription[start:stop]

    def several_rows(self) -> list[tuple[str, str, str, tuple[int, ...]]]:
        """(platform, user id, paper id, subscription ids) of the rows matched by several."""
        users, papers = self.users, self.paper_ids
        return [(*users[user], papers[paper], tuple(ids)) for user, paper, ids in self.several]

    def rows(self) -> Iterator[tuple[str, str, str, tuple[int, ...]]]:
        """(platform, user id, paper id, subscription ids) of every listed row."""
        users, papers = self.users, self.paper_ids
        for user, paper, subscription in zip(self.single_user, self.single_paper, self.single_subscription, strict=True):
            yield (*users[user], papers[paper], (subscription,))
        yield from self.several_rows()

    def overflow(self) -> dict[UserKey, int]:
        """Per user, how many matches were counted but not listed (only users with some)."""
        users = self.users
        return {users[user]: count for user, count in zip(self.overflow_user, self.overflow_count, strict=True)}

    def to_batch(self) -> BatchMatches:
        """The same result as plain dicts, each user's papers most popular first (tests)."""
        listed: dict[UserKey, list[tuple[int, str, tuple[int, ...]]]] = {}
        position = {paper_id: i for i, paper_id in enumerate(self.paper_ids)}
        for platform, user_id, paper_id, ids in self.rows():
            listed.setdefault((platform, user_id), []).append((position[paper_id], paper_id, ids))
        kept = {user: [(pid, ids) for _, pid, ids in sorted(rows)] for user, rows in listed.items()}
        return BatchMatches(kept, self.overflow(), self.total)


class AlertMatcher:
    """Every active subscription, compiled once and kept current; matches batches of papers.

    Call `refresh(store, now)` before each `match` (the scheduler does, under its alert lock):
    the first call loads everything, later calls apply the change feed. `add` and `remove` are
    the same updates for subscriptions not read from a store (`match_batch`, tests).
    """

    def __init__(self, frequency: Mapping[str, int] | None = None) -> None:
        self.anchored_at: datetime | None = None
        self.anchor_sample_size = 0
        # (when, change number applied then): removal records up to that number are pruned
        # once it is PRUNE_REMOVALS_AFTER old (every live reader has applied them by then).
        self._prune_mark: tuple[datetime, int] | None = None
        self._clear(QueryIndex(frequency))

    def _clear(self, queries: QueryIndex) -> None:
        """Forget every subscription (a fresh matcher, keeping its anchors)."""
        self.queries = queries
        self.seq: int | None = None  # the change feed's number applied so far; None: not loaded
        # By subscription id: its query slot (-1: none), user number, and creation time.
        self._slot = array("i")
        self._user = array("i")
        self._created = array("q")
        self._count = 0
        self._newest_created = _NO_TIME
        self._users: list[UserKey] = []
        self._user_number: dict[UserKey, int] = {}
        self._subscriptions_of: list[array[int]] = []  # by user number: their subscription ids
        self._users_without = 0  # users left with no subscription (dropped by `_number_users`)

    @property
    def size(self) -> int:
        """How many subscriptions are indexed (active ones with something to match)."""
        return self._count

    @property
    def user_count(self) -> int:
        """How many users the user table holds (those left without a subscription included,
        until `compact_users`)."""
        return len(self._users)

    def compact_users(self) -> None:
        """Drop the users left without a subscription from the user table (and put the others
        in key order again). `refresh` does it once they are a quarter of the table."""
        self._number_users()

    # --- keeping the subscriptions current ----------------------------------------------------

    def add(self, sub: Subscription) -> bool:
        """Index an active subscription (replacing one with its id); False if its query is empty."""
        return self._add(sub, None)

    def add_many(
        self, subscriptions: Iterable[Subscription], slots: dict[tuple[str, tuple[str, ...]], int] | None = None
    ) -> None:
        """Index many active subscriptions (the first load, `match_batch`). Each distinct
        (query, topics) text is compiled once (most subscriptions share theirs); pass the same
        `slots` dict to calls that follow each other to share that across them."""
        slots = {} if slots is None else slots
        for sub in subscriptions:
            self._add(sub, slots)

    def _add(self, sub: Subscription, slots: dict[tuple[str, tuple[str, ...]], int] | None) -> bool:
        # `slots` remembers the query slot of each (query, topics) text seen in this batch (-1:
        # an empty query); valid while no query is dropped, so it is forgotten when one may be.
        sid = sub.id
        if sid < 0:
            raise ValueError(f"subscription ids are positive: {sid}")
        if sid < len(self._slot):
            if self._slot[sid] >= 0:
                self.remove(sid)
                if slots:
                    slots.clear()
        else:
            grow = sid + 1 - len(self._slot) + len(self._slot) // 2
            self._slot.extend(array("i", [-1]) * grow)
            self._user.extend(array("i", [0]) * grow)
            self._created.extend(array("q", [_NO_TIME]) * grow)
        text = (sub.query, sub.topics)
        slot = slots.get(text) if slots is not None else None
        if slot is None:
            matcher = compile_query(sub.query, sub.topics)
            slot = -1 if matcher.empty else self.queries.add(matcher, sid)
            if slots is not None:
                slots[text] = slot
        elif slot >= 0:
            self.queries.join(slot, sid)
        if slot < 0:
            return False
        key = (sub.platform, sub.user_id)
        user = self._user_number.get(key)
        if user is None:
            user = self._user_number[key] = len(self._users)
            self._users.append(key)
            self._subscriptions_of.append(array("q"))
        elif not self._subscriptions_of[user]:
            self._users_without -= 1
        self._subscriptions_of[user].append(sid)
        self._slot[sid] = slot
        self._user[sid] = user
        created = _micros(sub.created_at) if sub.created_at is not None else _NO_TIME
        self._created[sid] = created
        if created > self._newest_created:
            self._newest_created = created
        self._count += 1
        return True

    def remove(self, subscription_id: int) -> bool:
        """Forget a subscription (removed or paused); False if it was not indexed."""
        if not 0 <= subscription_id < len(self._slot) or self._slot[subscription_id] < 0:
            return False
        self.queries.discard(self._slot[subscription_id], subscription_id)
        own = self._subscriptions_of[self._user[subscription_id]]
        own.remove(subscription_id)
        if not own:
            self._users_without += 1
        self._slot[subscription_id] = -1
        self._created[subscription_id] = _NO_TIME
        self._count -= 1
        return True

    def apply(self, changes: SubscriptionChanges) -> None:
        """Apply a page of the change feed: removals first, then the current rows (an id in
        both was reused by a newer row), a paused row being a removal too."""
        for subscription_id in changes.removed:
            self.remove(subscription_id)
        for sub in changes.changed:
            if sub.paused_reason:
                self.remove(sub.id)
            else:
                self.add(sub)

    async def refresh(self, store: Store, now: datetime) -> None:
        """Bring the index up to date with the store: the first call loads every active
        subscription (read and compiled in a worker thread, so the event loop stays free);
        later calls apply only the changes since (a feed pruned past them: load again).
        Anchors are resampled once a day; removal records a day old are pruned."""
        if self.anchored_at is None or now - self.anchored_at >= self._anchor_interval():
            await self._reanchor(store, now)
        if self.seq is None:
            await self._load(store)
        else:
            changes = store.subscriptions.changes_since(self.seq)
            if not changes.complete:
                self._clear(QueryIndex(self.queries.frequency))
                await self._load(store)
            elif len(changes.changed) + len(changes.removed) > APPLY_IN_THREAD:
                await asyncio.to_thread(self.apply, changes)
                self.seq = changes.seq
            else:
                self.apply(changes)
                self.seq = changes.seq
            if self._users_without > max(COMPACT_USERS_AT, len(self._users) // 4):
                await asyncio.to_thread(self.compact_users)
        self._prune_removals(store, now)

    def _prune_removals(self, store: Store, now: datetime) -> None:
        assert self.seq is not None
        if self._prune_mark is None:
            self._prune_mark = (now, self.seq)
        elif now - self._prune_mark[0] >= PRUNE_REMOVALS_AFTER:
            store.subscriptions.prune_removals(self._prune_mark[1])
            self._prune_mark = (now, self.seq)

    async def _load(self, store: Store) -> None:
        """Load every active subscription. A store in a file is read in the worker thread
        through a read-only connection of its own (a million rows made into Subscriptions
        would hold the event loop for seconds); an in-memory one is read here, in pages."""
        location = store.location
        if self._count:  # a load cancelled half way (the process was stopping): start afresh
            self._clear(QueryIndex(self.queries.frequency))
        if location is None:
            await self._load_pages(store)
            return
        # Cancelled (a stop signal while loading), the thread stops at the next page instead of
        # holding the process's exit until it has read everything.
        stop = threading.Event()

        def read() -> None:
            reader = Store.open(location, writable=False)
            try:
                self._load_from(reader, stop)
            finally:
                reader.close()

        try:
            await asyncio.to_thread(read)
        except asyncio.CancelledError:
            stop.set()
            raise

    def _load_from(self, store: Store, stop: threading.Event) -> None:
        # The change number first: whatever changes while the pages are read has a higher one
        # and is applied again by the next refresh (adding is idempotent), so nothing is missed.
        seq = store.subscriptions.change_seq()
        after = 0
        slots: dict[tuple[str, tuple[str, ...]], int] = {}
        while page := store.subscriptions.active_page(after, LOAD_PAGE):
            if stop.is_set():
                return  # `seq` stays None: the next refresh loads again
            self.add_many(page, slots)
            after = page[-1].id
        self._number_users()
        self.seq = seq

    async def _load_pages(self, store: Store) -> None:
        seq = store.subscriptions.change_seq()  # first, as in `_load_from`
        after = 0
        slots: dict[tuple[str, tuple[str, ...]], int] = {}
        while page := store.subscriptions.active_page(after, LOAD_PAGE):
            await asyncio.to_thread(self.add_many, page, slots)
            after = page[-1].id
        await asyncio.to_thread(self._number_users)
        self.seq = seq

    def _number_users(self) -> None:
        """Renumber the users in (platform, user id) order, so that results listed by user
        number come in the alert queue's key order (users added later get the next numbers),
        dropping the users left without a subscription (the table shrinks as they leave)."""
        order = sorted(
            (number for number, own in enumerate(self._subscriptions_of) if own), key=self._users.__getitem__
        )
        # One entry more, -1, which a stale -1 reads (and so does a stale 0 with no users left).
        renumbered = array("i", [-1]) * (len(self._users) + 1)
        for new, old in enumerate(order):
            renumbered[old] = new
        self._users = [self._users[old] for old in order]
        self._subscriptions_of = [self._subscriptions_of[old] for old in order]
        self._user_number = {key: number for number, key in enumerate(self._users)}
        # A removed subscription's entry keeps a stale number (-1 when its user was dropped);
        # only indexed ones (slot >= 0) are ever read.
        self._user = array("i", map(renumbered.__getitem__, self._user))
        self._users_without = 0

    def _anchor_interval(self) -> timedelta:
        return ANCHOR_EVERY if self.anchor_sample_size >= ANCHOR_SAMPLE // 4 else ANCHOR_RETRY

    async def _reanchor(self, store: Store, now: datetime) -> None:
        papers = store.papers.changed(limit=ANCHOR_SAMPLE)
        frequency = await asyncio.to_thread(lambda: key_frequency((paper_doc(p, ()) for p in papers), at_least=2))
        if self.queries:
            await asyncio.to_thread(self.queries.reanchor, frequency)
        else:
            self.queries.frequency = frequency
        self.anchored_at = now
        self.anchor_sample_size = len(papers)

    # --- matching -------------------------------------------------------------------------------

    def match(
        self,
        papers: Sequence[Paper],
        topics: Mapping[str, Sequence[str]],
        *,
        since: datetime,
        keep_per_user: int,
    ) -> ScanMatches:
        """Match a batch of new papers against every indexed subscription, reduced per user: at
        most `keep_per_user` papers each (most popular first, with the ids of the subscriptions
        each matched), the rest counted. A subscription created after `since` only gets papers
        first seen after it was created. Pure; safe in a worker thread while nothing updates
        the matcher."""
        ordered = sorted({p.id: p for p in papers}.values(), key=paper_rank, reverse=True)
        result = ScanMatches([p.id for p in ordered], self._users)
        if not ordered or not self._count:
            return result

        # Query matches as bit masks over the batch; bit i is the i-th most popular paper.
        masks: dict[int, int] = {}
        topic_masks: dict[str, int] = {}
        matching = self.queries.matching
        for i, paper in enumerate(ordered):
            bit = 1 << i
            doc = paper_doc(paper, topics.get(paper.id, ()))
            for slot in matching(doc):
                masks[slot] = masks.get(slot, 0) | bit
            for topic in doc.topics:
                topic_masks[topic] = topic_masks.get(topic, 0) | bit
        for slot, wanted in self.queries.topic_only.items():
            mask = 0
            for topic in wanted:
                mask |= topic_masks.get(topic, 0)
            if mask:
                masks[slot] = mask

        slot_of = self._slot
        late = self._created_after(_micros(since))
        arrived: dict[int, int] = {}  # creation time -> mask of the papers first seen since then

        def arrived_since(created: int) -> int:
            found = arrived.get(created)
            if found is None:
                found = 0
                for i, paper in enumerate(ordered):
                    if paper.first_seen is None or _micros(paper.first_seen) >= created:
                        found |= 1 << i
                arrived[created] = found
            return found

        def own_mask(subscription_id: int) -> int:
            mask = masks.get(slot_of[subscription_id], 0)
            if mask and late and subscription_id in late:
                mask &= arrived_since(late[subscription_id])
            return mask

        # Per user, in user number order (key order for all but users added since the load, see
        # `_number_users`: inserting millions of rows in the alert queue's key order is about
        # twice as fast as in a random one): OR the masks of their subscriptions. Its popcount is
        # how many papers matched, its lowest bits the most popular ones.
        single_user, single_paper, single_subscription = result.single_user, result.single_paper, result.single_subscription
        several = result.several
        total = users_with_matches = 0
        for user, subscriptions in enumerate(self._subscriptions_of):
            union = shared = 0  # shared: papers matched by two or more of the user's subscriptions
            matched = first = 0
            for subscription_id in subscriptions:
                hits = masks.get(slot_of[subscription_id])
                if hits is None:
                    continue
                if late and subscription_id in late:
                    hits &= arrived_since(late[subscription_id])
                    if not hits:
                        continue
                shared |= union & hits
                union |= hits
                matched += 1
                first = subscription_id
            if not matched:
                continue
            count = union.bit_count()
            listed = min(count, keep_per_user)
            kept = union  # the `listed` most popular papers: the lowest bits
            if count > listed:
                rest = union
                for _ in range(listed):
                    rest &= rest - 1  # drop the lowest paper
                kept ^= rest
            if matched == 1:
                entries = [(first, kept)]
            else:
                entries = sorted((sid, own_mask(sid)) for sid in subscriptions)
                if shared & kept:
                    for position in _bit_positions(shared & kept):
                        bit = 1 << position
                        several.append((user, position, [sid for sid, mask in entries if mask & bit]))
                    kept ^= shared & kept
            for subscription_id, mask in entries:
                positions = list(_bit_positions(mask & kept))
                single_paper.extend(positions)
                single_user.extend(repeat(user, len(positions)))
                single_subscription.extend(repeat(subscription_id, len(positions)))
            if count > listed:
                result.overflow_user.append(user)
                result.overflow_count.append(count - listed)
            total += count
            users_with_matches += 1
        result.total = total
        result.users_with_matches = users_with_matches
        return result

    def _created_after(self, moment: int) -> dict[int, int]:
        """Subscription id -> creation time, for the indexed ones created after `moment`."""
        if self._newest_created <= moment:
            return {}
        return {sid: created for sid, created in enumerate(self._created) if created > moment}
