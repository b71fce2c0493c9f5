"""bot.rank over real arXiv papers: the representation, stored models and their rebuild, the
order of channel digests and alert batches once there is feedback, the relevance threshold's
quiet day, personal DM digests, similar papers and semantic candidates."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

import numpy as np
import pytest

import bot.chat.grammar as cmd
from bot.alerts.alerts import SubscriptionCommands, cut_batches, scan_new_papers
from bot.core.models import Actor, ChannelSettings, Place
from bot.core.outbox import OutboxKind
from bot.delivery.outbox import reply_from_json
from bot.rank.index import PaperIndex
from bot.rank.models import CHANNEL, PERSON, InterestModel
from bot.rank.representation import N_FEATURES, REPRESENTATION, HashedTfidf, paper_text
from bot.rank.similar import nearest, semantic_candidates, top_k
from bot.store import Store
from bot.store.feedback import Choice, PersonalDigest
from bot.store.vectors import PaperText
from tests.support.factories import FakeSummaries, app_settings
from tests.support.relevance import SEGMENTATION, SPECULATIVE, Rig, about, make_rig


@pytest.fixture
async def rig(store: Store) -> Rig:
    return await make_rig(store)


def test_bucket_names_agree_with_the_vectorizer() -> None:
    tfidf = HashedTfidf()
    text = paper_text("Speculative decoding with draft models", "We accelerate LLM inference by drafting tokens.")
    names = tfidf.terms_by_bucket(text)
    row = tfidf.counts([text])
    assert set(names) == set(row.indices.tolist())
    assert "speculative decoding" in names.values() and "draft models" in names.values()


def test_document_frequencies_round_trip_and_weigh_rare_words_more() -> None:
    tfidf = HashedTfidf()
    texts = ["graph neural networks for molecules", "graph neural networks for traffic", "speculative decoding"]
    tfidf.observe(tfidf.counts(texts))
    restored = HashedTfidf.from_state(tfidf.to_state())
    assert restored.n_docs == 3 and np.array_equal(restored.df, tfidf.df)
    row = restored.vectors(["graph speculative"])
    weights = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
    names = {v: k for k, v in restored.terms_by_bucket("graph speculative").items()}
    assert weights[names["speculative"]] > weights[names["graph"]]
    assert abs(float(row.multiply(row).sum()) - 1.0) < 1e-5


async def test_the_index_is_saved_and_reloaded_with_its_vectors(rig: Rig) -> None:
    index = rig.ranker.index
    assert index.projection is not None and len(index.dense) == len(rig.papers)
    again = PaperIndex.load(rig.store)
    assert again.projection is not None and again.projection.version == index.projection.version
    assert again.last_pk == index.last_pk and again.tfidf.n_docs == len(rig.papers)
    pid = rig.papers[3].id
    assert np.allclose(again.dense.row(pid), index.dense.row(pid))  # type: ignore[arg-type]
    assert await again.refresh(rig.store, rig.clock()) == 0  # nothing new to index


async def test_models_are_stored_and_rebuilt_when_the_representation_changes(rig: Rig) -> None:
    speculative = [p for p in rig.papers if about(p, SPECULATIVE)]
    for paper in speculative[:3]:
        await rig.ranker.record("console", "ada", paper.id, Choice.RELEVANT)
    stored = rig.store.feedback.model(PERSON, "console:ada")
    assert stored is not None and stored.representation == REPRESENTATION and stored.feedback_count == 3
    model = InterestModel.from_bytes(stored.data)
    assert model.positive_ids == tuple(p.id for p in speculative[:3]) and model.has_feedback
    # A model from an older representation is never used: it is rebuilt from the feedback rows.
    rig.store.feedback.save_model(replace(stored, representation="hash-tfidf-v0", data=b"old"))
    rig.ranker._models.clear()
    rebuilt = await rig.ranker.model(PERSON, "console:ada")
    assert rebuilt is not None and rebuilt.representation == REPRESENTATION
    assert rig.store.feedback.model(PERSON, "console:ada").representation == REPRESENTATION  # type: ignore[union-attr]


async def test_a_subscription_alone_ranks_by_similarity_until_feedback_exists(rig: Rig) -> None:
    rig.store.subscriptions.add("console", "ada", "medical image segmentation", (), rig.clock())
    ranked = await rig.ranker.for_you("console", "ada", rig.clock() - timedelta(days=2), 5)
    assert all(about(r.paper, SEGMENTATION) for r in ranked[:4]), [r.paper.title for r in ranked]
    assert any("matches your subscription “medical image segmentation”" in r.why for r in ranked)
    assert all(r.relevance is None for r in ranked)  # no feedback: no relevance to threshold on


async def _digest_ids(rig: Rig, key: str) -> list[str]:
    digest = await rig.job.preview(key, None, rig.clock())
    assert digest is not None
    return list(digest.paper_ids)


async def test_channel_feedback_changes_the_next_digest_order(rig: Rig) -> None:
    settings = ChannelSettings(platform="discord", channel_id="C-lab", max_items=8)
    rig.store.channels.save(settings, rig.clock() - timedelta(days=3))
    before = await _digest_ids(rig, "discord:C-lab")
    segmentation = [p for p in rig.papers if about(p, SEGMENTATION)]
    speculative = [p for p in rig.papers if about(p, SPECULATIVE)]
    for paper in segmentation[:3]:
        await rig.ranker.record("discord", "u1", paper.id, Choice.RELEVANT, channel_key="discord:C-lab")
    await rig.ranker.record("discord", "u2", speculative[0].id, Choice.NOT_RELEVANT, channel_key="discord:C-lab")
    # Feedback given elsewhere (another channel, a DM) does not touch this channel's model.
    await rig.ranker.record("discord", "u1", speculative[1].id, Choice.RELEVANT, channel_key="discord:C-other")
    after = await _digest_ids(rig, "discord:C-lab")
    assert before != after
    by_id = {p.id: p for p in rig.papers}
    assert sum(about(by_id[pid], SEGMENTATION) for pid in after[:5]) >= 4
    assert sum(about(by_id[pid], SEGMENTATION) for pid in before[:5]) <= 2
    digest = await rig.job.preview("discord:C-lab", None, rig.clock())
    assert digest is not None and any("liked here" in item.why for item in digest.reply.items)
    assert digest.reply.offers_feedback


async def test_a_threshold_gives_a_quiet_day_one_line(rig: Rig) -> None:
    now = rig.clock()
    settings = ChannelSettings(
        platform="discord", channel_id="C-med", days=tuple(range(7)), time_of_day=time(9, 0), threshold=0.97,
    )
    rig.store.channels.save(settings, now - timedelta(days=2))
    segmentation = [p for p in rig.papers if about(p, SEGMENTATION)]
    for paper in segmentation[:3]:
        await rig.ranker.record("discord", "u1", paper.id, Choice.RELEVANT, channel_key="discord:C-med")
    # Today only papers far from what the channel liked are new: none reaches 0.97.
    rig.store.conn.execute("DELETE FROM paper_topics")
    others = [p.id for p in rig.papers if not about(p, SEGMENTATION)]
    rig.store.outbox.record_delivered("discord:C-med", [(p.id, 1) for p in segmentation], "2026-06-11")
    assert await rig.job.run_due(rig.clock()) == 1
    (row,) = rig.store.outbox.rows()
    assert row.kind == OutboxKind.DIGEST_NOTE.value
    reply = reply_from_json(row.payload)
    assert reply.text.startswith("Nothing relevant today") and "0.97" in reply.text and not reply.items
    assert rig.store.channels.run_for("discord:C-med", "2026-06-12").status == "quiet"  # type: ignore[union-attr]
    # With a lower threshold the same day brings only the papers that pass it.
    lower = replace(rig.store.channels.get("discord:C-med"), threshold=0.5, channel_id="C-med2")  # type: ignore[arg-type]
    rig.store.channels.save(lower, now - timedelta(days=2))
    for paper in segmentation[:3]:
        await rig.ranker.record("discord", "u1", paper.id, Choice.RELEVANT, channel_key="discord:C-med2")
    digest = await rig.job.preview("discord:C-med2", None, rig.clock())
    assert digest is not None and 0 < len(digest.paper_ids) < len(others)


async def test_alert_batches_follow_the_persons_model(rig: Rig) -> None:
    store = rig.store
    settings = app_settings(alert_max_items=5)
    store.subscriptions.add("discord", "ada", "model", (), rig.clock() - timedelta(days=1))
    await scan_new_papers(store, rig.clock(), keep_per_user=50, first_window=timedelta(days=2))
    queued = store.alert_queue.waiting("discord", "ada")
    assert len(queued) > 10
    by_id = {p.id: p for p in rig.papers}
    speculative = [q.paper_id for q in queued if about(by_id[q.paper_id], SPECULATIVE)]
    for paper_id in speculative[:3]:
        await rig.ranker.record("discord", "ada", paper_id, Choice.RELEVANT)
    assert await cut_batches(store, FakeSummaries(store), settings, rig.clock(), rig.ranker) == 1
    (row,) = store.outbox.rows(kind="alert")
    reply = reply_from_json(row.payload)
    assert sum(about(item.paper, SPECULATIVE) for item in reply.items) >= 4
    assert all(item.why.startswith("matches #1") for item in reply.items) and reply.offers_feedback
    # The batch is this person's last list: `like 2` means its second paper.
    shown = store.feedback.last_shown("discord", "ada")
    assert shown is not None and shown.context == "alert" and shown.paper_ids == tuple(i.paper.id for i in reply.items)


async def test_an_alert_threshold_keeps_only_relevant_matches_and_a_quiet_batch_is_one_line(rig: Rig) -> None:
    store = rig.store
    settings = app_settings(alert_max_items=5)
    service = SubscriptionCommands(store=store, settings=settings, clock=rig.clock)
    ada = Actor("discord", "ada")
    store.subscriptions.add("discord", "ada", "model", (), rig.clock() - timedelta(days=1))
    await scan_new_papers(store, rig.clock(), keep_per_user=50, first_window=timedelta(days=2))
    queued = store.alert_queue.waiting("discord", "ada")
    by_id = {p.id: p for p in rig.papers}
    speculative = [q.paper_id for q in queued if about(by_id[q.paper_id], SPECULATIVE)]
    others = [q.paper_id for q in queued if not about(by_id[q.paper_id], SPECULATIVE)]
    assert len(speculative) >= 5 and len(others) >= 5
    for paper_id in speculative[:3]:
        await rig.ranker.record("discord", "ada", paper_id, Choice.RELEVANT)
    for paper_id in others[:2]:
        await rig.ranker.record("discord", "ada", paper_id, Choice.NOT_RELEVANT)

    # A quiet batch: only matches far from what Ada liked are waiting, none reaches 0.9.
    store.alert_queue.assign("discord", "ada", speculative, "held:for-later")
    answer = await service.handle(cmd.AlertSettingsCommand(threshold=0.9), ada, Place("discord", "D-ada", is_dm=True))
    assert "0.9" in answer.text and store.feedback.alert_threshold("discord", "ada") == 0.9
    assert await cut_batches(store, FakeSummaries(store), settings, rig.clock(), rig.ranker) == 1
    (quiet,) = store.outbox.rows(kind="alert")
    reply = reply_from_json(quiet.payload)
    assert not reply.items and reply.text.startswith("Nothing relevant for you this time")
    assert "0.9" in reply.text and "/papers alerts threshold:0" in reply.text
    assert store.alert_queue.waiting("discord", "ada") == []  # consumed: not offered again

    # The next batch holds Ada's kind of papers and others: only those passing a 0.5 threshold
    # are listed, the rest counted in the footer.
    store.conn.execute(
        "UPDATE alert_queue SET outbox_key = NULL WHERE platform = 'discord' AND user_id = 'ada' AND outbox_key = 'held:for-later'"
    )
    store.conn.executemany("UPDATE alert_queue SET outbox_key = NULL WHERE paper_id = ?", [(pid,) for pid in others[2:8]])
    await service.handle(cmd.AlertSettingsCommand(threshold=0.5), ada, Place("discord", "D-ada", is_dm=True))
    later = rig.clock() + timedelta(seconds=settings.alert_interval)  # the next window
    assert await cut_batches(store, FakeSummaries(store), settings, later, rig.ranker) == 1
    relevant = reply_from_json(store.outbox.rows(kind="alert")[-1].payload)
    assert relevant.items and all(about(item.paper, SPECULATIVE) for item in relevant.items)
    assert "below your relevance threshold 0.5" in relevant.footer

    # Showing the settings, and turning the threshold off.
    shown = await service.handle(cmd.AlertSettingsCommand(), ada, Place("discord", "D-ada", is_dm=True))
    assert "Threshold: 0.5" in shown.text and "Subscriptions: 1" in shown.text
    await service.handle(cmd.AlertSettingsCommand(threshold=0.0), ada, Place("discord", "D-ada", is_dm=True))
    assert store.feedback.alert_threshold("discord", "ada") is None
    assert "alert settings" in store.feedback.forget_person("discord", "ada")


async def test_personal_digest_is_written_once_per_day_and_says_why(rig: Rig) -> None:
    now = rig.clock()
    rig.store.feedback.save_personal_digest(
        PersonalDigest("discord", "ada", time_of_day=time(8, 0), max_items=4), now - timedelta(days=2)
    )
    speculative = [p for p in rig.papers if about(p, SPECULATIVE)]
    await rig.ranker.seed("discord", "ada", [p.id for p in speculative[:2]])
    assert await rig.personal.run_due(now) == 1
    assert await rig.personal.run_due(now) == 0  # the same local date is handled once
    (row,) = rig.store.outbox.rows(kind=OutboxKind.PERSONAL_DIGEST.value)
    assert row.destination == "ada" and row.key.startswith("personal-digest:discord:ada:")
    reply = reply_from_json(row.payload)
    assert len(reply.items) == 4 and all(item.why for item in reply.items) and reply.offers_feedback
    assert sum(about(item.paper, SPECULATIVE) for item in reply.items) >= 3


async def test_similar_search_skips_the_paper_and_keeps_to_a_window(rig: Rig) -> None:
    index = rig.ranker.index
    speculative = next(p for p in rig.papers if "speculative" in p.title.lower())
    text = PaperText(0, speculative.id, 1, speculative.title, speculative.abstract, "")
    found = nearest(index, text, 5)
    assert speculative.id not in [n.paper_id for n in found] and len(found) == 5
    assert [n.score for n in found] == sorted((n.score for n in found), reverse=True)
    row = index.dense.row(speculative.id)
    assert row is not None
    assert top_k(index.dense, row, 3, since=float(index.dense.times.max()) + 1) == []
    assert len(top_k(index.dense, row, 500)) == len(rig.papers)


async def test_semantic_candidates_find_meaning_beyond_keywords(rig: Rig) -> None:
    found = semantic_candidates(rig.ranker.index, "making LLM inference faster", 5)
    by_id = {p.id: p for p in rig.papers}
    assert sum(about(by_id[n.paper_id], SPECULATIVE) for n in found) >= 4
    assert semantic_candidates(rig.ranker.index, "the of and", 5) == []


async def test_a_query_takes_the_one_text_path_to_the_same_vector(rig: Rig) -> None:
    """`dense_for_text` (a query's words, without scikit-learn's and scipy's per-call work)
    gives the row `dense_for_texts` gives, to float32 rounding, and the same neighbours."""
    index = rig.ranker.index
    assert index.projection is not None
    texts = ["making LLM inference faster", "speculative decoding draft model", "Medical image segmentation",
             "the of and", "", *(paper.title for paper in rig.papers[:40])]
    for text in texts:
        buckets, weights = index.tfidf.weights_of(text)
        row = index.tfidf.vectors([text])
        assert sorted(row.indices.tolist()) == buckets.tolist()
        np.testing.assert_allclose(weights, row.toarray()[0][buckets], rtol=1e-6)
        one, many = index.dense_for_text(text), index.dense_for_texts([text])
        assert one is not None and many is not None and one.shape == many.shape
        np.testing.assert_allclose(one, many, atol=1e-6)
        if np.any(many):
            assert [n.paper_id for n in top_k(index.dense, one[0], 10)] == [n.paper_id for n in top_k(index.dense, many[0], 10)]
        else:
            assert not np.any(one)


async def test_a_small_store_before_any_projection_still_finds_similar_papers(store: Store) -> None:
    from tests.support.relevance import as_paper, sample_records

    records = [r for r in sample_records() if "segmentation" in str(r["title"]).lower()][:12]
    records += sample_records()[-20:]
    rig = await make_rig(store, papers=[as_paper(r) for r in records])
    assert rig.ranker.index.projection is None  # fewer than 50 papers
    reply = await rig.say(f"similar {records[0]['id']}")
    assert reply.items and sum("segmentation" in i.paper.title.lower() for i in reply.items[:3]) >= 2


def test_model_weights_cover_only_buckets_seen_in_training() -> None:
    tfidf = HashedTfidf()
    from bot.rank.models import TrainingSet, train

    rows = tfidf.vectors(["speculative decoding draft", "speculative sampling draft", "medical segmentation", "tumor"])
    empty = rows[:0]
    model = train(
        TrainingSet(
            positives=rows[:2], positive_weights=np.ones(2), negatives=rows[2:3], background=rows[3:], weak=empty
        )
    )
    assert model is not None and set(model.indices.tolist()) <= set(rows.indices.tolist())
    assert model.indices.max() < N_FEATURES
    scores = model.relevance(tfidf.vectors(["draft speculative decoding", "tumor segmentation"]))
    assert scores[0] > 0.5 > scores[1]
    assert InterestModel.from_bytes(model.to_bytes()).bias == model.bias
    # Only dislikes: a model that pushes such papers down.
    negative = train(TrainingSet(positives=empty, positive_weights=np.ones(0), negatives=rows[2:3], background=empty, weak=empty))
    assert negative is not None and negative.has_feedback
    assert negative.relevance(rows[2:3])[0] < negative.relevance(rows[0:1])[0]
    # Nothing at all: no model.
    assert train(TrainingSet(positives=empty, positive_weights=np.ones(0), negatives=empty, background=empty, weak=empty)) is None


async def test_channel_and_person_models_are_separate_owners(rig: Rig) -> None:
    paper = rig.papers[0]
    await rig.ranker.record("discord", "ada", paper.id, Choice.RELEVANT, channel_key="discord:C1")
    assert await rig.ranker.model(CHANNEL, "discord:C1") is not None
    assert await rig.ranker.model(PERSON, "discord:ada") is not None
    assert await rig.ranker.model(CHANNEL, "discord:C2") is None


async def test_a_new_subscription_or_channel_topic_refreshes_the_model(rig: Rig) -> None:
    assert await rig.ranker.model(PERSON, "console:ada") is None
    rig.store.subscriptions.add("console", "ada", "speculative decoding", (), rig.clock())
    first = await rig.ranker.model(PERSON, "console:ada")
    assert first is not None and first.weak_only
    rig.store.subscriptions.add("console", "ada", "tumor segmentation", (), rig.clock())
    second = await rig.ranker.model(PERSON, "console:ada")
    assert second is not None and second.weak_signature != first.weak_signature
    ranked = await rig.ranker.for_you("console", "ada", rig.clock() - timedelta(days=2), 10)
    assert any(about(r.paper, SEGMENTATION) for r in ranked[:5]) and any(about(r.paper, SPECULATIVE) for r in ranked[:5])
    settings = ChannelSettings(platform="discord", channel_id="C9", topics=("cv",))
    rig.store.channels.save(settings, rig.clock())
    before = await rig.ranker.model(CHANNEL, "discord:C9")
    rig.store.channels.save(replace(settings, topics=("llm",)), rig.clock())
    after = await rig.ranker.model(CHANNEL, "discord:C9")
    assert before is not None and after is not None and before.weak_signature != after.weak_signature


async def test_a_personal_digest_that_cannot_be_delivered_is_turned_off_with_a_notice(rig: Rig) -> None:
    from bot.core.errors import PermanentDeliveryError
    from bot.delivery.outbox import Delivery
    from tests.support.memory import InMemoryAdapter

    now = rig.clock()
    rig.store.feedback.save_personal_digest(PersonalDigest("memory", "ada", time_of_day=time(8, 0)), now - timedelta(days=2))
    assert await rig.personal.run_due(now) == 1
    adapter = InMemoryAdapter()
    adapter.fail_next(PermanentDeliveryError("dm_blocked"))
    await Delivery(rig.store, {"memory": adapter}, rig.clock).deliver(now)
    digest = rig.store.feedback.personal_digest("memory", "ada")
    assert digest is not None and not digest.enabled
    assert rig.store.users.get("memory", "ada").dm_blocked
    assert any("personal digest is off" in text for text in rig.store.notices.pending("memory", "ada"))


def test_topic_lift_is_how_much_more_a_topic_is_among_the_positives() -> None:
    from bot.rank.models import topic_lift

    background = [("health",)] * 2 + [("llm",)] * 10 + [("cv",)] * 88
    lifts = topic_lift([("health", "cv"), ("health",), ("health",), ("llm",)], [1.0, 1.0, 1.0, 0.7], background)
    assert lifts["health"] > 0.8  # 3 of 4 positives, 2 in 100 of the background
    assert "cv" not in lifts  # less common among the positives than anywhere
    assert 0 < lifts["llm"] < 0.3  # a little more common among them than in the background
    assert all(0 < value <= 1 for value in lifts.values())
    # Two seeds do not make a topic certain: the prior pulls a lift down.
    assert topic_lift([("health",)], [1.0], background)["health"] < lifts["health"]
    assert topic_lift([], [], background) == {} and topic_lift([("cv",)], [1.0], []) == {}


async def test_papers_passed_over_above_a_clicked_one_are_weak_negatives(rig: Rig) -> None:
    shown = [p.id for p in rig.papers[:6]]
    rig.store.feedback.record_shown("console", "ada", shown, "foryou", rig.clock())
    await rig.ranker.record("console", "ada", shown[3], Choice.RELEVANT)
    data = rig.ranker.training_set(PERSON, "console:ada")
    # The three above the liked paper were seen and skipped; the two below may never have been.
    assert data is not None and data.implicit is not None and data.implicit.shape[0] == 3
    expected = rig.ranker.index.sparse(rig.store.vectors.texts_of(shown[:3]))
    assert abs(data.implicit - expected).sum() < 1e-6
    # Another person's list says nothing about ada.
    rig.store.feedback.record_shown("console", "bob", shown, "foryou", rig.clock())
    await rig.ranker.record("console", "bob", shown[0], Choice.RELEVANT)
    assert rig.ranker.training_set(PERSON, "console:bob").implicit is None  # type: ignore[union-attr]


async def test_passed_over_papers_come_from_the_list_the_clicked_paper_was_in(rig: Rig) -> None:
    first = [p.id for p in rig.papers[:5]]
    second = [p.id for p in rig.papers[5:10]]
    rig.store.feedback.record_shown("console", "ada", first, "search", rig.clock())
    rig.clock.advance(minutes=5)
    rig.store.feedback.record_shown("console", "ada", second, "foryou", rig.clock())
    rig.clock.advance(minutes=5)
    # A paper of the first list, liked after the second list was shown: its own list's papers
    # above it were passed over, not the top of the last list.
    await rig.ranker.record("console", "ada", first[2], Choice.RELEVANT)

    def passed_over() -> list[str]:
        data = rig.ranker.training_set(PERSON, "console:ada")
        assert data is not None and data.implicit is not None
        texts = {t.paper_id: t for t in rig.store.vectors.texts_of([*first, *second])}
        rows = {pid: rig.ranker.index.sparse([texts[pid]]) for pid in texts}
        return [pid for pid, row in rows.items() if any(abs(data.implicit[i] - row).sum() < 1e-6 for i in range(data.implicit.shape[0]))]

    assert sorted(passed_over()) == sorted(first[:2])
    # A click in the second list adds what was above it there; a paper judged is no skip.
    await rig.ranker.record("console", "ada", second[3], Choice.NOT_RELEVANT)
    await rig.ranker.record("console", "ada", first[0], Choice.NOT_RELEVANT)
    assert sorted(passed_over()) == sorted([first[1], *second[:3]])


async def test_a_paper_shown_again_belongs_to_the_newest_list_shown_before_the_click(rig: Rig) -> None:
    ids = [p.id for p in rig.papers[:6]]
    rig.store.feedback.record_shown("console", "ada", [ids[0], ids[1], ids[5]], "search", rig.clock())
    rig.clock.advance(minutes=5)
    rig.store.feedback.record_shown("console", "ada", [ids[5], ids[2]], "foryou", rig.clock())
    rig.clock.advance(minutes=5)
    await rig.ranker.record("console", "ada", ids[5], Choice.RELEVANT)
    # ids[5] was on top of the newest list: nothing passed over (not ids[0], ids[1] of the older one).
    data = rig.ranker.training_set(PERSON, "console:ada")
    assert data is not None and data.implicit is None


async def test_topics_of_liked_papers_lift_papers_of_that_topic(rig: Rig) -> None:
    segmentation = [p for p in rig.papers if about(p, SEGMENTATION)]
    for paper in rig.papers:
        rig.store.papers.set_topics(paper.id, ("health",) if paper in segmentation else ("llm",))
    for paper in segmentation[:2]:
        await rig.ranker.record("console", "ada", paper.id, Choice.RELEVANT)
    model = await rig.ranker.model(PERSON, "console:ada")
    assert model is not None and model.topic_lift.get("health", 0) > 0.2 and "llm" not in model.topic_lift
    signals = await rig.ranker.signals(PERSON, "console:ada", rig.papers)
    by_topic = {p.id: signals.topic[i] for i, p in enumerate(rig.papers)}
    assert all(by_topic[p.id] == model.topic_lift["health"] for p in segmentation)
    assert all(by_topic[p.id] == 0 for p in rig.papers if p not in segmentation)
    # Stored and restored with the model; a stored model of the older format is retrained.
    stored = rig.store.feedback.model(PERSON, "console:ada")
    assert stored is not None and InterestModel.from_bytes(stored.data).topic_lift == model.topic_lift
    old = replace(InterestModel.from_bytes(stored.data), model_format=1)
    rig.store.feedback.save_model(replace(stored, data=old.to_bytes()))
    rig.ranker._models.clear()
    rebuilt = await rig.ranker.model(PERSON, "console:ada")
    assert rebuilt is not None and rebuilt.model_format == 2


async def test_a_subscription_keeps_counting_once_there_is_feedback(rig: Rig) -> None:
    """A subscription's words are strong evidence: a few likes of another kind of paper do
    not drown them (the model alone then ranks mostly like the liked papers)."""
    from bot.rank.ranking import Blend, Ranker

    rig.store.subscriptions.add("console", "ada", "medical image segmentation", (), rig.clock())
    for paper in [p for p in rig.papers if about(p, SPECULATIVE)][:3]:
        await rig.ranker.record("console", "ada", paper.id, Choice.RELEVANT)
    since = rig.clock() - timedelta(days=2)
    blended = await rig.ranker.for_you("console", "ada", since, 5)
    alone = await Ranker(rig.store, rig.clock, rig.ranker.index, blend=Blend(0, 0, 0, 0)).for_you("console", "ada", since, 5)
    assert sum(about(r.paper, SEGMENTATION) for r in blended) > sum(about(r.paper, SEGMENTATION) for r in alone)
    assert any("matches your subscription “medical image segmentation”" in r.why for r in blended)


async def test_the_scheduled_digest_follows_the_channel_model(rig: Rig) -> None:
    """Through the scheduler's path (run_due -> outbox), not only a preview: of two channels
    with the same settings, the one whose members liked segmentation papers gets them first."""
    now = rig.clock()
    for channel in ("C-plain", "C-liked"):
        settings = ChannelSettings(
            platform="discord", channel_id=channel, days=tuple(range(7)), time_of_day=time(9, 0), max_items=8
        )
        rig.store.channels.save(settings, now - timedelta(days=2))
    segmentation = [p for p in rig.papers if about(p, SEGMENTATION)]
    for paper in segmentation[:3]:
        await rig.ranker.record("discord", "u1", paper.id, Choice.RELEVANT, channel_key="discord:C-liked")
    assert await rig.job.run_due(now) == 2
    digests = {row.destination: reply_from_json(row.payload) for row in rig.store.outbox.rows()}
    plain = [item.paper for item in digests["C-plain"].items]
    liked = [item.paper for item in digests["C-liked"].items]
    assert [p.id for p in plain] != [p.id for p in liked]
    assert sum(about(p, SEGMENTATION) for p in liked[:5]) >= 4
    assert sum(about(p, SEGMENTATION) for p in plain[:5]) <= 2
    assert any("liked here" in item.why for item in digests["C-liked"].items)


async def test_the_liked_signal_is_closeness_in_meaning_to_the_closest_liked_paper(rig: Rig) -> None:
    segmentation = [p for p in rig.papers if about(p, SEGMENTATION)]
    for paper in segmentation[:2]:
        await rig.ranker.record("console", "ada", paper.id, Choice.RELEVANT)
    # The shipped blend does not weigh it, so only asked for (the benchmark's blend search).
    assert (await rig.ranker.signals(PERSON, "console:ada", rig.papers)).liked is None
    signals = await rig.ranker.signals(PERSON, "console:ada", rig.papers, with_liked=True)
    assert signals.liked is not None and signals.liked.shape == (len(rig.papers),)
    assert float(signals.liked.min()) >= 0.0 and float(signals.liked.max()) <= 1.0 + 1e-6
    liked = {p.id: float(signals.liked[i]) for i, p in enumerate(rig.papers)}
    # A liked paper is its own closest; other segmentation papers are closer than the rest.
    assert liked[segmentation[0].id] > 0.99
    others = [liked[p.id] for p in rig.papers if not about(p, SEGMENTATION)]
    assert np.median([liked[p.id] for p in segmentation[2:]]) > np.median(others)
    # A paper the index does not hold yet is projected on the spot, in its place.
    fresh = replace(segmentation[3], id="2699.00001")
    again = await rig.ranker.signals(PERSON, "console:ada", [rig.papers[0], fresh], with_liked=True)
    assert again.liked is not None and again.liked.shape == (2,)
    assert abs(float(again.liked[1]) - liked[segmentation[3].id]) < 1e-4
    # Without feedback there is no such signal.
    nobody = await rig.ranker.signals(PERSON, "console:bob", rig.papers, with_liked=True)
    assert nobody.liked is None
