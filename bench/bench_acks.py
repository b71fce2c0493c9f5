"""Slash-command acks and answers while digests are being built. Prints one JSON object.

The real app (`build_runtime`, as `paperbot run --offline` wires it: store, search engine with
its tantivy index, offline summaries behind the cache facade, digest job with its ranker) and
the real Slack adapter, in HTTP mode (signed `POST /slack/events`) and in Socket Mode, against
the fake Slack of tests/support/slack_api.py. The fake Slack and the clients sending the
commands run in another process (`driver`), so what is timed is the bot's event loop, not the
benchmark's own work sharing it.

Per mode:
- a copy of one store of 100,000 papers (bench/corpus.py, ~1,000 a day; search index built)
  with 1,000 digest channels (bench_alerts_digests.make_channels) all due now;
- the digest run (`runtime.scheduler.digests.run_due`) is started, and at once 200 different
  `/papers <words>` searches arrive together (words that people search for, from the corpus
  vocabulary; every search's first page is summarized on first view, unless `--summarized`
  stored every paper's summary in the template first, as a store the bot has run on for a
  while has them: then no answer makes a summary; `--stale` stores them under an older prompt
  version, as the store is right after an upgrade that changed the summarizer: answers show
  those while the current ones are made in the background);
- `ack_ms`: from sending a command to its HTTP 200 (HTTP mode) or to its ack envelope (Socket
  Mode), percentiles; `answer_ms`: from sending to the response_url post arriving at the fake;
- `loop_lag_ms`: a ticker task in the bot sleeping 10 ms at a time, how much each sleep
  overran (max and p99): how long the event loop was blocked;
- `digest_run_s`: how long the digest run took, beside the commands;
- `bot_cpu_s`: the bot process's CPU time from the digest run's start to the last answer, and
  `bot_wall_s` beside it (the summarizer's worker processes, SUMMARIZE_WORKERS, not included).

Targets (issue #16): every ack within 1 s, p99 ack at most 300 ms, every answer within 3 s.

    .venv/bin/python -m bench.bench_acks [--papers 100000] [--channels 1000] [--commands 200]
        [--modes http,socket] [--template DIR] [--switch-interval 0.001]
    .venv/bin/python -m bench.bench_acks --quick    # 20,000 papers, 200 channels
    .venv/bin/python -m bench.bench_acks --summarized    # every summary stored beforehand
    .venv/bin/python -m bench.bench_acks --stale    # ... under an older prompt version
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from bench.bench_alerts_digests import NOW, build_store, make_channels, peak_rss_mb, vocabulary

SECRET = "bench-signing-secret"
ROOT = Path(__file__).resolve().parents[1]


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of some milliseconds (nearest rank)."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def rank(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(round(share * len(ordered))) - 1))], 1)

    return {"count": len(values), "p50": rank(0.5), "p90": rank(0.9), "p99": rank(0.99), "max": round(ordered[-1], 1)}


def queries(count: int, seed: int = 21) -> list[str]:
    """Different searches people type: one corpus word found in 0.5-5% of the abstracts (so
    each search finds papers: dozens to thousands in a store of 100,000), or two of them."""
    rng = random.Random(seed)
    rarer = set(vocabulary(max_share=0.005))
    words = sorted(set(vocabulary(max_share=0.05)) - rarer)
    return [" ".join(rng.sample(words, rng.choice((1, 1, 1, 2)))) for _ in range(count)]


# --- the driver: fake Slack and the senders, in their own process ---------------------------------


class TimedList(list[Any]):
    """A list that notes when each item was appended (time.monotonic())."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, item: Any) -> None:
        """Append and note the time."""
        self.times.append(time.monotonic())
        super().append(item)


async def drive(mode: str) -> None:
    """Start the fake Slack, say its port, then on `go` send the commands and report."""
    import aiohttp

    from tests.support.slack_api import FakeSlack, sign, slash_command

    fake = await FakeSlack().start()
    responses, received = TimedList(), TimedList()
    fake.responses = responses
    fake.received = received
    print(json.dumps({"api_url": fake.api_url}), flush=True)
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    go = json.loads((await reader.readline()).decode())
    texts: list[str] = go["texts"]
    sent: dict[str, float] = {}
    acked: dict[str, float] = {}
    names = [f"c{i}" for i in range(len(texts))]
    if mode == "socket":
        await fake.wait_connected(60)
        envelope_of: dict[str, str] = {}
        for name, text in zip(names, texts, strict=True):
            payload = slash_command(text, response_url=fake.response_url(name), user_id=f"U{name}")
            sent[name] = time.monotonic()
            envelope_of[await fake.send_envelope("slash_commands", payload, accepts_response_payload=True)] = name
    else:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def post(name: str, text: str) -> None:
                body = urllib.parse.urlencode(slash_command(text, response_url=fake.response_url(name), user_id=f"U{name}"))
                headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)}
                sent[name] = time.monotonic()
                async with session.post(go["events_url"], data=body, headers=headers) as answer:
                    await answer.read()
                    if answer.status == 200:
                        acked[name] = time.monotonic()

            await asyncio.gather(*(post(n, t) for n, t in zip(names, texts, strict=True)))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answered = {name for name, _ in responses}
        if answered >= set(names) and (mode != "socket" or len(received) >= len(names)):
            break
        await asyncio.sleep(0.05)
    if mode == "socket":
        for message, at in zip(received, received.times, strict=True):
            name = envelope_of.get(str(message.get("envelope_id")))
            if name is not None and name not in acked:
                acked[name] = at
    answered_at: dict[str, float] = {}
    for (name, _), at in zip(responses, responses.times, strict=True):
        answered_at.setdefault(name, at)
    ack_ms = [(acked[n] - sent[n]) * 1000 for n in names if n in acked]
    answer_ms = [(answered_at[n] - sent[n]) * 1000 for n in names if n in answered_at]
    print(json.dumps({
        "commands": len(names),
        "acked": len(ack_ms),
        "answered": len(answer_ms),
        "ack_ms": percentiles(ack_ms),
        "answer_ms": percentiles(answer_ms),
        "acks_over_1s": sum(1 for v in ack_ms if v > 1000),
        "answers_over_3s": sum(1 for v in answer_ms if v > 3000),
    }), flush=True)
    await reader.readline()  # the bot has stopped
    await fake.close()


# --- the bot -------------------------------------------------------------------------------------


class LagMeter:
    """A ticker on the event loop: how much each 10 ms sleep overran."""

    def __init__(self, period: float = 0.01) -> None:
        self.period = period
        self.lags: list[float] = []
        self.beat = time.monotonic()  # the ticker's last turn (read by StallSampler's thread)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start ticking."""
        self._task = asyncio.create_task(self._tick())

    async def stop(self) -> dict[str, float]:
        """Stop and report lag percentiles (ms)."""
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return percentiles(self.lags)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            self.beat = time.monotonic()
            await asyncio.sleep(self.period)
            self.lags.append(max(0.0, (loop.time() - started - self.period) * 1000))


class StallSampler:
    """What the event loop's thread is doing while the loop is held (BENCH_ACKS_STALLS=1): a
    thread looks every `every` seconds, and when the ticker has not had a turn for `after`
    seconds it notes the loop thread's innermost paperbot frames. Reported as the stacks seen
    most, each sample standing for `every` seconds of a held loop. A sample can land while the
    loop thread waits for the GIL (the stack is then where it will resume)."""

    def __init__(self, meter: LagMeter, *, every: float = 0.005, after: float = 0.05) -> None:
        import threading

        self.meter = meter
        self.every = every
        self.after = after
        self.samples: dict[str, int] = {}
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-sampler", daemon=True)

    def start(self) -> None:
        """Start looking."""
        self._thread.start()

    def stop(self, top: int = 15) -> list[dict[str, Any]]:
        """Stop; the `top` stacks seen most while the loop was held."""
        self._stop.set()
        self._thread.join()
        ranked = sorted(self.samples.items(), key=lambda kv: -kv[1])[:top]
        return [{"held_ms": round(n * self.every * 1000), "stack": stack.split(" | ")} for stack, n in ranked]

    def _run(self) -> None:
        import traceback

        while not self._stop.wait(self.every):
            if time.monotonic() - self.meter.beat < self.after:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if frame is None:
                continue
            frames = traceback.extract_stack(frame)
            ours = [f for f in frames if "/site-packages/" not in f.filename and "/lib/python3" not in f.filename]
            inner = frames[-1]
            lines = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in ours[-6:]]
            lines.append(f"[innermost] {Path(inner.filename).name}:{inner.lineno} {inner.name}")
            key = " | ".join(lines)
            self.samples[key] = self.samples.get(key, 0) + 1


async def run_bot(template: str, mode: str, channels: int, commands: int, switch_interval: float = 0.0) -> dict[str, Any]:
    """One mode: the app over a copy of the template, the driver sending the commands.
    `switch_interval` (seconds, 0: Python's own) is the interpreter's GIL switch interval."""
    if switch_interval > 0:
        sys.setswitchinterval(switch_interval)
    from adapters.slack import SlackAdapter
    from bot.app.runtime import build_runtime
    from bot.app.workspaces import StorePrivateAnswers
    from bot.core.clock import ScaledClock
    from bot.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        shutil.copytree(template, data_dir)
        driver = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.bench_acks", "--case", "driver", mode,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT,
        )
        assert driver.stdin is not None and driver.stdout is not None
        hello = json.loads((await driver.stdout.readline()).decode())
        settings = Settings(
            data_dir=str(data_dir), slack_bot_token="xoxb-bench", slack_app_token="xapp-bench" if mode == "socket" else "",
            slack_signing_secret=SECRET, slack_api_url=hello["api_url"], http_host="127.0.0.1", http_port=0,
            summarize_background=False, web_enabled=False,
        )
        runtime = await build_runtime(settings, clock=ScaledClock(NOW), offline=True)
        runtime.summaries.start_workers()  # as Runtime.start does
        for channel in make_channels(channels):
            runtime.store.channels.save(channel, NOW - timedelta(days=3))
        # Private answers kept in the store, as bot.app.wiring gives them to the adapter.
        adapter = SlackAdapter(settings, health=runtime.health, private_answers=StorePrivateAnswers(runtime.store, runtime.clock))
        runtime.adapters[adapter.platform] = adapter
        runtime.delivery.adapters[adapter.platform] = adapter
        texts = queries(commands)
        phases = PhaseTimer(runtime.service, adapter.listeners) if os.environ.get("BENCH_ACKS_PHASES") else None
        started = time.perf_counter()
        warm = await runtime.service.handle_command("warm up the search index", _actor(), _place())
        warm_s = time.perf_counter() - started
        await adapter.start(runtime.service)
        meter = LagMeter()
        meter.start()
        sampler = StallSampler(meter) if os.environ.get("BENCH_ACKS_STALLS") else None
        if sampler is not None:
            sampler.start()
        await asyncio.sleep(0.2)
        digest_started, cpu_started = time.perf_counter(), time.process_time()
        digest_task = asyncio.create_task(runtime.scheduler.digests.run_due(NOW))
        await asyncio.sleep(0)  # the digest run is under way when the commands arrive
        go = {"texts": texts, "events_url": f"http://127.0.0.1:{adapter.http_port}/slack/events"}
        driver.stdin.write((json.dumps(go) + "\n").encode())
        await driver.stdin.drain()
        report = json.loads((await driver.stdout.readline()).decode())
        bot_cpu, bot_wall = time.process_time() - cpu_started, time.perf_counter() - digest_started
        enqueued = await digest_task
        digest_s = time.perf_counter() - digest_started
        lag = await meter.stop()
        stalls = sampler.stop() if sampler is not None else None
        await adapter.stop()
        await runtime.close()
        driver.stdin.write(b"stop\n")
        await driver.stdin.drain()
        await driver.wait()
    return {
        "mode": "Socket Mode" if mode == "socket" else "HTTP mode (signed POST /slack/events)",
        **report,
        "loop_lag_ms": lag,
        "digest_run_s": round(digest_s, 2),
        "bot_cpu_s": round(bot_cpu, 2),
        "bot_wall_s": round(bot_wall, 2),
        "summarize_workers": settings.summarize_workers,
        "worker_threads": settings.worker_threads,
        "switch_interval_ms": round(sys.getswitchinterval() * 1000, 2),
        "digests_enqueued": enqueued,
        "warm_up_search_s": round(warm_s, 2),
        "warm_up_answer_ok": not warm.is_error,
        "peak_rss_mb": peak_rss_mb(),
        **({"loop_held_stacks": stalls} if stalls is not None else {}),
        **({"phases_ms": phases.report()} if phases is not None else {}),
    }


class _TimedSlots:
    """The Slack listeners' work slots (a semaphore), timing the wait for a slot and the work
    done holding one (core, render, post)."""

    def __init__(self, slots: asyncio.Semaphore, add: Any) -> None:
        self.slots, self.add = slots, add
        self.held: dict[object, float] = {}  # since when each task holds its slot

    async def __aenter__(self) -> None:
        asked = time.perf_counter()
        await self.slots.acquire()
        now = time.perf_counter()
        self.add("waiting for a work slot (after the ack)", now - asked)
        self.held[asyncio.current_task()] = now

    async def __aexit__(self, *_exc: object) -> None:
        self.add("holding a work slot (core, render, post)", time.perf_counter() - self.held.pop(asyncio.current_task()))
        self.slots.release()


class PhaseTimer:
    """Where an answer's time goes (BENCH_ACKS_PHASES=1): each command in the core (parse,
    search, summaries, what was shown; the rest of an answer is the adapter's render and post),
    the service's store calls run in worker threads (waiting for a thread, then running) and
    its summaries, each timed per call and reported as percentiles."""

    def __init__(self, service: Any, listeners: Any) -> None:
        self.times: dict[str, list[float]] = {}
        listeners._work_slots = _TimedSlots(listeners._work_slots, self._add)
        store, summaries = service.store, service.summaries
        run_blocking, get_many = store.run_blocking, summaries.get_many

        async def timed_blocking(work: Any, /, *args: Any) -> Any:
            asked = time.perf_counter()
            began: list[float] = []

            def running(*inner: Any) -> Any:
                began.append(time.perf_counter())
                return work(*inner)

            try:
                return await run_blocking(running, *args)
            finally:
                name = getattr(work, "__name__", "work")
                if began:
                    self._add(f"{name}: waiting for a thread", began[0] - asked)
                    self._add(f"{name}: in its thread", time.perf_counter() - began[0])

        async def timed_summaries(papers: Any) -> Any:
            asked = time.perf_counter()
            try:
                return await get_many(papers)
            finally:
                self._add("summaries", time.perf_counter() - asked)

        handle_command = service.handle_command

        async def timed_command(*args: Any, **kwargs: Any) -> Any:
            asked = time.perf_counter()
            try:
                return await handle_command(*args, **kwargs)
            finally:
                self._add("command in the core", time.perf_counter() - asked)

        store.run_blocking = timed_blocking
        summaries.get_many = timed_summaries
        service.handle_command = timed_command

    def _add(self, name: str, seconds: float) -> None:
        self.times.setdefault(name, []).append(seconds * 1000)

    def report(self) -> dict[str, dict[str, float]]:
        """Percentiles per phase (ms)."""
        return {name: percentiles(values) for name, values in sorted(self.times.items())}


def _actor() -> Any:
    from bot.core.models import Actor

    return Actor(platform="slack", user_id="UWARM")


def _place() -> Any:
    from bot.core.models import Place

    return Place(platform="slack", channel_id="CWARM")


STALE_PROMPT_VERSION = "offline-before-upgrade"


def case_setup(paper_count: int, data_dir: str, summaries: str = "none") -> dict[str, Any]:
    """The template data directory: the store and its search index; with `summaries`
    "summarized", every paper's offline summary stored too (see `summarize_all`); "stale":
    stored under STALE_PROMPT_VERSION, as an upgrade of the summarizer leaves them."""
    from bot.search.engine import index_directory, rebuild

    os.makedirs(data_dir, exist_ok=True)
    store, seconds = build_store(str(Path(data_dir) / "paperbot.db"), paper_count)
    started = time.perf_counter()
    rebuild(store.conn, index_directory(data_dir))
    index_s = time.perf_counter() - started
    count = store.papers.count()
    result: dict[str, Any] = {"papers": count, "store_build_s": round(seconds, 1), "index_build_s": round(index_s, 1)}
    if summaries in ("summarized", "stale"):
        started = time.perf_counter()
        result["summaries_stored"] = asyncio.run(summarize_all(store))
        result["summarize_s"] = round(time.perf_counter() - started, 1)
    if summaries == "stale":
        store.conn.execute("UPDATE summaries SET prompt_version = ?", (STALE_PROMPT_VERSION,))
        result["summaries_prompt_version"] = STALE_PROMPT_VERSION
    store.close()
    return result


async def summarize_all(store: Any, page: int = 1000) -> int:
    """Store the offline summary of every paper the way the running bot does: its background
    pass (`Summaries.background_pass`: the last 14 days, then a walk back through older papers),
    with the summarizer processes (SUMMARIZE_WORKERS' default), until it finds nothing to do. A
    search's or a digest's papers then have their summaries, and no answer makes one."""
    from bot.core.clock import FakeClock
    from bot.enrich.summarize import Summaries
    from bot.settings import Settings

    summaries = Summaries(store, clock=FakeClock(NOW), offline_workers=Settings().summarize_workers)
    try:
        while await summaries.background_pass(NOW, page):
            pass
        return int(store.summaries.count())
    finally:
        summaries.close()


def run_case(args: list[str], timeout: float) -> dict[str, Any]:
    """One case in a fresh interpreter; its JSON (the last line it prints)."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.bench_acks", "--case", *args],
        check=False, capture_output=True, text=True, cwd=ROOT, timeout=timeout,
    )
    if output.returncode != 0:
        raise SystemExit(f"case {args[0]} failed ({output.returncode}):\n{output.stderr[-3000:]}")
    return cast(dict[str, Any], json.loads(output.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Build the template, run each mode in its own process, print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--modes", default="http,socket")
    parser.add_argument("--template", help="reuse a template data directory built by an earlier run")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--quick", action="store_true", help="20,000 papers and 200 channels")
    parser.add_argument("--summarized", action="store_true",
                        help="store every paper's summary in the template first (the steady state: no answer summarizes)")
    parser.add_argument("--stale", action="store_true",
                        help="... under an older prompt version (right after an upgrade of the summarizer)")
    parser.add_argument("--switch-interval", type=float, default=0.0, help="the bot's GIL switch interval in seconds (default: Python's)")
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.papers, args.channels = 20_000, 200
    if args.case:
        kind, *rest = args.case
        if kind == "driver":
            asyncio.run(drive(rest[0]))
            return
        if kind == "setup":
            result = case_setup(int(rest[0]), rest[1], summaries=rest[2] if len(rest) > 2 else "none")
        else:
            result = asyncio.run(run_bot(rest[0], rest[1], int(rest[2]), int(rest[3]), float(rest[4]) if len(rest) > 4 else 0.0))
        print(json.dumps(result))
        return
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        template = args.template or str(Path(tmp) / "template")
        if not args.template:
            mode = "stale" if args.stale else "summarized" if args.summarized else "none"
            report["store"] = run_case(["setup", str(args.papers), template, mode], args.timeout)
        report["summaries"] = ("stored for every paper beforehand under an older prompt version (after an upgrade)"
                               if args.stale and not args.template
                               else "stored for every paper beforehand (steady state)" if args.summarized
                               else "as the template has them" if args.template
                               else "none stored: each search's first page is summarized on first view")
        for mode in args.modes.split(","):
            case = ["bot", template, mode, str(args.channels), str(args.commands), str(args.switch_interval)]
            report[mode] = run_case(case, args.timeout)
    report["targets"] = {"every_ack_ms": 1000, "p99_ack_ms": 300, "every_answer_ms": 3000}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
