"""Links into the web site, built in one place, and the signed links that act without a login.

The site (bot.web) serves these paths; digests and emails link to them. A signed link carries
an HMAC of what it acts on (`unsubscribe` of one digest destination, for example), so the web
server can honour it without knowing who clicks: the signature is the permission. Signatures
are made with the deployment's link secret and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, urlencode

SIGNATURE_CHARS = 32  # hex characters kept of the HMAC-SHA256 (128 bits)


def day_path(day: str) -> str:
    """The page of one day's papers (`YYYY-MM-DD`, UTC)."""
    return f"/day/{day}"


def digest_path(channel_key: str, local_date: str) -> str:
    """The page of what one channel's digest posted on one local date."""
    return f"/digest/{quote(channel_key, safe=':')}/{local_date}"


def topic_path(topic_id: str) -> str:
    """The page of one topic's papers of the last days."""
    return f"/topic/{quote(topic_id, safe='')}"


def paper_path(paper_id: str) -> str:
    """The page of one paper (old-style arXiv ids keep their slash)."""
    return f"/paper/{quote(paper_id, safe='/:')}"


def absolute(base_url: str, path: str) -> str:
    """`path` on the site at `base_url` (a base URL has no trailing slash)."""
    return base_url.rstrip("/") + path


def sign(secret: str, purpose: str, value: str) -> str:
    """The signature of `value` for one `purpose` ("unsubscribe"), as hex."""
    message = f"{purpose}\x1f{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def verify(secret: str, purpose: str, value: str, signature: str) -> bool:
    """Whether `signature` is `sign(secret, purpose, value)` (constant-time comparison)."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign(secret, purpose, value), signature.strip().lower())


UNSUBSCRIBE = "unsubscribe"


def unsubscribe_url(base_url: str, secret: str, channel_key: str) -> str:
    """The signed one-click unsubscribe link of a digest destination (`email:<address>`)."""
    query = urlencode({"c": channel_key, "s": sign(secret, UNSUBSCRIBE, channel_key)})
    return absolute(base_url, f"/unsubscribe?{query}")


def confirm_url(base_url: str, token: str) -> str:
    """The link that confirms an email address for a digest (double opt-in)."""
    return absolute(base_url, f"/email/confirm?{urlencode({'t': token})}")
