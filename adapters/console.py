"""The console adapter: a terminal chat. Type `/papers ...` exactly as in Slack or Discord.

A command whose work is slow (`paper <id>` looked up on arXiv) prints the core's interim reply
first ("Looking up … on arXiv…") and its answer when it comes. It is also a channel ("console")
that receives digests, and the place where the console user's
DM alerts print. It reads standard input line by line, so it works when stdin is a pipe or a
file: at the end of input it sets `finished`, and `paperbot run` finishes in-flight work and
exits 0. Every paper URL is printed in full (not only as a terminal hyperlink) so it can be
copied from any terminal or log. Colours are used only when stdout is a terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from typing import TextIO

from bot.chat.plaintext import render_text
from bot.core.models import Actor, Place, Reply
from bot.ports import Part, ServiceAPI

log = logging.getLogger(__name__)

CHANNEL_ID = "console"
class ConsoleAdapter:
    """A ChatAdapter over stdin/stdout. Commands run one at a time, in input order."""

    platform = "console"

    def __init__(
        self,
        *,
        user: str = "you",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        color: bool | None = None,
        prompt: bool | None = None,
    ) -> None:
        self.user = user
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        interactive = self.stdin.isatty() and self.stdout.isatty()
        self.color = interactive if color is None else color
        self.prompt = interactive if prompt is None else prompt
        self.finished = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._service: ServiceAPI | None = None

    @property
    def connected(self) -> bool:
        """The terminal is always there while the process runs."""
        return True

    @property
    def actor(self) -> Actor:
        """The console user; they manage the console channel."""
        return Actor(platform=self.platform, user_id=self.user, name=self.user, can_manage=True)

    @property
    def place(self) -> Place:
        """The console channel."""
        return Place(platform=self.platform, channel_id=CHANNEL_ID)

    async def start(self, service: ServiceAPI) -> None:
        """Start reading commands from stdin in the background."""
        self._service = service
        self._write("paperbot console — type /papers help (Ctrl-D to quit)" if self.prompt else "")
        self._reader = asyncio.create_task(self._read_loop(), name="console-reader")

    async def stop(self) -> None:
        """Stop reading; a command being answered is allowed to finish."""
        if self._reader and not self._reader.done():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self.finished.set()

    async def run_line(self, line: str) -> Reply | None:
        """Run one typed line (a `/papers` command or its arguments) and print the reply."""
        text = line.strip()
        if not text or text.startswith("#"):
            return None
        if text in ("quit", "exit", "/quit", "/exit"):
            self.finished.set()
            return None
        assert self._service is not None, "start() first"

        async def progress(interim: Reply) -> None:
            # The terminal cannot replace a line already printed: the interim prints first, the
            # answer after it.
            self._write(render_text(interim, color=self.color))

        reply = await self._service.handle_command(text, self.actor, self.place, progress=progress)
        self._write(render_text(reply, color=self.color))
        return reply

    async def _read_loop(self) -> None:
        lines = self._pump_stdin(asyncio.get_running_loop())
        try:
            while not self.finished.is_set():
                if self.prompt:
                    self._write_raw("› ")
                line = await lines.get()
                if not line:
                    break
                try:
                    await self.run_line(line)
                except Exception:
                    log.exception("console command failed")
        finally:
            self.finished.set()

    def _pump_stdin(self, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str]:
        """Read stdin on a daemon thread; "" on the queue means end of input.

        A blocking readline cannot be cancelled. In the default executor it would make
        asyncio.run() wait at shutdown for a line that never comes (SIGTERM would hang), so
        the read happens on a daemon thread that simply dies with the process.
        """
        queue: asyncio.Queue[str] = asyncio.Queue()

        def deliver(line: str) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(queue.put_nowait, line)

        def pump() -> None:
            try:
                for line in iter(self.stdin.readline, ""):
                    deliver(line)
            except (OSError, ValueError):  # stdin closed under us
                pass
            deliver("")

        threading.Thread(target=pump, name="console-stdin", daemon=True).start()
        return queue

    # --- ChatAdapter delivery side -------------------------------------------------------------

    def render(self, reply: Reply) -> list[Part]:
        """One part per reply: the terminal has no size limits worth splitting for."""
        return [{"text": render_text(reply, color=False), "color_text": render_text(reply, color=True)}]

    async def send(self, destination: str, part: Part) -> str:
        """Print a part; DMs are marked so they stand out from channel digests."""
        text: object = part["color_text"] if self.color else part["text"]
        prefix = "[DM] " if destination.startswith("dm:") else f"[#{destination}] "
        self._write(prefix + str(text))
        return f"console-{id(part)}"

    async def open_dm(self, user_id: str) -> str:
        """The console user's DMs print in the same terminal."""
        return f"dm:{user_id}"

    def _write(self, text: str) -> None:
        if text:
            self._write_raw(text + "\n")

    def _write_raw(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
