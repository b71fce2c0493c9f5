"""Every list a person or a channel was shown (bot/store/feedback.py `shown_history`), on both
backends: kept newest first beside the last list, each scope apart, gone once expired (pruned
on the next list of that scope and by retention) and when the person is forgotten."""

from __future__ import annotations

from datetime import timedelta

from bot.store import Retention, Store
from bot.store.feedback import SHOWN_HISTORY_TTL, channel_scope
from tests.support.factories import T0


def test_every_list_shown_is_kept_newest_first_beside_the_last_one(store: Store) -> None:
    feedback = store.feedback
    feedback.record_shown("slack", "UADA", ["2601.00001", "2601.00002"], "search", T0)
    feedback.record_shown("slack", "UADA", ["2601.00003"], "foryou", T0 + timedelta(hours=1))
    feedback.record_shown("slack", channel_scope("C1"), ["2601.00009"], "digest", T0)
    feedback.record_shown("slack", "UADA", [], "search", T0 + timedelta(hours=2))  # nothing shown: not a list
    history = feedback.shown_history("slack", "UADA", T0 + timedelta(hours=2))
    assert [(s.paper_ids, s.context, s.at) for s in history] == [
        (("2601.00003",), "foryou", T0 + timedelta(hours=1)),
        (("2601.00001", "2601.00002"), "search", T0),
    ]
    last = feedback.last_shown("slack", "UADA")
    assert last is not None and last.paper_ids == ("2601.00003",)  # `like 1` still reads the last list
    assert [s.paper_ids for s in feedback.shown_history("slack", channel_scope("C1"), T0)] == [("2601.00009",)]
    assert feedback.shown_history("discord", "UADA", T0) == []


def test_expired_lists_go_on_the_next_list_of_their_scope_and_by_retention(store: Store) -> None:
    feedback = store.feedback
    feedback.record_shown("slack", "UADA", ["2601.00001"], "search", T0)
    feedback.record_shown("slack", "UBOB", ["2601.00002"], "search", T0)
    later = T0 + SHOWN_HISTORY_TTL
    assert feedback.shown_history("slack", "UADA", later) == []  # expired: never read
    feedback.record_shown("slack", "UADA", ["2601.00003"], "foryou", later)
    count = "SELECT COUNT(*) FROM shown_history WHERE scope = ?"
    assert store.conn.execute(count, ("UADA",)).fetchone()[0] == 1  # ada's expired list went with her new one
    assert store.conn.execute(count, ("UBOB",)).fetchone()[0] == 1  # bob's waits for retention
    assert store.retention.prune(later, Retention())["shown_history"] == 1
    assert store.conn.execute(count, ("UBOB",)).fetchone()[0] == 0
    assert [s.paper_ids for s in feedback.shown_history("slack", "UADA", later)] == [("2601.00003",)]


def test_forgetting_a_person_drops_their_shown_history_and_keeps_the_channels(store: Store) -> None:
    feedback = store.feedback
    feedback.record_shown("slack", "UADA", ["2601.00001"], "search", T0)
    feedback.record_shown("slack", channel_scope("C1"), ["2601.00002"], "digest", T0)
    counts = feedback.forget_person("slack", "UADA")
    assert counts["shown history"] == 1
    assert feedback.shown_history("slack", "UADA", T0) == []
    assert len(feedback.shown_history("slack", channel_scope("C1"), T0)) == 1
