"""Rankings that learn: `/papers foryou`, and the order of channel digests, personal digests
and alert batches once a model has feedback. Every ranked paper says why it is shown.

A ranked paper's score blends (`Blend`, weights chosen on half of the simulated readers of
bench/bench_relevance.py and reported on the other half) the owner's model (bot.rank.models:
its probability that the paper is relevant), how close the paper is to the owner's
subscriptions or channel query (the words a person chose are the strongest evidence there is
before much feedback: a bare keyword subscription beat the model alone), whether it matches one
outright, how much its topics are those of the papers the owner liked (the model's topic lifts),
and what counts for everyone: popularity and recency. Without feedback, weak interests
(subscriptions, a channel's topics and query) rank by similarity; without any, popularity and
recency do.
Models are trained after each click (a few ms, in a worker thread), stored, and rebuilt from
the feedback rows when the stored one was trained in another representation.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import scipy.sparse as sp

from bot.core.clock import Clock, ensure_utc
from bot.core.models import Paper, SourceKind
from bot.enrich.taxonomy import resolve_topic, topic_by_id
from bot.rank.embeddings import Embeddings
from bot.rank.index import DenseMatrix, PaperIndex
from bot.rank.models import (
    CHANNEL,
    MODEL_FORMAT,
    PERSON,
    InterestModel,
    TrainingSet,
    topic_lift,
    train,
)
from bot.rank.representation import REPRESENTATION, paper_text
from bot.rank.similar import SEARCH_ROWS, Neighbour, nearest, semantic_candidates, top_k
from bot.store import Store
from bot.store.feedback import Choice, StoredModel, person_key
from bot.store.vectors import PaperText

log = logging.getLogger(__name__)

BACKGROUND_SAMPLE = 300
BACKGROUND_POOL = 5000  # drawn from the papers stored last
BACKGROUND_CACHE = 64  # stacked background samples kept (they differ by the owners' own examples)
BACKGROUND_STEP = 1000
IMPORT_WEIGHT = 0.7
BASE_WEIGHT = 0.15  # popularity and recency next to a model's relevance
TOPIC_WEIGHT = 0.1
LIKE_SIMILARITY = 0.12  # TF-IDF cosine above which a paper is "like" one the owner liked
POPULAR_VOTES = 20
EXPLAINED = 20  # ranked papers that get a full reason (more than any list shows)
EMBED_PER_REFRESH = 256  # papers embedded per refresh (bounded by the token budget too)
EMBEDDING_COVERAGE = 0.9
WEAK_STRETCH = 2.5  # a cosine of 0.4 to a subscription's words counts fully (as a weak-only model's)


@dataclass(frozen=True, slots=True)
class Blend:
    """How the signals of a paper add up once the owner's model has feedback (see the module);
    each weight multiplies a signal in [0, 1]. Chosen on the tuning half of the simulated
    readers (bench/bench_relevance.py --tune prints the search)."""

    # Closeness to a subscription's or channel query's words. 0.25 (was 0.5): with feedback
    # given on what foryou shows (bench --protocol shown) it was the best weight on the tuning
    # readers, and on the held-out ones it raised the original readers' capped precision@10 by
    # 0.03 (every held-out reader as good or better) and left the broad readers' unchanged.
    subscription: float = 0.25
    match: float = 0.25  # a subscription's words all in the paper, or a subscribed topic
    # The paper's topics are those of what the owner liked. 0: on the benchmark with the
    # tagger's topics (the 16-reader run) every weight above 0 lowered the tuning readers'
    # precision; the lifts are kept with each model so the search can keep trying it.
    topic: float = 0.0
    # Popularity and recency, as before. The benchmark cannot tune it: its papers carry no
    # popularity and each day's are equally recent.
    base: float = BASE_WEIGHT
    # Closeness in meaning (the dense LSA projection) to the closest paper the owner liked or
    # seeded. 0: on the reader benchmark every weight above 0 (and the centroid, the two
    # closest, and the closest dislike subtracted, tried offline) lowered the tuning readers'
    # precision, the broad readers' by 0.13 at 0.5; kept as a signal so the search can retry it.
    liked: float = 0.0


DEFAULT_BLEND = Blend()


@dataclass(frozen=True, slots=True)
class TrainingInputs:
    """What a model is trained on, as read from the store (turned into rows off the loop)."""

    positives: list[PaperText]
    positive_weights: list[float]
    negatives: list[PaperText]
    skipped: list[PaperText]  # shown above a clicked paper and passed over
    background: list[PaperText]
    weak_texts: list[str]
    weak_signature: str
    topics: dict[str, tuple[str, ...]]  # of the positives and the background


@dataclass(frozen=True, slots=True)
class Signals:
    """What a ranking knows about each of some papers, in their order, for one owner."""

    model: InterestModel | None
    rows: sp.csr_matrix  # TF-IDF
    relevance: np.ndarray | None  # the model's, None without a model
    subscription: np.ndarray  # closeness to the weak interests' words, [0, 1]
    topic: np.ndarray  # topic affinity under the model, [0, 1]
    matched: list[WeakInterest | None]
    liked: np.ndarray | None = None  # dense cosine to the closest liked or seeded paper, [0, 1]


@dataclass(frozen=True, slots=True)
class RankedPaper:
    """A paper in a ranked list: its score, the model's relevance (None without a model with
    feedback) and why it is shown."""

    paper: Paper
    score: float
    relevance: float | None
    why: str


@dataclass(frozen=True, slots=True)
class WeakInterest:
    """A subscription or channel setting that counts before there is feedback."""

    label: str  # "your subscription “diffusion”", "this channel's topic Computer Vision"
    text: str  # what is matched: the query, or the topic's name and keywords
    words: tuple[str, ...]  # all must appear for a match (empty: a topic)
    topic_id: str = ""


def base_score(paper: Paper, now: datetime) -> float:
    """What counts for everyone, in [0, 1]: popularity (log-scaled, full at 500 votes) and
    recency (decaying over 3 days), the same blend as a channel digest's."""
    popularity = min(1.0, math.log1p(max(paper.popularity, 0)) / math.log1p(500))
    when = paper.published or paper.first_seen or now
    age_hours = max(0.0, (ensure_utc(now) - ensure_utc(when)).total_seconds() / 3600)
    return (1.5 * popularity + math.exp(-age_hours / 72)) / 2.5


def popularity_reason(paper: Paper) -> str:
    """`popular on HF: 154 upvotes` when a paper is popular somewhere, else ""."""
    best = max(paper.signals, key=lambda s: s.score, default=None)
    if best is None or best.score < POPULAR_VOTES:
        return ""
    if best.source == SourceKind.HF:
        return f"popular on HF: {best.score} upvotes"
    return f"popular on {best.label or best.source.value}: {best.score} points"


def _topic_text(topic_id: str) -> str:
    try:
        topic = topic_by_id(topic_id)
    except KeyError:
        return topic_id
    return " ".join((topic.name, *topic.aliases, *topic.keywords))


def _topic_name(topic_id: str) -> str:
    topic = resolve_topic(topic_id)
    return topic.name if topic else topic_id


def weak_signature(weak: Sequence[WeakInterest]) -> str:
    """A short name of a set of weak interests (a model trained on others is stale)."""
    text = "\x1f".join(sorted(w.text for w in weak))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest() if weak else ""


def _query_words(query: str) -> tuple[str, ...]:
    return tuple(w.strip('"').lower() for w in query.split() if w.strip('"'))


class Ranker:
    """Models per person and per channel, and the rankings that use them (see the module)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        index: PaperIndex | None = None,
        embeddings: Embeddings | None = None,
        blend: Blend = DEFAULT_BLEND,
    ) -> None:
        self.store = store
        self.clock = clock
        self.blend = blend
        self.index = index if index is not None else PaperIndex.load(store)
        self.embeddings = embeddings
        self._models: dict[tuple[str, str], InterestModel | None] = {}
        self._backgrounds: dict[tuple[int, ...], sp.csr_matrix] = {}
        self._sampled: tuple[int, list[PaperText], dict[str, tuple[str, ...]]] | None = None

    async def refresh(self) -> int:
        """Bring the index up to date with the store (new papers since the last call), and
        embed a bounded batch of papers that have no embedding yet when embeddings are on."""
        added = await self.index.refresh(self.store, self.clock())
        if self.embeddings is not None:
            await self.embeddings.backfill(EMBED_PER_REFRESH)
        return added

    # --- similar papers and search by meaning ------------------------------------------------

    def _embedded(self) -> DenseMatrix | None:
        """The embeddings matrix when it covers (nearly) every indexed paper, else None:
        a partial matrix would hide the papers not embedded yet."""
        if self.embeddings is None:
            return None
        matrix = self.embeddings.load()
        if matrix is None or len(matrix) < EMBEDDING_COVERAGE * max(1, len(self.index.dense)):
            return None
        return matrix

    async def similar(self, paper: Paper, k: int = 5) -> list[Neighbour]:
        """The k papers most like `paper`: by embeddings when they are on and cover the store,
        else by the offline projection (TF-IDF directly in a store too small for one)."""
        text = PaperText(0, paper.id, paper.version, paper.title, paper.abstract, "")
        matrix = self._embedded()
        if matrix is not None and self.embeddings is not None:
            found = await self.embeddings.for_papers([text])
            if found is not None:
                return await asyncio.to_thread(top_k, matrix, found[paper.id], k, exclude=[paper.id])
        others: list[PaperText] = []
        if self.index.projection is None:
            newest = self.store.vectors.max_pk()
            others = self.store.vectors.texts_by_pk(range(max(1, newest - 199), newest + 1))
        return await asyncio.to_thread(nearest, self.index, text, k, None, others)

    async def meaning(self, query: str, k: int = 50, since: datetime | None = None) -> list[Neighbour]:
        """Papers close in meaning to a free-text query, best first: the semantic side of a
        search, for reciprocal rank fusion with keyword ranking (ids and cosine scores)."""
        bound = ensure_utc(since).timestamp() if since is not None else None
        matrix = self._embedded()
        if matrix is not None and self.embeddings is not None:
            vector = await self.embeddings.for_query(query)
            if vector is not None:
                return await asyncio.to_thread(top_k, matrix, vector, k, since=bound)
        return await asyncio.to_thread(semantic_candidates, self.index, query, k, bound)

    def search_meaning(self, query: str, k: int, since: float | None) -> list[tuple[str, float]]:
        """The semantic side of `/papers` (`bot.search.fusion.Meaning`): papers close in
        meaning to a query's words among the newest SEARCH_ROWS, as (id, cosine). Always the
        offline representation: a search must not wait for an embeddings API. Synchronous and
        bounded (a few milliseconds), like the word ranking it joins."""
        return [(n.paper_id, n.score) for n in semantic_candidates(self.index, query, k, since, SEARCH_ROWS)]

    # --- feedback ----------------------------------------------------------------------------

    async def record(
        self, platform: str, user_id: str, paper_id: str, choice: Choice, *, channel_key: str = "", shown_in: str = ""
    ) -> Choice | None:
        """Store a choice and retrain the person's model (and the channel's, when it was given
        in a channel); returns the choice it replaced."""
        previous = self.store.feedback.record(
            platform, user_id, paper_id, choice, self.clock(), channel_key=channel_key, shown_in=shown_in
        )
        await self.retrain(PERSON, person_key(platform, user_id))
        if channel_key:
            await self.retrain(CHANNEL, channel_key)
        return previous

    async def take_back(self, platform: str, user_id: str, paper_id: str) -> Choice | None:
        """Remove a choice (and a seed of the same paper); retrain what learned from it."""
        rows = [r for r in self.store.feedback.for_person(platform, user_id) if r.paper_id == paper_id]
        removed = self.store.feedback.remove(platform, user_id, paper_id)
        seed = self.store.feedback.remove_seed(platform, user_id, paper_id)
        if removed is not None or seed:
            await self.retrain(PERSON, person_key(platform, user_id))
            for row in rows:
                if row.channel_key:
                    await self.retrain(CHANNEL, row.channel_key)
        return removed if removed is not None else (Choice.RELEVANT if seed else None)

    async def seed(self, platform: str, user_id: str, paper_ids: Sequence[str], origin: str = "seed") -> int:
        """Add seeds for a person and retrain their model; returns how many were new."""
        added = self.store.feedback.add_seeds(platform, user_id, paper_ids, self.clock(), origin)
        if added:
            await self.retrain(PERSON, person_key(platform, user_id))
        return added

    async def forget(self, platform: str, user_id: str) -> dict[str, int]:
        """Delete everything about a person; channel models that learned from them are
        retrained without their feedback."""
        channels = self.store.feedback.channels_with_feedback_from(platform, user_id)
        counts = self.store.feedback.forget_person(platform, user_id)
        self._models.pop((PERSON, person_key(platform, user_id)), None)
        for channel in channels:
            await self.retrain(CHANNEL, channel)
        return counts

    # --- models -------------------------------------------------------------------------------

    async def model(self, kind: str, key: str) -> InterestModel | None:
        """The owner's model: cached, else stored, else (also when the stored one was trained
        in another representation, or before the owner's subscriptions or topics changed)
        rebuilt from the feedback rows."""
        signature = weak_signature(self.weak_interests(kind, key))
        if (kind, key) in self._models:
            cached = self._models[(kind, key)]
            if (cached.weak_signature if cached is not None else "") == signature:
                return cached
            return await self.retrain(kind, key)
        stored = self.store.feedback.model(kind, key)
        if stored is not None and stored.representation == REPRESENTATION:
            model = InterestModel.from_bytes(stored.data)
            if model.weak_signature == signature and model.model_format == MODEL_FORMAT:
                self._models[(kind, key)] = model
                return model
        return await self.retrain(kind, key)

    async def retrain(self, kind: str, key: str) -> InterestModel | None:
        """Train the owner's model from its rows now and store it (None: nothing to learn).
        The store is read and written on the event loop (one shared connection); everything
        else (TF-IDF rows, fitting, serializing) runs in a worker thread."""
        inputs = self._training_inputs(kind, key)
        fitted = None if inputs is None else await asyncio.to_thread(self._fit, inputs)
        model = fitted[0] if fitted is not None else None
        self._models[(kind, key)] = model
        if fitted is None or model is None:
            self.store.feedback.delete_model(kind, key)
        else:
            self.store.feedback.save_model(
                StoredModel(kind, key, model.representation, fitted[1], model.positives + model.negatives, self.clock())
            )
        return model

    def _fit(self, inputs: TrainingInputs) -> tuple[InterestModel, bytes] | None:
        model = train(self._training_set(inputs))
        return None if model is None else (model, model.to_bytes())

    def training_set(self, kind: str, key: str) -> TrainingSet | None:
        """The rows an owner's model learns from (None when there are none)."""
        inputs = self._training_inputs(kind, key)
        return None if inputs is None else self._training_set(inputs)

    def _training_inputs(self, kind: str, key: str) -> TrainingInputs | None:
        """What an owner's model learns from, as read from the store (None: nothing)."""
        positives: dict[str, float] = {}
        negatives: list[str] = []
        skipped: list[str] = []
        if kind == PERSON:
            platform, _, user_id = key.partition(":")
            rows = self.store.feedback.for_person(platform, user_id)
            for paper_id, origin in self.store.feedback.seeds(platform, user_id):
                positives[paper_id] = IMPORT_WEIGHT if origin == "import" else 1.0
            clicks = {row.paper_id: row.at for row in rows}
            skipped = self._skipped(platform, user_id, clicks, set(clicks) | set(positives))
        else:
            rows = self.store.feedback.for_channel(key)
        for row in rows:
            if row.choice == Choice.RELEVANT:
                positives[row.paper_id] = 1.0
            else:
                positives.pop(row.paper_id, None)
                negatives.append(row.paper_id)
        weak = self.weak_interests(kind, key)
        if not positives and not negatives and not weak:
            return None
        texts = {t.paper_id: t for t in self.store.vectors.texts_of([*positives, *negatives, *skipped])}
        pos_texts = [texts[p] for p in positives if p in texts]
        background: list[PaperText] = []
        topics: dict[str, tuple[str, ...]] = {}
        if pos_texts or any(p in texts for p in negatives):
            sample, topics = self._sample()
            background = [t for t in sample if t.paper_id not in texts]
            if pos_texts:
                topics = {**topics, **self.store.papers.topics_of([t.paper_id for t in pos_texts])}
        return TrainingInputs(
            positives=pos_texts,
            positive_weights=[positives[t.paper_id] for t in pos_texts],
            negatives=[texts[p] for p in negatives if p in texts],
            skipped=[texts[p] for p in skipped if p in texts],
            background=background,
            weak_texts=[w.text for w in weak],
            weak_signature=weak_signature(weak),
            topics=topics,
        )

    def _training_set(self, inputs: TrainingInputs) -> TrainingSet:
        """The TF-IDF rows and topic lifts of a model's inputs (CPU work, no store access)."""
        empty = sp.csr_matrix((0, self.index.tfidf.vectorizer.n_features), dtype=np.float32)
        weights = np.array(inputs.positive_weights, dtype=np.float64)
        lifts: dict[str, float] = {}
        if inputs.positives and inputs.background:
            lifts = topic_lift(
                [inputs.topics.get(t.paper_id, ()) for t in inputs.positives],
                inputs.positive_weights,
                [inputs.topics.get(t.paper_id, ()) for t in inputs.background],
            )
        learned = bool(inputs.positives or inputs.negatives)
        return TrainingSet(
            positives=self.index.sparse(inputs.positives) if inputs.positives else empty,
            positive_weights=weights,
            negatives=self.index.sparse(inputs.negatives) if inputs.negatives else empty,
            background=self._background_rows(inputs.background) if inputs.background else empty,
            weak=self.index.tfidf.vectors(inputs.weak_texts) if inputs.weak_texts else empty,
            positive_ids=tuple(t.paper_id for t in inputs.positives),
            weak_signature=inputs.weak_signature,
            implicit=self.index.sparse(inputs.skipped) if inputs.skipped and learned else None,
            topic_lift=lifts,
        )

    def _skipped(self, platform: str, user_id: str, clicks: Mapping[str, datetime], judged: set[str]) -> list[str]:
        """Papers seen and passed over (a weak "not for me"): in each list the person was shown
        (`shown_history`), those above the lowest paper they gave feedback on from that list,
        with no feedback of their own. A click belongs to the newest list shown before it that
        holds the paper. Papers below the lowest click may never have been looked at, so they
        say nothing. Without any history (lists shown before it was kept), the last list."""
        lists = self.store.feedback.shown_history(platform, user_id, self.clock())
        if not lists:
            last = self.store.feedback.last_shown(platform, user_id)
            lists = [last] if last is not None else []
        deepest: dict[int, int] = {}  # list (newest first) -> position of its lowest click
        for paper_id, at in clicks.items():
            for number, shown in enumerate(lists):
                if shown.at <= at and paper_id in shown.paper_ids:
                    deepest[number] = max(deepest.get(number, -1), shown.paper_ids.index(paper_id))
                    break
        passed_over = (
            paper_id for number in sorted(deepest) for paper_id in lists[number].paper_ids[: deepest[number]]
        )
        return list(dict.fromkeys(p for p in passed_over if p not in judged))

    def _background_rows(self, texts: list[PaperText]) -> sp.csr_matrix:
        """The background's TF-IDF rows, stacked once per sample (every owner draws the same
        sample, so after the first click anywhere this is a dictionary look-up)."""
        signature = tuple(t.pk for t in texts)
        rows = self._backgrounds.get(signature)
        if rows is None:
            rows = self._backgrounds[signature] = self.index.sparse(texts)
            while len(self._backgrounds) > BACKGROUND_CACHE:
                self._backgrounds.pop(next(iter(self._backgrounds)))
        return rows

    def _sample(self) -> tuple[list[PaperText], dict[str, tuple[str, ...]]]:
        """A fixed sample of the papers stored last (the background every model contrasts
        its examples with) and their topics. The pool ends at a multiple of BACKGROUND_STEP
        papers, so the sample changes once per that many new papers, not with each one; it
        is read from the store once per change."""
        newest = self.store.vectors.max_pk()
        top = (newest // BACKGROUND_STEP) * BACKGROUND_STEP or newest
        if self._sampled is not None and self._sampled[0] == top:
            return self._sampled[1], self._sampled[2]
        low = max(1, top - BACKGROUND_POOL + 1)
        if top - low + 1 <= BACKGROUND_SAMPLE:
            pks = list(range(low, top + 1))
        else:
            offsets = np.random.default_rng(top).choice(top - low + 1, BACKGROUND_SAMPLE, replace=False)
            pks = sorted(int(low + o) for o in offsets)
        texts = self.store.vectors.texts_by_pk(pks)
        topics = self.store.papers.topics_of([t.paper_id for t in texts])
        self._sampled = (top, texts, topics)
        return texts, topics

    def weak_interests(self, kind: str, key: str) -> list[WeakInterest]:
        """A person's subscriptions, or a channel's topics and query."""
        found: list[WeakInterest] = []
        if kind == PERSON:
            platform, _, user_id = key.partition(":")
            for sub in self.store.subscriptions.list_for_user(platform, user_id):
                if sub.paused_reason:
                    continue
                if sub.query.strip('" '):
                    found.append(WeakInterest(f"your subscription “{sub.query.strip()}”", sub.query, _query_words(sub.query)))
                for topic in sub.topics:
                    found.append(WeakInterest(f"your subscription to {_topic_name(topic)}", _topic_text(topic), (), topic))
        else:
            settings = self.store.channels.get(key)
            if settings is not None:
                if settings.query.strip('" '):
                    found.append(WeakInterest(f"this channel's query “{settings.query}”", settings.query, _query_words(settings.query)))
                for topic in settings.topics:
                    found.append(WeakInterest(f"this channel's topic {_topic_name(topic)}", _topic_text(topic), (), topic))
        return found

    # --- rankings ----------------------------------------------------------------------------

    async def for_you(
        self, platform: str, user_id: str, since: datetime, limit: int = 10, threshold: float | None = None
    ) -> list[RankedPaper]:
        """The papers since `since` ranked for one person (papers they already judged left
        out), best first, each with why."""
        candidates, base = self.candidates_for(platform, user_id, since)
        if not candidates:
            return []
        ranked = await self.rank(PERSON, person_key(platform, user_id), candidates, base, threshold=threshold, explain=limit)
        return ranked[:limit]

    def candidates_for(self, platform: str, user_id: str, since: datetime) -> tuple[list[Paper], dict[str, float]]:
        """What `for_you` ranks: the papers new or changed since `since` that the person has
        not judged or seeded, and each one's base score (popularity and recency)."""
        now = self.clock()
        judged = {row.paper_id for row in self.store.feedback.for_person(platform, user_id)}
        judged.update(paper_id for paper_id, _ in self.store.feedback.seeds(platform, user_id))
        ids = list(dict.fromkeys([*self.store.vectors.ids_since(since), *self.store.vectors.changed_ids_since(since)]))
        candidates = list(self.store.papers.get_many([i for i in ids if i not in judged]))
        return candidates, {p.id: base_score(p, now) for p in candidates}

    async def order(
        self,
        kind: str,
        key: str,
        papers: Sequence[Paper],
        today: Mapping[str, float],
        *,
        threshold: float | None = None,
        reasons: Mapping[str, str] | None = None,
        explain: int = EXPLAINED,
    ) -> list[RankedPaper] | None:
        """Papers already chosen by a digest or an alert batch, in the order of the owner's
        model blended with `today`'s score (normalized here). None when the owner's model has
        no feedback yet: the caller keeps its own order."""
        model = await self.model(kind, key)
        if model is None or not model.has_feedback:
            return None
        top = max(today.values(), default=1.0) or 1.0
        base = {pid: score / top for pid, score in today.items()}
        return await self.rank(
            kind, key, papers, base, threshold=threshold, reasons=reasons, base_weight=0.3, explain=explain
        )

    async def rank(
        self,
        kind: str,
        key: str,
        papers: Sequence[Paper],
        base: Mapping[str, float],
        *,
        threshold: float | None = None,
        reasons: Mapping[str, str] | None = None,
        base_weight: float | None = None,
        explain: int = EXPLAINED,
    ) -> list[RankedPaper]:
        """Score papers for an owner (see the module); best first. The best `explain` get a
        full reason (the terms behind their score, how many liked papers they resemble);
        the rest keep `reasons` and their weak-interest match (a reason costs a millisecond
        or two, so only what is shown gets one)."""
        signals = await self.signals(kind, key, papers)
        model, rows, relevance = signals.model, signals.rows, signals.relevance
        learned = model is not None and model.has_feedback
        blend = self.blend
        scored: list[tuple[float, str, int, float | None, WeakInterest | None]] = []
        for i, paper in enumerate(papers):
            matched = signals.matched[i]
            value = float(relevance[i]) if relevance is not None else None
            if value is None:
                score = base.get(paper.id, 0.0) + (TOPIC_WEIGHT if matched else 0.0)
            elif not learned:
                # Weak interests alone: similarity to them (the model) and a match.
                score = value + BASE_WEIGHT * base.get(paper.id, 0.0) + (TOPIC_WEIGHT if matched else 0.0)
            else:
                score = (
                    value
                    + blend.subscription * float(signals.subscription[i])
                    + blend.match * (1.0 if matched else 0.0)
                    + blend.topic * float(signals.topic[i])
                    + (blend.liked * float(signals.liked[i]) if signals.liked is not None else 0.0)
                    + (blend.base if base_weight is None else base_weight) * base.get(paper.id, 0.0)
                )
            if threshold is not None and learned and value is not None and value < threshold:
                continue
            scored.append((score, paper.id, i, value, matched))
        scored.sort(key=lambda s: (-s[0], s[1]))
        liked_rows = self._liked_rows(model) if scored else None
        liked_by = "you liked" if kind == PERSON else "liked here"
        ranked: list[RankedPaper] = []
        for place, (score, paper_id, i, value, matched) in enumerate(scored):
            paper = papers[i]
            given = (reasons or {}).get(paper_id, "")
            if place < explain:
                why = self._why(paper, rows[i], model, liked_rows, matched, given, liked_by)
            else:
                why = " · ".join(p for p in (given, f"matches {matched.label}" if matched else "") if p)
            ranked.append(RankedPaper(paper, score, value if learned else None, why))
        return ranked

    async def signals(self, kind: str, key: str, papers: Sequence[Paper], *, with_liked: bool = False) -> Signals:
        """Each paper's signals for an owner (what `rank` blends; the benchmark tunes on it).
        The dense closeness to liked papers is computed only when the blend weighs it, or when
        asked (`with_liked`: the benchmark's blend search), since the shipped weight is 0."""
        model = await self.model(kind, key)
        weak = self.weak_interests(kind, key)
        learned = model is not None and model.has_feedback
        needs_topics = any(w.topic_id for w in weak) or (learned and model is not None and bool(model.topic_lift))
        topics = self.store.papers.topics_of([p.id for p in papers]) if needs_topics else {}
        texts = [PaperText(0, p.id, p.version, p.title, p.abstract, "") for p in papers]
        rows = await asyncio.to_thread(self.index.sparse, texts)
        relevance = model.relevance(rows) if model is not None else None
        worded = [w for w in weak if w.words]
        if worded and rows.shape[0]:
            weak_rows = self.index.tfidf.vectors([w.text for w in worded])
            closeness = np.asarray((rows @ weak_rows.T).max(axis=1).todense()).ravel()
            subscription = np.clip(closeness * WEAK_STRETCH, 0.0, 1.0)
        else:
            subscription = np.zeros(len(papers))
        if learned and model is not None:
            topic = np.array([model.topic_affinity(topics.get(p.id, ())) for p in papers])
        else:
            topic = np.zeros(len(papers))
        matched = [self._weak_match(p, topics.get(p.id, ()), weak) for p in papers]
        wanted = with_liked or self.blend.liked > 0
        liked = self._liked_closeness(model, texts) if wanted and learned and model is not None else None
        return Signals(model, rows, relevance, subscription, topic, matched, liked)

    def _liked_closeness(self, model: InterestModel, texts: Sequence[PaperText]) -> np.ndarray | None:
        """Each paper's dense cosine to the closest of the model's positives (clipped to
        [0, 1]); None before a projection exists or without positives. Rows come from the
        index (every stored paper has one), computed for the few that are not in it yet."""
        if self.index.projection is None or not model.positive_ids or not texts:
            return None
        liked = self._dense_rows(list(model.positive_ids))
        if liked is None:
            return None
        papers = self._dense_rows([t.paper_id for t in texts], texts)
        if papers is None:
            return None
        return np.clip((papers @ liked.T).max(axis=1), 0.0, 1.0)

    def _dense_rows(self, paper_ids: Sequence[str], texts: Sequence[PaperText] | None = None) -> np.ndarray | None:
        """Dense rows of papers, from the index or projected now (`texts`, else read from the
        store, for papers the index does not hold); None when there are none."""
        dense = self.index.dense
        found: list[np.ndarray | None] = [dense.row(pid) if dense.dimensions > 1 else None for pid in paper_ids]
        missing = [pid for pid, row in zip(paper_ids, found, strict=True) if row is None]
        if missing:
            by_id = {t.paper_id: t for t in texts} if texts is not None else {t.paper_id: t for t in self.store.vectors.texts_of(missing)}
            have = [by_id[pid] for pid in missing if pid in by_id]
            projected = self.index.dense_for_texts([paper_text(t.title, t.abstract) for t in have]) if have else None
            fresh = {t.paper_id: projected[j] for j, t in enumerate(have)} if projected is not None else {}
            found = [row if row is not None else fresh.get(pid) for pid, row in zip(paper_ids, found, strict=True)]
        kept = [row for row in found if row is not None]
        if not kept:
            return None
        if len(kept) < len(found) and texts is not None:
            # Rows must stay in the papers' order: a paper with no row at all gets zeros.
            width = kept[0].shape[0]
            return np.vstack([row if row is not None else np.zeros(width, dtype=np.float32) for row in found])
        return np.vstack(kept)

    # --- reasons -----------------------------------------------------------------------------

    def _liked_rows(self, model: InterestModel | None) -> sp.csr_matrix | None:
        if model is None or not model.positive_ids:
            return None
        texts = self.store.vectors.texts_of(list(model.positive_ids))
        return self.index.sparse(texts) if texts else None

    @staticmethod
    def _weak_match(paper: Paper, paper_topics: Sequence[str], weak: Sequence[WeakInterest]) -> WeakInterest | None:
        text = f"{paper.title} {paper.abstract}".lower()
        for interest in weak:
            if interest.topic_id and interest.topic_id in paper_topics:
                return interest
            if interest.words and all(word in text for word in interest.words):
                return interest
        return None

    def _why(
        self,
        paper: Paper,
        row: sp.csr_matrix,
        model: InterestModel | None,
        liked_rows: sp.csr_matrix | None,
        matched: WeakInterest | None,
        given: str,
        liked_by: str,
    ) -> str:
        parts: list[str] = [given] if given else []
        if model is not None and model.has_feedback:
            terms = self._top_terms(paper, row, model)
            similar = 0
            if liked_rows is not None and liked_rows.shape[0]:
                similar = int((np.asarray((liked_rows @ row.T).todense()).ravel() >= LIKE_SIMILARITY).sum())
            about = f" on {', '.join(terms)}" if terms else ""
            if similar:
                parts.append(f"like {similar} paper{'s' if similar != 1 else ''} {liked_by}{about}")
            elif terms:
                parts.append(f"close to what {liked_by}: {', '.join(terms)}")
        if matched is not None:
            parts.append(f"matches {matched.label}")
        popular = popularity_reason(paper)
        if popular:
            parts.append(popular)
        return " · ".join(dict.fromkeys(parts))

    def _top_terms(self, paper: Paper, row: sp.csr_matrix, model: InterestModel, count: int = 2) -> list[str]:
        names = self.index.tfidf.terms_by_bucket(paper_text(paper.title, paper.abstract))
        chosen: list[str] = []
        for bucket, _ in model.contributions(row):
            term = names.get(bucket)
            if term is None or any(term in c or c in term for c in chosen):
                continue
            chosen.append(term)
            if len(chosen) == count:
                break
        return chosen
