"""The arXiv API Atom parser and source, on real current, legacy and documentation payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.clock import FakeClock
from bot.core.errors import ArxivAPIError, HTTPStatusError
from bot.core.models import SourceKind
from bot.fetch.sources import arxiv_api
from bot.fetch.sources.arxiv_api import ArxivAPISource, category_query, parse, parse_page

# The API source only reads the clock for a backfill's upper bound; tests fix it.
CLOCK = FakeClock(datetime(2026, 11, 24, 12, tzinfo=UTC))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_search_page_with_opensearch_numbers(real):
    papers, total, start = parse_page(real("arxiv_api_query_testing_m10.xml"))
    assert (len(papers), total, start) == (10, 214881, 0)
    assert [p.id for p in papers][:3] == ["2202.12139", "2405.13786", "2005.14124"]
    first = papers[0]
    assert first.version == 1
    assert first.title == "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    assert first.authors == ("Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker")
    assert first.categories == ("cs.SE", "cs.LG")
    assert first.primary_category == "cs.SE"
    assert first.published == utc(2022, 2, 24, 15, 5, 19)
    assert first.updated == utc(2022, 2, 24, 15, 5, 19)
    assert first.doi == "10.1109/ICSTW55395.2022.00035"
    assert first.comment == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert first.journal_ref is not None and first.journal_ref.startswith("Artificial Intelligence in Software Testing @ 2022")
    assert first.url == "https://arxiv.org/abs/2202.12139"
    assert first.source is SourceKind.ARXIV
    assert first.source_label == "arXiv cs.SE"
    assert papers[1].authors == ("Aurora Ramírez", "Mario Berrios", "José Raúl Romero", "Robert Feldt")
    assert sum(1 for p in papers if p.doi) == 6


def test_entities_decode_and_every_field_is_collapsed(real):
    papers = parse(real("arxiv_api_query_testing_m10.xml")) + parse(real("arxiv_api_query_testing_start10_m10.xml"))
    assert len(papers) == 20
    titles = {p.title for p in papers}
    assert "ChatGPT and Software Testing Education: Promises & Perils" in titles
    assert any("Software Engineering & Applications" in (p.journal_ref or "") for p in papers)
    for paper in papers:
        for text in (paper.title, paper.abstract, paper.comment or "", paper.journal_ref or ""):
            assert "\n" not in text and "  " not in text and text == text.strip()
        assert paper.published is not None and paper.published.tzinfo is UTC
        assert paper.primary_category == paper.categories[0]


def test_second_page(real):
    page = parse_page(real("arxiv_api_query_testing_start10_m10.xml"))
    assert (page.total, page.start) == (214881, 10)
    first = page.papers[0]
    assert (first.id, first.version) == ("2403.16981", 2)
    assert first.published == utc(2024, 3, 25, 17, 42, 32)
    assert first.updated == utc(2025, 5, 24, 5, 50, 33)
    assert first.categories == ("math.ST", "cs.IT", "stat.ML")


def test_many_authors_utf8(real):
    [paper] = parse(real("arxiv_api_id_1707.08567_many_authors_utf8.xml"))
    assert paper.id == "1707.08567" and paper.version == 1
    assert len(paper.authors) == 34
    assert paper.authors[0] == "Kees A. Schouhamer Immink"
    assert "Dirk Wübben" in paper.authors
    assert paper.categories == ("cs.IT",)


def test_title_zero_is_kept(real):
    [paper] = parse(real("arxiv_api_id_2104.12255v1.xml"))
    assert paper.title == "0"
    assert paper.id == "2104.12255" and paper.version == 1
    assert paper.primary_category == "cs.CR"
    assert paper.abstract.startswith("What is the funniest number in cryptography? 0.")


def test_old_style_id_with_tex_and_entities(real):
    [paper] = parse(real("arxiv_api_id_oldstyle_astro-ph_0601001.xml"))
    assert paper.id == "astro-ph/0601001" and paper.version == 1
    assert paper.url == "https://arxiv.org/abs/astro-ph/0601001"
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.authors == ("Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski")
    assert "Gould & Morgan (2003)" in paper.abstract
    assert "V_max<17.5" in paper.abstract
    assert "(1^{+1.39}_{-0.59})" in paper.abstract
    assert paper.abstract.startswith("We derive")  # the two leading spaces are gone
    assert paper.comment is not None and paper.comment.startswith("62 pages including 16 figures")


def test_old_style_versioned(real):
    [paper] = parse(real("arxiv_api_id_oldstyle_versioned_quant-ph_0201082v1.xml"))
    assert (paper.id, paper.version) == ("quant-ph/0201082", 1)
    assert paper.categories == ("quant-ph", "cs.PL")
    assert paper.primary_category == "quant-ph"
    assert paper.published == utc(2002, 1, 18, 15, 8, 5)


def test_plain_single_entry(real):
    [paper] = parse(real("arxiv_api_id_1605.08386.xml"))
    assert paper.id == "1605.08386"
    assert paper.title == "Heat-bath random walks with Markov bases"
    assert paper.authors == ("Caprice Stanley", "Tobias Windisch")
    assert paper.categories == ("math.CO", "math.ST")
    assert paper.comment == "20 pages, 3 figures"


def test_legacy_2022_format(real):
    page = parse_page(real("arxiv_api_legacy_id_2101.05225_2022.xml"))
    assert (page.total, page.start) == (1, 0)
    [paper] = page.papers
    assert (paper.id, paper.version) == ("2101.05225", 1)
    assert paper.title == "On consistency scores in text data with an implementation in R"
    assert paper.abstract.startswith("In this paper, we introduce a reproducible cleaning process for the text extracted")
    assert paper.abstract.endswith("to make our process easier for others to adopt.")
    assert "\n" not in paper.abstract
    assert paper.authors == ("Ke-Li Chiu", "Rohan Alexander")
    assert paper.comment == "13 pages, 0 figures"  # arxiv namespace declared inline only
    assert paper.primary_category == "cs.CL" and paper.categories == ("cs.CL",)
    assert paper.published == utc(2021, 1, 13, 17, 37, 7)


def test_docs_example_2007(real):
    page = parse_page(real("arxiv_api_docs_example_typical_response.xml"))
    assert page.total == 1000
    [paper] = page.papers
    assert paper.id == "hep-ex/0307015"
    assert paper.version == 1  # the id has no version; the alternate link does
    assert paper.title == "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"
    assert paper.published == utc(2003, 7, 7, 17, 46, 39)  # -04:00 converted
    assert paper.authors == ("H1 Collaboration",)
    assert paper.journal_ref == "Eur.Phys.J. C31 (2003) 17-29"
    assert paper.comment == "23 pages, 8 figures and 4 tables"
    assert r"0.30 \pm 0.04" in paper.abstract


def test_doi_from_related_link_when_no_arxiv_doi():
    data = b"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom"><entry>
  <id>http://arxiv.org/abs/2301.00001v2</id><title>T</title><summary>S</summary>
  <link title="doi" href="http://dx.doi.org/10.1000/xyz" rel="related"/>
  <category term="cs.LG"/>
</entry></feed>"""
    [paper] = parse(data)
    assert paper.doi == "10.1000/xyz"
    assert (paper.id, paper.version, paper.primary_category) == ("2301.00001", 2, "cs.LG")


def test_empty_result(real):
    page = parse_page(real("arxiv_api_empty_result.xml"))
    assert page == ([], 0, 0)


def test_id_list_with_one_invalid_id(real):
    page = parse_page(real("arxiv_api_idlist_one_invalid_one_valid.xml"))
    assert page.total == 1
    assert [p.id for p in page.papers] == ["1707.08567"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("arxiv_api_error_400_bad_id.xml", "incorrect id format for abc"),
        ("arxiv_api_docs_example_error.xml", "incorrect id format for 1234.12345"),
    ],
)
def test_error_feeds_raise(real, name, message):
    with pytest.raises(ArxivAPIError, match=message) as info:
        parse(real(name))
    assert str(info.value) == f"arxiv-api: arXiv API error: {message}"


def test_category_query():
    assert category_query("cs.LG+cs.CL") == "cat:cs.LG OR cat:cs.CL"
    assert category_query(["stat.ML"]) == "cat:stat.ML"
    assert category_query(" + ") == ""


# --- fetching ---------------------------------------------------------------------------------------


def test_built_from_settings():
    from bot.settings import Settings

    source = ArxivAPISource(Settings(arxiv_categories="cs.CV", arxiv_api_url="http://127.0.0.1:1/api/query/"), clock=CLOCK)
    assert source.categories == "cs.CV"
    assert source.url == "http://127.0.0.1:1/api/query"
    assert source.name == "arxiv-api"
    assert ArxivAPISource(categories="cs.AI", clock=CLOCK).categories == "cs.AI"


async def test_backfill_pages_over_two_pages(fake_server, http, real):
    pages = {"0": real("arxiv_api_query_testing_m10.xml"), "10": real("arxiv_api_query_testing_start10_m10.xml")}
    fake_server.handle("/api/query", lambda request: (200, pages[request.query["start"]]))
    seen: list[tuple[int, int]] = []
    source = ArxivAPISource(
        clock=CLOCK,
        categories="cs.LG+cs.SE", url=fake_server.url("/api/query"), page_size=10, max_results=20
    )
    papers = await source.fetch(http, None, progress=lambda done, total: seen.append((done, total)))
    assert len(papers) == 20
    assert [p.id for p in papers][:1] == ["2202.12139"] and papers[10].id == "2403.16981"
    assert seen == [(10, 20), (20, 20)]
    queries = [r.query for r in fake_server.requests]
    assert [q["start"] for q in queries] == ["0", "10"]
    assert all(q["max_results"] == "10" for q in queries)
    assert all(q["sortBy"] == "submittedDate" and q["sortOrder"] == "descending" for q in queries)
    assert queries[0]["search_query"] == "cat:cs.LG OR cat:cs.SE"


async def test_backfill_stops_at_since(fake_server, http, real):
    fake_server.serve("/api/query", real("arxiv_api_query_testing_m10.xml"))
    source = ArxivAPISource(
        categories="cs.SE",
        url=fake_server.url("/api/query"),
        page_size=10,
        clock=lambda: utc(2026, 4, 12, 12, 0),
    )
    progress: list[tuple[int, int]] = []
    source.progress = lambda done, total: progress.append((done, total))  # as the CLI sets it
    papers = await source.fetch(http, utc(2021, 1, 1))
    # The third entry (2005.14124, May 2020) is older than `since`: the backfill stops there.
    assert [p.id for p in papers] == ["2202.12139", "2405.13786"]
    assert len(fake_server.requests) == 1
    assert fake_server.requests[0].query["search_query"] == (
        "(cat:cs.SE) AND submittedDate:[202101010000 TO 202604121200]"
    )
    assert progress == [(2, 2)]


async def test_backfill_stops_on_empty_result(fake_server, http, real):
    fake_server.serve("/api/query", real("arxiv_api_empty_result.xml"))
    source = ArxivAPISource(categories="cs.LG", url=fake_server.url("/api/query"), clock=CLOCK)
    assert await source.fetch(http, None) == []
    assert len(fake_server.requests) == 1


async def test_backfill_asks_again_after_a_spurious_empty_page(fake_server, http, real):
    # The API sometimes answers a page with no entries although more results exist.
    spurious = real("arxiv_api_empty_result.xml").replace(
        b"<opensearch:totalResults>0</opensearch:totalResults>", b"<opensearch:totalResults>10</opensearch:totalResults>"
    )
    answers = [spurious, real("arxiv_api_query_testing_m10.xml")]
    fake_server.handle("/api/query", lambda request: (200, answers.pop(0)))
    source = ArxivAPISource(categories="cs.LG", url=fake_server.url("/api/query"), page_size=10, max_results=10, clock=CLOCK)
    papers = await source.fetch(http, None)
    assert len(papers) == 10
    assert [r.query["start"] for r in fake_server.requests] == ["0", "0"]


async def test_400_error_feed_raises_arxiv_api_error(fake_server, http, real):
    fake_server.serve("/api/query", real("arxiv_api_error_400_bad_id.xml"), status=400)
    source = ArxivAPISource(categories="cs.LG", url=fake_server.url("/api/query"), clock=CLOCK)
    with pytest.raises(ArxivAPIError, match="incorrect id format for abc"):
        await source.fetch_ids(http, ["abc"])
    assert fake_server.requests[0].query["id_list"] == "abc"


async def test_400_without_error_feed_stays_an_http_error(fake_server, http):
    fake_server.serve("/api/query", b"Bad Request", status=400)
    source = ArxivAPISource(categories="cs.LG", url=fake_server.url("/api/query"), clock=CLOCK)
    with pytest.raises(HTTPStatusError) as info:
        await source.search(http, "all:x")
    assert info.value.status == 400


async def test_fetch_ids_normalizes_ids(fake_server, http, real):
    fake_server.serve("/api/query", real("arxiv_api_idlist_one_invalid_one_valid.xml"))
    source = ArxivAPISource(categories="cs.LG", url=fake_server.url("/api/query"), clock=CLOCK)
    papers = await source.fetch_ids(http, ["0808.05394", "https://arxiv.org/abs/1707.08567v1"])
    assert [p.id for p in papers] == ["1707.08567"]
    assert fake_server.requests[0].query["id_list"] == "0808.05394,1707.08567v1"


async def test_search_returns_page(fake_server, http, real):
    fake_server.serve("/api/query", real("arxiv_api_query_testing_start10_m10.xml"))
    source = ArxivAPISource(categories="cs.LG", url=fake_server.url("/api/query"), clock=CLOCK)
    page = await source.search(http, "all:testing", start=10, max_results=10)
    assert (len(page.papers), page.total, page.start) == (10, 214881, 10)
    query = fake_server.requests[0].query
    assert (query["search_query"], query["start"], query["max_results"]) == ("all:testing", "10", "10")


def test_module_constants():
    assert arxiv_api.PAGE_SIZE == 100
    assert arxiv_api.MAX_PER_REQUEST == 2000
