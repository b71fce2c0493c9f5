"""arXiv listing feeds: the current RSS 2.0 and the old RDF format, parsed from real payloads."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from bot.core.models import SourceKind
from bot.fetch.sources import arxiv_rss
from bot.fetch.sources.arxiv_rss import ArxivRSSSource, split_authors, tex_to_unicode

QUANT_PH = "arxiv_rss_new_quant-ph_2025-04-28.xml"
SUNDAY = "arxiv_rss_new_cs_empty_sunday_2025-04-27.xml"
RDF_2018 = "arxiv_rss_old_rdf_hep-ex_2018-05-23_trimmed.xml"
RDF_2021 = "arxiv_rss_old_rdf_hep-ex_2021-07-08_trimmed.xml"


@pytest.fixture
def quant_ph(real):
    return arxiv_rss.parse(real(QUANT_PH))


def by_id(papers):
    return {paper.id: paper for paper in papers}


# --- current RSS 2.0 ---------------------------------------------------------------------------


def test_quant_ph_counts_by_announce_type(quant_ph):
    assert len(quant_ph) == 81
    assert Counter(p.announce_type for p in quant_ph) == {"new": 40, "cross": 10, "replace": 22, "replace-cross": 9}
    assert len({p.id for p in quant_ph}) == 81


def test_quant_ph_dois_and_journal_refs(quant_ph):
    assert sum(1 for p in quant_ph if p.doi) == 10
    assert sum(1 for p in quant_ph if p.journal_ref) == 9
    papers = by_id(quant_ph)
    with_both = [p for p in quant_ph if p.doi == "10.1103/PhysRevB.111.144313"]
    assert len(with_both) == 1
    assert with_both[0].journal_ref == "Phys. Rev. B 111, 144313 (2025)"
    only_ref = [p for p in quant_ph if p.journal_ref == "Phys. Rev. A 111, 042427 (2025)"]
    assert len(only_ref) == 1 and only_ref[0].doi is None
    assert papers["2504.17830"].doi is None and papers["2504.17830"].journal_ref is None


def test_first_item_fields(quant_ph):
    paper = quant_ph[0]
    assert paper.id == "2504.17830"
    assert paper.version == 1
    assert paper.title == "Self-Adjoint Time Operator in a Weighted Energy Space"
    assert paper.authors == ("Radmir Kokoulin",)
    assert paper.categories == ("quant-ph",)
    assert paper.primary_category == "quant-ph"
    assert paper.announce_type == "new"
    assert paper.source is SourceKind.ARXIV
    assert paper.source_label == "arXiv quant-ph"
    assert paper.url == "https://arxiv.org/abs/2504.17830"
    # TeX is kept as written.
    assert paper.abstract.startswith(r"We introduce a self-adjoint time operator \(T_w = i\hbar\bigl(")
    assert paper.abstract.endswith("which in turn leaves the Hamiltonian spectrum unbounded.")


def test_abstracts_lose_the_announce_prefix_and_are_collapsed(quant_ph):
    for paper in quant_ph:
        assert "Announce Type" not in paper.abstract
        assert not paper.abstract.startswith(("arXiv:", "Abstract:"))
        assert "\n" not in paper.abstract and "  " not in paper.abstract
        assert paper.abstract == paper.abstract.strip()
        assert paper.title and "\n" not in paper.title


def test_announcement_date_is_midnight_eastern_in_utc(quant_ph):
    expected = datetime(2025, 4, 28, 4, 0, tzinfo=UTC)
    for paper in quant_ph:
        assert paper.updated == expected and paper.updated.tzinfo is UTC
        # A replacement's first publication is older and unknown to the listing.
        replaced = paper.announce_type in ("replace", "replace-cross")
        assert paper.published == (None if replaced else expected)


def test_version_comes_from_guid(quant_ph):
    papers = by_id(quant_ph)
    assert papers["2112.14988"].version == 4
    assert papers["2112.14988"].announce_type == "replace"
    assert all(p.version >= 1 for p in quant_ph)
    assert all(p.version == 1 for p in quant_ph if p.announce_type == "new")
    assert all(p.version >= 2 for p in quant_ph if p.announce_type == "replace")


def test_categories_all_kept_and_first_is_primary(quant_ph):
    papers = by_id(quant_ph)
    assert papers["2504.17837"].categories == ("quant-ph", "physics.comp-ph")
    assert papers["2504.17837"].primary_category == "quant-ph"
    not_feed_first = [p for p in quant_ph if p.primary_category != "quant-ph"]
    assert len(not_feed_first) == 19
    for paper in not_feed_first:
        assert paper.primary_category == paper.categories[0]
        assert "quant-ph" in paper.categories
        assert paper.source_label == f"arXiv {paper.primary_category}"


def test_authors_split_with_affiliations_and_tex_accents(quant_ph):
    papers = by_id(quant_ph)
    assert papers["2504.17837"].authors == ("Youssef Kora", "Christoph Simon")
    everyone = {name for p in quant_ph for name in p.authors}
    for name in ("Jakob Günther", "Michal Hajdušek", "Søren Stobbe", "Stanisław Świerczewski", "Sébastien Le Beux"):
        assert name in everyone
    assert not any("\\" in name or "{" in name or "(" in name for name in everyone)
    nirmal = next(p for p in quant_ph if "M. R. Nirmal" in p.authors)
    assert nirmal.authors == ("M. R. Nirmal", "Ankit Khandelwal", "Manoj Nambiar", "Sharma S. R. K. C. Yamijala")


@pytest.mark.parametrize(
    ("creator", "names"),
    [
        ("A. One, B. Two and C. Three", ("A. One", "B. Two", "C. Three")),
        ("A, B, and C", ("A", "B", "C")),
        ("Alexander Anderson and Sandy Band", ("Alexander Anderson", "Sandy Band")),
        ("  Solo Author  ", ("Solo Author",)),
        ("X (Univ A, Dept B), Y (Lab (C), D)", ("X", "Y")),
        ("", ()),
    ],
)
def test_split_authors(creator, names):
    assert split_authors(creator) == names


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"Jakob G\"unther", "Jakob Günther"),
        (r"Michal Hajdu\v{s}ek", "Michal Hajdušek"),
        (r"S{\o}ren", "Søren"),
        (r"Micha{\l}", "Michał"),
        (r"Fr\'ed\'eric D\'eliot", "Frédéric Déliot"),
        (r"Dorival Gon\c{c}alves", "Dorival Gonçalves"),
        (r"Jes\'{u}s", "Jesús"),
        (r"Mu\~noz", "Muñoz"),
        (r"Ram\'{\i}rez", "Ramírez"),
        ("Plain Name", "Plain Name"),
    ],
)
def test_tex_to_unicode(tex, text):
    assert tex_to_unicode(tex) == text


def test_empty_sunday_feed_is_no_papers(real):
    assert arxiv_rss.parse(real(SUNDAY)) == []


# --- old RDF / RSS 1.0 ---------------------------------------------------------------------------


def test_old_rdf_2018(real):
    papers = arxiv_rss.parse(real(RDF_2018))
    assert [p.id for p in papers] == ["1805.08875", "1805.09166", "1805.06430"]
    first, cross, updated = papers
    assert first.title == "Measurement of Transverse Single Spin Asymmetries"
    assert first.version == 1
    assert first.announce_type == "new"
    assert first.primary_category == "hep-ex"
    assert first.authors == ("Christopher Dilks", "STAR Collaboration")
    # Entity-escaped HTML became text: `&amp;lt;` is a literal `<`, `<p>` is gone, TeX kept.
    assert "$2.6<\\eta<4$" in first.abstract
    assert "<p>" not in first.abstract and "&lt;" not in first.abstract
    assert first.abstract.startswith("In 2015 the first collisions")
    assert first.abstract.endswith("This talk will compare these dependences to those in $p+A$ production.")
    assert "\n" not in first.abstract
    # No per-item date: the channel's dc:date (20:30 -05:00) in UTC.
    assert first.published == datetime(2018, 5, 24, 1, 30, tzinfo=UTC)
    assert cross.title == "Recent Top quark results from the Tevatron"
    assert cross.announce_type == "cross"
    assert cross.abstract == "We present recent measurements"
    assert cross.authors == ("Boris Tuchming",)
    assert updated.title == "New Perspective on Hybrid Mesons"
    assert updated.version == 2
    assert updated.primary_category == "nucl-th"
    assert updated.announce_type == "replace-cross"
    assert updated.categories == ("nucl-th", "hep-ex")
    assert updated.authors == (
        "Shu-Sheng Xu",
        "Zhu-Fang Cui",
        "Lei Chang",
        "Joannis Papavassiliou",
        "Craig D. Roberts",
        "Hong-Shi Zong",
    )
    assert updated.url == "https://arxiv.org/abs/1805.06430"
    assert updated.source_label == "arXiv nucl-th"


def test_old_rdf_2021_title_suffixes(real):
    papers = arxiv_rss.parse(real(RDF_2021))
    assert [(p.id, p.version, p.primary_category, p.announce_type) for p in papers] == [
        ("2107.03419", 1, "hep-ex", "new"),
        ("2106.00550", 2, "math.GR", "cross"),
        ("2007.03939", 2, "hep-ph", "replace-cross"),
    ]
    assert papers[0].title == r"Observation of excited $\Omega_c^0$ baryons in $\Omega_b^- \to \Xi_c^+ K^-\pi^-$ decays"
    assert papers[0].authors == ("LHCb collaboration", "R. Aaij")  # "et al. (909 ...)" dropped
    assert papers[1].title == "Potential applications of modular representation theory to quantum mechanics"
    assert papers[1].categories == ("math.GR", "hep-ex")
    assert papers[2].title == "Fireball tomography from bottomonia elliptic flow in relativistic heavy-ion collisions"
    assert [p.abstract for p in papers] == ["desc1", "desc2", "desc3"]
    assert all(p.updated == datetime(2021, 7, 9, 1, 30, tzinfo=UTC) for p in papers)
    assert [p.published is None for p in papers] == [p.announce_type.startswith("replace") for p in papers]


# --- fetch -------------------------------------------------------------------------------------------


def test_url_joins_categories_with_plus():
    source = ArxivRSSSource("cs.LG+cs.CL", base_url="https://rss.arxiv.org/rss/")
    assert source.url == "https://rss.arxiv.org/rss/cs.LG+cs.CL"
    assert source.name == "arxiv" and source.kind is SourceKind.ARXIV
    with pytest.raises(ValueError, match="ARXIV_CATEGORIES"):
        ArxivRSSSource(" + ")


async def test_fetch_from_fake_server(fake_server, http, real):
    fake_server.serve("/rss/quant-ph+cs.LG", real(QUANT_PH))
    source = ArxivRSSSource("quant-ph+cs.LG", base_url=fake_server.url("/rss"), interval=60)
    papers = await source.fetch(http, None)
    assert len(papers) == 81
    assert fake_server.requests[0].path == "/rss/quant-ph+cs.LG"
    assert fake_server.requests[0].headers["User-Agent"] == "test"


async def test_fetch_empty_weekend_feed(fake_server, http, real):
    fake_server.serve("/rss/cs", real(SUNDAY))
    source = ArxivRSSSource("cs", base_url=fake_server.url("/rss"))
    assert await source.fetch(http, datetime(2025, 4, 26, tzinfo=UTC)) == []


async def test_fetch_not_modified_is_empty(fake_server, http):
    fake_server.serve("/rss/cs", b"", status=304)
    source = ArxivRSSSource("cs", base_url=fake_server.url("/rss"))
    assert await source.fetch(http, None) == []
