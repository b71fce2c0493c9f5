"""Prometheus metrics: every instrument paperbot records, defined once, here.

    metrics = Metrics()                      # owns a fresh CollectorRegistry (one per runtime)
    metrics.commands.labels(platform="discord", kind="search", outcome="ok").inc()
    metrics.read_state_with(lambda: OperationalState(...))   # gauges read at scrape time
    text = metrics.exposition()              # what GET /metrics answers

There are no module-level instruments: a `Metrics` object is built by whoever owns the process
(bot.app.runtime) and handed to what records (delivery, adapters), so each test gets its own
registry and nothing leaks between them. Code that is given no `Metrics` records nothing.

What lives in the store (outbox depth, the oldest pending message, each source's lag, the LLM
and embedding tokens of the day) is not counted in memory but read when Prometheus scrapes,
through one callback that returns an `OperationalState`: the numbers are then the same in every
replica and right after a restart. A failing callback leaves those gauges out of that scrape
(and is logged); the counters are still served.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# What `Content-Type` a scrape answer carries (the text exposition format, version 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Commands range from instant (help, topics) to a search that summarizes new papers with an LLM.
COMMAND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Slack and Discord both give 3 seconds for the acknowledgement; the interesting part is below 1 s.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0)


@dataclass(frozen=True)
class OperationalState:
    """What the store says at scrape time (see the module docstring)."""

    outbox_depth: int = 0  # rows pending or being sent
    oldest_pending_seconds: float = 0.0  # age of the oldest such row; 0 when there is none
    source_lag_seconds: dict[str, float] = field(default_factory=dict)  # since each source's last success
    llm_tokens_today: int = 0  # prompt + completion tokens on the current UTC day
    embedding_tokens_today: int = 0
    summaries_stored: int = 0


class _StateCollector(Collector):
    """Gauges computed from `read()` on every scrape."""

    def __init__(self, read: Callable[[], OperationalState]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        try:
            state = self.read()
        except Exception:
            log.warning("metrics: reading the store for the outbox and source gauges failed", exc_info=True)
            return
        yield _gauge("paperbot_outbox_depth", "Outbox rows waiting to be delivered (pending or being sent).", state.outbox_depth)
        yield _gauge(
            "paperbot_outbox_oldest_pending_seconds",
            "Age in seconds of the oldest outbox row still waiting to be delivered (0: none waits).",
            state.oldest_pending_seconds,
        )
        lag = GaugeMetricFamily(
            "paperbot_source_lag_seconds", "Seconds since each source was last fetched successfully.", labels=["source"]
        )
        for source, seconds in sorted(state.source_lag_seconds.items()):
            lag.add_metric([source], seconds)
        yield lag
        yield _gauge(
            "paperbot_llm_tokens_today",
            "LLM tokens (prompt + completion) used on the current UTC day, the day LLM_DAILY_TOKEN_BUDGET counts.",
            state.llm_tokens_today,
        )
        yield _gauge(
            "paperbot_embedding_tokens_today", "Embedding tokens used on the current UTC day.", state.embedding_tokens_today
        )
        yield _gauge("paperbot_summaries_stored", "Summaries cached in the store (every summarizer).", state.summaries_stored)

    def describe(self) -> Iterator[Metric]:
        # Without describe(), registering would call collect() (and read the store) at once.
        return iter(())


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    """Every paperbot instrument on one registry (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.commands = Counter(
            "paperbot_commands", "Commands handled, by platform, kind and outcome (ok or error).",
            ["platform", "kind", "outcome"], registry=r,
        )
        self.command_seconds = Histogram(
            "paperbot_command_duration_seconds", "Seconds the core took to answer a command, by kind.",
            ["kind"], buckets=COMMAND_BUCKETS, registry=r,
        )
        self.ack_seconds = Histogram(
            "paperbot_ack_seconds",
            "Seconds from receiving a command or click to acknowledging it to the platform.",
            ["platform"], buckets=ACK_BUCKETS, registry=r,
        )
        self.messages_sent = Counter(
            "paperbot_messages_sent", "Message parts the platform accepted, by platform.", ["platform"], registry=r
        )
        self.messages_failed = Counter(
            "paperbot_messages_failed",
            "Failed delivery attempts (transient, permanent or unexpected errors), by platform.",
            ["platform"], registry=r,
        )
        self.messages_retried = Counter(
            "paperbot_messages_retried",
            "Deliveries put back to be tried again later (backoff after an error, or a 429), by platform.",
            ["platform"], registry=r,
        )
        self.fetches = Counter(
            "paperbot_fetches", "Source fetches, by source and outcome (ok or error).", ["source", "outcome"], registry=r
        )
        self.papers_ingested = Counter(
            "paperbot_papers_ingested", "Papers added or updated by fetches, by source.", ["source"], registry=r
        )
        self.summaries_made = Counter(
            "paperbot_summaries_made",
            "Summaries made and stored (offline or LLM), whoever asked: background pass, digests, alerts, answers.",
            registry=r,
        )
        self._state: _StateCollector | None = None

    def read_state_with(self, read: Callable[[], OperationalState]) -> None:
        """Serve the store-backed gauges from `read()`, called on every scrape (keep it cheap)."""
        if self._state is not None:
            self.registry.unregister(self._state)
        self._state = _StateCollector(read)
        self.registry.register(self._state)

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text exposition format (see CONTENT_TYPE)."""
        return generate_latest(self.registry)
