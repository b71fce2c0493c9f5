"""The taxonomy, topic resolution, and the offline tagger's quality on a hand-labelled set.

`tests/data/labelled_topics.jsonl` holds 98 corpus papers (every 4th line of the corpus),
labelled by hand with 1 to 3 topic names before the tagger existed. Lines with split "tune"
(corpus index divisible by 8) were used to tune the tagger; "heldout" lines were not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.bench_summarize import tagger_scores
from bot.core.models import Topic
from bot.enrich.tagger import MAX_TAGS, tag
from bot.enrich.taxonomy import (
    TAXONOMY,
    related_topics,
    resolve_topic,
    topic_by_id,
    topic_ids,
)

LABELLED = Path(__file__).resolve().parents[2] / "data" / "labelled_topics.jsonl"

REQUIRED = {
    "llm": "Large Language Models", "nlp": "NLP", "cv": "Computer Vision", "mm": "Multimodal",
    "gen": "Generative Models", "rl": "Reinforcement Learning", "robotics": "Robotics",
    "graph": "Graph Learning", "ts": "Time Series", "opt": "Optimization", "theory": "Theory",
    "efficient": "Efficient ML", "interp": "Interpretability", "fl": "Federated Learning",
    "agents": "Agents", "safety": "Safety & Alignment", "rag": "Retrieval & RAG",
    "speech": "Speech & Audio", "bench": "Datasets & Benchmarks", "science": "AI for Science",
    "health": "Healthcare",
}


def _labelled() -> list[dict]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- the taxonomy ----------------------------------------------------------------------------


def test_required_topics_exist_with_exact_names_and_ids() -> None:
    by_id = {topic.id: topic for topic in TAXONOMY}
    for topic_id, name in REQUIRED.items():
        assert by_id[topic_id].name == name


def test_taxonomy_is_well_formed() -> None:
    assert all(isinstance(topic, Topic) for topic in TAXONOMY)
    assert len({t.id for t in TAXONOMY}) == len(TAXONOMY)
    assert len({t.name for t in TAXONOMY}) == len(TAXONOMY)
    for topic in TAXONOMY:
        assert topic.keywords, topic.id
        assert topic.id == topic.id.lower() and " " not in topic.id
        # Every alias resolves to its own topic (no alias is shadowed by another topic).
        for label in (topic.id, topic.name, *topic.aliases):
            assert resolve_topic(label) == topic, (topic.id, label)


@pytest.mark.parametrize(
    ("text", "topic_id"),
    [
        ("LLMs", "llm"), ("language models", "llm"), ("Large Language Model", "llm"),
        ("vision", "cv"), ("CV", "cv"), ("diffusion", "gen"), ("Diffusion Models", "gen"),
        ("safety & alignment", "safety"), ("Safety and Alignment", "safety"), ("alignment", "safety"),
        ("retrieval-and-rag", "rag"), ("Retrieval & RAG", "rag"), ("RAG", "rag"),
        ("time-series", "ts"), ("time series", "ts"), ("graphs", "graph"), ("GNNs", "graph"),
        ("agents", "agents"), ("agent", "agents"), ("datasets & benchmarks", "bench"),
        ("benchmarks", "bench"), ("speech and audio", "speech"), ("efficient-ml", "efficient"),
        ("Efficient ML", "efficient"), ("federated", "fl"), ("  NLP  ", "nlp"), ("healthcare", "health"),
        ("AI for science", "science"), ("multi-modal", "mm"), ("interpretability", "interp"),
    ],
)
def test_resolve_topic(text: str, topic_id: str) -> None:
    topic = resolve_topic(text)
    assert topic is not None and topic.id == topic_id


@pytest.mark.parametrize("text", ["", "astrology", "x" * 500, "&", "llm llm"])
def test_resolve_topic_unknown(text: str) -> None:
    assert resolve_topic(text) is None


def test_topic_by_id_and_related() -> None:
    assert topic_by_id("rl").name == "Reinforcement Learning"
    with pytest.raises(KeyError):
        topic_by_id("nope")
    for topic in TAXONOMY:
        related = related_topics(topic.id)
        assert related and all(isinstance(t, Topic) and t.id != topic.id for t in related)
    assert related_topics("nope") == ()
    assert topic_ids(["Computer Vision", "Unknown", "NLP"]) == ("cv", "nlp")


# --- the tagger ------------------------------------------------------------------------------


def test_tag_returns_one_to_three_taxonomy_ids() -> None:
    ids = {topic.id for topic in TAXONOMY}
    untagged = []
    for row in _labelled():
        tags = tag(row["title"], row["text"])
        assert len(tags) <= MAX_TAGS
        assert set(tags) <= ids
        assert len(set(tags)) == len(tags)
        if not tags:
            untagged.append(row["title"])
    # Since the research gate, papers with no ML/AI vocabulary get no tag: in this set two
    # physics papers (entangled qubits, a pulsar) and two category-theory/consciousness essays.
    assert len(untagged) <= 4, untagged


def test_tag_is_deterministic() -> None:
    row = _labelled()[3]
    assert len({tag(row["title"], row["text"]) for _ in range(5)}) == 1


def test_tag_uses_evidence_and_categories() -> None:
    assert tag("Diffusion models for image editing", "We edit images with a diffusion model.")[:2] == (
        "gen", "cv")
    assert "rl" in tag("Policy gradient methods", "We study PPO for robot locomotion.")
    assert tag("A note", "We present results.", ["cs.CV"]) == ("cv",)
    assert tag("", "") == ()  # no evidence of ML research: no tag rather than a guess
    assert tag("A note on deep learning", "We present results.") == ("ml",)
    assert "fl" in tag("FedAvg under client drift", "Federated learning with heterogeneous clients.")


def test_labelled_set_is_big_enough_and_valid() -> None:
    names = {topic.name for topic in TAXONOMY}
    rows = _labelled()
    assert len(rows) >= 80
    assert sum(row["split"] == "tune" for row in rows) >= 40
    assert sum(row["split"] == "heldout" for row in rows) >= 40
    for row in rows:
        assert row["title"] and row["text"]
        assert 1 <= len(row["topics"]) <= 3 and set(row["topics"]) <= names, row["title"]


def test_tagger_micro_f1_on_the_held_out_half() -> None:
    heldout = [row for row in _labelled() if row["split"] == "heldout"]
    assert tagger_scores(heldout)["f1"] >= 0.70
