"""BotService: `paper <id>` shows an interim reply before looking a paper up on arXiv and ends
with the paper or a clear failure (issue #15, part 4); Share tokens give back exactly what was
shown, once, to whoever was shown it, where (part 5)."""

from __future__ import annotations

import asyncio

import pytest

from bot.chat.grammar import PaperCommand
from bot.chat.service import LOOKUP_SECONDS, PAPER_ANSWER_SECONDS, SHARE_TTL
from bot.core.models import Paper, Reply
from bot.store import Store
from tests.support.relevance import Rig, make_rig

UNKNOWN = "2512.00001"
BOUND = 20.0  # a bound for waits that must end (never reached when the test passes)


def looked_up(paper_id: str) -> Paper:
    return Paper(id=paper_id, version=1, title="Looked up on arXiv", abstract="FlashFuse halves memory.", url=f"https://arxiv.org/abs/{paper_id}")


class Interims:
    """A progress callback recording the interim replies (and what the look-up had seen then)."""

    def __init__(self, lookups: list[str]) -> None:
        self.lookups = lookups
        self.shown: list[tuple[Reply, int]] = []

    async def __call__(self, reply: Reply) -> None:
        self.shown.append((reply, len(self.lookups)))


def test_the_lookup_fits_in_the_answer_deadline() -> None:
    assert LOOKUP_SECONDS < PAPER_ANSWER_SECONDS <= 15


async def test_an_unknown_paper_gets_the_interim_reply_before_the_lookup(store: Store) -> None:
    lookups: list[str] = []

    async def lookup(paper_id: str) -> Paper | None:
        lookups.append(paper_id)
        return looked_up(paper_id)

    rig = await make_rig(store, lookup=lookup)
    progress = Interims(lookups)
    reply = await rig.service.handle_command(f"paper {UNKNOWN}", rig.actor(), rig.place(), progress=progress)
    assert [(r.text, r.interim, r.private, seen) for r, seen in progress.shown] == [
        (f"Looking up {UNKNOWN} on arXiv…", True, True, 0)  # shown before the look-up started
    ]
    assert lookups == [UNKNOWN]
    assert not reply.is_error and [i.paper.id for i in reply.items] == [UNKNOWN]
    assert reply.items[0].summary is not None  # answered with its (offline) summary


async def test_a_stored_paper_gets_no_interim_reply(rig_store: Rig) -> None:
    progress = Interims([])
    paper = rig_store.papers[0]
    reply = await rig_store.service.handle_command(f"paper {paper.id}", rig_store.actor(), rig_store.place(), progress=progress)
    assert progress.shown == [] and [i.paper.id for i in reply.items] == [paper.id]


async def test_an_arxiv_that_does_not_answer_gets_a_clear_failure(store: Store) -> None:
    never = asyncio.Event()

    async def hanging(paper_id: str) -> Paper | None:
        await never.wait()
        return None

    rig = await make_rig(store, lookup=hanging)
    rig.service.lookup_seconds = 0.2  # LOOKUP_SECONDS (12 s) in production
    progress = Interims([])
    reply = await asyncio.wait_for(
        rig.service.handle_command(f"paper {UNKNOWN}", rig.actor(), rig.place(), progress=progress), BOUND
    )
    assert len(progress.shown) == 1
    assert reply.is_error and reply.private
    assert reply.text == f"arXiv did not answer about {UNKNOWN} within 0.2 seconds; please try again in a minute"


async def test_a_value_that_is_no_arxiv_id_is_never_looked_up(store: Store) -> None:
    lookups: list[str] = []

    async def lookup(paper_id: str) -> Paper | None:
        lookups.append(paper_id)
        return None

    rig = await make_rig(store, lookup=lookup)
    # What a forged Details button could carry: not an id the bot issued.
    reply = await rig.service.item_action("save", "id_list=1&search_query=all:*", rig.actor(), rig.place())
    assert reply.is_error
    forged = await rig.service.handle_command(PaperCommand(paper_id="x" * 500), rig.actor(), rig.place(), progress=Interims([]))
    assert forged.is_error and len(forged.text) < 200
    assert lookups == []


@pytest.fixture
async def rig_store(store: Store) -> Rig:
    return await make_rig(store)


async def test_a_share_token_gives_back_what_was_shown_once(rig_store: Rig) -> None:
    rig = rig_store
    shown = await rig.say("diffusion")
    assert shown.shareable and shown.private
    token = await rig.service.keep_for_sharing(shown, rig.actor(), rig.place())
    assert 20 <= len(token) <= 40
    shared = rig.service.take_shared(token, rig.actor(), rig.place())
    assert shared is not None
    # The shown answer, made public: no Share button and no feedback buttons (those are personal).
    public = {"private": False, "shareable": False, "offers_feedback": False}
    assert shared == Reply(**{**{f: getattr(shown, f) for f in shown.__dataclass_fields__}, **public})
    assert rig.service.take_shared(token, rig.actor(), rig.place()) is None  # a replay
    assert rig.store.shares.count() == 0


async def test_a_share_token_is_bound_to_the_person_and_the_place(rig_store: Rig) -> None:
    rig = rig_store
    shown = await rig.say("diffusion")
    token = await rig.service.keep_for_sharing(shown, rig.actor("ada"), rig.place("C1"))
    assert rig.service.take_shared(token, rig.actor("eve"), rig.place("C1")) is None
    assert rig.service.take_shared(token, rig.actor("ada"), rig.place("C2")) is None
    assert rig.service.take_shared(token, rig.actor("ada", platform="slack"), rig.place("C1", platform="slack")) is None
    assert rig.service.take_shared(token, rig.actor("ada"), rig.place("C1")) is not None  # still hers


async def test_a_share_token_expires_and_forged_ones_are_refused(rig_store: Rig) -> None:
    rig = rig_store
    shown = await rig.say("diffusion")
    token = await rig.service.keep_for_sharing(shown, rig.actor(), rig.place())
    for forged in ("", "garbage", '{"c": "digest off"}', token[:-1], "x" * 5000):
        assert rig.service.take_shared(forged, rig.actor(), rig.place()) is None
    rig.clock.advance(seconds=SHARE_TTL.total_seconds() + 1)
    assert rig.service.take_shared(token, rig.actor(), rig.place()) is None
    # Expired tokens go when the next one is issued.
    await rig.service.keep_for_sharing(shown, rig.actor(), rig.place())
    assert rig.store.shares.count() == 1
