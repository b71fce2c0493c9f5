"""The site's pages: the papers of a day (today by the bot's clock, older days by date), a
topic, a search, one paper, what one digest posted; and the signed-link actions (confirm an
email digest, unsubscribe).

Papers are drawn from the same neutral views as the chat (`bot.chat.present.make_items`,
`bot.chat.view.item_view`), so the site reads like a digest: source line, tags, TL;DR, key
points and a "Read more" (`<details>`) with Summary / Methodology / Results / Implications.
Every text goes through Jinja2 with autoescaping; only checked http(s) URLs become links. No
personal data is shown: no feedback, subscriptions, DMs, user names or email addresses (an
email digest's page does not exist; the confirm and unsubscribe pages name no address).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from math import ceil
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jinja2
from aiohttp import web

from bot.chat.grammar import parse_command
from bot.chat.present import make_items, web_url
from bot.chat.service import describe_search
from bot.chat.view import ItemView, item_view
from bot.core.clock import Clock, humanize_age
from bot.core.commands import SearchCommand
from bot.core.errors import UserInputError
from bot.core.links import UNSUBSCRIBE, day_path, paper_path, topic_path, verify
from bot.core.models import Paper, PaperItem, Reply, SourceKind
from bot.delivery.outbox import reply_from_json
from bot.digests.email import EmailDigests
from bot.digests.schedule import describe_local
from bot.enrich.tagger import tag
from bot.enrich.taxonomy import TAXONOMY, resolve_topic, topic_by_id
from bot.ports import SummaryProvider
from bot.search.engine import SearchEngine
from bot.search.query import SearchQuery
from bot.settings import Settings
from bot.store import Store
from bot.store.db import transaction

DAYS_SHOWN = 7  # the tabs: today and the six days before
PAGE_SIZE = 50
SEARCH_LIMIT = 25  # results of a web search that names no limit:
TOPIC_DAYS = 7
MAX_CODE_LINKS = 3
_CODE_URL = re.compile(
    r"https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|huggingface\.co|codeberg\.org)/[^\s<>\"'(){}\[\]]+",
    re.IGNORECASE,
)
_LIMIT_OPTION = re.compile(r"(?:^|\s)limit:", re.IGNORECASE)


@dataclass
class Site:
    """What the pages read: the store, search, summaries and the bot's clock and settings."""

    store: Store
    search: SearchEngine
    summaries: SummaryProvider
    clock: Clock
    settings: Settings
    refresh_every: float  # seconds between fetches of the most frequent source
    link_secret: str
    email: EmailDigests | None = None
    templates: jinja2.Environment = field(init=False)
    # The offline tagger's topics of papers not tagged in the store yet, by (id, version).
    tag_cache: dict[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Autoescaping is on for every template: titles and abstracts come from outside.
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("bot.web", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )


SITE_KEY: web.AppKey[Site] = web.AppKey("site", Site)
MAX_TAG_CACHE = 100_000


def _tagged(papers: Sequence[Paper]) -> dict[tuple[str, int], tuple[str, ...]]:
    return {(p.id, p.version): tag(p.title, p.abstract, p.categories) for p in papers}


async def paper_topics(site: Site, papers: Sequence[Paper]) -> dict[str, tuple[str, ...]]:
    """Topic ids per paper, as digests see them (bot.search.matching.topics_for): the stored
    tags, or the offline tagger's for papers not summarized yet. The tagger runs in a worker
    thread, once per paper version (a busy day is hundreds of papers: seconds of CPU), so the
    event loop keeps answering chat commands while a day's page is first built."""
    stored = site.store.papers.topics_of([p.id for p in papers])
    todo = [p for p in papers if not stored.get(p.id) and (p.id, p.version) not in site.tag_cache]
    if todo:
        if len(site.tag_cache) > MAX_TAG_CACHE:
            site.tag_cache.clear()
        site.tag_cache.update(await asyncio.to_thread(_tagged, todo))
    return {p.id: stored.get(p.id) or site.tag_cache.get((p.id, p.version), ()) for p in papers}


# --- what a card shows -------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One paper on a page: the chat's neutral view plus the links and signals of the web."""

    view: ItemView
    anchor: str
    title_url: str | None
    page: str
    links: tuple[tuple[str, str], ...]
    signals: tuple[str, ...]
    topics: tuple[tuple[str, str], ...]  # (topic id, name)


def code_links(paper: Paper) -> list[str]:
    """Code and model links found in a paper's abstract and comment (GitHub, GitLab, HF, ...)."""
    found: list[str] = []
    for text in (paper.abstract, paper.comment or ""):
        for match in _CODE_URL.finditer(text):
            url = web_url(match.group(0).rstrip(".,;:"), 2048)
            if url and url not in found:
                found.append(url)
    return found[:MAX_CODE_LINKS]


def paper_links(paper: Paper) -> list[tuple[str, str]]:
    """(label, URL) of everything a reader may want to open, checked http(s) URLs only."""
    links: list[tuple[str, str]] = []
    if paper.is_arxiv:
        links += [("arXiv", f"https://arxiv.org/abs/{paper.id}"), ("PDF", f"https://arxiv.org/pdf/{paper.id}")]
    elif (url := web_url(paper.url, 2048)) is not None:
        links.append(("Source", url))
    seen = {url for _, url in links}
    for signal in sorted(paper.signals, key=lambda s: (s.source != SourceKind.HF, -s.score)):
        url = web_url(signal.url, 2048)
        if url and url not in seen and signal.source in (SourceKind.HF, SourceKind.REDDIT):
            links.append(("Hugging Face" if signal.source == SourceKind.HF else signal.label or "Reddit", url))
            seen.add(url)
    links += [("Code", url) for url in code_links(paper) if url not in seen]
    return links


def _signals(paper: Paper) -> tuple[str, ...]:
    shown = []
    hf = max((s.score for s in paper.signals if s.source == SourceKind.HF), default=None)
    reddit = max((s.score for s in paper.signals if s.source == SourceKind.REDDIT), default=None)
    if hf is not None:
        shown.append(f"▲ {hf:,} HF upvote{'s' if hf != 1 else ''}")
    if reddit is not None:
        shown.append(f"{reddit:,} Reddit point{'s' if reddit != 1 else ''}")
    return tuple(shown)


def _topic_pairs(topic_ids: Sequence[str], fallback: Sequence[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for topic_id in topic_ids:
        topic = resolve_topic(topic_id)
        if topic is not None:
            pairs.append((topic.id, topic.name))
    if not pairs:
        for topic_id in fallback:
            try:
                pairs.append((topic_id, topic_by_id(topic_id).name))
            except KeyError:
                continue
    return tuple(pairs)


def cards_of(items: Sequence[PaperItem], topics: Mapping[str, Sequence[str]] | None = None, start: int = 1) -> list[Card]:
    """Cards for PaperItems, numbered from `start` (their tags: the summary's, else `topics`)."""
    cards = []
    for number, item in enumerate(items, start=start):
        view = item_view(item, number)
        paper = item.paper
        cards.append(
            Card(
                view=view,
                anchor=re.sub(r"[^A-Za-z0-9_-]", "-", paper.id),
                title_url=view.url,
                page=paper_path(paper.id),
                links=tuple(paper_links(paper)),
                signals=_signals(paper),
                topics=_topic_pairs(item.topics, (topics or {}).get(paper.id, ())),
            )
        )
    return cards


# --- rendering ---------------------------------------------------------------------------------


def linker(request: web.Request) -> Callable[[str], str]:
    """`link(path)`: the path, carrying the access token when this request came with `?token=`
    (so a reader who opened the site by a token link can follow its links)."""
    token = request.query.get("token", "")

    def link(path: str) -> str:
        if not token:
            return path
        parts = urlsplit(path)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "token"] + [("token", token)]
        return f"{parts.path}?{urlencode(query)}"

    return link


def render(request: web.Request, template: str, *, status: int = 200, **values: Any) -> web.Response:
    """A page from a template, with the values every page has."""
    site = request.app[SITE_KEY]
    defaults: dict[str, Any] = {
        "link": linker(request), "token": request.query.get("token", ""), "query": "", "tabs": [],
        "feed": None, "lines": [], "notice": "", "notice_is_error": False, "topics": [], "groups": [],
        "empty": "", "footer": [], "pager": None, "open_details": False, "form": None, "is_error": False,
    }
    html = site.templates.get_template(template).render({**defaults, **values})
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def message(request: web.Request, heading: str, text: str, *, status: int = 200, **values: Any) -> web.Response:
    """A short page saying one thing (confirmations, errors, not found)."""
    return render(request, "message.html", status=status, title=heading, heading=heading, text=text,
                  is_error=status >= 400, **values)


def not_found(request: web.Request, text: str = "There is no such page here.") -> web.Response:
    """The site's 404 page."""
    return message(request, "Not found", text, status=404)


# --- days and tabs -----------------------------------------------------------------------------


def today(site: Site) -> date:
    """Today by the bot's clock (UTC): in offline mode the samples' last day."""
    return site.clock().astimezone(UTC).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a day starts and ends (a day page lists papers published then)."""
    start = datetime.combine(day, time(0, 0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def day_tabs(site: Site, current: date | None) -> list[dict[str, Any]]:
    """Today and the six days before, each with its count of papers."""
    last = today(site)
    first = last - timedelta(days=DAYS_SHOWN - 1)
    counts = site.store.papers.count_by_day(day_bounds(first)[0], day_bounds(last)[1])
    tabs = []
    for offset in range(DAYS_SHOWN):
        day = last - timedelta(days=offset)
        label = "Today" if offset == 0 else day.strftime("%a %d %b")
        path = "/" if offset == 0 else day_path(day.isoformat())
        tabs.append({"label": label, "path": path, "count": counts.get(day.isoformat(), 0), "current": day == current})
    return tabs


def refresh_status(site: Site) -> str:
    """`Last refreshed 2h ago (12:00 UTC); sources refresh every 30 min.`"""
    successes = [s.last_success for s in site.store.sources.all() if s.last_success is not None]
    now = site.clock()
    last = f"Last refreshed {humanize_age(max(successes), now)} ({describe_local(max(successes), 'UTC')})" if successes else "Not refreshed yet"
    every = site.refresh_every
    if every >= 7 * 86400:
        return f"{last}; these are the bundled offline samples, not refreshed."
    if every >= 3600:
        how_often = f"every {every / 3600:g} h"
    else:
        how_often = f"every {max(1, round(every / 60))} min"
    return f"{last}; sources are refreshed {how_often}."


def _page_number(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("page", "1")))
    except ValueError:
        return 1


def _with_query(path: str, **params: str | int | None) -> str:
    # Page 1 is the plain path, so each page has one address.
    given = {k: str(v) for k, v in params.items() if v is not None and v != "" and not (k == "page" and v == 1)}
    return f"{path}?{urlencode(given)}" if given else path


def _pager(path: str, number: int, total: int, **params: str | None) -> dict[str, Any] | None:
    pages = max(1, ceil(total / PAGE_SIZE))
    if pages == 1:
        return None
    return {
        "number": number, "pages": pages, "size": PAGE_SIZE,
        "previous": _with_query(path, page=number - 1, **params) if number > 1 else None,
        "next": _with_query(path, page=number + 1, **params) if number < pages else None,
    }


async def _listing(
    request: web.Request, papers: Sequence[Paper], topics: Mapping[str, Sequence[str]], path: str,
    **params: str | None,
) -> tuple[list[Card], dict[str, Any] | None]:
    """One page of `papers` as cards (summaries made for the shown ones only) and its pager."""
    site = request.app[SITE_KEY]
    number = _page_number(request)
    shown = list(papers[(number - 1) * PAGE_SIZE : number * PAGE_SIZE])
    summaries = await site.summaries.get_many(shown) if shown else {}
    items = make_items(shown, summaries, site.clock())
    return cards_of(items, topics, start=(number - 1) * PAGE_SIZE + 1), _pager(path, number, len(papers), **params)


def _topic_chips(path: str, topics: Mapping[str, Sequence[str]], current: str | None) -> list[dict[str, Any]]:
    counts = Counter(topic_id for ids in topics.values() for topic_id in ids)
    chips = [{"label": "All", "path": path, "count": len(topics), "current": current is None}]
    for topic in TAXONOMY:
        if counts.get(topic.id):
            chips.append({
                "label": topic.name, "path": _with_query(path, topic=topic.id),
                "count": counts[topic.id], "current": topic.id == current,
            })
    return chips


def _chosen_topic(request: web.Request) -> str | None:
    text = request.query.get("topic", "").strip()
    topic = resolve_topic(text) if text else None
    return topic.id if topic else None


# --- pages -------------------------------------------------------------------------------------


async def today_page(request: web.Request) -> web.Response:
    """`/`: today's papers."""
    return await _day(request, today(request.app[SITE_KEY]), "/")


async def day_page(request: web.Request) -> web.Response:
    """`/day/2026-06-09`: one day's papers."""
    try:
        day = date.fromisoformat(request.match_info["day"])
    except ValueError:
        return not_found(request, "That is not a date like 2026-06-09.")
    return await _day(request, day, day_path(day.isoformat()))


async def _day(request: web.Request, day: date, path: str) -> web.Response:
    site = request.app[SITE_KEY]
    papers = site.store.papers.published_between(*day_bounds(day))
    topics = await paper_topics(site, papers)
    chosen = _chosen_topic(request)
    if chosen:
        papers = [p for p in papers if chosen in topics.get(p.id, ())]
    cards, pager = await _listing(request, papers, topics, path, topic=chosen)
    is_today = day == today(site)
    label = day.strftime("%A %d %B %Y")
    count = f"{len(papers):,} paper{'s' if len(papers) != 1 else ''}"
    if chosen:
        count += f" in {topic_by_id(chosen).name}"
    return render(
        request, "list.html",
        title=f"Papers of {label}", heading=("Today: " if is_today else "") + label,
        lines=[count + (" announced today" if is_today else ""), refresh_status(site)],
        tabs=day_tabs(site, day), topics=_topic_chips(path, topics, chosen),
        groups=[{"title": "Most popular first", "cards": cards}] if cards else [],
        empty="No papers for this day yet." if not chosen else "No papers of this topic on this day.",
        pager=pager, feed={"title": "paperbot: today's papers", "path": "/feed.xml"},
    )


async def topic_page(request: web.Request) -> web.Response:
    """`/topic/<id>`: the topic's papers of the last seven days, most popular first."""
    site = request.app[SITE_KEY]
    topic = resolve_topic(request.match_info["topic"])
    if topic is None:
        return not_found(request, "There is no such topic; see the topics under any day's heading.")
    papers = await topic_papers(site, topic.id)
    cards, pager = await _listing(request, papers, {p.id: (topic.id,) for p in papers}, topic_path(topic.id))
    return render(
        request, "list.html", title=topic.name, heading=topic.name,
        lines=[f"{len(papers):,} papers of the last {TOPIC_DAYS} days", refresh_status(site)],
        tabs=day_tabs(site, None), groups=[{"title": "Most popular first", "cards": cards}] if cards else [],
        empty="No papers of this topic in the last days.", pager=pager,
        feed={"title": f"paperbot: {topic.name}", "path": f"{topic_path(topic.id)}/feed.xml"},
    )


async def topic_papers(site: Site, topic_id: str) -> list[Paper]:
    """The papers of the last TOPIC_DAYS days (by the bot's clock) tagged with a topic."""
    last = today(site)
    papers = site.store.papers.published_between(
        day_bounds(last - timedelta(days=TOPIC_DAYS - 1))[0], day_bounds(last)[1]
    )
    topics = await paper_topics(site, papers)
    return [p for p in papers if topic_id in topics.get(p.id, ())]


def search_command(text: str) -> SearchCommand:
    """What the search box holds, parsed by the chat's grammar (`since:`, `topic:` ...); a web
    search shows SEARCH_LIMIT results unless it names `limit:`."""
    command = parse_command("search " + text)
    assert isinstance(command, SearchCommand)
    return command if _LIMIT_OPTION.search(text) else replace(command, limit=SEARCH_LIMIT)


async def search_page(request: web.Request) -> web.Response:
    """`/search?q=`: the same engine and grammar as `/papers`."""
    site = request.app[SITE_KEY]
    text = request.query.get("q", "").strip()
    values: dict[str, Any] = {"title": "Search", "heading": "Search", "query": text, "tabs": day_tabs(site, None)}
    if not text:
        return render(request, "list.html", empty="Type some words, e.g. diffusion models since:7d", **values)
    try:
        command = search_command(text)
    except UserInputError as exc:
        return render(request, "list.html", status=400, notice=str(exc), notice_is_error=True, **values)
    now = site.clock()
    query = SearchQuery(
        text=command.query, since=command.since_datetime(now), source=command.source, topic=command.topic,
        author=command.author, sort=command.sort, limit=command.limit,
    )
    result = site.search.search(query, now)
    described = describe_search(command)
    if not result.hits:
        return render(request, "list.html", notice=result.suggestion or f"No papers matched {described}.", **values)
    papers = [hit.paper for hit in result.hits]
    summaries = await site.summaries.get_many(papers)
    items = make_items(papers, summaries, now, {hit.paper.id: hit.why for hit in result.hits})
    total = f"{result.total:,}" if result.total > len(items) else str(len(items))
    values["heading"] = f"{len(items)} of {total} papers for {described}"
    return render(request, "list.html", groups=[{"title": "Results", "cards": cards_of(items)}], **values)


async def paper_page(request: web.Request) -> web.Response:
    """`/paper/<id>`: one paper, its details open."""
    site = request.app[SITE_KEY]
    paper = site.store.papers.get(request.match_info["paper_id"])
    if paper is None:
        return not_found(request, "No paper with that id is stored here.")
    summaries = await site.summaries.get_many([paper])
    topics = await paper_topics(site, [paper])
    cards = cards_of(make_items([paper], summaries, site.clock()), topics)
    return render(
        request, "list.html", title=paper.title or paper.id, heading=paper.title or paper.id,
        tabs=day_tabs(site, None), groups=[{"title": cards[0].view.id_label, "cards": cards}], open_details=True,
    )


async def digest_page(request: web.Request) -> web.Response:
    """`/digest/<channel>/<date>`: exactly what that digest posted (its outbox payload)."""
    site = request.app[SITE_KEY]
    channel, local_date = request.match_info["channel"], request.match_info["day"]
    # An email digest is one person's: its key is their address, so it has no page.
    if channel.startswith("email:"):
        return not_found(request)
    payload = site.store.outbox.digest_payload(channel, local_date)
    if payload is None:
        return not_found(request, "No digest was posted for that channel on that date (or it was pruned).")
    reply = reply_from_json(payload)
    return render(request, "list.html", **digest_values(site, reply, local_date))


def digest_values(site: Site, reply: Reply, local_date: str) -> dict[str, Any]:
    """The template values of a posted digest: its header, groups and footer as posted."""
    groups, number = [], 1
    for group in reply.groups:
        cards = cards_of(group.items, start=number)
        number += len(cards)
        groups.append({"title": group.title or "Papers", "cards": cards})
    return {
        "title": f"Digest of {local_date}", "heading": reply.header or f"Digest of {local_date}",
        "lines": [reply.text] if reply.text else [], "groups": groups,
        "footer": [line for line in reply.footer.splitlines() if line.strip()],
        "tabs": day_tabs(site, None), "empty": "This digest listed no papers.",
    }


# --- signed-link actions -----------------------------------------------------------------------


async def confirm_email(request: web.Request) -> web.Response:
    """`/email/confirm?t=`: GET shows a Confirm button (link scanners only GET); POST starts
    the email digest (double opt-in)."""
    site = request.app[SITE_KEY]
    token = request.query.get("t", "")
    if request.method == "GET":
        return message(
            request, "Confirm your daily digest",
            "Press Confirm to start receiving the daily digest of new papers at this address.",
            form={"action": f"/email/confirm?{urlencode({'t': token})}", "fields": [], "button": "Confirm"},
        )
    settings = site.email.confirm(token) if site.email is not None and token else None
    if settings is None:
        return message(request, "Link not valid", "This confirmation link is unknown, used or expired. "
                       "Ask for a new one with /papers email <address>.", status=404)
    when = f"{settings.time_of_day.strftime('%H:%M')} {settings.timezone}"
    return message(request, "Confirmed", f"Confirmed: your daily digest by email starts at the next {when} digest.")


async def unsubscribe(request: web.Request) -> web.Response:
    """`/unsubscribe?c=&s=`: GET shows a button; POST (also RFC 8058 one-click, body
    `List-Unsubscribe=One-Click`) switches the signed destination's digest off."""
    site = request.app[SITE_KEY]
    channel, signature = request.query.get("c", ""), request.query.get("s", "")
    if not verify(site.link_secret, UNSUBSCRIBE, channel, signature):
        return message(request, "Link not valid", "This unsubscribe link is not valid.", status=403)
    if request.method == "GET":
        return message(
            request, "Unsubscribe", "Press Unsubscribe to stop the daily digest sent to this address.",
            form={"action": f"/unsubscribe?{urlencode({'c': channel, 's': signature})}", "fields": [], "button": "Unsubscribe"},
        )
    with transaction(site.store.conn):
        site.store.channels.disable(channel, site.clock())
    return message(request, "Unsubscribed", "You are unsubscribed: no more digests will be sent to this address.")


def add_routes(app: web.Application) -> None:
    """Mount the pages (the feeds are added by bot.web.feeds)."""
    app.router.add_get("/", today_page)
    app.router.add_get(r"/day/{day}", day_page)
    app.router.add_get(r"/topic/{topic}", topic_page)
    app.router.add_get("/search", search_page)
    app.router.add_get(r"/paper/{paper_id:.+}", paper_page)
    app.router.add_get(r"/digest/{channel}/{day}", digest_page)
    app.router.add_route("GET", "/email/confirm", confirm_email)
    app.router.add_route("POST", "/email/confirm", confirm_email)
    app.router.add_route("GET", "/unsubscribe", unsubscribe)
    app.router.add_route("POST", "/unsubscribe", unsubscribe)
