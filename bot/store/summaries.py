"""Summaries and LLM token usage.

One summary per (paper id, version, summarizer, model, prompt version), stored as JSON in the
`summaries` table and reused by every channel, query and alert. Storing a summary deletes the
ones it supersedes: those of the same paper and summarizer made for another paper version, model
or prompt version. So the table holds at most one offline and one LLM summary a paper, whatever
the number of upgrades, and a summary made before an upgrade stays until its replacement is
stored (answers use it meanwhile: `newest_of`). `llm_usage` holds one row per LLM call so the
daily token budget survives restarts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from bot.core.clock import ensure_utc, to_iso
from bot.core.models import Summary
from bot.store.backend import Connection


@dataclass(frozen=True, slots=True)
class SummaryKey:
    """What makes a summary unique: the paper version and who made it how."""

    summarizer: str  # "offline" or "llm"
    model: str  # "" for offline
    prompt_version: str


def summary_to_json(summary: Summary) -> str:
    """Serialize a Summary (tuples become lists)."""
    return json.dumps(asdict(summary), ensure_ascii=False)


def summary_from_json(text: str) -> Summary | None:
    """Parse what `summary_to_json` wrote; None when the row is unreadable (it is then remade)."""
    try:
        data = json.loads(text)
        return Summary(
            tldr=str(data["tldr"]),
            key_points=tuple(str(point) for point in data.get("key_points", ())),
            summary=str(data.get("summary", "")),
            methodology=str(data.get("methodology", "")),
            results=str(data.get("results", "")),
            implications=str(data.get("implications", "")),
            topics=tuple(str(topic) for topic in data.get("topics", ())),
            summarizer=str(data.get("summarizer", "")),
            model=str(data.get("model", "")),
            prompt_version=str(data.get("prompt_version", "")),
        )
    except (ValueError, KeyError, TypeError):
        return None


class SummaryStore:
    """Reads and writes cached summaries and LLM usage; one instance per connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get_many(self, papers: Sequence[tuple[str, int]], key: SummaryKey) -> dict[str, Summary]:
        """Cached summaries for (paper id, version) pairs made with `key`, by paper id."""
        found: dict[str, Summary] = {}
        condition = "AND summarizer = ? AND model = ? AND prompt_version = ?"
        for paper_id, data, _created_at in self._rows_of(papers, condition, (key.summarizer, key.model, key.prompt_version)):
            summary = summary_from_json(data)
            if summary is not None:
                found[paper_id] = summary
        return found

    def newest_of(self, papers: Sequence[tuple[str, int]]) -> dict[str, Summary]:
        """The newest summary of each (paper id, version) pair made with any key, by paper id:
        what an answer shows while the summary of the current key is being made (one made
        before an upgrade that changed the prompt version, or by another summarizer)."""
        found: dict[str, tuple[str, Summary]] = {}
        for paper_id, data, created_at in self._rows_of(papers, "", ()):
            if paper_id in found and found[paper_id][0] >= created_at:
                continue
            summary = summary_from_json(data)
            if summary is not None:
                found[paper_id] = (created_at, summary)
        return {paper_id: summary for paper_id, (_, summary) in found.items()}

    def _rows_of(
        self, papers: Sequence[tuple[str, int]], condition: str, params: tuple[object, ...]
    ) -> Iterator[tuple[str, str, str]]:
        """(paper id, data, created at) of the summary rows of (paper id, version) pairs that
        meet `condition` (SQL after the paper ids' test, with `params`), 500 ids a query."""
        wanted = {(pid, version) for pid, version in papers}
        ids = sorted({pid for pid, _ in papers})
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT paper_id, version, data, created_at FROM summaries WHERE paper_id IN ({marks}) {condition}",
                (*chunk, *params),
            )
            for paper_id, version, data, created_at in rows:
                if (paper_id, version) in wanted:
                    yield str(paper_id), str(data), str(created_at)

    def get(self, paper_id: str, version: int, key: SummaryKey) -> Summary | None:
        """The cached summary of one paper version, or None."""
        return self.get_many([(paper_id, version)], key).get(paper_id)

    def put(self, paper_id: str, version: int, key: SummaryKey, summary: Summary, now: datetime) -> None:
        """Store (or replace) the summary of one paper version."""
        self.put_many([(paper_id, version, key, summary)], now)

    def put_many(self, made: Sequence[tuple[str, int, SummaryKey, Summary]], now: datetime) -> None:
        """Store (or replace) summaries of (paper id, version, key, summary), deleting the ones
        each supersedes (see the module), in two statements run for each (inside the caller's
        transaction, when there is one)."""
        self.conn.executemany(
            """DELETE FROM summaries WHERE paper_id = ? AND summarizer = ?
               AND NOT (version = ? AND model = ? AND prompt_version = ?)""",
            [(paper_id, key.summarizer, version, key.model, key.prompt_version)
             for paper_id, version, key, _summary in made],
        )
        self.conn.executemany(
            """INSERT INTO summaries (paper_id, version, summarizer, model, prompt_version, data, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (paper_id, version, summarizer, model, prompt_version)
               DO UPDATE SET data = excluded.data, created_at = excluded.created_at""",
            [
                (paper_id, version, key.summarizer, key.model, key.prompt_version, summary_to_json(summary), to_iso(now))
                for paper_id, version, key, summary in made
            ],
        )

    def missing(self, keys: Sequence[SummaryKey], limit: int, since: datetime | None = None) -> list[str]:
        """Ids of the most recently changed papers that have a summary made with none of `keys`."""
        clauses, params = self._none_of(keys)
        if since is not None:
            clauses.append("p.changed_at >= ?")
            params.append(to_iso(since))
        params.append(max(0, limit))
        rows = self.conn.execute(
            f"SELECT p.id FROM papers p {_where(clauses)} ORDER BY p.changed_at DESC, p.pk DESC LIMIT ?", params
        )
        return [row[0] for row in rows]

    def missing_below(self, keys: Sequence[SummaryKey], limit: int, below: int | None = None) -> list[tuple[str, int]]:
        """(id, row key) of papers that have a summary made with none of `keys`, the most recently
        stored first, only those whose row key is below `below`: a cursor that walks back
        through the store on the primary key, so no pass reads the rows an earlier one passed."""
        clauses, params = self._none_of(keys)
        if below is not None:
            clauses.append("p.pk < ?")
            params.append(below)
        params.append(max(0, limit))
        rows = self.conn.execute(f"SELECT p.id, p.pk FROM papers p {_where(clauses)} ORDER BY p.pk DESC LIMIT ?", params)
        return [(str(row[0]), int(row[1])) for row in rows]

    @staticmethod
    def _none_of(keys: Sequence[SummaryKey]) -> tuple[list[str], list[object]]:
        """The conditions "no summary made with any of `keys`" on papers `p`, and their values."""
        clauses: list[str] = []
        params: list[object] = []
        for key in keys:
            clauses.append(
                "NOT EXISTS (SELECT 1 FROM summaries s WHERE s.paper_id = p.id AND s.version = p.version "
                "AND s.summarizer = ? AND s.model = ? AND s.prompt_version = ?)"
            )
            params.extend((key.summarizer, key.model, key.prompt_version))
        return clauses, params

    def count(self) -> int:
        """How many summaries are cached (all summarizers)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM summaries").fetchone()[0])

    # --- LLM usage ---------------------------------------------------------------------------

    def record_usage(
        self,
        *,
        now: datetime,
        provider: str,
        model: str,
        paper_id: str,
        prompt_tokens: int,
        completion_tokens: int,
        ok: bool,
    ) -> None:
        """Record one LLM call's token usage (failed calls too: their tokens were spent)."""
        moment = ensure_utc(now)
        self.conn.execute(
            """INSERT INTO llm_usage (day, at, provider, model, paper_id, prompt_tokens,
               completion_tokens, ok) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (moment.date().isoformat(), to_iso(moment), provider, model, paper_id,
             max(0, int(prompt_tokens)), max(0, int(completion_tokens)), int(ok)),
        )

    def tokens_on(self, now: datetime) -> int:
        """Tokens (prompt + completion) used on the UTC day of `now`."""
        row = self.conn.execute(
            "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM llm_usage WHERE day = ?",
            (ensure_utc(now).date().isoformat(),),
        ).fetchone()
        return int(row[0])


def _where(clauses: list[str]) -> str:
    return f"WHERE {' AND '.join(clauses)}" if clauses else ""
