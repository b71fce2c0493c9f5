"""The `paperbot` command line: every command's --help, exit codes, and the store commands
(ingest, papers, search, status, fetch) on the real fixtures and a fake upstream on 127.0.0.1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import bot.cli.main as cli
from tests.support.fake_server import QuietHandler, http_server_in_thread

REAL = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "real"
SUBCOMMANDS = sorted(cli.build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test starts with no settings at all and a data directory of its own."""
    import os

    for key in list(os.environ):
        if key.startswith(("PAPERBOT_", "SLACK_", "DISCORD_", "LLM_", "ARXIV_", "HF_", "REDDIT_", "FEEDS", "HTTP_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_LEVEL", "warning")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `paperbot argv...` in-process; argparse's own exits are returned as codes."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_there_are_the_commands_the_readme_names() -> None:
    assert set(SUBCOMMANDS) >= {
        "run", "fetch", "ingest", "papers", "status", "search", "summarize", "tag", "topics",
        "digest", "slack-manifest", "discord-invite",
    }


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and out.startswith(f"usage: paperbot {command}")


@pytest.mark.parametrize(
    "argv",
    [
        ["no-such-command"],
        ["ingest", "x.xml"],  # --source is required
        ["ingest", "x.xml", "--source", "pdf"],
        ["papers", "--limit", "many"],
        ["digest"],  # --print is required
    ],
)
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and "usage:" in err


def test_bad_values_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["papers", "--limit", "0"],
        ["papers", "--since", "yesterday"],
        ["fetch", "--source", "nowhere"],
        ["search", ""],
        ["search", "w" * 400],
        ["search", "diffusion", "--topic", "underwater-basket-weaving"],
    ):
        code, _, err = run(capsys, *argv)
        assert code == 2, argv
        assert err.startswith("paperbot: ") and err.count("\n") == 1 and "Traceback" not in err, err


def test_invalid_settings_are_named_together_and_exit_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_TIMEOUT", "soon")
    monkeypatch.setenv("DIGEST_DEFAULT_TZ", "Mars/Olympus")
    code, _, err = run(capsys, "status")
    assert code == 2 and "HTTP_TIMEOUT" in err and "DIGEST_DEFAULT_TZ" in err and "Traceback" not in err


def test_a_postgres_server_that_does_not_answer_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERBOT_DB", "postgresql://bot:pa55word@/paperbot?host=/nonexistent-socket-dir")
    code, _, err = run(capsys, "status")
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("paperbot: cannot reach the PostgreSQL database postgresql://bot@/paperbot")
    assert "pa55word" not in err


@pytest.mark.postgres
def test_status_names_a_postgres_store(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.setenv("PAPERBOT_DB", postgres_url)
    code, out, _ = run(capsys, "status")
    assert code == 0 and "store: PostgreSQL postgresql://paperbot@/" in out and "  papers: 0" in out


def test_ingest_papers_and_status_on_real_payloads(capsys: pytest.CaptureFixture[str]) -> None:
    listing = str(REAL / "arxiv_rss_new_quant-ph_2025-04-28.xml")
    code, out, _ = run(capsys, "ingest", listing, "--source", "arxiv-rss")
    assert code == 0 and out.startswith(f"{listing}: ") and " new" in out
    new = int(out.split(": ")[1].split(" new")[0])
    assert new > 0
    # The same file again changes nothing.
    code, out, _ = run(capsys, "ingest", listing, "--source", "arxiv-rss")
    assert code == 0 and "0 new, 0 updated, 0 merged" in out

    code, out, _ = run(capsys, "papers", "--json", "--limit", "1000")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == new
    for row in rows:
        assert set(row) >= {
            "id", "version", "title", "authors", "categories", "primary_category",
            "published", "updated", "url", "sources", "signals",
        }
        assert row["sources"] == ["arxiv"] and row["url"].startswith("https://arxiv.org/abs/")
        assert row["updated"].endswith("+00:00")
        assert row["published"] is None or row["published"].endswith("+00:00")  # None: a replacement
    code, out, _ = run(capsys, "papers", "--limit", "2")
    assert code == 0 and len(out.splitlines()) == 2

    code, out, _ = run(capsys, "status")
    assert code == 0 and "sources:" in out and str(new) in out


def test_ingest_reports_a_broken_file_and_keeps_going(capsys: pytest.CaptureFixture[str], clean_env: Path) -> None:
    bomb = clean_env / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><feed>&a;</feed>')
    good = str(REAL / "arxiv_api_query_testing_m10.xml")
    code, out, err = run(capsys, "ingest", str(bomb), good, "--source", "arxiv-api")
    assert code == 1
    assert err.startswith(f"paperbot: {bomb}: ") and "entit" in err and "Traceback" not in err
    assert f"{good}: 10 new" in out and "total: 10 new" in out


def test_search_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "ingest", str(REAL / "arxiv_rss_new_quant-ph_2025-04-28.xml"), "--source", "arxiv-rss")
    code, out, _ = run(capsys, "search", "quantum", "--json", "--limit", "3")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and 1 <= len(rows) <= 3
    for row in rows:
        assert set(row) >= {"id", "title", "url", "score", "topics", "tldr"}
        assert "quantum" in (row["title"] + row["tldr"]).lower() or row["score"] > 0
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True)


def test_search_finds_by_meaning_as_papers_does(
    capsys: pytest.CaptureFixture[str], clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Free text on the CLI is fused with meaning like `/papers`: the same store answers a
    paraphrase no paper contains with the same papers, in the same order."""
    import asyncio

    from bot.store import Store
    from tests.support.relevance import SPECULATIVE, about, make_rig

    database = clean_env / "paperbot.db"
    store = Store.open(str(database))
    rig = asyncio.run(make_rig(store))  # the sample, indexed (vectors stored) as the bot does
    paraphrase = "making LLM inference faster"
    in_chat = asyncio.run(rig.say(f"{paraphrase} limit:10"))
    chat_ids = [item.paper.id for item in in_chat.items]
    store.close()
    assert chat_ids and sum(about(item.paper, SPECULATIVE) for item in in_chat.items[:5]) >= 4
    monkeypatch.setenv("PAPERBOT_DB", str(database))
    monkeypatch.setenv("PAPERBOT_CLOCK_START", rig.clock().isoformat())
    code, out, _ = run(capsys, "search", paraphrase, "--json", "--limit", "10")
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == chat_ids


class _Upstream(QuietHandler):
    """Serves the arXiv listing for any path, and an arXiv API page for /api/query."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        name = "arxiv_api_query_testing_m10.xml" if self.path.startswith("/api") else "arxiv_rss_new_quant-ph_2025-04-28.xml"
        self.send_body((REAL / name).read_bytes(), "application/xml")


@pytest.fixture
def upstream() -> Iterator[str]:
    with http_server_in_thread(_Upstream) as url:
        yield url


def test_fetch_prints_counts_per_source_and_a_progress_bar(
    upstream: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARXIV_RSS_URL", upstream + "/rss")
    monkeypatch.setenv("ARXIV_API_URL", upstream + "/api/query")
    monkeypatch.setenv("ARXIV_MIN_DELAY", "0.01")
    monkeypatch.setenv("HF_ENABLED", "false")
    monkeypatch.setenv("REDDIT_ENABLED", "false")
    code, out, err = run(capsys, "fetch", "--source", "arxiv", "--source", "arxiv-api", "--since", "3000d")
    assert code == 0, out + err
    lines = out.replace("\r", "\n").splitlines()
    assert any(re.fullmatch(r"arxiv: [1-9]\d* new, 0 updated, 0 merged, 0 skipped", line) for line in lines)
    # The backfill pages through the API with a bar that ends full; entries older than
    # --since are left out.
    bars = [re.fullmatch(r"arxiv-api \[[#.]{30}\] (\d+)/(\d+)", line) for line in lines]
    done = [m for m in bars if m]
    assert done and done[-1].group(1) == done[-1].group(2)
    assert f"arxiv-api: {done[-1].group(1)} new, 0 updated, 0 merged, 0 skipped" in lines
    code, out, _ = run(capsys, "status")
    assert "arxiv: last success 20" in out


def test_slack_manifest_and_discord_invite(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(capsys, "slack-manifest")
    assert code == 0 and "socket_mode_enabled: true" in out
    code, out, _ = run(capsys, "slack-manifest", "--request-url", "https://bot.example/slack/events")
    assert code == 0 and "socket_mode_enabled: false" in out and '"https://bot.example/slack/events"' in out
    code, out, _ = run(capsys, "slack-manifest", "--distribution", "--request-url", "https://bot.example")
    assert code == 0 and '"https://bot.example/slack/oauth_redirect"' in out and "socket_mode_enabled: false" in out
    code, _, err = run(capsys, "slack-manifest", "--distribution")
    assert code == 2 and "--request-url" in err
    code, _, err = run(capsys, "discord-invite")
    assert code == 2 and "DISCORD_APPLICATION_ID" in err
    monkeypatch.setenv("DISCORD_APPLICATION_ID", "123456789012345678")
    code, out, _ = run(capsys, "discord-invite")
    assert code == 0 and out.startswith("https://discord.com/oauth2/authorize?client_id=123456789012345678")
    assert "applications.commands" in out


def test_digest_print_shows_what_a_channel_would_get(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The listing's own day: a digest shows recent papers only.
    monkeypatch.setenv("PAPERBOT_CLOCK_START", "2025-04-28T12:00:00Z")
    run(capsys, "ingest", str(REAL / "arxiv_rss_new_quant-ph_2025-04-28.xml"), "--source", "arxiv-rss")
    code, out, _ = run(capsys, "digest", "--print")
    assert code == 0 and "https://arxiv.org/abs/" in out


def test_status_shows_todays_llm_tokens_against_the_budget(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from bot.settings import load_settings
    from bot.store import Store

    # The bot's clock, not the machine's, decides which day "today" is.
    monkeypatch.setenv("PAPERBOT_CLOCK_START", "2030-03-31T00:55:00Z")
    monkeypatch.setenv("LLM_DAILY_TOKEN_BUDGET", "50000")
    store = Store.open(load_settings().database_url)
    store.summaries.record_usage(
        now=datetime(2030, 3, 30, 23, 59, tzinfo=UTC), provider="openai", model="m", paper_id="2504.17829",
        prompt_tokens=5000, completion_tokens=0, ok=True,
    )
    store.summaries.record_usage(
        now=datetime(2030, 3, 31, 0, 10, tzinfo=UTC), provider="openai", model="m", paper_id="2504.17830",
        prompt_tokens=1200, completion_tokens=34, ok=True,
    )
    store.close()
    code, out, _ = run(capsys, "status")
    assert code == 0 and "tokens today (UTC) 1,234 of 50,000" in out
    monkeypatch.setenv("LLM_DAILY_TOKEN_BUDGET", "0")
    assert "1,234 (no daily limit)" in run(capsys, "status")[1]


def test_status_warns_when_the_arxiv_calendar_is_only_computed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERBOT_CLOCK_START", "2026-12-01T12:00:00Z")
    code, out, _ = run(capsys, "status")
    assert code == 0
    (warning,) = [line for line in out.splitlines() if line.startswith("warning:")]
    assert "2027" in warning and "2026" not in warning
    monkeypatch.setenv("PAPERBOT_CLOCK_START", "2031-06-01T12:00:00Z")
    (warning,) = [line for line in run(capsys, "status")[1].splitlines() if line.startswith("warning:")]
    assert "2031" in warning and "2032" in warning
