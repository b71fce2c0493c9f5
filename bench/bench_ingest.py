"""Ingest throughput: a synthetic arXiv API payload of N entries (default 50,000) built from the
shared corpus, parsed and stored end to end; then the same payload again (re-ingest).

Prints one JSON object: papers/s for the first and second ingest, their ratio, and peak RSS.
Targets: >= 1,500 papers/s first time; re-ingest >= 3x faster.

    .venv/bin/python -m bench.bench_ingest [--entries 50000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

from bot.clock import system_clock
from bot.sources.arxiv_api import parse
from bot.store import Store

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "hf_trending_abstracts.jsonl"
CATEGORIES = ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO")


def synthetic_feed(entries: int, seed: int = 7) -> bytes:
    """An arXiv API Atom feed in the current format with `entries` entries from corpus text."""
    rng = random.Random(seed)
    docs = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    parts = [
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom">'
        f"<id>https://arxiv.org/api/bench</id><title>arXiv Query: bench</title>"
        f"<updated>2026-11-20T00:00:00Z</updated><opensearch:totalResults>{entries}</opensearch:totalResults>"
        "<opensearch:startIndex>0</opensearch:startIndex><opensearch:itemsPerPage>{entries}</opensearch:itemsPerPage>"
    ]
    for n in range(entries):
        doc = docs[n % len(docs)]
        pid = f"{2300 + n // 90000:04d}.{n % 90000:05d}"
        cats = rng.sample(CATEGORIES, 2)
        day = 1 + n % 28
        parts.append(
            f"<entry><id>http://arxiv.org/abs/{pid}v1</id>"
            f"<title>{escape(doc['title'])}</title>"
            f"<updated>2026-10-{day:02d}T12:00:00Z</updated>"
            f'<link href="https://arxiv.org/abs/{pid}v1" rel="alternate" type="text/html"/>'
            f"<summary>{escape(doc['abstract'])}</summary>"
            + "".join(f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in cats)
            + f'<published>2026-10-{day:02d}T12:00:00Z</published>'
            f'<arxiv:primary_category term="{cats[0]}"/>'
            f"<author><name>Author {n % 997}</name></author><author><name>Coauthor {n % 331}</name></author>"
            "</entry>"
        )
    parts.append("</feed>")
    return "".join(parts).encode("utf-8")


def run(entries: int) -> dict[str, object]:
    """Build the payload, ingest it twice into a fresh store, and measure."""
    payload = synthetic_feed(entries)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(str(Path(tmp) / "bench.db"))
        start = time.perf_counter()
        first = store.papers.ingest(parse(payload), system_clock())
        first_seconds = time.perf_counter() - start
        start = time.perf_counter()
        second = store.papers.ingest(parse(payload), system_clock())
        second_seconds = time.perf_counter() - start
        db_bytes = sum(p.stat().st_size for p in Path(tmp).iterdir())
        store.close()
    return {
        "benchmark": "ingest",
        "entries": entries,
        "payload_mb": round(len(payload) / 1e6, 1),
        "first_ingest": {"seconds": round(first_seconds, 2), "papers_per_s": round(entries / first_seconds), "counts": first.as_dict()},
        "re_ingest": {"seconds": round(second_seconds, 2), "papers_per_s": round(entries / second_seconds), "counts": second.as_dict()},
        "re_ingest_speedup": round(first_seconds / second_seconds, 2),
        "db_mb": round(db_bytes / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "targets": {"papers_per_s": 1500, "re_ingest_speedup": 3.0},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=50_000)
    print(json.dumps(run(parser.parse_args().entries)))
