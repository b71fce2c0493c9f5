"""Daily digests: choose and order the papers of one channel's digest, the `digest` commands,
and the deployment settings file (`CHANNELS_FILE`).

A digest holds the papers announced or trending since the channel's previous digest (the first
one: the last 24 h) that the channel has not seen yet (`delivered_papers`), filtered by the
channel's topics, query, sources, minimum score and whether replaced versions are shown. Papers
are ranked by topic match, popularity and recency, the best `max_items` kept and grouped by
topic. The header gives the date and counts ("Mon 23 Nov · 12 papers in LLM, RL · from 340
announced"); the footer names sources that are failing. Items are built with
`bot.chat.present.make_items`, so they read like search results; they keep paper ids, which the
adapters' "Details" buttons turn into `/papers paper <id>`.

The scheduler (bot.app.scheduler) decides when; this module decides what.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import bot.chat.grammar as cmd
from bot.chat.present import make_items
from bot.core.clock import Clock, ensure_utc, to_iso
from bot.core.errors import ConfigError, PermissionDenied, UserInputError
from bot.core.localtime import zone
from bot.core.models import (
    Actor,
    CatchUp,
    ChannelSettings,
    Digest,
    ItemGroup,
    Paper,
    Place,
    Reply,
    SourceKind,
)
from bot.core.text import plural_folded_words as tokens
from bot.delivery.outbox import Delivery, enqueue
from bot.digests.schedule import (
    arxiv_announcements_between,
    describe_days,
    describe_local,
    next_slot,
)
from bot.enrich.taxonomy import topic_by_id
from bot.ports import SummaryProvider
from bot.search.matching import Matcher, PaperDoc, paper_doc, topics_for
from bot.settings import Settings
from bot.store import Store
from bot.store.db import transaction

log = logging.getLogger(__name__)

FIRST_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=14)  # after a long downtime, a digest still looks back at most this far
NO_TOPIC = "_other"
PERMISSION_TEXT = "only members who can manage this channel can change its digest"


# --- the candidate pool ------------------------------------------------------------------------


@dataclass(slots=True)
class Pool:
    """Papers changed in a time window, loaded once and shared by every channel due together."""

    since: datetime
    papers: list[Paper]
    changed_at: dict[str, str]  # paper id -> ISO time it was first seen or last changed
    topics: dict[str, tuple[str, ...]]
    now: datetime
    _docs: dict[str, PaperDoc] = field(default_factory=dict)
    _facts: dict[str, tuple[int, float]] = field(default_factory=dict)

    def window(self, since: datetime) -> list[Paper]:
        """The papers of the pool changed at or after `since`."""
        if since <= self.since:
            return self.papers
        bound = to_iso(since) or ""
        return [p for p in self.papers if self.changed_at.get(p.id, "") >= bound]

    def doc(self, paper: Paper) -> PaperDoc:
        """The paper tokenized for query matching (once per pool)."""
        found = self._docs.get(paper.id)
        if found is None:
            found = self._docs[paper.id] = paper_doc(paper, self.topics.get(paper.id, ()))
        return found

    def facts(self, paper: Paper) -> tuple[int, float]:
        """`paper_facts` at the pool's time, computed once per paper."""
        found = self._facts.get(paper.id)
        if found is None:
            found = self._facts[paper.id] = paper_facts(paper, self.now)
        return found


def load_pool(store: Store, since: datetime, now: datetime) -> Pool:
    """Every paper first seen or changed since `since` (up to the present), with topic ids.

    No upper bound: a paper stored at the very instant a digest is built belongs in it, and
    one that arrives while it is built is at worst considered again next time (the ledger
    keeps it from being posted twice)."""
    papers = store.papers.changed(since=since, limit=None)
    changed = store.papers.changed_at_since(since)
    return Pool(since, papers, changed, topics_for(store, papers), now)


def window_start(settings: ChannelSettings, now: datetime) -> datetime:
    """Where a channel's next digest starts: its previous digest (first: the last 24 h)."""
    start = settings.last_digest_at or (now - FIRST_WINDOW)
    return max(start, now - MAX_WINDOW)


# --- choosing and ranking ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ranked:
    """A paper chosen for a digest, its score, the topic it is grouped under and why."""

    paper: Paper
    score: float
    group: str  # topic id, or NO_TOPIC
    why: str


def _sources_of(paper: Paper) -> set[SourceKind]:
    return set(paper.sources) or {paper.source}


def select(
    settings: ChannelSettings,
    candidates: Sequence[Paper],
    topics: Mapping[str, tuple[str, ...]],
    delivered: Mapping[str, int],
    now: datetime,
    doc_of: Callable[[Paper], PaperDoc] | None = None,
    facts_of: Callable[[Paper], tuple[int, float]] | None = None,
) -> list[Ranked]:
    """Filter candidates by the channel's settings, drop what it already got, rank, keep the
    best `max_items`. `doc_of` and `facts_of` give a paper's PaperDoc and `paper_facts` from a
    pool shared by many channels; without them they are computed here."""
    wanted_sources = set(settings.sources)
    wanted_topics = settings.topics
    matcher = Matcher.compile(settings.query) if settings.query else None
    if matcher is not None and matcher.empty:
        matcher = None
    chosen: list[Ranked] = []
    for paper in candidates:
        seen_version = delivered.get(paper.id)
        if seen_version is not None and not (settings.show_updated and paper.version > seen_version):
            continue  # never repeat a paper; a newer version only when updates are shown
        if paper.is_updated and not settings.show_updated:
            continue  # a replaced version (arXiv "replace" or a newer version): only with updated:yes
        if wanted_sources and not (_sources_of(paper) & wanted_sources):
            continue
        popularity, base = facts_of(paper) if facts_of else paper_facts(paper, now)
        if popularity < settings.min_score:
            continue
        paper_topics = topics.get(paper.id, ())
        hits = [t for t in wanted_topics if t in paper_topics]
        if wanted_topics and not hits:
            continue
        title_hit = 0.0
        if matcher is not None:
            doc = doc_of(paper) if doc_of else paper_doc(paper, paper_topics)
            if not matcher.matches(doc):
                continue
            title_words = set(tokens(paper.title))
            title_hit = 1.0 if any(word in title_words for term in matcher.terms for word in term) else 0.0
        topical = (1.0 + 0.25 * (len(hits) - 1)) if wanted_topics else 1.0
        score = 2.0 * topical + base + 0.5 * title_hit
        group = hits[0] if hits else (paper_topics[0] if paper_topics else NO_TOPIC)
        why = f"topic: {_topic_name(group)}" if hits else (f"matched: {settings.query}" if matcher else "")
        chosen.append(Ranked(paper, score, group, why))
    chosen.sort(key=lambda r: (-r.score, r.paper.id))
    return chosen[: settings.max_items]


def paper_facts(paper: Paper, now: datetime) -> tuple[int, float]:
    """A paper's popularity and the part of its digest score that no channel setting changes:
    popularity (log-scaled, 1.5 at 500 votes) plus recency (1.0 fresh, decaying over 3 days).
    A channel adds its topic match (2.0 per paper, more for several topics) and a title hit.
    So topic match weighs most, then popularity, then recency."""
    votes = paper.popularity
    popularity = min(1.0, math.log1p(max(votes, 0)) / math.log1p(500))
    when = paper.published or paper.first_seen or now
    age_hours = max(0.0, (ensure_utc(now) - ensure_utc(when)).total_seconds() / 3600)
    return votes, 1.5 * popularity + math.exp(-age_hours / 72)


def group_ranked(ranked: Sequence[Ranked]) -> list[tuple[str, list[Ranked]]]:
    """Group by topic; groups in the order of their best paper, papers by score within."""
    groups: dict[str, list[Ranked]] = {}
    for item in ranked:  # already best first
        groups.setdefault(item.group, []).append(item)
    return list(groups.items())


def _topic_name(topic_id: str) -> str:
    if topic_id == NO_TOPIC:
        return "Other"
    try:
        return topic_by_id(topic_id).name
    except KeyError:
        return topic_id


def _short_topic(topic_id: str) -> str:
    """Header labels: LLM, RL, CV for short ids; the name otherwise."""
    if topic_id == NO_TOPIC:
        return "other topics"
    return topic_id.upper() if len(topic_id) <= 3 else _topic_name(topic_id)


# --- building the reply ----------------------------------------------------------------------


_SOURCE_LABELS = {"arxiv": "arXiv listing", "arxiv-api": "arXiv API", "hf": "Hugging Face daily papers"}


def source_label(name: str) -> str:
    """A configured source's name as people say it: `reddit:LocalLLaMA` -> `r/LocalLLaMA`."""
    if name in _SOURCE_LABELS:
        return _SOURCE_LABELS[name]
    kind, _, rest = name.partition(":")
    if kind == "reddit" and rest:
        return f"r/{rest}"
    if kind == "feed" and rest:
        return f"the {rest} feed"
    return name


def _source_kind(name: str) -> SourceKind | None:
    head = name.split(":")[0].split("-")[0].split(" ")[0]
    try:
        return SourceKind(head)
    except ValueError:
        return None


def failing_sources_note(store: Store, settings: ChannelSettings) -> str:
    """`arXiv listing unavailable, will retry` for each failing source the channel reads."""
    notes = []
    for state in store.sources.all():
        if not state.failing:
            continue
        kind = _source_kind(state.name)
        if settings.sources and kind is not None and kind not in settings.sources:
            continue
        notes.append(f"{source_label(state.name)} unavailable, will retry")
    return "; ".join(notes)


def _day_label(local_date: str) -> str:
    day = date.fromisoformat(local_date)
    return day.strftime("%a %d %b %Y")


def digest_reply(
    settings: ChannelSettings,
    ranked: Sequence[Ranked],
    summaries: Mapping[str, Any],
    total: int,
    local_date: str,
    now: datetime,
    *,
    failing: str = "",
    delayed_note: str = "",
) -> Reply:
    """The digest as a Reply: header with date and counts, topic groups, footer notes."""
    grouped = group_ranked(ranked)
    groups = []
    for topic_id, members in grouped:
        papers = [m.paper for m in members]
        items = make_items(papers, summaries, now, {m.paper.id: m.why for m in members})
        groups.append(ItemGroup(title=_topic_name(topic_id), items=items))
    count = len(ranked)
    labels = [_short_topic(topic_id) for topic_id, _ in grouped]
    where = ", ".join(labels) if len(labels) <= 3 else f"{len(labels)} topics"
    header = (
        f"{_day_label(local_date)} · {count} paper{'s' if count != 1 else ''} in {where} "
        f"· from {total:,} announced"
    )
    if delayed_note:
        header = "Delayed: " + header
    footer_lines = [line for line in (delayed_note, failing) if line]
    return Reply(header=header, groups=tuple(groups), footer="\n".join(footer_lines), private=False)


def quiet_reply(store: Store, settings: ChannelSettings, local_date: str, since: datetime, now: datetime) -> Reply:
    """The one-line note of a day with nothing new (for channels that opted in)."""
    reason = ""
    arxiv_only = settings.sources and set(settings.sources) <= {SourceKind.ARXIV}
    if (arxiv_only or not settings.sources) and not arxiv_announcements_between(since, now):
        reason = " (arXiv did not announce new papers: weekend or arXiv holiday)"
    text = f"No new papers for this channel on {_day_label(local_date)}{reason}."
    failing = failing_sources_note(store, settings)
    return Reply(text=text, footer=failing, private=False)


async def build_digest(
    store: Store,
    settings: ChannelSettings,
    summaries: SummaryProvider,
    now: datetime,
    local_date: str,
    *,
    pool: Pool | None = None,
    delayed_note: str = "",
) -> Digest | None:
    """The channel's digest for `local_date`, or None when it has nothing new.

    Reads only; recording what was posted is the caller's job (in the enqueue transaction).
    """
    since = window_start(settings, now)
    if pool is None or pool.since > since:
        pool = load_pool(store, since, now)
    candidates = pool.window(since)
    if not candidates:
        return None
    delivered = store.outbox.delivered_versions(settings.key, [p.id for p in candidates])
    ranked = select(settings, candidates, pool.topics, delivered, now, doc_of=pool.doc, facts_of=pool.facts)
    if not ranked:
        return None
    made = await summaries.get_many([r.paper for r in ranked])
    reply = digest_reply(
        settings,
        ranked,
        made,
        len(candidates),
        local_date,
        now,
        failing=failing_sources_note(store, settings),
        delayed_note=delayed_note,
    )
    return Digest(
        channel_key=settings.key,
        local_date=local_date,
        reply=reply,
        paper_ids=tuple(r.paper.id for r in ranked),
        delayed=bool(delayed_note),
    )


def record_digest(store: Store, digest: Digest, versions: Mapping[str, int]) -> None:
    """Remember the digest's papers as delivered to its channel (call inside the enqueue
    transaction so a digest and its ledger entries are written together)."""
    store.outbox.record_delivered(
        digest.channel_key, [(pid, versions.get(pid, 0)) for pid in digest.paper_ids], digest.local_date
    )


def versions_of(digest: Digest) -> dict[str, int]:
    """Paper id -> version for the papers of a digest."""
    return {item.paper.id: item.paper.version for item in digest.reply.items}


# --- the commands ----------------------------------------------------------------------------


def default_settings(place_platform: str, channel_id: str, app: Settings) -> ChannelSettings:
    """A new channel's settings: the deployment's default time and zone, everything else the
    model's defaults (Mon-Fri, all topics and sources, 10 items)."""
    return ChannelSettings(
        platform=place_platform,
        channel_id=channel_id,
        time_of_day=cmd.parse_time_of_day(app.digest_default_time),
        timezone=app.digest_default_tz,
    )


def describe_settings(settings: ChannelSettings) -> list[str]:
    """The settings, one readable line each."""
    topics = ", ".join(_topic_name(t) for t in settings.topics) or "all"
    sources = ", ".join(s.value for s in settings.sources) or "all"
    return [
        f"Time: {settings.time_of_day.strftime('%H:%M')} {settings.timezone} · Days: {describe_days(settings.days)}",
        f"Topics: {topics} · Query: {settings.query or '—'} · Sources: {sources}",
        f"Max items: {settings.max_items} · Min score: {settings.min_score} · "
        f"Updated versions: {'shown' if settings.show_updated else 'hidden'}",
        f"Note on quiet days: {'yes' if settings.quiet_note else 'no'} · After downtime: "
        + ("post the latest missed digest, marked delayed" if settings.catch_up == CatchUp.POST else "skip it with a note"),
    ]


class DigestCommands:
    """`digest on|off|show|now` for the channel the command was typed in."""

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        clock: Clock,
        summaries: SummaryProvider,
        delivery: Delivery | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.summaries = summaries
        self.delivery = delivery
        self._tasks: set[asyncio.Task[int]] = set()

    async def handle(self, command: cmd.Command, who: Actor, where: Place) -> Reply:
        """Run one digest command."""
        if isinstance(command, cmd.DigestOnCommand):
            self._check(who, where)
            return self.turn_on(command, who, where)
        if isinstance(command, cmd.DigestOffCommand):
            self._check(who, where)
            return self.turn_off(where)
        if isinstance(command, cmd.DigestShowCommand):
            return self.show(where)
        if isinstance(command, cmd.DigestNowCommand):
            self._check(who, where)
            return await self.post_now(who, where)
        raise UserInputError("that is not a digest command; use digest on, off, show or now")

    @staticmethod
    def _check(who: Actor, where: Place) -> None:
        # In a DM the user is the only member: their own digest is theirs to change.
        if not (where.is_dm or who.can_manage):
            raise PermissionDenied(PERMISSION_TEXT)

    def turn_on(self, command: cmd.DigestOnCommand, who: Actor, where: Place) -> Reply:
        """Create or change the channel's digest settings and switch it on."""
        now = self.clock()
        current = self.store.channels.get(where.key) or default_settings(where.platform, where.channel_id, self.settings)
        changes: dict[str, Any] = {
            "enabled": True,
            "paused_reason": "",
            "created_by": who.user_id,
            "workspace_id": where.workspace_id or current.workspace_id,
        }
        for name, attr in (
            ("at", "time_of_day"), ("timezone", "timezone"), ("topics", "topics"), ("max_items", "max_items"),
            ("sources", "sources"), ("days", "days"), ("query", "query"), ("min_score", "min_score"),
            ("show_updated", "show_updated"), ("quiet_note", "quiet_note"),
        ):
            value = getattr(command, name)
            if value is not None:
                changes[attr] = value
        if command.catch_up is not None:
            changes["catch_up"] = CatchUp(command.catch_up)
        if command.timezone is not None:
            changes["timezone"] = cmd.parse_timezone(command.timezone)  # typed options skip the parser
        updated = replace(current, **changes)
        if not updated.days:
            raise UserInputError("a digest needs at least one day, e.g. days:weekdays")
        with transaction(self.store.conn):
            self.store.channels.save(updated, now)
        lines = [f"Daily digest is on for {'your DMs' if where.is_dm else 'this channel'}."]
        lines += describe_settings(updated)
        lines.append(self._next_line(updated, now))
        return Reply(text="\n".join(lines), private=True)

    def turn_off(self, where: Place) -> Reply:
        """Switch the channel's digest off (settings are kept for the next `digest on`)."""
        if not self.store.channels.disable(where.key, self.clock()):
            return Reply(text="This channel has no digest switched on. Start one with /papers digest on 09:00", private=True)
        return Reply(text="Daily digest is off for this channel. /papers digest on brings it back.", private=True)

    def show(self, where: Place) -> Reply:
        """The channel's settings and when the next digest is due, in the channel's zone."""
        settings = self.store.channels.get(where.key)
        if settings is None:
            return Reply(
                text="This channel has no digest. Start one with /papers digest on 09:00 tz:Europe/Berlin topics:llm",
                private=True,
            )
        now = self.clock()
        state = "on" if settings.enabled else "off"
        if settings.paused_reason:
            state = f"paused ({settings.paused_reason}); /papers digest on resumes it"
        lines = [f"Digest: {state}", *describe_settings(settings)]
        if settings.enabled and not settings.paused_reason:
            lines.append(self._next_line(settings, now))
        if settings.last_digest_at:
            lines.append(f"Last digest: {describe_local(settings.last_digest_at, settings.timezone)}")
        return Reply(header="Digest settings", text="\n".join(lines), private=True)

    def _next_line(self, settings: ChannelSettings, now: datetime) -> str:
        handled = {run.local_date for run in self.store.channels.runs(settings.key, 10)}
        slot = next_slot(settings, now, handled)
        if slot is None:
            return "Next digest: none scheduled"
        return f"Next digest: {describe_local(slot.due_at, settings.timezone)}"

    async def post_now(self, who: Actor, where: Place) -> Reply:
        """Build the digest now and post it through the outbox (it does not replace the daily
        one; its papers are not repeated there)."""
        now = self.clock()
        settings = self.store.channels.get(where.key) or default_settings(where.platform, where.channel_id, self.settings)
        local_date = ensure_utc(now).astimezone(zone(settings.timezone)).date().isoformat()
        digest = await build_digest(self.store, settings, self.summaries, now, local_date)
        if digest is None:
            return Reply(text="Nothing new for this channel since its last digest.", private=True)
        key = f"digest-now:{settings.key}:{to_iso(now)}"
        with transaction(self.store.conn):
            if enqueue(self.store, key, "digest-now", settings.platform, settings.channel_id, digest.reply, now):
                record_digest(self.store, digest, versions_of(digest))
        count = len(digest.paper_ids)
        if self.delivery is not None:
            # Sent in the background: the command answers at once, the outbox does the rest.
            task = asyncio.create_task(self.delivery.deliver(keys=[key]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return Reply(text=f"Posting a digest of {count} paper{'s' if count != 1 else ''} here now.", private=True)

    async def wait_idle(self) -> None:
        """Wait for background deliveries started by `digest now` (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


# --- the settings file -----------------------------------------------------------------------

_FILE_KEYS = {
    "channel", "platform", "channel_id", "time", "timezone", "tz", "days", "topics", "query", "sources",
    "max_items", "min_score", "show_updated", "quiet_note", "catch_up", "enabled", "created_by", "workspace_id",
}


def load_channels_file(path: str | Path, store: Store, now: datetime) -> int:
    """Apply a JSON file of channel digest settings (deployments); returns how many channels
    it names. Every problem is collected and raised as one ConfigError.

    Format: `{"channels": [{...}, ...]}` or a bare list, each entry like
    `{"channel": "slack:C0123", "time": "09:00", "timezone": "Europe/Berlin", "days": "weekdays",
    "topics": ["llm", "rl"], "query": "", "sources": ["arxiv", "hf"], "max_items": 10,
    "min_score": 0, "show_updated": false, "quiet_note": false, "catch_up": "post",
    "enabled": true, "created_by": "U0ADMIN"}`. Only `channel` (or `platform` + `channel_id`)
    is required. Re-applying an unchanged file changes nothing (catch-up after a restart works).
    `now` (the runtime clock's time) stamps channels the file adds, so their first slot is
    judged against the same clock the scheduler runs on.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"CHANNELS_FILE {path}: no such file"]) from None
    except (OSError, ValueError) as exc:
        raise ConfigError([f"CHANNELS_FILE {path}: not valid JSON ({exc})"]) from None
    entries = data.get("channels") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ConfigError([f'CHANNELS_FILE {path}: expected {{"channels": [...]}} or a list of channels'])
    problems: list[str] = []
    parsed: list[ChannelSettings] = []
    for number, entry in enumerate(entries, start=1):
        try:
            parsed.append(_channel_from_entry(entry, store))
        except (UserInputError, ValueError, TypeError) as exc:
            label = entry.get("channel") or entry.get("channel_id") if isinstance(entry, dict) else None
            problems.append(f"CHANNELS_FILE {path}: channel {number}{f' ({label})' if label else ''}: {exc}")
    keys = [s.key for s in parsed]
    problems += [f"CHANNELS_FILE {path}: {key} is listed twice" for key in sorted({k for k in keys if keys.count(k) > 1})]
    if problems:
        raise ConfigError(problems)
    with transaction(store.conn):
        for settings in parsed:
            store.channels.save(settings, now)
    return len(parsed)


def _channel_from_entry(entry: Any, store: Store) -> ChannelSettings:
    if not isinstance(entry, dict):
        raise ValueError("each channel must be a JSON object")
    unknown = sorted(set(entry) - _FILE_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_FILE_KEYS))}")
    if "channel" in entry:
        platform, _, channel_id = str(entry["channel"]).partition(":")
    else:
        platform, channel_id = str(entry.get("platform", "")), str(entry.get("channel_id", ""))
    if not platform or not channel_id:
        raise ValueError('name the channel as "channel": "slack:C0123" (or platform + channel_id)')
    existing = store.channels.get(f"{platform}:{channel_id}")
    base = existing or ChannelSettings(platform=platform, channel_id=channel_id)
    changes: dict[str, Any] = {}
    if "time" in entry:
        changes["time_of_day"] = cmd.parse_time_of_day(str(entry["time"]))
    if "timezone" in entry or "tz" in entry:
        changes["timezone"] = cmd.parse_timezone(str(entry.get("timezone", entry.get("tz"))))
    if "days" in entry:
        days = entry["days"]
        changes["days"] = cmd.parse_days(",".join(str(d) for d in days) if isinstance(days, list) else str(days))
    if "topics" in entry:
        changes["topics"] = tuple(cmd.parse_topic(str(t)) for t in _as_list(entry["topics"]))
    if "sources" in entry:
        changes["sources"] = tuple(cmd.parse_source(str(s)) for s in _as_list(entry["sources"]))
    if "query" in entry:
        changes["query"] = str(entry["query"])[: cmd.MAX_QUERY_CHARS]
    for key, low, high in (("max_items", 1, cmd.MAX_DIGEST_ITEMS), ("min_score", 0, 1_000_000)):
        if key in entry:
            value = entry[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{key} must be a whole number from {low} to {high}")
            changes[key] = value
    for key in ("show_updated", "quiet_note", "enabled"):
        if key in entry:
            if not isinstance(entry[key], bool):
                raise ValueError(f"{key} must be true or false")
            changes[key] = entry[key]
    if "catch_up" in entry:
        if entry["catch_up"] not in ("post", "skip"):
            raise ValueError('catch_up must be "post" or "skip"')
        changes["catch_up"] = CatchUp(entry["catch_up"])
    for key in ("created_by", "workspace_id"):
        if key in entry:
            changes[key] = str(entry[key])
    if existing is None:
        # A channel the file introduces is on; one that exists keeps its state, so a
        # `/papers digest off` (or a pause) survives the file being re-read at every start.
        changes.setdefault("enabled", True)
    return replace(base, **changes)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return value
    raise ValueError("expected a list or a comma-separated string")
