"""Whether a blocked event loop lets an outbox lease lapse mid-send (issue #19 part 2).

The lease heartbeat (`Delivery._renew_leases`, every third of the lease) runs on the event
loop, so anything that blocks the loop (CPU work, a synchronous call) stops it. Replica A claims
one DM and starts sending; its adapter blocks the loop (`time.sleep`) for a fraction of the
lease right as the send starts, then, with A's loop still blocked, replica B runs a delivery
pass in another thread (as another process would). Prints, per fraction, whether B took the row
over and sent the part again. The block starts just after A's claim, so its lease then has a
whole lease left: a block longer than the lease lapses it; one that starts just before a
renewal was due would need only two thirds of it.

PostgreSQL is the throwaway server of tests/support/postgres.py; the lease clock is the
server's (bot/store/outbox.py). Prints one JSON object.

    .venv/bin/python -m bench.bench_lease_block [--lease 1.5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import timedelta
from typing import Any

from bot.core.clock import FakeClock, system_clock
from bot.core.models import Reply
from bot.core.outbox import OutboxKind
from bot.delivery.outbox import Delivery, enqueue
from bot.ports import Part
from bot.store import Store
from tests.support.memory import InMemoryAdapter
from tests.support.postgres import PostgresServer

FRACTIONS = (0.25, 0.5, 0.9, 1.2, 2.0)


class BlockingAdapter(InMemoryAdapter):
    """Blocks the event loop for `block` seconds as a send starts, then lets `other` run a
    delivery pass (in a thread, A's loop still blocked) before the send completes."""

    def __init__(self, block: float, other: Delivery) -> None:
        super().__init__(platform="slack")
        self.block = block
        self.other = other
        self.other_completed = 0

    async def send(self, destination: str, part: Part) -> str:
        time.sleep(self.block)  # the loop is blocked: the heartbeat cannot run
        self.other_completed = await asyncio.to_thread(lambda: asyncio.run(self.other.deliver()))
        return await super().send(destination, part)


async def trial(url: str, lease: float, fraction: float, number: int) -> dict[str, Any]:
    """One DM, replica A blocked for `fraction` of the lease mid-send, replica B passing by."""
    store_a, store_b = Store.open(url), Store.open(url)
    try:
        now = system_clock()
        reply = Reply(header="1 new paper for your subscriptions", text="a paper", private=False)
        enqueue(store_a, f"alert:slack:U1:blocked-{number}", OutboxKind.ALERT, "slack", "U1", reply, now - timedelta(hours=1))
        other = InMemoryAdapter(platform="slack")
        second = Delivery(store_b, {"slack": other}, FakeClock(now), holder=f"b{number}", lease=timedelta(seconds=lease))
        adapter = BlockingAdapter(lease * fraction, second)
        first = Delivery(store_a, {"slack": adapter}, FakeClock(now), holder=f"a{number}", lease=timedelta(seconds=lease))
        wall, cpu = time.perf_counter(), time.process_time()
        await first.deliver()
        return {
            "block_over_lease": fraction,
            "block_s": round(lease * fraction, 3),
            "taken_over": adapter.other_completed > 0,
            "copies_sent": len(adapter.sent) + len(other.sent),
            "wall_s": round(time.perf_counter() - wall, 3),
            "cpu_s": round(time.process_time() - cpu, 3),
        }
    finally:
        store_a.close()
        store_b.close()


async def run(lease: float) -> dict[str, Any]:
    """Every fraction on one throwaway server."""
    server = PostgresServer.start()
    try:
        url = server.new_database("lease_block")
        Store.open(url).close()
        trials = [await trial(url, lease, fraction, n) for n, fraction in enumerate(FRACTIONS)]
    finally:
        server.stop()
    return {"lease_s": lease, "renew_every_s": round(lease / 3, 3), "trials": trials}


def main() -> None:
    """Parse the flags, run, print the JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lease", type=float, default=1.5, help="lease seconds (the default 60 s lease scales linearly)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.lease))))


if __name__ == "__main__":
    main()
