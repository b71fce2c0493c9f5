"""Draw the papers for the hand-labelled tagging set from the arXiv daily corpus (reproducible).

The sample is fixed BEFORE any labelling or tuning: `SAMPLE_SIZE` papers drawn uniformly (seed
`SEED`) from the whole 309-day corpus, ordered by position in the corpus (so across the whole
date range), and split by draw order: even draws are "tune", odd draws "heldout". Labels are
then added by hand (1 to 3 core topic names per paper, from reading title and abstract only)
into `tests/data/labelled_arxiv_core.jsonl`.

    .venv/bin/python -m bench.sample_labelled_arxiv > /tmp/sample.jsonl

prints one JSON object per paper: id, announced, title, abstract (line breaks squeezed),
categories, split, and an empty `labels` list to fill in.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "arxiv_daily" / "arxiv_cs_daily_2025-03-18_2026-06-11.jsonl.gz"
SEED = 14
SAMPLE_SIZE = 230


def corpus_papers() -> Iterator[dict]:
    """Every paper of the arXiv daily corpus, in announcement order."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def sample() -> list[dict]:
    """The fixed sample with its split, in corpus order."""
    papers = list(corpus_papers())
    draws = random.Random(SEED).sample(range(len(papers)), SAMPLE_SIZE)
    split_of = {index: ("tune" if order % 2 == 0 else "heldout") for order, index in enumerate(draws)}
    rows = []
    for index in sorted(draws):
        paper = papers[index]
        rows.append({
            "id": paper["id"],
            "announced": paper["announced"],
            "title": " ".join(paper["title"].split()),
            "abstract": " ".join(paper["abstract"].split()),
            "categories": paper["categories"],
            "split": split_of[index],
            "labels": [],
        })
    return rows


def main() -> None:
    """Print the sample as JSON lines."""
    for row in sample():
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
