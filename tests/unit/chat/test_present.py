"""Platform-neutral presentation helpers."""

from __future__ import annotations

import pytest

from bot.chat.present import web_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("  https://arxiv.org/abs/2504.17830 ", "https://arxiv.org/abs/2504.17830"),
        ("HTTP://example.org/x", "HTTP://example.org/x"),
        ("javascript:alert(1)", None),
        ("ftp://example.org/file", None),
        ("https://", None),
        ("/relative/path", None),
        ("http://[::1", None),  # urlsplit raises on it
        ("https://example.org/" + "a" * 100, None),  # longer than max_chars
        ("", None),
    ],
)
def test_web_url_accepts_only_absolute_http_urls_within_the_limit(url: str, expected: str | None) -> None:
    assert web_url(url, max_chars=60) == expected
