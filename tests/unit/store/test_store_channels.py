"""Repositories of the delivery side: channel settings, digest runs, subscriptions, user state,
notices, the alert queue, the outbox and the delivered-papers ledger; plus CHANNELS_FILE."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.core.errors import ConfigError
from bot.core.models import CatchUp, ChannelSettings, SourceKind
from bot.digests.channels_file import load_channels_file
from bot.store import Store
from tests.support.factories import T0, new_store


def test_channel_settings_round_trip_and_change_detection(store: Store) -> None:
    settings = ChannelSettings(
        platform="slack", channel_id="C1", time_of_day=time(7, 45), timezone="Pacific/Kiritimati",
        days=(0, 2), topics=("llm", "rl"), query='"gaussian splatting"', sources=(SourceKind.ARXIV, SourceKind.HF),
        max_items=25, min_score=3, show_updated=True, quiet_note=True, catch_up=CatchUp.SKIP,
        workspace_id="T1", created_by="U1",
    )
    assert store.channels.save(settings, T0)
    assert store.channels.get("slack:C1") == settings
    assert store.channels.changed_at("slack:C1") == T0
    # The same settings again: nothing changes, not even the change time.
    assert not store.channels.save(settings, T0 + timedelta(days=1))
    assert store.channels.changed_at("slack:C1") == T0
    assert store.channels.save(replace(settings, max_items=5), T0 + timedelta(days=1))
    assert store.channels.changed_at("slack:C1") == T0 + timedelta(days=1)


def test_channel_pause_disable_and_active_list(store: Store) -> None:
    for cid in ("C1", "C2", "C3"):
        store.channels.save(ChannelSettings(platform="discord", channel_id=cid, created_by="U9"), T0)
    assert store.channels.pause("discord:C2", "the channel no longer exists").paused_reason
    assert store.channels.disable("discord:C3", T0)
    assert not store.channels.disable("discord:C3", T0)
    assert [c.key for c in store.channels.active()] == ["discord:C1"]
    assert len(store.channels.all()) == 3
    store.channels.set_last_digest_at("discord:C1", T0)
    assert store.channels.get("discord:C1").last_digest_at == T0


def test_digest_runs_are_unique_per_channel_and_local_date(store: Store) -> None:
    assert store.channels.record_run("slack:C1", "2026-03-02", "posted", "digest:slack:C1:2026-03-02", 4, T0)
    assert not store.channels.record_run("slack:C1", "2026-03-02", "posted", "x", 4, T0)
    assert store.channels.record_run("slack:C1", "2026-03-03", "empty", None, 0, T0)
    assert store.channels.run_for("slack:C1", "2026-03-02").papers == 4
    assert [r.local_date for r in store.channels.runs("slack:C1")] == ["2026-03-03", "2026-03-02"]


def test_a_batch_of_digests_writes_what_one_call_per_channel_writes(store: Store) -> None:
    """The many-at-once writes of a batch of digests (handled slots, runs, window starts,
    ledger rows, shown lists) read and write what the one-channel calls do."""
    for number in (1, 2, 3):
        store.channels.save(ChannelSettings(platform="slack", channel_id=f"C{number}"), T0)
    store.channels.record_run("slack:C1", "2026-03-02", "posted", "digest:slack:C1:2026-03-02", 2, T0)
    store.channels.record_run("slack:C2", "2026-03-01", "empty", None, 0, T0)
    wanted = [("slack:C1", "2026-03-02"), ("slack:C2", "2026-03-02"), ("slack:C3", "2026-03-03"), ("slack:C2", "2026-03-01")]
    assert store.channels.handled(wanted) == {("slack:C1", "2026-03-02"), ("slack:C2", "2026-03-01")}
    assert store.channels.handled([]) == set()
    later = T0 + timedelta(hours=1)
    store.channels.record_runs(
        [("slack:C1", "2026-03-02", "quiet", "x", 0), ("slack:C3", "2026-03-03", "empty", None, 0)], later
    )
    assert store.channels.run_for("slack:C1", "2026-03-02").status == "posted"  # a handled slot stays as it was
    run = store.channels.run_for("slack:C3", "2026-03-03")
    assert (run.status, run.outbox_key, run.papers, run.at) == ("empty", None, 0, later)
    store.channels.set_last_digests_at(["slack:C1", "slack:C3"], later)
    assert [store.channels.get(f"slack:C{n}").last_digest_at for n in (1, 2, 3)] == [later, None, later]
    store.outbox.record_delivered("slack:C1", [("2603.00001", 2)], "2026-03-02")
    store.outbox.record_delivered_rows(
        [("slack:C1", "2603.00001", "2026-03-03", 1), ("slack:C1", "2603.00002", "2026-03-03", 1),
         ("slack:C2", "2603.00001", "2026-03-03", 3)]
    )
    assert store.outbox.delivered_versions("slack:C1", ["2603.00001", "2603.00002"]) == {"2603.00001": 2, "2603.00002": 1}
    assert store.outbox.delivered_versions("slack:C2", ["2603.00001"]) == {"2603.00001": 3}
    store.feedback.record_shown_lists([("slack", "C1", ("2603.00001", "2603.00002")), ("slack", "C2", ())], "digest", later)
    shown = store.feedback.last_shown("slack", "C1")
    assert shown is not None and (shown.paper_ids, shown.context) == (("2603.00001", "2603.00002"), "digest")
    assert store.feedback.last_shown("slack", "C2") is None  # an empty list is not recorded, as by record_shown


def test_subscriptions_numbering_pause_resume_and_removal(store: Store) -> None:
    first = store.subscriptions.add("slack", "U1", "diffusion", ("cv",), T0)
    store.subscriptions.add("slack", "U1", "", ("rl",), T0)
    store.subscriptions.add("slack", "U2", "agents", (), T0)
    assert [s.id for s in store.subscriptions.list_for_user("slack", "U1")][0] == first.id
    assert first.topics == ("cv",) and first.created_at == T0
    assert store.subscriptions.pause_for_user("slack", "U1", "dm blocked") == 2
    assert [s.user_id for s in store.subscriptions.active()] == ["U2"]
    assert store.subscriptions.resume_for_user("slack", "U1") == 2
    assert store.subscriptions.remove([first.id]) == 1
    assert store.subscriptions.remove_all("slack", "U1") == 1
    assert store.subscriptions.count() == 1


def test_user_state_defaults_and_updates(store: Store) -> None:
    assert store.users.get("slack", "U1").timezone == "UTC"
    store.users.set_quiet_hours("slack", "U1", time(22, 0), time(7, 0), "Europe/Berlin")
    store.users.set_dm_blocked("slack", "U1", True)
    store.users.set_last_alert_at("slack", "U1", T0)
    state = store.users.get("slack", "U1")
    assert (state.quiet_start, state.quiet_end, state.timezone) == (time(22, 0), time(7, 0), "Europe/Berlin")
    assert state.dm_blocked and state.last_alert_at == T0


def test_notices_pop_once_and_dedupe_waiting(store: Store) -> None:
    assert store.notices.add("slack", "U1", "digest paused", T0)
    assert not store.notices.add("slack", "U1", "digest paused", T0)
    store.notices.add("slack", "U1", "alerts paused", T0)
    assert store.notices.pop("slack", "U1", T0) == ["digest paused", "alerts paused"]
    assert store.notices.pop("slack", "U1", T0) == []
    assert not store.notices.add("slack", "", "nobody to tell", T0)


def test_alert_queue_never_queues_a_paper_twice_for_a_user(store: Store) -> None:
    assert store.alert_queue.add([("slack", "U1", "2603.00001", [1]), ("slack", "U2", "2603.00001", [2])], T0) == 2
    assert store.alert_queue.add([("slack", "U1", "2603.00001", [1, 3])], T0) == 0
    assert store.alert_queue.waiting_users() == [("slack", "U1"), ("slack", "U2")]
    store.alert_queue.assign("slack", "U1", ["2603.00001"], "alert:slack:U1:x")
    assert store.alert_queue.waiting("slack", "U1") == []
    assert store.alert_queue.add([("slack", "U1", "2603.00001", [1])], T0) == 0  # already alerted
    store.alert_queue.set_watermark("w", T0)
    assert store.alert_queue.watermark("w") == T0


def test_outbox_enqueue_is_idempotent_and_parts_are_recorded_once(store: Store) -> None:
    assert store.outbox.enqueue("digest:slack:C1:2026-03-02", "digest", "slack", "C1", "{}", T0)
    assert not store.outbox.enqueue("digest:slack:C1:2026-03-02", "digest", "slack", "C1", "{}", T0)
    row = store.outbox.get("digest:slack:C1:2026-03-02")
    store.outbox.start_sending(row.id, [{"text": "a"}, {"text": "b"}], T0)
    store.outbox.record_part(row.id, 0, "m1", T0)
    store.outbox.record_part(row.id, 0, "m1-again", T0)  # a repeat of part 0 changes nothing
    row = store.outbox.get_by_id(row.id)
    assert (row.state, row.parts_sent, row.delivery_ids) == ("sending", 1, ["m1"])
    assert row.parts == [{"text": "a"}, {"text": "b"}]
    assert store.outbox.due(T0, ["slack"]) == [row]  # a sending row resumes
    assert store.outbox.due(T0, ["discord"]) == []


def test_delivered_papers_keep_the_highest_version(store: Store) -> None:
    store.outbox.record_delivered("slack:C1", [("2603.00001", 1), ("2603.00002", 2)], "2026-03-02")
    store.outbox.record_delivered("slack:C1", [("2603.00001", 3)], "2026-03-03")
    assert store.outbox.delivered_versions("slack:C1", ["2603.00001", "2603.00002", "x"]) == {
        "2603.00001": 3,
        "2603.00002": 2,
    }
    assert store.outbox.delivered_versions("slack:C2", ["2603.00001"]) == {}


def test_store_survives_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "p.db")
    store = Store.open(path)
    store.channels.save(ChannelSettings(platform="slack", channel_id="C1"), T0)
    store.outbox.enqueue("k", "digest", "slack", "C1", "{}", T0)
    store.close()
    again = Store.open(path)
    assert again.channels.get("slack:C1") is not None
    assert again.outbox.get("k").state == "pending"
    again.close()


# --- CHANNELS_FILE ---------------------------------------------------------------------------


def test_load_channels_file_applies_settings(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "channels.json"
    path.write_text(json.dumps({"channels": [
        {"channel": "slack:C1", "time": "08:30", "timezone": "America/New_York", "days": "daily",
         "topics": ["llm", "Reinforcement Learning"], "sources": "arxiv,hf", "max_items": 5,
         "quiet_note": True, "catch_up": "skip", "created_by": "U0ADMIN"},
        {"platform": "discord", "channel_id": "123", "days": ["mon", "wed"]},
    ]}))
    assert load_channels_file(path, store, T0) == 2
    slack = store.channels.get("slack:C1")
    assert slack.time_of_day == time(8, 30) and slack.timezone == "America/New_York"
    assert slack.days == (0, 1, 2, 3, 4, 5, 6) and slack.topics == ("llm", "rl")
    assert slack.sources == (SourceKind.ARXIV, SourceKind.HF) and slack.max_items == 5
    assert slack.quiet_note and slack.catch_up == CatchUp.SKIP and slack.created_by == "U0ADMIN"
    assert store.channels.get("discord:123").days == (0, 2)
    # Applying the same file again (a restart) does not move the change time.
    load_channels_file(path, store, T0 + timedelta(days=3))
    assert store.channels.changed_at("slack:C1") == T0
    # A channel switched off in chat stays off when the file is read again at the next start.
    store.channels.disable("slack:C1", T0 + timedelta(days=4))
    load_channels_file(path, store, T0 + timedelta(days=5))
    assert not store.channels.get("slack:C1").enabled


def test_load_channels_file_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "channels.json"
    path.write_text(json.dumps([
        {"channel": "slack:C1", "timezone": "Mars/Olympus_Mons"},
        {"channel": "slack:C2", "topics": ["not-a-topic-at-all"]},
        {"channel": "slack:C3", "max_items": 500, "colour": "red"},
        {"channel": "nochannel"},
    ]))
    with pytest.raises(ConfigError) as caught:
        load_channels_file(path, new_store(), T0)
    problems = caught.value.problems
    assert len(problems) == 4
    assert "Mars/Olympus_Mons" in problems[0] and "is not a time zone" in problems[0]
    assert "not a topic" in problems[1]
    assert "colour" in problems[2]
    assert "slack:C0123" in problems[3]


def test_load_channels_file_missing_or_broken(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_channels_file(tmp_path / "nope.json", new_store(), T0)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_channels_file(bad, new_store(), T0)
