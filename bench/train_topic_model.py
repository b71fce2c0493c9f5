"""Train the tagger's learned model (bot/enrich/topic_model.npz) from the arXiv daily corpus.

Reproducible: the same corpus and code give the same file (liblinear with a fixed seed, the
vocabulary in a fixed order). What it does:

- Papers: the arXiv daily corpus (../shared/corpus/arxiv_daily), minus every hand-labelled paper
  (tests/data/labelled_arxiv_core.jsonl, both halves), minus every third paper (corpus position
  % 3 == 0): those are kept out to measure the weak-label agreement on papers it never saw
  (bench/bench_tagging.py reports both).
- Labels, one logistic regression per core topic: Computer Vision, NLP and Robotics from the
  PRIMARY arXiv category (cs.CV or eess.IV, cs.CL, cs.RO); every other core topic from the rule
  tagger's tags computed with the categories (`bot.enrich.tagger.rule_tags`).
- Features: `bot.enrich.topic_model.term_counts` (words and word pairs), the `VOCABULARY` most
  frequent terms seen in at least `MIN_DF` papers, sublinear TF-IDF, unit length.

The tagger's two blending thresholds (`_MODEL_VETO`, `_MODEL_SURE` in bot/enrich/tagger.py) were
chosen on the tuning half of the hand labels and the kept-out weak labels (a grid of veto 0.05-0.3
and sure 0.5-0.8: the best tuning micro-F1 whose weak-label share stays well above 0.85); the
held-out half was measured once, afterwards. `--candidates` also prints the figures of the rules
alone and of the model alone; the figures of the blend are stored in the file's metadata.

    .venv/bin/python -m bench.train_topic_model [--out bot/enrich/topic_model.npz] [--candidates]
        [--figures-only]
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from bench.bench_tagging import (
    CORE_NAMES,
    core_scores,
    is_training_position,
    labelled,
    weak_label_shares,
)
from bench.sample_labelled_arxiv import corpus_papers
from bot.enrich import tagger
from bot.enrich.taxonomy import TAXONOMY
from bot.enrich.topic_model import TopicModel, term_counts

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bot" / "enrich" / "topic_model.npz"
VOCABULARY = 30_000
MIN_DF = 5
C = 4.0  # inverse L2 strength
CATEGORY_LABELS = {"cv": frozenset({"cs.CV", "eess.IV"}), "nlp": frozenset({"cs.CL"}), "robotics": frozenset({"cs.RO"})}
"""Core topics labelled by the primary category; the others by the rule tagger."""

_NAME_TO_ID = {topic.name: topic.id for topic in TAXONOMY}
CORE_IDS = tuple(_NAME_TO_ID[name] for name in CORE_NAMES)


def split_corpus(papers: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(training papers, kept-out papers): hand-labelled papers are in neither."""
    hand = {row["id"] for row in labelled()}
    training, kept_out = [], []
    for position, paper in enumerate(papers):
        if paper["id"] not in hand:
            (training if is_training_position(position) else kept_out).append(paper)
    return training, kept_out


def _words(paper: dict) -> tuple[list[str], list[str]]:
    return tagger._tokens(paper["title"]), tagger._tokens(paper["abstract"])


def labels(paper: dict) -> dict[str, bool]:
    """The training label of every core topic for one paper."""
    primary = paper["categories"][0] if paper["categories"] else ""
    ruled = set(tagger.rule_tags(paper["title"], paper["abstract"], paper["categories"]))
    return {
        topic: (primary in CATEGORY_LABELS[topic]) if topic in CATEGORY_LABELS else topic in ruled
        for topic in CORE_IDS
    }


def train(papers: Sequence[dict], *, vocabulary: int = VOCABULARY, min_df: int = MIN_DF) -> TopicModel:
    """Fit the per-topic regressions on `papers` (dicts with title, abstract, categories)."""
    counted = [term_counts(*_words(paper)) for paper in papers]
    df = Counter[str]()
    for counts in counted:
        df.update(counts.keys())
    common = sorted((item for item in df.items() if item[1] >= min_df), key=lambda item: (-item[1], item[0]))
    terms = [term for term, _ in common[:vocabulary]]
    index = {term: row for row, term in enumerate(terms)}
    idf = np.array([math.log((1 + len(papers)) / (1 + df[term])) + 1 for term in terms], dtype=np.float32)
    rows, cols, values = [], [], []
    for row, counts in enumerate(counted):
        found = [(index[term], count) for term, count in counts.items() if term in index]
        if not found:
            continue
        weights = [(1 + math.log(count)) * float(idf[col]) for col, count in found]
        norm = math.sqrt(sum(w * w for w in weights))
        rows += [row] * len(found)
        cols += [col for col, _ in found]
        values += [w / norm for w in weights]
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(papers), len(terms)), dtype=np.float64)
    truth = [labels(paper) for paper in papers]
    weights_by_topic, bias = [], []
    positives = {}
    for topic in CORE_IDS:
        target = np.array([paper_labels[topic] for paper_labels in truth])
        positives[topic] = int(target.sum())
        if target.all() or not target.any():  # a small sample may lack a topic: its base rate alone
            weights_by_topic.append(np.zeros(len(terms)))
            bias.append(math.log((positives[topic] + 0.5) / (len(target) - positives[topic] + 0.5)))
            continue
        fitted = LogisticRegression(C=C, solver="liblinear", random_state=0, max_iter=2000)
        fitted.fit(matrix, target)
        weights_by_topic.append(fitted.coef_[0])
        bias.append(fitted.intercept_[0])
    return TopicModel(
        topics=CORE_IDS,
        index=MappingProxyType(index),
        idf=idf,
        # Stored as float16: round now so the model measured below is the one shipped.
        weights=np.stack(weights_by_topic, axis=1).astype(np.float16).astype(np.float32),
        bias=np.array(bias, dtype=np.float32),
        meta={"papers": len(papers), "terms": len(terms), "min_df": min_df, "C": C, "positives": positives},
    )


def model_only_tagger(model: TopicModel, threshold: float = 0.4) -> Callable[..., tuple[str, ...]]:
    """The candidate 'learned model alone': the gate, then the best core topic and any other
    core topic at or above `threshold` (at most 3)."""
    id_to_name = {topic.id: topic.name for topic in TAXONOMY}

    def tag(title: str, abstract: str, categories: Sequence[str] = ()) -> tuple[str, ...]:
        if not tagger.rule_tags(title, abstract, categories):
            return ()
        chances = model.probabilities(tagger._tokens(title), tagger._tokens(abstract))
        ranked = sorted(chances, key=lambda topic: -chances[topic])
        return tuple(id_to_name[t] for n, t in enumerate(ranked[: tagger.MAX_TAGS]) if n == 0 or chances[t] >= threshold)

    return tag


def figures(tag: Callable[..., tuple[str, ...]], kept_out: Sequence[dict]) -> dict:
    """Held-out and tuning micro-F1 (text only) and weak-label share on the kept-out papers."""
    weak = weak_label_shares(kept_out, tag)
    return {
        "tune_f1": core_scores(labelled("tune"), tag)["f1"],
        "heldout_f1": core_scores(labelled("heldout"), tag)["f1"],
        "heldout_f1_with_categories": core_scores(labelled("heldout"), tag, with_categories=True)["f1"],
        "weak_labels_kept_out_text_only": weak["text_only_share"],
    }


def main() -> None:
    """Train, measure, write the model file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--candidates", action="store_true", help="also measure rules alone and model alone")
    parser.add_argument(
        "--figures-only", action="store_true",
        help="keep the weights in --out, only measure again (after a change to the tagger's thresholds)",
    )
    args = parser.parse_args()
    training, kept_out = split_corpus(list(corpus_papers()))
    model = TopicModel.from_bytes(args.out.read_bytes()) if args.figures_only else train(training)

    def blended(title: str, abstract: str, categories: Sequence[str] = ()) -> tuple[str, ...]:
        return tagger.tag(title, abstract, categories, model=model)

    report = {"blend": figures(blended, kept_out)}
    if args.candidates:
        id_to_name = {topic.id: topic.name for topic in TAXONOMY}

        def rules_alone(title: str, abstract: str, categories: Sequence[str] = ()) -> tuple[str, ...]:
            return tuple(id_to_name[t] for t in tagger.rule_tags(title, abstract, categories))

        report["rules_alone"] = figures(rules_alone, kept_out)
        report["model_alone"] = figures(model_only_tagger(model), kept_out)
    meta = {key: value for key, value in model.meta.items() if key != "figures"}
    model = TopicModel(model.topics, model.index, model.idf, model.weights, model.bias, {**meta, "figures": report["blend"]})
    args.out.write_bytes(model.to_bytes())
    print(json.dumps({"out": str(args.out), "bytes": args.out.stat().st_size, **report}, indent=2))


if __name__ == "__main__":
    main()
