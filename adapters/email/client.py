"""The email adapter: a ChatAdapter whose channels are addresses (`email:<address>`).

It takes no commands (people subscribe from chat with `/papers email <address>`, or the
deployment lists `email:<address>` in CHANNELS_FILE); it renders a Reply as one multipart
email (adapters.email.render) and sends it by SMTP (aiosmtplib), one SMTP conversation per
email, through the same outbox as chat, so each digest is sent exactly once.

Headers: a Message-ID derived from the recipient and the rendered part (the outbox keeps the
part, so a retried or resumed send carries the same id, and a receiving server or client can
recognise the one duplicate a crash may cause), and `List-Unsubscribe` with one-click
`List-Unsubscribe-Post` (RFC 8058) pointing at the web server's signed `/unsubscribe` link.
Header values are built by the email package's SMTP policy, which refuses line breaks, so
no title can inject a header.

SMTP answers map to the outbox's errors: a 4xx (421 busy, 450 mailbox busy, ...) or a network
failure is `TransientDeliveryError` (retried with backoff); a 5xx for the recipient (550 no
such user, ...) is `PermanentDeliveryError("recipient_refused")`, which pauses that
destination and tells whoever set it up.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

import aiosmtplib

from adapters.email.render import render_email
from bot.core.clock import Clock
from bot.core.errors import PermanentDeliveryError, TransientDeliveryError
from bot.core.links import unsubscribe_url
from bot.core.models import Reply
from bot.ports import Part, ServiceAPI
from bot.settings import Settings

log = logging.getLogger(__name__)

PLATFORM = "email"


def _code(exc: aiosmtplib.SMTPResponseException) -> int:
    return int(getattr(exc, "code", 0) or 0)


def message_id(destination: str, part: Part, domain: str) -> str:
    """The same `<hash@domain>` for the same part to the same address (stable across retries)."""
    digest = hashlib.sha256((destination + "\x1f" + json.dumps(part, sort_keys=True)).encode()).hexdigest()
    return f"<{digest[:32]}@{domain}>"


def build_message(
    part: Part, *, sender: str, recipient: str, unsubscribe: str, clock: Clock
) -> EmailMessage:
    """The email of one rendered part, with the unsubscribe link in the headers and the body."""
    _, sender_address = parseaddr(sender)
    domain = sender_address.rpartition("@")[2] or "paperbot.invalid"
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = Address(addr_spec=recipient)
    message["Subject"] = str(part["subject"])
    message["Date"] = format_datetime(clock())
    message["Message-ID"] = message_id(recipient, part, domain)
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"{part['text']}\n\n--\nStop these emails: {unsubscribe}\n")
    footer = (
        '<p style="color:#5b6472;font-size:12px;border-top:1px solid #d9dee6;padding-top:8px">'
        f'<a href="{_attribute(unsubscribe)}">Unsubscribe</a> from these emails.</p>'
    )
    html_part = str(part["html"])
    html_part = html_part.replace("</body>", footer + "</body>") if "</body>" in html_part else html_part + footer
    message.add_alternative(html_part, subtype="html")
    return message


def _attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _is_address(value: str) -> bool:
    return "@" in value and not any(ch.isspace() or ch in "<>,;\"\x00" for ch in value)


class EmailAdapter:
    """Sends digests and notices as emails (see the module)."""

    platform = PLATFORM

    def __init__(self, settings: Settings, *, link_secret: str, clock: Clock) -> None:
        self.settings = settings
        self.link_secret = link_secret
        self.clock = clock
        self.finished = asyncio.Event()
        self._started = False
        self._service: ServiceAPI | None = None

    @property
    def connected(self) -> bool:
        """Whether the adapter has started (it opens one SMTP connection per email)."""
        return self._started

    async def start(self, service: ServiceAPI) -> None:
        """Nothing to connect: the first email tells whether the SMTP server answers."""
        self._service = service
        self._started = True
        log.info("email: sending through %s:%s (%s) as %s", self.settings.smtp_host, self.settings.smtp_port,
                 self.settings.smtp_security, self.settings.smtp_from)

    async def stop(self) -> None:
        """Nothing stays open between emails."""
        self._started = False

    def render(self, reply: Reply) -> list[Part]:
        """Pure: the reply as one email part (subject, text, HTML)."""
        return render_email(reply)

    async def open_dm(self, user_id: str) -> str:
        """A user of this platform is an address (a notice to whoever set a digest up)."""
        if not _is_address(user_id):
            raise PermanentDeliveryError("user_not_found", f"{user_id!r} is not an email address")
        return user_id

    async def send(self, destination: str, part: Part) -> str:
        """Send one email to `destination` (an address); returns its Message-ID."""
        if not _is_address(destination):
            raise PermanentDeliveryError("recipient_refused", f"{destination!r} is not an email address")
        unsubscribe = unsubscribe_url(self.settings.site_url, self.link_secret, f"{PLATFORM}:{destination}")
        message = build_message(
            part, sender=self.settings.smtp_from, recipient=destination, unsubscribe=unsubscribe, clock=self.clock
        )
        settings = self.settings
        try:
            errors, _ = await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_user or None,
                password=settings.smtp_password.get_secret_value() or None,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                timeout=settings.smtp_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            raise self._refused(codes, str(exc)) from None
        except aiosmtplib.SMTPRecipientRefused as exc:
            raise self._refused([_code(exc)], str(exc)) from None
        except aiosmtplib.SMTPDataError as exc:
            if 500 <= _code(exc) < 600:
                # The message to this one recipient was refused for good (e.g. 550/554 at DATA).
                raise PermanentDeliveryError("recipient_refused", f"SMTP {_code(exc)}: {exc.message}") from None
            raise TransientDeliveryError(f"SMTP {_code(exc)}: {exc.message}") from None
        except aiosmtplib.SMTPResponseException as exc:
            # Sender refused, authentication, HELO: the deployment's problem, not the reader's.
            raise TransientDeliveryError(f"SMTP {_code(exc)}: {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientDeliveryError(f"SMTP server {settings.smtp_host}:{settings.smtp_port}: {exc}") from None
        if errors:
            raise self._refused([response.code for response in errors.values()], str(errors))
        return str(message["Message-ID"])

    @staticmethod
    def _refused(codes: list[int], detail: str) -> Exception:
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentDeliveryError("recipient_refused", f"SMTP {codes[0]}: {detail}"[:300])
        return TransientDeliveryError(f"SMTP {codes[0] if codes else '?'}: {detail}"[:300])
