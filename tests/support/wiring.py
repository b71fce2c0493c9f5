"""Core services wired the way `Runtime.initialize` wires them, for tests and benchmarks that
build a scheduler or the digest commands over their own store, clock and summaries."""

from __future__ import annotations

from bot.app.scheduler import Scheduler
from bot.core.clock import Clock
from bot.delivery.outbox import Delivery
from bot.digests.commands import DigestCommands
from bot.digests.job import DigestJob
from bot.ports import SummaryProvider
from bot.settings import Settings
from bot.store import Store


def make_scheduler(
    *, store: Store, settings: Settings, clock: Clock, summaries: SummaryProvider, delivery: Delivery
) -> Scheduler:
    """A Scheduler with its own DigestJob over `store`."""
    job = DigestJob(store=store, settings=settings, summaries=summaries)
    return Scheduler(digests=job, store=store, settings=settings, summaries=summaries, delivery=delivery, clock=clock)


def make_digest_commands(
    *, store: Store, settings: Settings, clock: Clock, summaries: SummaryProvider, delivery: Delivery | None = None
) -> DigestCommands:
    """The `digest` commands with their own DigestJob over `store`."""
    job = DigestJob(store=store, settings=settings, summaries=summaries)
    return DigestCommands(store=store, settings=settings, clock=clock, job=job, delivery=delivery)
