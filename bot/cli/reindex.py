"""`paperbot reindex`: rebuild the search index (under the data directory) from the store.

The index is derived data: this is always safe, also while the bot runs. Searches keep using the
old index (or FTS5 when there is none) until the new one is swapped in; processes then catch it
up with whatever was ingested during the build (see `bot.store.search_index`).
"""

from __future__ import annotations

from typing import TextIO

from bot.settings import Settings
from bot.store import Store
from bot.store.search_index import index_directory, rebuild


def reindex(settings: Settings, out: TextIO) -> int:
    """Rebuild the search index of the configured data directory; prints what it did."""
    store = Store.open(settings.database_url)
    directory = index_directory(settings.data_dir)
    try:
        built = rebuild(store.conn, directory)
    finally:
        store.close()
    out.write(f"search index rebuilt: {built['papers']:,} papers at {directory}\n")
    return 0
