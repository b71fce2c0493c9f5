"""`paperbot summarize`, `paperbot tag` and `paperbot topics`.

`summarize` and `tag` read JSON Lines from stdin (`{"title", "abstract"}` plus optional `"id"`
and `"categories"`) and write one JSON line per input line, in order: the input fields plus the
summary fields (or plus `"topics"`). A bad line gives `{"error": "...", "line": N}` for that
line and the rest go on. Exit status: 0 when every line worked, 1 when some line failed, 2 for
unusable settings (e.g. `--summarizer llm` without LLM_PROVIDER).

These commands summarize the given text directly and do not use the summary cache: ids on stdin
are not trusted to name stored papers. With the LLM, token usage still goes to the store so the
daily budget holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict
from typing import Any, TextIO

from bot.core.errors import PaperbotError
from bot.core.models import Paper, SourceKind, Summary
from bot.enrich.summarize.llm import LLMSummarizer, build_client
from bot.enrich.summarize.offline import OfflineSummarizer
from bot.enrich.tagger import tag
from bot.enrich.taxonomy import TAXONOMY
from bot.settings import Settings, make_clock

log = logging.getLogger(__name__)

SUMMARY_FIELDS = (
    "tldr", "key_points", "summary", "methodology", "results", "implications", "topics",
    "summarizer", "model", "prompt_version",
)
_LLM_BATCH = 32  # lines summarized concurrently before their results are written (in order)


class _BadLine(Exception):
    """One input line cannot be used; the message goes into its error line."""


def _read_item(line: str) -> dict[str, Any]:
    if not line.strip():
        raise _BadLine("empty line")
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _BadLine(f"not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(item, dict):
        raise _BadLine("expected a JSON object with a title")
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        raise _BadLine('missing "title" (a non-empty string)')
    abstract = item.get("abstract", "")
    if abstract is None:
        abstract = ""
    if not isinstance(abstract, str):
        raise _BadLine('"abstract" must be a string')
    categories = item.get("categories", [])
    if isinstance(categories, str):
        categories = categories.replace(",", " ").split()
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise _BadLine('"categories" must be a list of strings')
    return item


def _paper(item: dict[str, Any], number: int) -> Paper:
    identifier = item.get("id")
    return Paper(
        id=str(identifier) if identifier not in (None, "") else f"stdin:{number}",
        title=item["title"],
        abstract=item.get("abstract") or "",
        categories=tuple(_categories(item)),
        source=SourceKind.FEED,
    )


def _categories(item: dict[str, Any]) -> list[str]:
    categories = item.get("categories") or []
    if isinstance(categories, str):
        return categories.replace(",", " ").split()
    return list(categories)


def _with_summary(item: dict[str, Any], summary: Summary) -> dict[str, Any]:
    data = asdict(summary)
    out = dict(item)
    for field in SUMMARY_FIELDS:
        value = data[field]
        out[field] = list(value) if isinstance(value, tuple) else value
    return out


def _write(stdout: TextIO, obj: dict[str, Any]) -> None:
    stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _lines(stdin: TextIO) -> Iterable[tuple[int, str]]:
    for number, line in enumerate(stdin, start=1):
        yield number, line.rstrip("\r\n")


def _choice(args: argparse.Namespace, settings: Settings) -> str:
    choice = getattr(args, "summarizer", None) or settings.summarizer
    if choice == "llm" and not (settings.llm_provider and settings.llm_model):
        raise ValueError("--summarizer llm needs LLM_PROVIDER and LLM_MODEL (see .env.example)")
    return choice


def run_summarize(args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO) -> int:
    """`paperbot summarize`: JSON Lines in, one JSON line with the summary fields out per line."""
    if _choice(args, settings) == "llm":
        return asyncio.run(_run_llm(settings, stdin, stdout, tag_only=False))
    offline = OfflineSummarizer()
    return _each_item(
        stdin, stdout, lambda item, number: _with_summary(item, offline.summarize(_paper(item, number)))
    )


def run_tag(args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO) -> int:
    """`paperbot tag`: JSON Lines in, each line out with `"topics": [topic ids]` added."""
    if _choice(args, settings) == "llm":
        return asyncio.run(_run_llm(settings, stdin, stdout, tag_only=True))
    return _each_item(
        stdin,
        stdout,
        lambda item, _: {**item, "topics": list(tag(item["title"], item.get("abstract") or "", _categories(item)))},
    )


def _each_item(
    stdin: TextIO, stdout: TextIO, transform: Callable[[dict[str, Any], int], dict[str, Any]]
) -> int:
    """One output line per input line: `transform(item, line number)`, or an error line for a
    line that is not a valid item. Exit status 1 if any line was bad."""
    failed = 0
    for number, line in _lines(stdin):
        try:
            item = _read_item(line)
        except _BadLine as exc:
            _write(stdout, {"error": str(exc), "line": number})
            failed += 1
            continue
        _write(stdout, transform(item, number))
    return 1 if failed else 0


async def _run_llm(settings: Settings, stdin: TextIO, stdout: TextIO, *, tag_only: bool) -> int:
    import aiohttp

    from bot.store import Store

    store = Store.open(settings.database_url)
    offline = OfflineSummarizer()
    failed = 0
    try:
        async with aiohttp.ClientSession() as session:
            client = build_client(
                settings.llm_provider, session, base_url=settings.llm_base_url,
                api_key=settings.llm_api_key.get_secret_value(), model=settings.llm_model, timeout=settings.llm_timeout,
            )
            llm = LLMSummarizer(
                client, store.summaries, make_clock(settings),
                daily_budget=settings.llm_daily_token_budget, concurrency=settings.llm_concurrency,
            )

            async def one(number: int, line: str) -> tuple[dict[str, Any], bool]:
                try:
                    item = _read_item(line)
                except _BadLine as exc:
                    return {"error": str(exc), "line": number}, False
                paper = _paper(item, number)
                try:
                    summary = await llm.summarize(paper)
                except PaperbotError as exc:
                    log.warning("line %d: LLM summary failed, using the offline summary: %s", number, exc)
                    summary = offline.summarize(paper)
                if tag_only:
                    out = dict(item)
                    out["topics"] = list(summary.topics)
                    return out, True
                return _with_summary(item, summary), True

            batch: list[tuple[int, str]] = []
            for number, line in _lines(stdin):
                batch.append((number, line))
                if len(batch) >= _LLM_BATCH:
                    failed += await _flush(batch, one, stdout)
                    batch = []
            if batch:
                failed += await _flush(batch, one, stdout)
    finally:
        store.close()
    return 1 if failed else 0


async def _flush(
    batch: list[tuple[int, str]],
    one: Callable[[int, str], Awaitable[tuple[dict[str, Any], bool]]],
    stdout: TextIO,
) -> int:
    """Summarize a batch of lines concurrently, write them in input order, count failures."""
    results = await asyncio.gather(*(one(number, line) for number, line in batch))
    for obj, _ok in results:
        _write(stdout, obj)
    return sum(1 for _obj, ok in results if not ok)


def run_topics(args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO) -> int:
    """`paperbot topics`: the taxonomy, one topic per line (id, name, aliases); `--json` if the
    parser offers it gives one JSON object per line."""
    if getattr(args, "json", False):
        for topic in TAXONOMY:
            _write(stdout, {"id": topic.id, "name": topic.name, "aliases": list(topic.aliases),
                            "arxiv_categories": list(topic.arxiv_categories)})
        return 0
    width_id = max(len(topic.id) for topic in TAXONOMY)
    width_name = max(len(topic.name) for topic in TAXONOMY)
    stdout.write(f"{'ID':<{width_id}}  {'NAME':<{width_name}}  ALIASES\n")
    for topic in TAXONOMY:
        stdout.write(f"{topic.id:<{width_id}}  {topic.name:<{width_name}}  {', '.join(topic.aliases)}\n")
    return 0
