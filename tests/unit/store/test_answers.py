"""Private answers kept for their feedback buttons (bot/store/answers.py), on both backends:
kept for their owner alone, replaced when kept again, gone once expired (pruned on the next
keep and by retention)."""

from __future__ import annotations

from datetime import timedelta

from bot.store import Retention, Store
from tests.support.factories import T0

TTL = timedelta(hours=1)


def test_an_answer_is_recalled_by_its_owner_until_it_expires(any_store: Store) -> None:
    answers = any_store.answers
    answers.keep(platform="slack", token="t1", owner="UADA", message='{"blocks": []}', now=T0, ttl=TTL)
    assert answers.recall(platform="slack", token="t1", owner="UADA", now=T0) == '{"blocks": []}'
    assert answers.recall(platform="slack", token="t1", owner="UBOB", now=T0) is None  # not Bob's
    assert answers.recall(platform="discord", token="t1", owner="UADA", now=T0) is None
    assert answers.recall(platform="slack", token="nope", owner="UADA", now=T0) is None
    assert answers.recall(platform="slack", token="t1", owner="UADA", now=T0 + TTL) is None  # expired
    # Kept again (a redrawn answer under the same token): the new message, a new expiry.
    answers.keep(platform="slack", token="t1", owner="UADA", message="redrawn", now=T0 + TTL / 2, ttl=TTL)
    assert answers.recall(platform="slack", token="t1", owner="UADA", now=T0 + TTL) == "redrawn"


def test_expired_answers_are_pruned_on_keep_and_by_retention(any_store: Store) -> None:
    answers = any_store.answers
    answers.keep(platform="slack", token="old", owner="UADA", message="a", now=T0, ttl=TTL)
    answers.keep(platform="slack", token="older", owner="UADA", message="b", now=T0 - TTL / 2, ttl=TTL)
    answers.keep(platform="slack", token="new", owner="UADA", message="c", now=T0 + TTL * 3 / 4, ttl=TTL)
    assert answers.count() == 2  # "older" expired at T0 + TTL/2 and went when "new" was kept
    assert any_store.retention.prune(T0 + TTL, Retention())["private_answers"] == 1  # "old"
    assert answers.recall(platform="slack", token="new", owner="UADA", now=T0 + TTL) == "c"
    assert any_store.retention.prune(T0 + 2 * TTL, Retention())["private_answers"] == 1 and answers.count() == 0
