"""The feedback commands end to end through BotService, as the console runs them: like,
dislike, save, unlike, saved, seed, foryou, similar and forget me, over real arXiv papers."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.core.models import Paper
from bot.store import Store
from bot.store.feedback import Choice
from tests.support.factories import make_paper
from tests.support.relevance import (
    SEGMENTATION,
    SPECULATIVE,
    Rig,
    about,
    as_paper,
    make_rig,
    sample_records,
)


@pytest.fixture
async def rig(store: Store) -> Rig:
    return await make_rig(store)


def _ids(reply) -> list[str]:  # type: ignore[no-untyped-def]
    return [item.paper.id for item in reply.items]


async def test_like_by_number_uses_the_list_the_person_was_shown(rig: Rig) -> None:
    shown = await rig.say("speculative decoding since:2d limit:5")
    assert shown.items and shown.offers_feedback
    third = shown.items[2].paper
    reply = await rig.say("like 3")
    assert not reply.is_error and "👍" in reply.text and third.title[:30] in reply.text
    rows = rig.store.feedback.for_person("console", "ada")
    assert [(r.paper_id, r.choice, r.shown_in) for r in rows] == [(third.id, Choice.RELEVANT, "search")]
    # Another person's list is theirs: the same number means nothing for someone who saw nothing.
    other = await rig.say("like 3", user_id="bob", channel_id="elsewhere")
    assert other.is_error and "no list" in other.text


async def test_numbers_out_of_range_and_unknown_ids_get_clear_answers(rig: Rig) -> None:
    await rig.say("speculative decoding limit:2")
    too_far = await rig.say("dislike 7")
    assert too_far.is_error and "pick a number from 1 to 2" in too_far.text
    unknown = await rig.say("like 2101.00001")
    assert unknown.is_error and "no paper 2101.00001" in unknown.text


async def test_an_id_that_is_not_stored_is_looked_up_on_arxiv(store: Store) -> None:
    looked: list[str] = []
    extra = as_paper(sample_records()[0])
    fresh = make_paper(paper_id="2511.00001", title="A paper only arXiv knows", abstract=extra.abstract)

    async def lookup(paper_id: str) -> Paper | None:
        looked.append(paper_id)
        return fresh if paper_id == fresh.id else None

    rig = await make_rig(store, lookup=lookup)
    reply = await rig.say("save 2511.00001")
    assert looked == ["2511.00001"] and "Saved" in reply.text
    assert store.papers.get("2511.00001") is not None
    saved = await rig.say("saved")
    assert _ids(saved) == ["2511.00001"] and saved.private


async def test_feedback_changes_foryou_and_every_item_says_why(rig: Rig) -> None:
    cold = await rig.say("foryou")
    assert cold.items and "Teach it" in cold.footer
    speculative = [p for p in rig.papers if about(p, SPECULATIVE)]
    segmentation = [p for p in rig.papers if about(p, SEGMENTATION)]
    for paper in speculative[:4]:
        assert not (await rig.say(f"like {paper.id}")).is_error
    for paper in segmentation[:2]:
        assert not (await rig.say(f"dislike {paper.id}")).is_error
    warm = await rig.say("foryou limit:10")
    ids = _ids(warm)
    assert not set(ids) & {p.id for p in speculative[:4] + segmentation[:2]}  # judged papers are not shown again
    top = [p for p in warm.items[:5]]
    assert all(about(item.paper, SPECULATIVE) for item in top), [i.paper.title for i in top]
    assert all(item.why for item in warm.items)
    assert any("you liked" in item.why for item in warm.items[:3])
    # The list is remembered: like 1 now means its first paper.
    first = warm.items[0].paper
    assert first.title[:30] in (await rig.say("like 1")).text


async def test_unlike_takes_a_choice_and_a_save_back(rig: Rig) -> None:
    paper = rig.papers[0]
    await rig.say(f"like {paper.id}")
    await rig.say(f"save {paper.id}")
    again = await rig.say(f"dislike {paper.id}")
    assert "replaces your earlier choice" in again.text
    assert rig.store.feedback.choice("console", "ada", paper.id) == Choice.NOT_RELEVANT
    reply = await rig.say(f"unlike {paper.id}")
    assert "your choice and the save" in reply.text
    assert rig.store.feedback.choice("console", "ada", paper.id) is None
    assert rig.store.feedback.saved("console", "ada") == []
    nothing = await rig.say(f"unlike {paper.id}")
    assert "had not liked" in nothing.text


async def test_seeds_start_recommendations(rig: Rig) -> None:
    segmentation = [p for p in rig.papers if about(p, SEGMENTATION)]
    reply = await rig.say("seed " + " ".join(f"https://arxiv.org/abs/{p.id}v1" for p in segmentation[:3]) + " 2101.99999")
    assert "3 new seeds" in reply.text and "Not found on arXiv: 2101.99999" in reply.text
    ranked = await rig.say("foryou")
    assert sum(about(item.paper, SEGMENTATION) for item in ranked.items[:5]) >= 4


async def test_similar_finds_papers_on_the_same_subject(rig: Rig) -> None:
    speculative = [p for p in rig.papers if about(p, SPECULATIVE)]
    asked = next(p for p in speculative if "speculative" in p.title.lower())
    reply = await rig.say(f"similar {asked.id}")
    assert len(reply.items) == 5 and asked.id not in _ids(reply)
    assert sum(about(item.paper, SPECULATIVE) for item in reply.items) >= 4
    assert all("similar to" in item.why for item in reply.items)
    # Its list counts for numbers too.
    assert reply.items[1].paper.title[:30] in (await rig.say("save 2")).text


async def test_saved_lists_are_private_to_their_owner(rig: Rig) -> None:
    await rig.say(f"save {rig.papers[5].id}")
    mine = await rig.say("saved")
    theirs = await rig.say("saved", user_id="bob")
    assert _ids(mine) == [rig.papers[5].id] and mine.private
    assert not theirs.items and "not saved any" in theirs.text


async def test_a_channel_model_learns_only_from_feedback_given_in_that_channel(rig: Rig) -> None:
    speculative = [p for p in rig.papers if about(p, SPECULATIVE)]
    await rig.say(f"like {speculative[0].id}", channel_id="C-lab", platform="discord")
    await rig.say(f"like {speculative[1].id}", user_id="bob", channel_id="C-other", platform="discord")
    await rig.say(f"like {speculative[2].id}", user_id="cy", channel_id="D-cy", platform="discord")
    lab = rig.store.feedback.for_channel("discord:C-lab")
    assert [r.paper_id for r in lab] == [speculative[0].id]
    assert [r.paper_id for r in rig.store.feedback.for_channel("discord:C-other")] == [speculative[1].id]


async def test_forget_me_deletes_every_row_about_the_person(rig: Rig) -> None:
    speculative = [p for p in rig.papers if about(p, SPECULATIVE)]
    await rig.say("subscribe speculative decoding")
    await rig.say("quiet 22:00-07:00 tz:Europe/Berlin")
    await rig.say(f"like {speculative[0].id}", channel_id="C-lab")
    await rig.say(f"dislike {speculative[1].id}")
    await rig.say(f"save {speculative[2].id}")
    await rig.say(f"seed {speculative[3].id}")
    await rig.say("digest me on 08:00 tz:Europe/Berlin")
    rig.clock.advance(days=3)  # Monday: the next announcement day
    rig.store.papers.ingest([replace(speculative[6], id="2606.99999", published=rig.clock())], rig.clock())
    assert await rig.personal.run_due(rig.clock()) == 1  # a DM digest in the outbox, its day handled
    await rig.say("foryou since:5d")
    rig.store.notices.add("console", "ada", "a notice", rig.clock())
    rig.store.alert_queue.add([("console", "ada", speculative[4].id, [1])], rig.clock())
    await rig.say(f"like {speculative[5].id}", user_id="bob", channel_id="C-lab")
    assert rig.store.feedback.model("person", "console:ada") is not None

    reply = await rig.say("forget me")
    assert "no longer holds anything about you" in reply.text and "feedback" in reply.text
    conn = rig.store.conn
    by_user = {
        "feedback": "SELECT COUNT(*) FROM feedback WHERE platform = 'console' AND user_id = 'ada'",
        "saved_papers": "SELECT COUNT(*) FROM saved_papers WHERE platform = 'console' AND user_id = 'ada'",
        "seeds": "SELECT COUNT(*) FROM seeds WHERE platform = 'console' AND user_id = 'ada'",
        "shown_lists": "SELECT COUNT(*) FROM shown_lists WHERE platform = 'console' AND scope = 'ada'",
        "shown_history": "SELECT COUNT(*) FROM shown_history WHERE platform = 'console' AND scope = 'ada'",
        "personal_digests": "SELECT COUNT(*) FROM personal_digests WHERE user_id = 'ada'",
        "subscriptions": "SELECT COUNT(*) FROM subscriptions WHERE user_id = 'ada'",
        "alert_queue": "SELECT COUNT(*) FROM alert_queue WHERE user_id = 'ada'",
        "user_state": "SELECT COUNT(*) FROM user_state WHERE user_id = 'ada'",
        "notices": "SELECT COUNT(*) FROM notices WHERE user_id = 'ada'",
        "interest_models": "SELECT COUNT(*) FROM interest_models WHERE owner_key = 'console:ada'",
        "outbox": "SELECT COUNT(*) FROM outbox WHERE destination = 'ada'",
        "digest_runs": "SELECT COUNT(*) FROM digest_runs WHERE channel_key = 'console:@ada'",
    }
    for table, sql in by_user.items():
        assert conn.execute(sql).fetchone()[0] == 0, table
    # The channel model was rebuilt from what is left: bob's like alone.
    lab = rig.store.feedback.for_channel("console:C-lab")
    assert [r.user_id for r in lab] == ["bob"]
    channel_model = await rig.ranker.model("channel", "console:C-lab")
    assert channel_model is not None and channel_model.positive_ids == (speculative[5].id,)
    # Bob's data is untouched.
    assert rig.store.feedback.for_person("console", "bob")


async def test_forget_me_refuses_anything_but_me(rig: Rig) -> None:
    reply = await rig.say("forget everything")
    assert reply.is_error and "/papers forget me" in reply.text


async def test_personal_digest_commands(rig: Rig) -> None:
    on = await rig.say("digest me on 07:30 tz:Europe/Berlin max:3 threshold:0.6")
    assert "personal digest is on" in on.text and "07:30 Europe/Berlin" in on.text and "0.6" in on.text
    shown = await rig.say("digest me show")
    assert "Next digest" in shown.text
    off = await rig.say("digest me off")
    assert "is off" in off.text
    digest = rig.store.feedback.personal_digest("console", "ada")
    assert digest is not None and not digest.enabled and digest.max_items == 3 and digest.threshold == 0.6


async def test_alert_settings_commands(rig: Rig) -> None:
    shown = await rig.say("alerts")
    assert "Threshold: none" in shown.text and "quiet hours" in shown.text
    on = await rig.say("alerts threshold:0.6")
    assert "Alert threshold 0.6" in on.text and rig.store.feedback.alert_threshold("console", "ada") == 0.6
    assert "Threshold: 0.6" in (await rig.say("alerts")).text
    off = await rig.say("alerts threshold:0")
    assert "threshold off" in off.text and rig.store.feedback.alert_threshold("console", "ada") is None
    assert (await rig.say("alerts threshold:7")).is_error


async def test_foryou_window_and_limits(rig: Rig) -> None:
    rig.clock.advance(days=5)
    empty = await rig.say("foryou since:1d")
    assert "No new papers since 1d" in empty.text
    wide = await rig.say("foryou since:7d limit:3")
    assert len(wide.items) == 3
    assert (rig.clock() - timedelta(days=7)) <= min(i.paper.published for i in wide.items)  # type: ignore[type-var]
