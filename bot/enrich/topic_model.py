"""A learned second opinion for the tagger: one logistic regression per core topic.

The rule tagger (bot.enrich.tagger) reads phrases; this model reads every word and word pair of
title and abstract. It was trained offline (bench/train_topic_model.py) on the arXiv daily
corpus: for Computer Vision, NLP and Robotics the label is the paper's primary arXiv category
(cs.CV or eess.IV, cs.CL, cs.RO: what the authors filed it under), for the other core topics
the rule tagger's own tags computed with the categories. None of the hand-labelled papers is
among the training papers. The tagger uses it to confirm or veto its own core tags (see
`bot.enrich.tagger`).

The representation is the relevance model's (bot.rank.representation: words and word pairs,
sublinear TF-IDF, unit length) over the tagger's own words, with a fixed vocabulary instead of
hashing so the shipped file is small: `topic_model.npz` next to this module holds the terms,
their IDF, one float16 weight per term and topic, the biases, and the figures measured when it
was trained. Deterministic and offline; it adds about 0.1-0.2 ms to tagging a paper.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from types import MappingProxyType
from typing import Any

import numpy as np

MODEL_FILE = "topic_model.npz"
TITLE_WEIGHT = 2  # a title word counts twice, as in the relevance representation

# Function words carry no topic; dropping them also keeps pairs like "of the" out of the vocabulary.
STOP_WORDS = frozenset(["a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "either", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "may", "me", "might", "more", "most", "must", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "thus", "to", "too", "under", "until", "up", "upon", "us", "very", "via", "was", "we", "were", "what", "when", "where", "whether", "which", "while", "who", "whom", "why", "will", "with", "within", "without", "would", "yet", "you", "your", "yours", "yourself"])


def term_counts(title_words: Sequence[str], abstract_words: Sequence[str]) -> dict[str, int]:
    """Words and adjacent word pairs (after dropping stop words and bare numbers) with their
    counts, title terms counted `TITLE_WEIGHT` times. The words are the tagger's: folded and
    plural-folded."""
    counts: dict[str, int] = {}
    for words, weight in ((title_words, TITLE_WEIGHT), (abstract_words, 1)):
        kept = [word for word in words if word not in STOP_WORDS and not word.isdigit()]
        for word in kept:
            counts[word] = counts.get(word, 0) + weight
        for first, second in zip(kept, kept[1:], strict=False):
            pair = f"{first} {second}"
            counts[pair] = counts.get(pair, 0) + weight
    return counts


@dataclass(frozen=True)
class TopicModel:
    """Per-topic logistic regressions over TF-IDF terms."""

    topics: tuple[str, ...]  # topic ids, one column each
    index: Mapping[str, int]  # term -> row
    idf: np.ndarray  # float32, one per term
    weights: np.ndarray  # float32, terms x topics
    bias: np.ndarray  # float32, one per topic
    meta: Mapping[str, Any] = field(default_factory=dict)  # how it was trained, and its figures

    def probabilities(self, title_words: Sequence[str], abstract_words: Sequence[str]) -> dict[str, float]:
        """P(topic | text) per topic id: the same terms as `term_counts`, looked up without
        building a string per word pair (this runs for every paper the tagger sees)."""
        words, pairs = self._lookup
        rows: list[int] = []
        for text, weight in ((title_words, TITLE_WEIGHT), (abstract_words, 1)):
            kept = [word for word in text if word not in STOP_WORDS and not word.isdigit()]
            # map() over dict.get keeps the per-word work in C: a fifth of the time of a loop.
            found = [row for row in map(words.get, kept) if row is not None]
            found += [row for row in map(pairs.get, zip(kept, kept[1:], strict=False)) if row is not None]
            rows += found * weight
        logits = self.bias
        if rows:
            present, counts = np.unique(np.array(rows), return_counts=True)
            tfidf = (1.0 + np.log(counts.astype(np.float32))) * self.idf[present]
            tfidf /= math.sqrt(float(tfidf @ tfidf))
            logits = tfidf @ self.weights[present] + self.bias
        chances = 1.0 / (1.0 + np.exp(-logits))
        return dict(zip(self.topics, chances.tolist(), strict=True))

    @cached_property
    def _lookup(self) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        """Single words -> row, and (first word, second word) -> row for word pairs."""
        words: dict[str, int] = {}
        pairs: dict[tuple[str, str], int] = {}
        for term, row in self.index.items():
            first, _, second = term.partition(" ")
            if second:
                pairs[first, second] = row
            else:
                words[term] = row
        return words, pairs

    def to_bytes(self) -> bytes:
        """The model as a compressed .npz (weights stored as float16)."""
        terms = sorted(self.index, key=self.index.__getitem__)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            topics=np.array(self.topics),
            terms=np.array(terms),
            idf=self.idf.astype(np.float32),
            weights=self.weights.astype(np.float16),
            bias=self.bias.astype(np.float32),
            meta=np.array([json.dumps(self.meta, sort_keys=True)]),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TopicModel:
        """Read a model written by `to_bytes`."""
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        terms = [str(term) for term in loaded["terms"]]
        return cls(
            topics=tuple(str(topic) for topic in loaded["topics"]),
            index=MappingProxyType({term: row for row, term in enumerate(terms)}),
            idf=loaded["idf"].astype(np.float32),
            weights=loaded["weights"].astype(np.float32),
            bias=loaded["bias"].astype(np.float32),
            meta=MappingProxyType(json.loads(str(loaded["meta"][0]))),
        )


@cache
def shipped_model() -> TopicModel:
    """The model shipped with the bot (read once)."""
    return TopicModel.from_bytes(resources.files("bot.enrich").joinpath(MODEL_FILE).read_bytes())
