"""Per-user DM alerts: subscriptions, scanning new papers into the alert queue, batching.

Matching itself (tokenizing, compiled queries, the inverted query index) lives in
`bot.search.matching`, shared with channel digests; the long-lived index over every
subscription, kept current from the store's change feed and reducing matches per user (only
the `keep_per_user` most popular papers kept, the rest counted), is `bot.alerts.matcher`. Here:
`scan_new_papers` (what the scheduler runs), `match_batch` (the same over given subscriptions),
cutting alert batches, and the subscription commands.

Alerts are batched per user: matches wait in the alert queue; a user gets at most one DM per
`ALERT_INTERVAL` with up to `ALERT_MAX_ITEMS` papers (the rest counted as "+N more"), never
during their quiet hours, never the same paper twice. A person who set a relevance threshold
(`/papers alerts threshold:0.5`) and has given feedback gets only the matches their model scores
at least that high (the rest counted in the footer); a batch with none is one line saying so. Each DM goes through the outbox under
`alert:<platform>:<user>:<digest of the queued papers it consumes>` (`alert_batch_key`),
cut once however many replicas try at the same moment (`_commit_batch`), and says how to
unsubscribe.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import bot.chat.grammar as cmd
from bot.alerts.matcher import AlertMatcher, BatchMatches, ScanMatches
from bot.chat.present import describe_subscription, make_items
from bot.core.clock import Clock, to_iso
from bot.core.errors import UserInputError
from bot.core.localtime import quiet_until
from bot.core.models import Actor, ItemGroup, Paper, Place, Reply, Subscription
from bot.core.outbox import OutboxKind, alert_batch_key
from bot.core.text import fold
from bot.delivery.outbox import enqueue
from bot.ports import SummaryProvider
from bot.rank.models import PERSON
from bot.rank.ranking import Ranker
from bot.search.matching import (
    Matcher,
    tagged_topics,
    text_doc,
    topics_for,
)
from bot.settings import Settings
from bot.store import Store
from bot.store.db import transaction
from bot.store.feedback import person_key
from bot.store.papers import PaperText

log = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS_PER_USER = 25
FIRST_SCAN_WINDOW = timedelta(hours=24)
PREVIEW_WINDOW = timedelta(days=7)
# The preview of a new subscription answers within the platforms' deadline at any store size:
# it reads at most PREVIEW_MAX_PAPERS of the window (most recently changed first) and runs at
# most PREVIEW_MAX_CHECKED costly checks (tokenizing a paper for a phrase, or tagging an
# untagged one); past either bound its count is "at least".
PREVIEW_MAX_PAPERS = 20_000
PREVIEW_MAX_CHECKED = 2_000
SCAN_WATERMARK = "alerts.scanned_until"  # when the last scan ran (a time)
SCAN_SEQ_WATERMARK = "alerts.scanned_seq"  # the search sequence value it scanned up to


# --- scanning new papers into the queue, and cutting alert batches -------------------------


def match_batch(
    subscriptions: Sequence[Subscription],
    papers: Sequence[Paper],
    topics: Mapping[str, Sequence[str]],
    *,
    since: datetime,
    keep_per_user: int,
) -> BatchMatches:
    """Match a batch of new papers against every subscription and reduce it per user. Pure.

    The same matching as the scheduler's long-lived `AlertMatcher`, over subscriptions given
    here rather than read from the store: per user only the `keep_per_user` most popular papers
    are kept (with the ids of the subscriptions each matched) and the rest counted. A
    subscription created after `since` only gets papers first seen after it was created.
    """
    matcher = AlertMatcher()
    matcher.add_many(subscriptions)
    return matcher.match(papers, topics, since=since, keep_per_user=keep_per_user).to_batch()


QUEUE_CHUNK = 10_000  # alert-queue rows per transaction (fits SQLite's page cache); the loop runs between


async def scan_new_papers(
    store: Store,
    now: datetime,
    *,
    keep_per_user: int = 10,
    first_window: timedelta = FIRST_SCAN_WINDOW,
    matcher: AlertMatcher | None = None,
) -> int:
    """Match the papers that arrived since the last scan against every active subscription and
    queue them per user; returns how many (user, paper) pairs were queued.

    "Arrived" is in commit order, not by the clock: the scan reads the search sequence's value
    S (`PaperStore.committed_seq`; every number up to it is committed) and the papers first
    inserted under a number in (W, S], W being where the last scan stopped (SCAN_SEQ_WATERMARK),
    then moves W to S. A paper whose ingest started before a scan (its `first_seen` is earlier)
    but committed after it has a number above that scan's S and is matched by the next one, on
    any replica. The first scan of a store (no W yet) takes the papers first seen in the last
    `first_window`, or since the time watermark a store scanned before `alert_seq` existed.

    `matcher` is the scheduler's long-lived one: it is refreshed from the store's change feed
    (only what changed since the last scan is read) and then matches. Without one, a matcher is
    loaded for this scan alone. Per user only the `keep_per_user` most popular matches of a scan
    are queued (a DM lists at most that many); the others are counted for its "+N more", which
    bounds the queue however broad a subscription is. The matching runs in a worker thread (it
    is pure and can take seconds with a million subscriptions) so the event loop keeps
    answering commands, and the rows are written in chunks with the loop running in between.
    A crash repeats the scan: the watermarks and the counts are written last, in one
    transaction, and rows already queued are not queued again. Two replicas that scan the same
    papers (the step lock lost mid-scan) queue each match once: the watermark moves by
    compare-and-set and only the replica that moved it adds the "+N more" counts.
    """
    after_seq = store.alert_queue.seq_watermark(SCAN_SEQ_WATERMARK)
    # The previous scan's time: a subscription made after it only gets papers first seen after
    # it was made (earlier ones came with its first DM, see `_queue_first_alert`).
    since = store.alert_queue.watermark(SCAN_WATERMARK) or (now - first_window)
    upto_seq = store.papers.committed_seq()
    if after_seq is None:
        papers = store.papers.arrived(upto_seq=upto_seq, since=since)
    else:
        papers = store.papers.arrived(upto_seq=upto_seq, after_seq=after_seq)
    if matcher is None:
        matcher = AlertMatcher()
    await matcher.refresh(store, now)
    found: ScanMatches | None = None
    if papers and matcher.size:
        topics = topics_for(store, papers)
        found = await asyncio.to_thread(matcher.match, papers, topics, since=since, keep_per_user=keep_per_user)
    queued = 0
    if found is not None:
        for start in range(0, len(found.single_user), QUEUE_CHUNK):
            with transaction(store.conn):
                queued += store.alert_queue.add_columns(*found.single_columns(start, start + QUEUE_CHUNK), now)
            await asyncio.sleep(0)
    with transaction(store.conn):
        moved = store.alert_queue.advance_seq_watermark(SCAN_SEQ_WATERMARK, after_seq, upto_seq)
        if found is not None:
            queued += store.alert_queue.add(found.several_rows(), now)
            if moved:
                store.alert_queue.add_overflow(found.overflow())
        if moved:
            store.alert_queue.set_watermark(SCAN_WATERMARK, now)
    if not moved:
        log.info("another replica scanned papers %s..%s for alerts at the same time", after_seq, upto_seq)
    return queued


async def cut_batches(
    store: Store, summaries: SummaryProvider, settings: Settings, now: datetime, ranker: Ranker | None = None
) -> int:
    """Put one alert DM in the outbox for every user whose window is open and who has queued
    papers; returns how many DMs were enqueued. With a ranker, a user whose model has
    feedback gets the batch in the order of their model (popularity still counting)."""
    interval = timedelta(seconds=settings.alert_interval)
    enqueued = 0
    for platform, user_id in store.alert_queue.waiting_users():
        state = store.users.get(platform, user_id)
        if state.dm_blocked:
            continue
        if state.last_alert_at is not None and now < state.last_alert_at + interval:
            continue
        if quiet_until(now, state.quiet_start, state.quiet_end, state.timezone) is not None:
            continue
        if await _cut_one(store, summaries, settings, platform, user_id, now, state.last_alert_at, ranker):
            enqueued += 1
    return enqueued


async def _cut_one(
    store: Store,
    summaries: SummaryProvider,
    settings: Settings,
    platform: str,
    user_id: str,
    now: datetime,
    last_alert_at: datetime | None,
    ranker: Ranker | None = None,
) -> bool:
    """Cut one user's batch from their queue (see `_commit_batch` for why it happens once)."""
    queued = store.alert_queue.waiting(platform, user_id)
    subs = store.subscriptions.list_for_user(platform, user_id)
    active = {sub.id: sub for sub in subs if not sub.paused_reason}
    numbers = {sub.id: number for number, sub in enumerate(subs, start=1)}
    live = [q for q in queued if any(sid in active for sid in q.subscription_ids)]
    live_ids = {q.paper_id for q in live}
    stale = [q.paper_id for q in queued if q.paper_id not in live_ids]
    handled = [q.paper_id for q in live] + stale  # every row read: the batch consumes them all
    key = alert_batch_key(platform, user_id, handled)
    if not live:
        if stale:
            with transaction(store.conn):
                store.alert_queue.assign(platform, user_id, stale, "dropped:unsubscribed")
                store.alert_queue.reset_overflow(platform, user_id)
        return False
    papers_by_id = {p.id: p for p in store.papers.get_many([q.paper_id for q in live])}
    ordered = sorted(
        (q for q in live if q.paper_id in papers_by_id),
        key=lambda q: (-papers_by_id[q.paper_id].popularity, q.matched_at, q.paper_id),
    )
    why = {q.paper_id: _why(q.subscription_ids, active, numbers) for q in ordered}
    threshold = store.feedback.alert_threshold(platform, user_id)
    below: list[str] = []  # matched, but under the person's relevance threshold
    if ranker is not None:
        popularity = {q.paper_id: 1.0 + math.log1p(max(papers_by_id[q.paper_id].popularity, 0)) for q in ordered}
        by_model = await ranker.order(
            PERSON,
            person_key(platform, user_id),
            [papers_by_id[q.paper_id] for q in ordered],
            popularity,
            threshold=threshold,
            reasons=why,
            explain=settings.alert_max_items,
        )
        if by_model is not None:
            position = {r.paper.id: i for i, r in enumerate(by_model)}
            why.update({r.paper.id: r.why for r in by_model})
            below = [q.paper_id for q in ordered if q.paper_id not in position]
            ordered = sorted((q for q in ordered if q.paper_id in position), key=lambda q: position[q.paper_id])
    overflow = store.alert_queue.overflow(platform, user_id)
    if below and not ordered:
        reply = _nothing_relevant(len(below), threshold)
        return _commit_batch(store, platform, user_id, now, last_alert_at, key, handled, reply, [], overflow)
    shown = ordered[: settings.alert_max_items]
    more = len(ordered) - len(shown) + overflow
    shown_papers = [papers_by_id[q.paper_id] for q in shown]
    made = await summaries.get_many(shown_papers)
    items = make_items(shown_papers, made, now, why)
    matched_numbers = sorted({numbers[sid] for q in live for sid in q.subscription_ids if sid in active})
    count = len(shown) + more
    footer_lines = []
    if more:
        footer_lines.append(f"+{more} more matched; find them with /papers <your query> since:1d")
    if below and threshold is not None:
        footer_lines.append(
            f"{len(below)} more matched below your relevance threshold {threshold:g} (change it with /papers alerts threshold:…)"
        )
    example = matched_numbers[0] if matched_numbers else 1
    footer_lines.append(
        f"To stop these alerts: /papers unsubscribe {example} (a number from /papers subscriptions) "
        "or /papers unsubscribe all"
    )
    reply = Reply(
        header=f"{count} new paper{'s' if count != 1 else ''} for your subscriptions",
        groups=(ItemGroup(title="", items=items),),
        footer="\n".join(footer_lines),
        private=False,
        offers_feedback=True,
    )
    shown_ids = [p.id for p in shown_papers]
    return _commit_batch(store, platform, user_id, now, last_alert_at, key, handled, reply, shown_ids, overflow)


class _BatchTaken(Exception):
    """Another replica cut this user's batch (or part of it) first: roll back."""


def _commit_batch(
    store: Store,
    platform: str,
    user_id: str,
    now: datetime,
    last_alert_at: datetime | None,
    key: str,
    handled: Sequence[str],
    reply: Reply,
    shown: Sequence[str],
    overflow: int,
) -> bool:
    """Enqueue one user's batch DM and consume what it stands for, in one transaction, only if
    no other replica did so since this one read the user's state and queue; returns whether
    the DM was enqueued.

    The step lock alone does not make cutting exactly-once: a replica whose lock connection
    dropped, or two ticks racing around a restart, may cut at once. So the transaction claims
    the user's alert window (compare-and-set of `last_alert_at` against the value read, which
    also serializes two cutters on the user's row) and every queued row it read (`claim`: only
    rows still waiting); the outbox key is named by those rows. If anything was taken, it rolls
    back and enqueues nothing; the rows left wait for the next window.
    """
    try:
        with transaction(store.conn):
            if not store.users.claim_alert_window(platform, user_id, last_alert_at, now):
                raise _BatchTaken("the alert window")
            if not store.alert_queue.claim(platform, user_id, handled, key):
                raise _BatchTaken("queued papers")
            if not enqueue(store, key, OutboxKind.ALERT, platform, user_id, reply, now):
                raise _BatchTaken("the outbox key")
            if shown:
                store.feedback.record_shown(platform, user_id, list(shown), "alert", now)
            store.alert_queue.consume_overflow(platform, user_id, overflow)
    except _BatchTaken as taken:
        log.info("another replica cut the alert batch of %s:%s first (%s); skipping it", platform, user_id, taken)
        return False
    return True


def _nothing_relevant(count: int, threshold: float | None) -> Reply:
    """A batch whose every match (`count` of them) is below the person's threshold: one line,
    not a list; the queue entries it stands for are consumed all the same."""
    return Reply(
        text=(
            f"Nothing relevant for you this time: {count} new paper{'s' if count != 1 else ''} matched your "
            f"subscriptions, none at your relevance threshold {threshold or 0:g}. "
            "Find them with /papers <your query> since:1d, or get every match with /papers alerts threshold:0."
        ),
        private=False,
    )


def _why(subscription_ids: Sequence[int], active: Mapping[int, Subscription], numbers: Mapping[int, int]) -> str:
    labels = [
        f"#{numbers[sid]} {describe_subscription(active[sid].query, active[sid].topics)}" for sid in subscription_ids if sid in active
    ]
    return "matches " + "; ".join(labels)


def _describe_interval(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, round(seconds / 60))
    return "minute" if minutes == 1 else f"{minutes} minutes"


def _describe_quiet(start: time | None, end: time | None, zone: str) -> str:
    if start is None or end is None:
        return "No quiet hours: alerts are sent at any time. Set some with /papers quiet 22:00-07:00 tz:Europe/Berlin"
    return f"Quiet hours: {start:%H:%M}–{end:%H:%M} ({zone}), every day."


# --- the subscription commands ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecentMatches:
    """What a new subscription would have matched lately: the papers (most recently changed
    first), whether that is all of them (`complete`; else the count is a lower bound), and
    whether the last 24 hours were checked completely (`day_complete`)."""

    papers: list[PaperText]
    complete: bool
    day_complete: bool


class SubscriptionCommands:
    """`subscribe`, `unsubscribe`, `subscriptions` and `quiet` (a BotService command slice)."""

    def __init__(self, *, store: Store, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    async def handle(self, command: cmd.Command, who: Actor, where: Place) -> Reply:
        """Run one subscription command for the user who typed it."""
        if isinstance(command, cmd.SubscribeCommand):
            return self.subscribe(command, who)
        if isinstance(command, cmd.UnsubscribeCommand):
            return self.unsubscribe(command, who)
        if isinstance(command, cmd.ListSubscriptionsCommand):
            return self.list_subscriptions(who)
        if isinstance(command, cmd.QuietHoursCommand):
            return self.quiet_hours(command, who)
        if isinstance(command, cmd.AlertSettingsCommand):
            return self.alert_settings(command, who)
        raise UserInputError("that is not a subscription command; see /papers help")

    def subscribe(self, command: cmd.SubscribeCommand, who: Actor) -> Reply:
        """Add a subscription and say how many recent papers it would have matched."""
        matcher = Matcher.compile(command.query, command.topics)
        if matcher.empty:
            raise UserInputError(
                "that query has no words to match (only common words like “the” or “of”); "
                "add a keyword or a topic, e.g. /papers subscribe diffusion topic:cv"
            )
        existing = self.store.subscriptions.list_for_user(who.platform, who.user_id)
        for number, sub in enumerate(existing, start=1):
            if Matcher.compile(sub.query, sub.topics) == matcher:
                if sub.paused_reason:
                    # The pause notice says "subscribe again to resume": that works for the
                    # same query too.
                    with transaction(self.store.conn):
                        self.store.subscriptions.resume_for_user(who.platform, who.user_id)
                        self.store.users.set_dm_blocked(who.platform, who.user_id, False)
                    return Reply(
                        text=f"Resumed your alerts (#{number}: {describe_subscription(sub.query, sub.topics)} and the rest).",
                        private=True,
                    )
                return Reply(
                    text=f"You already have this subscription (#{number}: {describe_subscription(sub.query, sub.topics)}).",
                    private=True,
                )
        if len(existing) >= MAX_SUBSCRIPTIONS_PER_USER:
            raise UserInputError(
                f"you have {len(existing)} subscriptions, the most allowed; remove one with "
                "/papers unsubscribe <number> first"
            )
        now = self.clock()
        with transaction(self.store.conn):
            sub = self.store.subscriptions.add(who.platform, who.user_id, command.query, command.topics, now)
            resumed = self.store.subscriptions.resume_for_user(who.platform, who.user_id)
            if resumed:
                self.store.users.set_dm_blocked(who.platform, who.user_id, False)
        number = len(existing) + 1
        recent = self.recent_matches(matcher, now)
        first = self._queue_first_alert(sub, recent.papers, now)
        hours = self.settings.alert_interval / 3600
        every = "hour" if hours == 1 else (f"{hours:g} hours" if hours >= 1 else f"{self.settings.alert_interval // 60} minutes")
        found = len(recent.papers)
        if first and not recent.day_complete:
            # Counting stopped within the last day: the 7-day figure would repeat the same
            # lower bound ("at least 5 of 7 days; at least 5 of 24 hours"), so say it once.
            count_line = (
                f"At least {first:,} paper{'s' if first != 1 else ''} of the last 24 hours alone would "
                f"have matched (counting stopped there); {'it comes' if first == 1 else 'they come'} in your first DM"
            )
        else:
            count_line = f"{found:,} paper{'s' if found != 1 else ''} of the last 7 days would have matched"
            if not recent.complete:
                count_line = "At least " + count_line
            if first:
                come = "comes" if first == 1 else "come"
                count_line += f"; the {first:,} from the last 24 hours {come} in your first DM"
        lines = [
            f"Subscribed (#{number}): {describe_subscription(sub.query, sub.topics)}.",
            count_line + ".",
            f"New matches come by DM, at most one message every {every}. "
            f"Stop with /papers unsubscribe {number}.",
        ]
        if resumed:
            lines.append(f"Your {resumed} paused subscription{'s' if resumed != 1 else ''} resumed too.")
        return Reply(text="\n".join(lines), private=True)

    def recent_matches(self, matcher: Matcher, now: datetime) -> RecentMatches:
        """Papers first seen in the last 7 days that a query matches, most recently changed
        first, with bounded work whatever the store holds (see PREVIEW_MAX_PAPERS).

        Words are looked up in each paper's folded text without tokenizing it
        (`Matcher.words_in`) and topics in the stored tags: for most queries that is the whole
        answer. Only a phrase (tokenizing) or a paper not tagged yet (the tagger) costs more,
        and those checks are bounded by PREVIEW_MAX_CHECKED.
        """
        window = now - PREVIEW_WINDOW
        texts = self.store.papers.recent_texts(since=window, limit=PREVIEW_MAX_PAPERS + 1)
        stopped_at: datetime | None = None  # the last change time of the first paper not checked
        if len(texts) > PREVIEW_MAX_PAPERS:
            stopped_at = texts[PREVIEW_MAX_PAPERS].changed_at or window
            texts = texts[:PREVIEW_MAX_PAPERS]
        stored = self.store.papers.topics_of([t.id for t in texts]) if matcher.topics else {}
        matched: list[PaperText] = []
        checked = 0
        for text in texts:
            if text.first_seen is not None and text.first_seen < window:
                continue
            if matcher.words and not matcher.words_in(fold(f"{text.title}\n{text.abstract}")):
                continue
            topics = stored.get(text.id) or ()
            if topics and matcher.topics.isdisjoint(topics):
                continue
            if not matcher.phrases and (topics or not matcher.topics):
                matched.append(text)  # the words are there and the topics known: a match
                continue
            if checked == PREVIEW_MAX_CHECKED:
                stopped_at = text.changed_at or window
                break
            checked += 1
            if matcher.topics and not topics:  # not tagged yet: the offline tagger's topics
                topics = tagged_topics(text.title, text.abstract, text.categories)
                if matcher.topics.isdisjoint(topics):
                    continue
            if not matcher.phrases or matcher.matches(text_doc(text.id, text.title, text.abstract, topics)):
                matched.append(text)
        # Every paper first seen in the last 24 hours changed since then, so it was checked if
        # the checking stopped at a paper last changed before that.
        day_complete = stopped_at is None or stopped_at < now - FIRST_SCAN_WINDOW
        return RecentMatches(matched, complete=stopped_at is None, day_complete=day_complete)

    def _queue_first_alert(self, sub: Subscription, recent: Sequence[PaperText], now: datetime) -> int:
        """Queue the matches of the last 24 hours for the user's next DM, like a channel's first
        digest (later scans only bring papers that arrive after the subscription). Returns how
        many matched."""
        day_ids = [p.id for p in recent if p.first_seen is None or p.first_seen >= now - FIRST_SCAN_WINDOW]
        if not day_ids:
            return 0
        day = self.store.papers.get_many(day_ids)
        keep = sorted(day, key=lambda p: (p.popularity, to_iso(p.first_seen) or "", p.id), reverse=True)
        listed = keep[: self.settings.alert_max_items]
        user = (sub.platform, sub.user_id)
        with transaction(self.store.conn):
            self.store.alert_queue.add([(*user, p.id, [sub.id]) for p in listed], now)
            if len(day) > len(listed):
                self.store.alert_queue.add_overflow({user: len(day) - len(listed)})
        return len(day)

    def unsubscribe(self, command: cmd.UnsubscribeCommand, who: Actor) -> Reply:
        """Remove one subscription (by number or query) or all of them."""
        subs = self.store.subscriptions.list_for_user(who.platform, who.user_id)
        if not subs:
            return Reply(text="You have no subscriptions.", private=True)
        if command.everything:
            with transaction(self.store.conn):
                removed = self.store.subscriptions.remove_all(who.platform, who.user_id)
                self.store.alert_queue.drop_user(who.platform, who.user_id)
            return Reply(
                text=f"Removed all {removed} subscription{'s' if removed != 1 else ''}; no more alerts.",
                private=True,
            )
        if command.number is not None:
            if not 1 <= command.number <= len(subs):
                raise UserInputError(
                    f"there is no subscription #{command.number}; you have {len(subs)} "
                    "(see /papers subscriptions)"
                )
            target = subs[command.number - 1]
        else:
            target = self._by_query(subs, command.query)
        self.store.subscriptions.remove([target.id])
        left = len(subs) - 1
        return Reply(
            text=f"Removed {describe_subscription(target.query, target.topics)}. "
            f"{left} subscription{'s' if left != 1 else ''} left.",
            private=True,
        )

    @staticmethod
    def _by_query(subs: Sequence[Subscription], query: str) -> Subscription:
        wanted = Matcher.compile(query).terms
        exact = [s for s in subs if Matcher.compile(s.query).terms == wanted]
        if len(exact) == 1:
            return exact[0]
        needle = query.strip().strip('"').lower()
        partial = [s for s in subs if needle and needle in s.query.lower()]
        if len(exact) > 1 or len(partial) > 1:
            numbers = [str(i) for i, s in enumerate(subs, start=1) if s in (exact or partial)]
            raise UserInputError(
                f"more than one subscription matches {query!r} (#{', #'.join(numbers)}); "
                "unsubscribe by number instead"
            )
        if partial:
            return partial[0]
        raise UserInputError(
            f"none of your subscriptions is {query!r}; see /papers subscriptions for the numbers"
        )

    def quiet_hours(self, command: cmd.QuietHoursCommand, who: Actor) -> Reply:
        """Show, set or clear the daily span in which the user gets no alert DMs (they wait)."""
        state = self.store.users.get(who.platform, who.user_id)
        if command.off:
            self.store.users.set_quiet_hours(who.platform, who.user_id, None, None, state.timezone)
            return Reply(text="Quiet hours off: alerts are sent at any time of day.", private=True)
        if command.start is None or command.end is None:
            return Reply(text=_describe_quiet(state.quiet_start, state.quiet_end, state.timezone), private=True)
        # A zone given once is remembered; before that, the deployment's default zone.
        zone = command.timezone or (state.timezone if state.quiet_start else self.settings.digest_default_tz)
        self.store.users.set_quiet_hours(who.platform, who.user_id, command.start, command.end, zone)
        return Reply(
            text=_describe_quiet(command.start, command.end, zone)
            + " Alerts that arrive then wait until the quiet hours end. Stop with /papers quiet off.",
            private=True,
        )

    def alert_settings(self, command: cmd.AlertSettingsCommand, who: Actor) -> Reply:
        """Show the person's alert settings, or change their relevance threshold (0: off)."""
        if command.threshold is not None:
            threshold = command.threshold or None
            self.store.feedback.set_alert_threshold(who.platform, who.user_id, threshold, self.clock())
            if threshold is None:
                text = "Alert threshold off: every paper matching your subscriptions is sent (up to the batch size)."
            else:
                text = (
                    f"Alert threshold {threshold:g}: once you have given feedback, alerts send only papers at least "
                    "this relevant to you; a batch with none says so in one line. Turn it off with /papers alerts threshold:0."
                )
            return Reply(text=text, private=True)
        state = self.store.users.get(who.platform, who.user_id)
        subs = self.store.subscriptions.list_for_user(who.platform, who.user_id)
        threshold = self.store.feedback.alert_threshold(who.platform, who.user_id)
        lines = [
            f"Subscriptions: {len(subs)} (see /papers subscriptions)",
            f"At most one DM every {_describe_interval(self.settings.alert_interval)}, up to {self.settings.alert_max_items} papers each.",
            "Threshold: " + (
                f"{threshold:g} (only papers at least this relevant to you, once you gave feedback)"
                if threshold is not None else "none (set one with /papers alerts threshold:0.5)"
            ),
            _describe_quiet(state.quiet_start, state.quiet_end, state.timezone),
        ]
        return Reply(header="Your DM alerts", text="\n".join(lines), private=True)

    def list_subscriptions(self, who: Actor) -> Reply:
        """The user's subscriptions, numbered; paused ones say why."""
        subs = self.store.subscriptions.list_for_user(who.platform, who.user_id)
        if not subs:
            return Reply(
                text="You have no subscriptions. Try /papers subscribe diffusion topic:cv",
                private=True,
            )
        lines = []
        for number, sub in enumerate(subs, start=1):
            line = f"{number}. {describe_subscription(sub.query, sub.topics)}"
            if sub.paused_reason:
                line += f" (paused: {sub.paused_reason})"
            lines.append(line)
        return Reply(
            header="Your subscriptions",
            text="\n".join(lines),
            footer="Stop one with /papers unsubscribe <number>, or all with /papers unsubscribe all.",
            private=True,
        )
