"""`paperbot ingest`: store saved payload files (arXiv listings and API pages, HF, Reddit, feeds)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from bot.core.errors import PaperbotError
from bot.fetch.ingest import ingest_payload
from bot.settings import Settings, make_clock
from bot.store import IngestCounts, Store


def ingest_files(settings: Settings, files: list[Path], kind: str, stdout: TextIO) -> int:
    clock = make_clock(settings)
    store = Store.open(settings.database_url)
    total = IngestCounts()
    failed = 0
    try:
        for path in files:
            try:
                data = path.read_bytes()
            except OSError as exc:
                print(f"paperbot: cannot read {path}: {exc.strerror}", file=sys.stderr)
                failed += 1
                continue
            try:
                counts = ingest_payload(store, kind, data, clock())
            except PaperbotError as exc:
                print(f"paperbot: {path}: {exc}", file=sys.stderr)
                failed += 1
                continue
            total.add(counts)
            stdout.write(f"{path}: {_format_counts(counts.as_dict())}\n")
    finally:
        store.close()
    if len(files) > 1:
        stdout.write(f"total: {_format_counts(total.as_dict())}\n")
    return 1 if failed else 0


def _format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{value} {key}" for key, value in counts.items())
