"""Tagger quality and speed on data it was not tuned on; prints one JSON object.

Figures (all through `tag(title, abstract, categories)`, the function the bot calls):

- `heldout` / `tune`: micro-F1, precision and recall of the CORE tags against the hand labels in
  `tests/data/labelled_arxiv_core.jsonl` (224 arXiv papers, 1-3 of the 14 core topics each, split
  before any tuning; see bench/sample_labelled_arxiv.py), text only (title + abstract, as the
  labeller saw them) and with the arXiv categories; per-topic precision/recall for the held-out
  half. Only core tags are scored: the labels name core topics only.
- `weak_labels` (`weak_labels_kept_out_of_training`): over the whole arXiv daily corpus (71,011
  papers; the third the learned model never saw, see bench/train_topic_model.py), papers whose PRIMARY category
  implies a topic (`WEAK_LABELS`: cs.CV -> cv, cs.CL -> nlp, cs.RO -> robotics, ...; cs.AI and
  cs.LG imply none and are skipped): the share whose implied topic is among the text-only tags,
  and among the tags computed with categories; also per category.
  `weak_labels_cs_cl_as_nlp_or_llm` counts a cs.CL paper tagged LLM (not NLP) as a hit too, and
  `hand_labels_agreeing_with_weak_labels` shows how often the hand labels themselves agree.
- `offtopic`: the real non-ML Reddit posts in ../shared/fixtures/real/ plus the texts written for
  this test in `tests/data/offtopic_texts.jsonl`: the share that get no topic at all, and the
  share that get nothing but the catch-all "Machine Learning".
- `corpus_no_tags`: the share of corpus papers that get no tag at all (text only, with categories).
- `papers_per_s`: `tag` calls per CPU second on one core (best of `--rounds`) over the 392 HF
  abstracts and over 5,000 corpus papers (target >= 2,000).

    .venv/bin/python -m bench.bench_tagging [--rounds 3] [--tagger-module bot.enrich.tagger]

The BEFORE figures in bench/results/bench_tagging_before.json were measured at commit 8055f5b
with `--tagger-module bot.enrich.taxonomy`, where the old tagger lived (its speed then in wall
time); bench/results/bench_tagging_before_topic_model.json is the rule tagger alone (commit
117613a), bench/results/bench_tagging_after.json this tagger (rules confirmed by the learned
model of bot/enrich/topic_model.py).
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from bench.sample_labelled_arxiv import corpus_papers
from bot.enrich.taxonomy import TAXONOMY

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "data" / "labelled_arxiv_core.jsonl"
OFFTOPIC = ROOT / "tests" / "data" / "offtopic_texts.jsonl"
FIXTURES = ROOT.parent / "shared" / "fixtures" / "real"
HF_ABSTRACTS = ROOT.parent / "shared" / "corpus" / "hf_trending_abstracts.jsonl"

Tagger = Callable[..., tuple[str, ...]]

CORE_NAMES = (
    "Large Language Models", "NLP", "Computer Vision", "Multimodal", "Generative Models",
    "Reinforcement Learning", "Robotics", "Graph Learning", "Time Series", "Optimization",
    "Theory", "Efficient ML", "Interpretability", "Federated Learning",
)
"""The 14 core topics, by name (fixed here so that before and after are scored alike)."""

WEAK_LABELS: dict[str, frozenset[str]] = {
    "cs.CV": frozenset({"cv"}),
    "eess.IV": frozenset({"cv"}),
    "cs.CL": frozenset({"nlp"}),
    "cs.RO": frozenset({"robotics"}),
    "cs.SD": frozenset({"speech"}),
    "eess.AS": frozenset({"speech"}),
    "cs.CR": frozenset({"privacy"}),
    "cs.IR": frozenset({"rag", "recsys"}),
    "cs.MA": frozenset({"agents"}),
    "cs.SE": frozenset({"code"}),
    "cs.CY": frozenset({"fairness"}),
    "cs.SI": frozenset({"graph"}),
    "math.OC": frozenset({"opt"}),
}
"""Primary arXiv category -> the topic ids it implies (any one counts as a hit; cs.IR covers
both retrieval and recommendation). Categories with no single topic (cs.AI, cs.LG, stat.ML,
cs.HC, ...) are not weak labels."""

LENIENT_WEAK_LABELS: dict[str, frozenset[str]] = {**WEAK_LABELS, "cs.CL": frozenset({"nlp", "llm"})}
"""The same, but a cs.CL paper tagged Large Language Models (and not NLP) also counts: arXiv files
nearly every LLM paper under cs.CL, while the hand labels keep NLP for papers about language
itself (translation, dialogue, text classification, linguistics ...)."""

_NAME_TO_ID = {topic.name: topic.id for topic in TAXONOMY}
_ID_TO_NAME = {topic.id: topic.name for topic in TAXONOMY}


def _names(tags: Iterable[str]) -> set[str]:
    """Topic names for tags given as ids (the tagger now) or names (the tagger before)."""
    return {_ID_TO_NAME.get(tag, tag) for tag in tags}


def _ids(tags: Iterable[str]) -> set[str]:
    """Topic ids for tags given as ids or names."""
    return {_NAME_TO_ID.get(tag, tag) for tag in tags}


def is_training_position(position: int) -> bool:
    """Whether the learned model (bench/train_topic_model.py) may train on the corpus paper at
    this position: every third paper is kept out to measure the weak labels on unseen papers."""
    return position % 3 != 0


def load_jsonl(path: Path) -> list[dict]:
    """The JSON objects of a JSON-lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def labelled(split: str | None = None) -> list[dict]:
    """The hand-labelled arXiv papers, optionally one split ("tune" or "heldout")."""
    rows = load_jsonl(LABELLED)
    return [row for row in rows if split is None or row["split"] == split]


def _ratio(part: float, whole: float) -> float:
    return round(part / whole, 3) if whole else 0.0


def core_scores(rows: Sequence[dict], tag: Tagger, *, with_categories: bool = False) -> dict:
    """Micro-F1, precision, recall and per-topic precision/recall of the core tags `tag` gives
    `rows` (dicts with title, abstract, categories and core `labels`) against their labels."""
    core = set(CORE_NAMES)
    tp = fp = fn = 0
    per_topic: dict[str, Counter[str]] = {name: Counter() for name in CORE_NAMES}
    for row in rows:
        categories = row["categories"] if with_categories else ()
        predicted = _names(tag(row["title"], row["abstract"], categories)) & core
        gold = set(row["labels"])
        tp += len(predicted & gold)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
        for name in predicted | gold:
            per_topic[name]["tp" if name in predicted and name in gold else "fp" if name in predicted else "fn"] += 1
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 3) if precision + recall else 0.0
    topics = {}
    for name, counts in per_topic.items():
        if counts["tp"] + counts["fn"] + counts["fp"]:
            topics[name] = {
                "precision": _ratio(counts["tp"], counts["tp"] + counts["fp"]),
                "recall": _ratio(counts["tp"], counts["tp"] + counts["fn"]),
                "labelled": counts["tp"] + counts["fn"],
                "predicted": counts["tp"] + counts["fp"],
            }
    return {"f1": f1, "precision": precision, "recall": recall, "papers": len(rows), "per_topic": topics}


def weak_label_shares(
    papers: Iterable[dict], tag: Tagger, weak_labels: dict[str, frozenset[str]] = WEAK_LABELS
) -> dict:
    """Share of papers whose primary category's implied topic is among the text-only tags and
    among the tags computed with categories, overall and per category."""
    hits: dict[str, Counter[str]] = {}
    for paper in papers:
        implied = weak_labels.get(paper["categories"][0]) if paper["categories"] else None
        if not implied:
            continue
        counts = hits.setdefault(paper["categories"][0], Counter())
        counts["papers"] += 1
        text_only = _ids(tag(paper["title"], paper["abstract"]))
        with_cats = _ids(tag(paper["title"], paper["abstract"], paper["categories"]))
        counts["text_only"] += bool(implied & text_only)
        counts["with_categories"] += bool(implied & with_cats)
    total = Counter[str]()
    for counts in hits.values():
        total.update(counts)
    return {
        "papers": total["papers"],
        "text_only_share": _ratio(total["text_only"], total["papers"]),
        "with_categories_share": _ratio(total["with_categories"], total["papers"]),
        "per_category": {
            category: {
                "papers": counts["papers"],
                "text_only": _ratio(counts["text_only"], counts["papers"]),
                "with_categories": _ratio(counts["with_categories"], counts["papers"]),
            }
            for category, counts in sorted(hits.items(), key=lambda item: -item[1]["papers"])
        },
    }


def hand_label_agreement(rows: Sequence[dict]) -> dict:
    """For hand-labelled papers whose primary category implies a core topic: the share whose
    hand labels include it (what a tagger that agreed with the labeller would score)."""
    agree: dict[str, Counter[str]] = {}
    for row in rows:
        implied = WEAK_LABELS.get(row["categories"][0], frozenset())
        core_implied = {topic for topic in implied if topic in {_NAME_TO_ID[n] for n in CORE_NAMES}}
        if core_implied:
            counts = agree.setdefault(row["categories"][0], Counter())
            counts["papers"] += 1
            counts["agree"] += bool(core_implied & {_NAME_TO_ID[name] for name in row["labels"]})
    return {category: {"papers": c["papers"], "share": _ratio(c["agree"], c["papers"])} for category, c in agree.items()}


def reddit_posts() -> list[tuple[str, str, tuple[str, ...]]]:
    """(title, text, categories) of every post in the real Reddit fixtures (none is about ML),
    parsed by the production Reddit parser, de-duplicated by id."""
    from bot.fetch.sources import reddit

    papers = []
    for name, subreddit in (
        ("reddit_oauth_r_all_new_before_small.json", "all"),
        ("reddit_oauth_r_askreddit_new_limit100.json", "AskReddit"),
        ("reddit_oauth_r_popular_hot_2026.json", "popular"),
        ("reddit_r_thinkpad_top_week_trimmed.json", "thinkpad"),
    ):
        papers += reddit.parse((FIXTURES / name).read_bytes(), subreddit=subreddit)
    papers += reddit.parse_atom((FIXTURES / "reddit_r_thinkpad_top_week_trimmed.atom").read_bytes(), subreddit="thinkpad")
    unique = {paper.id: paper for paper in papers}
    return [(paper.title, paper.abstract, tuple(paper.categories)) for paper in unique.values()]


def offtopic_items() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(source, title, text, categories) of every off-topic item: Reddit posts and written texts."""
    items = [("reddit", title, text, cats) for title, text, cats in reddit_posts()]
    items += [(row["kind"], row["title"], row["text"], ()) for row in load_jsonl(OFFTOPIC)]
    return items


def offtopic_shares(tag: Tagger) -> dict:
    """How many off-topic items get no topic, and how many nothing but the catch-all."""
    by_source: dict[str, Counter[str]] = {}
    tagged_examples = []
    for source, title, text, categories in offtopic_items():
        tags = tag(title, text, categories)
        counts = by_source.setdefault(source, Counter())
        counts["items"] += 1
        counts["no_topic"] += not tags
        counts["no_specific_topic"] += _ids(tags) <= {"ml"}
        if tags and len(tagged_examples) < 8:
            tagged_examples.append(f"{title[:60]} -> {', '.join(tags)}")
    total = Counter[str]()
    for counts in by_source.values():
        total.update(counts)
    return {
        "items": total["items"],
        "no_topic_share": _ratio(total["no_topic"], total["items"]),
        "no_specific_topic_share": _ratio(total["no_specific_topic"], total["items"]),
        "per_source": {
            source: {"items": c["items"], "no_topic": _ratio(c["no_topic"], c["items"])}
            for source, c in sorted(by_source.items())
        },
        "examples_still_tagged": tagged_examples,
    }


def corpus_no_tag_shares(papers: Sequence[dict], tag: Tagger) -> dict:
    """Share of corpus papers that get no tag at all, text only and with categories."""
    text_only = sum(not tag(p["title"], p["abstract"]) for p in papers)
    with_cats = sum(not tag(p["title"], p["abstract"], p["categories"]) for p in papers)
    return {
        "papers": len(papers),
        "text_only_share": round(text_only / len(papers), 4),
        "with_categories_share": round(with_cats / len(papers), 4),
    }


def papers_per_second(rows: Sequence[tuple[str, str, Sequence[str]]], tag: Tagger, rounds: int) -> float:
    """`tag` calls per CPU second of this process over `rows`, best of `rounds` passes (CPU
    time, not wall time, so that other work on a shared machine does not count)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for title, abstract, categories in rows:
            tag(title, abstract, categories)
        best = min(best, time.process_time() - start)
    return round(len(rows) / best)


def main() -> None:
    """Run every measurement and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed passes (best is kept)")
    parser.add_argument("--tagger-module", default="bot.enrich.tagger", help="module providing tag()")
    args = parser.parse_args()
    tag: Tagger = importlib.import_module(args.tagger_module).tag

    corpus = list(corpus_papers())
    kept_out = [paper for position, paper in enumerate(corpus) if not is_training_position(position)]
    hf_rows = [(row["title"], row["abstract"], ()) for row in load_jsonl(HF_ABSTRACTS)]
    corpus_rows = [(p["title"], p["abstract"], tuple(p["categories"])) for p in corpus[::14][:5000]]
    tag(*hf_rows[0])  # build lookup tables before timing
    report = {
        "tagger_module": args.tagger_module,
        "heldout": {
            "text_only": core_scores(labelled("heldout"), tag),
            "with_categories": core_scores(labelled("heldout"), tag, with_categories=True),
        },
        "tune": {
            "text_only": core_scores(labelled("tune"), tag),
            "with_categories": core_scores(labelled("tune"), tag, with_categories=True),
        },
        "weak_labels": weak_label_shares(corpus, tag),
        "weak_labels_kept_out_of_training": weak_label_shares(kept_out, tag),
        "weak_labels_cs_cl_as_nlp_or_llm": {
            key: value for key, value in weak_label_shares(corpus, tag, LENIENT_WEAK_LABELS).items() if key != "per_category"
        },
        "hand_labels_agreeing_with_weak_labels": hand_label_agreement(labelled()),
        "offtopic": offtopic_shares(tag),
        "corpus_no_tags": corpus_no_tag_shares(corpus, tag),
        "papers_per_s": {
            "hf_abstracts_text_only": papers_per_second(hf_rows, tag, args.rounds),
            "arxiv_corpus_5000_with_categories": papers_per_second(corpus_rows, tag, args.rounds),
        },
    }
    for split in ("tune",):
        for mode in report[split].values():
            del mode["per_topic"]  # per-topic figures are reported for the held-out half
    del report["weak_labels_kept_out_of_training"]["per_category"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
