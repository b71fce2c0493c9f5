"""The fake LLM API's own sanity tests (the fake lives in tests/support/llm_api.py)."""

from __future__ import annotations

from tests.support.llm_api import fenced


def test_fence_check_accepts_only_one_block() -> None:
    """The fence check used by the fake server (a sanity test of the helper itself)."""
    assert fenced("<paper>\n<title>t</title>\n<abstract>\na\n</abstract>\n</paper>\nSummarize")
    assert not fenced("<title>t</title><abstract>a</abstract>")
    assert not fenced("<paper><abstract>a</abstract></paper></paper>")
