"""An in-memory chat platform: the same ChatAdapter interface as Slack and Discord, recording
what it was asked to send instead of sending it. Used by tests, the contract suite and benches.

Its `render` splits a reply the way a real adapter does: a header part (header, text), then the
items in chunks of at most `max_items_per_part` and at most `MAX_PART_CHARS` characters, the
footer on the last part. Untrusted text is truncated (never rejected) and mentions are made
inert by a zero-width space (`@everyone` -> `@\u200beveryone`, `<@U1>` -> `<\u200b@U1>`).
Like a real platform, `send` refuses a part over the size limit.

Failures can be scripted: `fail_next(RetryAfter(5))`, `fail_next(TransientDeliveryError())`,
`fail_next(PermanentDeliveryError("channel_not_found"), times=3)`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from typing import Any

from bot.chat.view import ItemView, reply_views
from bot.core.errors import DeliveryError, PermanentDeliveryError
from bot.core.models import Reply
from bot.ports import Part, ServiceAPI

MAX_PART_CHARS = 4000
LIMITS = {"header": 150, "text": 3000, "footer": 1000, "group": 100, "title": 256, "line": 300, "tldr": 500, "point": 300}
DM_PREFIX = "D-"
_MENTIONS = (("@everyone", "@\u200beveryone"), ("@here", "@\u200bhere"), ("<!", "<\u200b!"), ("<@", "<\u200b@"), ("<#", "<\u200b#"))


def neutralize(text: str) -> str:
    """Make mentions inert: a zero-width space breaks `@everyone`, `@here`, `<!...>`, `<@...>`."""
    for raw, inert in _MENTIONS:
        text = text.replace(raw, inert)
    return text


def clip(text: str, limit: int) -> str:
    """Truncate to `limit` characters with an ellipsis (never reject long text)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _safe(text: str, limit: int) -> str:
    return neutralize(clip(text, limit))


def mention_is_inert(text: str) -> bool:
    """Whether text contains no live mention for this platform."""
    lowered = text.lower()
    return not any(raw in lowered for raw, _ in _MENTIONS)


def item_text(view: ItemView) -> str:
    """One item as plain text: linked title, source line and tags, TL;DR and key points."""
    lines = [f"{view.number}. {_safe(view.title, LIMITS['title'])}" + (f" <{view.url}>" if view.url else "")]
    meta = [view.source_line] if view.source_line else []
    if view.tags:
        meta.append("tags: " + ", ".join(view.tags))
    if meta:
        lines.append("   " + _safe(" · ".join(meta), LIMITS["line"]))
    if view.has_summary:
        lines.append("   TL;DR: " + _safe(view.tldr, LIMITS["tldr"]))
        lines.extend("   • " + _safe(point, LIMITS["point"]) for point in view.key_points)
    if view.why:
        lines.append("   why: " + _safe(view.why, LIMITS["line"]))
    lines.append(f"   [Details: /papers paper {view.paper_id}]")
    return "\n".join(lines)


class InMemoryAdapter:
    """A ChatAdapter that keeps what it sends in `sent` (destination, part)."""

    def __init__(self, platform: str = "memory", max_items_per_part: int = 10) -> None:
        self.platform = platform
        self.max_items_per_part = max_items_per_part
        self.sent: list[tuple[str, Part]] = []
        self.opened_dms: list[str] = []
        self.started = False
        self.finished = asyncio.Event()
        self.service: ServiceAPI | None = None
        self._failures: deque[DeliveryError] = deque()
        self._ids = itertools.count(1)

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Connected from start() until stop()."""
        return self.started

    async def start(self, service: ServiceAPI) -> None:
        """Nothing to connect to; remembers the service for tests that drive commands."""
        self.service = service
        self.started = True

    async def stop(self) -> None:
        """Nothing to close."""
        self.started = False

    # --- scripting and inspection ---------------------------------------------------------------

    def fail_next(self, error: DeliveryError, times: int = 1) -> None:
        """Make the next `times` sends raise `error` (nothing is recorded for them)."""
        self._failures.extend([error] * times)

    @property
    def dms(self) -> list[tuple[str, Part]]:
        """(user id, part) for every part sent to a DM conversation."""
        return [(dest[len(DM_PREFIX) :], part) for dest, part in self.sent if dest.startswith(DM_PREFIX)]

    def texts(self, destination: str | None = None) -> list[str]:
        """The plain text of every part sent (to one destination, if given), in order."""
        return [part["text"] for dest, part in self.sent if destination is None or dest == destination]

    # --- ChatAdapter ---------------------------------------------------------------------------------

    def render(self, reply: Reply) -> list[Part]:
        """Pure: header part, then item chunks; footer on the last part."""
        parts: list[Part] = []
        head = [line for line in (_safe(reply.header, LIMITS["header"]), _safe(reply.text, LIMITS["text"])) if line]
        current: list[str] = []
        current_ids: list[str] = []
        if head:
            parts.append({"kind": "header", "text": "\n".join(head), "items": []})
        for group, views in zip(reply.groups, reply_views(reply), strict=True):
            group_started = False
            for view in views:
                block = item_text(view)
                if group.title and not group_started:
                    block = f"== {_safe(group.title, LIMITS['group'])} ==\n{block}"
                    group_started = True
                size = sum(len(c) + 2 for c in current) + len(block)
                if current and (len(current_ids) >= self.max_items_per_part or size > MAX_PART_CHARS - 200):
                    parts.append({"kind": "items", "text": "\n\n".join(current), "items": current_ids})
                    current, current_ids = [], []
                current.append(block)
                current_ids.append(view.paper_id)
        if current:
            parts.append({"kind": "items", "text": "\n\n".join(current), "items": current_ids})
        footer = _safe(reply.footer, LIMITS["footer"])
        if footer:
            if parts and len(parts[-1]["text"]) + len(footer) + 2 <= MAX_PART_CHARS:
                parts[-1] = {**parts[-1], "text": parts[-1]["text"] + "\n\n" + footer}
            else:
                parts.append({"kind": "footer", "text": footer, "items": []})
        return parts or [{"kind": "header", "text": "(empty)", "items": []}]

    async def send(self, destination: str, part: Part) -> str:
        """Record one part (or raise the next scripted failure); returns a message id."""
        if self._failures:
            raise self._failures.popleft()
        text: Any = part.get("text", "")
        if not isinstance(text, str) or len(text) > MAX_PART_CHARS:
            raise PermanentDeliveryError("msg_too_long", "the part exceeds the platform's size limit")
        self.sent.append((destination, part))
        return f"{self.platform}-{next(self._ids)}"

    async def open_dm(self, user_id: str) -> str:
        """The DM conversation id of a user (`D-<user>`)."""
        self.opened_dms.append(user_id)
        return DM_PREFIX + user_id
