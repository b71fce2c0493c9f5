"""`paperbot import-library FILE --user PLATFORM:USER_ID`: a reference library as seeds.

Reads a BibTeX file, an RIS file, a Zotero CSL-JSON export, or a plain list of arXiv ids and
URLs (one or more a line), identifies each entry as an arXiv paper and adds the matches to that
person's positives (seeds of origin "import", weighted a little below a like):

1. by arXiv id: an `eprint` field, an arxiv.org URL, an arXiv DOI (10.48550/arXiv.<id>), a
   CSL `number` like `arXiv:2504.17830`, or the line itself;
2. by DOI: a stored paper with that DOI;
3. by exact title: a stored paper, else the arXiv API (`ti:"..."`) when one result has the
   same title (ignoring case, spacing and punctuation).

Papers found on arXiv are stored. It prints how many entries matched and, for each one that did
not, why. Exit status 0 when the file was read (even if nothing matched), 2 on bad usage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.app.runtime import build_runtime
from bot.core.errors import SourceError
from bot.core.ids import parse_arxiv_id
from bot.core.models import Paper
from bot.fetch.sources.arxiv_api import ArxivAPISource
from bot.settings import Settings, make_clock

ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf|html)/([^\s?#\"'}]+)", re.IGNORECASE)
_ID_IN_TEXT = re.compile(r"(?:arxiv:\s*)?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Entry:
    """One reference as the file gives it."""

    label: str  # how the report names it: the citation key, the title, or the line
    arxiv_id: str | None = None
    doi: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one entry was identified (paper_id) or why not (reason)."""

    entry: Entry
    paper_id: str | None
    how: str  # "arXiv id" | "DOI" | "title" | ""
    reason: str = ""


# --- reading the formats -------------------------------------------------------------------------


def detect_format(path: Path, text: str) -> str:
    """bibtex, ris, csl-json or ids, from the extension or, failing that, the content."""
    suffix = path.suffix.lower()
    if suffix in (".bib", ".bibtex"):
        return "bibtex"
    if suffix == ".ris":
        return "ris"
    if suffix == ".json":
        return "csl-json"
    stripped = text.lstrip()
    if stripped.startswith("@"):
        return "bibtex"
    if re.match(r"^TY  - ", stripped):
        return "ris"
    if stripped.startswith(("[", "{")):
        return "csl-json"
    return "ids"


def arxiv_id_from(*values: str | None) -> str | None:
    """The first arXiv base id found in these values (ids, URLs, arXiv DOIs, `arXiv:` numbers)."""
    for value in values:
        if not value:
            continue
        value = value.strip()
        doi = ARXIV_DOI.match(value)
        candidates = [doi.group(1)] if doi else []
        candidates += ARXIV_URL.findall(value)
        candidates.append(value)
        for candidate in candidates:
            parsed = parse_arxiv_id(candidate.rstrip(".,;").removesuffix(".pdf"))
            if parsed is not None:
                return parsed.base
    return None


def _bibtex_entries(text: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(citation key, lower-cased field -> value) for each entry; values lose their braces."""
    position = 0
    while (start := text.find("@", position)) != -1:
        opening = text.find("{", start)
        if opening == -1:
            return
        kind = text[start + 1 : opening].strip().lower()
        depth, end = 0, opening
        for end in range(opening, len(text)):
            if text[end] == "{":
                depth += 1
            elif text[end] == "}":
                depth -= 1
                if depth == 0:
                    break
        body = text[opening + 1 : end]
        position = end + 1
        if kind in ("comment", "preamble", "string"):
            continue
        key, _, rest = body.partition(",")
        yield key.strip(), _bibtex_fields(rest)


def _bibtex_fields(body: str) -> dict[str, str]:
    """name = {value} | "value" | bare, separated by commas; braces inside values kept balanced."""
    fields: dict[str, str] = {}
    name_pattern = re.compile(r"[\s,]*([A-Za-z][\w\-]*)\s*=\s*")
    at = 0
    while (match := name_pattern.match(body, at)) is not None:
        name, at = match.group(1).lower(), match.end()
        value, at = _bibtex_value(body, at)
        fields[name] = " ".join(value.replace("{", "").replace("}", "").split())
    return fields


def _bibtex_value(body: str, at: int) -> tuple[str, int]:
    """The value starting at `at` and where it ends."""
    if at >= len(body):
        return "", at
    opener = body[at]
    if opener not in "{\"":
        end = body.find(",", at)
        end = len(body) if end == -1 else end
        return body[at:end].strip(), end
    depth = 0
    for i in range(at, len(body)):
        char = body[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if opener == "{" and depth == 0:
                return body[at + 1 : i], i + 1
        elif char == '"' and opener == '"' and i > at and depth == 0:
            return body[at + 1 : i], i + 1
    return body[at + 1 :], len(body)


def read_bibtex(text: str) -> list[Entry]:
    """BibTeX entries (Zotero, Google Scholar, arXiv's own export)."""
    entries = []
    for key, fields in _bibtex_entries(text):
        eprint = fields.get("eprint") if fields.get("archiveprefix", "arxiv").lower() == "arxiv" else None
        arxiv = arxiv_id_from(eprint, fields.get("doi"), fields.get("url"), fields.get("journal"), fields.get("note"), fields.get("howpublished"))
        entries.append(Entry(key or fields.get("title", "?"), arxiv, fields.get("doi"), fields.get("title")))
    return entries


def read_ris(text: str) -> list[Entry]:
    """RIS records (TY ... ER)."""
    entries: list[Entry] = []
    record: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Z][A-Z0-9])  -\s?(.*)$", line)
        if not match:
            continue
        tag, value = match.group(1), match.group(2).strip()
        if tag == "ER":
            entries.append(_ris_entry(record))
            record = {}
        else:
            record.setdefault(tag, []).append(value)
    if record:
        entries.append(_ris_entry(record))
    return entries


def _ris_entry(record: dict[str, list[str]]) -> Entry:
    titles = record.get("TI") or record.get("T1") or record.get("CT") or []
    title = titles[0] if titles else None
    dois = record.get("DO") or []
    doi = dois[0] if dois else None
    links = [*record.get("UR", []), *record.get("L1", []), *record.get("L2", []), *record.get("N1", []), *record.get("M3", [])]
    return Entry(title or doi or "untitled record", arxiv_id_from(doi, *links), doi, title)


def read_csl_json(text: str) -> list[Entry]:
    """CSL-JSON items (Zotero's "CSL JSON" export, a list of objects)."""
    data: Any = json.loads(text)
    items = data if isinstance(data, list) else data.get("items", []) if isinstance(data, dict) else []
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        title = item.get("title") if isinstance(item.get("title"), str) else None
        doi = item.get("DOI") if isinstance(item.get("DOI"), str) else None
        values = [item.get(k) for k in ("number", "URL", "archive_location", "id") if isinstance(item.get(k), str)]
        entries.append(Entry(title or doi or str(item.get("id", "untitled item")), arxiv_id_from(doi, *values), doi, title))
    return entries


def read_ids(text: str) -> list[Entry]:
    """A plain list: arXiv ids or URLs, any number a line; # starts a comment."""
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip() if not line.strip().startswith("http") else line.strip()
        if not line:
            continue
        for word in line.replace(",", " ").split():
            entries.append(Entry(word, arxiv_id_from(word)))
    return entries


READERS = {"bibtex": read_bibtex, "ris": read_ris, "csl-json": read_csl_json, "ids": read_ids}


def read_library(path: Path) -> tuple[str, list[Entry]]:
    """The file's format and its entries; ValueError (bad usage) when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    kind = detect_format(path, text)
    try:
        return kind, READERS[kind](text)
    except (ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not valid {kind}: {exc}") from None


# --- identifying -------------------------------------------------------------------------------


def _normal_title(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


async def identify(entries: list[Entry], store: Any, http: Any, api: ArxivAPISource, now: Any) -> list[Outcome]:
    """An Outcome per entry (see the module for the order of the rules)."""
    wanted = sorted({e.arxiv_id for e in entries if e.arxiv_id and store.papers.get(e.arxiv_id) is None})
    fetched: list[Paper] = []
    lookup_error = ""
    if wanted:
        try:
            fetched = await api.fetch_ids(http, wanted)
        except SourceError as exc:
            lookup_error = f"arXiv could not be asked ({exc})"
    if fetched:
        store.papers.ingest(fetched, now)
    outcomes = []
    for entry in entries:
        if entry.arxiv_id:
            if store.papers.get(entry.arxiv_id) is not None:
                outcomes.append(Outcome(entry, entry.arxiv_id, "arXiv id"))
            else:
                outcomes.append(Outcome(entry, None, "", lookup_error or f"arXiv has no paper {entry.arxiv_id}"))
            continue
        if entry.doi:
            by_doi = store.papers.ids_by_doi(entry.doi)
            if by_doi:
                outcomes.append(Outcome(entry, by_doi[0], "DOI"))
                continue
        if entry.title:
            found, reason = await _by_title(entry.title, store, http, api, now)
            if found:
                outcomes.append(Outcome(entry, found, "title"))
            else:
                doi_part = f"DOI {entry.doi} is not an arXiv paper paperbot knows, and " if entry.doi else ""
                outcomes.append(Outcome(entry, None, "", doi_part + reason))
            continue
        outcomes.append(
            Outcome(entry, None, "", f"DOI {entry.doi} is not an arXiv paper paperbot knows, and there is no title" if entry.doi else "no arXiv id, DOI or title")
        )
    return outcomes


async def _by_title(title: str, store: Any, http: Any, api: ArxivAPISource, now: Any) -> tuple[str | None, str]:
    stored = store.papers.ids_by_title(title)
    if stored:
        return stored[0], ""
    words = _normal_title(title)
    if not words:
        return None, "its title has no words to search for"
    try:
        page = await api.search(http, f'ti:"{words}"', max_results=5)
    except SourceError as exc:
        return None, f"arXiv could not be asked ({exc})"
    same = [p for p in page.papers if _normal_title(p.title) == words]
    if not same:
        return None, "no arXiv paper has exactly this title"
    store.papers.ingest(same[:1], now)
    return same[0].id, ""


# --- the command -------------------------------------------------------------------------------


def parse_user(value: str) -> tuple[str, str]:
    """`discord:1234` -> ("discord", "1234"); ValueError otherwise."""
    platform, _, user_id = value.partition(":")
    if not platform or not user_id or " " in value:
        raise ValueError(f"--user {value!r} must look like PLATFORM:USER_ID, e.g. slack:U0123 or discord:1234")
    return platform.lower(), user_id


async def import_library(settings: Settings, path: Path, user: str, out: TextIO) -> int:
    """Read, identify, add as seeds, and report."""
    platform, user_id = parse_user(user)
    kind, entries = read_library(path)
    runtime = await build_runtime(settings, clock=make_clock(settings))
    try:
        api = ArxivAPISource(settings, clock=runtime.clock)
        outcomes = await identify(entries, runtime.store, runtime.http, api, runtime.clock())
        matched = [o for o in outcomes if o.paper_id]
        ids = list(dict.fromkeys(o.paper_id for o in matched if o.paper_id))
        added = 0
        if ids and runtime.ranker is not None:
            await runtime.ranker.refresh()
            added = await runtime.ranker.seed(platform, user_id, ids, origin="import")
        ways = {how: sum(1 for o in matched if o.how == how) for how in ("arXiv id", "DOI", "title")}
        detail = ", ".join(f"{n} by {how}" for how, n in ways.items() if n)
        out.write(
            f"{path.name} ({kind}): matched {len(matched)} of {len(entries)} entries"
            + (f" ({detail})" if detail else "")
            + f"; {added} new positives for {platform}:{user_id}"
            + (f" ({len(ids) - added} were already there)" if len(ids) > added else "")
            + ".\n"
        )
        for outcome in outcomes:
            if not outcome.paper_id:
                out.write(f"  not matched: {outcome.entry.label[:100]} — {outcome.reason}\n")
        return 0
    finally:
        await runtime.close()
