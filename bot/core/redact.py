"""Credentials never leave the process: URLs are shown and logged only with their secrets removed.

Feed URLs in FEEDS may carry credentials, as `https://user:pass@host/feed` or
`https://host/feed?apikey=...`. `redact_url` is the one function that strips them (the userinfo
and the values of secret-looking query parameters); it is applied wherever a URL is shown or
logged: source names, `paperbot status`, `/healthz`, the fetch log lines and the errors stored
in source state. `redact_urls` does the same to every URL inside a free text (an exception
message, a finished log line).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# Query parameter names whose values are secrets. Matched on the name with `-` and `_` removed
# and case ignored, so `api_key`, `api-key` and `apiKey` are all caught.
SECRET_PARAMETERS = frozenset(
    {
        "apikey", "key", "token", "accesstoken", "authtoken", "auth", "secret", "clientsecret",
        "password", "passwd", "pass", "pwd", "sig", "signature", "session", "sessionid",
        "privatetoken", "refreshtoken", "code",
    }
)

# A URL in running text: a scheme, then everything up to whitespace, a quote or a closing bracket.
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>()\[\]{}]+")
# The scheme and userinfo of a URL, for URLs urlsplit refuses: everything up to the last `@`
# before the path is the userinfo.
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#]*@")
# A query parameter anywhere, URL or not (`feed:host/path?apikey=...` source names).
_PARAMETER_IN_TEXT = re.compile(r"(?<=[?&])([A-Za-z0-9_.-]+)=([^&#\s\"'<>()\[\]{}]*)")


def is_secret_parameter(name: str) -> bool:
    """Whether a query parameter named `name` carries a credential."""
    normalized = name.replace("-", "").replace("_", "").lower()
    return normalized in SECRET_PARAMETERS or normalized.endswith(("token", "secret", "apikey", "password"))


def redact_url(url: str) -> str:
    """`url` without credentials: the userinfo (`user:pass@`) is dropped and the value of every
    secret-looking query parameter (apikey, api_key, key, token, access_token, secret, password,
    sig, signature, ...) becomes `***`. A URL that does not parse (a bad port, a broken IPv6
    literal) still loses anything before an `@` in its authority; anything else that is not a
    URL comes back as is."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return _USERINFO.sub(r"\1", url)
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = host or ""
        if ":" in netloc:  # an IPv6 literal
            netloc = f"[{netloc}]"
        if port is not None:
            netloc += f":{port}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_parameter(name) for name, _ in pairs):
            query = urlencode(
                [(name, MASK if is_secret_parameter(name) else value) for name, value in pairs], safe="*"
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_urls(text: str) -> str:
    """`text` with every URL in it passed through `redact_url`, and the value of every
    secret-looking query parameter masked even outside a URL (a source name such as
    `feed:host/feed?apikey=...`)."""
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
    if "=" in text:
        text = _PARAMETER_IN_TEXT.sub(
            lambda m: f"{m.group(1)}={MASK}" if is_secret_parameter(m.group(1)) and m.group(2) != MASK else m.group(0),
            text,
        )
    return text
