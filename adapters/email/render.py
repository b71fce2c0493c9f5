"""A neutral Reply as one email: a subject line, a plain-text part (bot.chat.plaintext, the
console's rendering) and an HTML part drawn from the same item views as every platform.

Pure. Every text from outside is escaped for HTML (`html.escape`, quotes included); only
checked http(s) URLs become links. The subject is one line: line breaks and control
characters in a title can never start another header.
"""

from __future__ import annotations

import html
import re

from bot.chat.plaintext import render_text
from bot.chat.present import web_url
from bot.chat.view import ItemView, reply_views
from bot.core.models import Reply
from bot.ports import Part

MAX_SUBJECT_CHARS = 150
MAX_ITEMS = 200  # a digest holds at most 50; anything longer is cut, never refused
_URL = re.compile(r"https?://[^\s<>\"']+")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def subject_line(reply: Reply) -> str:
    """The reply's header (or its first line of text) as one short subject line."""
    text = reply.header or next((line for line in reply.text.splitlines() if line.strip()), "") or "paperbot"
    text = " ".join(_CONTROLS.sub(" ", text).split())
    return text if len(text) <= MAX_SUBJECT_CHARS else text[: MAX_SUBJECT_CHARS - 1].rstrip() + "…"


def _linked(text: str) -> str:
    """Escaped text with its http(s) URLs as links (escaped too)."""
    out, last = [], 0
    for match in _URL.finditer(text):
        url = web_url(match.group(0).rstrip(".,;:)"), 2048)
        if url is None:
            continue
        out.append(html.escape(text[last : match.start()]))
        out.append(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
        last = match.start() + len(url)
    out.append(html.escape(text[last:]))
    return "".join(out)


def _paragraphs(text: str) -> str:
    blocks = [block.strip() for block in re.split(r"\n\s*\n", text) if block.strip()]
    return "".join(f"<p>{'<br>'.join(_linked(line) for line in block.splitlines())}</p>" for block in blocks)


def _item(view: ItemView, details: bool) -> str:
    title = html.escape(view.title)
    heading = f'<a href="{html.escape(view.url)}">{title}</a>' if view.url else title
    parts = [f'<h3 style="margin:0 0 4px;font-size:16px">{view.number}. {heading}</h3>']
    meta = [view.source_line] if view.source_line else []
    if view.tags:
        meta.append("tags: " + ", ".join(view.tags))
    if meta:
        parts.append(f'<p style="margin:0 0 6px;color:#5b6472;font-size:13px">{html.escape(" · ".join(meta))}</p>')
    if view.tldr:
        parts.append(f"<p style=\"margin:0 0 4px\"><strong>TL;DR:</strong> {html.escape(view.tldr)}</p>")
    if view.key_points:
        parts.append("<ul>" + "".join(f"<li>{html.escape(point)}</li>" for point in view.key_points) + "</ul>")
    elif view.preview:
        preview = view.preview if len(view.preview) <= 400 else view.preview[:399] + "…"
        parts.append(f"<p>{html.escape(preview)}</p>")
    if details:
        for label, body in view.sections:
            parts.append(f"<h4 style=\"margin:8px 0 2px\">{html.escape(label)}</h4><p>{html.escape(body)}</p>")
    if view.why:
        parts.append(f'<p style="color:#5b6472;font-size:13px">{html.escape(view.why)}</p>')
    return '<div style="margin:0 0 18px">' + "".join(parts) + "</div>"


def render_html(reply: Reply) -> str:
    """The reply as an HTML document (inline styles: mail clients drop style sheets)."""
    body = []
    if reply.header:
        body.append(f'<h1 style="font-size:20px">{html.escape(reply.header)}</h1>')
    if reply.text:
        body.append(_paragraphs(reply.text))
    shown = 0
    for group, views in zip(reply.groups, reply_views(reply), strict=True):
        views = views[: max(0, MAX_ITEMS - shown)]
        shown += len(views)
        if group.title and views:
            body.append(f'<h2 style="font-size:17px">{html.escape(group.title)}</h2>')
        body.extend(_item(view, reply.show_details) for view in views)
    if reply.footer:
        body.append(f'<div style="color:#5b6472;font-size:13px">{_paragraphs(reply.footer)}</div>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1d2430;max-width:640px;margin:0 auto;padding:12px">'
        + "".join(body)
        + "</body></html>"
    )


def render_email(reply: Reply) -> list[Part]:
    """One part per reply: {"subject", "text", "html"} (an email has no size limit to split for)."""
    return [{"subject": subject_line(reply), "text": render_text(reply, color=False), "html": render_html(reply)}]
