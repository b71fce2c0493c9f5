"""Settings from the environment and an optional `.env` file, validated once at start.

Every setting is declared once in SETTINGS (key, attribute, type, default, one-line doc);
`.env.example` is generated from that table and a test keeps the two in step. Validation
collects every problem and raises one ConfigError naming them all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.clock import Clock, from_iso, scaled_or_system_clock
from bot.core.errors import ConfigError
from bot.store.db import DatabaseURL, parse_database_url


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("expected a whole number of at least 1")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("expected a whole number of at least 0")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("expected a number greater than 0")
    return number


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _choice(*options: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in options:
            raise ValueError(f"expected one of {', '.join(options) or '(empty)'}")
        return lowered

    return parse


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone such as Europe/Berlin or America/New_York") from None
    return value


def _hhmm(value: str) -> str:
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value.strip()):
        raise ValueError("expected a time of day like 09:00")
    return value.strip()


def _url(value: str) -> str:
    if value and not re.match(r"^(https?|wss?)://", value):
        raise ValueError("expected an http(s):// or ws(s):// URL")
    return value.rstrip("/") if value else value


def _urls(value: str) -> tuple[str, ...]:
    items = _csv(value)
    for item in items:
        _url(item)
    return items


def _guild_ids(value: str) -> tuple[int, ...]:
    return tuple(int(part) for part in _csv(value))


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One setting: its environment key, attribute, parser, default (as text) and doc line."""

    key: str
    attr: str
    parse: Callable[[str], Any]
    default: str
    doc: str
    secret: bool = False


SETTINGS: tuple[SettingSpec, ...] = (
    # --- core --------------------------------------------------------------------------------
    SettingSpec("PAPERBOT_DATA_DIR", "data_dir", str, ".paperbot", "Directory for the database and caches."),
    SettingSpec("PAPERBOT_DB", "database", str, "", "Database path or URL (sqlite:///path.db); empty: <data dir>/paperbot.db. postgresql:// is not supported yet."),
    SettingSpec("LOG_LEVEL", "log_level", _choice("debug", "info", "warning", "error"), "info", "Log verbosity: debug, info, warning or error."),
    SettingSpec("LOG_FORMAT", "log_format", _choice("text", "json"), "text", "Log line format: text or json (one object per line)."),
    SettingSpec("PAPERBOT_USER_AGENT", "user_agent", str, "paperbot/0.1 (research paper bot; +https://github.com/paperbot/paperbot)", "User-Agent sent to every source; include a contact address for arXiv and Reddit."),
    # --- HTTP -------------------------------------------------------------------------------
    SettingSpec("HTTP_TIMEOUT", "http_timeout", _positive_float, "30", "Seconds before one HTTP request to a source is abandoned."),
    SettingSpec("HTTP_RETRIES", "http_retries", _non_negative_int, "3", "Retries per request on connection errors, 5xx and 429 (with backoff)."),
    SettingSpec("HTTP_MAX_BYTES", "http_max_bytes", _positive_int, "26214400", "Largest response body accepted from a source, in bytes."),
    SettingSpec("HTTP_CONCURRENCY", "http_concurrency", _positive_int, "4", "Requests to sources in flight at once (per host arXiv is always one)."),
    # --- sources ----------------------------------------------------------------------------
    SettingSpec("ARXIV_ENABLED", "arxiv_enabled", _bool, "true", "Fetch the arXiv listing feeds."),
    SettingSpec("ARXIV_CATEGORIES", "arxiv_categories", str, "cs.LG+cs.CL+cs.AI+cs.CV+stat.ML", "arXiv categories joined with + (as in rss.arxiv.org/rss/cs.LG+cs.CL)."),
    SettingSpec("ARXIV_RSS_URL", "arxiv_rss_url", _url, "https://rss.arxiv.org/rss", "Base URL of the arXiv listing feeds."),
    SettingSpec("ARXIV_API_URL", "arxiv_api_url", _url, "https://export.arxiv.org/api/query", "arXiv API endpoint (backfill and /papers paper lookups)."),
    SettingSpec("ARXIV_INTERVAL", "arxiv_interval", _positive_int, "3600", "Seconds between arXiv listing fetches."),
    SettingSpec("ARXIV_MIN_DELAY", "arxiv_min_delay", _positive_float, "3", "Minimum seconds between two requests to an arXiv host (their terms ask for 3)."),
    SettingSpec("HF_ENABLED", "hf_enabled", _bool, "true", "Fetch Hugging Face daily papers."),
    SettingSpec("HF_API_URL", "hf_api_url", _url, "https://huggingface.co/api/daily_papers", "Hugging Face daily papers endpoint."),
    SettingSpec("HF_TOKEN", "hf_token", str, "", "Optional Hugging Face token (higher rate limits).", secret=True),
    SettingSpec("HF_INTERVAL", "hf_interval", _positive_int, "7200", "Seconds between Hugging Face fetches."),
    SettingSpec("REDDIT_ENABLED", "reddit_enabled", _bool, "true", "Fetch Reddit subreddits."),
    SettingSpec("REDDIT_SUBREDDITS", "reddit_subreddits", _csv, "MachineLearning,LocalLLaMA", "Comma-separated subreddits to follow."),
    SettingSpec("REDDIT_BASE_URL", "reddit_base_url", _url, "https://www.reddit.com", "Reddit base URL (JSON listings at /r/<sub>/new.json)."),
    SettingSpec("REDDIT_INTERVAL", "reddit_interval", _positive_int, "1800", "Seconds between Reddit fetches."),
    SettingSpec("FEEDS", "feeds", _urls, "", "Comma-separated RSS/Atom feed URLs (lab and company research blogs)."),
    SettingSpec("FEED_INTERVAL", "feed_interval", _positive_int, "3600", "Seconds between fetches of each extra feed."),
    # --- summaries --------------------------------------------------------------------------
    SettingSpec("SUMMARIZER", "summarizer", _choice("offline", "llm"), "offline", "Summarizer: offline (default, no network) or llm (needs LLM_PROVIDER)."),
    SettingSpec("LLM_PROVIDER", "llm_provider", _choice("", "openai", "anthropic"), "", "LLM API flavour: openai (any OpenAI-compatible server) or anthropic."),
    SettingSpec("LLM_BASE_URL", "llm_base_url", _url, "", "LLM API base URL, e.g. https://api.openai.com/v1 or http://localhost:11434/v1."),
    SettingSpec("LLM_API_KEY", "llm_api_key", str, "", "LLM API key (never logged).", secret=True),
    SettingSpec("LLM_MODEL", "llm_model", str, "", "LLM model name, e.g. gpt-4o-mini or claude-3-5-haiku-latest."),
    SettingSpec("LLM_CONCURRENCY", "llm_concurrency", _positive_int, "2", "LLM requests in flight at once."),
    SettingSpec("LLM_TIMEOUT", "llm_timeout", _positive_float, "60", "Seconds before one LLM request is abandoned (the offline summary is used)."),
    SettingSpec("LLM_DAILY_TOKEN_BUDGET", "llm_daily_token_budget", _non_negative_int, "200000", "Tokens per UTC day across all LLM calls (0 = no limit); when spent, the offline summary is used."),
    SettingSpec("SUMMARIZE_BACKGROUND", "summarize_background", _bool, "true", "Summarize new papers in the background (bounded batches)."),
    SettingSpec("SUMMARIZE_BATCH", "summarize_batch", _positive_int, "50", "Papers per background summarizing pass."),
    # --- digests and alerts ------------------------------------------------------------------
    SettingSpec("SCHEDULER_TICK", "scheduler_tick", _positive_float, "60", "Seconds between scheduler ticks (due digests, alerts, outbox)."),
    SettingSpec("DIGEST_DEFAULT_TIME", "digest_default_time", _hhmm, "09:00", "Local time of a digest when /papers digest on names none."),
    SettingSpec("DIGEST_DEFAULT_TZ", "digest_default_tz", _timezone, "UTC", "Time zone of a digest when /papers digest on names none."),
    SettingSpec("CHANNELS_FILE", "channels_file", str, "", "Optional JSON file of channel digest settings applied at start (deployments)."),
    SettingSpec("ALERT_INTERVAL", "alert_interval", _positive_int, "3600", "Seconds between two DM alerts to one user (alerts are batched)."),
    SettingSpec("ALERT_MAX_ITEMS", "alert_max_items", _positive_int, "10", "Papers listed in one DM alert; the rest are counted as +N more."),
    # --- console ----------------------------------------------------------------------------
    SettingSpec("CONSOLE_USER", "console_user", str, "you", "Your user name in the console adapter."),
    SettingSpec("PAPERBOT_CLOCK_START", "clock_start", str, "", "Demo/testing only: start the bot's clock at this ISO time (e.g. 2026-11-23T08:59:00Z)."),
    SettingSpec("PAPERBOT_CLOCK_SPEED", "clock_speed", _positive_float, "1", "Demo/testing only: how many bot seconds pass per real second."),
    # --- Slack ------------------------------------------------------------------------------
    SettingSpec("SLACK_BOT_TOKEN", "slack_bot_token", str, "", "Slack bot token (xoxb-...); enables the Slack adapter.", secret=True),
    SettingSpec("SLACK_APP_TOKEN", "slack_app_token", str, "", "Slack app-level token (xapp-...); when set, Socket Mode is used.", secret=True),
    SettingSpec("SLACK_SIGNING_SECRET", "slack_signing_secret", str, "", "Slack signing secret; required in HTTP mode (no SLACK_APP_TOKEN).", secret=True),
    SettingSpec("SLACK_API_URL", "slack_api_url", _url, "https://slack.com/api", "Slack Web API base URL (GovSlack, proxies, tests)."),
    SettingSpec("SLACK_COMMAND", "slack_command", str, "/papers", "Slash command name registered in the Slack app."),
    SettingSpec("SLACK_ADMIN_ONLY", "slack_admin_only", _bool, "false", "Only workspace admins and owners may change channel digest settings."),
    SettingSpec("HTTP_HOST", "http_host", str, "0.0.0.0", "Address of the HTTP server (Slack HTTP mode, /healthz)."),
    SettingSpec("HTTP_PORT", "http_port", _non_negative_int, "3000", "Port of the HTTP server (Slack HTTP mode, /healthz)."),
    # --- Discord ----------------------------------------------------------------------------
    SettingSpec("DISCORD_TOKEN", "discord_token", str, "", "Discord bot token; enables the Discord adapter.", secret=True),
    SettingSpec("DISCORD_APPLICATION_ID", "discord_application_id", str, "", "Discord application id (for paperbot discord-invite)."),
    SettingSpec("DISCORD_API_URL", "discord_api_url", _url, "https://discord.com/api/v10", "Discord REST base URL (proxies, tests)."),
    SettingSpec("DISCORD_GATEWAY_URL", "discord_gateway_url", _url, "wss://gateway.discord.gg", "Discord gateway websocket URL (proxies, tests)."),
    SettingSpec("DISCORD_GUILD_IDS", "discord_guild_ids", _guild_ids, "", "Comma-separated guild ids to sync commands to instantly; empty: global sync."),
    SettingSpec("DISCORD_MANAGE_PERMISSION", "discord_manage_permission", str, "manage_channels", "Discord permission needed to change channel digest settings."),
)


@dataclass(frozen=True)
class Settings:
    """Validated settings. Build with `load_settings()`; tests may construct directly."""

    data_dir: str = ".paperbot"
    database: str = ""
    log_level: str = "info"
    log_format: str = "text"
    user_agent: str = "paperbot/0.1 (research paper bot; +https://github.com/paperbot/paperbot)"
    http_timeout: float = 30.0
    http_retries: int = 3
    http_max_bytes: int = 26214400
    http_concurrency: int = 4
    arxiv_enabled: bool = True
    arxiv_categories: str = "cs.LG+cs.CL+cs.AI+cs.CV+stat.ML"
    arxiv_rss_url: str = "https://rss.arxiv.org/rss"
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    arxiv_interval: int = 3600
    arxiv_min_delay: float = 3.0
    hf_enabled: bool = True
    hf_api_url: str = "https://huggingface.co/api/daily_papers"
    hf_token: str = ""
    hf_interval: int = 7200
    reddit_enabled: bool = True
    reddit_subreddits: tuple[str, ...] = ("MachineLearning", "LocalLLaMA")
    reddit_base_url: str = "https://www.reddit.com"
    reddit_interval: int = 1800
    feeds: tuple[str, ...] = ()
    feed_interval: int = 3600
    summarizer: str = "offline"
    llm_provider: str = ""
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_model: str = ""
    llm_concurrency: int = 2
    llm_timeout: float = 60.0
    llm_daily_token_budget: int = 200000
    summarize_background: bool = True
    summarize_batch: int = 50
    scheduler_tick: float = 60.0
    digest_default_time: str = "09:00"
    digest_default_tz: str = "UTC"
    channels_file: str = ""
    alert_interval: int = 3600
    alert_max_items: int = 10
    console_user: str = "you"
    clock_start: str = ""
    clock_speed: float = 1.0
    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_signing_secret: str = ""
    slack_api_url: str = "https://slack.com/api"
    slack_command: str = "/papers"
    slack_admin_only: bool = False
    http_host: str = "0.0.0.0"
    http_port: int = 3000
    discord_token: str = ""
    discord_application_id: str = ""
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg"
    discord_guild_ids: tuple[int, ...] = ()
    discord_manage_permission: str = "manage_channels"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def database_url(self) -> DatabaseURL:
        """The database to open: PAPERBOT_DB, or paperbot.db inside the data directory."""
        if self.database:
            return parse_database_url(self.database)
        return DatabaseURL("sqlite", str(Path(self.data_dir) / "paperbot.db"))

    @property
    def slack_enabled(self) -> bool:
        """Whether the Slack adapter should start."""
        return bool(self.slack_bot_token)

    @property
    def discord_enabled(self) -> bool:
        """Whether the Discord adapter should start."""
        return bool(self.discord_token)

    @property
    def llm_enabled(self) -> bool:
        """Whether LLM summaries are configured and chosen."""
        return self.summarizer == "llm" and bool(self.llm_provider)

    def secrets(self) -> list[str]:
        """Every secret value that is set, so logging can redact them."""
        return [getattr(self, spec.attr) for spec in SETTINGS if spec.secret and getattr(self, spec.attr)]


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file: KEY=VALUE lines, `#` comments, optional quotes, `export` prefix."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> Settings:
    """Read settings from `.env` (if present) overlaid by the environment, and validate them.

    Raises ConfigError naming every missing or invalid key at once.
    """
    env = dict(os.environ if environ is None else environ)
    merged: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        merged.update(read_dotenv(dotenv))
    merged.update({k: v for k, v in env.items() if k in {s.key for s in SETTINGS}})

    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in SETTINGS:
        text = merged.get(spec.key, spec.default)
        try:
            values[spec.attr] = spec.parse(text)
        except ValueError as exc:
            shown = "(hidden)" if spec.secret else repr(text)
            problems.append(f"{spec.key}={shown}: {exc}")
    problems.extend(_cross_checks(values))
    if problems:
        raise ConfigError(problems)
    values["database"] = merged.get("PAPERBOT_DB", "")
    return Settings(**values)


def _cross_checks(values: dict[str, Any]) -> list[str]:
    problems = []
    db = values.get("database")
    if isinstance(db, str) and db.startswith(("postgresql://", "postgres://")):
        problems.append("PAPERBOT_DB: PostgreSQL is not supported yet; use a file path or sqlite:///path.db")
    elif isinstance(db, str) and db:
        try:
            parse_database_url(db)
        except ValueError as exc:
            problems.append(f"PAPERBOT_DB={db!r}: {exc}")
    if values.get("summarizer") == "llm":
        if not values.get("llm_provider"):
            problems.append("SUMMARIZER=llm needs LLM_PROVIDER (openai or anthropic)")
        if not values.get("llm_model"):
            problems.append("SUMMARIZER=llm needs LLM_MODEL")
        if values.get("llm_provider") == "anthropic" and not values.get("llm_api_key"):
            problems.append("LLM_PROVIDER=anthropic needs LLM_API_KEY")
    if values.get("llm_provider") and not values.get("llm_base_url"):
        values["llm_base_url"] = (
            "https://api.anthropic.com" if values["llm_provider"] == "anthropic" else "https://api.openai.com/v1"
        )
    if values.get("slack_bot_token"):
        if not str(values["slack_bot_token"]).startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN: expected a bot token starting with xoxb-")
        app_token = values.get("slack_app_token")
        if app_token and not str(app_token).startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN: expected an app-level token starting with xapp-")
        if not app_token and not values.get("slack_signing_secret"):
            problems.append("SLACK_SIGNING_SECRET is required in HTTP mode (set it, or set SLACK_APP_TOKEN for Socket Mode)")
    elif values.get("slack_app_token"):
        problems.append("SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not")
    if values.get("clock_start"):
        try:
            datetime.fromisoformat(str(values["clock_start"]).replace("Z", "+00:00"))
        except ValueError:
            problems.append("PAPERBOT_CLOCK_START: expected an ISO time like 2026-11-23T08:59:00Z")
    if not values.get("slack_command", "/").startswith("/"):
        problems.append("SLACK_COMMAND: must start with /")
    return problems


def env_example() -> str:
    """The text of `.env.example`, generated from SETTINGS."""
    lines = [
        "# paperbot settings. Copy to .env and edit; every key is optional.",
        "# With no settings at all paperbot runs offline-capable with a local SQLite database.",
        "# Regenerate with: python -m bot.settings > .env.example",
        "",
    ]
    for spec in SETTINGS:
        lines.append(f"# {spec.doc}")
        lines.append(f"{spec.key}={spec.default}")
    return "\n".join(lines) + "\n"


def settings_fields() -> set[str]:
    """Attribute names of Settings (a test checks each has a SETTINGS entry)."""
    return {f.name for f in fields(Settings)} - {"extra"}


if __name__ == "__main__":
    print(env_example(), end="")


def make_clock(settings: Settings) -> Clock:
    """The system clock, or a scaled one when PAPERBOT_CLOCK_START/SPEED are set.

    Every command builds exactly one clock this way and hands it to everything it builds."""
    start = from_iso(settings.clock_start) if settings.clock_start else None
    return scaled_or_system_clock(start, settings.clock_speed)
