"""The migration that makes cached summaries name their topics by taxonomy id, not display name."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.models import Summary
from bot.enrich.taxonomy import TAXONOMY
from bot.store import Store
from bot.store.schema import _TOPIC_NAMES_TO_IDS, MIGRATIONS, topic_names_to_ids_sql
from bot.store.summaries import SummaryKey

NOW = datetime(2026, 6, 11, 9, 0, tzinfo=UTC)
LLM_KEY = SummaryKey("llm", "gpt-4o-mini", "v3")
OFFLINE_KEY = SummaryKey("offline", "", "offline-2")


def test_cached_summaries_get_topic_ids_and_their_text_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.store.db as db

    path = str(tmp_path / "old.db")
    # The store as it was just before the topic-id migration (later migrations may follow it).
    monkeypatch.setattr(db, "MIGRATIONS", MIGRATIONS[: MIGRATIONS.index(topic_names_to_ids_sql())])
    old = Store.open(path)
    # Written the way the previous version wrote them: topic names in the JSON.
    quoting = Summary(
        tldr='Compares "NLP" and "Computer Vision" benchmarks.',
        key_points=('Calls the field "Large Language Models", as the survey does.', "Two more words here."),
        topics=("Large Language Models", "NLP", "Safety & Alignment"),
        summarizer="llm", model="gpt-4o-mini", prompt_version="v3",
    )
    single = Summary(tldr="One topic.", key_points=("a b c d",), topics=("Computer Vision",))
    untagged = Summary(tldr="No topic.", key_points=("a b c d",), topics=())
    old.summaries.put("2606.00001", 1, LLM_KEY, quoting, NOW)
    old.summaries.put("2606.00002", 1, OFFLINE_KEY, single, NOW)
    old.summaries.put("2606.00003", 1, OFFLINE_KEY, untagged, NOW)
    old.close()

    monkeypatch.setattr(db, "MIGRATIONS", MIGRATIONS)
    store = Store.open(path)
    migrated = store.summaries.get("2606.00001", 1, LLM_KEY)
    assert migrated is not None
    assert migrated.topics == ("llm", "nlp", "safety")
    # A quoted name inside a sentence is escaped in the JSON and stays as written.
    assert migrated.tldr == quoting.tldr and migrated.key_points == quoting.key_points
    assert store.summaries.get("2606.00002", 1, OFFLINE_KEY) == Summary(tldr="One topic.", key_points=("a b c d",), topics=("cv",))
    assert store.summaries.get("2606.00003", 1, OFFLINE_KEY) == untagged
    store.close()


def test_the_migration_knows_every_topic_of_the_taxonomy() -> None:
    # The migration holds a fixed copy of ids and names; a topic added later is written as an
    # id from the start, but every topic that existed as a name must be in the copy.
    assert {(topic.id, topic.name) for topic in TAXONOMY} <= set(_TOPIC_NAMES_TO_IDS)
