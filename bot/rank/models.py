"""Interest models: one per person and one per channel, trained on feedback and seeds.

A model is a logistic regression over the hashed TF-IDF space (bot.rank.representation), the
per-user linear classifier of arxiv-sanity-lite and Scholar Inbox: positives are the papers a
person liked, seeded or imported; negatives are the papers they marked "not for me" (weighted
most) and a fixed sample of other stored papers (weighted little: most papers are not for any
one person, which is what the classifier has to learn, as arxiv-sanity does with every other
paper). Subscriptions and a channel's topics and query count as weak positives: short texts
with a small weight, so they steer a cold start and fade as real feedback arrives. With no
feedback at all, the model is their centroid (Rocchio), which scores by similarity to them.

A model also learns which topics (the tagger's, bot.enrich) its positives lean to: a topic's
lift is how much more often it is among the positives than among the background papers
(`topic_lift`), so a person who likes clinical papers gets the health topic's papers up even when
their words differ. Papers a person was shown and skipped (above one they clicked on in the same
list) are weak negatives (`implicit`), the way arxiv-sanity treats every unliked paper.

Training takes a few milliseconds for the few hundred rows involved, so a model is retrained
from its rows after every click. Models are stored with the representation they were trained
in and rebuilt from the feedback rows when that changes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from bot.rank.representation import N_FEATURES, REPRESENTATION

PERSON = "person"
CHANNEL = "channel"
NEGATIVE_WEIGHT = 1.0  # a "not for me" counts like a like, the other way
BACKGROUND_WEIGHT = 0.15  # per sampled paper: together about as much as a handful of dislikes
WEAK_WEIGHT = 0.5  # a subscription or channel topic, per text
REGULARIZATION = 4.0  # logistic regression's C, chosen on the simulated readers (bench)
IMPLICIT_WEIGHT = 0.3  # a paper shown above one the person clicked, and skipped
TOPIC_PRIOR = 2.0  # pseudo-positives spread as the background's topic rates (smooths a lift)
TOPIC_LIFT_CAP = math.log(20.0)  # a lift of 20x and more counts fully
MODEL_FORMAT = 2  # 2: topic lifts stored with the model (older ones are retrained)


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """What a model learns from: TF-IDF rows of positives (with weights), negatives,
    background papers, and weak interest texts already turned into rows."""

    positives: sp.csr_matrix
    positive_weights: np.ndarray
    negatives: sp.csr_matrix
    background: sp.csr_matrix
    weak: sp.csr_matrix
    positive_ids: tuple[str, ...] = ()
    weak_signature: str = ""  # names the weak interests it saw (a change means retrain)
    implicit: sp.csr_matrix | None = None  # shown and skipped: weak negatives
    topic_lift: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InterestModel:
    """A trained linear model over the sparse representation."""

    representation: str
    indices: np.ndarray  # int32 buckets with a weight
    weights: np.ndarray  # float32
    bias: float
    positives: int  # feedback positives (likes, seeds, imports)
    negatives: int  # "not for me"
    weak_only: bool  # trained on weak interests alone (no feedback yet)
    positive_ids: tuple[str, ...] = ()
    weak_signature: str = ""
    topic_lift: Mapping[str, float] = field(default_factory=dict)  # topic id -> [0, 1]
    model_format: int = MODEL_FORMAT
    _dense: list[np.ndarray] = field(default_factory=list, compare=False, repr=False)

    @property
    def has_feedback(self) -> bool:
        """Whether anyone's feedback (not just subscriptions or topics) shaped it."""
        return not self.weak_only

    def weight_vector(self) -> np.ndarray:
        """The weights as one dense vector over every bucket (built once)."""
        if not self._dense:
            dense = np.zeros(N_FEATURES, dtype=np.float32)
            dense[self.indices] = self.weights
            self._dense.append(dense)
        return self._dense[0]

    def decision(self, rows: sp.csr_matrix) -> np.ndarray:
        """The raw linear score of each row."""
        if rows.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(rows @ self.weight_vector(), dtype=np.float32).ravel() + self.bias

    def relevance(self, rows: sp.csr_matrix) -> np.ndarray:
        """Each row's relevance in [0, 1]: the classifier's probability, or for a model of weak
        interests alone, the similarity to them stretched to that range."""
        scores = self.decision(rows)
        if self.weak_only:
            return np.clip(scores * 2.5, 0.0, 1.0)
        return 1.0 / (1.0 + np.exp(-scores))

    def topic_affinity(self, paper_topics: Sequence[str]) -> float:
        """How much a paper's topics are the model's (the best lift among them, in [0, 1])."""
        return max((self.topic_lift.get(t, 0.0) for t in paper_topics), default=0.0)

    def contributions(self, row: sp.csr_matrix) -> list[tuple[int, float]]:
        """(bucket, weight x value) of one row's terms, strongest positive first."""
        dense = self.weight_vector()
        parts = [(int(i), float(dense[i] * v)) for i, v in zip(row.indices, row.data, strict=True)]
        return sorted((p for p in parts if p[1] > 0), key=lambda p: -p[1])

    def to_bytes(self) -> bytes:
        """Serialized for the store."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            representation=np.array([self.representation]),
            indices=self.indices,
            weights=self.weights,
            meta=np.array([self.bias, self.positives, self.negatives, int(self.weak_only)], dtype=np.float64),
            positive_ids=np.array(list(self.positive_ids), dtype=str),
            weak_signature=np.array([self.weak_signature]),
            topic_ids=np.array(list(self.topic_lift), dtype=str),
            topic_lifts=np.array(list(self.topic_lift.values()), dtype=np.float64),
            model_format=np.array([self.model_format]),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> InterestModel:
        """Restore from `to_bytes`."""
        loaded = np.load(io.BytesIO(data))
        bias, positives, negatives, weak_only = loaded["meta"].tolist()
        return cls(
            representation=str(loaded["representation"][0]),
            indices=loaded["indices"].astype(np.int32),
            weights=loaded["weights"].astype(np.float32),
            bias=float(bias),
            positives=int(positives),
            negatives=int(negatives),
            weak_only=bool(weak_only),
            positive_ids=tuple(str(i) for i in loaded["positive_ids"].tolist()),
            weak_signature=str(loaded["weak_signature"][0]) if "weak_signature" in loaded else "",
            topic_lift=(
                dict(zip(loaded["topic_ids"].tolist(), map(float, loaded["topic_lifts"].tolist()), strict=True))
                if "topic_ids" in loaded
                else {}
            ),
            model_format=int(loaded["model_format"][0]) if "model_format" in loaded else 1,
        )


def topic_lift(
    positive_topics: Sequence[Sequence[str]], positive_weights: Sequence[float], background_topics: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Each topic's lift among the positives over the background, as log(rate among positives /
    rate among the background) scaled to [0, 1] (TOPIC_LIFT_CAP counts fully; a topic no more
    common among the positives than anywhere counts 0). TOPIC_PRIOR pseudo-positives at the
    background's rates keep two seeds from making a topic certain."""
    if not positive_topics or not background_topics:
        return {}
    background: dict[str, float] = {}
    for topics in background_topics:
        for topic in set(topics):
            background[topic] = background.get(topic, 0.0) + 1.0
    n_background = float(len(background_topics))
    among: dict[str, float] = {}
    for topics, weight in zip(positive_topics, positive_weights, strict=True):
        for topic in set(topics):
            among[topic] = among.get(topic, 0.0) + float(weight)
    total = float(sum(positive_weights))
    lifts: dict[str, float] = {}
    for topic, count in among.items():
        base_rate = (background.get(topic, 0.0) + 1.0) / (n_background + 2.0)
        rate = (count + TOPIC_PRIOR * base_rate) / (total + TOPIC_PRIOR)
        lift = math.log(rate / base_rate) / TOPIC_LIFT_CAP
        if lift > 0:
            lifts[topic] = round(min(1.0, lift), 4)
    return lifts


def train(data: TrainingSet) -> InterestModel | None:
    """Train a model (None when there is nothing to learn from). CPU work of a few ms."""
    n_pos, n_neg, n_weak = data.positives.shape[0], data.negatives.shape[0], data.weak.shape[0]
    if n_pos == 0 and n_neg == 0:
        if n_weak == 0:
            return None
        return _centroid(data)
    implicit = data.implicit if data.implicit is not None else data.background[:0]
    rows = sp.vstack([data.positives, data.weak, data.negatives, implicit, data.background]).tocsr()
    labels = np.concatenate(
        [np.ones(n_pos + n_weak), np.zeros(n_neg + implicit.shape[0] + data.background.shape[0])]
    )
    weights = np.concatenate(
        [
            data.positive_weights,
            np.full(n_weak, WEAK_WEIGHT),
            np.full(n_neg, NEGATIVE_WEIGHT),
            np.full(implicit.shape[0], IMPLICIT_WEIGHT),
            np.full(data.background.shape[0], BACKGROUND_WEIGHT),
        ]
    )
    if labels.min() == labels.max():
        # Only positives and nothing to contrast them with: the centroid says as much.
        return _centroid(data)
    # Both classes weigh the same in total (class_weight='balanced' with sample weights).
    for label in (0.0, 1.0):
        mask = labels == label
        weights[mask] *= (weights.sum() / 2.0) / weights[mask].sum()
    # Only the buckets the rows use can get a weight: fit on those columns alone (the dual
    # solver's cost is in the nonzeros, so this takes milliseconds, not seconds).
    columns = np.unique(rows.indices).astype(np.int32)
    compact = rows[:, columns]
    classifier = LogisticRegression(C=REGULARIZATION, solver="liblinear", dual=True, max_iter=1000)
    classifier.fit(compact, labels, sample_weight=weights)
    coef = classifier.coef_.ravel().astype(np.float32)
    kept = np.flatnonzero(coef)
    nonzero = columns[kept]
    coef = coef[kept]
    return InterestModel(
        representation=REPRESENTATION,
        indices=nonzero,
        weights=coef,
        bias=float(classifier.intercept_[0]),
        positives=n_pos,
        negatives=n_neg,
        weak_only=False,
        positive_ids=data.positive_ids,
        weak_signature=data.weak_signature,
        topic_lift=dict(data.topic_lift),
    )


def _centroid(data: TrainingSet) -> InterestModel:
    """Rocchio: the weighted mean of the positive rows (or of the weak ones when there are no
    positives, a little of them otherwise) minus a quarter of the negatives' mean."""
    vector = np.zeros(N_FEATURES, dtype=np.float64)
    n_pos = data.positives.shape[0]
    if n_pos:
        weighted = sp.csr_matrix(data.positives.multiply(data.positive_weights[:, None]))
        vector += np.asarray(weighted.sum(axis=0)).ravel() / max(float(data.positive_weights.sum()), 1e-9)
    if data.weak.shape[0]:
        vector += (0.2 if n_pos else 1.0) * np.asarray(data.weak.mean(axis=0)).ravel()
    if data.negatives.shape[0]:
        vector -= 0.25 * np.asarray(data.negatives.mean(axis=0)).ravel()
    norm = float(np.linalg.norm(vector)) or 1.0
    unit = (vector / norm).astype(np.float32)
    nonzero = np.flatnonzero(unit).astype(np.int32)
    return InterestModel(
        representation=REPRESENTATION,
        indices=nonzero,
        weights=unit[nonzero],
        bias=0.0,
        positives=n_pos,
        negatives=data.negatives.shape[0],
        weak_only=n_pos == 0 and data.negatives.shape[0] == 0,
        positive_ids=data.positive_ids,
        weak_signature=data.weak_signature,
        topic_lift=dict(data.topic_lift),
    )
