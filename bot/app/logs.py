"""Logging setup: text or JSON lines, and secrets redacted from every record: the configured
secrets (tokens, API keys) and any credentials inside a URL (`user:pass@`, `?apikey=`).

JSON lines also carry the ids of the work in progress (`outbox_part`, `channel`, `command`,
`command_kind`): from `bot.core.logcontext` (set where a part is delivered and a command is
handled) or from a call's own `extra={...}`. Redaction applies to the finished line, ids
included."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from bot.core.logcontext import FIELDS, current_fields
from bot.core.redact import redact_urls
from bot.settings import Settings


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then replaces every configured secret (tokens, API keys) with `***`
    and strips the credentials of every URL in the line (`bot.core.redact.redact_urls`).

    Redacting the finished line, not the message, also covers exception text and tracebacks,
    where a library may echo a URL or header that carries a token.
    """

    def __init__(self, inner: logging.Formatter, secrets: list[str]) -> None:
        super().__init__()
        self.inner = inner
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted((s for s in secrets if len(s) >= 6), key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return redact_urls(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the work's ids (see the module)
    and the exception, if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(current_fields())
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(settings: Settings, stream: object = None) -> None:
    """Configure the root logger once, to stderr, from LOG_LEVEL and LOG_FORMAT."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    inner = (
        JsonFormatter()
        if settings.log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.setFormatter(RedactingFormatter(inner, settings.secrets()))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # Third-party loggers are chatty at INFO and may echo request URLs with tokens.
    for noisy in ("aiohttp.access", "slack_bolt", "slack_sdk", "discord", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
