"""Settings: defaults work with nothing set, every problem is named at once, .env.example in step,
secrets never shown, and only load_settings() reads the environment and .env."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from bot.settings import (
    ConfigError,
    Settings,
    config_problems,
    env_example,
    env_key,
    load_settings,
    secret_fields,
    setting_group,
    settings_fields,
)

REPO = Path(__file__).resolve().parents[2]

# One distinct, recognisable value per secret field (valid shapes, so construction succeeds).
SECRET_VALUES = {
    "hf_token": "hf_S3CRET_hf",
    "llm_api_key": "sk-S3CRET-llm",
    "embeddings_api_key": "sk-S3CRET-embeddings",
    "slack_bot_token": "xoxb-S3CRET-bot",
    "slack_app_token": "xapp-S3CRET-app",
    "slack_signing_secret": "S3CRET-signing",
    "slack_client_secret": "S3CRET-client",
    "discord_token": "S3CRET.discord.token",
    "web_access_token": "S3CRET-web",
    "smtp_password": "S3CRET-smtp",
    "email_link_secret": "S3CRET-links",
}


def bad_key_lines(error: ConfigError) -> dict[str, str]:
    """Each problem line keyed by the environment key it starts with."""
    return {line.split("=", 1)[0].split(":", 1)[0].split(" ", 1)[0]: line for line in error.problems}


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
                "PAPERBOT_DB": "mysql://db/papers",
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SUMMARIZER": "llm",
                "LOG_LEVEL": "loud",
            },
            dotenv=None,
        )
    text = str(info.value)
    for key in ("HTTP_TIMEOUT", "DIGEST_DEFAULT_TZ", "PAPERBOT_DB", "SLACK_SIGNING_SECRET", "LLM_PROVIDER", "LOG_LEVEL"):
        assert key in text
    assert "unknown database scheme 'mysql'" in text
    assert "Traceback" not in text


def test_one_config_error_names_every_bad_key_by_its_env_key_once() -> None:
    bad = {
        "HTTP_RETRIES": "-1",
        "HTTP_MAX_BYTES": "1.5",
        "ARXIV_ENABLED": "maybe",
        "ARXIV_RSS_URL": "rss.arxiv.org",
        "FEEDS": "https://blog.example/feed/,ftp://old.example/feed",
        "DIGEST_DEFAULT_TIME": "25:00",
        "PAPERBOT_CLOCK_START": "soon",
        "PAPERBOT_CLOCK_SPEED": "0",
        "SLACK_COMMAND": "papers",
        "DISCORD_GUILD_IDS": "1,x",
        "LOG_FORMAT": "xml",
    }
    with pytest.raises(ConfigError) as info:
        load_settings(bad, dotenv=None)
    lines = bad_key_lines(info.value)
    assert set(lines) == set(bad) and len(info.value.problems) == len(bad)
    # Named by the environment key, never by the attribute (clock_speed, clock_start, ...).
    for name in settings_fields():
        assert f"{name}=" not in str(info.value) and f"{name}:" not in str(info.value)
    # The value is shown as it was written.
    assert lines["HTTP_RETRIES"].startswith("HTTP_RETRIES='-1': ")
    assert lines["FEEDS"].startswith("FEEDS='https://blog.example/feed/,ftp://old.example/feed': ")
    assert lines["PAPERBOT_CLOCK_SPEED"].startswith("PAPERBOT_CLOCK_SPEED='0': ")


def test_cross_checks_are_reported_next_to_field_problems() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            {"SUMMARIZER": "LLM", "LLM_PROVIDER": "anthropic", "HTTP_TIMEOUT": "-3", "SLACK_APP_TOKEN": "xapp-1"},
            dotenv=None,
        )
    assert set(info.value.problems) == {
        "HTTP_TIMEOUT='-3': Input should be greater than 0",
        "LLM_PROVIDER=anthropic needs LLM_API_KEY",
        "SUMMARIZER=llm needs LLM_MODEL",
        "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not",
    }


def test_a_malformed_bot_token_still_counts_as_set_for_the_other_slack_checks() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"SLACK_BOT_TOKEN": "bot-token"}, dotenv=None)
    assert set(bad_key_lines(info.value)) == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}
    with pytest.raises(ConfigError) as socket_mode:
        load_settings({"SLACK_BOT_TOKEN": "bot-token", "SLACK_APP_TOKEN": "xapp-1"}, dotenv=None)
    assert socket_mode.value.problems == ["SLACK_BOT_TOKEN: expected a bot token starting with xoxb-"]


def test_a_distributed_slack_app_needs_its_client_secret_a_signing_secret_and_http_mode() -> None:
    oauth = {"SLACK_CLIENT_ID": "123.456", "SLACK_CLIENT_SECRET": "s3cr3t-client", "SLACK_SIGNING_SECRET": "sign"}
    settings = load_settings(oauth, dotenv=None)
    assert settings.slack_enabled and settings.slack_distributed
    assert settings.slack_client_secret.get_secret_value() == "s3cr3t-client"
    assert settings.slack_authorize_url == "https://slack.com/oauth/v2/authorize"
    with pytest.raises(ConfigError) as alone:
        load_settings({"SLACK_CLIENT_ID": "123.456"}, dotenv=None)
    assert alone.value.problems == [
        "SLACK_CLIENT_ID needs SLACK_CLIENT_SECRET; SLACK_CLIENT_ID needs SLACK_SIGNING_SECRET (the install flow runs in HTTP mode)"
    ]
    with pytest.raises(ConfigError) as mixed:
        load_settings(oauth | {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, dotenv=None)
    assert mixed.value.problems == [
        "set SLACK_BOT_TOKEN (your own app in one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
        "(an app any workspace installs), not both; SLACK_CLIENT_ID runs in HTTP mode: unset SLACK_APP_TOKEN "
        "(Slack does not distribute Socket Mode apps)"
    ]
    assert "s3cr3t" not in str(mixed.value)
    # The client secret alone (copied next to a bot token) turns nothing on.
    own = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "sign", "SLACK_CLIENT_SECRET": "x"}, dotenv=None)
    assert own.slack_enabled and not own.slack_distributed
    with pytest.raises(ConfigError) as url:
        load_settings(oauth | {"SLACK_REDIRECT_URI": "slack.example/redirect"}, dotenv=None)
    assert set(bad_key_lines(url.value)) == {"SLACK_REDIRECT_URI"}


def test_secrets_are_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"SLACK_BOT_TOKEN": "not-a-token-s3cr3t"}, dotenv=None)
    assert "s3cr3t" not in str(info.value)


def test_invalid_secrets_are_hidden_in_every_error() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"SLACK_BOT_TOKEN": "bad-s3cr3t-bot", "SLACK_APP_TOKEN": "bad-s3cr3t-app"}, dotenv=None)
    assert "s3cr3t" not in str(info.value) and len(info.value.problems) == 2
    # Built directly, pydantic's own message hides the inputs too.
    with pytest.raises(ValidationError) as direct:
        Settings(slack_bot_token="bad-s3cr3t-bot", hf_token=12345678)  # type: ignore[arg-type]
    assert "s3cr3t" not in str(direct.value) and "12345678" not in str(direct.value)
    # And when such an error becomes ConfigError lines, a secret's value is (hidden).
    assert "HF_TOKEN=(hidden): Input should be a valid string" in config_problems(direct.value)


def test_secrets_are_secretstr_and_hidden_in_repr_but_redacted_by_value() -> None:
    assert set(secret_fields()) == set(SECRET_VALUES)
    settings = Settings(**SECRET_VALUES)
    for name, value in SECRET_VALUES.items():
        assert isinstance(getattr(settings, name), SecretStr)
        assert getattr(settings, name).get_secret_value() == value
    shown = repr(settings) + str(settings) + str(settings.model_dump())
    assert "S3CRET" not in shown
    assert sorted(settings.secrets()) == sorted(SECRET_VALUES.values())
    assert Settings().secrets() == []


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        '# comment\nexport ARXIV_CATEGORIES="cs.LG+cs.CL"\nHF_ENABLED=false # inline\nLOG_LEVEL=debug\n'
        "CONSOLE_USER='ada ${USER}'\nNOT_A_SETTING=1\n"
    )
    settings = load_settings({"LOG_LEVEL": "warning"}, dotenv=env_file)
    assert settings.arxiv_categories == "cs.LG+cs.CL"
    assert settings.hf_enabled is False
    assert settings.log_level == "warning"
    assert settings.console_user == "ada ${USER}"  # as written: no variable expansion


def test_direct_construction_ignores_the_environment_and_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in Settings.model_fields:  # whatever the machine running the tests has set
        monkeypatch.delenv(env_key(name), raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CONSOLE_USER=from-dotenv\nHTTP_RETRIES=9\n")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("PAPERBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("log_level", "error")  # pydantic-settings would match this case-insensitively
    assert Settings().model_dump() == {name: field.default for name, field in Settings.model_fields.items()}
    assert Settings(console_user="kw").console_user == "kw"
    loaded = load_settings()
    assert (loaded.log_level, loaded.data_dir) == ("debug", str(tmp_path / "data"))
    assert (loaded.console_user, loaded.http_retries) == ("from-dotenv", 9)


def test_parsing_rules() -> None:
    settings = load_settings(
        {
            "ARXIV_ENABLED": " Off ",
            "HF_ENABLED": "",
            "SLACK_ADMIN_ONLY": "YES",
            "LOG_LEVEL": " Debug ",
            "HTTP_RETRIES": "0",
            "HTTP_CONCURRENCY": " 7 ",
            "HTTP_TIMEOUT": "2.5",
            "REDDIT_SUBREDDITS": " MachineLearning , ,LocalLLaMA,",
            "FEEDS": "https://blog.example/feed/, http://lab.example/atom",
            "DISCORD_GUILD_IDS": "123, 456",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "DIGEST_DEFAULT_TIME": " 7:30 ",
            "DIGEST_DEFAULT_TZ": "Europe/Berlin",
            "PAPERBOT_DB": "sqlite:///x/y.db",
        },
        dotenv=None,
    )
    assert (settings.arxiv_enabled, settings.hf_enabled, settings.slack_admin_only) == (False, False, True)
    assert settings.log_level == "debug"
    assert (settings.http_retries, settings.http_concurrency, settings.http_timeout) == (0, 7, 2.5)
    assert settings.reddit_subreddits == ("MachineLearning", "LocalLLaMA")
    # Feed URLs are kept as written; base URLs lose their trailing slash.
    assert settings.feeds == ("https://blog.example/feed/", "http://lab.example/atom")
    assert settings.slack_api_url == "http://127.0.0.1:9/api"
    assert settings.discord_guild_ids == (123, 456)
    assert (settings.digest_default_time, settings.digest_default_tz) == ("7:30", "Europe/Berlin")
    assert settings.database_url.path == "x/y.db"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("HTTP_CONCURRENCY", "0"),
        ("HTTP_RETRIES", "3.0"),
        ("HTTP_TIMEOUT", "0"),
        ("HTTP_TIMEOUT", "nan"),
        ("SUMMARIZE_BACKGROUND", "sometimes"),
        ("SUMMARIZER", "gpt"),
        ("DIGEST_DEFAULT_TIME", "12:60"),
        ("DIGEST_DEFAULT_TZ", "CEST"),
        ("DISCORD_API_URL", "discord.com/api"),
        ("DISCORD_GUILD_IDS", "12;34"),
        ("PAPERBOT_DB", "mysql://db/papers"),
        ("PAPERBOT_DB", "sqlite://relative.db"),
        ("PAPERBOT_DB", "sqlite:relative.db"),
        ("PAPERBOT_CLOCK_START", "2026-13-01T00:00:00Z"),
        ("SLACK_COMMAND", "papers"),
    ],
)
def test_bad_values_are_named(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({key: value}, dotenv=None)
    assert list(bad_key_lines(info.value)) == [key]


@pytest.mark.parametrize(
    "database",
    ["mysql://paperbot:pa55word@db/papers", "mysql://paperbot:pa55word@db:port/papers", "sqlite://paperbot:pa55word@db"],
)
def test_a_bad_database_value_is_named_without_its_password(database: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"PAPERBOT_DB": database}, dotenv=None)
    text = str(info.value)
    assert list(bad_key_lines(info.value)) == ["PAPERBOT_DB"]
    assert "pa55word" not in text and "paperbot:" not in text, text
    assert "PAPERBOT_DB='" in text and "@" not in text, text


def test_postgresql_url_is_a_database_url() -> None:
    # Whether the server answers is the store's business when it opens (one line, the password
    # removed: tests/unit/store/test_store.py); the setting itself is valid.
    settings = load_settings({"PAPERBOT_DB": "postgresql://paperbot:pa55word@db/papers"}, dotenv=None)
    assert settings.database_url.scheme == "postgresql"
    assert settings.database_url.path == "postgresql://paperbot:pa55word@db/papers"


def test_sqlite_url_and_llm_defaults() -> None:
    settings = load_settings({"PAPERBOT_DB": "sqlite:///x/y.db", "SUMMARIZER": "llm", "LLM_PROVIDER": "openai", "LLM_MODEL": "m"}, dotenv=None)
    assert settings.database_url.path == "x/y.db"
    assert settings.llm_base_url == "https://api.openai.com/v1"
    assert settings.llm_enabled


def test_direct_construction_validates_like_load_settings() -> None:
    with pytest.raises(ValidationError):
        Settings(summarizer="llm")  # needs LLM_PROVIDER and LLM_MODEL
    with pytest.raises(ValidationError):
        Settings(no_such_setting=1)  # type: ignore[call-arg]
    assert Settings(llm_provider="anthropic").llm_base_url == "https://api.anthropic.com"
    assert Settings(http_timeout="5").http_timeout == 5.0  # type: ignore[arg-type]


def test_settings_are_immutable_and_copied_with_changes() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.log_level = "debug"  # type: ignore[misc]
    changed = settings.model_copy(update={"log_level": "debug"})
    assert (settings.log_level, changed.log_level) == ("info", "debug")


def test_every_setting_has_a_doc_a_group_and_an_env_key() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description and "\n" not in field.description, name
        assert setting_group(name), name
        assert env_key(name).isupper() and env_key(name).replace("_", "").isalnum(), name
    keys = [env_key(name) for name in Settings.model_fields]
    assert len(set(keys)) == len(keys)
    assert env_key("data_dir") == "PAPERBOT_DATA_DIR" and env_key("http_timeout") == "HTTP_TIMEOUT"


def test_groups_are_contiguous_and_printed_in_model_order() -> None:
    groups = [group for group, _ in groupby(setting_group(name) for name in Settings.model_fields)]
    assert len(groups) == len(set(groups)), f"a group is split in the class body: {groups}"
    headers = [line[len("# === ") : -len(" ===")] for line in env_example().splitlines() if line.startswith("# === ")]
    assert headers == groups
    assert groups[:3] == ["Core", "HTTP requests to sources", "Sources"] and groups[-2:] == ["Slack", "Discord"]


def test_env_example_lists_every_setting_and_is_current() -> None:
    committed = (REPO / ".env.example").read_text()
    assert committed == env_example(), "regenerate with: python -m bot.settings > .env.example"
    for name, field in Settings.model_fields.items():
        assert f"\n# {field.description}\n{env_key(name)}=" in committed


def test_env_example_defaults_load_back_to_the_defaults(tmp_path: Path) -> None:
    example = tmp_path / ".env"
    example.write_text(env_example())
    assert load_settings({}, dotenv=example) == Settings()


def test_the_model_defaults_are_what_a_user_with_no_settings_gets() -> None:
    # Code and tests that build Settings() directly must see what a user with no settings gets.
    assert Settings() == load_settings({}, dotenv=None)


def test_every_field_is_settable_through_its_env_key() -> None:
    # A value different from each default, written as text, arrives in the right attribute.
    texts: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, bool):
            texts[name] = "false" if default else "true"
        elif isinstance(default, int | float):
            texts[name] = str(int(default) + 1)
        elif name in SECRET_VALUES:
            texts[name] = SECRET_VALUES[name]
    settings = load_settings({env_key(name): text for name, text in texts.items()}, dotenv=None)
    for name, text in texts.items():
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            assert value.get_secret_value() == text, name
        elif isinstance(value, bool):
            assert value is (text == "true"), name
        else:
            assert value == float(text), name


def test_discord_shards_are_checked_against_the_count() -> None:
    settings = load_settings({"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "3,1"}, dotenv=None)
    assert settings.discord_shard_count == 4 and settings.discord_shards == (1, 3)
    assert load_settings({"DISCORD_SHARD_COUNT": "2"}, dotenv=None).discord_shards == (0, 1)
    assert load_settings({"DISCORD_SHARD_COUNT": ""}, dotenv=None).discord_shards == ()
    for env, problem in [
        ({"DISCORD_SHARD_IDS": "0"}, "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "0,2"}, "2 is out of range"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "1,1"}, "listed twice"),
        ({"DISCORD_SHARD_COUNT": "0"}, "DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "-1"}, "DISCORD_SHARD_IDS"),
    ]:
        with pytest.raises(ConfigError) as caught:
            load_settings(env, dotenv=None)
        assert problem in str(caught.value), (env, str(caught.value))
