"""Settings: one typed model, read from the environment and an optional `.env` file at start.

`Settings` declares every setting once: its type, default, environment key (the upper-cased
field name, or the `validation_alias` where it differs, e.g. PAPERBOT_DATA_DIR -> data_dir),
one-line doc (the field description) and `.env.example` section (`json_schema_extra["group"]`).
`.env.example` is generated from the model (`python -m bot.settings > .env.example`) and a
test keeps the two in step.

Where values come from: the model itself reads ONLY its keyword arguments
(`settings_customise_sources` keeps just pydantic-settings' init source), so tests that build
`Settings(slack_bot_token=...)` never see the machine's variables or a stray `.env`.
`load_settings()` is the one place that reads the environment and `.env` (environment wins)
and passes the raw text in as keyword arguments; it turns pydantic's ValidationError into one
ConfigError naming every bad key by its environment key, never echoing a secret.

Checks that involve two settings (SUMMARIZER=llm needs LLM_PROVIDER, Slack HTTP mode needs
SLACK_SIGNING_SECRET, ...) are field validators on the LATER field of the pair reading the
earlier one from `info.data`, so they are reported together with every other problem. A field
that failed its own validation is absent from `info.data`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.core.clock import Clock, from_iso, scaled_or_system_clock
from bot.core.errors import ConfigError
from bot.core.redact import redact_urls

if TYPE_CHECKING:
    from bot.store.db import DatabaseURL

# Error type of a problem whose text is the whole line shown to the user (it names its keys).
_WHOLE_LINE = "paperbot_setting"


def _whole_line(line: str) -> PydanticCustomError:
    """A validation error reported exactly as `line`, without the usual `KEY=value:` prefix."""
    return PydanticCustomError(_WHOLE_LINE, "{line}", {"line": line})


def _flag(value: Any) -> Any:
    """Text as a boolean: 1/true/yes/on or 0/false/no/off in any case; empty is false."""
    if not isinstance(value, str):
        return value
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _lowered(value: Any) -> Any:
    """Choices are matched without regard to case or surrounding spaces."""
    return value.strip().lower() if isinstance(value, str) else value


def _whole_number(value: Any) -> Any:
    """Text as Python's int() reads it ("7", " 7 ", "1_000"; not "7.0")."""
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        raise ValueError("expected a whole number") from None


def _optional_whole_number(value: Any) -> Any:
    """Empty text is "not set" (None); anything else must be a whole number."""
    if isinstance(value, str) and not value.strip():
        return None
    return _whole_number(value)


def _number(value: Any) -> Any:
    """Text as Python's float() reads it ("30", "0.5", "1e3")."""
    if not isinstance(value, str):
        return value
    try:
        return float(value)
    except ValueError:
        raise ValueError("expected a number") from None


def _comma_separated(value: Any) -> Any:
    """`a, b,,c` -> ("a", "b", "c"); anything but text is left to the field's type."""
    if not isinstance(value, str):
        return value
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _check_url_scheme(value: str) -> str:
    if value and not re.match(r"^(https?|wss?)://", value):
        raise ValueError("expected an http(s):// or ws(s):// URL")
    return value


def _base_url(value: str) -> str:
    """A base URL (or empty): paths are appended to it, so a trailing slash is dropped."""
    return _check_url_scheme(value).rstrip("/")


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone such as Europe/Berlin or America/New_York") from None
    return value


def _time_of_day(value: str) -> str:
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value.strip()):
        raise ValueError("expected a time of day like 09:00")
    return value.strip()


Flag = Annotated[bool, BeforeValidator(_flag)]
RetentionDays = Annotated[int, BeforeValidator(_whole_number), Field(ge=1)]
# A digest looks back at most 14 days and leaves out papers published 30 days before its window,
# so the ledger of what a channel got must reach at least 44 days back.
HistoryDays = Annotated[int, BeforeValidator(_whole_number), Field(ge=45)]
PositiveWholeNumber = Annotated[PositiveInt, BeforeValidator(_whole_number)]
WholeNumberOrZero = Annotated[NonNegativeInt, BeforeValidator(_whole_number)]
PositiveNumber = Annotated[PositiveFloat, BeforeValidator(_number)]
NumberOrZero = Annotated[NonNegativeFloat, BeforeValidator(_number)]
BaseURL = Annotated[str, AfterValidator(_base_url)]
# Feed URLs are fetched as written (a trailing slash may matter to the server), only checked.
FeedURL = Annotated[str, AfterValidator(_check_url_scheme)]
TimeZoneName = Annotated[str, AfterValidator(_time_zone)]
TimeOfDay = Annotated[str, AfterValidator(_time_of_day)]
StrippedText = Annotated[str, AfterValidator(str.strip)]
LogLevel = Annotated[Literal["debug", "info", "warning", "error"], BeforeValidator(_lowered)]
LogFormat = Annotated[Literal["text", "json"], BeforeValidator(_lowered)]
SmtpSecurity = Annotated[Literal["starttls", "tls", "none"], BeforeValidator(_lowered)]
SummarizerName = Annotated[Literal["offline", "llm"], BeforeValidator(_lowered)]
LLMProvider = Annotated[Literal["", "openai", "anthropic"], BeforeValidator(_lowered)]
Names = Annotated[tuple[str, ...], BeforeValidator(_comma_separated)]
FeedURLs = Annotated[tuple[FeedURL, ...], BeforeValidator(_comma_separated)]
GuildIds = Annotated[tuple[Annotated[int, BeforeValidator(_whole_number)], ...], BeforeValidator(_comma_separated)]
ShardIds = Annotated[tuple[Annotated[NonNegativeInt, BeforeValidator(_whole_number)], ...], BeforeValidator(_comma_separated)]
OptionalShardCount = Annotated[PositiveInt | None, BeforeValidator(_optional_whole_number)]

CORE = "Core"
HTTP = "HTTP requests to sources"
SOURCES = "Sources"
SUMMARIES = "Summaries"
RELEVANCE = "Relevance and embeddings"
DIGESTS = "Digests and alerts"
CONSOLE = "Console and demo"
SLACK = "Slack"
DISCORD = "Discord"
WEB = "Web site and feeds"
EMAIL = "Email"


# Settings that an earlier setting makes required: field -> (whether the earlier settings, as
# validated so far, need it; the line shown when it is empty). One validator checks them all.
_NEEDED_BY_EARLIER: dict[str, tuple[Callable[[dict[str, Any]], bool], str]] = {
    "llm_provider": (
        lambda earlier: earlier.get("summarizer") == "llm",
        "SUMMARIZER=llm needs LLM_PROVIDER (openai or anthropic)",
    ),
    "llm_api_key": (
        lambda earlier: earlier.get("summarizer") == "llm" and earlier.get("llm_provider") == "anthropic",
        "LLM_PROVIDER=anthropic needs LLM_API_KEY",
    ),
    "llm_model": (lambda earlier: earlier.get("summarizer") == "llm", "SUMMARIZER=llm needs LLM_MODEL"),
    "embeddings_model": (
        lambda earlier: bool(earlier.get("embeddings_base_url")),
        "EMBEDDINGS_BASE_URL needs EMBEDDINGS_MODEL",
    ),
}


def _setting(default: Any, doc: str, group: str, env: str | None = None) -> Any:
    """A field: default, one-line doc, `.env.example` section, and env key if not NAME.upper()."""
    return Field(default, validation_alias=env, description=doc, json_schema_extra={"group": group})


class Settings(BaseSettings):
    """Validated, immutable settings. Build with `load_settings()`; tests construct directly.

    `Settings(**fields)` validates the values it is given exactly like `load_settings()` does
    and reads nothing else. Change a copy with `settings.model_copy(update=...)` (which does not
    validate: pass a `SecretStr` for a secret) or build a new one with `Settings(...)`.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        # Defaults go through the same validators, so cross-field rules see every field.
        validate_default=True,
        populate_by_name=True,
        # pydantic would print each bad input; a secret must never appear in an error.
        hide_input_in_errors=True,
    )

    # --- core --------------------------------------------------------------------------------
    data_dir: str = _setting(".paperbot", "Directory for the database and caches.", CORE, "PAPERBOT_DATA_DIR")
    database: str = _setting("", "Database path or URL: sqlite:///path.db, or postgresql://user:password@host/db for PostgreSQL; empty: <data dir>/paperbot.db.", CORE, "PAPERBOT_DB")
    store_lock_wait: NumberOrZero = _setting(60.0, "Seconds `paperbot run --once` waits for another paperbot on the same store to finish before giving up (`paperbot run` never waits: it refuses to start).", CORE)
    replica_id: str = _setting("", "PostgreSQL replicas: this process's name in outbox claims and logs; empty: <hostname>-<pid>-<random>, new at every start.", CORE, "PAPERBOT_REPLICA_ID")
    outbox_lease_seconds: PositiveNumber = _setting(60.0, "PostgreSQL replicas: how long a replica's claim on an outbox message, and its digest, alert and fetch locks, last unless renewed (every third of it); a dead or hung replica's work is taken over by the others after this.", CORE)
    worker_threads: PositiveWholeNumber = _setting(2, "Worker threads for the blocking work of the bot's process (searches, digest batches, large store writes); few, since they share the GIL with the event loop that acks every request.", CORE)
    worker_queue: WholeNumberOrZero = _setting(16, "Jobs that may wait for a worker thread; more wait (without holding the event loop) until one is done.", CORE)
    shutdown_grace: PositiveNumber = _setting(5.0, "Seconds a message send in flight at SIGTERM/SIGINT gets for the platform's answer to be recorded; nothing new starts, and paperbot exits within about twice this.", CORE)
    log_level: LogLevel = _setting("info", "Log verbosity: debug, info, warning or error.", CORE)
    log_format: LogFormat = _setting("text", "Log line format: text or json (one object per line).", CORE)
    user_agent: str = _setting("paperbot/0.1 (research paper bot; +https://github.com/paperbot/paperbot)", "User-Agent sent to every source; include a contact address for arXiv and Reddit.", CORE, "PAPERBOT_USER_AGENT")

    # --- HTTP requests to sources ------------------------------------------------------------
    http_timeout: PositiveNumber = _setting(30.0, "Seconds before one HTTP request to a source is abandoned.", HTTP)
    http_retries: WholeNumberOrZero = _setting(3, "Retries per request on connection errors, 5xx and 429 (with backoff).", HTTP)
    http_max_bytes: PositiveWholeNumber = _setting(26214400, "Largest response body accepted from a source, in bytes.", HTTP)
    http_concurrency: PositiveWholeNumber = _setting(4, "Requests to sources in flight at once (per host arXiv is always one).", HTTP)
    http_request_deadline: PositiveNumber = _setting(90.0, "Seconds one request to a source may take in all (connect, headers, body, every retry and its wait); then that fetch fails and the source tries again later.", HTTP)
    http_max_retry_wait: NumberOrZero = _setting(30.0, "Longest Retry-After (429/503) waited for inside a request; a longer one moves that source's next fetch instead.", HTTP)

    # --- sources -----------------------------------------------------------------------------
    arxiv_enabled: Flag = _setting(True, "Fetch the arXiv listing feeds.", SOURCES)
    arxiv_categories: str = _setting("cs.LG+cs.CL+cs.AI+cs.CV+stat.ML", "arXiv categories joined with + (as in rss.arxiv.org/rss/cs.LG+cs.CL).", SOURCES)
    arxiv_rss_url: BaseURL = _setting("https://rss.arxiv.org/rss", "Base URL of the arXiv listing feeds.", SOURCES)
    arxiv_api_url: BaseURL = _setting("https://export.arxiv.org/api/query", "arXiv API endpoint (backfill and /papers paper lookups).", SOURCES)
    arxiv_interval: PositiveWholeNumber = _setting(3600, "Seconds between arXiv listing fetches.", SOURCES)
    arxiv_min_delay: PositiveNumber = _setting(3.0, "Minimum seconds between two requests to an arXiv host (their terms ask for 3).", SOURCES)
    hf_enabled: Flag = _setting(True, "Fetch Hugging Face daily papers.", SOURCES)
    hf_api_url: BaseURL = _setting("https://huggingface.co/api/daily_papers", "Hugging Face daily papers endpoint.", SOURCES)
    hf_token: SecretStr = _setting(SecretStr(""), "Optional Hugging Face token (higher rate limits).", SOURCES)
    hf_interval: PositiveWholeNumber = _setting(7200, "Seconds between Hugging Face fetches.", SOURCES)
    reddit_enabled: Flag = _setting(True, "Fetch Reddit subreddits.", SOURCES)
    reddit_subreddits: Names = _setting(("MachineLearning", "LocalLLaMA"), "Comma-separated subreddits to follow.", SOURCES)
    reddit_base_url: BaseURL = _setting("https://www.reddit.com", "Reddit base URL (JSON listings at /r/<sub>/new.json).", SOURCES)
    reddit_interval: PositiveWholeNumber = _setting(1800, "Seconds between Reddit fetches.", SOURCES)
    feeds: FeedURLs = _setting((), "Comma-separated RSS/Atom feed URLs (lab and company research blogs).", SOURCES)
    feed_interval: PositiveWholeNumber = _setting(3600, "Seconds between fetches of each extra feed.", SOURCES)

    # --- summaries ---------------------------------------------------------------------------
    summarizer: SummarizerName = _setting("offline", "Summarizer: offline (default, no network) or llm (needs LLM_PROVIDER).", SUMMARIES)
    llm_provider: LLMProvider = _setting("", "LLM API flavour: openai (any OpenAI-compatible server) or anthropic.", SUMMARIES)
    llm_base_url: BaseURL = _setting("", "LLM API base URL, e.g. https://api.openai.com/v1 or http://localhost:11434/v1.", SUMMARIES)
    llm_api_key: SecretStr = _setting(SecretStr(""), "LLM API key (never logged).", SUMMARIES)
    llm_model: str = _setting("", "LLM model name, e.g. gpt-4o-mini or claude-3-5-haiku-latest.", SUMMARIES)
    llm_concurrency: PositiveWholeNumber = _setting(2, "LLM requests in flight at once.", SUMMARIES)
    llm_background_concurrency: PositiveWholeNumber = _setting(1, "LLM requests at once for papers already answered with their offline summary (commands and the site never wait for the LLM; these upgrade the summary for the next view). Within LLM_CONCURRENCY.", SUMMARIES)
    llm_queue_size: PositiveWholeNumber = _setting(500, "Papers waiting for an LLM summary after an answer showed their offline one; when full, the background pass picks them up later.", SUMMARIES)
    llm_timeout: PositiveNumber = _setting(60.0, "Seconds before one LLM request is abandoned (the offline summary is used).", SUMMARIES)
    llm_daily_token_budget: WholeNumberOrZero = _setting(200000, "Tokens per UTC day across all LLM calls (0 = no limit); when spent, the offline summary is used.", SUMMARIES)
    summarize_background: Flag = _setting(True, "Summarize new papers in the background (bounded batches).", SUMMARIES)
    summarize_batch: PositiveWholeNumber = _setting(50, "Papers per background summarizing pass.", SUMMARIES)
    summarize_workers: WholeNumberOrZero = _setting(2, "Worker processes for offline summaries (started on first use; pure-Python work that would otherwise hold the event loop's process); 0 = threads of the bot's own process.", SUMMARIES)

    # --- relevance and embeddings ------------------------------------------------------------
    embeddings_base_url: BaseURL = _setting("", "Optional OpenAI-compatible embeddings API base URL (…/v1, POST /embeddings); empty: the offline representation only.", RELEVANCE)
    embeddings_api_key: SecretStr = _setting(SecretStr(""), "Embeddings API key (never logged).", RELEVANCE)
    embeddings_model: StrippedText = _setting("", "Embeddings model name, e.g. text-embedding-3-small; needed with EMBEDDINGS_BASE_URL.", RELEVANCE)
    embeddings_batch_size: PositiveWholeNumber = _setting(64, "Texts per embeddings request.", RELEVANCE)
    embeddings_timeout: PositiveNumber = _setting(30.0, "Seconds before one embeddings request is abandoned (the offline representation is used).", RELEVANCE)
    embeddings_daily_token_budget: WholeNumberOrZero = _setting(500000, "Embedding tokens per UTC day (0 = no limit); when spent, the offline representation is used.", RELEVANCE)

    # --- digests and alerts ------------------------------------------------------------------
    scheduler_tick: PositiveNumber = _setting(60.0, "Seconds between scheduler ticks (due digests, alerts, outbox).", DIGESTS)
    digest_default_time: TimeOfDay = _setting("09:00", "Local time of a digest when /papers digest on names none.", DIGESTS)
    digest_default_tz: TimeZoneName = _setting("UTC", "Time zone of a digest when /papers digest on names none.", DIGESTS)
    channels_file: str = _setting("", "Optional JSON file of channel digest settings applied at start (deployments).", DIGESTS)
    alert_interval: PositiveWholeNumber = _setting(3600, "Seconds between two DM alerts to one user (alerts are batched).", DIGESTS)
    alert_max_items: PositiveWholeNumber = _setting(10, "Papers listed in one DM alert; the rest are counted as +N more.", DIGESTS)
    retention_outbox_days: RetentionDays = _setting(30, "Days a sent or failed outbox message is kept (idempotency keys are never reused after that).", DIGESTS)
    retention_history_days: HistoryDays = _setting(60, "Days of digest runs, the delivered-papers ledger, sent alerts, shown notices and LLM usage kept (at least 45: never repeating a paper needs them).", DIGESTS)
    retention_waiting_days: RetentionDays = _setting(14, "Days a matched alert or a notice may wait for its user before it is dropped.", DIGESTS)

    # --- console and demo --------------------------------------------------------------------
    console_user: str = _setting("you", "Your user name in the console adapter.", CONSOLE)
    clock_start: str = _setting("", "Demo/testing only: start the bot's clock at this ISO time (e.g. 2026-11-23T08:59:00Z).", CONSOLE, "PAPERBOT_CLOCK_START")
    clock_speed: PositiveNumber = _setting(1.0, "Demo/testing only: how many bot seconds pass per real second.", CONSOLE, "PAPERBOT_CLOCK_SPEED")

    # --- web site and feeds ------------------------------------------------------------------
    web_enabled: Flag = _setting(True, "Serve the read-only web site and Atom feeds at HTTP_HOST:HTTP_PORT while paperbot runs.", WEB)
    http_host: str = _setting("127.0.0.1", "Address of the HTTP server (web site, feeds, /healthz, Slack HTTP mode); 127.0.0.1 serves this machine only, 0.0.0.0 every interface.", WEB)
    http_port: WholeNumberOrZero = _setting(3000, "Port of the HTTP server (web site, feeds, /healthz, Slack HTTP mode).", WEB)
    public_base_url: BaseURL = _setting("", "The site's address as readers reach it (e.g. https://papers.example.org), for links in digests and emails; empty: no links in chat digests.", WEB)
    web_access_token: SecretStr = _setting(SecretStr(""), "Optional token the site's pages and feeds require (Authorization: Bearer <token> or ?token=<token>).", WEB)
    metrics_enabled: Flag = _setting(True, "Serve Prometheus metrics at /metrics on the HTTP server (open, like /healthz: keep the port internal).", WEB)

    # --- email -------------------------------------------------------------------------------
    smtp_host: str = _setting("", "SMTP server; enables email digests (email:<address> channels and /papers email).", EMAIL)
    smtp_port: PositiveWholeNumber = _setting(587, "SMTP server port (587 for STARTTLS, 465 for TLS, 25 for none).", EMAIL)
    smtp_security: SmtpSecurity = _setting("starttls", "SMTP connection security: starttls, tls or none.", EMAIL)
    smtp_user: str = _setting("", "SMTP user name (empty: no login).", EMAIL)
    smtp_password: SecretStr = _setting(SecretStr(""), "SMTP password (never logged).", EMAIL)
    smtp_from: str = _setting("", "Sender address of digest emails, e.g. paperbot <papers@example.org>; required with SMTP_HOST.", EMAIL)
    smtp_timeout: PositiveNumber = _setting(30.0, "Seconds before one SMTP conversation is abandoned (retried later).", EMAIL)
    email_link_secret: SecretStr = _setting(SecretStr(""), "Secret that signs unsubscribe links (HMAC); empty: one is generated once and kept in the database.", EMAIL)

    # --- Slack -------------------------------------------------------------------------------
    slack_bot_token: SecretStr = _setting(SecretStr(""), "Slack bot token (xoxb-...); enables the Slack adapter.", SLACK)
    slack_app_token: SecretStr = _setting(SecretStr(""), "Slack app-level token (xapp-...); when set, Socket Mode is used.", SLACK)
    slack_signing_secret: SecretStr = _setting(SecretStr(""), "Slack signing secret; required in HTTP mode (no SLACK_APP_TOKEN).", SLACK)
    slack_client_id: str = _setting("", "Slack app Client ID. With SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET (and no SLACK_BOT_TOKEN) paperbot is a distributed app: any workspace installs it at /slack/install (HTTP mode).", SLACK)
    slack_client_secret: SecretStr = _setting(SecretStr(""), "Slack app Client Secret (used with SLACK_CLIENT_ID).", SLACK)
    slack_authorize_url: BaseURL = _setting("https://slack.com/oauth/v2/authorize", "Where /slack/install sends people to approve the app (proxies, tests).", SLACK)
    slack_redirect_uri: FeedURL = _setting("", "The OAuth redirect URL registered in the app (https://your.host/slack/oauth_redirect); empty: Slack uses the app's only one.", SLACK)
    slack_api_url: BaseURL = _setting("https://slack.com/api", "Slack Web API base URL (GovSlack, proxies, tests).", SLACK)
    slack_command: str = _setting("/papers", "Slash command name registered in the Slack app.", SLACK)
    slack_admin_only: Flag = _setting(False, "Only workspace admins and owners may change channel digest settings.", SLACK)

    # --- Discord -----------------------------------------------------------------------------
    discord_token: SecretStr = _setting(SecretStr(""), "Discord bot token; enables the Discord adapter.", DISCORD)
    discord_application_id: str = _setting("", "Discord application id (for paperbot discord-invite).", DISCORD)
    discord_api_url: BaseURL = _setting("https://discord.com/api/v10", "Discord REST base URL (proxies, tests).", DISCORD)
    discord_gateway_url: BaseURL = _setting("wss://gateway.discord.gg", "Discord gateway websocket URL (proxies, tests).", DISCORD)
    discord_guild_ids: GuildIds = _setting((), "Comma-separated guild ids to sync commands to instantly; empty: global sync.", DISCORD)
    discord_manage_permission: str = _setting("manage_channels", "Discord permission needed to change channel digest settings.", DISCORD)
    discord_shard_count: OptionalShardCount = _setting(None, "Total number of gateway shards across every replica; empty: one connection holds every guild.", DISCORD)
    discord_shard_ids: ShardIds = _setting((), "Comma-separated shard ids this replica runs (each below DISCORD_SHARD_COUNT); empty with a count: all of them.", DISCORD)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments only: the environment and `.env` are read by `load_settings()`."""
        return (init_settings,)

    # --- checks of one value beyond its type -------------------------------------------------

    @field_validator("database")
    @classmethod
    def _database_is_usable(cls, database: str) -> str:
        if not database:
            return database
        # bot.store is a whole package; importing it here keeps `import bot.settings` light.
        from bot.store.db import parse_database_url

        # A ValueError (e.g. an unknown scheme) is reported as PAPERBOT_DB='...': reason.
        parse_database_url(database)
        return database

    @field_validator("clock_start")
    @classmethod
    def _clock_start_is_iso(cls, clock_start: str) -> str:
        if clock_start:
            try:
                datetime.fromisoformat(clock_start.replace("Z", "+00:00"))
            except ValueError:
                raise _whole_line("PAPERBOT_CLOCK_START: expected an ISO time like 2026-11-23T08:59:00Z") from None
        return clock_start

    @field_validator("slack_command")
    @classmethod
    def _slack_command_is_a_command(cls, command: str) -> str:
        if not command.startswith("/"):
            raise _whole_line("SLACK_COMMAND: must start with /")
        return command

    @field_validator("slack_bot_token")
    @classmethod
    def _slack_bot_token_shape(cls, token: SecretStr) -> SecretStr:
        if token.get_secret_value() and not token.get_secret_value().startswith("xoxb-"):
            raise _whole_line("SLACK_BOT_TOKEN: expected a bot token starting with xoxb-")
        return token

    # --- checks across settings: on the later field, reading earlier ones from info.data ------

    @field_validator("llm_base_url")
    @classmethod
    def _llm_base_url_defaults_to_provider(cls, base_url: str, info: ValidationInfo) -> str:
        provider = info.data.get("llm_provider")
        if provider and not base_url:
            return "https://api.anthropic.com" if provider == "anthropic" else "https://api.openai.com/v1"
        return base_url

    @field_validator(*_NEEDED_BY_EARLIER)
    @classmethod
    def _needed_by_an_earlier_setting(cls, value: str | SecretStr, info: ValidationInfo) -> str | SecretStr:
        needed, line = _NEEDED_BY_EARLIER[str(info.field_name)]
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if needed(info.data) and not text:
            raise _whole_line(line)
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _slack_app_token_fits_bot_token(cls, token: SecretStr, info: ValidationInfo) -> SecretStr:
        if not token.get_secret_value():
            return token
        if not _was_set(info, "slack_bot_token"):
            raise _whole_line("SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not")
        if not token.get_secret_value().startswith("xapp-"):
            raise _whole_line("SLACK_APP_TOKEN: expected an app-level token starting with xapp-")
        return token

    @field_validator("slack_signing_secret")
    @classmethod
    def _http_mode_needs_signing_secret(cls, secret: SecretStr, info: ValidationInfo) -> SecretStr:
        http_mode = _was_set(info, "slack_bot_token") and not _was_set(info, "slack_app_token")
        if http_mode and not secret.get_secret_value():
            raise _whole_line(
                "SLACK_SIGNING_SECRET is required in HTTP mode (set it, or set SLACK_APP_TOKEN for Socket Mode)"
            )
        return secret

    @field_validator("smtp_from")
    @classmethod
    def _smtp_needs_sender(cls, sender: str, info: ValidationInfo) -> str:
        if info.data.get("smtp_host") and not sender.strip():
            raise _whole_line("SMTP_HOST is set but SMTP_FROM is not (the sender address of digest emails)")
        if sender.strip() and "@" not in sender:
            raise _whole_line("SMTP_FROM: expected an address like papers@example.org or paperbot <papers@example.org>")
        if any(ch in sender for ch in "\r\n"):
            raise _whole_line("SMTP_FROM: must be one line")
        return sender.strip()

    @field_validator("slack_client_secret")
    @classmethod
    def _distributed_app_needs_oauth_and_http_mode(cls, secret: SecretStr, info: ValidationInfo) -> SecretStr:
        if not info.data.get("slack_client_id"):
            return secret  # a client secret alone changes nothing: the client id turns OAuth on
        problems = []
        if not secret.get_secret_value():
            problems.append("SLACK_CLIENT_ID needs SLACK_CLIENT_SECRET")
        if _was_set(info, "slack_bot_token"):
            problems.append(
                "set SLACK_BOT_TOKEN (your own app in one workspace) or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET (an app any workspace installs), not both"
            )
        if _was_set(info, "slack_app_token"):
            problems.append("SLACK_CLIENT_ID runs in HTTP mode: unset SLACK_APP_TOKEN (Slack does not distribute Socket Mode apps)")
        if not _was_set(info, "slack_signing_secret"):
            problems.append("SLACK_CLIENT_ID needs SLACK_SIGNING_SECRET (the install flow runs in HTTP mode)")
        if problems:
            raise _whole_line("; ".join(problems))
        return secret

    @field_validator("discord_shard_ids")
    @classmethod
    def _shard_ids_below_count(cls, shard_ids: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        if not shard_ids:
            return shard_ids
        if "discord_shard_count" not in info.data:
            return shard_ids  # the count itself is invalid, and reported
        count = info.data["discord_shard_count"]
        if count is None:
            raise _whole_line("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total number of shards across replicas)")
        too_big = [shard for shard in shard_ids if shard >= count]
        if too_big:
            raise _whole_line(
                f"DISCORD_SHARD_IDS: shard ids run from 0 to DISCORD_SHARD_COUNT-1 ({count - 1}); "
                f"{', '.join(map(str, too_big))} is out of range"
            )
        if len(set(shard_ids)) != len(shard_ids):
            raise _whole_line("DISCORD_SHARD_IDS: a shard id is listed twice")
        return tuple(sorted(shard_ids))

    # --- derived values ----------------------------------------------------------------------

    @property
    def discord_shards(self) -> tuple[int, ...]:
        """The shard ids this process runs (every one when only the count is set); empty when
        Discord is not sharded."""
        if self.discord_shard_count is None:
            return ()
        return self.discord_shard_ids or tuple(range(self.discord_shard_count))

    @property
    def database_url(self) -> DatabaseURL:
        """The database to open: PAPERBOT_DB, or paperbot.db inside the data directory."""
        from bot.store.db import DatabaseURL, parse_database_url

        if self.database:
            return parse_database_url(self.database)
        return DatabaseURL("sqlite", str(Path(self.data_dir) / "paperbot.db"))

    @property
    def slack_enabled(self) -> bool:
        """Whether the Slack adapter should start (your own app, or a distributed one)."""
        return bool(self.slack_bot_token.get_secret_value()) or self.slack_distributed

    @property
    def slack_distributed(self) -> bool:
        """Whether Slack runs as a distributed app: installed by any workspace through OAuth."""
        return bool(self.slack_client_id)

    @property
    def discord_enabled(self) -> bool:
        """Whether the Discord adapter should start."""
        return bool(self.discord_token.get_secret_value())

    @property
    def email_enabled(self) -> bool:
        """Whether the email adapter should start (SMTP_HOST is set)."""
        return bool(self.smtp_host.strip())

    @property
    def site_url(self) -> str:
        """Where the site's links point: PUBLIC_BASE_URL, else the local server's address."""
        if self.public_base_url:
            return self.public_base_url
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::", "") else self.http_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.http_port}"

    @property
    def embeddings_enabled(self) -> bool:
        """Whether an embeddings endpoint and model are configured."""
        return bool(self.embeddings_base_url and self.embeddings_model)

    @property
    def llm_enabled(self) -> bool:
        """Whether LLM summaries are configured and chosen."""
        return self.summarizer == "llm" and bool(self.llm_provider)

    def secrets(self) -> list[str]:
        """Every secret value that is set, so logging can redact them."""
        values = (getattr(self, name).get_secret_value() for name in secret_fields())
        return [value for value in values if value]


def _was_set(info: ValidationInfo, secret_name: str) -> bool:
    """Whether an earlier secret field holds a value. One that failed its own check (so is
    missing from info.data) was set: an empty secret always passes."""
    if secret_name not in info.data:
        return True
    return bool(info.data[secret_name].get_secret_value())


def env_key(field_name: str) -> str:
    """The environment key of a Settings field: its alias, or its upper-cased name."""
    alias = Settings.model_fields[field_name].validation_alias
    return alias if isinstance(alias, str) else field_name.upper()


def settings_fields() -> set[str]:
    """Attribute names of every setting."""
    return set(Settings.model_fields)


def secret_fields() -> tuple[str, ...]:
    """Names of the fields holding secrets (typed SecretStr): never shown, always redacted."""
    return tuple(name for name, info in Settings.model_fields.items() if info.annotation is SecretStr)


def setting_group(field_name: str) -> str:
    """The `.env.example` section a field is listed under."""
    extra = Settings.model_fields[field_name].json_schema_extra
    group = extra.get("group") if isinstance(extra, dict) else None
    return group if isinstance(group, str) else ""


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE pairs of a `.env` file: `#` comments, quotes, `export` prefix (python-dotenv's
    parser, the one pydantic-settings uses); `${VAR}` is kept as written, not expanded."""
    values = dotenv_values(path, interpolate=False, encoding="utf-8")
    return {key: value for key, value in values.items() if value is not None}


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> Settings:
    """Read settings from `.env` (if present) overlaid by the environment, and validate them.

    Only the exact (upper-case) keys of the settings are read. Raises ConfigError naming
    every missing or invalid key at once.
    """
    env = os.environ if environ is None else environ
    text: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        text.update(read_dotenv(dotenv))
    text.update(env)
    field_by_key = {env_key(name): name for name in Settings.model_fields}
    text = {key: value for key, value in text.items() if key in field_by_key}
    # Raw text for every field; Settings parses it (Any: mypy would expect parsed values).
    given: dict[str, Any] = {field_by_key[key]: value for key, value in text.items()}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError(config_problems(exc, text)) from None


def config_problems(error: ValidationError, text_by_key: Mapping[str, str] | None = None) -> list[str]:
    """One line per problem, naming the environment key: `KEY='text': reason`, or a line that
    names its keys itself. The value shown is the text as written (from `text_by_key`) where
    known, else pydantic's input, with any URL's credentials removed (bot.core.redact); a
    secret is shown as (hidden)."""
    text_by_key = text_by_key or {}
    keys_by_input_name = {name: env_key(name) for name in Settings.model_fields}
    keys_by_input_name.update({key: key for key in keys_by_input_name.values()})
    secret_keys = {env_key(name) for name in secret_fields()}
    lines = []
    for problem in error.errors(include_url=False):
        name = str(problem["loc"][0]) if problem["loc"] else ""
        key = keys_by_input_name.get(name, name)
        if problem["type"] == _WHOLE_LINE:
            lines.append(str(problem["ctx"]["line"]))
            continue
        reason = str(problem["ctx"]["error"]) if problem["type"] == "value_error" else problem["msg"]
        if key in secret_keys:
            shown = "(hidden)"
        else:
            # A URL's credentials are removed (a bad PAPERBOT_DB may carry a password).
            given = text_by_key[key] if key in text_by_key else problem["input"]
            shown = repr(redact_urls(given) if isinstance(given, str) else given)
        lines.append(f"{key}={shown}: {reason}")
    return lines


def _env_text(value: Any) -> str:
    """A default as it is written in `.env` (an unset optional value is empty)."""
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def env_example() -> str:
    """The text of `.env.example`: one commented section per group, in the model's order."""
    lines = [
        "# paperbot settings. Copy to .env and edit; every key is optional.",
        "# With no settings at all paperbot runs offline-capable with a local SQLite database.",
        "# Regenerate with: python -m bot.settings > .env.example",
    ]
    group = None
    for name, info in Settings.model_fields.items():
        if setting_group(name) != group:
            group = setting_group(name)
            lines += ["", f"# === {group} ==="]
        lines.append(f"# {info.description}")
        lines.append(f"{env_key(name)}={_env_text(info.default)}")
    return "\n".join(lines) + "\n"


def make_clock(settings: Settings) -> Clock:
    """The system clock, or a scaled one when PAPERBOT_CLOCK_START/SPEED are set.

    Every command builds exactly one clock this way and hands it to everything it builds."""
    start = from_iso(settings.clock_start) if settings.clock_start else None
    return scaled_or_system_clock(start, settings.clock_speed)


if __name__ == "__main__":
    print(env_example(), end="")
