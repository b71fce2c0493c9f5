"""A neutral `Reply` as plain text: what the console prints, `paperbot digest --print` shows,
and an email's text part carries. Pure: no I/O. ANSI colours only when asked for."""

from __future__ import annotations

import textwrap
from functools import lru_cache

from bot.chat.view import reply_views
from bot.core.models import Reply
from bot.core.text import printable

_WIDTH = 100


def _strip_controls(text: str) -> str:
    # External text must not move the cursor, clear the screen or fake our own colours.
    return printable(text, keep_newlines=True)


class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled and text else text


def render_text(reply: Reply, *, color: bool = False) -> str:
    """A Reply as terminal text (pure). Colour codes only when `color` is True."""
    style = _Style(color)
    lines: list[str] = []
    if reply.header:
        lines.append(style(_strip_controls(reply.header), "1"))
    if reply.text:
        lines.append(style(_strip_controls(reply.text), "31") if reply.is_error else _strip_controls(reply.text))
    for group, views in zip(reply.groups, reply_views(reply), strict=True):
        if group.title:
            lines.append("")
            lines.append(style(f"== {_strip_controls(group.title)} ==", "1;36"))
        for view in views:
            lines.append("")
            lines.append(f"{view.number}. " + style(_strip_controls(view.title), "1"))
            meta = [view.source_line] if view.source_line else []
            if view.tags:
                meta.append("tags: " + ", ".join(view.tags))
            if meta:
                lines.append("   " + style(_strip_controls(" · ".join(meta)), "2"))
            if view.url:
                # Printed in full (not only as a terminal hyperlink) so any terminal can copy it.
                lines.append("   " + style(_strip_controls(view.url), "4;34"))
            if view.has_summary:
                lines.extend(_wrap(f"TL;DR: {view.tldr}", "   "))
                for point in view.key_points:
                    lines.extend(_wrap(f"• {point}", "   ", "     "))
            if reply.show_details:
                for label, body in view.sections:
                    lines.append("   " + style(label, "1"))
                    lines.extend(_wrap(body, "     "))
                if view.authors:
                    lines.extend(_wrap("Authors: " + ", ".join(view.authors[:12]), "   "))
            if view.why:
                lines.append("   " + style(_strip_controls(f"why: {view.why}"), "2"))
    if reply.footer:
        lines.append("")
        lines.append(style(_strip_controls(reply.footer), "2"))
    return "\n".join(lines)


@lru_cache(maxsize=8)  # a handful of indents: one wrapper each, built once
def _wrapper(indent: str, subsequent: str) -> textwrap.TextWrapper:
    # Lines break between words only: "Kolmogorov-Arnold" and a model id stay whole (and
    # textwrap's hyphen-aware splitting costs three times as much per line).
    return textwrap.TextWrapper(width=_WIDTH, initial_indent=indent, subsequent_indent=subsequent,
                                break_on_hyphens=False)


def _wrap(text: str, indent: str, subsequent: str | None = None) -> list[str]:
    return _wrapper(indent, subsequent if subsequent is not None else indent).wrap(_strip_controls(text)) or [indent]
