"""Settings: defaults work with nothing set, every problem is named at once, .env.example in step."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import (
    ConfigError,
    Settings,
    env_example,
    env_key,
    load_settings,
)

REPO = Path(__file__).resolve().parents[2]


def test_no_settings_at_all_works() -> None:
    settings = load_settings({}, dotenv=None)
    assert settings.database_url.scheme == "sqlite"
    assert settings.database_url.path.endswith("paperbot.db")
    assert not settings.slack_enabled and not settings.discord_enabled and not settings.llm_enabled


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                "HTTP_TIMEOUT": "soon",
                "DIGEST_DEFAULT_TZ": "Mars/Olympus",
                "PAPERBOT_DB": "postgresql://db/papers",
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SUMMARIZER": "llm",
                "LOG_LEVEL": "loud",
            },
            dotenv=None,
        )
    text = str(info.value)
    for key in ("HTTP_TIMEOUT", "DIGEST_DEFAULT_TZ", "PAPERBOT_DB", "SLACK_SIGNING_SECRET", "LLM_PROVIDER", "LOG_LEVEL"):
        assert key in text
    assert "not supported yet" in text
    assert "Traceback" not in text


def test_secrets_are_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"SLACK_BOT_TOKEN": "not-a-token-s3cr3t"}, dotenv=None)
    assert "s3cr3t" not in str(info.value)


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('# comment\nexport ARXIV_CATEGORIES="cs.LG+cs.CL"\nHF_ENABLED=false # inline\nLOG_LEVEL=debug\n')
    settings = load_settings({"LOG_LEVEL": "warning"}, dotenv=env_file)
    assert settings.arxiv_categories == "cs.LG+cs.CL"
    assert settings.hf_enabled is False
    assert settings.log_level == "warning"


def test_sqlite_url_and_llm_defaults() -> None:
    settings = load_settings({"PAPERBOT_DB": "sqlite:///x/y.db", "SUMMARIZER": "llm", "LLM_PROVIDER": "openai", "LLM_MODEL": "m"}, dotenv=None)
    assert settings.database_url.path == "x/y.db"
    assert settings.llm_base_url == "https://api.openai.com/v1"
    assert settings.llm_enabled


def test_env_example_lists_every_setting_and_is_current() -> None:
    committed = (REPO / ".env.example").read_text()
    assert committed == env_example(), "regenerate with: python -m bot.settings > .env.example"
    for name in Settings.model_fields:
        assert f"\n{env_key(name)}=" in committed


def test_the_model_defaults_are_what_a_user_with_no_settings_gets() -> None:
    # Code and tests that build Settings() directly must see what a user with no settings gets.
    assert Settings() == load_settings({}, dotenv=None)
