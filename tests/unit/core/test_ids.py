"""The arXiv id normalization table (bot/ids.py)."""

from __future__ import annotations

import pytest

from bot.core.ids import ArxivId, find_arxiv_id, is_arxiv_base, item_id, parse_arxiv_id

# (input, base, version); version None when the form carries none.
PARSED = [
    # new style, 5 and 4 digits
    ("2504.17830", "2504.17830", None),
    ("2504.17830v2", "2504.17830", 2),
    ("2504.17830V2", "2504.17830", 2),
    ("0704.0001", "0704.0001", None),
    ("1234.5678v12", "1234.5678", 12),
    ("  2504.17830 \n", "2504.17830", None),
    ("<2504.17830>", "2504.17830", None),
    # prefixes
    ("arXiv:2504.17830v1", "2504.17830", 1),
    ("arxiv: 2504.17830", "2504.17830", None),
    ("oai:arXiv.org:2504.17830v1", "2504.17830", 1),
    ("oai:arXiv.org:hep-th/9901001v3", "hep-th/9901001", 3),
    # URLs
    ("https://arxiv.org/abs/2504.17830v3", "2504.17830", 3),
    ("http://arxiv.org/abs/2504.17830", "2504.17830", None),
    ("https://www.arxiv.org/abs/2504.17830?context=cs", "2504.17830", None),
    ("https://arxiv.org/abs/2504.17830/", "2504.17830", None),
    ("https://arxiv.org/abs/2504.17830v1#section", "2504.17830", 1),
    ("https://arxiv.org/pdf/2504.17830v1.pdf", "2504.17830", 1),
    ("https://arxiv.org/pdf/2504.17830", "2504.17830", None),
    ("https://arxiv.org/html/2504.17830v1", "2504.17830", 1),
    ("arxiv.org/abs/2504.17830", "2504.17830", None),
    ("http://export.arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001", 2),
    ("https://huggingface.co/papers/2504.17830", "2504.17830", None),
    ("huggingface.co/papers/2410.17243?utm=x", "2410.17243", None),
    # old style: archive lower-cased, subject class dropped
    ("hep-th/9901001", "hep-th/9901001", None),
    ("HEP-TH/9901001", "hep-th/9901001", None),
    ("math.GR/0301001", "math/0301001", None),
    ("Math.GR/0301001v2", "math/0301001", 2),
    ("q-bio/0401001", "q-bio/0401001", None),
    ("cond-mat/0102536v1", "cond-mat/0102536", 1),
    ("astro-ph/0601001", "astro-ph/0601001", None),
]


@pytest.mark.parametrize(("text", "base", "version"), PARSED)
def test_parse_arxiv_id(text, base, version):
    assert parse_arxiv_id(text) == ArxivId(base, version)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "2504.178301",  # too many digits is not a truncated id
        "25041.7830",
        "2504-17830",
        "hep-th/990100",
        "hep-th/99010011",
        "https://example.com/abs/2504.17830",
        "https://alphaxiv.org/abs/2504.17830x",
        "https://huggingface.co/papers/hep-th/9901001",
        "see 2504.17830",
    ],
)
def test_not_an_arxiv_id(text):
    assert parse_arxiv_id(text) is None


def test_str_and_abs_url():
    assert str(ArxivId("2504.17830", 2)) == "2504.17830v2"
    assert str(ArxivId("hep-th/9901001")) == "hep-th/9901001"
    assert ArxivId("hep-th/9901001", 1).abs_url == "https://arxiv.org/abs/hep-th/9901001"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Check out https://arxiv.org/abs/2504.17830v2.", ArxivId("2504.17830", 2)),
        ("[paper](https://arxiv.org/pdf/2504.17830.pdf)", ArxivId("2504.17830")),
        ("two: arxiv.org/abs/2401.00001 and arxiv.org/abs/2401.00002", ArxivId("2401.00001")),
        ("as in arXiv: 1805.09166", ArxivId("1805.09166")),
        ("(arXiv:1805.09166v1 [hep-ex] CROSS LISTED)", ArxivId("1805.09166", 1)),
        ("arXiv:hep-th/9901001v1", ArxivId("hep-th/9901001", 1)),
        ("http://export.arxiv.org/abs/math.GR/0301001", ArxivId("math/0301001")),
        ("ARXIV.ORG/ABS/2504.17830", ArxivId("2504.17830")),
        ("guid oai:arXiv.org:2504.17830v1", ArxivId("2504.17830", 1)),
        ("https://huggingface.co/papers/2410.17243", ArxivId("2410.17243")),
        ("https://arxiv.org/abs/2401.00001v10", ArxivId("2401.00001", 10)),
        ("no link here 2504.17830", None),
        ("arxiv.org/abs/2504.178301", None),
        ("huggingface.co/papers/2410.172431", None),
        ("", None),
    ],
)
def test_find_arxiv_id(text, expected):
    assert find_arxiv_id(text) == expected


@pytest.mark.parametrize(
    ("paper_id", "expected"),
    [
        ("2504.17830", True),
        ("0704.0001", True),
        ("hep-th/9901001", True),
        ("2504.17830v1", False),
        ("HEP-TH/9901001", False),  # stored ids are normalized
        ("math.GR/0301001", False),
        ("arXiv:2504.17830", False),
        ("reddit:t3_abc", False),
        ("feed:0123456789abcdef", False),
        ("", False),
    ],
)
def test_is_arxiv_base(paper_id, expected):
    assert is_arxiv_base(paper_id) is expected


def test_item_id_is_stable_and_kind_prefixed():
    first = item_id("feed", "https://blog.example.com/post/1")
    assert first == item_id("feed", "  https://blog.example.com/post/1 ")
    assert first.startswith("feed:") and len(first) == len("feed:") + 16
    assert first != item_id("feed", "https://blog.example.com/post/2")
    assert not is_arxiv_base(first)
