"""`paperbot papers`: list stored papers, as text or JSON lines."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from bot.core.clock import parse_since, to_iso
from bot.core.models import Paper, SourceKind
from bot.settings import Settings, make_clock
from bot.store import Store


def paper_json(paper: Paper) -> dict[str, object]:
    """The JSON shape of a stored paper used by `papers --json`."""
    return {
        "id": paper.id,
        "version": paper.version,
        "title": paper.title,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "primary_category": paper.primary_category,
        "published": to_iso(paper.published),
        "updated": to_iso(paper.updated),
        "url": paper.url,
        "sources": [s.value for s in paper.sources],
        "signals": {
            f"{s.source.value}:{s.ref}": {"label": s.label, "score": s.score, "comments": s.comments, "url": s.url}
            for s in paper.signals
        },
        "is_updated": paper.is_updated,
    }


def list_papers(settings: Settings, args: argparse.Namespace, stdout: TextIO) -> int:
    if args.limit < 1:
        raise ValueError("--limit must be at least 1")
    since = parse_since(args.since, make_clock(settings)()) if args.since else None
    store = Store.open(settings.database_url, writable=False)
    try:
        papers = store.papers.changed(
            since=since, source=SourceKind(args.source) if args.source else None, limit=args.limit
        )
    finally:
        store.close()
    for paper in papers:
        if args.json:
            stdout.write(json.dumps(paper_json(paper), ensure_ascii=False) + "\n")
        else:
            version = f"v{paper.version}" if paper.version else ""
            stdout.write(f"{paper.id}{version}  {paper.title[:90]}  [{', '.join(s.value for s in paper.sources)}]\n")
    if not papers and not args.json:
        stdout.write("no papers stored yet; try: paperbot fetch (or paperbot run --offline)\n")
    return 0
