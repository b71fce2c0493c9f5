"""Discord option mapping onto the core commands, autocomplete helpers, the invite URL and the
mapping of Discord errors onto delivery errors."""

from __future__ import annotations

from datetime import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

import bot.chat.grammar as cmd
from adapters.discord.commands import (
    comma_choices,
    digest_on_command,
    email_command,
    feedback_command,
    paper_command,
    quiet_command,
    search_command,
    subscribe_command,
    timezone_choices,
    to_choices,
    unsubscribe_command,
)
from adapters.discord.invite import invite_url, required_permissions
from adapters.discord.messages import delivery_error
from bot.core.errors import (
    PermanentDeliveryError,
    RetryAfter,
    TransientDeliveryError,
    UserInputError,
)
from bot.core.models import SourceKind


def test_search_options_map_onto_a_search_command() -> None:
    command = search_command("  diffusion   models ", "7d", "hf", "Computer Vision", "Yann LeCun", "top", 3)
    assert command == cmd.SearchCommand(
        query="diffusion models", since="7d", source=SourceKind.HF, topic="cv", author="Yann LeCun", sort="top", limit=3
    )
    assert search_command("x") == cmd.SearchCommand(query="x")
    assert search_command(topic="llm").topic == "llm"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "empty"),
        ({"query": "x", "since": "yesterday"}, "since"),
        ({"query": "x", "sort": "random"}, "sort"),
        ({"query": "x", "source": "myspace"}, "not a source"),
        ({"query": "x", "topic": "astrology"}, "not a topic"),
        ({"query": "x" * 301}, "characters long"),
        ({"query": "x", "limit": 11}, "out of range"),
    ],
)
def test_bad_search_options_are_user_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        search_command(**kwargs)


def test_paper_subscribe_unsubscribe() -> None:
    assert paper_command("https://arxiv.org/abs/2504.17830v2") == cmd.PaperCommand("2504.17830", 2)
    with pytest.raises(UserInputError, match="not an arXiv id"):
        paper_command("diffusion models")
    assert subscribe_command("diffusion", "cv, llm,cv") == cmd.SubscribeCommand("diffusion", ("cv", "llm"))
    with pytest.raises(UserInputError, match="needs a query"):
        subscribe_command("  ", None)
    assert unsubscribe_command("2") == cmd.UnsubscribeCommand(number=2)
    assert unsubscribe_command("#3") == cmd.UnsubscribeCommand(number=3)
    assert unsubscribe_command("ALL") == cmd.UnsubscribeCommand(everything=True)
    assert unsubscribe_command("diffusion") == cmd.UnsubscribeCommand(query="diffusion")


def test_email_and_unsave_options() -> None:
    assert email_command(" ada@Example.org ") == cmd.EmailDigestCommand(address="ada@example.org")
    assert email_command("OFF") == cmd.EmailDigestCommand(off=True)
    with pytest.raises(cmd.UserInputError, match="not an email address"):
        email_command("<@123>")
    assert feedback_command("unsave", "#2") == cmd.UnlikeCommand(ref=cmd.PaperRef(number=2), saved_only=True)
    assert feedback_command("unlike", "2") == cmd.UnlikeCommand(ref=cmd.PaperRef(number=2))


def test_quiet_options() -> None:
    assert quiet_command() == cmd.QuietHoursCommand()
    assert quiet_command("off") == cmd.QuietHoursCommand(off=True)
    assert quiet_command("22:00-07:00", "Europe/Berlin") == cmd.QuietHoursCommand(
        start=time(22, 0), end=time(7, 0), timezone="Europe/Berlin"
    )
    for hours, tz, message in (("22:00", None, "not a span"), (None, "UTC", "needs hours"), ("22:00-07:00", "Mars/Olympus", "not a time zone")):
        with pytest.raises(UserInputError, match=message):
            quiet_command(hours, tz)


def test_digest_on_options() -> None:
    command = digest_on_command("9:30", "Europe/Berlin", "llm,rl", 12, "arxiv,hf", "mon,wed")
    assert command == cmd.DigestOnCommand(
        at=time(9, 30), timezone="Europe/Berlin", topics=("llm", "rl"), max_items=12,
        sources=(SourceKind.ARXIV, SourceKind.HF), days=(0, 2),
    )
    assert digest_on_command() == cmd.DigestOnCommand()
    for bad in ({"at": "25:00"}, {"tz": "Mars/Olympus"}, {"topics": "llm,nope"}, {"sources": "tv"}, {"days": "someday"}, {"max_items": 0}):
        with pytest.raises(UserInputError):
            digest_on_command(**bad)


def test_comma_list_autocomplete_completes_the_last_item() -> None:
    def topics(prefix: str) -> list[tuple[str, str]]:
        return [(n, v) for n, v in (("Computer Vision (cv)", "cv"), ("Large Language Models (llm)", "llm")) if v.startswith(prefix)]

    assert comma_choices("c", topics) == [("Computer Vision (cv)", "cv")]
    assert comma_choices("llm, c", topics) == [("llm, Computer Vision (cv)", "llm,cv")]
    assert comma_choices("llm,l", topics) == []  # already chosen


def test_timezone_and_choice_limits() -> None:
    assert ("Europe/Berlin", "Europe/Berlin") in timezone_choices("berlin")
    assert timezone_choices("")[0] == ("UTC", "UTC")
    choices = to_choices([("x" * 300, "v")] * 40 + [("ok", "y" * 101)])
    assert len(choices) == 25 and all(len(c.name) <= 100 for c in choices)


def test_invite_url_has_both_scopes_and_minimal_permissions() -> None:
    url = invite_url("123456789012345678")
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == ["123456789012345678"]
    assert query["scope"] == ["bot applications.commands"]
    permissions = discord.Permissions(int(query["permissions"][0]))
    assert permissions == required_permissions()
    assert permissions.value == (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 35) | (1 << 38)
    assert not (permissions.administrator or permissions.mention_everyone or permissions.manage_messages)
    with pytest.raises(ValueError, match="numeric"):
        invite_url("my-app")


def _http_error(status: int, code: int, headers: dict[str, str] | None = None) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason="x", headers=headers or {})
    error_type = {403: discord.Forbidden, 404: discord.NotFound}.get(status, discord.HTTPException)
    if status >= 500:
        error_type = discord.DiscordServerError
    return error_type(response, {"code": code, "message": "message"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (403, 50007, "dm_blocked"),
        (403, 50001, "missing_access"),
        (403, 50013, "missing_permissions"),
        (404, 10003, "channel_not_found"),
        (404, 10013, "user_not_found"),
        (403, 0, "missing_permissions"),
    ],
)
def test_permanent_errors(status: int, code: int, reason: str) -> None:
    error = delivery_error(_http_error(status, code), "channel 1")
    assert isinstance(error, PermanentDeliveryError) and error.reason == reason


def test_transient_and_rate_limit_errors() -> None:
    assert isinstance(delivery_error(_http_error(503, 0), "c"), TransientDeliveryError)
    assert isinstance(delivery_error(_http_error(400, 50035), "c"), TransientDeliveryError)
    assert isinstance(delivery_error(OSError("reset"), "c"), TransientDeliveryError)
    limited = delivery_error(_http_error(429, 0, {"Retry-After": "7"}), "c")
    assert isinstance(limited, RetryAfter) and limited.retry_after == 7
    assert delivery_error(discord.RateLimited(42.0), "c").retry_after == 42.0  # type: ignore[attr-defined]
