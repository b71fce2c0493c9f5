"""The one summary facade the app uses: cached, lazy, LLM when configured, offline otherwise.

`Summaries.get_many(papers)` returns a summary for every paper: cache hits cost nothing; misses
are summarized (LLM when configured, else offline), stored, and their topic tags and summary
text written to the paper so search and topic filters see them. A paper is never lost because
its summary failed: any LLM failure falls back to the offline summary (cached under its own key,
so the LLM is asked again later, after a cool-down).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.clock import Clock
from bot.core.errors import BudgetExhausted, SummarizerError
from bot.core.models import Paper, Summary
from bot.enrich.summarize.llm import LLMSummarizer, build_client
from bot.enrich.summarize.offline import PROMPT_VERSION as OFFLINE_PROMPT_VERSION
from bot.enrich.summarize.offline import OfflineSummarizer
from bot.enrich.taxonomy import topic_names
from bot.store.summaries import SummaryKey

if TYPE_CHECKING:
    import aiohttp

    from bot.settings import Settings
    from bot.store import Store

log = logging.getLogger(__name__)

OFFLINE_KEY = SummaryKey("offline", "", OFFLINE_PROMPT_VERSION)
FAILURE_COOLDOWN = timedelta(hours=1)
BACKGROUND_WINDOW = timedelta(days=14)


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
    ) -> None:
        self.store = store
        self.offline = offline or OfflineSummarizer()
        self.llm = llm
        self.clock = clock
        self.failure_cooldown = failure_cooldown
        # paper id -> when the LLM may be asked again after a failure (memory only: a restart
        # simply tries again).
        self._cooldown: dict[str, datetime] = {}
        self._inflight: dict[tuple[str, int], asyncio.Task[Summary]] = {}

    @property
    def key(self) -> SummaryKey:
        """The cache key of the preferred summarizer."""
        if self.llm is not None:
            return SummaryKey("llm", self.llm.model, self.llm.prompt_version)
        return OFFLINE_KEY

    async def get(self, paper: Paper) -> Summary:
        """The summary of one paper (made and cached on a miss)."""
        return (await self.get_many([paper]))[paper.id]

    async def get_many(self, papers: Sequence[Paper], *, use_llm: bool = True) -> dict[str, Summary]:
        """Summaries for papers, by paper id. Misses are made now (LLM misses concurrently, within
        the concurrency cap). `use_llm=False` answers misses with the offline summary at once
        (for replies that must be fast); the background pass upgrades them later."""
        unique = list({paper.id: paper for paper in papers}.values())
        if not unique:
            return {}
        pairs = [(paper.id, paper.version) for paper in unique]
        found = self.store.summaries.get_many(pairs, self.key)
        misses = [paper for paper in unique if paper.id not in found]
        if not misses:
            return found
        if self.llm is None:
            for paper in misses:
                found[paper.id] = self._offline(paper)
            return found
        offline_cached = self.store.summaries.get_many([(p.id, p.version) for p in misses], OFFLINE_KEY)
        now = self.clock()
        llm_papers = []
        for paper in misses:
            blocked = self._cooldown.get(paper.id)
            if not use_llm or (blocked is not None and blocked > now):
                found[paper.id] = offline_cached.get(paper.id) or self._offline(paper)
            else:
                llm_papers.append(paper)
        if llm_papers:
            made = await asyncio.gather(*(self._llm_or_offline(paper, offline_cached) for paper in llm_papers))
            for paper, summary in zip(llm_papers, made, strict=True):
                found[paper.id] = summary
        return found

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

    def _offline(self, paper: Paper) -> Summary:
        summary = self.offline.summarize(paper)
        self._save(paper, OFFLINE_KEY, summary)
        return summary

    def _save(self, paper: Paper, key: SummaryKey, summary: Summary) -> None:
        """Cache the summary and index its tags and text with the paper (when it is stored)."""
        self.store.summaries.put(paper.id, paper.version, key, summary, self.clock())
        if summary.summarizer == "offline" and self.llm is not None and self._has(paper, self.key):
            return  # never let an offline fallback overwrite an LLM summary's tags
        self.store.papers.set_topics(paper.id, summary.topics)
        self.store.papers.set_summary_text(paper.id, summary_search_text(summary))

    def _has(self, paper: Paper, key: SummaryKey) -> bool:
        return self.store.summaries.get(paper.id, paper.version, key) is not None

    async def background_pass(self, now: datetime, limit: int) -> int:
        """Summarize up to `limit` recently changed papers that lack a summary; return how many
        summaries were made. With the LLM budget spent, only offline summaries are filled in."""
        if limit <= 0:
            return 0
        since = now - BACKGROUND_WINDOW
        offline_only = self.llm is None or self.llm.budget_left() == 0
        # With the budget spent, fill in papers that have no summary of any kind.
        keys = [self.key, OFFLINE_KEY] if offline_only else [self.key]
        # Ask for extra ids: papers in their failure cool-down are skipped, not retried.
        ids = self.store.summaries.missing(keys, limit * 2 + 10, since=since)
        ids = [pid for pid in ids if not (pid in self._cooldown and self._cooldown[pid] > now)][:limit]
        if not ids:
            return 0
        papers = self.store.papers.get_many(ids)
        if offline_only:
            for paper in papers:
                self._offline(paper)
            return len(papers)
        await self.get_many(papers)
        return len(papers)


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
    return Summaries(store, offline=OfflineSummarizer(), llm=llm, clock=clock)
