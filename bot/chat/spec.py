"""The one specification of the `/papers` commands: each subcommand's name, arguments and
options with one help line each.

Every help text is generated from it: the text grammar's (`/papers help` in Slack and the
console: `since:7d`), Discord's (typed options: `query:<words>`), and Discord's command and
option descriptions. Adding an option here documents it everywhere; the grammar in
`bot.chat.grammar` parses the text form and a test checks both agree on the option names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HelpStyle = Literal["text", "discord"]
DISCORD_DESCRIPTION_LIMIT = 100  # characters, for command and option descriptions


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option: its text key (`since`), an example value, and its help line.

    `discord` is the name of the Discord option when it differs from the text key (Discord's
    `time` for the text grammar's leading `09:00`), or "" when Discord has no such option."""

    key: str
    example: str
    help: str
    discord: str | None = None
    aliases: tuple[str, ...] = ()  # other text keys accepted for it (topic: for topics:)

    @property
    def discord_name(self) -> str:
        """The Discord option's name ("" when Discord has none)."""
        return self.key if self.discord is None else self.discord


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One subcommand. `path` is ("digest", "on") for `/papers digest on`; `argument` is the
    positional part of the text form (`<arXiv id or URL>`), with `discord_argument` naming the
    Discord option that carries it."""

    path: tuple[str, ...]
    help: str
    argument: str = ""
    discord_argument: str = ""
    options: tuple[OptionSpec, ...] = ()
    in_discord: bool = True  # offered as a Discord app command (its help is in Discord's style)

    @property
    def name(self) -> str:
        """`digest on`."""
        return " ".join(self.path)

    def option(self, key: str) -> OptionSpec:
        """The option with this text key."""
        for option in self.options:
            if option.key == key:
                return option
        raise KeyError(key)


_SEARCH_OPTIONS = (
    OptionSpec("since", "7d", "How far back: 36h, 7d, 2w or a date like 2026-11-01"),
    OptionSpec("source", "arxiv|hf|reddit|feed", "Only papers seen on this source"),
    OptionSpec("topic", "llm", "Only papers with this topic (see /papers topics)"),
    OptionSpec("author", '"Name"', "Only papers by this author"),
    OptionSpec("sort", "relevance|new|top", "Order of results"),
    OptionSpec("limit", "5", "How many results (1-10)"),
)

# Options and arguments that several subcommands share, written once.
_TZ_OPTION = OptionSpec("tz", "Europe/Berlin", "IANA time zone, e.g. Europe/Berlin")
_MAX_PER_DIGEST_OPTION = OptionSpec("max", "10", "Most papers per digest (1-50)")


def _on_one_paper(name: str, help_line: str) -> CommandSpec:
    """A subcommand about one paper: a number from the last list seen, or an arXiv id."""
    return CommandSpec((name,), help_line, argument="<n|arXiv id>", discord_argument="paper")


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        ("search",), "Search stored papers; quote phrases: \"gaussian splatting\" since:2w",
        argument='<query>', discord_argument="query", options=_SEARCH_OPTIONS,
    ),
    CommandSpec(("paper",), "One paper in full: summary, methods, results, implications",
                argument="<arXiv id or URL>", discord_argument="id"),
    CommandSpec(
        ("subscribe",), "Get a DM when new papers match",
        argument="<query>", discord_argument="query",
        options=(OptionSpec("topics", "cv,llm", "Topic ids, comma-separated (e.g. llm,cv)", aliases=("topic",)),),
    ),
    CommandSpec(("unsubscribe",), "Stop DM alerts: a number from your list, its query, or all",
                argument="<number|query|all>", discord_argument="which"),
    CommandSpec(("subscriptions",), "List your DM alert subscriptions"),
    CommandSpec(
        ("quiet",), "Hours with no alert DMs (they wait until the end); off clears them",
        argument="22:00-07:00", discord_argument="hours",
        options=(_TZ_OPTION,),
    ),
    CommandSpec(
        ("alerts",), "Your DM alert settings; threshold: sends only papers this relevant to you",
        options=(
            OptionSpec("threshold", "0.5", "Once you gave feedback: only papers this relevant to you (0-1; 0 = off)"),
        ),
    ),
    CommandSpec(
        ("digest", "on"), "Post a daily digest here, or change its settings",
        argument="[09:00]", discord_argument="time",
        options=(
            _TZ_OPTION,
            OptionSpec("topics", "llm,rl", "Topic ids, comma-separated (e.g. llm,rl); empty: all"),
            _MAX_PER_DIGEST_OPTION,
            OptionSpec("sources", "arxiv,hf", "Sources, comma-separated: arxiv,hf,reddit,feed"),
            OptionSpec("days", "weekdays", "Which days: weekdays, daily, or e.g. mon,wed,fri"),
            OptionSpec("query", '"..."', "Only papers matching these words", discord=""),
            OptionSpec("minscore", "20", "Only papers with at least this many upvotes", discord=""),
            OptionSpec("updated", "no", "Also post replaced versions of papers already posted", discord=""),
            OptionSpec("notes", "no", "Post a one-line note on days with nothing new", discord=""),
            OptionSpec("catchup", "post|skip", "After downtime: post the missed digest late, or skip it", discord=""),
            OptionSpec("rank", "topic|trending", "Rank by topic match, or by what is trending (upvotes gained)", discord=""),
            OptionSpec("threshold", "0.5", "Once people here gave feedback: only papers this relevant (0-1; 0 = off)"),
        ),
    ),
    CommandSpec(("digest", "off"), "Stop this channel's digest"),
    CommandSpec(("digest", "show"), "Show this channel's digest settings"),
    CommandSpec(("digest", "now"), "Post this channel's digest now"),
    # Slack answers it with the settings modal (adapters/slack/listeners.py); Discord has none.
    CommandSpec(("digest", "edit"), "Slack: change this channel's digest in a settings form", in_discord=False),
    CommandSpec(("email",), "Get your own daily digest by email (confirm the link sent first); off stops it",
                argument="<address>|off", discord_argument="address"),
    CommandSpec(
        ("digest", "me"), "Your own daily digest by DM, ranked for you: on, off or show",
        argument="<on|off|show> [08:00]", discord_argument="action",
        options=(
            OptionSpec("time", "08:00", "Local time of day, e.g. 08:00 (also as a plain word after on)"),
            _TZ_OPTION,
            _MAX_PER_DIGEST_OPTION,
            OptionSpec("threshold", "0.5", "Only papers at least this relevant to you (0-1; 0 = off)"),
        ),
    ),
    CommandSpec(("foryou",), "New papers ranked for you by what you liked, seeded and subscribed to",
                options=(OptionSpec("since", "2d", "How far back: 36h, 2d, 1w (default 2d: the latest announcements)"),
                         OptionSpec("limit", "10", "How many papers (1-20)"))),
    _on_one_paper("like", "More like this: a number from the last list you saw, or an arXiv id"),
    _on_one_paper("dislike", "Not for me: a number from the last list you saw, or an arXiv id"),
    _on_one_paper("save", "Save a paper for later: a number from the last list you saw, or an arXiv id"),
    _on_one_paper("unlike", "Take back a like, not-for-me, seed or save of a paper"),
    _on_one_paper("unsave", "Remove a paper from your saved list (a like or seed stays)"),
    CommandSpec(("saved",), "Your saved papers (only you see them)"),
    _on_one_paper("similar", "Papers most like one paper: a number from the last list, or an arXiv id"),
    CommandSpec(("seed",), "Start your recommendations from papers you like: arXiv ids or URLs",
                argument="<arXiv ids or URLs...>", discord_argument="papers"),
    CommandSpec(("forget",), "Delete everything paperbot holds about you (feedback, saved, subscriptions)",
                argument="me", discord_argument="confirm"),
    CommandSpec(("topics",), "The topic list (ids work in the topic and topics options)"),
    CommandSpec(("help",), "How to use paperbot"),
)

GROUP_HELP = "Research papers: search, daily digests and DM alerts"
DIGEST_GROUP_HELP = "This channel's daily digest of new papers"


def command(*path: str) -> CommandSpec:
    """The spec of one subcommand, e.g. `command("digest", "on")`."""
    for spec in COMMANDS:
        if spec.path == path:
            return spec
    raise KeyError(" ".join(path))


def option_keys(*path: str) -> tuple[str, ...]:
    """Every text key a subcommand accepts (its options and their aliases), for the grammar."""
    return tuple(key for option in command(*path).options for key in (option.key, *option.aliases))


def option_help(*path: str) -> dict[str, str]:
    """Discord option name -> description for a subcommand (for `app_commands.describe`),
    the positional argument included."""
    spec = command(*path)
    described: dict[str, str] = {}
    if spec.discord_argument:
        described[spec.discord_argument] = _argument_help(spec)
    for option in spec.options:
        if option.discord_name:
            described[option.discord_name] = option.help
    return described


def _argument_help(spec: CommandSpec) -> str:
    return {
        "query": 'Words or "quoted phrases"',
        "id": "An arXiv id or URL, e.g. 2504.17830",
        "which": "A subscription from your list, its query, or all",
        "hours": "e.g. 22:00-07:00, or off; leave empty to see your quiet hours",
        "time": "Local time of day, e.g. 09:00",
        "paper": "A number from the last list you saw, or an arXiv id or URL",
        "papers": "arXiv ids or URLs separated by spaces",
        "confirm": "Type me to confirm: everything paperbot holds about you is deleted",
        "action": "on, off or show",
        "address": "Your email address (only you see the answer), or off to stop",
    }.get(spec.discord_argument, spec.help)


def help_text(command_name: str = "/papers", style: HelpStyle = "text") -> str:
    """Every subcommand on one line with its syntax and help, in the style of the platform:
    text options (`since:7d`) or Discord's typed options (`query:<words>`)."""
    shown = [spec for spec in COMMANDS if spec.in_discord or style != "discord"]
    return "\n".join(f"{_syntax(spec, command_name, style)}\n    {spec.help}" for spec in shown)


def _syntax(spec: CommandSpec, command_name: str, style: HelpStyle) -> str:
    words = [command_name, *(() if spec.path == ("search",) and style == "text" else spec.path)]
    if spec.argument:
        if style == "discord" and spec.discord_argument:
            typed = f"{spec.discord_argument}:{spec.argument.strip('[]')}"
            words.append(f"[{typed}]" if spec.argument.startswith("[") else typed)
        else:
            words.append(spec.argument)
    for option in spec.options:
        if style == "discord" and not option.discord_name:
            continue
        key = option.discord_name if style == "discord" else option.key
        words.append(f"[{key}:{option.example}]")
    return " ".join(words)
