"""build_sources: which sources the settings turn on, with their names, URLs and intervals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.clock import FakeClock
from bot.core.errors import ConfigError
from bot.core.models import SourceKind
from bot.fetch.sources import build_sources
from bot.fetch.sources.arxiv_rss import ArxivRSSSource
from bot.fetch.sources.feed import FeedSource
from bot.fetch.sources.hf_daily import HFDailySource
from bot.fetch.sources.reddit import RedditSource
from bot.settings import Settings

CLOCK = FakeClock(datetime(2026, 11, 24, 12, tzinfo=UTC))


def test_defaults():
    sources = build_sources(Settings(), CLOCK)
    assert [s.name for s in sources] == ["arxiv", "hf", "reddit:MachineLearning", "reddit:LocalLLaMA"]
    arxiv, hf, ml, _ = sources
    assert isinstance(arxiv, ArxivRSSSource)
    assert arxiv.url == "https://rss.arxiv.org/rss/cs.LG+cs.CL+cs.AI+cs.CV+stat.ML"
    assert arxiv.interval == 3600 and arxiv.kind is SourceKind.ARXIV
    assert isinstance(hf, HFDailySource) and hf.interval == 7200 and hf.kind is SourceKind.HF
    assert isinstance(ml, RedditSource) and ml.url == "https://www.reddit.com/r/MachineLearning/new.json"
    assert ml.interval == 1800 and ml.kind is SourceKind.REDDIT


def test_everything_configured():
    settings = Settings(
        arxiv_categories="cs.LG",
        arxiv_rss_url="http://127.0.0.1:9/rss",
        arxiv_interval=60,
        hf_token="hf_x",
        hf_api_url="http://127.0.0.1:9/api/daily_papers",
        reddit_subreddits=("LocalLLaMA", "r/localllama", "MachineLearning"),
        reddit_base_url="http://127.0.0.1:9",
        feeds=("https://blog.example.com/feed.xml", "https://blog.example.com/feed.xml", "https://e.org/atom"),
        feed_interval=900,
    )
    sources = build_sources(settings, CLOCK)
    assert [s.name for s in sources] == [
        "arxiv",
        "hf",
        "reddit:LocalLLaMA",
        "reddit:MachineLearning",
        "feed:blog.example.com/feed.xml",
        "feed:e.org/atom",
    ]
    assert sources[0].url == "http://127.0.0.1:9/rss/cs.LG"  # type: ignore[attr-defined]
    assert sources[0].interval == 60
    assert sources[1].token == "hf_x"  # type: ignore[attr-defined]
    assert sources[2].url == "http://127.0.0.1:9/r/LocalLLaMA/new.json"  # type: ignore[attr-defined]
    assert all(isinstance(s, FeedSource) and s.interval == 900 for s in sources[4:])


def test_everything_off():
    settings = Settings(arxiv_enabled=False, hf_enabled=False, reddit_enabled=False)
    assert build_sources(settings, CLOCK) == []


def test_unbuildable_setting_is_a_config_error():
    with pytest.raises(ConfigError, match="ARXIV_CATEGORIES"):
        build_sources(Settings(arxiv_categories=""), CLOCK)
    with pytest.raises(ConfigError, match="REDDIT_SUBREDDITS"):
        build_sources(Settings(reddit_subreddits=("r/",)), CLOCK)
