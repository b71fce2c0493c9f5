"""Ingest throughput: a synthetic arXiv API payload of N entries (default 50,000) built from the
shared corpus, parsed and stored end to end (`bot.fetch.ingest.ingest_payload`, what `paperbot ingest`
runs); then the same payload again (re-ingest).

Two re-ingests are measured, because they take different paths:
- `re_ingest`: the byte-identical payload. It is recognised by its SHA-256 and not parsed.
- `re_ingest_restamped`: the same entries in a feed whose header differs (as every new arXiv
  API response does: its <updated> is the request time). Every entry is parsed again and the
  store recognises each one as unchanged by its content hash, writing nothing.

Prints one JSON object: papers/s for each, the speedups over the first ingest, and peak RSS.
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

from bot.core.clock import system_clock
from bot.fetch.ingest import ingest_payload
from bot.store import Store

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "hf_trending_abstracts.jsonl"
CATEGORIES = ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO")


def synthetic_feed(entries: int, seed: int = 7, stamp: str = "2026-11-20T00:00:00Z") -> bytes:
    """An arXiv API Atom feed in the current format with `entries` entries from corpus text."""
    rng = random.Random(seed)
    docs = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    parts = [
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom">'
        f"<id>https://arxiv.org/api/bench</id><title>arXiv Query: bench</title>"
        f"<updated>{stamp}</updated><opensearch:totalResults>{entries}</opensearch:totalResults>"
        f"<opensearch:startIndex>0</opensearch:startIndex><opensearch:itemsPerPage>{entries}</opensearch:itemsPerPage>"
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


def _timed(store: Store, payload: bytes) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    counts = ingest_payload(store, "arxiv-api", payload, system_clock())
    return time.perf_counter() - start, counts.as_dict()


def run(entries: int) -> dict[str, object]:
    """Build the payload, ingest it three times into a fresh store, and measure."""
    payload = synthetic_feed(entries)
    restamped = synthetic_feed(entries, stamp="2026-11-21T00:00:00Z")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(str(Path(tmp) / "bench.db"))
        first_seconds, first = _timed(store, payload)
        second_seconds, second = _timed(store, payload)
        third_seconds, third = _timed(store, restamped)
        db_bytes = sum(p.stat().st_size for p in Path(tmp).iterdir())
        store.close()

    def figures(seconds: float, counts: dict[str, int]) -> dict[str, object]:
        return {"seconds": round(seconds, 2), "papers_per_s": round(entries / seconds), "counts": counts}

    return {
        "benchmark": "ingest",
        "entries": entries,
        "payload_mb": round(len(payload) / 1e6, 1),
        "first_ingest": figures(first_seconds, first),
        "re_ingest": figures(second_seconds, second),
        "re_ingest_speedup": round(first_seconds / second_seconds, 2),
        "re_ingest_restamped": figures(third_seconds, third),
        "re_ingest_restamped_speedup": round(first_seconds / third_seconds, 2),
        "db_mb": round(db_bytes / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "targets": {"papers_per_s": 1500, "re_ingest_speedup": 3.0},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=50_000)
    print(json.dumps(run(parser.parse_args().entries)))
