"""Offline summarizer and tagger: throughput over the 392-abstract corpus, and tagger quality.

Prints one JSON object:
- `offline_abstracts_per_s`: offline summaries (TeX cleanup, sentence split, roles, key points,
  tags) per second on one core over the corpus, best of `--rounds` rounds (target >= 500);
- `tagger_papers_per_s`: `bot.enrich.tagger.tag` calls per second over the corpus (target >= 2,000);
- `tagger_micro_f1`: micro-F1 (and precision/recall) of the offline tagger against the
  hand-labelled `tests/data/labelled_topics.jsonl`, for the tuning half and the held-out half
  (target >= 0.70 held out);
- `fields`: how many corpus summaries have each section filled, and key-point counts.

    .venv/bin/python -m bench.bench_summarize [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from bot.enrich.summarize.offline import summarize_text
from bot.enrich.tagger import tag

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "hf_trending_abstracts.jsonl"
LABELLED = ROOT / "tests" / "data" / "labelled_topics.jsonl"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _rate(func, rows: list[dict], rounds: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for row in rows:
            func(row["title"], row["abstract"])
        best = min(best, time.perf_counter() - start)
    return len(rows) / best


def tagger_scores(rows: list[dict]) -> dict[str, float]:
    """Micro-averaged F1, precision and recall of `bot.enrich.tagger.tag` against hand labels
    (rows with title, text and topic names); the test suite holds the held-out F1 to 0.70."""
    tp = fp = fn = 0
    for row in rows:
        predicted, gold = set(tag(row["title"], row["text"])), set(row["topics"])
        tp += len(predicted & gold)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return {
        "f1": round(2 * precision * recall / (precision + recall), 3),
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "papers": len(rows),
    }


def main() -> None:
    """Run the benchmark and print its JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds over the corpus (best is kept)")
    args = parser.parse_args()
    rows = _jsonl(CORPUS)
    labelled = _jsonl(LABELLED)

    summarize_text(rows[0]["title"], rows[0]["abstract"])  # warm up compiled patterns and tables
    summaries = [summarize_text(row["title"], row["abstract"]) for row in rows]
    fields: Counter[str] = Counter()
    for summary in summaries:
        for name in ("summary", "methodology", "results", "implications"):
            fields[name] += bool(getattr(summary, name))
        fields[f"key_points_{len(summary.key_points)}"] += 1

    report = {
        "corpus_abstracts": len(rows),
        "offline_abstracts_per_s": round(_rate(summarize_text, rows, args.rounds)),
        "tagger_papers_per_s": round(_rate(tag, rows, args.rounds)),
        "tagger_micro_f1": {
            "tune": tagger_scores([row for row in labelled if row["split"] == "tune"]),
            "heldout": tagger_scores([row for row in labelled if row["split"] == "heldout"]),
        },
        "fields": dict(sorted(fields.items())),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
