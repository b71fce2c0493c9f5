"""`paperbot digest --print`: what a channel's digest would hold now, without sending it."""

from __future__ import annotations

from typing import TextIO

from bot.app.runtime import build_runtime
from bot.chat.plaintext import render_text
from bot.core.errors import ConfigError
from bot.settings import Settings, make_clock


async def print_digest(settings: Settings, channel_key: str, date_text: str | None, out: TextIO) -> int:
    """`paperbot digest --print`: what a channel's digest would look like now, without sending it."""
    if ":" not in channel_key:
        raise ValueError("--channel takes a channel key like slack:C0123 or console:console")
    runtime = await build_runtime(settings, clock=make_clock(settings))
    try:
        try:
            digest = await runtime.scheduler.digests.preview(channel_key, date_text, runtime.clock())
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if digest is None:
            out.write(f"no new papers for {channel_key}'s digest right now\n")
        else:
            out.write(render_text(digest.reply) + "\n")
        return 0
    finally:
        await runtime.close()
