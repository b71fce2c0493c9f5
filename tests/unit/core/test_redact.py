"""Credentials in URLs: removed by one function, in every form FEEDS may carry them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.app.logs import setup_logging
from bot.core.redact import redact_url, redact_urls
from bot.settings import Settings


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:s3cr3t@feeds.example.org/blog.xml", "https://feeds.example.org/blog.xml"),
        ("https://alice@feeds.example.org:8443/blog.xml", "https://feeds.example.org:8443/blog.xml"),
        ("https://feeds.example.org/rss?apikey=K123&lang=en", "https://feeds.example.org/rss?apikey=***&lang=en"),
        ("https://x.org/f?api_key=K1&api-key=K2&apiKey=K3", "https://x.org/f?api_key=***&api-key=***&apiKey=***"),
        ("https://x.org/f?key=K&token=T&access_token=A", "https://x.org/f?key=***&token=***&access_token=***"),
        ("https://x.org/f?secret=S&password=P&sig=G&signature=N", "https://x.org/f?secret=***&password=***&sig=***&signature=***"),
        ("https://x.org/f?X-Amz-Security-Token=T&page=2", "https://x.org/f?X-Amz-Security-Token=***&page=2"),
        ("https://u:p@[::1]:8080/f?token=T", "https://[::1]:8080/f?token=***"),
        # URLs urlsplit refuses (a port that is not a number, a broken IPv6 literal) still
        # lose their userinfo.
        ("mysql://bot:pa55word@db:port/papers", "mysql://db:port/papers"),
        ("postgresql://bot:pa55word@[db/papers", "postgresql://[db/papers"),
    ],
)
def test_credentials_are_removed(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "https://rss.arxiv.org/rss/cs.LG+cs.CL",
        "https://export.arxiv.org/api/query?search_query=cat:cs.LG&start=0&max_results=100",
        "https://www.reddit.com/r/LocalLLaMA/new.json?limit=100",
        "not a url at all",
        "",
    ],
)
def test_urls_without_credentials_are_unchanged(url: str) -> None:
    assert redact_url(url) == url


def test_every_url_inside_a_text_is_redacted() -> None:
    text = "feed:x.org: timed out (https://bob:hunter2@x.org/f?token=abc) then 'https://y.org/?key=zz'"
    shown = redact_urls(text)
    assert "hunter2" not in shown and "bob" not in shown and "abc" not in shown and "zz" not in shown
    assert "(https://x.org/f?token=***)" in shown and "'https://y.org/?key=***'" in shown


def test_secret_parameters_outside_urls_are_masked_too() -> None:
    # Source names recorded before names were redacted look like this.
    assert redact_urls("feed:lab.example/rss?apikey=K123&lang=en") == "feed:lab.example/rss?apikey=***&lang=en"
    assert redact_urls("see /feed?token=abc and key=value alone") == "see /feed?token=*** and key=value alone"


@pytest.fixture
def root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_log_filter_catches_credentials_in_urls(root_logger: None, log_format: str) -> None:
    stream = io.StringIO()
    setup_logging(Settings(log_format=log_format), stream)
    log = logging.getLogger("paperbot.test")
    log.warning("fetch https://carol:pa55word@lab.example/feed?apikey=LABKEY failed")
    try:
        raise OSError("connect to https://lab.example/feed?access_token=TRACETOKEN refused")
    except OSError:
        log.exception("request failed")
    out = stream.getvalue()
    for secret in ("carol", "pa55word", "LABKEY", "TRACETOKEN"):
        assert secret not in out
    assert "https://lab.example/feed?apikey=***" in out and "access_token=***" in out
