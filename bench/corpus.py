"""A synthetic paper corpus for benchmarks, built from 71,011 real arXiv announcements.

Changed from the first version, which resampled the sentences of the 392 abstracts of
hf_trending_abstracts.jsonl: that corpus had a vocabulary of a few thousand words, so every
word was "common" and document frequencies looked nothing like arXiv's. The corpus is now
`../shared/corpus/arxiv_daily/` (real titles, abstracts, authors, categories and daily volumes of
cs.CV/cs.CL/cs.AI announcements over 309 days); the API (`synthetic_papers`, `corpus_docs`,
`corpus_topics`, `DEFAULT_END`) is unchanged.

`synthetic_papers(n, seed)` yields `n` Papers, oldest first, deterministic for a seed:

- volume: papers arrive on announcement days (Monday to Friday) over `years` (default 3) ending
  at `end`; day i gets a share of `n` proportional to the real volume of announcement day
  i mod 309, so quiet and busy days (1 to 713 real papers) follow the real pattern;
- text: the real records are taken in a shuffled order, cycling. The first time a record is
  used the paper is that real record unchanged (title, abstract, authors, categories: at 1M
  papers, 71,011 of them are verbatim). Every later use resamples it: the record's title (or its
  head before a colon joined to another title's tail), 2-3 consecutive sentences of its
  abstract, then 1-3 sentences drawn from all real abstracts; as many authors as the record
  has, each a real first name joined to a real surname drawn from all authors (so frequent
  names stay frequent); the record's categories. Vocabulary and document frequencies are
  therefore those of real arXiv text;
- times: arXiv papers at 00:00-00:59 UTC of their day (arXiv announces at 20:00 US Eastern);
  ids are arXiv-style `YYMM.NNNNN` numbered per month (at most 99,999 per month); about 1% are
  blog items `feed:<hash>` at any hour;
- signals: about 4% of papers come from HF daily with upvotes (heavy-tailed, up to 800) and
  about 1.5% from Reddit with a score; those papers have that source.

`corpus_topics(paper)` gives 1-2 topic ids (llm, cv, rl, ...) from keyword cues in the paper's
text, so a benchmark can fill `paper_topics` without the real tagger.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from bot.core.models import Paper, Signal, SourceKind

CORPUS = (
    Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "arxiv_daily"
    / "arxiv_cs_daily_2025-03-18_2026-06-11.jsonl.gz"
)
DEFAULT_END = datetime(2026, 11, 20, tzinfo=UTC)

# Keyword -> topic id, applied to a paper's title and abstract (lower case).
_TOPIC_CUES = (
    ("llm", ("language model", "llm", "gpt", "instruction", "token")),
    ("cv", ("image", "vision", "video", "visual", "3d", "gaussian splatting", "segmentation", "pixel")),
    ("rl", ("reinforcement learning", "reward", "policy optimization", " rl ")),
    ("gen", ("diffusion", "generative", "generation")),
    ("agents", ("agent",)),
    ("reasoning", ("reasoning", "chain-of-thought", "math")),
    ("robotics", ("robot", "manipulation", "embodied")),
    ("speech", ("speech", "audio", "voice")),
    ("code", ("code generation", "software", "programming")),
    ("efficient", ("quantization", "pruning", "efficient", "latency")),
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class _Doc:
    title: str
    sentences: tuple[str, ...]
    authors: tuple[str, ...]
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Corpus:
    docs: tuple[_Doc, ...]
    daily_volumes: tuple[int, ...]  # real papers per announcement day, in date order
    sentences: tuple[str, ...]  # every abstract sentence
    first_names: tuple[str, ...]  # every author's given names (with repeats)
    surnames: tuple[str, ...]  # every author's surname (with repeats)


def _squeeze(text: str) -> str:
    return " ".join(text.split())


@lru_cache(maxsize=1)
def _corpus() -> _Corpus:
    docs: list[_Doc] = []
    volumes: dict[str, int] = {}
    first_names: list[str] = []
    surnames: list[str] = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            title, abstract = _squeeze(record["title"]), _squeeze(record["abstract"])
            sentences = tuple(s for s in _SENTENCE_END.split(abstract) if s)
            authors = tuple(_squeeze(a) for a in record["authors"] if a.strip())
            docs.append(_Doc(title, sentences or (abstract,), authors, tuple(record["categories"]) or ("cs.AI",)))
            volumes[record["announced"]] = volumes.get(record["announced"], 0) + 1
            for name in authors:
                given, _, family = name.rpartition(" ")
                if given and family:
                    first_names.append(given)
                    surnames.append(family)
    return _Corpus(
        docs=tuple(docs),
        daily_volumes=tuple(volumes[day] for day in sorted(volumes)),
        sentences=tuple(s for doc in docs for s in doc.sentences),
        first_names=tuple(first_names),
        surnames=tuple(surnames),
    )


def corpus_docs() -> list[tuple[str, str]]:
    """The 71,011 real (title, abstract) pairs the corpus is made from."""
    return [(doc.title, " ".join(doc.sentences)) for doc in _corpus().docs]


def corpus_topics(paper: Paper) -> tuple[str, ...]:
    """One or two topic ids for a paper from keyword cues in its title and abstract ("ml" when
    none match): a cheap, deterministic stand-in for the real tagger."""
    return _topics_of(f" {paper.title} {paper.abstract} ".lower())


def _topics_of(text: str) -> tuple[str, ...]:
    return tuple(tid for tid, cues in _TOPIC_CUES if any(cue in text for cue in cues))[:2] or ("ml",)


def _announcement_days(n: int, end: datetime, years: float) -> list[tuple[datetime, int]]:
    """(day, papers that day) for the Monday-Friday days of the window, volumes in the real
    pattern scaled to add up to `n`."""
    first = (end - timedelta(days=years * 365.0)).replace(hour=0, minute=0, second=0, microsecond=0)
    days = []
    day = first
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    volumes = _corpus().daily_volumes
    weights = [volumes[i % len(volumes)] for i in range(len(days))]
    scale = n / sum(weights)
    plan, given, running = [], 0, 0.0
    for day, weight in zip(days, weights, strict=True):
        running += weight * scale
        count = round(running) - given
        given += count
        plan.append((day, count))
    return plan


def synthetic_papers(
    n: int, seed: int = 7, *, end: datetime = DEFAULT_END, years: float = 3.0
) -> Iterator[Paper]:
    """Yield `n` synthetic papers, oldest first (see the module docstring)."""
    rng = random.Random(seed)
    corpus = _corpus()
    docs, pool = corpus.docs, corpus.sentences
    order = list(range(len(docs)))
    rng.shuffle(order)
    used = 0
    counters: dict[str, int] = {}
    for day, count in _announcement_days(n, end, years):
        times = sorted(
            day.replace(hour=0, minute=rng.randrange(60), second=rng.randrange(60))
            for _ in range(count)
        )
        for published in times:
            doc = docs[order[used % len(order)]]
            verbatim = used < len(order)
            used += 1
            if verbatim:
                title, abstract, authors = doc.title, " ".join(doc.sentences), doc.authors
            else:
                title, abstract, authors = _resampled(doc, rng, docs, pool, corpus)
            yield _paper(published, title, abstract, authors, doc.categories, rng, counters, seed)


def _resampled(
    doc: _Doc, rng: random.Random, docs: tuple[_Doc, ...], pool: tuple[str, ...], corpus: _Corpus
) -> tuple[str, str, tuple[str, ...]]:
    title = doc.title
    if ":" in title and rng.random() < 0.4:
        other = docs[rng.randrange(len(docs))].title
        title = f"{title.split(':', 1)[0]}: {other.split(':', 1)[-1].strip()}"
    start = rng.randrange(max(1, len(doc.sentences) - 2))
    sentences = list(doc.sentences[start : start + rng.randint(2, 3)])
    sentences += [pool[rng.randrange(len(pool))] for _ in range(rng.randint(1, 3))]
    names = corpus.first_names, corpus.surnames
    authors = tuple(
        f"{names[0][rng.randrange(len(names[0]))]} {names[1][rng.randrange(len(names[1]))]}"
        for _ in range(max(1, len(doc.authors)))
    )
    return title, " ".join(sentences), authors


def _paper(
    published: datetime,
    title: str,
    abstract: str,
    authors: tuple[str, ...],
    categories: tuple[str, ...],
    rng: random.Random,
    counters: dict[str, int],
    seed: int,
) -> Paper:
    month = f"{published.year % 100:02d}{published.month:02d}"
    source, label = SourceKind.ARXIV, f"arXiv {categories[0]}"
    signals: tuple[Signal, ...] = ()
    roll = rng.random()
    if roll < 0.01:
        digest = hashlib.blake2b(f"{seed}:{published.isoformat()}:{roll}".encode(), digest_size=8).hexdigest()
        pid, version, source, label = f"feed:{digest}", 0, SourceKind.FEED, "Lab blog"
        published = published.replace(hour=rng.randrange(24))
    else:
        counters[month] = counters.get(month, 0) + 1
        if counters[month] > 99_999:
            raise ValueError("too many papers per month for arXiv-style ids; use more years")
        pid, version = f"{month}.{counters[month]:05d}", 1 if rng.random() < 0.9 else 2
        if roll < 0.05:
            upvotes = min(800, int(rng.paretovariate(1.1)))
            source, label = SourceKind.HF, "HF daily"
            signals = (Signal(SourceKind.HF, published.date().isoformat(), upvotes, rng.randrange(20), "HF daily", f"https://huggingface.co/papers/{pid}", published),)
        elif roll < 0.065:
            score = min(3000, int(10 * rng.paretovariate(1.0)))
            source, label = SourceKind.REDDIT, "r/MachineLearning"
            signals = (Signal(SourceKind.REDDIT, f"t3_{pid.replace('.', '')}", score, rng.randrange(200), label, f"https://reddit.com/r/MachineLearning/comments/{pid}", published),)
    return Paper(
        id=pid,
        title=title,
        abstract=abstract,
        version=version,
        authors=authors,
        categories=categories,
        primary_category=categories[0],
        published=published,
        updated=published,
        url=f"https://arxiv.org/abs/{pid}" if version else f"https://lab.example/{pid[5:]}",
        source=source,
        source_label=label,
        signals=signals,
    )
