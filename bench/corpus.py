"""A synthetic paper corpus for benchmarks, built from the sentences of 392 real abstracts.

`synthetic_papers(n, seed)` yields `n` Papers, oldest first, deterministic for a seed:

- text: each paper is based on one real corpus paper ("its seed doc"): the seed's title (or its
  head before a colon joined to another title's tail), 2-3 consecutive sentences of the seed's
  abstract, then 1-4 sentences drawn from the whole corpus. Term statistics therefore look like
  real ML abstracts, and a title phrase such as "Gaussian Splatting" is rare in titles but
  common enough in abstracts to make ranking matter;
- dates: `published` spread over `years` (default 3) ending at `end`, with more papers recently
  (the newest month has about twice as many as the oldest), at arXiv-like times of day;
- ids: arXiv-style `YYMM.NNNNN` numbered per month in date order (at most 99,999 per month,
  enough for about 3.5M papers over 3 years); about 1% are blog items `feed:<hash>`;
- authors from a pool of about 12,000 names; 1-3 arXiv categories;
- signals: about 4% of papers come from HF daily with upvotes (heavy-tailed, up to ~600) and
  about 1.5% from Reddit with a score; those papers have that source.

`corpus_topics(paper)` gives 1-2 topic ids (llm, cv, rl, ...) from keyword cues in the paper's
text, so a benchmark can fill `paper_topics` without the real tagger.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from bot.core.models import Paper, Signal, SourceKind

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "hf_trending_abstracts.jsonl"
DEFAULT_END = datetime(2026, 11, 20, tzinfo=UTC)

_CATEGORIES = ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "cs.IR", "cs.SD", "cs.CR", "eess.IV")
_FIRST = (
    "Wei", "Li", "Anna", "James", "Maria", "Yuki", "Ahmed", "Sofia", "Lukas", "Priya", "Chen", "Olga",
    "Diego", "Fatima", "Noah", "Hannah", "Ravi", "Elena", "Jun", "Amir", "Sara", "Tomás", "Ingrid",
    "Kwame", "Mei", "Pavel", "Laura", "Hiroshi", "Aisha", "Marco", "Zoe", "Ivan", "Nadia", "Omar",
    "Julia", "Kenji", "Leila", "Felix", "Rosa", "Arjun", "Emma", "Yann", "Geoffrey", "Fei-Fei",
    "Xin", "Yao", "Ming", "Hao", "Jia", "Lei", "Tao", "Yu", "Jie", "Ling", "Bo", "Rui", "Kai", "Min",
)
_LAST = (
    "Wang", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu",
    "Hu", "Guo", "He", "Lin", "Luo", "Gao", "Zheng", "Smith", "Johnson", "Brown", "Garcia", "Miller",
    "Davis", "Martinez", "Lopez", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Rossi",
    "Russo", "Ferrari", "Dubois", "Martin", "Bernard", "Petit", "Tanaka", "Suzuki", "Takahashi",
    "Watanabe", "Ito", "Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Singh", "Kumar", "Sharma",
    "Patel", "Gupta", "Ivanov", "Petrov", "Novak", "Kowalski", "Nowak", "Silva", "Santos", "Costa",
    "Oliveira", "Pereira", "Almeida", "Hassan", "Ali", "Khan", "Rahman", "Nguyen", "Tran", "Pham",
    "LeCun", "Hinton", "Bengio", "Goodfellow", "Sutskever", "Karpathy", "Ng", "Jordan", "Schölkopf",
    "Andersson", "Johansson", "Karlsson", "Nielsen", "Hansen", "Jensen", "Larsen", "O'Brien",
    "Murphy", "Kelly", "Walsh", "Byrne", "Ryan", "Novotný", "Horvat", "Kovač", "Popescu", "Ionescu",
    "Yilmaz", "Kaya", "Demir", "Cohen", "Levi", "Mizrahi", "Okafor", "Mensah", "Adeyemi", "Mwangi",
)
# Keyword -> topic id, applied to a seed doc's title and abstract (lower case).
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


@lru_cache(maxsize=1)
def _docs() -> tuple[_Doc, ...]:
    docs = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        title, abstract = record["title"].strip(), record["abstract"].strip()
        sentences = tuple(s.strip() for s in _SENTENCE_END.split(abstract) if s.strip())
        docs.append(_Doc(title, sentences or (abstract,)))
    return tuple(docs)


def corpus_docs() -> list[tuple[str, str]]:
    """The 392 real (title, abstract) pairs the corpus is made from."""
    return [(doc.title, " ".join(doc.sentences)) for doc in _docs()]


def corpus_topics(paper: Paper) -> tuple[str, ...]:
    """One or two topic ids for a paper from keyword cues in its title and abstract ("ml" when
    none match): a cheap, deterministic stand-in for the real tagger."""
    return _topics_of(f" {paper.title} {paper.abstract} ".lower())


def _topics_of(text: str) -> tuple[str, ...]:
    return tuple(tid for tid, cues in _TOPIC_CUES if any(cue in text for cue in cues))[:2] or ("ml",)


def _dates(n: int, rng: random.Random, end: datetime, years: float) -> list[datetime]:
    """n publication times over `years` before `end`, sorted, density rising linearly 1 -> 2."""
    span = years * 365.0
    dates = []
    for _ in range(n):
        # Inverse CDF of density proportional to (1 + x) on x in [0, 1], x = 1 is newest.
        x = math.sqrt(1.0 + 3.0 * rng.random()) - 1.0
        day = end - timedelta(days=span * (1.0 - x))
        # arXiv announces around 00:00 UTC; HF/Reddit spread through the day.
        hour = 0 if rng.random() < 0.7 else rng.randrange(24)
        dates.append(day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0))
    dates.sort()
    return dates


def synthetic_papers(
    n: int, seed: int = 7, *, end: datetime = DEFAULT_END, years: float = 3.0
) -> Iterator[Paper]:
    """Yield `n` synthetic papers, oldest first (see the module docstring)."""
    rng = random.Random(seed)
    docs = _docs()
    pool = [s for doc in docs for s in doc.sentences]
    counters: dict[str, int] = {}
    for published in _dates(n, rng, end, years):
        doc = docs[rng.randrange(len(docs))]
        title = doc.title
        if ":" in title and rng.random() < 0.4:
            other = docs[rng.randrange(len(docs))].title
            title = f"{title.split(':', 1)[0]}: {other.split(':', 1)[-1].strip()}"
        start = rng.randrange(max(1, len(doc.sentences) - 2))
        sentences = list(doc.sentences[start : start + rng.randint(2, 3)])
        sentences += [pool[rng.randrange(len(pool))] for _ in range(rng.randint(1, 4))]
        abstract = " ".join(sentences)
        authors = tuple(
            f"{_FIRST[rng.randrange(len(_FIRST))]} {_LAST[min(len(_LAST) - 1, int(rng.paretovariate(0.8)) - 1 + rng.randrange(8))]}"
            for _ in range(rng.randint(1, 8))
        )
        categories = tuple(dict.fromkeys(rng.choice(_CATEGORIES) for _ in range(rng.randint(1, 3))))
        month = f"{published.year % 100:02d}{published.month:02d}"
        source, label = SourceKind.ARXIV, f"arXiv {categories[0]}"
        signals: tuple[Signal, ...] = ()
        roll = rng.random()
        if roll < 0.01:
            digest = hashlib.blake2b(f"{seed}:{published.isoformat()}:{roll}".encode(), digest_size=8).hexdigest()
            pid, version, source, label = f"feed:{digest}", 0, SourceKind.FEED, "Lab blog"
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
        yield Paper(
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
