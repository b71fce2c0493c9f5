"""The one command specification: every help text and Discord description comes from it, and
the grammar accepts exactly the options it documents."""

from __future__ import annotations

import pytest

import bot.chat.grammar as grammar
from adapters.discord.commands import HELP_TEXT as DISCORD_HELP
from adapters.discord.commands import PapersGroup
from bot.chat import spec


def test_every_help_line_fits_discords_description_limit() -> None:
    texts = [spec.GROUP_HELP, spec.DIGEST_GROUP_HELP]
    for command in spec.COMMANDS:
        texts.append(command.help)
        texts.extend(spec.option_help(*command.path).values())
    assert all(0 < len(text) <= spec.DISCORD_DESCRIPTION_LIMIT for text in texts)


def test_discord_commands_are_described_by_the_spec() -> None:
    group = PapersGroup(runner=None)  # type: ignore[arg-type]
    found = {}
    for child in group.walk_commands():
        if hasattr(child, "parameters"):
            found[tuple(child.qualified_name.split()[1:])] = child
    # Commands marked in_discord=False (digest edit: Slack's settings form) are no Discord app commands.
    assert set(found) == {c.path for c in spec.COMMANDS if c.in_discord}
    for path, command in found.items():
        described = spec.option_help(*path)
        assert command.description == spec.command(*path).help
        assert {p.display_name: p.description for p in command.parameters} == described


def test_the_grammar_accepts_every_documented_option() -> None:
    for command in spec.COMMANDS:
        for option in command.options:
            example = command.argument.strip("[]<>").split("|")[0] if command.argument else ""
            words = ["q"] if command.path == ("search",) else [*command.path, example]
            text = " ".join([*words, f"{option.key}:{option.example.split('|')[0]}"])
            try:
                parsed = grammar.parse_command(text)
            except grammar.UserInputError as exc:
                # A bad value may be refused; an option the grammar does not know may not.
                assert "not understood" not in str(exc), (text, exc)
            else:
                # Unknown keys would have stayed in the query as plain words.
                assert f"{option.key}:" not in (getattr(parsed, "query", "") or ""), (text, parsed)


def test_both_help_texts_name_every_command() -> None:
    text, discord = spec.help_text("/papers"), DISCORD_HELP
    for command in spec.COMMANDS:
        if command.path != ("search",):
            assert f"/papers {command.name}" in text
            assert (f"/papers {command.name}" in discord) == command.in_discord
    assert "since:7d" in text and "query:<query>" in discord and "[time:09:00]" in discord
    assert spec.help_text("/pp").startswith("/pp <query>")


def test_digest_edit_is_in_the_text_help_and_explained_where_there_is_no_form() -> None:
    text = spec.help_text("/papers")
    assert "/papers digest edit\n    Slack: change this channel's digest in a settings form" in text
    assert "digest edit" not in DISCORD_HELP
    assert "/papers email address:<address>|off" in DISCORD_HELP and "/papers unsave paper:" in DISCORD_HELP
    for typed in ("digest edit", "digest settings"):
        with pytest.raises(grammar.UserInputError, match="opens a settings form in Slack; here, change the settings with /papers digest on"):
            grammar.parse_command(typed)


def test_unsave_is_its_own_command_and_unlike_takes_everything_back() -> None:
    assert grammar.parse_command("unsave 2504.17830") == grammar.UnlikeCommand(
        ref=grammar.PaperRef(paper_id="2504.17830"), saved_only=True
    )
    assert grammar.parse_command("unlike 3") == grammar.UnlikeCommand(ref=grammar.PaperRef(number=3))
