"""arXiv identifier parsing and normalization, and stable ids for items that are not arXiv papers.

Accepted forms (new style `YYMM.NNNN[N]` and old style `archive[.CLASS]/YYMMNNN`, each with an
optional `vN`): bare ids, `arXiv:` prefixes, abs/pdf/html URLs (http or https or no scheme,
export. or www., optional `.pdf`), OAI identifiers (`oai:arXiv.org:2504.17830v1`), and Hugging
Face paper pages (`huggingface.co/papers/2504.17830`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# `(?!\d)`: a longer run of digits is not an id, never a truncated one.
_NEW_STYLE = r"(?P<new>\d{4}\.\d{4,5}(?!\d))"
_OLD_STYLE = r"(?P<old>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}(?!\d))"
_VERSION = r"(?:v(?P<version>\d+))?"
_ID = rf"(?:{_NEW_STYLE}|{_OLD_STYLE}){_VERSION}"

_BARE = re.compile(rf"^{_ID}$", re.IGNORECASE)
_PREFIXED = re.compile(rf"^(?:arxiv:\s*|oai:arxiv\.org:){_ID}$", re.IGNORECASE)
_URL = re.compile(
    rf"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format)/{_ID}(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_HF_URL = re.compile(
    rf"^(?:https?://)?(?:www\.)?huggingface\.co/papers/{_NEW_STYLE}{_VERSION}/?(?:[?#].*)?$", re.IGNORECASE
)
# Used to find an arXiv paper mentioned inside free text (Reddit posts, blog entries).
_IN_TEXT = re.compile(
    rf"(?:arxiv\.org/(?:abs|pdf|html)/|arxiv(?:\.org)?:\s?)(?:{_NEW_STYLE}|{_OLD_STYLE}){_VERSION}",
    re.IGNORECASE,
)
_HF_PAPER_URL = re.compile(r"huggingface\.co/papers/(?P<new>\d{4}\.\d{4,5})(?!\d)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ArxivId:
    """A parsed arXiv id: `base` without version, `version` or None when the form had none."""

    base: str
    version: int | None = None

    def __str__(self) -> str:
        return f"{self.base}v{self.version}" if self.version else self.base

    @property
    def abs_url(self) -> str:
        """The canonical https abstract page of this paper (versionless)."""
        return f"https://arxiv.org/abs/{self.base}"


def _from_match(match: re.Match[str]) -> ArxivId:
    new = match.group("new")
    old = match.group("old") if "old" in match.re.groupindex else None
    if old:
        archive, number = old.split("/")
        # The subject class (`math.GR/...`) is not part of the identity of old-style ids.
        base = f"{archive.split('.')[0].lower()}/{number}"
    else:
        base = new
    version = match.group("version")
    return ArxivId(base=base, version=int(version) if version else None)


def parse_arxiv_id(text: str) -> ArxivId | None:
    """Parse one arXiv id in any accepted form; None when `text` is not an arXiv id."""
    candidate = text.strip().strip("<>").strip()
    for pattern in (_BARE, _PREFIXED, _URL, _HF_URL):
        match = pattern.match(candidate)
        if match:
            return _from_match(match)
    return None


def find_arxiv_id(text: str) -> ArxivId | None:
    """Find the first arXiv paper referenced in free text (links, `arXiv:` mentions, HF paper pages)."""
    match = _IN_TEXT.search(text)
    if match:
        return _from_match(match)
    hf = _HF_PAPER_URL.search(text)
    if hf:
        return ArxivId(base=hf.group("new"))
    return None


def item_id(kind: str, stable_key: str) -> str:
    """A stable id for a non-arXiv item, e.g. `feed:3f2a...` from its guid or URL."""
    digest = hashlib.sha1(stable_key.strip().encode("utf-8")).hexdigest()[:16]
    return f"{kind}:{digest}"


def is_arxiv_base(paper_id: str) -> bool:
    """Whether a stored paper id is an arXiv base id (as opposed to a feed/reddit item id)."""
    # Only the normalized form counts: no version, no prefix, lower-case archive.
    parsed = parse_arxiv_id(paper_id) if _BARE.match(paper_id) else None
    return parsed is not None and parsed.version is None and parsed.base == paper_id


# --- ids qualified by their workspace -----------------------------------------------------------
# Slack ids (channels, users) are unique only within one workspace, so a distributed app that
# serves many workspaces keeps them as `T123:C456`; the store keys (`slack:T123:C456`) then never
# meet across workspaces, and delivery reads the workspace (and so the token) off the destination.


def scoped_id(workspace_id: str, local_id: str) -> str:
    """`local_id` qualified by its workspace (`T123:C456`); unchanged when there is no workspace."""
    return f"{workspace_id}:{local_id}" if workspace_id else local_id


def split_scoped_id(value: str) -> tuple[str, str]:
    """(workspace id, local id) of a `scoped_id`; ("", value) for an id without a workspace."""
    workspace, sep, local = value.partition(":")
    return (workspace, local) if sep else ("", value)


def scope_prefix(workspace_id: str) -> str:
    """What every id of one workspace starts with (`T123:`)."""
    return f"{workspace_id}:"
