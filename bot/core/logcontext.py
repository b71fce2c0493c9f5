"""Ids that log lines carry while a piece of work runs: the outbox part being delivered, the
channel, the command being handled.

    with log_context(command="cmd-3f2a9c", channel="discord:1300..."):
        ...   # every log record made here, by any module, carries both (JSON logs show them)

A context variable rather than `extra=` on each call, because the lines worth correlating are
often written deep inside (the HTTP layer, an adapter's error mapping) by code that does not
know the ids. asyncio copies the context into each task, so concurrent commands keep their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The field names JSON log lines use (bot.app.logs); a record's own `extra=` of these wins.
FIELDS = ("outbox_part", "channel", "command", "command_kind")

_current: ContextVar[dict[str, str]] = ContextVar("paperbot_log_context", default={})  # noqa: B039 (never mutated)


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Add `fields` to every log record made inside the block (nested blocks add to them)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown log context fields: {sorted(unknown)}")
    token = _current.set({**_current.get(), **fields})
    try:
        yield
    finally:
        _current.reset(token)


def current_fields() -> dict[str, str]:
    """The fields set by the enclosing `log_context` blocks (a copy)."""
    return dict(_current.get())
