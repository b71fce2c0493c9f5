"""`paperbot summarize`, `paperbot tag` and `paperbot topics`."""

from __future__ import annotations

import argparse
import io
import json
import sqlite3
from pathlib import Path

import pytest

from bot.cli.summarize import SUMMARY_FIELDS, run_summarize, run_tag, run_topics
from bot.enrich.taxonomy import TAXONOMY
from bot.settings import Settings
from tests.support.llm_api import FakeLLMServer, Reply, serve_in_thread, summary_json

GOOD = {
    "id": "2503.01234",
    "title": "FlashFuse: Fused Attention Kernels",
    "abstract": "Attention is memory-bound. We propose FlashFuse, a fused kernel. It is 1.5x faster on A100 GPUs.",
    "categories": ["cs.LG"],
    "extra": {"kept": True},
}
LINES = [
    json.dumps(GOOD),
    "this is not json",
    json.dumps({"abstract": "no title here"}),
    json.dumps({"title": "Title only"}),
    "",
    json.dumps(["a", "list"]),
    json.dumps({"title": "Bad abstract", "abstract": 5}),
    json.dumps({"title": "Ünïcödé title", "abstract": "We introduce a dataset of 10,000 speech clips."}),
]


def _run(func, lines: list[str], settings: Settings | None = None, summarizer: str | None = None) -> tuple[int, list[dict]]:  # type: ignore[no-untyped-def]
    stdout = io.StringIO()
    code = func(argparse.Namespace(summarizer=summarizer), settings or Settings(), io.StringIO("\n".join(lines) + "\n"), stdout)
    return code, [json.loads(line) for line in stdout.getvalue().splitlines()]


def test_summarize_writes_one_line_per_input_line_in_order() -> None:
    code, out = _run(run_summarize, LINES)
    assert code == 1  # some lines were bad
    assert len(out) == len(LINES)
    first = out[0]
    for key, value in GOOD.items():
        assert first[key] == value  # input fields are kept
    for field in SUMMARY_FIELDS:
        assert field in first
    assert first["summarizer"] == "offline" and first["prompt_version"].startswith("offline")
    assert isinstance(first["key_points"], list) and 3 <= len(first["key_points"]) <= 4
    assert out[1] == {"error": out[1]["error"], "line": 2} and "not JSON" in out[1]["error"]
    assert out[2] == {"error": 'missing "title" (a non-empty string)', "line": 3}
    assert out[3]["title"] == "Title only" and out[3]["tldr"]
    assert out[4] == {"error": "empty line", "line": 5}
    assert out[5]["line"] == 6 and "error" in out[5]
    assert out[6]["line"] == 7 and "abstract" in out[6]["error"]
    assert out[7]["title"] == "Ünïcödé title"


def test_all_good_lines_exit_zero() -> None:
    code, out = _run(run_summarize, [json.dumps(GOOD)] * 3)
    assert code == 0 and len(out) == 3 and out[0] == out[2]


def test_tag_adds_topic_ids() -> None:
    code, out = _run(run_tag, LINES, summarizer="offline")
    ids = {topic.id for topic in TAXONOMY}
    assert code == 1 and len(out) == len(LINES)
    assert set(out[0]) == set(GOOD) | {"topics"}
    assert 1 <= len(out[0]["topics"]) <= 3 and set(out[0]["topics"]) <= ids
    assert out[1]["line"] == 2


def test_topics_lists_the_taxonomy() -> None:
    stdout = io.StringIO()
    assert run_topics(argparse.Namespace(), Settings(), io.StringIO(), stdout) == 0
    text = stdout.getvalue()
    for topic in TAXONOMY:
        assert topic.id in text and topic.name in text
    stdout = io.StringIO()
    run_topics(argparse.Namespace(json=True), Settings(), io.StringIO(), stdout)
    assert [json.loads(line)["id"] for line in stdout.getvalue().splitlines()] == [t.id for t in TAXONOMY]


def test_llm_without_a_provider_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="LLM_PROVIDER"):
        _run(run_summarize, [json.dumps(GOOD)], summarizer="llm")


def _llm_settings(url: str, tmp_path: Path, flavour: str = "openai") -> Settings:
    return Settings(
        summarizer="offline", llm_provider=flavour, llm_base_url=url, llm_api_key="sk-test-123456",
        llm_model="test-model", llm_timeout=5, database=str(tmp_path / "paperbot.db"),
    )


def test_summarize_with_the_llm_records_usage(tmp_path: Path) -> None:
    server = FakeLLMServer("openai", [Reply(summary_json())])
    with serve_in_thread(server) as url:
        code, out = _run(run_summarize, [json.dumps(GOOD), "oops", json.dumps(GOOD)], _llm_settings(url, tmp_path), "llm")
    assert code == 1
    assert [o.get("summarizer") for o in out] == ["llm", None, "llm"]
    assert out[0]["tldr"].startswith("Introduces a faster attention kernel")
    assert out[1] == {"error": out[1]["error"], "line": 2}
    assert server.count == 2 and all(server.fence_ok)
    rows = sqlite3.connect(tmp_path / "paperbot.db").execute("SELECT COUNT(*), SUM(ok) FROM llm_usage").fetchone()
    assert rows == (2, 2)


def test_llm_failure_in_the_cli_falls_back_to_offline(tmp_path: Path) -> None:
    server = FakeLLMServer("anthropic", [Reply("no json here")])
    with serve_in_thread(server) as url:
        code, out = _run(run_tag, [json.dumps(GOOD)], _llm_settings(url, tmp_path, "anthropic"), "llm")
    assert code == 0
    assert out[0]["topics"]  # the offline tagger's topics
    assert server.count == 2  # the answer and one retry


def test_cli_main_wires_the_commands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import bot.cli.main as cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(GOOD) + "\n"))
    assert cli.main(["tag"]) == 0
    assert json.loads(capsys.readouterr().out)["topics"]
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(GOOD) + "\n"))
    assert cli.main(["summarize", "--summarizer", "offline"]) == 0
    assert json.loads(capsys.readouterr().out)["summarizer"] == "offline"
    assert cli.main(["topics"]) == 0
    assert "Large Language Models" in capsys.readouterr().out
