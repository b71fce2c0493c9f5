"""The tagger: the research gate, relative evidence, core before extended topics, plural
folding, and its quality on data it was not tuned on, measured by the same scorer as
bench/bench_tagging.py.

Real text comes from tests/data/labelled_arxiv_core.jsonl (real arXiv titles and abstracts,
quoted there in full, looked up here by arXiv id), tests/data/offtopic_texts.jsonl (texts written
for this test) and the real Reddit payloads in ../shared/fixtures/real/.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

from bench.bench_tagging import (
    CORE_NAMES,
    core_scores,
    corpus_no_tag_shares,
    labelled,
    offtopic_items,
    offtopic_shares,
    weak_label_shares,
)
from bench.sample_labelled_arxiv import corpus_papers
from bot.enrich.tagger import MAX_TAGS, fold_plural, is_research, tag, topic_scores
from bot.enrich.taxonomy import TAXONOMY

HF_ABSTRACTS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "hf_trending_abstracts.jsonl"
CORE = set(CORE_NAMES)
CORE_IDS = {topic.id for topic in TAXONOMY if topic.name in CORE}
IDS = {topic.id for topic in TAXONOMY}


@lru_cache(maxsize=1)
def _by_id() -> dict[str, dict]:
    return {row["id"]: row for row in labelled()}


def _paper(arxiv_id: str) -> tuple[str, str]:
    row = _by_id()[arxiv_id]
    return row["title"], row["abstract"]


@lru_cache(maxsize=1)
def _corpus_sample() -> tuple[dict, ...]:
    return tuple(list(corpus_papers())[::20])


# --- plural folding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "folded"),
    [
        ("news", "news"), ("bias", "bias"), ("biases", "bias"), ("series", "series"),
        ("species", "species"), ("analysis", "analysis"), ("analyses", "analysis"),
        ("hypotheses", "hypothesis"), ("basis", "basis"), ("corpus", "corpus"),
        ("corpora", "corpus"), ("transformers", "transformer"), ("llms", "llm"),
        ("studies", "study"), ("policies", "policy"), ("patches", "patch"), ("boxes", "box"),
        ("classes", "class"), ("losses", "loss"), ("caches", "cache"), ("movies", "movie"),
        ("indices", "index"), ("robotics", "robotics"), ("physics", "physics"), ("gas", "gas"),
        ("agents", "agent"), ("is", "is"), ("new", "new"),
    ],
)
def test_fold_plural(word: str, folded: str) -> None:
    assert fold_plural(word) == folded


def test_news_is_not_new_any_more() -> None:
    # "new" was NLP evidence because fold_plural turned "news" into "new".
    assert "nlp" not in topic_scores("A new method for image segmentation", "We propose a new model.")
    assert "nlp" in topic_scores("Detecting fake news headlines", "")


# --- the research gate -----------------------------------------------------------------------


def test_off_topic_texts_get_no_topic() -> None:
    shares = offtopic_shares(tag)
    assert shares["items"] >= 250  # 200+ real Reddit posts and 60 written texts
    assert shares["no_topic_share"] >= 0.95, shares["examples_still_tagged"]
    for source, figures in shares["per_source"].items():
        assert figures["no_topic"] >= 0.9, source


@pytest.mark.parametrize(
    "title",
    ["This is pathetic.", "Classic lasagna", "Patch notes 1.4: balance changes and bug fixes",
     "Power outage leaves thousands without electricity", "Postgres index not used for my query",
     "Thermal conductivity of layered bismuth telluride films"],
)
def test_named_off_topic_texts_get_an_empty_tuple(title: str) -> None:
    texts = {item_title: (text, categories) for _, item_title, text, categories in offtopic_items()}
    text, categories = texts[title]
    assert tag(title, text, categories) == ()
    assert not is_research(title, text, categories)


def test_the_gate_keeps_ml_research() -> None:
    sample = _corpus_sample()
    shares = corpus_no_tag_shares(sample, tag)
    assert shares["text_only_share"] <= 0.03  # measured 0.013 on the whole corpus, mostly cs.IT/cs.GT
    assert shares["with_categories_share"] <= 0.02
    rows = [json.loads(line) for line in HF_ABSTRACTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    tagged = sum(bool(tag(row["title"], row["abstract"])) for row in rows)
    assert tagged / len(rows) >= 0.95  # the ones left out are physics and philosophy papers


def test_an_ml_category_opens_the_gate_and_no_evidence_keeps_it_shut() -> None:
    assert tag("", "") == ()
    assert tag("A short note", "Results are below.", ["cs.LG"]) == ("ml",)
    assert tag("Thermal relaxation of neutron stars", "We model the cooling of neutron stars.", ["astro-ph.HE"]) == ()


def test_is_research() -> None:
    title, abstract = _paper("2504.14669")
    assert is_research(title, abstract, ["cs.CL"])
    assert is_research(title, abstract)  # research writing and ML vocabulary, no category needed
    assert is_research("[R] Sparse attention for long documents", "Paper: https://arxiv.org/abs/2501.01234 (LLM, 128k context)")
    assert not is_research("What GPU should I buy to fine-tune Llama 3 at home?", "Budget is about 1,500 dollars.")
    assert not is_research("Show HN: a tiny vector database", "")
    assert not is_research("Thermal relaxation of neutron stars", "We present a model of neutron star cooling.", ["astro-ph.HE"])


# --- choosing tags ---------------------------------------------------------------------------


def test_one_to_three_distinct_taxonomy_ids_for_every_labelled_paper() -> None:
    for row in labelled():
        for categories in ((), row["categories"]):
            tags = tag(row["title"], row["abstract"], categories)
            assert 1 <= len(tags) <= MAX_TAGS, row["id"]
            assert len(set(tags)) == len(tags) and set(tags) <= IDS
            assert set(tags) & CORE_IDS, row["id"]  # extended topics never leave a paper without a core tag


def test_deterministic() -> None:
    title, abstract = _paper("2503.18407")
    assert len({tag(title, abstract) for _ in range(5)}) == 1


def test_nlp_can_come_first() -> None:
    assert tag(*_paper("2504.05020"))[0] == "nlp"  # Batch Aggregation for text classification
    assert tag(*_paper("2604.17108"))[0] == "nlp"  # a Hebrew coreference benchmark
    assert tag(*_paper("2504.14669"))[:2] == ("nlp", "llm")  # LLM translation


def test_second_tags_come_from_relative_evidence() -> None:
    # One phrase each: the old tagger needed an absolute score of 10 for a second tag.
    assert tag("Federated learning for image classification on phones",
               "We train an image classifier across many phones with federated averaging.") == (
        "fl", "cv")
    # A topic mentioned once in passing in a long abstract is not a tag.
    title, abstract = _paper("2504.09852")  # GFT, fine-grained image classification; mentions efficiency
    assert tag(title, abstract) == ("cv",)
    # Real papers with two strong topics get both.
    assert set(tag(*_paper("2510.21583"))) == {"gen", "cv", "rl"}
    assert set(tag(*_paper("2505.18413"))) == {"llm", "efficient"}


def test_extended_topics_do_not_crowd_out_core_ones() -> None:
    # Strong Healthcare evidence (thyroid carcinoma, patients, clinical) and CV evidence: CV first.
    assert tag(*_paper("2505.02211")) == ("cv", "health")
    # Speech & Audio and its core parent NLP: both kept, the core one first.
    assert tag(*_paper("2505.22236")) == ("nlp", "speech")
    # An extended topic's evidence counts for its core parent: LLM agents -> LLMs.
    assert tag(*_paper("2601.09264")) == ("llm", "agents")


def test_the_primary_category_topic_is_kept() -> None:
    title, abstract = _paper("2601.09264")  # LLM agents for pandemic policy, listed under cs.AI
    assert "robotics" not in tag(title, abstract)
    assert "robotics" in tag(title, abstract, ["cs.RO", "cs.AI"])
    title, abstract = _paper("2504.09852")
    assert tag(title, abstract, ["cs.CV", "cs.LG"]) == ("cv",)  # cs.LG names no topic


def test_a_multimodal_llm_is_not_also_a_large_language_model_phrase() -> None:
    scores = topic_scores("Multimodal large language models for charts", "We study multimodal large language models.")
    assert scores["mm"] > 0 and "llm" not in scores


# --- quality on data not tuned on (floors a little below the measured figures) -----------------


def test_held_out_micro_f1_on_hand_labelled_arxiv_papers() -> None:
    heldout = labelled("heldout")
    assert len(heldout) >= 100 and len(labelled("tune")) >= 100
    text_only = core_scores(heldout, tag)
    with_categories = core_scores(heldout, tag, with_categories=True)
    # Measured 0.816 with the learned model (rules alone 0.782, 0.781 before the parent
    # implication needed the parent's own evidence; 0.574 before the rewrite).
    assert text_only["f1"] >= 0.80
    assert with_categories["f1"] >= 0.80  # measured 0.813; rules alone 0.791; before 0.625
    assert core_scores(labelled("tune"), tag)["f1"] >= 0.87  # measured 0.891 (thresholds chosen on it)


def test_weak_labels_from_arxiv_categories() -> None:
    shares = weak_label_shares(_corpus_sample(), tag)
    assert shares["papers"] >= 2500
    assert shares["with_categories_share"] >= 0.97  # measured 1.0 on the whole corpus
    # Measured 0.890 on the third of the corpus the model never saw (rules alone 0.801: cs.CV
    # 0.915, cs.CL 0.607).
    assert shares["text_only_share"] >= 0.85
    assert shares["per_category"]["cs.CV"]["text_only"] >= 0.88


def test_the_labelled_set_is_well_formed() -> None:
    rows = labelled()
    assert len(rows) >= 200 and len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        assert row["title"] and row["abstract"] and row["categories"]
        assert row["split"] in ("tune", "heldout")
        assert 1 <= len(row["labels"]) <= 3 and set(row["labels"]) <= CORE, row["id"]
