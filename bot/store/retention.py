"""Retention: what the store forgets, so its size grows with papers, not with channels x days.

Pruned, by age (days from settings, see `Retention`):
- outbox messages sent or failed more than `outbox_days` ago (their keys name past dates,
  windows or instants, so they are never written again);
- digest runs and the delivered-papers ledger older than `history_days` (a digest looks back
  at most 14 days and leaves out papers published 30 days before its window, so entries older
  than that can no longer stop a repeat), alert-queue rows already sent, shown notices, LLM
  usage rows and the hashes of ingested payloads;
- private answers kept for their feedback buttons, once expired (bot/store/answers.py);
- lists shown to people and channels (`shown_history`), once expired (bot/store/feedback.py);
- alert-queue rows and notices that waited more than `waiting_days` for their user.
Papers, settings, subscriptions and pending outbox rows are never pruned. Summaries are not
pruned by age either: storing a summary deletes the ones it supersedes (bot/store/summaries.py),
so they grow with papers, not with upgrades.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.clock import to_iso
from bot.store.backend import Connection
from bot.store.db import transaction


@dataclass(frozen=True, slots=True)
class Retention:
    """How many days each kind of history is kept."""

    outbox_days: int = 30
    history_days: int = 60
    waiting_days: int = 14


class RetentionStore:
    """Deletes history past its retention, in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def prune(self, now: datetime, policy: Retention) -> dict[str, int]:
        """Delete what `policy` no longer keeps; returns rows deleted per table."""
        outbox_cut = to_iso(now - timedelta(days=policy.outbox_days))
        history = now - timedelta(days=policy.history_days)
        history_cut, history_day = to_iso(history), history.date().isoformat()
        waiting_cut = to_iso(now - timedelta(days=policy.waiting_days))
        statements = {
            "outbox": ("DELETE FROM outbox WHERE state IN ('sent', 'failed') AND updated_at < ?", (outbox_cut,)),
            "digest_runs": ("DELETE FROM digest_runs WHERE local_date < ?", (history_day,)),
            "delivered_papers": ("DELETE FROM delivered_papers WHERE local_date < ?", (history_day,)),
            "alert_queue (sent)": (
                "DELETE FROM alert_queue WHERE outbox_key IS NOT NULL AND matched_at < ?", (history_cut,),
            ),
            "alert_queue (waiting)": (
                "DELETE FROM alert_queue WHERE outbox_key IS NULL AND matched_at < ?", (waiting_cut,),
            ),
            "notices (shown)": ("DELETE FROM notices WHERE shown_at IS NOT NULL AND shown_at < ?", (history_cut,)),
            "notices (waiting)": ("DELETE FROM notices WHERE shown_at IS NULL AND created_at < ?", (waiting_cut,)),
            "llm_usage": ("DELETE FROM llm_usage WHERE at < ?", (history_cut,)),
            "ingested_payloads": ("DELETE FROM ingested_payloads WHERE ingested_at < ?", (history_cut,)),
            "private_answers": ("DELETE FROM private_answers WHERE expires_at <= ?", (to_iso(now),)),
            "shown_history": ("DELETE FROM shown_history WHERE expires_at <= ?", (to_iso(now),)),
        }
        deleted: dict[str, int] = {}
        with transaction(self.conn):
            for name, (sql, params) in statements.items():
                deleted[name] = self.conn.execute(sql, params).rowcount
        return deleted
