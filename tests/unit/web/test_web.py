"""The web site and feeds (bot.web), served by aiohttp's test server on 127.0.0.1: every route,
every escaping case, the access token, the security headers, a store with no papers, and the
signed-link actions (unsubscribe, email confirmation)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.core.clock import FakeClock
from bot.core.links import sign, unsubscribe_url
from bot.core.models import (
    Actor,
    ChannelSettings,
    ItemGroup,
    Paper,
    PaperItem,
    Reply,
    Signal,
    SourceKind,
    Summary,
)
from bot.core.outbox import OutboxKind, digest_key
from bot.delivery.outbox import enqueue
from bot.digests.email import EmailDigests
from bot.enrich.summarize import Summaries
from bot.search.engine import SearchEngine
from bot.settings import Settings
from bot.store import Store
from bot.web.pages import Site
from bot.web.server import CONTENT_SECURITY_POLICY, build_app

NOW = datetime(2026, 6, 11, 13, 0, tzinfo=UTC)
HOSTILE_TITLE = '<script>alert(1)</script> "><img src=x onerror=alert(2)> Hostile'
HOSTILE_ABSTRACT = (
    'Click <a href="javascript:alert(3)">here</a> or javascript:alert(4). "><img src=x onerror=alert(5)> '
    "We study robustness of language models to injected markup."
)


def _at(day: int, hour: int = 4) -> datetime:
    return datetime(2026, 6, day, hour, 0, tzinfo=UTC)


PAPERS = [
    Paper(
        id="2606.00001", version=1, title="Diffusion models that denoise faster",
        abstract=(
            "We propose a diffusion model for image generation that needs fewer denoising steps. "
            "Experiments on ImageNet show a 3x speedup at equal FID. Code: https://github.com/ada/fastdiff."
        ),
        authors=("Ada Lovelace", "Alan Turing"), categories=("cs.CV",), primary_category="cs.CV",
        published=_at(11), url="https://arxiv.org/abs/2606.00001", source_label="arXiv cs.CV",
        signals=(
            Signal(SourceKind.HF, "2026-06-11", 154, 3, "HF daily", "https://huggingface.co/papers/2606.00001", _at(11, 6)),
            Signal(SourceKind.REDDIT, "t3_abc", 42, 7, "r/MachineLearning", "https://www.reddit.com/r/MachineLearning/comments/abc/", _at(11, 8)),
        ),
    ),
    Paper(
        id="2606.00002", version=1, title="Reasoning in large language models with scratchpads",
        abstract="Large language models reason better with a scratchpad. We evaluate on GSM8K and find gains.",
        authors=("Grace Hopper",), categories=("cs.CL",), primary_category="cs.CL", published=_at(10),
        url="https://arxiv.org/abs/2606.00002", source_label="arXiv cs.CL",
    ),
    Paper(
        id="2606.00666", version=1, title=HOSTILE_TITLE, abstract=HOSTILE_ABSTRACT, authors=("<b>Mallory</b>",),
        categories=("cs.CL",), primary_category="cs.CL", published=_at(11, 5), url="javascript:alert(6)",
    ),
    Paper(
        id="feed:hostile", title="A blog post with a javascript: link", abstract="Read it.", published=_at(11, 7),
        url="javascript:alert(7)", source=SourceKind.FEED, source_label='Blog "><script>x</script>',
    ),
    Paper(
        id="hep-th/9901001", version=1, title="An old-style arXiv id", abstract="Strings.", published=_at(9),
        url="https://arxiv.org/abs/hep-th/9901001", categories=("hep-th",), primary_category="hep-th",
    ),
]


@dataclass
class Harness:
    client: TestClient
    store: Store
    clock: FakeClock
    site: Site

    async def get(self, path: str, **kwargs: object) -> tuple[int, str, dict[str, str]]:
        response = await self.client.get(path, **kwargs)  # type: ignore[arg-type]
        return response.status, await response.text(), dict(response.headers)


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(str(tmp_path / "web.db"))
    store.papers.ingest(PAPERS, NOW)
    yield store
    store.close()


class Routes:
    """An adapter's contribution: one route the web server mounts outside the access token."""

    platform = "fake"

    def http_routes(self) -> list[web.RouteDef]:
        async def events(request: web.Request) -> web.Response:
            return web.json_response({"ok": True})

        return [web.post("/fake/events", events)]


async def _harness(store: Store, **settings: object) -> Harness:
    clock = FakeClock(NOW)
    config = Settings(**settings)  # type: ignore[arg-type]
    summaries = Summaries(store, clock=clock)
    email = EmailDigests(store=store, settings=config, clock=clock, new_token=lambda: "tok-123")
    site = Site(store=store, search=SearchEngine(store), summaries=summaries, clock=clock, settings=config,
                refresh_every=1800, link_secret="link-secret", email=email)
    health = lambda: {"ok": True, "store": "ok", "adapters": {}, "sources": {}}  # noqa: E731
    app = build_app(site, health=health, ready=lambda: True, extra_routes=Routes().http_routes())
    client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    return Harness(client, store, clock, site)


@pytest.fixture
async def web_site(seeded: Store) -> AsyncIterator[Harness]:
    harness = await _harness(seeded)
    yield harness
    await harness.client.close()


# --- pages ------------------------------------------------------------------------------------


async def test_today_shows_the_days_papers_with_tabs_signals_tags_and_read_more(web_site: Harness) -> None:
    status, html, headers = await web_site.get("/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Diffusion models that denoise faster" in html
    assert "Reasoning in large language models" not in html  # published the day before
    assert "Today: Thursday 11 June 2026" in html and "3 papers announced today" in html
    assert "sources are refreshed every 30 min" in html
    tabs = re.findall(r'<nav class="days".*?</nav>', html, re.S)[0]
    assert tabs.count("<li>") == 7 and 'href="/day/2026-06-10"' in tabs and 'aria-current="page"' in tabs
    # Links: arXiv abstract and PDF, the HF page, the Reddit thread, code found in the abstract.
    for href in ("https://arxiv.org/abs/2606.00001", "https://arxiv.org/pdf/2606.00001",
                 "https://huggingface.co/papers/2606.00001", "https://github.com/ada/fastdiff"):
        assert f'href="{href}"' in html
    assert "154 HF upvotes" in html and "42 Reddit points" in html
    assert "<details>" in html and "<summary>Read more" in html and "<h4>Summary</h4>" in html
    assert 'href="/topic/cv"' in html  # the topic tag links to its page
    assert '<main id="main" role="main">' in html and "<h1>" in html and 'role="search"' in html
    assert 'name="viewport"' in html


async def test_another_day_and_a_date_that_is_not_one(web_site: Harness) -> None:
    status, html, _ = await web_site.get("/day/2026-06-10")
    assert status == 200 and "Reasoning in large language models" in html and "Diffusion models" not in html
    assert "Wednesday 10 June 2026" in html and "Today:" not in html
    status, html, _ = await web_site.get("/day/2026-02-30")
    assert status == 404 and "not a date" in html
    status, html, _ = await web_site.get("/day/2026-05-01")
    assert status == 200 and "No papers for this day yet" in html


async def test_topic_filter_on_a_day_and_the_topic_page(web_site: Harness) -> None:
    status, html, _ = await web_site.get("/?topic=cv")
    assert status == 200 and "Diffusion models" in html and "Hostile" not in html
    assert "in Computer Vision" in html
    status, html, _ = await web_site.get("/topic/cv")
    assert status == 200 and "Diffusion models" in html and "Reasoning in large" not in html
    status, html, _ = await web_site.get("/topic/llm")
    assert status == 200 and "Reasoning in large language models" in html  # from the day before
    status, _, _ = await web_site.get("/topic/no-such-topic")
    assert status == 404


async def test_search_uses_the_chat_grammar_and_engine(web_site: Harness) -> None:
    status, html, _ = await web_site.get("/search", params={"q": "diffusion since:7d"})
    assert status == 200 and "Diffusion models that denoise faster" in html
    assert "papers for “diffusion” · since 7d" in html
    status, html, _ = await web_site.get("/search", params={"q": "scratchpads author:\"Grace Hopper\""})
    assert status == 200 and "Reasoning in large language models" in html
    status, html, _ = await web_site.get("/search", params={"q": "diffusion sort:sideways"})
    assert status == 400 and "sort:sideways is not a sort order" in html
    status, html, _ = await web_site.get("/search", params={"q": "zebra quokka"})
    assert status == 200 and "Diffusion" not in html
    status, html, _ = await web_site.get("/search")
    assert status == 200 and 'id="q"' in html


async def test_one_paper_opens_its_details_and_unknown_ids_are_not_found(web_site: Harness) -> None:
    status, html, _ = await web_site.get("/paper/2606.00001")
    assert status == 200 and "<details open>" in html and "Ada Lovelace, Alan Turing" in html
    status, html, _ = await web_site.get("/paper/hep-th/9901001")
    assert status == 200 and "An old-style arXiv id" in html and 'href="https://arxiv.org/pdf/hep-th/9901001"' in html
    status, html, _ = await web_site.get("/paper/2999.99999")
    assert status == 404 and "No paper with that id" in html
    status, html, _ = await web_site.get("/no/such/page")
    assert status == 404 and "Not found" in html


def _digest_reply(store: Store) -> Reply:
    papers = store.papers.get_many(["2606.00001", "2606.00666"])
    summary = Summary(tldr="Fewer steps, same quality.", key_points=("3x faster",), summary="A faster sampler.")
    items = (PaperItem(papers[0], summary, "arXiv cs.CV · 9h ago", "topic: Computer Vision"), PaperItem(papers[1]))
    return Reply(header="Thu 11 Jun 2026 · 2 papers in CV · from 214 announced",
                 groups=(ItemGroup("Computer Vision", items),), footer="All 214 papers announced today", private=False)


async def test_a_digest_page_shows_exactly_what_was_posted(web_site: Harness) -> None:
    store = web_site.store
    enqueue(store, digest_key("slack:C1", "2026-06-11"), OutboxKind.DIGEST, "slack", "C1", _digest_reply(store), NOW)
    status, _, _ = await web_site.get("/digest/slack:C1/2026-06-11")
    assert status == 404  # not sent yet: nothing was posted
    row = store.outbox.get(digest_key("slack:C1", "2026-06-11"))
    assert row is not None
    store.outbox.mark_sent(row.id, NOW)
    status, html, _ = await web_site.get("/digest/slack:C1/2026-06-11")
    assert status == 200
    assert "Thu 11 Jun 2026 · 2 papers in CV · from 214 announced" in html
    assert "Fewer steps, same quality." in html and "3x faster" in html and "topic: Computer Vision" in html
    assert "<h2 id=\"group-1\">Computer Vision</h2>" in html and "All 214 papers announced today" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    # An email digest is one person's: it never has a page, whatever its row says.
    enqueue(store, digest_key("email:ada@example.org", "2026-06-11"), OutboxKind.DIGEST, "email",
            "ada@example.org", _digest_reply(store), NOW)
    row = store.outbox.get(digest_key("email:ada@example.org", "2026-06-11"))
    assert row is not None
    store.outbox.mark_sent(row.id, NOW)
    status, html, _ = await web_site.get("/digest/email:ada@example.org/2026-06-11")
    assert status == 404 and "ada@example.org" not in html
    status, _, _ = await web_site.get("/digest/slack:C1/2026-06-10")
    assert status == 404


# --- feeds ------------------------------------------------------------------------------------


def _check_atom(text: str, entries: int | None = None) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(text)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.id and parsed.feed.title and parsed.feed.updated
    for entry in parsed.entries:
        assert entry.id and entry.title and entry.updated and entry.link.startswith(("http://", "https://"))
    if entries is not None:
        assert len(parsed.entries) == entries
    # Well-formed XML in the Atom namespace with the required elements (RFC 4287 4.1.1, 4.1.2).
    root = ET.fromstring(text.encode())
    atom = "{http://www.w3.org/2005/Atom}"
    assert root.tag == f"{atom}feed"
    for element in ("id", "title", "updated", "author"):
        assert root.find(f"{atom}{element}") is not None
    for entry in root.findall(f"{atom}entry"):
        for element in ("id", "title", "updated", "link"):
            assert entry.find(f"{atom}{element}") is not None
    return parsed


async def test_the_atom_feeds_validate(web_site: Harness) -> None:
    status, text, headers = await web_site.get("/feed.xml")
    assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
    parsed = _check_atom(text, entries=3)
    titles = [entry.title for entry in parsed.entries]
    assert titles[0] == "Diffusion models that denoise faster"  # most popular first
    assert HOSTILE_TITLE in titles  # the text itself, escaped as XML
    first = parsed.entries[0]
    assert first.id == "https://arxiv.org/abs/2606.00001" and first.link == "https://arxiv.org/abs/2606.00001"
    assert {tag.term for tag in first.tags} >= {"cv"}
    # The hostile item's javascript: URL never becomes a link: it points at its page here.
    hostile = next(entry for entry in parsed.entries if entry.title == HOSTILE_TITLE)
    assert hostile.link.endswith("/paper/2606.00666")
    status, text, _ = await web_site.get("/topic/llm/feed.xml")
    assert status == 200
    assert "Reasoning in large language models with scratchpads" in [e.title for e in _check_atom(text).entries]
    status, _, _ = await web_site.get("/topic/nope/feed.xml")
    assert status == 404


# --- escaping, headers, access ------------------------------------------------------------------


async def test_hostile_titles_and_abstracts_render_as_text(web_site: Harness) -> None:
    for path in ("/", "/paper/2606.00666", "/search?q=hostile", "/topic/llm", "/paper/feed:hostile"):
        status, html, headers = await web_site.get(path)
        assert status == 200, path
        assert "<script>" not in html and "<img" not in html and "<b>Mallory" not in html, path
        assert "javascript:" not in re.sub(r">[^<]*<", "><", html), path  # only inside text, never in markup
        assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", html, re.I), path
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    _, html, _ = await web_site.get("/paper/2606.00666")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#34;&gt;&lt;img src=x onerror=alert(2)&gt; Hostile" in html
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in html


async def test_every_response_carries_the_security_headers(web_site: Harness) -> None:
    for path in ("/", "/static/style.css", "/healthz", "/feed.xml", "/no-such-page"):
        response = await web_site.client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src" not in policy and "default-src 'none'" in policy, path  # no script at all
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


async def test_health_readiness_stylesheet_and_adapter_routes(web_site: Harness) -> None:
    status, text, _ = await web_site.get("/healthz")
    assert status == 200 and '"ok": true' in text
    status, text, _ = await web_site.get("/readyz")
    assert status == 200 and '"ready": true' in text
    status, text, headers = await web_site.get("/static/style.css")
    assert status == 200 and "article.paper" in text and headers["Content-Type"].startswith("text/css")
    response = await web_site.client.post("/fake/events")
    assert response.status == 200 and await response.json() == {"ok": True}


async def test_the_access_token_guards_pages_and_feeds_only(seeded: Store) -> None:
    harness = await _harness(seeded, web_access_token=SecretStr("open-sesame"))
    try:
        for path in ("/", "/feed.xml", "/day/2026-06-10", "/search?q=x", "/paper/2606.00001"):
            status, text, headers = await harness.get(path)
            assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer"), path
            assert "Diffusion" not in text
        status, _, _ = await harness.get("/", headers={"Authorization": "Bearer wrong"})
        assert status == 401
        status, html, _ = await harness.get("/", headers={"Authorization": "Bearer open-sesame"})
        assert status == 200 and "Diffusion models" in html
        status, html, _ = await harness.get("/?token=open-sesame")
        assert status == 200 and 'href="/day/2026-06-10?token=open-sesame"' in html
        assert 'name="token" value="open-sesame"' in html  # the search form keeps it
        status, _, _ = await harness.get("/feed.xml?token=open-sesame")
        assert status == 200
        for path in ("/healthz", "/readyz", "/static/style.css"):
            status, _, _ = await harness.get(path)
            assert status == 200, path
        assert (await harness.client.post("/fake/events")).status == 200  # the platform signs its own
    finally:
        await harness.client.close()


async def test_a_store_with_no_papers(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "empty.db"))
    harness = await _harness(store)
    try:
        status, html, _ = await harness.get("/")
        assert status == 200 and "No papers for this day yet" in html and "0 papers announced today" in html
        assert "Not refreshed yet" in html
        status, text, _ = await harness.get("/feed.xml")
        assert status == 200
        _check_atom(text, entries=0)
        status, html, _ = await harness.get("/search?q=diffusion")
        assert status == 200 and "<article" not in html
        status, _, _ = await harness.get("/topic/cv")
        assert status == 200
    finally:
        await harness.client.close()
        store.close()


async def test_no_personal_data_is_on_the_site(web_site: Harness) -> None:
    store = web_site.store
    store.subscriptions.add("slack", "U0PRIVATE", "secret-interest-xyzzy", ["cv"], NOW)
    store.notices.add("slack", "U0PRIVATE", "private notice plugh", NOW)
    store.channels.save(ChannelSettings(platform="email", channel_id="ada@example.org", created_by="slack:U0PRIVATE"), NOW)
    for path in ("/", "/topic/cv", "/search?q=diffusion", "/paper/2606.00001", "/feed.xml"):
        _, text, _ = await web_site.get(path)
        for private in ("U0PRIVATE", "xyzzy", "plugh", "ada@example.org"):
            assert private not in text, (path, private)


# --- signed-link actions ------------------------------------------------------------------------


async def test_unsubscribe_needs_a_valid_signature_and_a_post(web_site: Harness) -> None:
    store = web_site.store
    store.channels.save(ChannelSettings(platform="email", channel_id="ada@example.org"), NOW)
    url = unsubscribe_url("http://x", "link-secret", "email:ada@example.org")[len("http://x"):]
    status, html, _ = await web_site.get(url)
    assert status == 200 and "<form method=\"post\"" in html and "ada@example.org" not in html
    assert store.channels.get("email:ada@example.org").enabled  # a GET (a link scanner) changes nothing
    forged = url.replace(sign("link-secret", "unsubscribe", "email:ada@example.org"), "0" * 32)
    assert (await web_site.client.post(forged)).status == 403
    other = f"/unsubscribe?c=slack:C1&s={sign('link-secret', 'unsubscribe', 'email:ada@example.org')}"
    assert (await web_site.client.post(other)).status == 403  # a signature is for one destination
    # RFC 8058 one-click: a POST with List-Unsubscribe=One-Click.
    response = await web_site.client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status == 200 and "unsubscribed" in await response.text()
    assert not store.channels.get("email:ada@example.org").enabled


async def test_email_confirmation_needs_the_token_and_a_post(web_site: Harness) -> None:
    email = web_site.site.email
    assert email is not None
    reply = email.request("ada@example.org", Actor("console", "ada", "ada"))
    assert "confirmation link" in reply.text
    assert web_site.store.channels.get("email:ada@example.org") is None
    status, html, _ = await web_site.get("/email/confirm?t=tok-123")
    assert status == 200 and "Confirm" in html and web_site.store.channels.get("email:ada@example.org") is None
    assert (await web_site.client.post("/email/confirm?t=wrong")).status == 404
    response = await web_site.client.post("/email/confirm?t=tok-123")
    assert response.status == 200 and "Confirmed" in await response.text()
    confirmed = web_site.store.channels.get("email:ada@example.org")
    assert confirmed is not None and confirmed.enabled and confirmed.created_by == "console:ada"
    assert (await web_site.client.post("/email/confirm?t=tok-123")).status == 404  # used once
