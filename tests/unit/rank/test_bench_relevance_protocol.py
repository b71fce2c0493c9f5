"""bench/bench_relevance.py's reader protocols, on a small fake reader over a few fake days (the
benchmark itself replays real announcements for minutes: `python -m bench.bench_relevance
--only readers`): under `shown` the feedback is spread over the feedback days (by day n at most
ceil(5n/3) likes and n dislikes in all), under `search_day1` the whole budget is open on day 1."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bench.bench_relevance import (
    FEEDBACK_DAYS,
    MAX_DISLIKES,
    MAX_LIKES,
    SEARCH_DAY1,
    SHOWN,
    Interest,
    choose_feedback,
    feedback_budget,
)
from bot.core.models import Paper
from bot.store.feedback import Choice
from tests.support.factories import make_paper

READER = Interest("speculative decoding", ("speculative decoding",), "llm", True)


def _day(day: int, relevant: int, irrelevant: int) -> list[Paper]:
    """A list of 10 as a reader is shown it: `relevant` papers about the interest first, then
    irrelevant ones, then relevant ones again (so both kinds come before the budget runs out)."""
    papers = [
        make_paper(paper_id=f"d{day}r{n}", title=f"Speculative decoding trick {n}", abstract="Faster speculative decoding.")
        for n in range(relevant)
    ]
    papers += [
        make_paper(paper_id=f"d{day}x{n}", title=f"Protein folding {n}", abstract="A folding model.")
        for n in range(irrelevant)
    ]
    return papers


def _replay(protocol: str, lists: Sequence[list[Paper]]) -> list[tuple[int, int]]:
    """The fake reader over the days' lists: totals (likes, dislikes) at the end of each day."""
    likes: list[str] = []
    dislikes: list[str] = []
    totals = []
    for number, shown in enumerate(lists, start=1):
        for paper_id, choice in choose_feedback(shown, READER, likes, dislikes, feedback_budget(protocol, number)):
            (likes if choice == Choice.RELEVANT else dislikes).append(paper_id)
        totals.append((len(likes), len(dislikes)))
    return totals


def test_shown_budget_is_ceil_5n_over_3_likes_and_n_dislikes() -> None:
    assert [feedback_budget(SHOWN, n) for n in range(1, FEEDBACK_DAYS + 1)] == [(2, 1), (4, 2), (5, 3)]
    assert feedback_budget(SHOWN, FEEDBACK_DAYS) == (MAX_LIKES, MAX_DISLIKES)


def test_search_day1_opens_the_whole_budget_on_day_1() -> None:
    assert feedback_budget(SEARCH_DAY1, 1) == (MAX_LIKES, MAX_DISLIKES)
    with pytest.raises(ValueError):
        feedback_budget("everything", 1)


def test_shown_reader_spreads_feedback_over_the_days() -> None:
    lists = [_day(n, relevant=6, irrelevant=4) for n in range(1, FEEDBACK_DAYS + 1)]
    assert _replay(SHOWN, lists) == [(2, 1), (4, 2), (5, 3)]
    # The earlier protocol spends the whole budget on the first list.
    assert _replay(SEARCH_DAY1, lists) == [(5, 3), (5, 3), (5, 3)]


def test_unused_budget_carries_over_to_later_days() -> None:
    # Day 1 shows nothing relevant, day 2 one relevant paper: day 3 may still reach 5 likes.
    lists = [_day(1, relevant=0, irrelevant=10), _day(2, relevant=1, irrelevant=9), _day(3, relevant=10, irrelevant=0)]
    assert _replay(SHOWN, lists) == [(0, 1), (1, 2), (5, 2)]


def test_a_list_is_read_top_to_bottom_and_judged_papers_are_passed() -> None:
    shown = _day(1, relevant=3, irrelevant=3)
    chosen = choose_feedback(shown, READER, ["d1r0"], [], (3, 2))
    assert chosen == [("d1r1", Choice.RELEVANT), ("d1r2", Choice.RELEVANT), ("d1x0", Choice.NOT_RELEVANT), ("d1x1", Choice.NOT_RELEVANT)]
