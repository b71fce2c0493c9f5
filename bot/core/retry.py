"""Waiting politely: the one backoff formula, Retry-After parsing, and per-key spacing.

Used by the HTTP layer (sources), the LLM client, the outbox, source failure scheduling and
the platform adapters, so every retry in paperbot grows the same way and every `Retry-After`
is read the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC

from bot.core.clock import system_clock, system_monotonic

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


def backoff_delay(
    failures: int, *, base: float, cap: float = math.inf, jitter: Callable[[], float] | None = None
) -> float:
    """Seconds to wait after the `failures`-th failure in a row: base, 2 base, 4 base, ...
    at most `cap`. With `jitter` (a function returning [0, 1), e.g. `random.random`) the delay
    is scaled into [50%, 100%], which spreads the retries of many clients hitting one server."""
    delay = min(cap, base * 2 ** max(0, failures - 1))
    if jitter is not None:
        delay *= 0.5 + jitter() / 2
    return delay


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent
    or malformed. An HTTP date is measured against `now` (POSIX seconds; default: the real
    time, since the server's date is real time whatever the bot's own clock says)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else system_clock().timestamp()
    return max(0.0, when.timestamp() - current)


class KeySpacer:
    """One turn at a time per key (a host, a channel), each turn starting at least
    `interval(key)` seconds after the previous one for that key ended.

    `async with spacer.turn(key): ...` waits for the key's lock and for the interval, runs the
    block, and records when it finished (also when it raised: a failed request still counts
    against the remote's rate limit)."""

    def __init__(
        self,
        interval: Callable[[str], float],
        *,
        sleep: Sleep = asyncio.sleep,
        monotonic: Monotonic = system_monotonic,
    ) -> None:
        self.interval = interval
        self._sleep = sleep
        self._monotonic = monotonic
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    @contextlib.asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        """Hold `key`'s turn for the duration of the block (see the class docstring)."""
        async with self._locks.setdefault(key, asyncio.Lock()):
            interval = self.interval(key)
            if interval > 0 and key in self._last:
                wait = self._last[key] + interval - self._monotonic()
                if wait > 0:
                    await self._sleep(wait)
            try:
                yield
            finally:
                self._last[key] = self._monotonic()
