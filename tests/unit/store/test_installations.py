"""Installations of the distributed Slack app and its OAuth states (bot.store.installations),
and forgetting a workspace (bot.app.workspaces): exactly that workspace's rows go, in every
table, and nothing of another workspace (or of the single-token mode's unscoped ids) is touched."""

from __future__ import annotations

from datetime import time, timedelta

from bot.app.workspaces import StoreInstallations
from bot.core.clock import FakeClock
from bot.core.ids import scoped_id, split_scoped_id
from bot.core.models import ChannelSettings, Installation
from bot.core.outbox import OutboxKind
from bot.store import Store
from tests.support.factories import T0


def install(workspace: str, installer: str = "UADMIN", token: str = "xoxb-1") -> Installation:
    return Installation("slack", workspace, installer, {"team_id": workspace, "bot_token": token})


def test_scoped_ids_round_trip_and_leave_plain_ids_alone() -> None:
    assert scoped_id("T1", "C9") == "T1:C9" and split_scoped_id("T1:C9") == ("T1", "C9")
    assert scoped_id("", "C9") == "C9" and split_scoped_id("C9") == ("", "C9")


def test_an_installation_round_trips_and_the_latest_one_answers_for_the_workspace(store: Store) -> None:
    clock = FakeClock(T0)
    installs = StoreInstallations(store, clock)
    installs.save_installation(install("T1", "UFIRST", "xoxb-old"))
    clock.advance(minutes=5)
    installs.save_installation(install("T1", "USECOND", "xoxb-new"))
    latest = installs.find_installation("slack", "T1")
    assert latest is not None and latest.record["bot_token"] == "xoxb-new" and latest.installed_at == T0 + timedelta(minutes=5)
    first = installs.find_installation("slack", "T1", "UFIRST")
    assert first is not None and first.record == {"team_id": "T1", "bot_token": "xoxb-old"}
    assert installs.find_installation("slack", "T2") is None
    assert installs.find_installation("discord", "T1") is None
    # Reinstalling by the same person replaces their row.
    installs.save_installation(install("T1", "UFIRST", "xoxb-newer"))
    assert installs.store.installations.find("slack", "T1", "UFIRST").record["bot_token"] == "xoxb-newer"  # type: ignore[union-attr]
    assert installs.delete_installations("slack", "T1", "UFIRST") == 1
    assert installs.delete_installations("slack", "T1") == 1
    assert installs.find_installation("slack", "T1") is None


def test_a_state_is_single_use_and_expires(store: Store) -> None:
    clock = FakeClock(T0)
    installs = StoreInstallations(store, clock)
    state = installs.issue_state("slack", 600)
    other = installs.issue_state("slack", 600)
    assert len(state) >= 32 and state != other
    assert installs.consume_state("slack", state) is True
    assert installs.consume_state("slack", state) is False  # replayed
    assert installs.consume_state("slack", "forged-state") is False
    assert installs.consume_state("slack", "") is False
    assert installs.consume_state("discord", other) is False  # issued for another platform
    late = installs.issue_state("slack", 600)
    clock.advance(seconds=601)
    assert installs.consume_state("slack", late) is False  # expired
    assert installs.consume_state("slack", other) is False  # never used, but expired too


def _fill(store: Store, workspace: str, channel: str = "CGENERAL", user: str = "UADA") -> None:
    """One of everything a workspace can have, under the given (possibly unscoped) ids."""
    c, u = scoped_id(workspace, channel), scoped_id(workspace, user)
    store.channels.save(ChannelSettings("slack", c, time_of_day=time(9), workspace_id=workspace, created_by=u), T0)
    store.channels.record_run(f"slack:{c}", "2026-03-02", "posted", "digest:x", 3, T0)
    store.outbox.record_delivered(f"slack:{c}", [("2501.00001", 1)], "2026-03-02")
    sub = store.subscriptions.add("slack", u, "diffusion", (), T0)
    store.alert_queue.add([("slack", u, "2501.00001", [sub.id])], T0)
    store.users.set_quiet_hours("slack", u, time(22), time(7), "UTC")
    store.notices.add("slack", u, "hello", T0)
    store.outbox.enqueue(f"digest:slack:{c}:2026-03-02", OutboxKind.DIGEST, "slack", c, "{}", T0)
    store.outbox.enqueue(f"alert:slack:{u}:x", OutboxKind.ALERT, "slack", u, "{}", T0)
    store.outbox.enqueue(f"notice:slack:{u}:y", OutboxKind.NOTICE, "slack", u, "{}", T0)
    store.outbox.mark_sent(store.outbox.get(f"notice:slack:{u}:y").id, T0)  # type: ignore[union-attr]


def _rows(store: Store, workspace: str) -> dict[str, int]:
    """How many rows of each table carry one of the workspace's ids."""
    prefix = scoped_id(workspace, "")
    key = f"slack:{prefix}"
    queries = {
        "channel_settings": ("SELECT COUNT(*) FROM channel_settings WHERE channel_id LIKE ?", prefix),
        "digest_runs": ("SELECT COUNT(*) FROM digest_runs WHERE channel_key LIKE ?", key),
        "delivered_papers": ("SELECT COUNT(*) FROM delivered_papers WHERE channel_key LIKE ?", key),
        "subscriptions": ("SELECT COUNT(*) FROM subscriptions WHERE user_id LIKE ?", prefix),
        "alert_queue": ("SELECT COUNT(*) FROM alert_queue WHERE user_id LIKE ?", prefix),
        "user_state": ("SELECT COUNT(*) FROM user_state WHERE user_id LIKE ?", prefix),
        "notices": ("SELECT COUNT(*) FROM notices WHERE user_id LIKE ?", prefix),
        "outbox": ("SELECT COUNT(*) FROM outbox WHERE destination LIKE ?", prefix),
        "installations": ("SELECT COUNT(*) FROM installations WHERE workspace_id = ?", workspace),
    }
    pattern = lambda value: value + "%" if value.endswith(":") else value  # noqa: E731
    return {table: store.conn.execute(sql, (pattern(value),)).fetchone()[0] for table, (sql, value) in queries.items()}


def test_forgetting_a_workspace_removes_its_rows_everywhere_and_nothing_else(store: Store) -> None:
    installs = StoreInstallations(store, FakeClock(T0))
    for workspace in ("T1", "T2"):
        installs.save_installation(install(workspace))
        _fill(store, workspace)
    # Ids that merely look alike stay: another workspace whose id starts the same, and the
    # single-token mode's plain ids.
    installs.save_installation(install("T10"))
    _fill(store, "T10")
    _fill(store, "", channel="CPLAIN", user="UPLAIN")
    before = {w: _rows(store, w) for w in ("T2", "T10")}
    plain = store.conn.execute("SELECT COUNT(*) FROM outbox WHERE destination IN ('CPLAIN', 'UPLAIN')").fetchone()[0]

    counts = installs.forget_workspace("slack", "T1")

    assert counts == {
        "installations": 1, "channels": 1, "subscriptions": 1, "queued alerts": 1, "users": 1,
        "notices": 1, "undelivered messages": 2,
    }
    assert set(_rows(store, "T1").values()) == {0}
    assert {w: _rows(store, w) for w in ("T2", "T10")} == before
    assert all(n > 0 for n in before["T2"].values())
    assert store.conn.execute("SELECT COUNT(*) FROM outbox WHERE destination IN ('CPLAIN', 'UPLAIN')").fetchone()[0] == plain
    assert store.channels.get("slack:CPLAIN") is not None
    assert store.subscriptions.list_for_user("slack", "UPLAIN")
    # A reinstall starts clean.
    installs.save_installation(install("T1"))
    assert store.channels.get("slack:T1:CGENERAL") is None
    assert store.subscriptions.list_for_user("slack", "T1:UADA") == []


def test_channels_set_up_by_a_user(store: Store) -> None:
    for channel, owner in (("T1:C1", "T1:UADA"), ("T1:C2", "T1:UBOB"), ("T1:C3", "T1:UADA"), ("T2:C1", "T2:UADA")):
        store.channels.save(ChannelSettings("slack", channel, created_by=owner), T0)
    assert [s.channel_id for s in store.channels.set_up_by("slack", "T1:UADA")] == ["T1:C1", "T1:C3"]
    assert store.channels.set_up_by("discord", "T1:UADA") == []
