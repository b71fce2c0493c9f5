"""Pure rendering of a `Reply` into Discord message payloads ("parts").

A part is a JSON-serializable dict `{"content": str, "embeds": [embed dicts], "components":
[action rows]}` in the shape of Discord's REST API, so it can be kept in the outbox and sent
later exactly as it was split. Each paper is one embed (linked title, TL;DR and key points,
fields for source, age and tags); a titled group (a digest's topic) starts a new message whose
content names the group; the reply's header and text lead the first message.

Limits respected in every part (Discord's documented limits): content 2,000 characters; at most
10 embeds and 6,000 characters across them; title 256, description 4,096, 25 fields of name 256
and value 1,024, footer 2,048; 5 action rows of 5 buttons; custom_id 100, label 80.
Long text is truncated with an ellipsis, never rejected.

Buttons: each paper has a "Details" button (packed five to a row); in a reply that offers
feedback each paper instead gets a row of its own: Details, 👍 Relevant, 👎 Not for me,
🔖 Save and More like this (bot.chat.view decides which), so a message then holds at most five
papers (four with the Share row). custom_ids name the action and the paper
(`paperbot:act:like:2504.17830`), so a click works after any restart.

External text (titles, abstracts, summaries, Reddit posts, error messages echoing user input) is
made inert: control characters dropped, markdown escaped, and a zero-width space placed after
every `@` and `<`, so `@everyone`, `<@123>`, `<#1>`, `<t:0>` and `**x**` arrive as plain text.
Messages are also sent with mentions disabled (see client.py), so this is belt and braces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from discord.utils import escape_markdown

from adapters.discord.types import ActionRow, ButtonComponent, Embed, EmbedField, MessagePayload
from bot.chat.present import source_line, web_url
from bot.chat.view import ItemAction, ItemView, reply_views
from bot.core.models import Reply, SourceKind
from bot.core.text import printable

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_ROWS = 5
MAX_BUTTONS_PER_ROW = 5
MAX_CUSTOM_ID = 100
MAX_LABEL = 80
MAX_URL = 2048

DETAILS_PREFIX = "paperbot:details:"
ACTION_PREFIX = "paperbot:act:"
SHARE_ID = "paperbot:share"

# Budgets below the hard limits keep a typical item small enough that several fit per message.
_TLDR_CHARS = 600
_POINT_CHARS = 400
_ABSTRACT_CHARS = 700
_DETAIL_ABSTRACT_CHARS = 3500
_AUTHORS_SHOWN = 12

_BUTTON_SECONDARY = 2
_BUTTON_PRIMARY = 1
BUTTON_SUCCESS = 3
BUTTON_DANGER = 4

_COLORS = {
    SourceKind.ARXIV: 0xB31B1B,
    SourceKind.HF: 0xFFD21E,
    SourceKind.REDDIT: 0xFF4500,
    SourceKind.FEED: 0x5865F2,
}
_NOTE_COLOR = 0x99AAB5
_ERROR_PREFIX = "\u26a0\ufe0f "
_ZWSP = "\u200b"
_SPACES = re.compile(r"[ \t\r\f\v]+")


# --- making external text inert ---------------------------------------------------------------


def _printable(text: str, *, newlines: bool) -> str:
    """Drop control characters (newlines optionally kept) and collapse runs of spaces."""
    kept = printable(text, keep_newlines=newlines)
    if not newlines:
        return " ".join(kept.split())
    return "\n".join(_SPACES.sub(" ", line).strip() for line in kept.split("\n")).strip()


def neutralize(text: str) -> str:
    """Break every mention-like sequence with a zero-width space (`@everyone`, `<@1>`, `<#1>`)."""
    return text.replace("@", "@" + _ZWSP).replace("<", "<" + _ZWSP)


def inert(text: str, *, newlines: bool = True) -> str:
    """External text made safe for places where Discord renders markdown and mentions."""
    return neutralize(escape_markdown(_printable(text, newlines=newlines)))


def plain(text: str) -> str:
    """External text for places that do not render markdown (footers, author names, labels)."""
    return neutralize(_printable(text, newlines=False))


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending in an ellipsis when cut; never a dangling escape."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rstrip()
    # An odd number of trailing backslashes would escape the ellipsis (or break our markup).
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut + "\u2026"


def safe_url(url: str) -> str | None:
    """The URL when it is a well-formed http(s) URL Discord will accept; otherwise None."""
    checked = web_url(url, MAX_URL)
    if checked is None or any(ch.isspace() or not ch.isprintable() for ch in checked):
        return None
    return checked


# --- sizes ------------------------------------------------------------------------------------


def embed_length(embed: Embed) -> int:
    """Characters Discord counts toward the 6,000 limit: title, description, fields, footer, author."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    footer, author = embed.get("footer"), embed.get("author")
    total += len(footer["text"]) if footer else 0
    total += len(author["name"]) if author else 0
    return total


def _fit(embed: Embed, limit: int = MAX_EMBED_TOTAL) -> Embed:
    """Shrink the longest texts of one embed until it fits `limit` characters in total."""
    while embed_length(embed) > limit:
        excess = embed_length(embed) - limit
        fields = embed.get("fields", [])
        longest = max(fields, key=lambda f: len(f["value"]), default=None)
        description = embed.get("description", "")
        if longest is not None and len(longest["value"]) >= len(description):
            longest["value"] = clip(longest["value"], max(1, len(longest["value"]) - excess - 1))
        elif description:
            embed["description"] = clip(description, max(1, len(description) - excess - 1))
        else:  # only title/footer left; cannot happen with our budgets, but never loop forever
            embed["title"] = clip(embed.get("title", ""), 64)
            footer = embed.get("footer")
            if footer:
                footer["text"] = clip(footer["text"], 64)
            break
    return embed


# --- one paper --------------------------------------------------------------------------------


def details_custom_id(paper_id: str) -> str | None:
    """The custom_id of a paper's Details button (None when the id would be too long)."""
    custom_id = DETAILS_PREFIX + paper_id
    return custom_id if len(custom_id) <= MAX_CUSTOM_ID else None


def paper_id_from_custom_id(custom_id: str) -> str | None:
    """The paper id inside a Details button's custom_id, or None for other components."""
    if custom_id.startswith(DETAILS_PREFIX) and len(custom_id) > len(DETAILS_PREFIX):
        return custom_id[len(DETAILS_PREFIX) :]
    return None


def action_custom_id(action: ItemAction, paper_id: str) -> str | None:
    """The custom_id of a paper's action button (None when the id would be too long)."""
    custom_id = f"{ACTION_PREFIX}{action.value}:{paper_id}"
    return custom_id if len(custom_id) <= MAX_CUSTOM_ID else None


def action_from_custom_id(custom_id: str) -> tuple[ItemAction, str] | None:
    """(action, paper id) of an action button's custom_id, or None for other components."""
    if not custom_id.startswith(ACTION_PREFIX):
        return None
    name, _, paper_id = custom_id[len(ACTION_PREFIX) :].partition(":")
    try:
        return ItemAction(name), paper_id
    except ValueError:
        return None


def item_buttons(view: ItemView, *, details: bool) -> list[ButtonComponent]:
    """A paper's buttons: Details (unless the details are shown) and its actions."""
    buttons: list[ButtonComponent] = []
    custom_id = details_custom_id(view.paper_id) if details else None
    if custom_id is not None:
        buttons.append({"type": 2, "style": _BUTTON_SECONDARY, "label": f"Details #{view.number}", "custom_id": custom_id})
    for action in view.actions:
        action_id = action_custom_id(action, view.paper_id)
        if action_id is not None:
            label = f"{action.label} #{view.number}" if action is ItemAction.LIKE else action.label
            buttons.append({"type": 2, "style": _BUTTON_SECONDARY, "label": clip(label, MAX_LABEL), "custom_id": action_id})
    return buttons[:MAX_BUTTONS_PER_ROW]


def _field(name: str, value: str, *, inline: bool) -> EmbedField:
    return {"name": clip(name, MAX_FIELD_NAME), "value": clip(value, MAX_FIELD_VALUE), "inline": inline}


def _age_markup(view: ItemView) -> str:
    # Discord renders <t:unix:R> as a live relative time ("16 hours ago") in the reader's locale.
    return f"<t:{int(view.published.timestamp())}:R>" if view.published is not None else ""


def paper_embed(view: ItemView, source: str, *, details: bool = False) -> Embed:
    """One paper as an embed: linked title, TL;DR and key points, source/age/tags fields.

    `source` is the paper's source line without ages (the Age field shows a live relative
    time). With `details`, the detail sections and the authors are added as fields. The result
    always fits Discord's limits for one embed.
    """
    embed: Embed = {
        "title": clip(f"{view.number}. " + inert(view.title, newlines=False), MAX_TITLE),
        "color": _COLORS.get(view.source_kind, _NOTE_COLOR),
    }
    url = safe_url(view.url or "")
    if url:
        embed["url"] = url
    lines: list[str] = []
    if view.has_summary:
        if view.tldr:
            lines.append("**TL;DR:** " + clip(inert(view.tldr, newlines=False), _TLDR_CHARS))
        lines.extend("\u2022 " + clip(inert(point, newlines=False), _POINT_CHARS) for point in view.key_points)
    elif view.preview:
        budget = _DETAIL_ABSTRACT_CHARS if details else _ABSTRACT_CHARS
        lines.append(clip(inert(view.preview, newlines=False), budget))
    if lines:
        embed["description"] = clip("\n".join(lines), MAX_DESCRIPTION)
    fields: list[EmbedField] = []
    if source:
        fields.append(_field("Source", inert(source, newlines=False), inline=True))
    age = _age_markup(view)
    if age:
        fields.append(_field("Age", age, inline=True))
    if view.tags:
        fields.append(_field("Tags", inert(", ".join(view.tags), newlines=False), inline=True))
    if details:
        if view.has_summary:
            fields.extend(_field(label, inert(body), inline=False) for label, body in view.sections)
        if view.authors:
            shown = ", ".join(view.authors[:_AUTHORS_SHOWN])
            more = len(view.authors) - _AUTHORS_SHOWN
            fields.append(_field("Authors", inert(shown + (f" (+{more} more)" if more > 0 else "")), inline=False))
    if fields:
        embed["fields"] = fields[:MAX_FIELDS]
    footer = [view.id_label]
    if view.why:
        footer.append(view.why)
    embed["footer"] = {"text": clip(plain(" \u00b7 ".join(footer)), MAX_FOOTER)}
    return _fit(embed)


# --- splitting a reply into messages -------------------------------------------------------------


@dataclass
class _Draft:
    """A message being filled. `rows` are its action rows of buttons: Details buttons share
    rows (five to a row), a paper with actions has a row of its own."""

    content: str = ""
    embeds: list[Embed] = field(default_factory=list)
    rows: list[list[ButtonComponent]] = field(default_factory=list)
    packed_last: bool = False  # the last row holds Details buttons and may take more

    @property
    def chars(self) -> int:
        return sum(embed_length(e) for e in self.embeds)

    def empty(self) -> bool:
        return not self.content and not self.embeds

    def rows_after(self, buttons: list[ButtonComponent], own_row: bool) -> int:
        if not buttons:
            return len(self.rows)
        if not own_row and self.packed_last and len(self.rows[-1]) < MAX_BUTTONS_PER_ROW:
            return len(self.rows)
        return len(self.rows) + 1

    def room_for(self, embed: Embed, buttons: list[ButtonComponent], own_row: bool, reserved_rows: int) -> bool:
        return (
            len(self.embeds) < MAX_EMBEDS
            and self.chars + embed_length(embed) <= MAX_EMBED_TOTAL
            and self.rows_after(buttons, own_row) <= MAX_ROWS - reserved_rows
        )

    def add_buttons(self, buttons: list[ButtonComponent], own_row: bool) -> None:
        if not buttons:
            return
        if not own_row and self.packed_last and len(self.rows[-1]) < MAX_BUTTONS_PER_ROW:
            self.rows[-1].extend(buttons)
            return
        self.rows.append(list(buttons))
        self.packed_last = not own_row


def _note_embed(text: str) -> Embed:
    return {"description": clip(text, MAX_DESCRIPTION), "color": _NOTE_COLOR}


def _chunks(text: str, limit: int) -> list[str]:
    """Split text on line breaks into chunks of at most `limit` characters (long lines clipped)."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        line = clip(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def _buttons_to_rows(rows: list[list[ButtonComponent]], share: bool) -> list[ActionRow]:
    action_rows: list[ActionRow] = [{"type": 1, "components": row[:MAX_BUTTONS_PER_ROW]} for row in rows if row]
    if share:
        action_rows.append(
            {
                "type": 1,
                "components": [{"type": 2, "style": _BUTTON_PRIMARY, "label": "Share", "custom_id": SHARE_ID}],
            }
        )
    return action_rows[:MAX_ROWS]


def render_reply(reply: Reply) -> list[MessagePayload]:
    """A Reply as Discord messages, split so each message respects every Discord limit.

    Private, shareable replies get a "Share" button on each message; every paper gets a
    "Details" button unless the full details are already shown, and its action buttons when
    the reply offers feedback.
    """
    share = reply.private and reply.shareable
    drafts: list[_Draft] = []
    current = _Draft()

    def flush() -> None:
        nonlocal current
        if not current.empty():
            drafts.append(current)
        current = _Draft()

    def add_embed(embed: Embed, buttons: list[ButtonComponent] | None = None, own_row: bool = False) -> None:
        if not current.room_for(embed, buttons or [], own_row, 1 if share else 0):
            flush()
        current.embeds.append(embed)
        current.add_buttons(buttons or [], own_row)

    # The lead: header and text in the first message's content; text too long goes to embeds.
    header = f"**{clip(inert(reply.header, newlines=False), 500)}**" if reply.header.strip() else ""
    text = inert(reply.text) if reply.text.strip() else ""
    if text and reply.is_error:
        text = _ERROR_PREFIX + text
    lead = "\n".join(part for part in (header, text) if part)
    if len(lead) <= MAX_CONTENT:
        current.content = lead
    else:
        current.content = header
        for chunk in _chunks(text, MAX_DESCRIPTION):
            add_embed(_note_embed(chunk))

    for group, views in zip(reply.groups, reply_views(reply), strict=True):
        if group.title.strip():
            title = f"__**{clip(inert(group.title, newlines=False), 200)}**__"
            if current.embeds or len(current.content) + len(title) + 2 > MAX_CONTENT:
                flush()
            current.content = f"{current.content}\n\n{title}" if current.content else title
        for item, view in zip(group.items, views, strict=True):
            embed = paper_embed(view, source_line(item.paper, None), details=reply.show_details)
            add_embed(embed, item_buttons(view, details=not reply.show_details), own_row=bool(view.actions))

    if reply.footer.strip():
        footer = inert(reply.footer)
        if not current.embeds and not drafts and len(current.content) + len(footer) + 1 <= MAX_CONTENT:
            current.content = f"{current.content}\n{footer}" if current.content else footer
        else:
            add_embed(_note_embed(clip(footer, MAX_FOOTER)))
    flush()

    if not drafts:
        drafts.append(_Draft(content="Nothing to show."))
    return [
        {
            "content": clip(d.content, MAX_CONTENT),
            "embeds": d.embeds,
            "components": _buttons_to_rows(d.rows, share),
        }
        for d in drafts
    ]


def share_content(user_mention: str, content: str) -> str:
    """The content of a shared message: who shared it, then the original content."""
    lead = f"Shared by {user_mention}"
    return clip(f"{lead}\n{content}" if content else lead, MAX_CONTENT)


def details_buttons(custom_ids: Iterable[tuple[str, str]]) -> list[ActionRow]:
    """Action rows holding Details buttons given (label, custom_id) pairs (used when sharing:
    the shared copy is public, so it keeps Details but not the private feedback buttons)."""
    found: list[ButtonComponent] = [
        {"type": 2, "style": _BUTTON_SECONDARY, "label": clip(label, MAX_LABEL), "custom_id": custom_id}
        for label, custom_id in custom_ids
        if paper_id_from_custom_id(custom_id) is not None
    ]
    buttons = found[: MAX_ROWS * MAX_BUTTONS_PER_ROW]
    rows = [buttons[i : i + MAX_BUTTONS_PER_ROW] for i in range(0, len(buttons), MAX_BUTTONS_PER_ROW)]
    return _buttons_to_rows(rows, share=False)


def mark_choice(
    rows: list[list[ButtonComponent]], action: ItemAction, paper_id: str
) -> list[list[ButtonComponent]]:
    """The message's button rows with one paper's chosen action marked (green for relevant,
    red for not for me, blue for saved) and its opposite unmarked."""
    chosen = action_custom_id(action, paper_id)
    styles = {ItemAction.LIKE: BUTTON_SUCCESS, ItemAction.DISLIKE: BUTTON_DANGER, ItemAction.SAVE: _BUTTON_PRIMARY}
    marked: list[list[ButtonComponent]] = []
    for row in rows:
        new_row: list[ButtonComponent] = []
        for original in row:
            button = original.copy()
            parsed = action_from_custom_id(str(button.get("custom_id", "")))
            if parsed is not None and parsed[1] == paper_id and parsed[0] is not ItemAction.SIMILAR:
                if button.get("custom_id") == chosen:
                    button["style"] = styles.get(action, _BUTTON_PRIMARY)
                    button["label"] = clip(action.done_label, MAX_LABEL)
                elif action is not ItemAction.SAVE and parsed[0] in (ItemAction.LIKE, ItemAction.DISLIKE):
                    button["style"] = _BUTTON_SECONDARY
                    button["label"] = parsed[0].label
            new_row.append(button)
        marked.append(new_row)
    return marked
