"""The `/papers` grammar, shared by every platform: text in, typed command out.

    /papers <query> [since:7d|2w|2026-11-01] [source:arxiv|hf|reddit|feed] [topic:<id or name>]
            [author:<name>] [sort:relevance|new|top] [limit:N]
    /papers search <query> ...            (the same, explicitly)
    /papers paper <arXiv id or URL>
    /papers subscribe <query> [topic:...]
    /papers unsubscribe <number|query|all>
    /papers subscriptions
    /papers quiet [HH:MM-HH:MM [tz:<IANA zone>] | off]   (no DM alerts in those hours)
    /papers alerts [threshold:0-1]   (show the DM alert settings, or send only papers this relevant)
    /papers digest on [HH:MM] [tz:<IANA zone>] [topics:llm,rl] [max:N] [sources:arxiv,hf]
                      [days:weekdays|daily|mon,wed] [query:"..."] [minscore:N]
                      [updated:yes|no] [notes:yes|no] [catchup:post|skip]
                      [rank:topic|trending] [threshold:0-1]
    /papers digest off | digest show | digest now
    /papers digest edit   (Slack: the settings form; answered by the adapter, never parsed here)
    /papers email <address> | email off   (your own daily digest by email, double opt-in)
    /papers digest me on [HH:MM] [tz:<IANA zone>] [max:N] [threshold:0-1] | digest me off | digest me show
    /papers foryou [since:2d] [limit:N]
    /papers like|dislike|save|unlike|unsave|similar <n | arXiv id or URL>   (n: from the last list shown)
    /papers saved
    /papers seed <arXiv ids or URLs ...>
    /papers forget me
    /papers topics
    /papers help

`parse_command` returns one of the command dataclasses below or raises UserInputError with one
line saying what was wrong and what is accepted. Option values may be quoted
(`author:"Yann LeCun"`); quoted phrases in queries are kept with their quotes so search can
match them as phrases. Adapters with typed options (Discord) build the same dataclasses directly.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.chat.spec import option_keys
from bot.core.clock import parse_window
from bot.core.commands import (
    AlertSettingsCommand,
    Command,
    DigestMeCommand,
    DigestNowCommand,
    DigestOffCommand,
    DigestOnCommand,
    DigestShowCommand,
    EmailDigestCommand,
    FeedbackCommand,
    ForgetMeCommand,
    ForYouCommand,
    HelpCommand,
    ListSubscriptionsCommand,
    PaperCommand,
    PaperRef,
    QuietHoursCommand,
    SavedCommand,
    SearchCommand,
    SeedCommand,
    SimilarCommand,
    SubscribeCommand,
    TopicsCommand,
    UnlikeCommand,
    UnsubscribeCommand,
)
from bot.core.errors import UserInputError
from bot.core.ids import parse_arxiv_id
from bot.core.models import SourceKind
from bot.core.text import printable

MAX_INPUT_CHARS = 1000
MAX_QUERY_CHARS = 300
MAX_LIMIT = 10
MAX_DIGEST_ITEMS = 50
SORTS = ("relevance", "new", "top")
# The option keys come from the one command specification, which also writes every help text.
SEARCH_OPTIONS = option_keys("search")
DIGEST_OPTIONS = option_keys("digest", "on")
SUBSCRIBE_OPTIONS = option_keys("subscribe")
QUIET_OPTIONS = option_keys("quiet")
ALERTS_OPTIONS = option_keys("alerts")
FORYOU_OPTIONS = option_keys("foryou")
DIGEST_ME_OPTIONS = option_keys("digest", "me")
MAX_FORYOU = 20
MAX_SEEDS = 50
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SOURCE_ALIASES = {
    "arxiv": SourceKind.ARXIV,
    "hf": SourceKind.HF,
    "huggingface": SourceKind.HF,
    "hugging-face": SourceKind.HF,
    "reddit": SourceKind.REDDIT,
    "feed": SourceKind.FEED,
    "feeds": SourceKind.FEED,
    "rss": SourceKind.FEED,
    "blog": SourceKind.FEED,
}


@dataclass(slots=True)
class _Parsed:
    words: list[str] = field(default_factory=list)  # free text tokens (phrases keep quotes)
    options: dict[str, str] = field(default_factory=dict)


_TOKEN = re.compile(r'(?P<key>[A-Za-z]+):(?P<qval>"[^"]*"?)|"[^"]*"?|\S+')


def _tokenize(text: str, known: tuple[str, ...]) -> _Parsed:
    parsed = _Parsed()
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        key, value = None, None
        if match.group("key"):
            key, value = match.group("key"), match.group("qval").strip('"')
        elif ":" in token and not token.startswith('"'):
            head, _, tail = token.partition(":")
            if head.isalpha() and tail and not tail.startswith("//"):
                key, value = head, tail
        if key is not None and value is not None:
            lowered = key.lower()
            if lowered in known:
                if lowered in parsed.options:
                    raise UserInputError(f"{lowered}: is given twice; give it once")
                parsed.options[lowered] = value.strip()
                continue
            close = difflib.get_close_matches(lowered, known, n=1, cutoff=0.75)
            if close:
                raise UserInputError(
                    f"unknown option {key}: — did you mean {close[0]}:? Options: "
                    + ", ".join(f"{k}:" for k in known)
                )
        parsed.words.append(token)
    return parsed


def _clean(text: str) -> str:
    # Control characters never mean anything in a command; Slack/Discord send plain spaces.
    return printable(text).replace("\u201c", '"').replace("\u201d", '"').strip()


def parse_command(text: str) -> Command:
    """Parse what a user typed after the slash command. Raises UserInputError on bad input."""
    if len(text) > MAX_INPUT_CHARS:
        raise UserInputError(
            f"that command is {len(text):,} characters long; keep it under {MAX_INPUT_CHARS:,}"
        )
    text = _clean(text)
    if text.startswith("/papers"):
        text = text[len("/papers") :].strip()
    if not text:
        return HelpCommand()
    head, _, rest = text.partition(" ")
    verb = head.lower()
    rest = rest.strip()
    if verb in ("help", "?", "-h", "--help"):
        return HelpCommand(topic=rest.lower())
    if verb == "topics":
        return TopicsCommand()
    if verb == "paper":
        return parse_paper(rest)
    if verb == "search":
        if not rest:
            raise UserInputError("search needs a query, e.g. /papers search diffusion since:7d")
        return _parse_search(rest)
    if verb in ("subscribe", "sub"):
        return _parse_subscribe(rest)
    if verb in ("unsubscribe", "unsub"):
        return parse_unsubscribe(rest)
    if verb in ("subscriptions", "subs"):
        if rest:
            raise UserInputError("subscriptions takes nothing after it; try /papers subscriptions")
        return ListSubscriptionsCommand()
    if verb == "quiet":
        return parse_quiet_hours(rest)
    if verb == "alerts":
        return parse_alert_settings(rest)
    if verb == "digest":
        return _parse_digest(rest)
    if verb == "email":
        return parse_email(rest)
    if verb in ("like", "dislike", "save"):
        return FeedbackCommand(action=verb, ref=parse_paper_ref(rest, verb))
    if verb in ("unlike", "undo"):
        return UnlikeCommand(ref=parse_paper_ref(rest, "unlike"))
    if verb == "unsave":
        return UnlikeCommand(ref=parse_paper_ref(rest, "unsave"), saved_only=True)
    if verb == "similar":
        return SimilarCommand(ref=parse_paper_ref(rest, "similar"))
    if verb == "saved":
        if rest:
            raise UserInputError("saved takes nothing after it; try /papers saved")
        return SavedCommand()
    if verb in ("foryou", "for-you"):
        return parse_foryou(rest)
    if verb == "seed":
        return parse_seed(rest)
    if verb == "forget":
        return parse_forget(rest)
    return _parse_search(text)


def parse_paper_ref(rest: str, verb: str) -> PaperRef:
    """`3`, `#3`, an arXiv id or an arXiv URL -> PaperRef. Also used by typed adapters."""
    ref = rest.strip()
    if not ref:
        raise UserInputError(
            f"{verb} needs a number from the last list you were shown or an arXiv id, e.g. /papers {verb} 3"
        )
    if ref.lstrip("#").isdigit():
        number = int(ref.lstrip("#"))
        if not 1 <= number <= 100:
            raise UserInputError(f"{number} is not a number from a list; use the number shown before the title")
        return PaperRef(number=number)
    if len(ref.split()) > 1:
        raise UserInputError(f"{verb} takes one paper; e.g. /papers {verb} 3 or /papers {verb} 2504.17830")
    parsed = parse_arxiv_id(ref)
    if parsed is None:
        shown = ref if len(ref) <= 60 else ref[:57] + "..."
        raise UserInputError(
            f"{shown!r} is neither a number from the last list nor an arXiv id or URL (e.g. 3 or 2504.17830)"
        )
    return PaperRef(paper_id=parsed.base)


def parse_foryou(rest: str) -> ForYouCommand:
    """`[since:2d] [limit:N]` -> ForYouCommand. Also used by typed adapters."""
    parsed = _tokenize(rest, FORYOU_OPTIONS)
    if parsed.words:
        raise UserInputError("foryou takes only since: and limit:, e.g. /papers foryou since:2d limit:5")
    since = parsed.options.get("since")
    if since is not None:
        try:
            parse_window(since)
        except ValueError as exc:
            raise UserInputError(f"since: {exc}") from None
    limit = _parse_int(parsed.options["limit"], "limit", 1, MAX_FORYOU) if "limit" in parsed.options else 10
    return ForYouCommand(since=since, limit=limit)


def parse_seed(rest: str) -> SeedCommand:
    """`<arXiv ids or URLs ...>` -> SeedCommand (every one must be an arXiv id or URL)."""
    refs = rest.replace(",", " ").split()
    if not refs:
        raise UserInputError("seed needs arXiv ids or URLs of papers you like, e.g. /papers seed 2504.17830 2211.17192")
    if len(refs) > MAX_SEEDS:
        raise UserInputError(f"seed takes at most {MAX_SEEDS} papers at once; for a whole library use paperbot import-library")
    ids: list[str] = []
    for ref in refs:
        parsed = parse_arxiv_id(ref)
        if parsed is None:
            shown = ref if len(ref) <= 60 else ref[:57] + "..."
            raise UserInputError(f"{shown!r} is not an arXiv id or URL (e.g. 2504.17830 or https://arxiv.org/abs/2504.17830)")
        ids.append(parsed.base)
    return SeedCommand(paper_ids=tuple(dict.fromkeys(ids)))


def parse_forget(rest: str) -> ForgetMeCommand:
    """`me` -> ForgetMeCommand; anything else is refused (nothing is deleted by accident)."""
    if rest.strip().lower() != "me":
        raise UserInputError(
            "to delete everything paperbot holds about you, type exactly /papers forget me"
        )
    return ForgetMeCommand()


def parse_threshold(text: str) -> float:
    """A relevance threshold from 0 to 1 (0 turns it off). Raises UserInputError."""
    try:
        value = float(text)
    except ValueError:
        raise UserInputError(f"threshold:{text} is not a number; use threshold:0.5 (0 to 1, 0 = off)") from None
    if not 0.0 <= value <= 1.0:
        raise UserInputError(f"threshold:{text} is out of range; use a number from 0 to 1 (0 = off)")
    return value


def parse_digest_me(rest: str) -> DigestMeCommand:
    """`on [HH:MM] [tz:..] [max:N] [threshold:..]`, `off` or `show` -> DigestMeCommand."""
    action, _, options = rest.strip().partition(" ")
    action = action.lower() or "show"
    if action in ("off", "show", "status"):
        if options.strip():
            raise UserInputError(f"digest me {action} takes nothing after it")
        return DigestMeCommand(action="show" if action == "status" else action)
    if action != "on":
        raise UserInputError(f"digest me {action} is not understood; use digest me on, off or show")
    parsed = _tokenize(options, DIGEST_ME_OPTIONS)
    at = parse_time_of_day(parsed.options["time"]) if "time" in parsed.options else None
    for word in parsed.words:
        if re.fullmatch(r"\d{1,2}:\d{2}", word) and at is None:
            at = parse_time_of_day(word)
        else:
            raise UserInputError(
                f"{word!r} is not understood after digest me on; use a time like 08:00 and options "
                + ", ".join(f"{k}:" for k in DIGEST_ME_OPTIONS)
            )
    opts = parsed.options
    return DigestMeCommand(
        action="on",
        at=at,
        timezone=parse_timezone(opts["tz"]) if "tz" in opts else None,
        max_items=_parse_int(opts["max"], "max", 1, MAX_DIGEST_ITEMS) if "max" in opts else None,
        threshold=parse_threshold(opts["threshold"]) if "threshold" in opts else None,
    )


def parse_paper(rest: str) -> PaperCommand:
    """`<arXiv id or URL>` -> PaperCommand. Also used by typed adapters."""
    if not rest:
        raise UserInputError("paper needs an arXiv id or URL, e.g. /papers paper 2504.17830")
    ref = rest.split()[0] if len(rest.split()) == 1 else rest
    parsed = parse_arxiv_id(ref)
    if parsed is None:
        shown = ref if len(ref) <= 60 else ref[:57] + "..."
        raise UserInputError(
            f"{shown!r} is not an arXiv id or URL (try 2504.17830, arXiv:2504.17830v2 or "
            "https://arxiv.org/abs/2504.17830); to search, use /papers search"
        )
    return PaperCommand(paper_id=parsed.base, version=parsed.version)


def query_text(words: list[str]) -> str:
    """The words as one query; UserInputError when it is longer than MAX_QUERY_CHARS."""
    query = " ".join(words).strip()
    if len(query) > MAX_QUERY_CHARS:
        raise UserInputError(
            f"that query is {len(query):,} characters long; keep it under {MAX_QUERY_CHARS} "
            "(a few keywords work best)"
        )
    return query


def _parse_search(text: str) -> SearchCommand:
    parsed = _tokenize(text, SEARCH_OPTIONS)
    query = query_text(parsed.words)
    opts = parsed.options
    since = opts.get("since")
    if since is not None:
        try:
            parse_window(since)
        except ValueError as exc:
            raise UserInputError(f"since: {exc}") from None
    sort = opts.get("sort", "relevance").lower()
    if sort not in SORTS:
        raise UserInputError(f"sort:{sort} is not a sort order; use sort:relevance, sort:new or sort:top")
    author = opts.get("author")
    if author is not None and not author.strip():
        raise UserInputError('author: needs a name, e.g. author:"Yann LeCun"')
    command = SearchCommand(
        query=query,
        since=since,
        source=parse_source(opts["source"]) if "source" in opts else None,
        topic=parse_topic(opts["topic"]) if "topic" in opts else None,
        author=author,
        sort=sort,
        limit=_parse_int(opts["limit"], "limit", 1, MAX_LIMIT) if "limit" in opts else 5,
    )
    if not (command.query.strip('" ') or command.topic or command.author or command.since or command.source):
        raise UserInputError("that search is empty; type some words, e.g. /papers diffusion models since:7d")
    return command


def _parse_subscribe(rest: str) -> SubscribeCommand:
    parsed = _tokenize(rest, SUBSCRIBE_OPTIONS)
    query = query_text(parsed.words)
    topic_text = parsed.options.get("topic") or parsed.options.get("topics") or ""
    topics = tuple(parse_topic(part) for part in topic_text.split(",") if part.strip())
    if not query.strip('" ') and not topics:
        raise UserInputError(
            "subscribe needs a query and/or topics, e.g. /papers subscribe diffusion topic:cv"
        )
    return SubscribeCommand(query=query, topics=topics)


def parse_unsubscribe(rest: str) -> UnsubscribeCommand:
    """`<number | query | all>` -> UnsubscribeCommand. Also used by typed adapters."""
    rest = rest.strip()
    if not rest:
        raise UserInputError(
            "unsubscribe needs a number from /papers subscriptions, the query, or all"
        )
    if rest.lower() == "all":
        return UnsubscribeCommand(everything=True)
    if rest.lstrip("#").isdigit():
        return UnsubscribeCommand(number=int(rest.lstrip("#")))
    return UnsubscribeCommand(query=query_text([rest]))


def parse_alert_settings(rest: str) -> AlertSettingsCommand:
    """`alerts` (show) or `alerts threshold:0.5` (0 turns the threshold off)."""
    parsed = _tokenize(rest, ALERTS_OPTIONS)
    if parsed.words:
        raise UserInputError("alerts takes only threshold:, e.g. /papers alerts threshold:0.5 (0 = off)")
    given = parsed.options.get("threshold")
    return AlertSettingsCommand(threshold=parse_threshold(given) if given is not None else None)


def parse_quiet_hours(rest: str) -> QuietHoursCommand:
    """`""` (show), `off`, or `22:00-07:00 [tz:Europe/Berlin]`. Also used by typed adapters."""
    parsed = _tokenize(rest, QUIET_OPTIONS)
    words = " ".join(parsed.words).strip()
    timezone = parse_timezone(parsed.options["tz"]) if "tz" in parsed.options else None
    if not words:
        if timezone:
            raise UserInputError("quiet needs hours with tz:, e.g. /papers quiet 22:00-07:00 tz:Europe/Berlin")
        return QuietHoursCommand()
    if words.lower() in ("off", "none", "clear"):
        return QuietHoursCommand(off=True)
    match = re.fullmatch(r"(\S+?)\s*(?:-|–|to)\s*(\S+)", words)
    if not match:
        raise UserInputError(
            f"{words!r} is not a span of hours; use e.g. /papers quiet 22:00-07:00 tz:Europe/Berlin, or quiet off"
        )
    start, end = parse_time_of_day(match.group(1)), parse_time_of_day(match.group(2))
    if start == end:
        raise UserInputError("quiet hours must start and end at different times, e.g. 22:00-07:00")
    return QuietHoursCommand(start=start, end=end, timezone=timezone)


def _parse_digest(rest: str) -> Command:
    action, _, options = rest.strip().partition(" ")
    action = action.lower()
    if action == "off":
        return DigestOffCommand()
    if action in ("show", "status", ""):
        return DigestShowCommand()
    if action == "now":
        return DigestNowCommand()
    if action == "me":
        return parse_digest_me(options)
    if action in ("edit", "settings"):
        # Slack's adapter answers these with its settings form before they reach the grammar.
        raise UserInputError(
            f"digest {action} opens a settings form in Slack; here, change the settings with /papers digest on "
            "(e.g. digest on 09:00 tz:Europe/Berlin) and see them with /papers digest show"
        )
    if action != "on":
        raise UserInputError(f"digest {action} is not a digest command; use digest on, off, show or now (or digest me on|off|show for your own DM digest)")
    parsed = _tokenize(options, DIGEST_OPTIONS)
    at = None
    for word in parsed.words:
        if re.fullmatch(r"\d{1,2}:\d{2}", word):
            if at is not None:
                raise UserInputError("give one time of day, e.g. digest on 09:00")
            at = parse_time_of_day(word)
        else:
            raise UserInputError(
                f"{word!r} is not understood after digest on; use a time like 09:00 and options "
                + ", ".join(f"{k}:" for k in DIGEST_OPTIONS)
            )
    opts = parsed.options
    return DigestOnCommand(
        at=at,
        timezone=parse_timezone(opts["tz"]) if "tz" in opts else None,
        topics=tuple(parse_topic(p) for p in opts["topics"].split(",") if p.strip()) if "topics" in opts else None,
        max_items=_parse_int(opts["max"], "max", 1, MAX_DIGEST_ITEMS) if "max" in opts else None,
        sources=tuple(parse_source(p) for p in opts["sources"].split(",") if p.strip()) if "sources" in opts else None,
        days=parse_days(opts["days"]) if "days" in opts else None,
        query=query_text([opts["query"]]) if "query" in opts else None,
        min_score=_parse_int(opts["minscore"], "minscore", 0, 1_000_000) if "minscore" in opts else None,
        show_updated=_parse_yes_no(opts["updated"], "updated") if "updated" in opts else None,
        quiet_note=_parse_yes_no(opts["notes"], "notes") if "notes" in opts else None,
        catch_up=_parse_catch_up(opts["catchup"]) if "catchup" in opts else None,
        rank=parse_rank(opts["rank"]) if "rank" in opts else None,
        threshold=parse_threshold(opts["threshold"]) if "threshold" in opts else None,
    )


# --- value parsers, also used by adapters with typed options ---------------------------------


RANKS = ("topic", "trending")
MAX_ADDRESS_CHARS = 254  # RFC 5321's limit on a forward path
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


def parse_rank(text: str) -> str:
    """`topic` or `trending` (how a digest ranks its papers)."""
    lowered = text.strip().lower()
    if lowered not in RANKS:
        raise UserInputError(f"rank:{text} is not understood; use rank:topic or rank:trending")
    return lowered


def parse_email(rest: str) -> EmailDigestCommand:
    """`<address>` or `off` -> EmailDigestCommand. Only a plain address is accepted (no
    display name, no spaces or line breaks), its domain lower-cased."""
    text = rest.strip().strip("<>")
    if text.lower() in ("off", "stop", "none"):
        return EmailDigestCommand(off=True)
    if not text:
        raise UserInputError("email needs an address, e.g. /papers email ada@example.org (or email off)")
    if len(text) > MAX_ADDRESS_CHARS or not _ADDRESS.fullmatch(text):
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise UserInputError(f"{shown!r} is not an email address; use e.g. /papers email ada@example.org")
    local, _, domain = text.rpartition("@")
    return EmailDigestCommand(address=f"{local}@{domain.lower()}")


def parse_time_of_day(text: str) -> time:
    """`9:00` / `09:30` / `21:05` -> time. Raises UserInputError."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise UserInputError(f"{text!r} is not a time of day; use HH:MM from 00:00 to 23:59")
    return time(int(match.group(1)), int(match.group(2)))


def parse_timezone(text: str) -> str:
    """Validate an IANA time zone name. Raises UserInputError with an example."""
    name = text.strip()
    if name.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserInputError(
            f"{name!r} is not a time zone; use an IANA name such as Europe/Berlin, America/New_York or UTC"
        ) from None
    return name


def parse_source(text: str) -> SourceKind:
    """`arxiv`, `hf`, `reddit`, `feed` (and a few aliases) -> SourceKind."""
    kind = _SOURCE_ALIASES.get(text.strip().lower())
    if kind is None:
        raise UserInputError(f"source:{text} is not a source; use arxiv, hf, reddit or feed")
    return kind


def parse_topic(text: str) -> str:
    """A topic id, name or alias -> topic id. Raises UserInputError listing a few ids."""
    from bot.enrich.taxonomy import TAXONOMY, resolve_topic

    topic = resolve_topic(text)
    if topic is None:
        close = difflib.get_close_matches(text.lower(), [t.id for t in TAXONOMY], n=1, cutoff=0.6)
        hint = f" — did you mean {close[0]}?" if close else ""
        raise UserInputError(f"{text!r} is not a topic{hint} See /papers topics for the list")
    return topic.id


def parse_days(text: str) -> tuple[int, ...]:
    """`weekdays`, `daily`, `arxiv`, or `mon,wed,fri` -> weekday numbers (Monday=0)."""
    lowered = text.strip().lower()
    if lowered in ("weekdays", "workdays", "mon-fri"):
        return (0, 1, 2, 3, 4)
    if lowered in ("daily", "all", "everyday", "every-day"):
        return (0, 1, 2, 3, 4, 5, 6)
    if lowered in ("arxiv", "announcements"):
        return (0, 1, 2, 3, 4)
    days = []
    for part in lowered.split(","):
        name = part.strip()[:3]
        if name not in _DAY_NAMES:
            raise UserInputError(f"days:{text} is not understood; use weekdays, daily or mon,wed,fri")
        days.append(_DAY_NAMES.index(name))
    return tuple(sorted(set(days)))


def _parse_int(text: str, name: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UserInputError(f"{name}:{text} is not a number; use {name}:{low}..{high}") from None
    if not low <= value <= high:
        raise UserInputError(f"{name}:{value} is out of range; use a number from {low} to {high}")
    return value


def _parse_yes_no(text: str, name: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("yes", "y", "true", "on", "1"):
        return True
    if lowered in ("no", "n", "false", "off", "0"):
        return False
    raise UserInputError(f"{name}:{text} is not understood; use {name}:yes or {name}:no")


def _parse_catch_up(text: str) -> str:
    lowered = text.strip().lower()
    if lowered not in ("post", "skip"):
        raise UserInputError(f"catchup:{text} is not understood; use catchup:post or catchup:skip")
    return lowered
