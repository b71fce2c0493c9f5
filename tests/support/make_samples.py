"""Rebuild the bundled offline samples from real arXiv announcement records.

    python -m tests.support.make_samples [--corpus PATH] [--out bot/fetch/samples]

Each announcement day of `SAMPLE_DAYS` in ../shared/corpus/arxiv_daily/ (real cs.CV, cs.CL and
cs.AI listings with their cross-lists) becomes one gzipped file in arXiv's listing format
(rss.arxiv.org, RSS 2.0 with `arxiv:announce_type`), which the production parser reads. The
corpus has no version numbers or licences (and the listing format no comments), so every item says v1 and carries no licence; an
item whose primary category is not one of the three listed categories is a cross-list. The
output is deterministic (gzip without a timestamp): tests/unit/test_samples.py rebuilds it and
checks the shipped files are exactly this.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus" / "arxiv_daily" / "arxiv_cs_daily_2025-03-18_2026-06-11.jsonl.gz"
SAMPLES = REPO / "bot" / "fetch" / "samples"
SAMPLE_DAYS = ("2026-06-08", "2026-06-09", "2026-06-10", "2026-06-11")
LISTED = ("cs.CV", "cs.CL", "cs.AI")


def sample_name(day: str) -> str:
    """The file name of one rebuilt announcement day."""
    return f"arxiv_cs_{day}.xml.gz"


def read_days(corpus: Path, days: Iterable[str]) -> dict[str, list[dict[str, object]]]:
    """The corpus records announced on each of `days`, in announcement order."""
    wanted = {day: [] for day in days}  # type: dict[str, list[dict[str, object]]]
    with gzip.open(corpus, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["announced"] in wanted:
                wanted[record["announced"]].append(record)
    return wanted


def _rfc822(day: str) -> str:
    # arXiv dates listing items at local midnight Eastern; EDT in June.
    return date.fromisoformat(day).strftime("%a, %d %b %Y 00:00:00 -0400")


def _items(records: list[dict[str, object]], day: str) -> Iterator[str]:
    for record in records:
        categories = [str(c) for c in record["categories"]]  # type: ignore[attr-defined]
        announce = "new" if categories and categories[0] in LISTED else "cross"
        abstract = " ".join(str(record["abstract"]).split())
        lines = [
            "    <item>",
            f"      <title>{escape(' '.join(str(record['title']).split()))}</title>",
            f"      <link>https://arxiv.org/abs/{record['id']}</link>",
            f"      <description>arXiv:{record['id']}v1 Announce Type: {announce} \nAbstract: {escape(abstract)}</description>",
            f'      <guid isPermaLink="false">oai:arXiv.org:{record["id"]}v1</guid>',
            *(f"      <category>{escape(c)}</category>" for c in categories),
            f"      <pubDate>{_rfc822(day)}</pubDate>",
            f"      <arxiv:announce_type>{announce}</arxiv:announce_type>",
            f"      <dc:creator>{escape(', '.join(str(a) for a in record['authors']))}</dc:creator>",  # type: ignore[attr-defined]
        ]
        lines.append("    </item>")
        yield "\n".join(lines)


def listing_xml(records: list[dict[str, object]], day: str) -> str:
    """One announcement day as an arXiv RSS listing."""
    head = f"""<?xml version='1.0' encoding='UTF-8'?>
<!-- Rebuilt by tests/support/make_samples.py from real arXiv announcement records of {day}
     (../shared/corpus/arxiv_daily): real ids, titles, abstracts, authors and categories
     (the listing format has no comments); versions are assumed v1 and licences are not known. -->
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" version="2.0">
  <channel>
    <title>cs.CV+cs.CL+cs.AI updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/cs.CV+cs.CL+cs.AI</link>
    <description>cs.CV+cs.CL+cs.AI updates on the arXiv.org e-print archive.</description>
    <language>en-us</language>
    <pubDate>{_rfc822(day)}</pubDate>
    <skipDays>
      <day>Saturday</day>
      <day>Sunday</day>
    </skipDays>
"""
    return head + "\n".join(_items(records, day)) + "\n  </channel>\n</rss>\n"


def gzip_bytes(text: str) -> bytes:
    """`text` gzipped deterministically (no file name, no timestamp)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as out:
        out.write(text.encode("utf-8"))
    return buffer.getvalue()


def build(corpus: Path = CORPUS) -> dict[str, bytes]:
    """File name -> gzipped listing for every sample day."""
    days = read_days(corpus, SAMPLE_DAYS)
    return {sample_name(day): gzip_bytes(listing_xml(days[day], day)) for day in SAMPLE_DAYS}


def main() -> None:
    """Write the samples."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=SAMPLES)
    args = parser.parse_args()
    for name, data in build(args.corpus).items():
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data):,} bytes)")


if __name__ == "__main__":
    main()
