"""How a digest reads: the header with its date and counts, topic groups, footer notes, and
the one-line note of a quiet day. Items are built with `bot.chat.present.make_items`, so they
read like search results."""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from bot.chat.present import make_items
from bot.core.links import absolute, day_path, digest_path
from bot.core.models import ChannelSettings, Digest, ItemGroup, Reply, SourceKind
from bot.digests.schedule import arxiv_announcements_between
from bot.digests.selection import (
    NO_TOPIC,
    TRENDING,
    Pool,
    Ranked,
    group_ranked,
    is_recent,
    load_pool,
    rerank,
    select,
    select_top,
    topic_label,
    window_start,
)
from bot.ports import SummaryProvider
from bot.rank.models import CHANNEL
from bot.rank.ranking import Ranker
from bot.store import Store
from bot.store.sources import SourceState


def _short_topic(topic_id: str) -> str:
    """Header labels: LLM, RL, CV for short ids; the name otherwise."""
    if topic_id == NO_TOPIC:
        return "other topics"
    if topic_id == TRENDING:
        return "trending"
    return topic_id.upper() if len(topic_id) <= 3 else topic_label(topic_id)


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


def failing_sources_note(store: Store, settings: ChannelSettings, states: Sequence[SourceState] | None = None) -> str:
    """`arXiv listing unavailable, will retry` for each failing source the channel reads
    (`states`: the sources' states when the caller has read them already)."""
    notes = []
    for state in store.sources.all() if states is None else states:
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
    site_url: str = "",
    pool: Pool | None = None,
) -> Reply:
    """The digest as a Reply: header with date and counts, topic groups, footer notes (and,
    with the site's public address, links to the day's papers and to this digest's page).
    With the run's `pool` (at the same `now`), items are the pool's shared ones (`Pool.item`),
    equal to what `make_items` makes."""
    grouped = group_ranked(ranked)
    groups = []
    for topic_id, members in grouped:
        if pool is not None and pool.now == now:
            items = tuple(pool.item(m.paper, summaries.get(m.paper.id), m.why) for m in members)
        else:
            items = make_items([m.paper for m in members], summaries, now, {m.paper.id: m.why for m in members})
        groups.append(ItemGroup(title=topic_label(topic_id), items=items))
    count = len(ranked)
    labels = [_short_topic(topic_id) for topic_id, _ in grouped]
    where = ", ".join(labels) if len(labels) <= 3 else f"{len(labels)} topics"
    header = (
        f"{_day_label(local_date)} · {count} paper{'s' if count != 1 else ''} in {where} "
        f"· from {total:,} announced"
    )
    if delayed_note:
        header = "Delayed: " + header
    links = web_links(settings, local_date, total, site_url) if site_url else ""
    footer_lines = [line for line in (delayed_note, failing, links) if line]
    return Reply(
        header=header, groups=tuple(groups), footer="\n".join(footer_lines), private=False,
        digest_settings=True, offers_feedback=True,
    )


def nothing_relevant_reply(settings: ChannelSettings, local_date: str, total: int) -> Reply:
    """The one line of a day whose new papers are all below the channel's threshold."""
    return Reply(
        text=(
            f"Nothing relevant today ({_day_label(local_date)}): none of {total:,} new papers reached this "
            f"channel's relevance threshold of {settings.threshold:g}."
        ),
        private=False,
    )


def web_links(settings: ChannelSettings, local_date: str, total: int, site_url: str) -> str:
    """`All 214 papers announced today: <day page> · This digest on the web: <its page>`. An
    email digest links to the day only: the site never shows a person's address."""
    line = f"All {total:,} papers announced today: {absolute(site_url, day_path(local_date))}"
    if settings.platform != "email":
        line += f" · This digest on the web: {absolute(site_url, digest_path(settings.key, local_date))}"
    return line


def quiet_reply(
    store: Store,
    settings: ChannelSettings,
    local_date: str,
    since: datetime,
    now: datetime,
    states: Sequence[SourceState] | None = None,
) -> Reply:
    """The one-line note of a day with nothing new (for channels that opted in); `states`: the
    sources' states when the caller has read them already."""
    reason = ""
    arxiv_only = settings.sources and set(settings.sources) <= {SourceKind.ARXIV}
    if (arxiv_only or not settings.sources) and not arxiv_announcements_between(since, now):
        reason = " (arXiv did not announce new papers: weekend or arXiv holiday)"
    text = f"No new papers for this channel on {_day_label(local_date)}{reason}."
    failing = failing_sources_note(store, settings, states)
    return Reply(text=text, footer=failing, private=False, digest_settings=True)


async def has_channel_model(ranker: Ranker, settings: ChannelSettings) -> bool:
    """Whether the channel's model has feedback, so `rerank` would re-order its digest (it
    asks the same question and keeps today's order when the answer is no)."""
    model = await ranker.model(CHANNEL, settings.key)
    return model is not None and model.has_feedback


async def build_digest(
    store: Store,
    settings: ChannelSettings,
    summaries: SummaryProvider,
    now: datetime,
    local_date: str,
    *,
    pool: Pool | None = None,
    delayed_note: str = "",
    site_url: str = "",
    ranker: Ranker | None = None,
    judged: Container[str] | None = None,
) -> Digest | None:
    """The channel's digest for `local_date`, or None when it has nothing new. When the
    channel's relevance threshold keeps none of its new papers, the digest is a one-line
    "nothing relevant today" note with no papers. `judged`, when given, holds every channel
    that could have a model with feedback (`FeedbackStore.channels_with_feedback`, read once
    for many channels): the others are not asked of the ranker.

    Reads only; recording what was posted is the caller's job (in the enqueue transaction).
    """
    since = window_start(settings, now)
    if pool is None or pool.since > since:
        pool = load_pool(store, since, now)
    total = pool.candidate_count(since)
    if not total:
        return None
    if ranker is not None and (judged is None or settings.key in judged) and await has_channel_model(ranker, settings):
        # The channel's model re-ranks every candidate, so every one is scored.
        candidates = [paper for paper in pool.window(since) if is_recent(paper, since)]
        delivered = store.outbox.delivered_versions(settings.key, [p.id for p in candidates])
        ranked = select(settings, candidates, pool.topics, delivered, now, doc_of=pool.doc, facts_of=pool.facts, keep_all=True)
        if not ranked:
            return None
        reranked = await rerank(settings, ranked, ranker)
        ranked = ranked[: settings.max_items] if reranked is None else reranked
        if not ranked:
            return Digest(
                channel_key=settings.key,
                local_date=local_date,
                reply=nothing_relevant_reply(settings, local_date, total),
                delayed=bool(delayed_note),
            )
    else:
        ranked = select_top(settings, pool, since, lambda ids: store.outbox.delivered_versions(settings.key, ids))
        if not ranked:
            return None
    made = await summaries.get_many([r.paper for r in ranked])
    return compose_digest(
        store, settings, ranked, made, total, now, local_date, pool, delayed_note=delayed_note, site_url=site_url
    )


def compose_digest(
    store: Store,
    settings: ChannelSettings,
    ranked: Sequence[Ranked],
    summaries: Mapping[str, Any],
    total: int,
    now: datetime,
    local_date: str,
    pool: Pool,
    *,
    delayed_note: str = "",
    site_url: str = "",
) -> Digest:
    """The digest of papers already chosen and summarized (`summaries` by paper id may hold
    more papers than these): its reply, with the failing sources' note read once per pool."""
    reply = digest_reply(
        settings,
        ranked,
        summaries,
        total,
        local_date,
        now,
        failing=failing_sources_note(store, settings, pool.source_states(store)),
        delayed_note=delayed_note,
        site_url=site_url,
        pool=pool,
    )
    return Digest(
        channel_key=settings.key,
        local_date=local_date,
        reply=reply,
        paper_ids=tuple(r.paper.id for r in ranked),
        delayed=bool(delayed_note),
    )
