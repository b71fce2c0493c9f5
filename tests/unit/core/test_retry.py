"""The one backoff formula and the per-key spacer that the HTTP layer, the LLM client, the
outbox, source scheduling and the Slack adapter share."""

from __future__ import annotations

import asyncio

from bot.core.retry import KeySpacer, backoff_delay


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff_delay(n, base=30.0, cap=200.0) for n in range(0, 6)] == [30.0, 30.0, 60.0, 120.0, 200.0, 200.0]
    assert backoff_delay(12, base=60.0) == 60.0 * 2**11


def test_jitter_keeps_the_delay_between_half_and_all_of_it() -> None:
    assert backoff_delay(3, base=1.0, jitter=lambda: 0.0) == 2.0
    assert backoff_delay(3, base=1.0, jitter=lambda: 0.999) == 0.5 * 4 + 0.999 * 2


async def test_spacer_spaces_turns_per_key_and_not_across_keys() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    spacer = KeySpacer(lambda key: 3.0 if key == "arxiv.org" else 0.0, sleep=sleep, monotonic=lambda: now[0])
    async with spacer.turn("arxiv.org"):
        now[0] += 1.0  # the request takes a second
    async with spacer.turn("example.org"):
        pass
    async with spacer.turn("arxiv.org"):
        pass
    assert slept == [3.0]  # measured from when the first request finished


async def test_a_failed_turn_still_counts_and_turns_never_overlap() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    spacer = KeySpacer(lambda key: 1.0, sleep=sleep, monotonic=lambda: now[0])
    inside: list[int] = []
    starts: list[float] = []

    async def work(fail: bool) -> None:
        try:
            async with spacer.turn("C1"):
                inside.append(1)
                assert len(inside) == 1
                starts.append(now[0])
                await asyncio.sleep(0)
                inside.pop()
                if fail:
                    raise RuntimeError("429")
        except RuntimeError:
            pass

    await asyncio.gather(work(True), work(False), work(False))
    assert starts == [0.0, 1.0, 2.0]
