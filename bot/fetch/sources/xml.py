"""Safe parsing of untrusted payloads, and the small text/date helpers every source shares.

Feeds come from the open internet, so XML is parsed only through `defusedxml` (entity
declarations and external references are refused, which stops entity-expansion bombs and
XXE), and every failure, XML or JSON, becomes a `ParseError` whose message says what was wrong
in plain words: an HTML page instead of a feed, a truncated document, a refused entity
declaration.

Text is decoded by the charset the document declares (the HTTP Content-Type, else the XML
declaration), with U+FFFD for bytes that charset does not define (`as_declared_utf8`): a feed
with one invalid byte keeps the rest of its text, instead of being re-guessed as a whole in a
different charset (mojibake such as `RÃ©seaux` or `ŕ l'école`).
"""

from __future__ import annotations

import codecs
import email.utils
import html
import json
import re
import xml.etree.ElementTree as FastET
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as _ExpatError

import defusedxml
import defusedxml.ElementTree as SafeET

from bot.core.errors import ParseError

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
DC = "{http://purl.org/dc/elements/1.1/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
RSS1 = "{http://purl.org/rss/1.0/}"

_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL
)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


def _a(what: str) -> str:
    """`feed` -> `a feed`, `arXiv API response` -> `an arXiv API response`."""
    return f"an {what}" if what[:1].lower() in "aeiou" else f"a {what}"


_DTD_MARKUP = re.compile(rb"<!(?:doctype|entity)", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"^(\s*<\?xml\b[^>]*?\bencoding\s*=\s*)([\"'])([A-Za-z0-9._:-]+)\2")
_CHARSET_PARAMETER = re.compile(r";\s*charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
# Labels that mean Windows-1252 in practice (the WHATWG Encoding Standard, which browsers
# follow): feeds labelled ISO-8859-1 routinely carry Windows-1252 quotes and dashes.
_WINDOWS_1252_LABELS = frozenset({"iso8859-1", "latin-1", "ascii", "cp1252"})
_UNICODE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def charset_of(content_type: str | None) -> str | None:
    """The `charset` parameter of a Content-Type header value, if any."""
    match = _CHARSET_PARAMETER.search(content_type or "")
    return match.group(1) if match else None


def _codec(label: str | None) -> str | None:
    """Python's codec for a charset label, None for a label no codec knows."""
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "cp1252" if name in _WINDOWS_1252_LABELS else name


def as_declared_utf8(data: bytes, *, charset: str | None = None) -> bytes:
    """The document re-encoded as UTF-8, decoded by its declared charset: `charset` (from the
    HTTP Content-Type) or the XML declaration, whichever decodes it cleanly, else the first of
    them (then UTF-8) with U+FFFD for each byte it does not define. The XML declaration of a
    re-encoded document is changed to say UTF-8. Valid UTF-8 and UTF-16/32 documents (with a
    byte order mark) come back unchanged."""
    if data.startswith(_UNICODE_BOMS):
        return data  # the XML parsers read these themselves
    body = data.removeprefix(codecs.BOM_UTF8)
    declaration = _XML_DECLARATION.match(body[:512])
    declared = declaration.group(3).decode("ascii") if declaration else None
    candidates = [c for c in dict.fromkeys((_codec(charset), _codec(declared))) if c] or ["utf-8"]
    if body is not data:
        candidates = ["utf-8"]  # a UTF-8 byte order mark outranks any label
    for codec in candidates:
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec == "utf-8" and body is data:
            return data
        return _utf8_document(text)
    return _utf8_document(body.decode(candidates[0], errors="replace"))


def _utf8_document(text: str) -> bytes:
    encoded = text.encode("utf-8")
    return _XML_DECLARATION.sub(lambda m: m.group(1) + m.group(2) + b"utf-8" + m.group(2), encoded, count=1)


def _has_no_dtd(data: bytes) -> bool:
    """True when the payload is ASCII-compatible XML with no DOCTYPE or ENTITY markup anywhere.

    Other encodings (UTF-16, UTF-32) could hide the markup from a byte scan, so they always
    take the defusedxml path."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return head == b"<" and b"\x00" not in data[:64] and _DTD_MARKUP.search(data) is None


def looks_like_html(data: bytes) -> bool:
    """Whether the payload starts like an HTML page (a login wall, an error page, a CDN block)."""
    return bool(_HTML_START.match(data.lstrip(b"\xef\xbb\xbf")[:4096]))


def parse_xml(data: bytes, *, what: str = "feed", source: str = "", charset: str | None = None) -> Element:
    """Parse untrusted XML safely and return the root element; text is decoded by the declared
    charset (`charset` from the HTTP Content-Type, or the XML declaration; see `as_declared_utf8`).

    Raises ParseError for an empty body, an HTML page, an entity declaration or external
    reference (entity-expansion bombs, XXE), or malformed/truncated XML.
    """
    data = as_declared_utf8(data, charset=charset)
    if not data.strip():
        raise ParseError(f"empty response instead of {_a(what)}", source=source)
    if looks_like_html(data):
        raise ParseError(f"got an HTML page instead of {_a(what)}", source=source)
    try:
        # Without a DOCTYPE no entity can be declared, so the C parser is safe and 2x faster.
        root = FastET.fromstring(data) if _has_no_dtd(data) else SafeET.fromstring(data)
    except defusedxml.DefusedXmlException as exc:
        raise _refusal(exc, what, source) from None
    except _ExpatError as exc:
        raise ParseError(f"malformed or truncated XML in {_a(what)} ({exc})", source=source) from None
    if local_name(root.tag) == "html":
        raise ParseError(f"got an HTML page instead of {_a(what)}", source=source)
    return root


def load_json(data: bytes, *, what: str, source: str = "") -> Any:
    """Decode an untrusted JSON body; HTML pages, empty bodies and garbage become ParseError."""
    if not data.strip():
        raise ParseError(f"empty response instead of {what}", source=source)
    if looks_like_html(data):
        raise ParseError(f"got an HTML page instead of {what}", source=source)
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"malformed or truncated JSON in {what} ({exc})", source=source) from None


def as_int(value: object) -> int:
    """A count from JSON (int, float or numeric string); 0 for anything else, booleans included."""
    if isinstance(value, bool):
        return 0
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0


def reject_entity_declarations(data: bytes, *, what: str = "feed", source: str = "") -> None:
    """Refuse XML that declares entities, before a lenient parser (feedparser) sees it.

    defusedxml refuses declarations and external references in well-formed documents; for
    documents too broken for a strict parser a byte scan still finds `<!ENTITY`. Otherwise
    malformed XML is left to the caller's lenient parser.
    """
    try:
        SafeET.fromstring(data)
    except defusedxml.DefusedXmlException as exc:
        raise _refusal(exc, what, source) from None
    except _ExpatError:
        # Too broken for a strict parser: a byte scan still finds entity declarations.
        if _ENTITY_DECL.search(data):
            raise ParseError(
                f"refused {_a(what)} that declares XML entities (possible entity-expansion bomb)", source=source
            ) from None


def _refusal(exc: defusedxml.DefusedXmlException, what: str, source: str) -> ParseError:
    """A clear ParseError for what defusedxml refused."""
    external = isinstance(exc, defusedxml.ExternalReferenceForbidden) or (
        isinstance(exc, defusedxml.EntitiesForbidden) and exc.sysid is not None
    )
    if external:
        return ParseError(f"refused {_a(what)} that references an external XML entity (XXE)", source=source)
    if isinstance(exc, defusedxml.EntitiesForbidden):
        return ParseError(
            f"refused {_a(what)} that declares XML entities (possible entity-expansion bomb)", source=source
        )
    return ParseError(f"refused an unsafe {what}: {exc}", source=source)


def local_name(tag: str) -> str:
    """`{namespace}name` -> `name`."""
    return tag.rsplit("}", 1)[-1]


def collapse(text: str | None) -> str:
    """Collapse every run of whitespace (newlines, hard wraps, tabs) into one space and strip."""
    if not text:
        return ""
    # str.split() with no argument splits on every Unicode whitespace run, 5x faster than a regex.
    return " ".join(text.split())


def element_text(element: Element | None) -> str:
    """All text inside an element (children included), whitespace collapsed; "" when absent."""
    if element is None:
        return ""
    if len(element) == 0:
        return collapse(element.text)
    return collapse("".join(element.itertext()))


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML fragment; block elements become line breaks."""

    _BLOCKS = frozenset(
        {"p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr"}
    )
    _HIDDEN = frozenset({"script", "style", "head", "title", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


_TAG = re.compile(r"<[^>]*>?")


def _extract(markup: str) -> _TextExtractor | None:
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        extractor.close()
    except AssertionError:
        # html.parser raises AssertionError on some malformed declarations (`<![ x`).
        return None
    return extractor


def html_to_text(markup: str | None) -> str:
    """Visible text of an HTML fragment, entities decoded, whitespace collapsed."""
    if not markup:
        return ""
    if "<" not in markup:
        return collapse(html.unescape(markup))
    extractor = _extract(markup)
    if extractor is None:
        return collapse(html.unescape(_TAG.sub(" ", markup)))
    return collapse("".join(extractor.parts))


def html_links(markup: str | None) -> list[str]:
    """The `href`s of the links in an HTML fragment, in document order."""
    if not markup or "<" not in markup:
        return []
    extractor = _extract(markup)
    return extractor.links if extractor is not None else []


def parse_iso(value: object) -> datetime | None:
    """ISO 8601 (`2021-01-13T17:37:07Z`, `...-05:00`, milliseconds) -> aware UTC; None if absent/bad."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_rfc822(value: str | None) -> datetime | None:
    """RFC 822 dates of RSS (`Mon, 28 Apr 2025 00:00:00 -0400`) -> aware UTC; None if absent/bad."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
