"""`paperbot search`: the same engine and grammar as `/papers`, printed as text or JSON lines.

Free text is searched by words and by meaning, fused as `/papers` fuses them
(bot.search.fusion): the meaning side is the ranker's offline index as the bot last stored it
(`Ranker.search_meaning`), so the same store gives the same answer here and in chat."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TextIO

import aiohttp

from bot.chat.grammar import parse_topic, query_text
from bot.core.clock import parse_since
from bot.core.errors import UserInputError
from bot.enrich.summarize import build_summaries
from bot.rank.ranking import Ranker
from bot.search.engine import SearchEngine
from bot.search.query import SearchQuery
from bot.settings import Settings, make_clock
from bot.store import Store


def search_cli(settings: Settings, args: Any, out: TextIO) -> int:
    """`paperbot search`: ranked results as text, or JSON lines with id, title, url, score, topics, tldr."""
    if not 1 <= args.limit <= 100:
        raise ValueError("--limit must be from 1 to 100")
    # The same checks as /papers in chat; bad input is a usage error (exit 2), one line.
    try:
        text = query_text([args.query])
        topic = parse_topic(args.topic) if args.topic else None
    except UserInputError as exc:
        raise ValueError(str(exc)) from None
    clock = make_clock(settings)
    since = parse_since(args.since, clock()) if args.since else None
    if not (text.strip('" ') or topic or since):
        raise ValueError('that search is empty; give some words, --topic or --since, e.g. paperbot search "diffusion"')
    store = Store.open(settings.database_url)

    async def go() -> int:
        async with aiohttp.ClientSession() as session:
            query = SearchQuery(text=text, since=since, topic=topic, limit=args.limit)
            engine = SearchEngine.for_data_dir(store, settings.data_dir, auto_build=False)
            engine.meaning = Ranker(store, clock).search_meaning
            result = engine.search(query, clock())
            # One page of summaries: worker processes would cost more to start than they save.
            one_shot = settings.model_copy(update={"summarize_workers": 0})
            summaries = await build_summaries(one_shot, store, session, clock).get_many([h.paper for h in result.hits])
            for hit in result.hits:
                summary = summaries.get(hit.paper.id)
                if args.json:
                    record = {
                        "id": hit.paper.id, "title": hit.paper.title, "url": hit.paper.url,
                        "score": round(hit.score, 4), "topics": list(summary.topics) if summary else [],
                        "tldr": summary.tldr if summary else "",
                    }
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                else:
                    out.write(f"{hit.score:7.3f}  {hit.paper.id}  {hit.paper.title[:90]}\n")
                    if summary:
                        out.write(f"         {summary.tldr}\n")
            if not result.hits and not args.json:
                out.write((result.suggestion or "no papers matched") + "\n")
            return 0

    try:
        return asyncio.run(go())
    finally:
        store.close()
