"""Feed text is decoded by the charset the feed declares, a bad byte becoming U+FFFD, never
re-guessed as a whole in another charset (mojibake).

tests/data/feed_iso-8859-1.xml is a French lab's RSS feed as old CMSs write it: declared
ISO-8859-1, Windows-1252 quotes and dashes inside, and one byte (0x81) that neither charset
defines.
"""

from __future__ import annotations

from pathlib import Path

from bot.fetch.http import HttpClient
from bot.fetch.sources import arxiv_rss, feed
from bot.fetch.sources.feed import FeedSource
from bot.fetch.sources.xml import as_declared_utf8, charset_of
from tests.unit.conftest import FakeSource

ISO_FEED = (Path(__file__).resolve().parents[2] / "data" / "feed_iso-8859-1.xml").read_bytes()
MOJIBAKE = ("Ã", "Â", "ŕ", "Ť", "ť", "ď", "\x81")


def assert_no_mojibake(*texts: str) -> None:
    for text in texts:
        assert not any(sign in text for sign in MOJIBAKE), text


def test_an_iso_8859_1_feed_reads_its_accents_and_marks_the_bad_byte() -> None:
    first, second = feed.parse(ISO_FEED)
    assert first.title == "Réseaux de neurones à mémoire : un nouvel état de l’art"
    assert first.abstract == (
        "Notre article présenté à NeurIPS décrit une mémoire associative « différentiable ». "
        "\ufffd Code et données sont disponibles."
    )
    assert first.authors == ("Françoise Léger",)
    assert second.authors == ("Anaïs Brontë",)
    assert second.abstract == "Présentation des résultats de l’équipe — salle 2.14, café offert."
    assert first.source_label == "Laboratoire d'informatique – Actualités de la recherche"
    assert_no_mojibake(first.title, first.abstract, second.title, second.abstract, *second.authors)


async def test_a_charset_declared_only_by_http_is_used(fake_server: FakeSource, http: HttpClient) -> None:
    # The same bytes without an encoding in the XML declaration, as a server that relies on
    # its Content-Type header sends them. feedparser alone guessed ISO-8859-2 here.
    undeclared = ISO_FEED.replace(b' encoding="ISO-8859-1"', b"")
    fake_server.serve("/actualites.rss", undeclared, headers={"Content-Type": "application/rss+xml; charset=ISO-8859-1"})
    papers = await FeedSource(fake_server.url("/actualites.rss")).fetch(http, None)
    assert [p.title for p in papers] == [
        "Réseaux de neurones à mémoire : un nouvel état de l’art",
        "Séminaire : apprentissage par renforcement hors ligne",
    ]
    assert "« différentiable ». \ufffd Code" in papers[0].abstract
    assert papers[1].authors == ("Anaïs Brontë",)
    assert_no_mojibake(*(p.title + p.abstract for p in papers))


def test_one_invalid_byte_in_a_utf8_feed_spoils_only_itself() -> None:
    rss = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Équipe IA</title>'
        "<item><title>Réseaux à mémoire BAD et café</title><link>https://lab.example/a</link></item>"
        "</channel></rss>"
    ).encode().replace(b"BAD", b"\xff")
    [paper] = feed.parse(rss)
    assert paper.title == "Réseaux à mémoire \ufffd et café"
    assert paper.source_label == "Équipe IA"


def test_strict_xml_sources_decode_by_the_declaration_too() -> None:
    listing = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>cs.LG</title>'
        "<item><title>Apprentissage \xe0 grande \xe9chelle \x81</title>"
        "<link>https://arxiv.org/abs/2611.00001</link>"
        "<description>arXiv:2611.00001v1 Announce Type: new Abstract: R\xe9sum\xe9.</description>"
        "<dc:creator>Ren\xe9 Dupr\xe9</dc:creator></item></channel></rss>"
    ).encode("latin-1")
    [paper] = arxiv_rss.parse(listing)
    assert paper.title == "Apprentissage à grande échelle \ufffd"
    assert paper.authors == ("René Dupré",)


def test_valid_utf8_and_utf16_documents_are_passed_through_untouched() -> None:
    utf8 = '<?xml version="1.0" encoding="utf-8"?><a>Réseaux</a>'.encode()
    assert as_declared_utf8(utf8) is utf8
    utf16 = '<?xml version="1.0" encoding="utf-16"?><a>Réseaux</a>'.encode("utf-16")
    assert as_declared_utf8(utf16) is utf16


def test_a_wrong_http_charset_loses_to_a_declaration_that_decodes_cleanly() -> None:
    latin = '<?xml version="1.0" encoding="iso-8859-1"?><a>R\xe9seaux</a>'.encode("latin-1")
    assert as_declared_utf8(latin, charset="utf-8") == '<?xml version="1.0" encoding="utf-8"?><a>Réseaux</a>'.encode()


def test_charset_of_reads_the_content_type_parameter() -> None:
    assert charset_of("application/rss+xml; charset=ISO-8859-1") == "ISO-8859-1"
    assert charset_of('text/xml;charset="utf-8"') == "utf-8"
    assert charset_of("application/xml") is None and charset_of(None) is None
