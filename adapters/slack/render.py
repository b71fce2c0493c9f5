"""Pure Block Kit rendering of a `Reply` into Slack message payloads ("parts").

A part is a `Message` (adapters/slack/types.py), the JSON object `{"text": fallback, "blocks":
[...]}` that `chat.postMessage` and a `response_url` take, so the outbox can keep it and send it
later exactly as it was split.

Layout: a header block for the reply's header; the reply's text as sections; each titled group
(a digest's topic) as a header block; per paper a section (bold linked title, source and age,
tags, TL;DR, key points) with a "Details" button as accessory, then a context block (why it is
shown, authors, id) and, in a reply that offers feedback, an actions block of 👍 Relevant,
👎 Not for me, 🔖 Save and More like this (bot.chat.view decides which; action_id
`paperbot_act_<action>_<number>`, value the paper id, block_id `paperbot_items_<number>`, so three
blocks a paper and at most 16 papers a message). `mark_choice` redraws a clicked message's blocks
with the choice shown. `Reply.show_details` renders Summary / Methodology / Results / Implications
inline instead of the button. The footer is a context block; a "Share to channel" button ends
the last part of a private, shareable reply, and a "Settings" button (the channel's digest
settings, in a modal) the last part of a digest.

Limits, checked against Slack's docs (and a reported undocumented one):
- at most 50 blocks per message;
- section text at most 3,000 characters, header text (plain_text) at most 150;
- context blocks at most 10 elements; actions blocks at most 25 elements; button text 75, button
  value 2,000, action_id 255, block_id 255 (a new block_id whenever a message is updated);
- the `text` fallback is always set and kept under 4,000 characters (we use 3,000);
- Slack also rejects messages whose blocks hold more than about 13,200 characters in total
  (`msg_blocks_too_long`, slackapi/bolt-js#2509), so each message keeps its block text under
  `MAX_MESSAGE_CHARS`.
Lengths are counted on the text as sent (after escaping). Long text is truncated with an
ellipsis, never rejected; a digest too long for one message is split into several.

External text (titles, abstracts, summaries, authors, LLM output, feed names, anything echoing
what a user typed) goes through `inert()`:
- `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;`, so no `<!channel>`, `<!here>`, `<@U123>`,
  `<#C1>` or `<url|label>` markup can come from a paper;
- the mrkdwn formatting characters `*`, `_`, `~` and the backtick are replaced by look-alike
  characters (U+2217 ∗, U+02CD ˍ, U+223C ∼, U+02CB ˋ). Slack has no escape for them, and
  zero-width characters next to them do not reliably stop formatting; look-alikes always do and
  read the same. (Copying such a title out of Slack yields the look-alikes.)
- a zero-width space after `@` in `@here`, `@channel`, `@everyone`; every mrkdwn text object is
  also sent with `verbatim: true`, so Slack does not parse bare mentions, channel names or URLs;
- control characters become spaces.
Links are built only from http(s) URLs with a host; `&` in them is escaped and `<`, `>`, `|`
and whitespace are percent-encoded. Inside `<url|title>` the title has `|` replaced by U+2223 ∣.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from adapters.slack.types import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    Message,
    MrkdwnText,
    PlainText,
    SectionBlock,
)
from bot.chat.present import web_url
from bot.chat.view import OPPOSITE, ItemAction, ItemView, reply_views
from bot.core.models import Reply

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 3000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_FALLBACK_TEXT = 3000  # Slack asks to keep `text` under 4,000
MAX_MESSAGE_CHARS = 11000  # below the ~13,200 where Slack answers msg_blocks_too_long
MAX_URL = 1000

DETAILS_ACTION = "paperbot_details"  # action_id prefix; one button per item, numbered
SHARE_ACTION = "paperbot_share"
SETTINGS_ACTION = "paperbot_digest_settings"  # opens the digest settings of the message's channel
# A paper's feedback buttons: action_id `paperbot_act_<action>_<number>` (unique in the message),
# value the paper id, so a click works after any restart.
FEEDBACK_ACTION = "paperbot_act_"
ITEM_ACTIONS_BLOCK = "paperbot_items_"  # block_id prefix of a paper's row of actions
MAX_ACTIONS_ELEMENTS = 25  # Slack's limit per actions block (we use at most 4)
MAX_BLOCK_ID = 255
_CHOSEN_STYLE = {ItemAction.LIKE: "primary", ItemAction.DISLIKE: "danger", ItemAction.SAVE: "primary"}

# Budgets below the hard limits keep a typical item small so several fit per message.
_TITLE_CHARS = 300
_LINE_CHARS = 300
_TLDR_CHARS = 600
_POINT_CHARS = 350
_POINTS_SHOWN = 4
_ABSTRACT_PREVIEW_CHARS = 400
_DETAIL_CHARS = 2800
_AUTHORS_SHOWN = 3
_AUTHORS_DETAILED = 15

_LOOKALIKES = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_USER_ID = re.compile(r"^[A-Z0-9]{2,30}$")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")


# --- text ----------------------------------------------------------------------------------


def inert(text: str) -> str:
    """External text made safe for mrkdwn: escaped, formatting and mentions neutralized."""
    text = _CONTROL.sub(" ", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.translate(_LOOKALIKES)
    return _BROADCAST.sub("@\u200b", text)


def fit(text: str, limit: int, *, oneline: bool = False) -> str:
    """`inert(text)` truncated with an ellipsis so the result has at most `limit` characters.

    Truncation happens before escaping, so an entity such as `&amp;` is never cut in half."""
    if oneline:
        text = " ".join(text.split())
    out = inert(text)
    if len(out) <= limit:
        return out
    keep = limit - 1
    while keep > 0:
        out = inert(text[:keep].rstrip()) + "…"
        if len(out) <= limit:
            return out
        keep -= max(1, len(out) - limit)
    return "…"


def _clip_escaped(text: str, limit: int) -> str:
    """Truncate already-escaped text, never leaving half an entity behind."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    newline = cut.rfind("\n")
    if newline > limit // 2:
        cut = cut[:newline]
    return _PARTIAL_ENTITY.sub("", cut).rstrip() + "…"


def safe_url(url: str) -> str | None:
    """The URL escaped for use inside `<...|...>`, or None when it is not plain http(s)."""
    checked = web_url(url, MAX_URL)
    if checked is None:
        return None
    url = "".join("%20" if ch.isspace() else ch for ch in checked)
    if _CONTROL.search(url):
        return None
    url = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return url.replace("&", "&amp;")


def link(url: str, title: str, limit: int = _TITLE_CHARS) -> str:
    """`<url|title>` with an inert title, or just the inert title when the URL is not usable."""
    label = fit(title, limit, oneline=True).replace("|", "\u2223") or "(untitled)"
    target = safe_url(url)
    return f"<{target}|{label}>" if target else label


def mrkdwn(text: str) -> MrkdwnText:
    """A mrkdwn text object; verbatim so Slack does not auto-parse bare mentions or URLs."""
    return {"type": "mrkdwn", "text": text or " ", "verbatim": True}


def plain(text: str) -> PlainText:
    """A plain_text object (headers, button labels)."""
    return {"type": "plain_text", "text": text or " ", "emoji": True}


# --- blocks --------------------------------------------------------------------------------


def header_blocks(text: str) -> list[Block]:
    """A header block (inert, at most 150 characters), or none when nothing visible is left."""
    shown = fit(text, MAX_HEADER_TEXT, oneline=True)
    header: HeaderBlock = {"type": "header", "text": plain(shown)}
    return [header] if shown.strip() else []


def section(text: str, accessory: ButtonElement | None = None) -> SectionBlock:
    """A section of already-inert mrkdwn, clipped to 3,000 characters."""
    block: SectionBlock = {"type": "section", "text": mrkdwn(_clip_escaped(text, MAX_SECTION_TEXT))}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def context(elements: Iterable[str]) -> ContextBlock:
    """A context block of already-inert mrkdwn elements (at most 10)."""
    texts = [e for e in elements if e.strip()][:MAX_CONTEXT_ELEMENTS]
    return {"type": "context", "elements": [mrkdwn(_clip_escaped(t, MAX_CONTEXT_TEXT)) for t in texts]}


def button(label: str, action_id: str, value: str) -> ButtonElement:
    """A button element."""
    return {
        "type": "button",
        "text": plain(label[:MAX_BUTTON_TEXT]),
        "action_id": action_id[:MAX_ACTION_ID],
        "value": value,
    }


def action_buttons(view: ItemView) -> Block | None:
    """A paper's row of feedback buttons (👍 Relevant, 👎 Not for me, 🔖 Save, More like this),
    or None when the reply offers none or the paper id does not fit a button's value."""
    if not view.actions or len(view.paper_id) > MAX_BUTTON_VALUE:
        return None
    elements = [
        button(action.label, f"{FEEDBACK_ACTION}{action.value}_{view.number}", view.paper_id)
        for action in view.actions[:MAX_ACTIONS_ELEMENTS]
    ]
    row: ActionsBlock = {"type": "actions", "block_id": f"{ITEM_ACTIONS_BLOCK}{view.number}", "elements": elements}
    return row


def parse_feedback_action(action_id: str) -> ItemAction | None:
    """The action a feedback button's action_id names, or None for any other action_id."""
    if not action_id.startswith(FEEDBACK_ACTION):
        return None
    name = action_id[len(FEEDBACK_ACTION) :].rpartition("_")[0]
    try:
        return ItemAction(name)
    except ValueError:
        return None


def mark_choice(
    blocks: Sequence[Mapping[str, object]], action: ItemAction, paper_id: str, *, iteration: str
) -> list[dict[str, object]]:
    """The message's blocks with one paper's chosen action shown (its button relabelled "✓" and
    styled) and the opposite choice unmarked; other papers are untouched.

    Slack asks for a new block_id whenever a message is updated, so every changed actions block
    gets one carrying `iteration` (a short token, unique per update). The blocks are raw JSON
    as Slack echoes a message back, so they are read key by key."""
    if action is ItemAction.SIMILAR:
        return [dict(block) for block in blocks]
    marked: list[dict[str, object]] = []
    for block in blocks:
        elements = block.get("elements") if block.get("type") == "actions" else None
        if not isinstance(elements, list) or not any(_is_feedback_of(e, paper_id) for e in elements):
            marked.append(dict(block))
            continue
        new_elements: list[dict[str, object]] = []
        for raw in elements:
            element: dict[str, object] = dict(raw)
            shown = parse_feedback_action(str(element.get("action_id", ""))) if _is_feedback_of(raw, paper_id) else None
            if shown is action:
                element = {**element, "text": plain(action.done_label[:MAX_BUTTON_TEXT]), "style": _CHOSEN_STYLE[action]}
            elif shown is not None and shown is OPPOSITE.get(action):
                element = {key: value for key, value in element.items() if key != "style"}
                element["text"] = plain(shown.label[:MAX_BUTTON_TEXT])
            new_elements.append(element)
        base = str(block.get("block_id") or ITEM_ACTIONS_BLOCK).split(".", 1)[0]
        marked.append({**block, "elements": new_elements, "block_id": f"{base}.{iteration}"[:MAX_BLOCK_ID]})
    return marked


def _is_feedback_of(element: object, paper_id: str) -> bool:
    return (
        isinstance(element, dict)
        and element.get("value") == paper_id
        and parse_feedback_action(str(element.get("action_id", ""))) is not None
    )


def text_sections(text: str, limit: int = MAX_SECTION_TEXT) -> list[Block]:
    """Inert sections holding `text`, split on line boundaries to respect the section limit."""
    sections: list[Block] = []
    current: list[str] = []
    size = 0

    def flush() -> None:
        if any(line.strip() for line in current):
            sections.append(section("\n".join(current)))

    for raw_line in text.splitlines():
        line = fit(raw_line, limit)
        if current and size + len(line) + 1 > limit:
            flush()
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    flush()
    return sections


# --- items ---------------------------------------------------------------------------------


def _authors(names: tuple[str, ...], shown: int) -> str:
    if not names:
        return ""
    text = ", ".join(names[:shown]) + (" et al." if len(names) > shown else "")
    return fit(text, _LINE_CHARS * 2 if shown > _AUTHORS_SHOWN else _LINE_CHARS, oneline=True)


def item_blocks(view: ItemView, *, details: bool, details_button: bool = True, details_action: str = DETAILS_ACTION) -> list[Block]:
    """The blocks of one paper: a section (plus details sections) and a context block.
    `details_action` is the Details button's action_id prefix (the Home tab has its own)."""
    lines = [f"*{view.number}. {link(view.url or '', view.title)}*"]
    meta = [view.source_line] if view.source_line else []
    if view.tags:
        meta.append(", ".join(view.tags))
    if meta:
        lines.append(fit(" · ".join(meta), _LINE_CHARS, oneline=True))
    if view.has_summary:
        if view.tldr:
            lines.append("*TL;DR:* " + fit(view.tldr, _TLDR_CHARS, oneline=True))
        lines.extend("• " + fit(p, _POINT_CHARS, oneline=True) for p in view.key_points[:_POINTS_SHOWN])
    elif view.preview and not details:
        lines.append(fit(view.preview, _ABSTRACT_PREVIEW_CHARS, oneline=True))
    accessory = None
    if details_button and not details:
        accessory = button("Details", f"{details_action}_{view.number}", view.paper_id[:MAX_BUTTON_VALUE])
    blocks: list[Block] = [section("\n".join(lines), accessory)]
    if details:
        blocks.extend(section(f"*{label}*\n" + fit(body, _DETAIL_CHARS)) for label, body in view.sections)
    notes = []
    if view.why:
        notes.append(fit(view.why, _LINE_CHARS, oneline=True))
    authors = _authors(view.authors, _AUTHORS_DETAILED if details else _AUTHORS_SHOWN)
    if authors:
        notes.append(authors)
    notes.append(fit(view.id_label, 120, oneline=True))
    blocks.append(context(notes))
    actions = action_buttons(view)
    if actions is not None:
        blocks.append(actions)
    return blocks


def _item_fallback(view: ItemView) -> str:
    return f"{view.number}. " + fit(view.title, 200, oneline=True)


# --- splitting -----------------------------------------------------------------------------


@dataclass
class _Unit:
    """Blocks that should stay in one message when they fit, with their fallback lines."""

    blocks: list[Block]
    fallback: list[str] = field(default_factory=list)


def block_chars(block: object) -> int:
    """Characters of text a block carries (every `text` string in it, recursively)."""
    if isinstance(block, dict):
        own = len(block["text"]) if isinstance(block.get("text"), str) else 0
        return own + sum(block_chars(v) for k, v in block.items() if not (k == "text" and isinstance(v, str)))
    if isinstance(block, list):
        return sum(block_chars(v) for v in block)
    return 0


def _pack(units: list[_Unit]) -> list[Message]:
    messages: list[tuple[list[Block], list[str]]] = []
    blocks: list[Block] = []
    fallback: list[str] = []
    chars = 0

    def flush() -> None:
        nonlocal blocks, fallback, chars
        if blocks:
            messages.append((blocks, fallback))
        blocks, fallback, chars = [], [], 0

    for unit in units:
        size = sum(block_chars(b) for b in unit.blocks)
        fits_alone = len(unit.blocks) <= MAX_BLOCKS and size <= MAX_MESSAGE_CHARS
        if fits_alone:
            if len(blocks) + len(unit.blocks) > MAX_BLOCKS or chars + size > MAX_MESSAGE_CHARS:
                flush()
            blocks.extend(unit.blocks)
            fallback.extend(unit.fallback)
            chars += size
            continue
        # Too big for any one message (only with very long details): split between its blocks.
        fallback.extend(unit.fallback)
        for block in unit.blocks:
            one = block_chars(block)
            if len(blocks) + 1 > MAX_BLOCKS or chars + one > MAX_MESSAGE_CHARS:
                flush()
            blocks.append(block)
            chars += one
    flush()
    parts: list[Message] = []
    for index, (message_blocks, lines) in enumerate(messages):
        # Lines of only control characters escape to nothing; the fallback must never be empty.
        text = _clip_escaped("\n".join(lines), MAX_FALLBACK_TEXT).strip()
        parts.append({"text": text or ("(continued)" if index else "paperbot"), "blocks": message_blocks})
    return parts


# --- the reply -----------------------------------------------------------------------------


def render_reply(
    reply: Reply,
    *,
    share: str | None = None,
    shared_by: str | None = None,
    details_buttons: bool = True,
) -> list[Message]:
    """A Reply as Slack messages, each within every Block Kit limit (pure).

    `share` is the Share button's value: the token the core issued for this answer
    (`ServiceAPI.keep_for_sharing`), nothing else; the button is shown only on a private,
    shareable reply. `shared_by` (a Slack user id) adds "Shared by @user" on top.
    `details_buttons=False` leaves out the per-paper Details buttons (thread replies)."""
    units: list[_Unit] = []
    if shared_by and _USER_ID.match(shared_by):
        units.append(_Unit([context([f"Shared by <@{shared_by}>"])]))
    header = header_blocks(reply.header)
    if header:
        units.append(_Unit(header, [fit(reply.header, 300, oneline=True)]))
    if reply.text:
        if reply.is_error:
            units.append(
                _Unit([section(":warning: " + fit(reply.text, MAX_SECTION_TEXT - 20))], [fit(reply.text, 1000)])
            )
        else:
            first_line = next((line for line in reply.text.splitlines() if line.strip()), "")
            sections = text_sections(reply.text)
            units.extend(_Unit([s], [fit(first_line, 500)] if i == 0 and not reply.header else []) for i, s in enumerate(sections))
    for group, views in zip(reply.groups, reply_views(reply), strict=True):
        pending_title = header_blocks(group.title)
        for view in views:
            blocks = pending_title + item_blocks(view, details=reply.show_details, details_button=details_buttons)
            pending_title = []
            units.append(_Unit(blocks, [_item_fallback(view)]))
        if pending_title:
            units.append(_Unit(pending_title))
    if reply.footer:
        lines = [line for line in (fit(raw, 1000) for raw in reply.footer.splitlines()) if line.strip()]
        if lines:
            units.append(_Unit([context(["\n".join(lines)])]))
    if share and len(share) <= MAX_BUTTON_VALUE and reply.shareable and reply.private and not reply.is_error:
        actions: ActionsBlock = {"type": "actions", "elements": [button("Share to channel", SHARE_ACTION, share)]}
        units.append(_Unit([actions]))
    if reply.digest_settings:
        settings: ActionsBlock = {"type": "actions", "elements": [button("Settings", SETTINGS_ACTION, "digest")]}
        units.append(_Unit([settings]))
    if not any(b["type"] != "actions" for u in units for b in u.blocks):
        units.insert(0, _Unit([section("Nothing to show.")], ["Nothing to show."]))
    return _pack(units)


def render(reply: Reply) -> list[Message]:
    """The ChatAdapter rendering: Details buttons, no Share button (delivery has no command)."""
    return render_reply(reply)
