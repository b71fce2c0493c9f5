"""`/papers email <address>|off`: a person's own daily digest by email, with double opt-in.

Asking for it stores a pending confirmation under a random token and sends the address one
email with a link to the web site (`/email/confirm?t=<token>`); nothing else is ever sent to
that address until the link is followed. Following it (a POST from the page the link opens,
so a mail scanner that merely fetches links confirms nothing) creates the digest destination
`email:<address>`: a channel like any other, owned by `<platform>:<user id>` of whoever asked,
ranked by what is trending (it has no topics), at the deployment's default time and zone. One
person has at most one email digest: confirming a new address switches the old one off.
`/papers email off` switches it off and forgets unconfirmed requests.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from bot.chat.grammar import parse_time_of_day
from bot.core.clock import Clock
from bot.core.links import confirm_url
from bot.core.models import Actor, ChannelSettings, Reply
from bot.core.outbox import OutboxKind, notice_key
from bot.delivery.outbox import enqueue
from bot.settings import Settings
from bot.store import Store
from bot.store.db import transaction

EMAIL = "email"
CONFIRM_WITHIN = timedelta(days=7)
MAX_REQUESTS_PER_DAY = 5  # confirmation emails one person may have sent to addresses per day


def owner_key(platform: str, user_id: str) -> str:
    """How an email digest names the chat user who set it up: `<platform>:<user id>`."""
    return f"{platform}:{user_id}"


def confirmation_reply(address: str, link: str, who: Actor) -> Reply:
    """The one email sent to an address before it gets any digest."""
    asked_by = who.name or who.user_id
    return Reply(
        header="Confirm your daily paper digest",
        text=(
            f"{asked_by} (on {who.platform}) asked paperbot to send a daily digest of new research "
            f"papers to {address}.\n\nTo start it, open this link and press Confirm:\n{link}\n\n"
            "If that was not you, ignore this email: nothing more will be sent to this address."
        ),
        private=False,
    )


class EmailDigests:
    """Requests, confirmations and stops of personal email digests (see the module)."""

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        clock: Clock,
        new_token: Callable[[], str] = lambda: secrets.token_urlsafe(24),
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.new_token = new_token

    def request(self, address: str, who: Actor) -> Reply:
        """Store a pending confirmation and put the confirmation email in the outbox."""
        now = self.clock()
        owner = owner_key(who.platform, who.user_id)
        current = [c for c in self.store.channels.owned_by(EMAIL, owner) if c.enabled and not c.paused_reason]
        if any(c.channel_id == address for c in current):
            return Reply(text=f"Your daily digest already goes to {address}. /papers email off stops it.", private=True)
        if self.store.emails.requests_since(who.platform, who.user_id, now - timedelta(days=1)) >= MAX_REQUESTS_PER_DAY:
            return Reply(
                text=f"You asked for {MAX_REQUESTS_PER_DAY} confirmation emails today; try again tomorrow.",
                private=True,
                is_error=True,
            )
        token = self.new_token()
        link = confirm_url(self.settings.site_url, token)
        with transaction(self.store.conn):
            self.store.emails.add(token, address, who.platform, who.user_id, now)
            enqueue(
                self.store,
                notice_key(EMAIL, address, f"confirm:{token}"),
                OutboxKind.NOTICE,
                EMAIL,
                address,
                confirmation_reply(address, link, who),
                now,
            )
        return Reply(
            text=(
                f"Check {address}: a confirmation link is on its way. Your daily digest starts once "
                f"it is followed (within {CONFIRM_WITHIN.days} days)."
            ),
            private=True,
        )

    def confirm(self, token: str) -> ChannelSettings | None:
        """Follow a confirmation link: start the digest to its address (switching off the
        person's previous email digest). None for an unknown, used or expired token."""
        now = self.clock()
        pending = self.store.emails.get(token)
        if pending is None or pending.confirmed_at is not None or now - pending.created_at > CONFIRM_WITHIN:
            return None
        owner = owner_key(pending.platform, pending.user_id)
        key = f"{EMAIL}:{pending.address}"
        existing = self.store.channels.get(key)
        settings = replace(
            existing or self._new_digest(pending.address),
            enabled=True,
            paused_reason="",
            created_by=owner,
        )
        with transaction(self.store.conn):
            if not self.store.emails.confirm(token, now):
                return None
            for other in self.store.channels.owned_by(EMAIL, owner):
                if other.key != key:
                    self.store.channels.disable(other.key, now)
            self.store.channels.save(settings, now)
        return settings

    def turn_off(self, who: Actor) -> Reply:
        """`/papers email off`: stop the person's email digest and drop pending requests."""
        now = self.clock()
        with transaction(self.store.conn):
            stopped = [
                c.channel_id
                for c in self.store.channels.owned_by(EMAIL, owner_key(who.platform, who.user_id))
                if self.store.channels.disable(c.key, now)
            ]
            dropped = self.store.emails.drop_pending(who.platform, who.user_id)
        if stopped:
            return Reply(text=f"Your daily digest by email to {', '.join(stopped)} is off.", private=True)
        if dropped:
            return Reply(text="Your unconfirmed email digest request is cancelled.", private=True)
        return Reply(text="You have no email digest. /papers email <address> starts one.", private=True)

    def _new_digest(self, address: str) -> ChannelSettings:
        # The deployment's default time and zone; no topics, so it ranks by what is trending.
        return ChannelSettings(
            platform=EMAIL,
            channel_id=address,
            time_of_day=parse_time_of_day(self.settings.digest_default_time),
            timezone=self.settings.digest_default_tz,
        )
