"""Email digests end to end inside one process: the real outbox, the real email adapter and a
real SMTP server (aiosmtpd) on 127.0.0.1 port 0, whose answers the tests script.

The digest arrives once and a second tick sends nothing; a crash between the send and its
record sends at most one duplicate, with the same Message-ID; the List-Unsubscribe link works
against the real web app; hostile titles are inert in the HTML part and cannot add headers;
a 421 is retried with backoff; a 550 pauses the destination and tells whoever set it up; the
double opt-in sends one confirmation email and nothing else until it is followed.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.smtp import SMTP as SMTPServer

from adapters.email import EmailAdapter
from adapters.email.render import render_email, subject_line
from bot.app.scheduler import Scheduler
from bot.chat.grammar import parse_command
from bot.core.clock import FakeClock
from bot.core.models import Actor, ChannelSettings, Place, Reply
from bot.core.outbox import OutboxKind
from bot.delivery.outbox import Delivery, enqueue
from bot.digests.commands import DigestCommands
from bot.digests.email import EmailDigests
from bot.digests.job import DigestJob
from bot.enrich.summarize import Summaries
from bot.search.engine import SearchEngine
from bot.settings import Settings
from bot.store import Store
from bot.web.pages import Site
from bot.web.server import build_app
from tests.support.factories import make_paper

ADDRESS = "ada@example.org"
SECRET = "test-link-secret"
SLOT_DAY = datetime(2026, 6, 11, 9, 1, tzinfo=UTC)  # a Thursday, just after the 09:00 slot
HOSTILE = 'Evil\r\nBcc: victim@example.net\r\n<script>alert(1)</script> "><img src=x onerror=alert(2)>'


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it accepts, answers RCPT as scripted (250 by default)."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    rcpt_answers: deque[str] = field(default_factory=deque)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.rcpt_answers:
            return self.rcpt_answers.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        parsed = [email.message_from_bytes(raw, policy=email.policy.default) for _, _, raw in self.received]
        return [m for m in parsed if isinstance(m, EmailMessage)]


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTPServer(mailbox, hostname="mx.test"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield mailbox, port
    server.close()
    await server.wait_closed()


@pytest.fixture
def mail_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(str(tmp_path / "mail.db"))
    published = datetime(2026, 6, 11, 4, 0, tzinfo=UTC)
    store.papers.ingest(
        [
            make_paper(paper_id="2606.00001", title="Diffusion models that denoise faster",
                       abstract="We propose a faster diffusion sampler. It needs fewer steps.", published=published,
                       categories=("cs.CV",)),
            make_paper(paper_id="2606.00666", title=HOSTILE, abstract=HOSTILE + " We study markup.",
                       published=published, categories=("cs.CL",), url="javascript:alert(3)"),
        ],
        SLOT_DAY - timedelta(hours=4),
    )
    yield store
    store.close()


@dataclass
class Rig:
    store: Store
    clock: FakeClock
    settings: Settings
    adapter: EmailAdapter
    delivery: Delivery
    scheduler: Scheduler
    mailbox: Mailbox


@pytest.fixture
def rig(mail_store: Store, smtp: tuple[Mailbox, int]) -> Rig:
    mailbox, port = smtp
    clock = FakeClock(SLOT_DAY)
    settings = Settings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_from="paperbot <papers@example.org>",
        public_base_url="https://papers.example.org", smtp_timeout=10,
    )
    adapter = EmailAdapter(settings, link_secret=SECRET, clock=clock)
    delivery = Delivery(mail_store, {"email": adapter}, clock)
    summaries = Summaries(mail_store, clock=clock)
    job = DigestJob(store=mail_store, settings=settings, summaries=summaries)
    scheduler = Scheduler(digests=job, store=mail_store, settings=settings, summaries=summaries, delivery=delivery, clock=clock)
    # Set up the day before by a console user, so the 09:00 slot of the 11th is due.
    mail_store.channels.save(
        ChannelSettings(platform="email", channel_id=ADDRESS, created_by="console:ada"), SLOT_DAY - timedelta(days=1)
    )
    return Rig(mail_store, clock, settings, adapter, delivery, scheduler, mailbox)


def _row(store: Store) -> Any:
    rows = store.outbox.rows(kind=OutboxKind.DIGEST.value)
    assert len(rows) == 1
    return rows[0]


async def test_the_digest_arrives_once_and_a_second_tick_sends_nothing(rig: Rig) -> None:
    await rig.scheduler.tick()
    await rig.scheduler.tick()
    rig.clock.advance(minutes=5)
    await rig.scheduler.tick()
    assert len(rig.mailbox.received) == 1
    sender, recipients, _ = rig.mailbox.received[0]
    assert sender == "papers@example.org" and recipients == [ADDRESS]
    message = rig.mailbox.messages()[0]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "Diffusion models that denoise faster" in text.get_content()
    assert "Diffusion models that denoise faster" in html.get_content()
    # No topics: an email digest ranks by what is trending, in one group.
    assert "Trending" in html.get_content()
    assert message["To"] == ADDRESS and message["From"] == "paperbot <papers@example.org>"
    assert message["Message-ID"].endswith("@example.org>")
    assert message["List-Unsubscribe"].startswith("<https://papers.example.org/unsubscribe?c=email%3Aada%40example.org&s=")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "papers.example.org/day/2026-06-11" in text.get_content()  # the day's page, not a digest page
    assert "/digest/" not in text.get_content()
    assert _row(rig.store).state == "sent"


async def test_a_crash_between_send_and_record_sends_at_most_one_duplicate(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    await rig.scheduler.digests.run_due(rig.clock())
    real_record = rig.store.outbox.record_part
    crashed = []

    def crash_once(*args: Any, **kwargs: Any) -> bool:
        if not crashed:
            crashed.append(True)
            raise asyncio.CancelledError  # the process dies after SMTP accepted the email
        return real_record(*args, **kwargs)

    monkeypatch.setattr(rig.store.outbox, "record_part", crash_once)
    with pytest.raises(asyncio.CancelledError):
        await rig.delivery.deliver()
    assert len(rig.mailbox.received) == 1 and _row(rig.store).state == "sending"
    # The restarted process resumes the row: one duplicate, recognisable by its Message-ID.
    restarted = Delivery(rig.store, {"email": EmailAdapter(rig.settings, link_secret=SECRET, clock=rig.clock)}, rig.clock)
    assert await restarted.deliver() == 1
    assert await restarted.deliver() == 0
    assert len(rig.mailbox.received) == 2
    first, second = rig.mailbox.messages()
    assert first["Message-ID"] == second["Message-ID"]
    assert _row(rig.store).state == "sent"


async def test_the_unsubscribe_link_works_against_the_web_server(rig: Rig) -> None:
    await rig.scheduler.tick()
    link = rig.mailbox.messages()[0]["List-Unsubscribe"].strip("<>")
    site = Site(store=rig.store, search=SearchEngine(rig.store), summaries=Summaries(rig.store, clock=rig.clock),
                clock=rig.clock, settings=rig.settings, refresh_every=3600, link_secret=SECRET)
    app = build_app(site, health=lambda: {"ok": True, "store": "ok", "adapters": {}, "sources": {}}, ready=lambda: True)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        parts = urlsplit(link)
        # What a mail client does for RFC 8058 one-click: POST List-Unsubscribe=One-Click.
        response = await client.post(f"{parts.path}?{parts.query}", data="List-Unsubscribe=One-Click",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status == 200
    settings = rig.store.channels.get(f"email:{ADDRESS}")
    assert settings is not None and not settings.enabled
    rig.clock.advance(days=1)
    await rig.scheduler.tick()
    assert len(rig.mailbox.received) == 1  # nothing more after unsubscribing


async def test_hostile_text_is_inert_in_the_html_part_and_in_the_headers(rig: Rig) -> None:
    await rig.scheduler.tick()
    _, recipients, raw = rig.mailbox.received[0]
    assert recipients == [ADDRESS]  # no Bcc smuggled in through a title
    message = rig.mailbox.messages()[0]
    assert message["Bcc"] is None and "victim" not in str(message["Subject"] or "")
    headers = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "Bcc:" not in headers and "victim" not in headers
    html = message.get_body(("html",))
    assert html is not None
    body = html.get_content()
    assert "<script>" not in body and "<img" not in body and "javascript:" not in body.replace("javascript:alert", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    # A title as a subject line stays one line, however it is written.
    reply = Reply(header=HOSTILE)
    assert "\n" not in subject_line(reply) and "\r" not in subject_line(reply)
    assert render_email(reply)[0]["subject"].startswith("Evil Bcc: victim@example.net")


async def test_a_421_is_retried_with_backoff(rig: Rig) -> None:
    rig.mailbox.rcpt_answers.append("421 mx.test busy, try again later")
    await rig.scheduler.tick()
    row = _row(rig.store)
    assert row.state == "pending" and row.attempts == 1 and "421" in row.last_error
    assert row.next_attempt_at > rig.clock() and not rig.mailbox.received
    await rig.delivery.deliver()  # not due yet
    assert not rig.mailbox.received
    rig.clock.advance(minutes=2)
    await rig.delivery.deliver()
    assert len(rig.mailbox.received) == 1 and _row(rig.store).state == "sent"


async def test_a_550_pauses_the_destination_and_tells_whoever_set_it_up(rig: Rig) -> None:
    rig.mailbox.rcpt_answers.append("550 5.1.1 no such user here")
    await rig.scheduler.tick()
    row = _row(rig.store)
    assert row.state == "failed" and row.last_error == "permanent: recipient_refused"
    paused = rig.store.channels.get(f"email:{ADDRESS}")
    assert paused is not None and paused.paused_reason == "the mail server refused the address"
    notice = rig.store.notices.pending("console", "ada")
    assert notice and ADDRESS in notice[0] and "/papers email" in notice[0]
    dm = rig.store.outbox.rows(kind=OutboxKind.NOTICE.value)
    assert [(r.platform, r.destination) for r in dm] == [("console", "ada")]
    rig.clock.advance(days=1)
    await rig.scheduler.tick()
    assert not rig.mailbox.received  # paused: nothing is sent again


async def test_double_opt_in_sends_one_confirmation_and_nothing_else(rig: Rig) -> None:
    rig.store.channels.disable(f"email:{ADDRESS}", rig.clock())
    email_digests = EmailDigests(store=rig.store, settings=rig.settings, clock=rig.clock, new_token=lambda: "tok-1")
    commands = DigestCommands(store=rig.store, settings=rig.settings, clock=rig.clock,
                              job=rig.scheduler.digests, email=email_digests)
    who, where = Actor("console", "grace", "grace"), Place("console", "console")
    reply = await commands.handle(parse_command("email grace@example.org"), who, where)
    assert "confirmation link" in reply.text
    await rig.delivery.deliver()
    assert len(rig.mailbox.received) == 1
    confirmation = rig.mailbox.messages()[0]
    assert confirmation["To"] == "grace@example.org" and "Confirm" in str(confirmation["Subject"])
    body = confirmation.get_body(("plain",))
    assert body is not None and "https://papers.example.org/email/confirm?t=tok-1" in body.get_content()
    assert rig.store.channels.get("email:grace@example.org") is None  # nothing until confirmed
    assert email_digests.confirm("tok-1") is not None
    confirmed = rig.store.channels.get("email:grace@example.org")
    assert confirmed is not None and confirmed.enabled and confirmed.created_by == "console:grace"
    off = await commands.handle(parse_command("email off"), who, where)
    assert "is off" in off.text
    assert not rig.store.channels.get("email:grace@example.org").enabled  # type: ignore[union-attr]


async def test_email_commands_without_smtp_say_so(mail_store: Store) -> None:
    clock = FakeClock(SLOT_DAY)
    settings = Settings()
    job = DigestJob(store=mail_store, settings=settings, summaries=Summaries(mail_store, clock=clock))
    commands = DigestCommands(store=mail_store, settings=settings, clock=clock, job=job)
    reply = await commands.handle(parse_command("email ada@example.org"), Actor("console", "ada"), Place("console", "console"))
    assert "not set up" in reply.text and "SMTP_HOST" in reply.text


async def test_a_notice_to_a_user_that_is_not_an_address_fails_permanently(rig: Rig) -> None:
    enqueue(rig.store, "notice:email:U1:x", OutboxKind.NOTICE, "email", "U1", Reply(text="hi"), rig.clock())
    await rig.delivery.deliver()
    rows = rig.store.outbox.rows(kind=OutboxKind.NOTICE.value)
    assert rows[0].state == "failed" and "user_not_found" in rows[0].last_error
    assert not rig.mailbox.received


def test_the_subject_is_the_header_or_the_first_line_of_text() -> None:
    reply = Reply(header="Thu 11 Jun 2026 · 2 papers in trending · from 2 announced", text="x\ny")
    assert subject_line(reply) == "Thu 11 Jun 2026 · 2 papers in trending · from 2 announced"
    assert subject_line(Reply(text="\n\nFirst line\nsecond")) == "First line"
    assert len(subject_line(Reply(header="x" * 500))) == 150
