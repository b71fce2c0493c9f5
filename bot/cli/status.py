"""`paperbot status`: sources, the store (which backend, where) and its counts, today's LLM
usage and calendar warnings.

Every configured source is listed, fetched yet or not, with its last success, last failure and
reason, and next attempt: the same list /healthz serves (bot.fetch.ingest.source_reports), with
credentials removed from names and errors.
"""

from __future__ import annotations

from typing import TextIO

from bot.core.clock import to_iso
from bot.digests.calendar import calendar_warning
from bot.fetch.ingest import source_reports
from bot.fetch.sources import build_sources
from bot.settings import Settings, make_clock
from bot.store import Store


def print_status(settings: Settings, out: TextIO) -> int:
    """`paperbot status`: sources with last success, last failure and next fetch; store counts; LLM usage."""
    clock = make_clock(settings)
    store = Store.open(settings.database_url, writable=False)
    try:
        reports = source_reports([s.name for s in build_sources(settings, clock)], store)
        out.write("sources:\n")
        if not reports:
            out.write("  (none enabled)\n")
        for report in reports:
            if report.last_success is None and report.last_failure is None:
                out.write(f"  {report.name}: never fetched yet, next attempt now\n")
                continue
            failing = f" ({report.last_error})" if report.consecutive_failures else ""
            streak = f", failing {report.consecutive_failures} times in a row" if report.consecutive_failures > 1 else ""
            out.write(
                f"  {report.name}: last success {to_iso(report.last_success) or 'never'}, "
                f"last failure {to_iso(report.last_failure) or 'never'}{failing}{streak}, "
                f"next attempt {to_iso(report.next_fetch_at) or 'now'}"
                + ("" if report.configured else " (no longer configured)")
                + "\n"
            )
        counts = store.counts()
        out.write(f"store: {store.describe()}\n" + "".join(f"  {k}: {v}\n" for k, v in counts.items()))
        used, budget = store.summaries.tokens_on(clock()), settings.llm_daily_token_budget
        mode = f"{settings.llm_provider} {settings.llm_model}" if settings.llm_enabled else "offline summarizer"
        limit = f"of {budget:,}" if budget else "(no daily limit)"
        out.write(f"llm: {mode}; tokens today (UTC) {used:,} {limit}\n")
        warning = calendar_warning(clock().date())
        if warning:
            out.write(f"warning: {warning}\n")
    finally:
        store.close()
    return 0
