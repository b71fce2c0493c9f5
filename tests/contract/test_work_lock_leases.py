"""Work locks on PostgreSQL are leases (bot/store/lock.py `AdvisoryLocks`).

A replica killed outright loses its advisory locks with its connection. One that hangs with
its socket open (stopped, or its event loop stuck) would keep them, and with them its digest
slots, the alert step and its sources, for as long as it hangs. So the lock connection asks
the server to end it after `lease_seconds` idle, and the runtime renews it (`keep_alive`)
every third of that: a holder that stops renewing loses its locks to the others within the
lease; one that renews keeps them.
"""

from __future__ import annotations

import time

import pytest

from bot.store.lock import AdvisoryLocks

pytestmark = pytest.mark.postgres

WAIT = 30.0  # seconds: a bound on waiting, never reached when all is well


def test_a_holder_that_stops_renewing_loses_its_locks_to_another_replica_within_the_lease(postgres_url: str) -> None:
    hung = AdvisoryLocks(postgres_url, application_name="hung replica", lease_seconds=1.0)
    other = AdvisoryLocks(postgres_url, application_name="other replica")
    try:
        assert hung.try_lock_many(["digest:slack:C1:2026-12-02", "scheduler:alerts"]) == [
            "digest:slack:C1:2026-12-02",
            "scheduler:alerts",
        ]
        assert other.try_lock_many(["digest:slack:C1:2026-12-02", "scheduler:alerts"]) == []
        # The hung holder sends nothing; the server ends its session once the lease is idle.
        deadline = time.monotonic() + WAIT
        while not other.try_lock("digest:slack:C1:2026-12-02"):
            assert time.monotonic() < deadline, "the lease never ended"
            time.sleep(0.1)
        assert other.try_lock("scheduler:alerts")
        # Waking up, the holder finds its connection gone and holds nothing: it cannot take
        # the locks back while the other replica has them.
        hung.keep_alive()
        assert hung.try_lock_many(["digest:slack:C1:2026-12-02", "scheduler:alerts"]) == []
        assert hung.try_lock("source:arxiv")  # a new connection, a new lease
    finally:
        hung.close()
        other.close()


def test_a_holder_that_renews_its_lease_keeps_its_locks(postgres_url: str) -> None:
    working = AdvisoryLocks(postgres_url, application_name="working replica", lease_seconds=3.0)
    other = AdvisoryLocks(postgres_url, application_name="other replica")
    try:
        assert working.try_lock("digest:discord:42:2026-12-02")
        renew_until = time.monotonic() + 5.0  # longer than the lease
        while time.monotonic() < renew_until:
            working.keep_alive()
            assert not other.try_lock("digest:discord:42:2026-12-02")
            time.sleep(0.2)
        assert working.try_lock_many(["digest:discord:42:2026-12-02"]) == ["digest:discord:42:2026-12-02"]
        working.unlock("digest:discord:42:2026-12-02")
        assert other.try_lock("digest:discord:42:2026-12-02")
    finally:
        working.close()
        other.close()
