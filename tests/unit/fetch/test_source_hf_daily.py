"""Hugging Face daily papers: the real 2024-10-25 payload, newer optional fields, and fetching."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.core.errors import ParseError
from bot.core.models import Signal, SourceKind
from bot.fetch.sources import hf_daily
from bot.fetch.sources.hf_daily import HFDailySource

HF = "hf_daily_papers_2024-10-25_first2items.json"


def test_two_items_with_signals(real):
    papers = hf_daily.parse(real(HF))
    assert [p.id for p in papers] == ["2410.17243", "2410.16251"]
    first = papers[0]
    # The top-level title is used (paper.title keeps the hard wrap "for\n  Contrastive").
    assert first.title == "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    assert first.version == 0
    assert first.source is SourceKind.HF
    assert first.source_label == "HF daily"
    assert first.url == "https://arxiv.org/abs/2410.17243"
    assert first.authors == (
        "Zesen Cheng",
        "Hang Zhang",
        "Kehan Li",
        "Sicong Leng",
        "Zhiqiang Hu",
        "Fei Wu",
        "Deli Zhao",
        "Xin Li",
        "Lidong Bing",
    )
    assert first.abstract.startswith("Contrastive loss is a powerful approach for representation learning, where larger")
    assert "\n" not in first.abstract and "  " not in first.abstract
    assert first.published == datetime(2024, 10, 22, 17, 59, 30, tzinfo=UTC)
    assert first.signals == (
        Signal(
            source=SourceKind.HF,
            ref="2024-10-25",
            score=64,
            comments=3,
            label="HF daily",
            url="https://huggingface.co/papers/2410.17243",
            observed_at=datetime(2024, 10, 25, 0, 57, 9, 392000, tzinfo=UTC),
        ),
    )
    second = papers[1]
    assert second.title == "Can Knowledge Editing Really Correct Hallucinations?"
    assert len(second.authors) == 5
    assert (second.signals[0].score, second.signals[0].comments) == (41, 2)
    assert second.signals[0].observed_at == datetime(2024, 10, 25, 3, 32, 14, 953000, tzinfo=UTC)


def test_paper_title_fallback_newer_fields_and_zero_title(real):
    items = json.loads(real(HF))
    item = items[0]
    del item["title"]
    del item["publishedAt"]
    item["paper"]["submittedOnDailyAt"] = "2024-10-26T08:00:00.000Z"
    item["paper"]["ai_summary"] = "A summary."
    item["paper"]["ai_keywords"] = ["contrastive"]
    item["paper"]["githubRepo"] = "https://github.com/x/y"
    item["paper"]["authors"].append({"_id": "z", "name": "  ", "hidden": True})
    zero = json.loads(json.dumps(items[1]))
    zero["title"] = "0"
    papers = hf_daily.parse(json.dumps([item, zero]).encode())
    assert papers[0].title == "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    assert papers[0].signals[0].ref == "2024-10-26"
    assert len(papers[0].authors) == 9  # the blank name is skipped
    assert papers[1].title == "0"


def test_empty_array_is_no_papers():
    assert hf_daily.parse(b"[]") == []


def test_json_error_body_is_parse_error():
    with pytest.raises(ParseError, match="Hugging Face API error: Invalid date"):
        hf_daily.parse(b'{"error": "Invalid date"}')


def test_dates_include_yesterday_after_a_gap():
    clock = lambda: datetime(2026, 4, 14, 9, 30, tzinfo=UTC)  # noqa: E731
    source = HFDailySource(clock=clock)
    assert source.dates(None) == ["2026-04-13", "2026-04-14"]
    assert source.dates(datetime(2026, 4, 13, 23, 0, tzinfo=UTC)) == ["2026-04-13", "2026-04-14"]
    assert source.dates(datetime(2026, 4, 14, 1, 0, tzinfo=UTC)) == ["2026-04-14"]
    # After a week down (or fetch --since 7d) every missed daily list is fetched, up to 14.
    week = source.dates(datetime(2026, 4, 7, 12, 0, tzinfo=UTC))
    assert week[0] == "2026-04-07" and week[-1] == "2026-04-14" and len(week) == 8
    assert len(source.dates(datetime(2025, 1, 1, tzinfo=UTC))) == 14
    assert source.dates(datetime(2026, 5, 1, tzinfo=UTC)) == ["2026-04-14"]


async def test_fetch_sends_token_and_dates(fake_server, http, real):
    fake_server.handle(
        "/api/daily_papers",
        lambda request: (200, real(HF) if request.query["date"] == "2024-10-25" else b"[]"),
    )
    source = HFDailySource(
        url=fake_server.url("/api/daily_papers"),
        token="hf_secret",
        clock=lambda: datetime(2024, 10, 26, 6, 0, tzinfo=UTC),
    )
    assert source.name == "hf" and source.kind is SourceKind.HF
    papers = await source.fetch(http, datetime(2024, 10, 25, 12, 0, tzinfo=UTC))
    assert [p.id for p in papers] == ["2410.17243", "2410.16251"]
    assert [r.query["date"] for r in fake_server.requests] == ["2024-10-25", "2024-10-26"]
    assert all(r.headers["Authorization"] == "Bearer hf_secret" for r in fake_server.requests)


async def test_fetch_without_token_sends_no_authorization(fake_server, http):
    fake_server.serve("/api/daily_papers", b"[]")
    source = HFDailySource(url=fake_server.url("/api/daily_papers"), clock=lambda: datetime(2024, 10, 26, tzinfo=UTC))
    assert await source.fetch(http, datetime(2024, 10, 26, 1, 0, tzinfo=UTC)) == []
    assert len(fake_server.requests) == 1
    assert "Authorization" not in fake_server.requests[0].headers


async def test_fetch_error_body_with_status_200(fake_server, http):
    fake_server.serve("/api/daily_papers", b'{"error": "Rate limit reached"}')
    source = HFDailySource(url=fake_server.url("/api/daily_papers"), clock=lambda: datetime(2024, 10, 26, tzinfo=UTC))
    with pytest.raises(ParseError, match="hf: Hugging Face API error: Rate limit reached"):
        await source.fetch(http, None)
