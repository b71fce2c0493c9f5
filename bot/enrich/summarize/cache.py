"""The one summary facade the app uses: cached, lazy, LLM when configured, offline otherwise.

`Summaries.get_many(papers)` returns a summary for every paper: cache hits cost nothing; misses
are summarized (LLM when configured, else offline), stored, and their topic tags and summary
text written to the paper so search and topic filters see them. A paper is never lost because
its summary failed: any LLM failure falls back to the offline summary (cached under its own key,
so the LLM is asked again later, after a cool-down).

Answers never wait for the LLM: `Summaries.for_answers()` is the provider the chat service and
the site use. It answers at once from the cache, or with the offline summary when no LLM summary
exists yet, and puts the LLM misses on a bounded queue (`queue_size`; when it is full a paper
is left to the background pass). The offline summaries an answer makes are stored
ANSWER_SAVE_DELAY later, with those of the answers given meanwhile (one write and one search
index catch-up for many answers; until then they answer from memory; `stop()` and `close()`
store what is left). A paper whose summary of the current key is missing but which has an older
one (made before an upgrade changed the prompt version, or by another summarizer) is answered
with that one at once, and its current summary is made in the background a moment later, with
those of the answers given meanwhile (stale while revalidating: an upgrade never makes answers
summarize on their own path). `work_queue()` is one worker of that queue; the runtime runs
LLM_BACKGROUND_CONCURRENCY of them as tracked background tasks, so the queue has its own
concurrency (within LLM_CONCURRENCY, the LLM client's own cap). A later view finds the LLM
summary in the cache. `stop()` cancels every LLM call in flight and waits for them quietly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.clock import Clock
from bot.core.errors import BudgetExhausted, SummarizerError
from bot.core.models import Paper, Summary
from bot.enrich.summarize.llm import LLMSummarizer, build_client
from bot.enrich.summarize.offline import PROMPT_VERSION as OFFLINE_PROMPT_VERSION
from bot.enrich.summarize.offline import OfflineSummarizer
from bot.enrich.summarize.pool import OfflinePool
from bot.enrich.taxonomy import topic_names
from bot.store.db import transaction
from bot.store.summaries import SummaryKey

if TYPE_CHECKING:
    import aiohttp

    from bot.settings import Settings
    from bot.store import Store

log = logging.getLogger(__name__)

OFFLINE_KEY = SummaryKey("offline", "", OFFLINE_PROMPT_VERSION)
FAILURE_COOLDOWN = timedelta(hours=1)
BACKGROUND_WINDOW = timedelta(days=14)
QUEUE_SIZE = 500
OFFLINE_CHUNK = 10  # papers summarized offline per worker-thread call (about 10-50 ms)
WRITE_BATCH = 100  # offline summaries stored per transaction while the next ones are made
CACHED_ON_LOOP = 50  # cached summaries read on the event loop at most (more: in a thread)
# An answer's new offline summaries are stored this long after it, with those of the answers
# given meanwhile: one transaction, and one catch-up of the search index, for many answers
# (each write changes what the index holds, so the next search would catch up: a tantivy
# commit, 0.1-0.3 s on a busy machine, per answer).
ANSWER_SAVE_DELAY = 1.0
# Papers answered with an older summary that wait for their current one at most (more are left
# to the background pass's backfill, which finds them too).
STALE_REFRESH_LIMIT = 2000


def summary_search_text(summary: Summary) -> str:
    """The text indexed with a paper: topic names (so that words of a name find its papers),
    TL;DR, key points and sections."""
    parts = [" ".join(topic_names(summary.topics)), summary.tldr, *summary.key_points, summary.summary,
             summary.methodology, summary.results, summary.implications]
    return "\n".join(part for part in parts if part)


class Summaries:
    """Cached summaries for papers. Inject the store, the summarizers and the clock."""

    def __init__(
        self,
        store: Store,
        *,
        offline: OfflineSummarizer | None = None,
        llm: LLMSummarizer | None = None,
        clock: Clock,
        failure_cooldown: timedelta = FAILURE_COOLDOWN,
        queue_size: int = QUEUE_SIZE,
        offline_workers: int = 0,
    ) -> None:
        self.store = store
        self.offline = offline or OfflineSummarizer()
        # Offline summaries in worker processes (bot.enrich.summarize.pool); 0: in threads.
        # The processes run the default summarizer, so a summarizer given here (a test's) keeps
        # the threads.
        self.pool = OfflinePool(offline_workers if type(self.offline) is OfflineSummarizer else 0)
        self.llm = llm
        self.clock = clock
        self.failure_cooldown = failure_cooldown
        # paper id -> when the LLM may be asked again after a failure (memory only: a restart
        # simply tries again).
        self._cooldown: dict[str, datetime] = {}
        self._inflight: dict[tuple[str, int], asyncio.Task[Summary]] = {}
        # LLM work for papers already answered with their offline summary (see the module).
        self._queue: asyncio.Queue[Paper] = asyncio.Queue(maxsize=max(1, queue_size))
        self._queued: set[tuple[str, int]] = set()
        self._stopping = False
        # Offline summaries given to answers and not stored yet (see ANSWER_SAVE_DELAY): they
        # answer later asks meanwhile, and `stop()` / `close()` store them.
        self._unsaved: dict[tuple[str, int], tuple[Paper, Summary]] = {}
        self._saving: asyncio.Task[None] | None = None
        # Papers answered with an older summary, whose current one is made soon (see the module).
        self._stale: dict[tuple[str, int], Paper] = {}
        self._refreshing: asyncio.Task[None] | None = None
        # Told how many summaries were just made and stored, wherever they were asked for (the
        # background pass, digests, alerts, answers, the LLM queue): the runtime counts them.
        self.on_made: Callable[[int], None] | None = None
        # Where the backfill of papers older than the background window has got to (see
        # `_backfill`): memory only, so each process walks the store once.
        self._backfill_below: int | None = None
        self._backfill_done = False

    @property
    def key(self) -> SummaryKey:
        """The cache key of the preferred summarizer."""
        if self.llm is not None:
            return SummaryKey("llm", self.llm.model, self.llm.prompt_version)
        return OFFLINE_KEY

    async def get(self, paper: Paper) -> Summary:
        """The summary of one paper (made and cached on a miss)."""
        return (await self.get_many([paper]))[paper.id]

    def start_workers(self) -> None:
        """Start the offline summarizer's worker processes now (Runtime.start), so the first
        answers find them ready instead of waiting for them (returns at once)."""
        self.pool.start()

    def for_answers(self) -> AnswerSummaries:
        """The provider for answers (commands, the site): never waits for the LLM."""
        return AnswerSummaries(self)

    async def get_many(self, papers: Sequence[Paper], *, use_llm: bool = True) -> dict[str, Summary]:
        """Summaries for papers, by paper id. Misses are made now (LLM misses concurrently, within
        the concurrency cap). `use_llm=False` answers misses with the offline summary at once
        (for replies that must be fast) and queues their LLM summaries (see the module)."""
        unique = list({paper.id: paper for paper in papers}.values())
        if not unique:
            return {}
        pairs = [(paper.id, paper.version) for paper in unique]
        found = await self._cached(pairs, self.key)
        misses = [paper for paper in unique if paper.id not in found]
        if not misses:
            return found
        unsaved = {paper.id: self._unsaved[(paper.id, paper.version)][1] for paper in misses if (paper.id, paper.version) in self._unsaved}
        if self.llm is None:
            found.update(unsaved)
            to_make = [paper for paper in misses if paper.id not in unsaved]
            if to_make and not use_llm:
                to_make = await self._answer_with_older(to_make, found)
            if to_make:
                found.update(await self._offline_many(to_make, save_later=not use_llm))
            return found
        offline_cached = self.store.summaries.get_many([(p.id, p.version) for p in misses], OFFLINE_KEY)
        offline_cached.update(unsaved)
        now = self.clock()
        llm_papers = []
        offline_papers = []
        for paper in misses:
            blocked = self._cooldown.get(paper.id)
            if not use_llm or (blocked is not None and blocked > now):
                if paper.id in offline_cached:
                    found[paper.id] = offline_cached[paper.id]
                else:
                    offline_papers.append(paper)
                if not use_llm and not (blocked is not None and blocked > now):
                    self._enqueue(paper)  # the LLM version, for a later view
            else:
                llm_papers.append(paper)
        if offline_papers and not use_llm:
            offline_papers = await self._answer_with_older(offline_papers, found)
        if offline_papers:
            found.update(await self._offline_many(offline_papers, save_later=not use_llm))
        if llm_papers:
            made = await asyncio.gather(*(self._llm_or_offline(paper, offline_cached) for paper in llm_papers))
            for paper, summary in zip(llm_papers, made, strict=True):
                found[paper.id] = summary
        return found

    async def _answer_with_older(self, papers: list[Paper], found: dict[str, Summary]) -> list[Paper]:
        """Answer papers that have an older summary with it (into `found`) and make their current
        one soon; return the papers that have none."""
        pairs = [(paper.id, paper.version) for paper in papers]
        if len(pairs) > CACHED_ON_LOOP:
            older = await self.store.run_blocking(self.store.summaries.newest_of, pairs)
        else:
            older = self.store.summaries.newest_of(pairs)
        if not older:
            return papers
        found.update(older)
        self._refresh_soon([paper for paper in papers if paper.id in older])
        return [paper for paper in papers if paper.id not in older]

    def _refresh_soon(self, papers: Sequence[Paper]) -> None:
        if self._stopping:
            return
        for paper in papers:
            if len(self._stale) >= STALE_REFRESH_LIMIT:
                log.debug("%d papers wait for their current summary; the rest are left to the backfill", len(self._stale))
                break
            self._stale.setdefault((paper.id, paper.version), paper)
        if self._stale and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.ensure_future(self._refresh_stale())

    async def _refresh_stale(self) -> None:
        # Until none is left: papers answered while a batch is made go in the next one.
        while self._stale:
            await asyncio.sleep(ANSWER_SAVE_DELAY)
            batch = list(self._stale.values())[:WRITE_BATCH]
            try:
                await self._offline_many(batch)
            except Exception:  # they keep their older summary; the backfill tries again
                log.exception("could not make the current summaries of %d papers", len(batch))
            finally:
                for paper in batch:
                    self._stale.pop((paper.id, paper.version), None)

    async def _cached(self, pairs: list[tuple[str, int]], key: SummaryKey) -> dict[str, Summary]:
        """The cached summaries of (paper id, version) pairs; a large read (a digest batch's
        hundreds of papers, each parsed from JSON) runs in a worker thread, a page's on the loop
        (a thread hop would cost it more than it saves)."""
        if len(pairs) > CACHED_ON_LOOP:
            return await self.store.run_blocking(self.store.summaries.get_many, pairs, key)
        return self.store.summaries.get_many(pairs, key)

    async def _llm_or_offline(self, paper: Paper, offline_cached: dict[str, Summary]) -> Summary:
        # One LLM call per paper version even when a digest and a search ask at the same time.
        slot = (paper.id, paper.version)
        task = self._inflight.get(slot)
        if task is None:
            task = asyncio.ensure_future(self._make_llm(paper, offline_cached))
            self._inflight[slot] = task
            task.add_done_callback(lambda _t, slot=slot: self._inflight.pop(slot, None))  # type: ignore[misc]
        return await asyncio.shield(task)

    async def _make_llm(self, paper: Paper, offline_cached: dict[str, Summary]) -> Summary:
        assert self.llm is not None
        try:
            summary = await self.llm.summarize(paper)
        except BudgetExhausted as exc:
            log.info("offline summary for %s: %s", paper.id, exc)
            return offline_cached.get(paper.id) or self._offline(paper)
        except SummarizerError as exc:
            log.warning("LLM summary of %s failed, using the offline summary: %s", paper.id, exc)
            self._cooldown[paper.id] = self.clock() + self.failure_cooldown
            return offline_cached.get(paper.id) or self._offline(paper)
        except Exception:  # a paper is never lost because its summary failed
            log.exception("LLM summary of %s failed unexpectedly; using the offline summary", paper.id)
            self._cooldown[paper.id] = self.clock() + self.failure_cooldown
            return offline_cached.get(paper.id) or self._offline(paper)
        self._cooldown.pop(paper.id, None)
        self._save(paper, self.key, summary)
        return summary

    # --- the queue of LLM work for answers already given ---------------------------------------

    @property
    def queued(self) -> int:
        """Papers waiting on the queue."""
        return self._queue.qsize()

    def _enqueue(self, paper: Paper) -> None:
        slot = (paper.id, paper.version)
        if self.llm is None or self._stopping or slot in self._queued or slot in self._inflight:
            return
        try:
            self._queue.put_nowait(paper)
        except asyncio.QueueFull:
            log.debug("LLM queue full; %s is left to the background pass", paper.id)
            return
        self._queued.add(slot)

    async def work_queue(self) -> None:
        """One worker of the LLM queue: summarize queued papers, one at a time, until cancelled.
        A failure falls back to the offline summary (already given) and is logged by `_make_llm`."""
        while True:
            paper = await self._queue.get()
            slot = (paper.id, paper.version)
            try:
                if self.llm is None or self._has(paper, self.key):
                    continue  # a digest or a search made it meanwhile
                offline_cached = self.store.summaries.get_many([slot], OFFLINE_KEY)
                await self._llm_or_offline(paper, offline_cached)
            except Exception:  # a worker outlives any one paper
                log.exception("the LLM queue failed on %s; going on", paper.id)
            finally:
                self._queued.discard(slot)
                self._queue.task_done()

    async def drained(self) -> None:
        """Return when every queued paper has been handled (tests, one-shot runs)."""
        await self._queue.join()

    async def stop(self) -> None:
        """Take no more LLM work and cancel the calls in flight, waiting for them quietly (an
        answer already given keeps its offline summary; the LLM is asked again another time);
        store the answers' offline summaries not stored yet (papers answered with an older summary
        keep it until the background pass makes their current one)."""
        self._stopping = True
        if self._refreshing is not None:
            self._refreshing.cancel()
            await asyncio.gather(self._refreshing, return_exceptions=True)
            self._refreshing = None
        self._stale.clear()
        if self._saving is not None:
            self._saving.cancel()
            await asyncio.gather(self._saving, return_exceptions=True)
            self._saving = None
        await self.save_answered()
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()
        self._queued.clear()
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _offline(self, paper: Paper) -> Summary:
        summary = self.offline.summarize(paper)
        self._save(paper, OFFLINE_KEY, summary)
        return summary

    async def _offline_many(self, papers: Sequence[Paper], *, save_later: bool = False) -> dict[str, Summary]:
        """Offline summaries of papers, by paper id: made in the worker processes when there
        are some, else in a worker thread (pure CPU work, which would otherwise hold the event
        loop for milliseconds per paper; the summarizer is a pure function, its memo caches
        thread-safe), then stored WRITE_BATCH a transaction in a worker thread; `save_later`
        (an answer's): stored ANSWER_SAVE_DELAY later with those of other answers."""
        if save_later:
            # An answer's: someone waits for it, so it goes before a digest run's chunks.
            made = await self._summarize_part(papers, urgent=True)
            for paper, summary in zip(papers, made, strict=True):
                self._unsaved[(paper.id, paper.version)] = (paper, summary)
            if self._saving is None or self._saving.done():
                self._saving = asyncio.ensure_future(self._save_answered_soon())
            return {paper.id: summary for paper, summary in zip(papers, made, strict=True)}
        found: dict[str, Summary] = {}
        writing: asyncio.Future[None] | None = None
        try:
            for start in range(0, len(papers), WRITE_BATCH):
                part = papers[start : start + WRITE_BATCH]
                made = await self._summarize_part(part)
                if writing is not None:
                    await writing
                # Stored in a worker thread (SQLite works with the GIL released) while the
                # next part is summarized: the two overlap instead of adding up.
                rows = [(paper, OFFLINE_KEY, summary) for paper, summary in zip(part, made, strict=True)]
                writing = asyncio.ensure_future(self.store.run_blocking(self._save_many, rows))
                found.update((paper.id, summary) for paper, summary in zip(part, made, strict=True))
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                # A cancelled caller: the write in flight finishes (one transaction) unwatched.
                writing.add_done_callback(lambda done: done.cancelled() or done.exception())
        return found

    async def _summarize_part(self, papers: Sequence[Paper], *, urgent: bool = False) -> list[Summary]:
        if self.pool.workers:
            return await self.pool.summarize(papers, urgent=urgent)
        made: list[Summary] = []
        for start in range(0, len(papers), OFFLINE_CHUNK):
            # A chunk per thread call: a cancelled caller (the bot stopping) waits for one
            # chunk's thread to finish, never for a whole background batch.
            made += await asyncio.to_thread(self._summarize_offline, list(papers[start : start + OFFLINE_CHUNK]))
        return made

    def _summarize_offline(self, papers: list[Paper]) -> list[Summary]:
        return [self.offline.summarize(paper) for paper in papers]

    async def _save_answered_soon(self) -> None:
        # Until none is left: answers given while a save runs are stored by the next round.
        while self._unsaved:
            await asyncio.sleep(ANSWER_SAVE_DELAY)
            await self.save_answered()

    async def save_answered(self) -> None:
        """Store the offline summaries given to answers and not stored yet, in one transaction
        in a worker thread (a failure is logged: those papers are summarized again when next
        shown)."""
        rows = list(self._unsaved.items())
        if not rows:
            return
        try:
            await self.store.run_blocking(self._save_many, [(paper, OFFLINE_KEY, summary) for _, (paper, summary) in rows])
        except Exception:
            log.exception("could not store %d offline summaries given to answers", len(rows))
        finally:
            for slot, entry in rows:
                if self._unsaved.get(slot) is entry:
                    del self._unsaved[slot]

    def close(self) -> None:
        """Store the answers' offline summaries not stored yet and stop the summarizer's worker
        processes (Runtime.shutdown); later offline summaries are made in threads."""
        rows = [(paper, OFFLINE_KEY, summary) for paper, summary in self._unsaved.values()]
        self._unsaved.clear()
        if rows:
            try:
                self._save_many(rows)
            except Exception:
                log.exception("could not store %d offline summaries given to answers", len(rows))
        self.pool.close()

    def _save(self, paper: Paper, key: SummaryKey, summary: Summary) -> None:
        """Cache the summary and index its tags and text with the paper (when it is stored)."""
        self._save_many([(paper, key, summary)])

    def _save_many(self, made: Sequence[tuple[Paper, SummaryKey, Summary]]) -> None:
        """Cache summaries and index their tags and text with their papers, all in one
        transaction (one commit per batch instead of three per paper)."""
        if not made:
            return
        now = self.clock()
        # Rows in one order on every replica, behind the search sequence's lock: concurrent
        # batches of overlapping papers wait for each other instead of deadlocking.
        made = sorted(made, key=lambda entry: (entry[0].id, entry[0].version))
        with transaction(self.store.conn):
            self.store.papers.hold_index_seq()
            self.store.summaries.put_many([(paper.id, paper.version, key, summary) for paper, key, summary in made], now)
            topics: dict[str, tuple[str, ...]] = {}
            texts: dict[str, str] = {}
            for paper, _key, summary in made:
                if summary.summarizer == "offline" and self.llm is not None and self._has(paper, self.key):
                    continue  # never let an offline fallback overwrite an LLM summary's tags
                topics[paper.id] = summary.topics
                texts[paper.id] = summary_search_text(summary)
            self.store.papers.set_topics_many(topics)
            self.store.papers.set_summary_texts(texts)
        if self.on_made is not None:
            self.on_made(len(made))

    async def _backfill(self, limit: int) -> int:
        """Offline summaries for up to `limit` papers that have no current summary of any kind,
        the most recently stored first; 0 once none is left. It runs when the background window
        has nothing left: after an upgrade that changes the summarizer's prompt version, or a
        bulk import, the store then reaches the state where answers find every summary stored,
        instead of making them on first view. Offline only: it costs no LLM budget. A cursor on
        the papers' row keys walks back through the store once per process, so a finished
        backfill costs no scan per pass."""
        if self._backfill_done:
            return 0
        found = self.store.summaries.missing_below([self.key, OFFLINE_KEY], limit, below=self._backfill_below)
        if not found:
            self._backfill_done = True
            return 0
        await self._offline_many(self.store.papers.get_many([paper_id for paper_id, _ in found]))
        self._backfill_below = found[-1][1]  # only once stored: a failed pass is tried again
        return len(found)

    def _has(self, paper: Paper, key: SummaryKey) -> bool:
        return self.store.summaries.get(paper.id, paper.version, key) is not None

    async def background_pass(self, now: datetime, limit: int) -> int:
        """Summarize up to `limit` recently changed papers that lack a summary; return how many
        summaries were made. With the LLM budget spent, only offline summaries are filled in.
        With none of those left, older papers that have no summary get offline ones (`_backfill`)."""
        if limit <= 0:
            return 0
        since = now - BACKGROUND_WINDOW
        offline_only = self.llm is None or not self.llm.can_afford_a_call()
        # With the budget spent, fill in papers that have no summary of any kind.
        keys = [self.key, OFFLINE_KEY] if offline_only else [self.key]
        # Ask for extra ids: papers in their failure cool-down are skipped, not retried.
        ids = self.store.summaries.missing(keys, limit * 2 + 10, since=since)
        ids = [pid for pid in ids if not (pid in self._cooldown and self._cooldown[pid] > now)][:limit]
        if not ids:
            return await self._backfill(limit)
        papers = self.store.papers.get_many(ids)
        if offline_only:
            await self._offline_many(papers)
            return len(papers)
        await self.get_many(papers)
        return len(papers)


class AnswerSummaries:
    """A `bot.ports.SummaryProvider` that never waits for the LLM (see the module): what the
    chat service, its feedback commands, the home and the site are given."""

    def __init__(self, summaries: Summaries) -> None:
        self.summaries = summaries

    async def get_many(self, papers: Sequence[Paper]) -> dict[str, Summary]:
        """Cached summaries, else offline ones made now; LLM summaries are queued for later."""
        return await self.summaries.get_many(papers, use_llm=False)


def build_summaries(
    settings: Settings,
    store: Store,
    session: aiohttp.ClientSession | None,
    clock: Clock,
) -> Summaries:
    """The Summaries facade the settings ask for: LLM (with offline fallback) when SUMMARIZER=llm
    and a provider is set, else offline only. `session` is the app's shared aiohttp session."""
    llm = None
    if settings.llm_enabled:
        if session is None:
            log.warning("SUMMARIZER=llm but no HTTP session was given; using offline summaries")
        else:
            client = build_client(
                settings.llm_provider, session, base_url=settings.llm_base_url,
                api_key=settings.llm_api_key.get_secret_value(), model=settings.llm_model, timeout=settings.llm_timeout,
            )
            llm = LLMSummarizer(
                client, store.summaries, clock,
                daily_budget=settings.llm_daily_token_budget, concurrency=settings.llm_concurrency,
            )
    return Summaries(
        store, offline=OfflineSummarizer(), llm=llm, clock=clock, queue_size=settings.llm_queue_size,
        offline_workers=settings.summarize_workers,
    )
