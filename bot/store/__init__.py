"""The store: everything that must survive a restart, in one database.

`Store` opens the database (migrating it) and exposes one repository object per area:
`papers`, `fulltext` (the search index's reads), `summaries`, `sources` (fetch state and HTTP
validators), those the delivery side adds, and the relevance side's `feedback` and `vectors`.
Short SQLite calls are made from the event loop; long work (ingests, searches, digest
batches) runs in worker threads through `run_blocking`, each thread with a connection of its
own (bot.store.db.ThreadConnections).

`PAPERBOT_DB=postgresql://...` opens the same repositories over PostgreSQL (bot/store/backend.py
says how one interface serves both); SQLite, a file, stays the default.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from bot.core.errors import StoreError
from bot.core.workers import WorkerThreads
from bot.store.answers import AnswerStore
from bot.store.backend import Connection, PgConnection, is_postgres
from bot.store.channels import ChannelStore
from bot.store.db import DatabaseURL, ThreadConnections, connect, parse_database_url
from bot.store.emails import EmailConfirmationStore
from bot.store.feedback import FeedbackStore
from bot.store.fulltext import FullTextIndex
from bot.store.installations import InstallationStore
from bot.store.outbox import OutboxStore
from bot.store.papers import IngestCounts, PaperStore
from bot.store.retention import Retention, RetentionStore
from bot.store.shares import ShareStore
from bot.store.sources import SourceState, SourceStateStore
from bot.store.subscriptions import AlertQueue, SubscriptionStore
from bot.store.summaries import SummaryStore
from bot.store.users import NoticeStore, UserStateStore
from bot.store.vectors import VectorStore

T = TypeVar("T")

__all__ = ["Store", "Retention", "IngestCounts", "SourceState", "DatabaseURL", "parse_database_url"]


class Store:
    """One open database and its repositories."""

    def __init__(self, conn: Connection, location: str | None = None) -> None:
        self.conn = conn
        # The database file or URL (None: in memory, or unknown), for work that opens its own
        # connection.
        self.location = location if location and location != ":memory:" else None
        self.dialect = "postgresql" if is_postgres(conn) else "sqlite"
        self.papers = PaperStore(conn)
        self.fulltext = FullTextIndex(conn)
        self.sources = SourceStateStore(conn)
        # The delivery side: digest settings, subscriptions, user state, notices, outbox.
        self.channels = ChannelStore(conn)
        self.subscriptions = SubscriptionStore(conn)
        self.users = UserStateStore(conn)
        self.notices = NoticeStore(conn)
        self.alert_queue = AlertQueue(conn)
        self.outbox = OutboxStore(conn)
        self.summaries = SummaryStore(conn)
        self.retention = RetentionStore(conn)
        self.emails = EmailConfirmationStore(conn)
        # A distributed chat app's installations (tokens per workspace) and OAuth states.
        self.installations = InstallationStore(conn)
        # Relevance: feedback, saved papers, seeds, models; the ranking's vectors and state.
        self.feedback = FeedbackStore(conn)
        self.vectors = VectorStore(conn)
        # Share buttons' single-use tokens (the answer as it was shown).
        self.shares = ShareStore(conn)
        # Private answers kept for their feedback buttons (a click on any replica redraws them).
        self.answers = AnswerStore(conn)
        # The worker threads `run_blocking` uses; set by the runtime, which closes them.
        self.workers: WorkerThreads | None = None

    @classmethod
    def open(cls, location: str | DatabaseURL, *, writable: bool = True) -> Store:
        """Open (creating and migrating as needed) the database at a path or URL. A database
        that cannot be written is refused (StoreReadOnly) unless `writable` is False, which
        commands that only read pass."""
        url = parse_database_url(location) if isinstance(location, str) else location
        return cls(connect(url, writable=writable), url.path)

    def close(self) -> None:
        """Close the connection (SQLite checkpoints the WAL; PostgreSQL's pool is closed)."""
        self.conn.close()

    def counts(self) -> dict[str, int]:
        """What `paperbot status` reports: papers, summaries, channels with digests,
        subscriptions, and outbox parts pending or failed."""
        outbox = self.outbox.counts()
        return {
            "papers": self.papers.count(),
            "summaries": self.summaries.count(),
            "channels with digests": self.channels.count_enabled(),
            "subscriptions": self.subscriptions.count(),
            "outbox pending": outbox.get("pending", 0) + outbox.get("sending", 0),
            "outbox failed": outbox.get("failed", 0),
        }

    def healthy(self) -> bool:
        """Whether the database answers a trivial query (for /healthz)."""
        if isinstance(self.conn, PgConnection):
            return self.conn.ping()
        try:
            self.conn.execute("SELECT 1").fetchone()
            return True
        except (sqlite3.Error, StoreError):  # a PostgreSQL error arrives as a StoreError
            return False

    @property
    def threads_ok(self) -> bool:
        """Whether worker threads may use this store: each gets a connection (and so a
        transaction) of its own. True for PostgreSQL (a pooled connection per thread) and a
        SQLite file (bot.store.db.ThreadConnections); False in memory, where every thread would
        share the one connection and its transaction."""
        return isinstance(self.conn, (PgConnection, ThreadConnections))

    async def run_blocking(self, work: Callable[..., T], /, *args: Any) -> T:
        """Run `work(*args)` (store calls that take long, such as ingesting a large batch, a
        search, a batch of digests) in a worker thread when `threads_ok`, so the event loop
        is not held; in memory `work` runs inline, as every other store call does. The thread
        is one of `workers` when the runtime gave the store its bounded pool (bot.core.workers:
        few threads competing with the event loop for the GIL), else asyncio's default one."""
        if self.threads_ok:
            if self.workers is not None:
                return await self.workers.run(work, *args)
            return await asyncio.to_thread(work, *args)
        return work(*args)

    def describe(self) -> str:
        """Where the store is, for `paperbot status`: the SQLite path or the PostgreSQL URL
        without its password."""
        if isinstance(self.conn, PgConnection):
            return f"PostgreSQL {self.conn.location}"
        return f"SQLite {self.location or ':memory:'}"
