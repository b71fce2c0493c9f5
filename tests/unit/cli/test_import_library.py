"""`paperbot import-library`: BibTeX, RIS, Zotero CSL-JSON and plain id lists become a person's
seeds, identified by arXiv id, DOI or exact title through the arXiv API (a fake on 127.0.0.1
that answers with real arXiv API entries from ../shared/fixtures/real)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.cli.import_library import detect_format, read_library
from bot.cli.main import main
from bot.store import Store
from tests.support.fake_server import QuietHandler, http_server_in_thread

REAL = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "real"
LIBRARY = Path(__file__).resolve().parents[2] / "data" / "library"
FIXTURES = (
    "arxiv_api_id_1605.08386.xml",
    "arxiv_api_id_1707.08567_many_authors_utf8.xml",
    "arxiv_api_id_oldstyle_astro-ph_0601001.xml",
    "arxiv_api_legacy_id_2101.05225_2022.xml",
)


def _entries() -> dict[str, tuple[str, str]]:
    """arXiv base id -> (normalized title, <entry> XML) from the real fixtures."""
    found = {}
    for name in FIXTURES:
        text = (REAL / name).read_text(encoding="utf-8")
        entry = re.search(r"<entry>.*?</entry>", text, re.S).group(0)  # type: ignore[union-attr]
        paper_id = re.search(r"<id>https?://arxiv.org/abs/([^<]+?)(v\d+)?</id>", entry).group(1)  # type: ignore[union-attr]
        title = re.search(r"<title>(.*?)</title>", entry, re.S).group(1)  # type: ignore[union-attr]
        found[paper_id] = (re.sub(r"[^a-z0-9]+", " ", title.lower()).strip(), entry)
    return found


ENTRIES = _entries()
SHELL = (REAL / "arxiv_api_empty_result.xml").read_text(encoding="utf-8")


class _FakeArxiv(QuietHandler):
    """id_list= and search_query=ti:"..." answered with the matching real entries."""

    asked: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:  # noqa: N802
        query = parse_qs(urlsplit(self.path).query)
        self.asked.append(query)
        chosen: list[str] = []
        for raw in ",".join(query.get("id_list", [])).split(","):
            base = re.sub(r"v\d+$", "", raw.strip())
            if base in ENTRIES:
                chosen.append(ENTRIES[base][1])
        search = query.get("search_query", [""])[0]
        if search.startswith("ti:"):
            wanted = search[3:].strip('"')
            chosen += [entry for title, entry in ENTRIES.values() if title == wanted]
        self.send_body(SHELL.replace("</feed>", "".join(chosen) + "</feed>").encode(), "application/atom+xml")


@pytest.fixture
def arxiv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A fake arXiv API and a data dir; yields the database path."""
    _FakeArxiv.asked = []
    with http_server_in_thread(_FakeArxiv) as url:
        monkeypatch.setenv("ARXIV_API_URL", f"{url}/api/query")
        monkeypatch.setenv("ARXIV_MIN_DELAY", "0.01")
        monkeypatch.setenv("PAPERBOT_DATA_DIR", str(tmp_path))
        monkeypatch.chdir(tmp_path)
        yield tmp_path / "paperbot.db"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _seeds(db: Path, user: str) -> list[tuple[str, str]]:
    store = Store.open(str(db))
    try:
        platform, _, user_id = user.partition(":")
        return store.feedback.seeds(platform, user_id)
    finally:
        store.close()


def test_formats_are_detected_by_extension_and_content() -> None:
    assert [detect_format(LIBRARY / n, (LIBRARY / n).read_text()) for n in ("zotero.bib", "zotero.ris", "zotero_csl.json", "ids.txt")] == [
        "bibtex", "ris", "csl-json", "ids",
    ]
    assert detect_format(Path("export.txt"), "@article{x, title={T}}") == "bibtex"
    assert detect_format(Path("export.txt"), "TY  - JOUR\nER  - \n") == "ris"


def test_bibtex_fields_are_read_with_nested_braces_and_quotes() -> None:
    kind, entries = read_library(LIBRARY / "zotero.bib")
    by_key = {e.label: e for e in entries}
    assert kind == "bibtex" and len(entries) == 6
    assert by_key["koyama2016heatbath"].arxiv_id == "1605.08386"
    assert by_key["udalski2006hotjupiters"].arxiv_id == "astro-ph/0601001"
    assert by_key["udalski2006hotjupiters"].title and by_key["udalski2006hotjupiters"].title.startswith("Frequency of Hot Jupiters")
    assert by_key["consistency2021"].arxiv_id == "2101.05225"  # from the arXiv DOI
    assert by_key["aew10"].arxiv_id is None and by_key["aew10"].title
    assert by_key["notonarxiv"].doi == "10.1007/978-3-030-12345-6"


def test_bibtex_import_matches_by_id_doi_and_title_and_explains_the_rest(
    arxiv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(capsys, "import-library", str(LIBRARY / "zotero.bib"), "--user", "discord:42")
    assert code == 0, out
    assert "zotero.bib (bibtex): matched 4 of 6 entries (3 by arXiv id, 1 by title); 4 new positives for discord:42." in out
    assert "not matched: notonarxiv — DOI 10.1007/978-3-030-12345-6 is not an arXiv paper paperbot knows, and no arXiv paper has exactly this title" in out
    assert "not matched: emptyentry — no arXiv id, DOI or title" in out
    seeds = _seeds(arxiv, "discord:42")
    assert sorted(pid for pid, _ in seeds) == ["1605.08386", "1707.08567", "2101.05225", "astro-ph/0601001"]
    assert {origin for _, origin in seeds} == {"import"}
    # Ids were looked up in one request; the title by a ti:"..." search.
    assert any("id_list" in q for q in _FakeArxiv.asked) and any(q.get("search_query", [""])[0].startswith("ti:") for q in _FakeArxiv.asked)
    # Importing again adds nothing new.
    code, out = _run(capsys, "import-library", str(LIBRARY / "zotero.bib"), "--user", "discord:42")
    assert "0 new positives" in out and "(4 were already there)" in out


@pytest.mark.parametrize(
    ("library", "user", "summary", "not_matched", "seeds"),
    [
        pytest.param(
            "zotero.ris", "slack:U1", "zotero.ris (ris): matched 3 of 4 entries (2 by arXiv id, 1 by title)",
            ["not matched: A Journal Paper Without Any Preprint — DOI 10.1145/3000000.3000001 is not an arXiv paper"],
            ["1605.08386", "1707.08567", "2101.05225"],
            id="ris",
        ),
        pytest.param(
            "zotero_csl.json", "console:ada", "zotero_csl.json (csl-json): matched 3 of 4 entries (2 by arXiv id, 1 by title)",
            ["not matched: Nothing Like This Exists on arXiv"],
            ["1605.08386", "1707.08567", "astro-ph/0601001"],
            id="zotero-csl-json",
        ),
        pytest.param(
            "ids.txt", "console:ada", "ids.txt (ids): matched 4 of 6 entries (4 by arXiv id)",
            ["not matched: not-an-id — no arXiv id, DOI or title", "not matched: 0000.00000"],
            ["1605.08386", "1707.08567", "2101.05225", "astro-ph/0601001"],
            id="plain-id-list",
        ),
    ],
)
def test_import_of_each_format_matches_what_arxiv_has_and_explains_the_rest(
    arxiv: Path, capsys: pytest.CaptureFixture[str], library: str, user: str, summary: str, not_matched: list[str], seeds: list[str]
) -> None:
    code, out = _run(capsys, "import-library", str(LIBRARY / library), "--user", user)
    assert code == 0, out
    assert summary in out
    for line in not_matched:
        assert line in out
    assert sorted(pid for pid, _ in _seeds(arxiv, user)) == seeds


def test_bad_usage_is_one_line(arxiv: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = _run(capsys, "import-library", str(LIBRARY / "ids.txt"), "--user", "nobody")
    assert code == 2 and "PLATFORM:USER_ID" in out and "Traceback" not in out
    code, out = _run(capsys, "import-library", str(tmp_path / "missing.bib"), "--user", "console:ada")
    assert code == 2 and "cannot read" in out
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    code, out = _run(capsys, "import-library", str(broken), "--user", "console:ada")
    assert code == 2 and "not valid csl-json" in out
