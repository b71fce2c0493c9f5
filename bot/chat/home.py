"""A person's home (bot.core.home): what Slack's App Home tab shows, built platform-neutral.

Each section is made by one function of a `HomeContext`; `HOME_SECTIONS` lists them in the
order they are shown, so adding a section (saved papers, a personal digest) is writing one such
function and adding it there. A section that fails is logged and left out: the rest still shows.

- `new_papers_section`: the three most relevant new papers of the last `NEW_PAPERS_WINDOW`.
  Once the person has taught paperbot (feedback or seeds) and a ranker is there, these are the
  top of their own relevance model (`/papers foryou`); otherwise (or when that finds nothing)
  the best of a search over each of their subscriptions (in their numbered order, at most
  `MAX_SEARCHES`), taken in turns, no paper twice; a search runs only when its turn comes;
- `subscriptions_section`: their subscriptions, numbered as `/papers subscriptions` numbers them,
  each with Unsubscribe;
- `quiet_hours_section`: their DM quiet hours, with Turn off;
- `personal_digest_section`: their own daily DM digest (`/papers digest me`): on or off, time,
  zone and size, with Change (a form) and Turn off / Turn on;
- `saved_section`: their latest `SAVED_ON_HOME` saved papers, each with Details and Unsave
  (`unsave <id>`: the save goes, a like stays), and how many more `/papers saved` lists;
- `digests_section`: the channel digests they set up, each with Settings and Turn off (or Turn
  on / Resume).

Every action is a `/papers` command run as the person, so the same permission checks apply.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chat.present import describe_subscription, make_items
from bot.core.home import Home, HomeAction, HomeActionKind, HomeEntry, HomeSection
from bot.core.models import Actor, ChannelSettings, Paper, Subscription
from bot.enrich.taxonomy import resolve_topic
from bot.ports import SummaryProvider
from bot.rank.ranking import Ranker
from bot.search.engine import SearchEngine
from bot.search.query import SearchQuery
from bot.store import Store

log = logging.getLogger(__name__)

NEW_PAPERS_SHOWN = 3
NEW_PAPERS_WINDOW = timedelta(days=2)
MAX_SEARCHES = 10  # bounds the work on the event loop (a person may have 25 subscriptions)
MAX_DIGESTS_LISTED = 20  # a Slack Home view holds 100 blocks
SAVED_ON_HOME = 5  # the latest saved papers shown; /papers saved lists them all
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class HomeContext:
    """What a section may read: who it is for, now, and the core's stores and services."""

    who: Actor
    now: datetime
    store: Store
    search: SearchEngine
    summaries: SummaryProvider
    command_name: str = "/papers"
    ranker: Ranker | None = None  # the relevance models (None: new papers by subscription only)


SectionBuilder = Callable[[HomeContext], Awaitable[HomeSection | None]]


async def new_papers_section(ctx: HomeContext) -> HomeSection:
    """The three most relevant new papers for the person (see the module docstring)."""
    since = ctx.now - NEW_PAPERS_WINDOW
    if ctx.ranker is not None and _has_taught(ctx):
        ranked = await ctx.ranker.for_you(ctx.who.platform, ctx.who.user_id, since, NEW_PAPERS_SHOWN)
        if ranked:
            papers = [r.paper for r in ranked]
            summaries = await ctx.summaries.get_many(papers)
            items = make_items(papers, summaries, ctx.now, {r.paper.id: r.why for r in ranked})
            return HomeSection(
                "papers",
                "New for you",
                items=items,
                note=f"Ranked for you by your likes, dislikes and seeds; more with {ctx.command_name} foryou.",
            )
    subs = ctx.store.subscriptions.list_for_user(ctx.who.platform, ctx.who.user_id)
    empty = f"Subscribe to a topic or a query ({ctx.command_name} subscribe diffusion topic:cv) and the newest matches show here."
    if not subs:
        return HomeSection("papers", "New for you", empty=empty)
    searches = [
        (query, f"matches your subscription #{number}: {describe_subscription(sub.query, sub.topics)}")
        for number, sub in enumerate(subs, start=1)
        if not sub.paused_reason
        for query in _queries(sub, since)
    ][:MAX_SEARCHES]
    found: list[list[Paper]] = []

    def hits(index: int) -> list[Paper]:
        # Searched only when needed: searches run on the event loop, and usually the best
        # hits of the first few subscriptions already fill the section.
        while len(found) <= index:
            query, _ = searches[len(found)]
            found.append([hit.paper for hit in ctx.search.search(query, ctx.now).hits])
        return found[index]

    # The best of each search first, then each one's second best, and so on: every
    # subscription gets a say, and no paper is shown twice.
    chosen: dict[str, tuple[Paper, str]] = {}
    for rank in range(NEW_PAPERS_SHOWN):
        for index, (_, label) in enumerate(searches):
            if len(chosen) == NEW_PAPERS_SHOWN:
                break
            papers_found = hits(index)
            if rank < len(papers_found):
                chosen.setdefault(papers_found[rank].id, (papers_found[rank], label))
    papers = [paper for paper, _ in chosen.values()]
    summaries = await ctx.summaries.get_many(papers) if papers else {}
    items = make_items(papers, summaries, ctx.now, {pid: label for pid, (_, label) in chosen.items()})
    return HomeSection(
        "papers",
        "New for you",
        items=items,
        empty="Nothing new for your subscriptions in the last two days.",
    )


def _has_taught(ctx: HomeContext) -> bool:
    """Whether the person gave feedback or seeds, so their own model has something to go on."""
    feedback = ctx.store.feedback
    return bool(feedback.for_person(ctx.who.platform, ctx.who.user_id) or feedback.seeds(ctx.who.platform, ctx.who.user_id))


def _queries(sub: Subscription, since: datetime) -> list[SearchQuery]:
    """The searches that stand for one subscription (one per topic when it has several)."""
    topics: Sequence[str | None] = sub.topics or (None,)
    return [
        SearchQuery(text=sub.query, topic=topic, since=since, sort="relevance", limit=NEW_PAPERS_SHOWN)
        for topic in topics
    ]


async def subscriptions_section(ctx: HomeContext) -> HomeSection:
    """The person's subscriptions, each with Unsubscribe."""
    subs = ctx.store.subscriptions.list_for_user(ctx.who.platform, ctx.who.user_id)
    entries = tuple(
        HomeEntry(
            text=f"{number}. {describe_subscription(sub.query, sub.topics)}",
            detail=f"paused: {sub.paused_reason}" if sub.paused_reason else "",
            actions=(HomeAction("Unsubscribe", command=f"unsubscribe {number}", danger=True),),
        )
        for number, sub in enumerate(subs, start=1)
    )
    return HomeSection(
        "subscriptions",
        "Your subscriptions",
        entries=entries,
        empty=f"No subscriptions yet. Try {ctx.command_name} subscribe diffusion topic:cv",
        note=f"New matches come by DM. Add one with {ctx.command_name} subscribe <query> [topic:<id>]." if entries else "",
        see_all=f"{ctx.command_name} subscriptions",
    )


async def quiet_hours_section(ctx: HomeContext) -> HomeSection:
    """The person's DM quiet hours, with Turn off."""
    state = ctx.store.users.get(ctx.who.platform, ctx.who.user_id)
    entries: tuple[HomeEntry, ...] = ()
    if state.quiet_start is not None and state.quiet_end is not None:
        entries = (
            HomeEntry(
                text=f"{state.quiet_start:%H:%M}–{state.quiet_end:%H:%M} ({_zone(state.timezone)}), every day",
                detail="Alerts that arrive then wait until the quiet hours end.",
                actions=(HomeAction("Turn off", command="quiet off", danger=True),),
            ),
        )
    return HomeSection(
        "quiet",
        "Quiet hours",
        entries=entries,
        empty=f"None: alerts come at any time. Set some with {ctx.command_name} quiet 22:00-07:00 tz:Europe/Berlin",
    )


async def personal_digest_section(ctx: HomeContext) -> HomeSection:
    """The person's own daily DM digest, with Change and Turn off (or Turn on)."""
    digest = ctx.store.feedback.personal_digest(ctx.who.platform, ctx.who.user_id)
    title = "Your daily digest"
    if digest is None:
        return HomeSection(
            "personal-digest",
            title,
            empty=f"None: {ctx.command_name} digest me on 08:00 tz:Europe/Berlin sends you the papers ranked for you by DM.",
        )
    at = digest.time_of_day.strftime("%H:%M")
    keep = f"digest me on {at} tz:{digest.timezone} max:{digest.max_items}"
    if digest.threshold:
        keep += f" threshold:{digest.threshold:g}"
    change = HomeAction("Change", kind=HomeActionKind.EDIT_PERSONAL_DIGEST, command=keep)
    if digest.enabled:
        state, switch = "on", HomeAction("Turn off", command="digest me off", danger=True)
    else:
        state, switch = "off", HomeAction("Turn on", command="digest me on")
    papers = f"up to {digest.max_items} paper{'s' if digest.max_items != 1 else ''}"
    detail = "By DM on arXiv announcement days, ranked for you"
    if digest.threshold:
        detail += f"; only papers at least {digest.threshold:g} relevant"
    entry = HomeEntry(text=f"{state} · {at} {_zone(digest.timezone)} · {papers}", detail=detail + ".", actions=(change, switch))
    return HomeSection("personal-digest", title, entries=(entry,))


async def saved_section(ctx: HomeContext) -> HomeSection:
    """The person's latest saved papers, each with Details and Unsave."""
    ids = ctx.store.feedback.saved(ctx.who.platform, ctx.who.user_id)
    papers = ctx.store.papers.get_many(ids[:SAVED_ON_HOME])
    entries = tuple(
        HomeEntry(
            text=" ".join(paper.title.split()) or paper.id,
            detail=_saved_detail(paper),
            actions=(
                HomeAction("Details", kind=HomeActionKind.PAPER, paper_id=paper.id),
                HomeAction("Unsave", command=f"unsave {paper.id}", danger=True),
            ),
        )
        for paper in papers
    )
    more = len(ids) - len(entries)
    see_all = f"{ctx.command_name} saved"
    return HomeSection(
        "saved",
        "Saved papers",
        entries=entries,
        empty=f"None yet. Save one with {ctx.command_name} save <n> after a search, or a paper's Save button.",
        note=f"…and {more} more: {see_all}" if more > 0 else "",
        see_all=see_all,
    )


def _saved_detail(paper: Paper) -> str:
    authors = paper.authors[0] + (" et al." if len(paper.authors) > 1 else "") if paper.authors else ""
    return " · ".join(part for part in (f"arXiv:{paper.id}", authors) if part)


async def digests_section(ctx: HomeContext) -> HomeSection:
    """The channel digests the person set up, each with Settings and Turn off / on."""
    channels = ctx.store.channels.set_up_by(ctx.who.platform, ctx.who.user_id)
    entries = tuple(_digest_entry(settings) for settings in channels[:MAX_DIGESTS_LISTED])
    more = len(channels) - len(entries)
    return HomeSection(
        "digests",
        "Digests you set up",
        entries=entries,
        empty=f"None yet. In a channel: {ctx.command_name} digest on 09:00 tz:Europe/Berlin topics:llm",
        note=f"…and {more} more channel{'s' if more != 1 else ''}." if more > 0 else "",
        see_all=f"{ctx.command_name} digest show (in each channel)",
    )


def _digest_entry(settings: ChannelSettings) -> HomeEntry:
    channel = settings.channel_id
    if settings.paused_reason:
        state, switch = f"paused: {settings.paused_reason}", HomeAction("Resume", command="digest on", channel_id=channel)
    elif settings.enabled:
        state, switch = "on", HomeAction("Turn off", command="digest off", channel_id=channel, danger=True)
    else:
        state, switch = "off", HomeAction("Turn on", command="digest on", channel_id=channel)
    topics = ", ".join(_topic_name(t) for t in settings.topics) or "all topics"
    return HomeEntry(
        text=f"{state} · {settings.time_of_day:%H:%M} {_zone(settings.timezone)} · {_days(settings.days)}",
        detail=f"{topics} · up to {settings.max_items} papers",
        channel_id=channel,
        actions=(HomeAction("Settings", kind=HomeActionKind.EDIT_DIGEST, channel_id=channel), switch),
    )


def _days(days: tuple[int, ...]) -> str:
    chosen = tuple(sorted(days))
    if chosen == (0, 1, 2, 3, 4):
        return "Mon–Fri"
    if chosen == tuple(range(7)):
        return "every day"
    return ", ".join(_DAY_NAMES[d] for d in chosen) or "no days"


def _zone(name: str) -> str:
    """A time zone as people read it: America/New York (chat platforms mangle underscores)."""
    return name.replace("_", " ")


def _topic_name(topic_id: str) -> str:
    topic = resolve_topic(topic_id)
    return topic.name if topic else topic_id


HOME_SECTIONS: tuple[SectionBuilder, ...] = (
    new_papers_section,
    subscriptions_section,
    quiet_hours_section,
    personal_digest_section,
    saved_section,
    digests_section,
)


async def build_home(ctx: HomeContext, sections: Sequence[SectionBuilder] = HOME_SECTIONS) -> Home:
    """The person's home: each section in order; one that fails is logged and left out."""
    built = []
    for make in sections:
        try:
            section = await make(ctx)
        except Exception:
            log.exception("home section %s failed for %s:%s", make.__name__, ctx.who.platform, ctx.who.user_id)
            continue
        if section is not None:
            built.append(section)
    return Home(title="paperbot", sections=tuple(built))
