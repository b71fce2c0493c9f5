"""The one command specification: every help text and Discord description comes from it, and
the grammar accepts exactly the options it documents."""

from __future__ import annotations

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
    # Commands marked in_discord=False (email) are not Discord app commands yet.
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
