"""`paperbot status`: sources, store counts, today's LLM usage and calendar warnings."""

from __future__ import annotations

from typing import TextIO

from bot.core.clock import to_iso
from bot.digests.calendar import calendar_warning
from bot.fetch.sources import build_sources
from bot.settings import Settings, make_clock
from bot.store import Store


def print_status(settings: Settings, out: TextIO) -> int:
    """`paperbot status`: sources with last success, last failure and next fetch; store counts; LLM usage."""
    clock = make_clock(settings)
    store = Store.open(settings.database_url, writable=False)
    try:
        states = {state.name: state for state in store.sources.all()}
        names = [s.name for s in build_sources(settings, clock)]
        names += [n for n in states if n not in names]
        out.write("sources:\n")
        if not names:
            out.write("  (none enabled)\n")
        for name in names:
            state = states.get(name)
            if state is None:
                out.write(f"  {name}: never fetched\n")
                continue
            out.write(
                f"  {name}: last success {to_iso(state.last_success) or 'never'}, "
                f"last failure {to_iso(state.last_failure) or 'never'}"
                + (f" ({state.last_error})" if state.failing else "")
                + f", next fetch {to_iso(state.next_fetch_at) or 'now'}\n"
            )
        counts = store.counts()
        out.write("store:\n" + "".join(f"  {k}: {v}\n" for k, v in counts.items()))
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
