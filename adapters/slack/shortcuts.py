"""Message shortcuts (a message's "…" menu): each runs a `/papers` command about the arXiv paper
the message links, and answers privately. One table, `SHORTCUTS`, feeds both the listener and
the app manifest, so a shortcut is offered exactly when it is handled.

A shortcut's command is `/papers` text with `{id}` for the paper's arXiv id, found anywhere in
the message: its text, its blocks (links and texts) and its attachments (arxiv.org abs/pdf/html
links, `arXiv:2504.17830` mentions, Hugging Face paper pages; bot.core.ids.find_arxiv_id).

The shortcuts: "Paper details" (`paper {id}`), "Save paper" (`save {id}`: the paper joins the
person's saved list, and their App Home shows it) and "More like this" (`similar {id}`: the
stored papers closest to it). Every answer is private, like the commands they run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from bot.core.ids import find_arxiv_id


@dataclass(frozen=True, slots=True)
class Shortcut:
    """One message shortcut: its callback id, what Slack's menu shows, the command it runs."""

    callback_id: str
    name: str  # at most 24 characters in Slack's menu
    description: str  # at most 40
    command: str  # `/papers` text; `{id}` is the linked paper's arXiv id


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("paperbot_paper", "Paper details", "Summary and methods of the linked paper", "paper {id}"),
    Shortcut("paperbot_save", "Save paper", "Save the linked paper to your list", "save {id}"),
    Shortcut("paperbot_similar", "More like this", "Papers like the linked one", "similar {id}"),
)


def shortcut_for(callback_id: str) -> Shortcut | None:
    """The shortcut with this callback id, or None."""
    return next((s for s in SHORTCUTS if s.callback_id == callback_id), None)


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def linked_paper(message: Mapping[str, object]) -> str | None:
    """The arXiv id (base, no version) of the first paper a message links or mentions."""
    for key in ("text", "blocks", "attachments"):
        for text in _strings(message.get(key)):
            found = find_arxiv_id(text)
            if found is not None:
                return found.base
    return None
