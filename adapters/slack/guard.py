"""The front door of Slack's HTTP mode: what a request must be before bolt sees it.

Anyone on the internet can POST to `/slack/events`, so a request is checked in the cheapest
order, and nothing parses it before its signature is known to be Slack's:

1. the body is read up to MAX_BODY_BYTES and no further (a bigger one is 413; a declared
   Content-Length over it is refused without reading a byte);
2. the v0 signature over the raw bytes, with a timestamp within five minutes
   (slack_sdk's SignatureVerifier): missing or wrong is 401;
3. only then the body is decoded and parsed as bolt will parse it (a form, whose `payload` is a
   JSON object, or a JSON object): anything else is 400, although Slack signed it.

A refused request is logged as at most one short line per LOG_EVERY seconds (the next line says
how many were refused meanwhile), never with a traceback, so a flood costs a few cheap checks and
no disk. What passes goes to bolt as it came (bolt checks the signature again, cheaply).

Slack documents no size for its requests; the biggest it sends (a modal's submission carries the
whole view: 100 blocks) stay well below 1 MiB, which is also aiohttp's default cap.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from dataclasses import dataclass

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.core.clock import system_monotonic
from bot.core.retry import Monotonic

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
LOG_EVERY = 60.0
READ_CHUNK = 64 * 1024


class LogLimiter:
    """One log line per `every` seconds at most; the next one counts those held back."""

    def __init__(self, every: float = LOG_EVERY, *, monotonic: Monotonic = system_monotonic) -> None:
        self.every = every
        self._monotonic = monotonic
        self._last: float | None = None
        self._held = 0

    def warn(self, message: str, *args: object) -> None:
        """Log `message` at WARNING unless a line went out less than `every` seconds ago."""
        now = self._monotonic()
        if self._last is not None and now - self._last < self.every:
            self._held += 1
            return
        held, self._held, self._last = self._held, 0, now
        suffix = f" ({held} more refused in the last {self.every:.0f} s)" if held else ""
        log.warning(message + suffix, *args)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused: the HTTP status and a few words (for the log, not the caller)."""

    status: int
    why: str


async def read_capped(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The body, or None when it is bigger than `limit` (read no further than that)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


def _parsed_shape_problem(body: str, content_type: str) -> str:
    """What bolt could not make sense of in a (signed) body; "" when it is a proper request."""
    if not body:
        return "empty body"
    if content_type == "application/json" or body.startswith("{"):
        try:
            data = json.loads(body)
        except ValueError:
            return "body is not JSON"
        return "" if isinstance(data, dict) else "JSON body is not an object"
    try:
        form = urllib.parse.parse_qs(body, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        return "body is not a form"
    if "payload" in form:
        try:
            payload = json.loads(form["payload"][0])
        except ValueError:
            return "payload is not JSON"
        if not isinstance(payload, dict):
            return "payload is not a JSON object"
    return ""


class RequestGuard:
    """Checks one `/slack/events` request (see the module); `check` returns the body as text
    for bolt, or a Refusal."""

    def __init__(self, signing_secret: str, *, monotonic: Monotonic = system_monotonic, max_body: int = MAX_BODY_BYTES) -> None:
        # No secret (Socket Mode, where no request comes this way): every request is refused.
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.max_body = max_body
        self.log = LogLimiter(monotonic=monotonic)

    async def check(self, request: web.Request) -> str | Refusal:
        """The body as text when the request is Slack's and well formed; else why not."""
        raw = await read_capped(request, self.max_body)
        if raw is None:
            return self._refuse(request, Refusal(413, "body too large"))
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if not timestamp or not signature or self.verifier is None:
            return self._refuse(request, Refusal(401, "no signature"))
        try:
            valid = self.verifier.is_valid(raw, timestamp, signature)
        except (ValueError, TypeError):  # a timestamp that is not a number
            valid = False
        if not valid:
            return self._refuse(request, Refusal(401, "bad or stale signature"))
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return self._refuse(request, Refusal(400, "body is not UTF-8"))
        problem = _parsed_shape_problem(body, request.content_type)
        if problem:
            return self._refuse(request, Refusal(400, problem))
        return body

    def _refuse(self, request: web.Request, refusal: Refusal) -> Refusal:
        self.log.warn("slack: refused a request from %s: %s (HTTP %d)", request.remote or "?", refusal.why, refusal.status)
        return refusal
