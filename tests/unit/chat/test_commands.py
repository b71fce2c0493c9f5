"""The /papers grammar: every form, every error, and no input that escapes as another exception."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.chat.grammar as c
from bot.core.errors import UserInputError
from bot.core.models import SourceKind


def test_search_with_every_option() -> None:
    cmd = c.parse_command('diffusion "video generation" since:7d source:hf topic:cv author:"Yann LeCun" sort:new limit:3')
    assert cmd == c.SearchCommand(
        query='diffusion "video generation"', since="7d", source=SourceKind.HF, topic="cv",
        author="Yann LeCun", sort="new", limit=3,
    )


@pytest.mark.parametrize("text", ["diffusion", "/papers diffusion", "search diffusion", "  diffusion  "])
def test_plain_search(text: str) -> None:
    assert c.parse_command(text) == c.SearchCommand(query="diffusion")


def test_since_forms_and_topic_names() -> None:
    assert c.parse_command("rl since:2w").since == "2w"  # type: ignore[union-attr]
    assert c.parse_command("rl since:2026-11-01").since == "2026-11-01"  # type: ignore[union-attr]
    assert c.parse_command('x topic:"Computer Vision"').topic == "cv"  # type: ignore[union-attr]
    assert c.parse_command("x topic:llm").topic == "llm"  # type: ignore[union-attr]


def test_filters_without_words_are_a_search() -> None:
    assert c.parse_command("topic:rl since:3d") == c.SearchCommand(topic="rl", since="3d")


def test_paper_forms() -> None:
    for ref in ("2504.17830v2", "arXiv:2504.17830", "https://arxiv.org/abs/2504.17830v1", "https://arxiv.org/pdf/2504.17830v3.pdf"):
        cmd = c.parse_command(f"paper {ref}")
        assert isinstance(cmd, c.PaperCommand) and cmd.paper_id == "2504.17830"
    assert c.parse_command("paper hep-th/9901001v1") == c.PaperCommand("hep-th/9901001", 1)


def test_subscription_forms() -> None:
    assert c.parse_command("subscribe diffusion topic:cv") == c.SubscribeCommand("diffusion", ("cv",))
    assert c.parse_command("subscribe topics:llm,rl") == c.SubscribeCommand("", ("llm", "rl"))
    assert c.parse_command("unsubscribe 2") == c.UnsubscribeCommand(number=2)
    assert c.parse_command("unsubscribe all") == c.UnsubscribeCommand(everything=True)
    assert c.parse_command("unsubscribe diffusion models") == c.UnsubscribeCommand(query="diffusion models")
    assert c.parse_command("subscriptions") == c.ListSubscriptionsCommand()


def test_quiet_hours_forms() -> None:
    assert c.parse_command("quiet") == c.QuietHoursCommand()
    assert c.parse_command("quiet off") == c.QuietHoursCommand(off=True)
    berlin = c.QuietHoursCommand(start=time(22, 0), end=time(7, 0), timezone="Europe/Berlin")
    assert c.parse_command("quiet 22:00-07:00 tz:Europe/Berlin") == berlin
    assert c.parse_command("quiet 22:00 to 7:00 tz:Europe/Berlin") == berlin
    assert c.parse_command("quiet 12:00 - 14:00") == c.QuietHoursCommand(start=time(12, 0), end=time(14, 0))


def test_alert_settings_forms() -> None:
    assert c.parse_command("alerts") == c.AlertSettingsCommand()
    assert c.parse_command("alerts threshold:0.5") == c.AlertSettingsCommand(threshold=0.5)
    assert c.parse_command("alerts threshold:0") == c.AlertSettingsCommand(threshold=0.0)
    for bad in ("alerts threshold:2", "alerts threshold:high", "alerts loud"):
        with pytest.raises(UserInputError):
            c.parse_command(bad)


def test_digest_forms() -> None:
    cmd = c.parse_command("digest on 09:30 tz:Europe/Berlin topics:llm,rl max:5 sources:arxiv,hf days:mon,wed updated:yes notes:no catchup:skip minscore:10")
    assert cmd == c.DigestOnCommand(
        at=time(9, 30), timezone="Europe/Berlin", topics=("llm", "rl"), max_items=5,
        sources=(SourceKind.ARXIV, SourceKind.HF), days=(0, 2), min_score=10,
        show_updated=True, quiet_note=False, catch_up="skip",
    )
    assert c.parse_command("digest on") == c.DigestOnCommand()
    assert c.parse_command("digest off") == c.DigestOffCommand()
    assert c.parse_command("digest show") == c.DigestShowCommand()
    assert c.parse_command("digest") == c.DigestShowCommand()
    assert c.parse_command("digest now") == c.DigestNowCommand()


def test_help_and_topics() -> None:
    assert c.parse_command("") == c.HelpCommand()
    assert c.parse_command("help") == c.HelpCommand()
    assert c.parse_command("topics") == c.TopicsCommand()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x since:forever", "not a time window"),
        ("x since:0d", "longer than 0"),
        ("x source:twitter", "use arxiv, hf, reddit or feed"),
        ("x topic:underwater-basket-weaving", "not a topic"),
        ("x sort:random", "sort:relevance"),
        ("x limit:50", "from 1 to 10"),
        ("x limit:many", "not a number"),
        ("x sinc:7d", "did you mean since:"),
        ("x since:7d since:2d", "given twice"),
        ("paper not-an-id", "not an arXiv id"),
        ("paper", "needs an arXiv id"),
        ("search", "needs a query"),
        ('""', "empty"),
        ("subscribe", "needs a query"),
        ("unsubscribe", "needs a number"),
        ("subscriptions extra", "takes nothing"),
        ("quiet 22:00", "not a span of hours"),
        ("quiet 22:00-25:00", "not a time of day"),
        ("quiet 22:00-22:00", "different times"),
        ("quiet 22:00-07:00 tz:Nowhere/City", "not a time zone"),
        ("quiet tz:UTC", "needs hours"),
        ("digest maybe", "use digest on, off, show or now"),
        ("digest on 25:00", "not a time of day"),
        ("digest on tz:Mars/Olympus", "not a time zone"),
        ("digest on max:0", "from 1 to 50"),
        ("digest on days:someday", "weekdays"),
        ("digest on 09:00 10:00", "one time of day"),
        ("digest on banana", "not understood"),
        ("x " * 3000, "characters long"),
        ("w" * 400, "keep it under 300"),
    ],
)
def test_errors_are_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(UserInputError) as info:
        c.parse_command(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_arxiv_prefix_and_urls_in_queries_are_text() -> None:
    assert c.parse_command("see arXiv:2504.17830").query == "see arXiv:2504.17830"  # type: ignore[union-attr]
    assert c.parse_command("https://example.com/x").query == "https://example.com/x"  # type: ignore[union-attr]


ALPHABET = st.sampled_from(list('abc xyz:"*^()-+ NEAR AND OR NOT since: topic: limit:9 digest on paper subscribe \t\n\x00é中🙂\'/\\'))


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(ALPHABET, max_size=40).map("".join)))
def test_any_input_is_a_command_or_a_user_error(text: str) -> None:
    try:
        result = c.parse_command(text)
    except UserInputError as exc:
        assert str(exc)
    else:
        assert result is not None
