"""The one exception tree of paperbot.

    PaperbotError
    ├── ConfigError              settings are missing or invalid (all problems in one message)
    ├── UserInputError           a user typed something we cannot do; the text is shown to them
    │   ├── PermissionDenied     the user may not change this (e.g. channel digest settings)
    │   └── FormErrors           fields of a submitted form are invalid (.fields: field -> reason)
    ├── StoreError               the database cannot be opened, migrated or written
    │   ├── UnsupportedDatabase  a database paperbot has no backend for
    │   ├── StoreReadOnly        the database (or its directory) cannot be written
    │   ├── StoreFull            the disk (or the database's page limit) is full
    │   └── StoreLocked          another paperbot process holds the store's writer lock
    ├── SourceError              a source could not be fetched or its payload not understood
    │   ├── FetchError           network trouble, timeouts, HTTP errors after retries
    │   │   ├── HTTPStatusError  a final non-success status (carries .status)
    │   │   │   └── SourceRateLimited  429/503 asking to wait longer than we hold a request
    │   │   └── ResponseTooLarge the body exceeded the size cap
    │   ├── ParseError           the payload is not what the source expects (HTML, bomb, truncated)
    │   └── ArxivAPIError        the arXiv API answered with its error feed
    ├── SummarizerError          an LLM call failed; callers fall back to the offline summary
    │   ├── LLMResponseError     the model's answer was not valid summary JSON
    │   └── BudgetExhausted      today's token budget is spent
    └── DeliveryError            an adapter could not deliver a message
        ├── RetryAfter           rate limited; retry after .retry_after seconds
        ├── TransientDeliveryError  5xx / network: retried later by the outbox
        └── PermanentDeliveryError  will never succeed (channel gone, not in channel, DMs blocked)

Callers catch the narrowest class they can handle; everything a user may see has a one-line
`str()` that needs no traceback to be understood.
"""

from __future__ import annotations

from bot.core.redact import redact_url


class PaperbotError(Exception):
    """Base class of every error paperbot raises on purpose."""


class ConfigError(PaperbotError):
    """Settings are missing or invalid; `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in self.problems))


class UserInputError(PaperbotError):
    """Something a user typed cannot be done; the message is the one line they see."""


class PermissionDenied(UserInputError):
    """The user may not perform this change."""


class FormErrors(UserInputError):
    """Fields of a submitted form are invalid: `fields` maps each field's name to one line
    saying what is wrong, to be shown beside that field."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in self.fields.items()))


class StoreError(PaperbotError):
    """The store cannot be opened, migrated or queried."""


class UnsupportedDatabase(StoreError):
    """The configured database URL names a backend that is not available yet."""


class StoreReadOnly(StoreError):
    """The database cannot be written: a read-only or immutable file, or no permission."""


class StoreFull(StoreError):
    """A write failed because the disk is full; the transaction was rolled back, nothing
    already stored is lost."""


class StoreLocked(StoreError):
    """Another process holds the store's writer lock; `holder` describes it (pid, command)."""

    def __init__(self, message: str, *, holder: str = "") -> None:
        self.holder = holder
        super().__init__(message)


class SourceError(PaperbotError):
    """A source failed; `source` names it so one failing source never hides the others."""

    def __init__(self, message: str, *, source: str = "") -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class FetchError(SourceError):
    """The request could not be completed (network, timeout, HTTP error after retries)."""


class HTTPStatusError(FetchError):
    """A final non-success HTTP status."""

    def __init__(self, status: int, url: str, *, source: str = "", body: bytes = b"", detail: str = "") -> None:
        self.status = status
        self.url = url
        self.body = body
        # The URL may carry credentials (FEEDS); the message is shown and stored, so not those.
        super().__init__(f"HTTP {status} from {redact_url(url)}{detail}", source=source)


class SourceRateLimited(HTTPStatusError):
    """The server answered 429 or 503 with a Retry-After longer than a request may wait (or
    than its deadline leaves): the source's next fetch moves to then, holding nothing meanwhile."""

    def __init__(self, status: int, url: str, retry_after: float, *, source: str = "") -> None:
        self.retry_after = max(0.0, float(retry_after))
        super().__init__(status, url, source=source, detail=f", asking to wait {self.retry_after:.0f} s")


class ResponseTooLarge(FetchError):
    """The response body exceeded the configured size cap."""


class ParseError(SourceError):
    """The payload is not a valid document of the expected kind."""


class ArxivAPIError(SourceError):
    """The arXiv API returned its error feed (HTTP 400 with an `Error` entry)."""


class SummarizerError(PaperbotError):
    """An LLM summary could not be made; the offline summary is used instead."""


class LLMResponseError(SummarizerError):
    """The model answered, but not with valid summary JSON."""


class BudgetExhausted(SummarizerError):
    """Today's LLM token budget is spent."""


class DeliveryError(PaperbotError):
    """A message could not be delivered to a chat platform."""


class RetryAfter(DeliveryError):
    """The platform rate-limited us; try again after `retry_after` seconds."""

    def __init__(self, retry_after: float, message: str = "rate limited") -> None:
        self.retry_after = max(0.0, float(retry_after))
        super().__init__(f"{message}; retry after {self.retry_after:.1f}s")


class TransientDeliveryError(DeliveryError):
    """A failure that may pass (5xx, network); the outbox retries later."""


class PermanentDeliveryError(DeliveryError):
    """A failure that retrying cannot fix; `reason` is a short machine-readable code.

    Reasons used by the adapters: channel_not_found, not_in_channel, is_archived,
    missing_access, missing_permissions, dm_blocked, user_not_found. `hint` is an optional
    platform-specific next step for a person.
    """

    def __init__(self, reason: str, message: str = "", *, hint: str = "") -> None:
        self.reason = reason
        # What a person can do about it on that platform ("invite the bot with /invite
        # @paperbot"); the core adds it to the notice it sends whoever set the delivery up.
        self.hint = hint
        super().__init__(message or reason)
