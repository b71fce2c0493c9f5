"""Atom feeds (RFC 4287): today's papers (`/feed.xml`) and each topic's (`/topic/<id>/feed.xml`).

Built with ElementTree, so every text is escaped as XML; characters XML 1.0 forbids (control
characters a feed or an abstract may carry) are dropped first. Each entry has the required id,
title, updated and an alternate link, plus the paper's TL;DR as its summary, its authors and
its topics as categories.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from xml.etree import ElementTree as ET

from aiohttp import web

from bot.chat.present import web_url
from bot.core.clock import ensure_utc, to_iso
from bot.core.links import absolute, day_path, paper_path, topic_path
from bot.core.models import Paper, Summary
from bot.enrich.taxonomy import resolve_topic
from bot.web.pages import SITE_KEY, Site, day_bounds, not_found, paper_topics, today, topic_papers

ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 50
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _text(text)
    return element


def _updated(paper: Paper) -> datetime | None:
    return paper.updated or paper.published or paper.first_seen


def atom_feed(
    *, feed_id: str, title: str, self_url: str, page_url: str, base_url: str,
    papers: Sequence[Paper], summaries: Mapping[str, Summary], topics: Mapping[str, Sequence[str]], now: datetime,
) -> bytes:
    """The Atom document of `papers` (newest `updated` is the feed's; `now` when empty)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", feed_id)
    _sub(feed, "title", title)
    times = [ensure_utc(t) for t in (_updated(p) for p in papers) if t is not None]
    _sub(feed, "updated", to_iso(max(times) if times else now))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=page_url)
    _sub(_sub(feed, "author"), "name", "paperbot")
    _sub(feed, "generator", "paperbot")
    for paper in papers:
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"https://arxiv.org/abs/{paper.id}" if paper.is_arxiv else f"urn:paperbot:{paper.id}")
        _sub(entry, "title", paper.title or paper.id)
        _sub(entry, "updated", to_iso(_updated(paper) or now))
        if paper.published:
            _sub(entry, "published", to_iso(paper.published))
        link = web_url(paper.url, 2048) or absolute(base_url, paper_path(paper.id))
        _sub(entry, "link", rel="alternate", href=link)
        _sub(entry, "link", rel="related", type="text/html", href=absolute(base_url, paper_path(paper.id)))
        for name in paper.authors[:20]:
            _sub(_sub(entry, "author"), "name", name)
        for topic_id in topics.get(paper.id, ()):
            topic = resolve_topic(topic_id)
            if topic is not None:
                _sub(entry, "category", term=topic.id, label=topic.name)
        summary = summaries.get(paper.id)
        text = summary.tldr if summary and summary.tldr else paper.abstract[:1000]
        if text:
            _sub(entry, "summary", text, type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False)


def _base_url(request: web.Request, site: Site) -> str:
    # Feed readers need absolute links: the public address, else the one this request used.
    return site.settings.public_base_url or str(request.url.origin())


def _response(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/atom+xml", charset="utf-8")


async def today_feed(request: web.Request) -> web.Response:
    """`/feed.xml`: today's papers, most popular first (at most FEED_ENTRIES)."""
    site = request.app[SITE_KEY]
    day = today(site)
    papers = site.store.papers.published_between(*day_bounds(day))[:FEED_ENTRIES]
    base = _base_url(request, site)
    return _response(atom_feed(
        feed_id=absolute(base, "/feed.xml"), title=f"paperbot: papers of {day.isoformat()}",
        self_url=absolute(base, "/feed.xml"), page_url=absolute(base, day_path(day.isoformat())), base_url=base,
        papers=papers, summaries=await site.summaries.get_many(papers), topics=await paper_topics(site, papers),
        now=site.clock(),
    ))


async def topic_feed(request: web.Request) -> web.Response:
    """`/topic/<id>/feed.xml`: the topic's papers of the last days."""
    site = request.app[SITE_KEY]
    topic = resolve_topic(request.match_info["topic"])
    if topic is None:
        return not_found(request, "There is no such topic.")
    papers = (await topic_papers(site, topic.id))[:FEED_ENTRIES]
    base = _base_url(request, site)
    path = topic_path(topic.id)
    return _response(atom_feed(
        feed_id=absolute(base, f"{path}/feed.xml"), title=f"paperbot: {topic.name}",
        self_url=absolute(base, f"{path}/feed.xml"), page_url=absolute(base, path), base_url=base,
        papers=papers, summaries=await site.summaries.get_many(papers), topics=await paper_topics(site, papers),
        now=site.clock(),
    ))


def add_routes(app: web.Application) -> None:
    """Mount the feeds (before the pages, so `/topic/<id>/feed.xml` is not a topic page)."""
    app.router.add_get("/feed.xml", today_feed)
    app.router.add_get(r"/topic/{topic}/feed.xml", topic_feed)
