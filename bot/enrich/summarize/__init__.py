"""Summaries of papers: the offline extractive summarizer, LLM summarizers and the cache.

The rest of the app uses one facade, `Summaries` (`get`, `get_many`, `background_pass`), built
with `build_summaries(settings, store, session, clock)`; answers (commands, the site) use
`Summaries.for_answers()`, which never waits for the LLM and queues its work for the workers
the runtime runs (`work_queue`). Token usage per UTC day is in the store
(`store.summaries.tokens_on`), which `paperbot status` shows against the budget.

    offline.py   extractive summary from title + abstract (default; deterministic; no network)
    llm.py       OpenAI-compatible and Anthropic clients over aiohttp; prompt; answer validation
    cache.py     Summaries: cache per (paper, version, summarizer, model, prompt version)
    text.py      TeX cleanup, sentence splitting, compact rewriting, length clamping
    commands.py  `paperbot summarize`, `paperbot tag`, `paperbot topics`
"""

from __future__ import annotations

from bot.enrich.summarize.cache import OFFLINE_KEY, Summaries, build_summaries, summary_search_text
from bot.enrich.summarize.llm import PROMPT_VERSION as LLM_PROMPT_VERSION
from bot.enrich.summarize.llm import LLMSummarizer
from bot.enrich.summarize.offline import PROMPT_VERSION as OFFLINE_PROMPT_VERSION
from bot.enrich.summarize.offline import OfflineSummarizer, summarize_text

__all__ = [
    "LLM_PROMPT_VERSION",
    "OFFLINE_KEY",
    "OFFLINE_PROMPT_VERSION",
    "LLMSummarizer",
    "OfflineSummarizer",
    "Summaries",
    "build_summaries",
    "summarize_text",
    "summary_search_text",
]
