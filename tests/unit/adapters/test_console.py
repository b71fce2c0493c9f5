"""The console adapter: terminal rendering and line-by-line commands from a non-terminal stdin."""

from __future__ import annotations

import io

from adapters.console import ConsoleAdapter
from bot.chat.plaintext import render_text
from bot.core.models import Actor, ItemGroup, PaperItem, Place, Reply, Summary
from tests.support.factories import make_paper

PAPER = make_paper(paper_id="2504.17830", title="Self-Adjoint \x1b[31mTime\x1b[0m Operator")
SUMMARY = Summary(tldr="A time operator.", key_points=("one", "two", "three"), summary="S.", methodology="M.", results="R.", implications="I.", topics=("Theory",))


def reply(**kw: object) -> Reply:
    item = PaperItem(paper=PAPER, summary=SUMMARY, source_line="arXiv quant-ph · 16h ago", why="matched: time")
    return Reply(header="1 paper", groups=(ItemGroup(title="Theory", items=(item,)),), **kw)  # type: ignore[arg-type]


def test_render_prints_full_urls_tags_and_no_escape_codes() -> None:
    text = render_text(reply())
    assert "https://arxiv.org/abs/2504.17830" in text
    assert "tags: Theory" in text and "TL;DR: A time operator." in text and "• one" in text
    assert "\x1b" not in text  # external control characters are stripped, no colour when off
    assert "Methodology" not in text
    assert "Methodology" in render_text(reply(show_details=True))


def test_colour_only_when_asked() -> None:
    assert "\x1b[1m" in render_text(reply(), color=True)


class EchoService:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Actor, Place]] = []

    async def handle_command(self, command, who, where, *, progress=None):  # type: ignore[no-untyped-def]
        self.calls.append((command, who, where))
        if progress is not None and "paper 2512" in command:
            await progress(Reply(text="Looking up 2512.00001 on arXiv…", interim=True))
        return Reply(text=f"echo {command}")

    def topic_choices(self, prefix: str) -> list[tuple[str, str]]:
        return []

    def subscription_choices(self, who: Actor, prefix: str) -> list[tuple[str, str]]:
        return []


async def test_reads_commands_line_by_line_until_end_of_input() -> None:
    stdin = io.StringIO("/papers diffusion\n\n# a comment\n/papers help\n")
    stdout = io.StringIO()
    service = EchoService()
    adapter = ConsoleAdapter(user="ada", stdin=stdin, stdout=stdout)
    await adapter.start(service)
    await adapter.finished.wait()
    await adapter.stop()
    assert [c[0] for c in service.calls] == ["/papers diffusion", "/papers help"]
    assert service.calls[0][1].user_id == "ada" and service.calls[0][2].key == "console:console"
    assert "echo /papers diffusion" in stdout.getvalue()


async def test_digests_and_dms_print_with_their_destination() -> None:
    stdout = io.StringIO()
    adapter = ConsoleAdapter(stdin=io.StringIO(""), stdout=stdout)
    for part in adapter.render(reply(private=False)):
        await adapter.send("console", part)
    dm = await adapter.open_dm("ada")
    await adapter.send(dm, adapter.render(Reply(text="alert"))[0])
    out = stdout.getvalue()
    assert "[#console]" in out and "[DM] alert" in out


async def test_a_slow_command_prints_the_interim_reply_then_the_answer() -> None:
    stdin = io.StringIO("/papers paper 2512.00001\n")
    stdout = io.StringIO()
    adapter = ConsoleAdapter(user="ada", stdin=stdin, stdout=stdout)
    await adapter.start(EchoService())
    await adapter.finished.wait()
    await adapter.stop()
    printed = stdout.getvalue()
    assert printed.index("Looking up 2512.00001 on arXiv…") < printed.index("echo /papers paper 2512.00001")
