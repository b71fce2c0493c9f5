"""The `paperbot` command line.

Every command has --help; exit status 0 on success, 2 on bad usage or invalid settings, 1 when
the work itself failed. Errors are one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.core.background import exit_status
from bot.core.errors import ConfigError, PaperbotError
from bot.core.models import SourceKind

if TYPE_CHECKING:
    from bot.settings import Settings

INGEST_KINDS = ("arxiv-rss", "arxiv-api", "hf-daily", "reddit-json", "reddit-atom", "feed")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="paperbot",
        description="Research papers from arXiv, Hugging Face, Reddit and RSS, summarized and "
        "searchable, in Slack, Discord or your terminal.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run the bot (console chat when no platform token is set)")
    run.add_argument("--console", action="store_true", help="use the terminal chat even when platform tokens are set")
    run.add_argument("--offline", action="store_true", help="use the sample payloads shipped with paperbot instead of the network")
    run.add_argument("--once", action="store_true", help="fetch, run what is due (digests, alerts), deliver, then exit")

    fetch = sub.add_parser("fetch", help="fetch the configured sources now and store new papers")
    fetch.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable): arxiv, hf, reddit, feed, arxiv-api or a full name like reddit:LocalLLaMA")
    fetch.add_argument("--since", metavar="WINDOW", help="how far back, e.g. 7d (arXiv API backfill uses it)")

    ingest = sub.add_parser("ingest", help="ingest saved payload files")
    ingest.add_argument("files", nargs="+", type=Path, metavar="FILE")
    ingest.add_argument("--source", required=True, choices=INGEST_KINDS, help="what kind of payload the files are")

    papers = sub.add_parser("papers", help="list stored papers")
    papers.add_argument("--since", metavar="WINDOW", help="only papers first seen or changed within, e.g. 2d")
    papers.add_argument("--source", choices=[k.value for k in SourceKind], help="only papers seen on this source")
    papers.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    papers.add_argument("--json", action="store_true", help="one JSON object per line")

    sub.add_parser("status", help="sources, store counts and today's LLM usage")

    search = sub.add_parser("search", help="search stored papers")
    search.add_argument("query", help='words, "quoted phrases"')
    search.add_argument("--since", metavar="WINDOW", help="e.g. 7d, 2w, 2026-11-01")
    search.add_argument("--topic", metavar="ID", help="topic id or name (see paperbot topics)")
    search.add_argument("--limit", type=int, default=10, help="at most this many (default 10)")
    search.add_argument("--json", action="store_true", help="one JSON object per line")

    sub.add_parser("reindex", help="rebuild the search index from the stored papers (safe while the bot runs)")

    for name, help_text in (("summarize", "summarize JSON Lines from stdin"), ("tag", "tag JSON Lines from stdin with topics")):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--summarizer", choices=("offline", "llm"), help="override the SUMMARIZER setting")
    sub.add_parser("topics", help="list the topic taxonomy")

    digest = sub.add_parser("digest", help="show what a channel's digest would look like now")
    digest.add_argument("--print", dest="print_only", action="store_true", required=True, help="print it without sending")
    digest.add_argument("--channel", default="console:console", help="channel key, e.g. slack:C123 (default console:console)")
    digest.add_argument("--date", metavar="YYYY-MM-DD", help="the local date of the digest (default today)")

    manifest = sub.add_parser("slack-manifest", help="print the Slack app manifest (YAML)")
    manifest.add_argument(
        "--request-url",
        metavar="URL",
        help="HTTP mode instead of Socket Mode: your public https://host (or https://host/slack/events)",
    )
    manifest.add_argument(
        "--distribution",
        action="store_true",
        help="an app any workspace installs (OAuth redirect URL, HTTP mode; needs --request-url)",
    )
    sub.add_parser("discord-invite", help="print the Discord invite URL")

    library = sub.add_parser(
        "import-library",
        help="add a reference library (BibTeX, RIS, Zotero CSL-JSON, or arXiv ids/URLs) as a person's seeds",
    )
    library.add_argument("file", type=Path, metavar="FILE")
    library.add_argument("--user", required=True, metavar="PLATFORM:USER_ID", help="whose seeds, e.g. slack:U0123 or discord:1234")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `paperbot` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from bot.settings import load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"paperbot: {exc}", file=sys.stderr)
        return 2
    from bot.app.logs import setup_logging

    setup_logging(settings)
    try:
        status = _dispatch(args, settings, sys.stdin, sys.stdout)
    except ValueError as exc:
        print(f"paperbot: {exc}", file=sys.stderr)
        status = 2
    except PaperbotError as exc:
        print(f"paperbot: {exc}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        status = 130
    # A fit or index build left running by a stop must not meet the libraries' destructors.
    return exit_status(status)


def _dispatch(args: argparse.Namespace, settings: Settings, stdin: TextIO, stdout: TextIO) -> int:
    command = args.command
    if command == "run":
        from bot.cli.run import run_bot

        return asyncio.run(run_bot(settings, console=args.console, offline=args.offline, once=args.once))
    if command == "fetch":
        from bot.cli.fetch import fetch_now

        return asyncio.run(fetch_now(settings, args.source or [], args.since, stdout))
    if command == "ingest":
        from bot.cli.ingest import ingest_files

        return ingest_files(settings, args.files, args.source, stdout)
    if command == "papers":
        from bot.cli.papers import list_papers

        return list_papers(settings, args, stdout)
    if command == "status":
        from bot.cli.status import print_status

        return print_status(settings, stdout)
    if command == "search":
        from bot.cli.search import search_cli

        return search_cli(settings, args, stdout)
    if command == "reindex":
        from bot.cli.reindex import reindex

        return reindex(settings, stdout)
    if command in ("summarize", "tag", "topics"):
        import bot.cli.summarize as summarize_commands

        runner = {
            "summarize": summarize_commands.run_summarize,
            "tag": summarize_commands.run_tag,
            "topics": summarize_commands.run_topics,
        }[command]
        return runner(args, settings, stdin, stdout)
    if command == "import-library":
        from bot.cli.import_library import import_library

        return asyncio.run(import_library(settings, args.file, args.user, stdout))
    if command == "digest":
        from bot.cli.digest import print_digest

        return asyncio.run(print_digest(settings, args.channel, args.date, stdout))
    if command == "slack-manifest":
        from bot.app.wiring import slack_manifest

        stdout.write(slack_manifest(settings, args.request_url, distribution=args.distribution))
        return 0
    if command == "discord-invite":
        from bot.app.wiring import discord_invite_url

        if not settings.discord_application_id:
            raise ValueError("set DISCORD_APPLICATION_ID (Developer Portal → your app → General Information)")
        stdout.write(discord_invite_url(settings.discord_application_id) + "\n")
        return 0
    raise ValueError(f"unknown command {command}")


if __name__ == "__main__":
    raise SystemExit(main())
